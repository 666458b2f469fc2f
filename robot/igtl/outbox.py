"""FIFO sending for one socket: direct when idle, queued for a writer thread when the peer lags.

A frame is written on the caller's thread with a non-blocking ``send`` when nothing is queued
(the ACK fast path: no thread hand-off). Whatever the kernel does not take at once is queued, in
order, and the connection's writer thread (:meth:`Outbox.run_writer`) pushes it out as the peer
reads. The queue is bounded in frames and bytes, and a peer that takes no bytes for
``send_timeout_s`` is given up: a stalled client never blocks the caller or any other client.
Frames are never dropped, reordered or coalesced; on overflow or time-out the connection closes.
"""

from __future__ import annotations

import collections
import select
import socket
import threading
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Outbox", "OutboxClosedError", "OutboxOverflowError", "OutboxTimeoutError"]

_SEND_FLAGS: Final = getattr(socket, "MSG_DONTWAIT", 0) | getattr(socket, "MSG_NOSIGNAL", 0)


class OutboxClosedError(Exception):
    """The outbox is closed."""


class OutboxOverflowError(Exception):
    """The queue limit in frames or bytes would be exceeded."""


class OutboxTimeoutError(TimeoutError):
    """The peer took no bytes within the send time-out."""


class Outbox:
    """Ordered, bounded, non-blocking sending on one connected stream socket.

    The socket stays in blocking mode for its reader; sends use ``MSG_DONTWAIT``.
    """

    def __init__(
        self,
        sock: socket.socket,
        *,
        max_pending_frames: int,
        max_pending_bytes: int,
        send_timeout_s: float,
        now: Callable[[], float],
    ) -> None:
        self._sock = sock
        self._max_frames = max_pending_frames
        self._max_bytes = max_pending_bytes
        self._timeout_s = send_timeout_s
        self._now = now
        # _cond's lock guards _pending, _pending_bytes and _closed; direct sends happen under it.
        self._cond = threading.Condition(threading.Lock())
        self._pending: collections.deque[memoryview] = collections.deque()
        self._pending_bytes = 0
        self._closed = False

    def submit(self, frame: bytes) -> bool:
        """Send ``frame`` after everything submitted before it; never blocks.

        Returns:
            True if the kernel took the whole frame at once, False if (part of) it was queued.

        Raises:
            OutboxClosedError: the outbox is closed.
            OutboxOverflowError: the queue is full (the caller closes the connection).
            OSError: the socket failed (reset, broken pipe).
        """
        with self._cond:
            if self._closed:
                raise OutboxClosedError
            if self._pending:
                if (
                    len(self._pending) >= self._max_frames
                    or self._pending_bytes + len(frame) > self._max_bytes
                ):
                    raise OutboxOverflowError(
                        f"{len(self._pending)} frames / {self._pending_bytes} B already queued "
                        f"(limits {self._max_frames} frames / {self._max_bytes} B)"
                    )
                self._pending.append(memoryview(frame))
                self._pending_bytes += len(frame)
                return False
            try:
                sent = self._sock.send(frame, _SEND_FLAGS)
            except BlockingIOError:
                sent = 0
            if sent == len(frame):
                return True
            rest = memoryview(frame)[sent:]
            self._pending.append(rest)
            self._pending_bytes += len(rest)
            self._cond.notify()
            return False

    def pending_bytes(self) -> int:
        """Bytes queued and not yet taken by the kernel."""
        with self._cond:
            return self._pending_bytes

    def close(self) -> None:
        """Refuse further frames and wake the writer (idempotent)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def run_writer(self) -> None:
        """Writer-thread body: drain the queue until :meth:`close`.

        Raises:
            OutboxTimeoutError: the peer took no bytes for ``send_timeout_s``.
            OSError: the socket failed.
        """
        poller = select.poll()
        poller.register(self._sock.fileno(), select.POLLOUT)
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                head = self._pending[0]
            self._write_head(poller, head)

    def _write_head(self, poller: select.poll, head: memoryview) -> None:
        """Write the queue's first frame completely (only this thread touches the head)."""
        offset = 0
        last_progress_s = self._now()
        while offset < len(head):
            try:
                sent = self._sock.send(head[offset:], _SEND_FLAGS)
            except BlockingIOError:
                sent = 0
            if sent:
                offset += sent
                last_progress_s = self._now()
                continue
            with self._cond:
                if self._closed:
                    return
            waited_s = self._now() - last_progress_s
            if waited_s >= self._timeout_s:
                raise OutboxTimeoutError(
                    f"peer took no bytes for {waited_s:.3f} s with {self.pending_bytes()} B queued"
                )
            poller.poll(max(1, int((self._timeout_s - waited_s) * 1000)))
        with self._cond:
            self._pending.popleft()
            self._pending_bytes -= len(head)
