"""One OpenIGTLink peer: a reader thread with exact reads, and FIFO sending through an outbox.

Reader (OPENIGTLINK.md section 6), through the shared :class:`~robot.igtl.deframer.Deframer`:
read exactly 58 bytes with blocking ``recv_into`` (0 bytes = EOF); check VERSION, TYPE and
BODY_SIZE against its limit, else close this connection only; read exactly BODY_SIZE, closing
the connection if a started frame stalls for ``frame_timeout_s`` (a silence limit, not a total:
a 64 MiB IMAGE takes over 5 s below ~110 Mbit/s); a bad CRC or a malformed frame is counted,
logged and dropped, the connection kept; unknown types are skipped by exactly BODY_SIZE; every
dropped or skipped frame is answered with an error STATUS naming why (``robot.igtl.rejects``),
and a header that closes the connection gets one first (best effort); everything else goes to
the handler, in order, on this thread.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
from typing import TYPE_CHECKING, Final

from robot.igtl.codec import decode_body, encode
from robot.igtl.deframer import Deframer
from robot.igtl.errors import (
    IgtlConnectionClosedError,
    IgtlCrcError,
    IgtlDecodeError,
    IgtlHeaderError,
    IgtlSendError,
    IgtlUnknownTypeError,
)
from robot.igtl.outbox import Outbox, OutboxClosedError, OutboxOverflowError, OutboxTimeoutError
from robot.igtl.rejects import is_dummy_status, rejection
from robot.igtl.stats import ConnectionStats, Counters

if TYPE_CHECKING:
    from collections.abc import Callable

    from robot.igtl.config import ServerConfig
    from robot.igtl.deframer import Frame
    from robot.igtl.handler import ConnectionId, FrameTap, MessageHandler
    from robot.igtl.messages import IgtlMessage

__all__ = ["IgtlConnection"]

logger = logging.getLogger(__name__)
TRAFFIC: Final = 5  # log level of frame traffic
_JOIN_TIMEOUT_S: Final = 5.0


class _PeerGoneError(Exception):
    """EOF, reset or a frame time-out: the reader stops; ``reason`` says which."""

    def __init__(self, reason: str, *, orderly: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.orderly = orderly


class IgtlConnection:
    """One accepted peer; owns its socket and its reader and writer threads."""

    def __init__(
        self,
        *,
        connection_id: ConnectionId,
        sock: socket.socket,
        peer: tuple[str, int],
        config: ServerConfig,
        handler: MessageHandler,
        on_finished: Callable[[IgtlConnection], None],
        now: Callable[[], float],
        tap: FrameTap | None = None,
    ) -> None:
        self._id = connection_id
        self._tap = tap
        self._sock = sock
        self._peer = peer
        self._config = config
        self._handler = handler
        self._on_finished = on_finished
        self._now = now
        self._counters = Counters()
        self._outbox = Outbox(
            sock,
            max_pending_frames=config.max_pending_frames,
            max_pending_bytes=config.max_pending_bytes,
            send_timeout_s=config.send_timeout_s,
            now=now,
        )
        self._state_lock = threading.Lock()  # guards _close_reason and _peer_version
        self._close_reason: str | None = None
        self._peer_version = 0  # highest header version of a frame received; 0 before any
        self._reader: threading.Thread | None = None
        self._writer: threading.Thread | None = None
        self._poller = select.poll()
        self._deframer = Deframer(config.limits)
        self._last_progress_s = now()

    @property
    def id(self) -> ConnectionId:
        """Server-unique id of this connection."""
        return self._id

    @property
    def peer(self) -> tuple[str, int]:
        """Peer address and port."""
        return self._peer

    @property
    def socket(self) -> socket.socket:
        """The accepted socket, to read its options (the connection owns it and closes it)."""
        return self._sock

    @property
    def is_open(self) -> bool:
        """Whether the connection has not begun closing."""
        with self._state_lock:
            return self._close_reason is None

    @property
    def close_reason(self) -> str | None:
        """Why the connection closed, or None while open."""
        with self._state_lock:
            return self._close_reason

    @property
    def header_version(self) -> int:
        """The header version sent to this peer.

        The highest version it has sent us, at least the configured one
        (``ServerConfig.header_version``, 1 by default): a v2 peer gets v2, a v1 peer (e.g. a
        protocol-2 library, which cannot skip v2) gets v1.
        """
        with self._state_lock:
            return max(self._config.header_version, self._peer_version)

    def stats(self) -> ConnectionStats:
        """A snapshot of this connection's counters."""
        return self._counters.snapshot()

    def start(self) -> None:
        """Start the reader and writer threads."""
        self._poller.register(self._sock.fileno(), select.POLLIN)
        self._writer = threading.Thread(
            target=self._write_loop, name=f"igtl-conn{self._id}-writer", daemon=True
        )
        self._reader = threading.Thread(
            target=self._read_loop, name=f"igtl-conn{self._id}-reader", daemon=True
        )
        self._writer.start()
        self._reader.start()

    def send(self, message: IgtlMessage) -> None:
        """Encode ``message`` and send it after everything sent before it; never blocks.

        The header version is this peer's (:attr:`header_version`).

        Raises:
            ValueError: the message cannot be encoded.
            IgtlSendError: the connection is closed, or just got closed (queue overflow or socket
                error).
        """
        frame = encode(message, header_version=self.header_version)
        self.send_frame(frame, what=f"{message.message_type}({message.device_name})")

    def send_frame(self, frame: bytes, *, what: str = "frame") -> None:
        """Send an encoded frame (see :meth:`send`)."""
        try:
            self._outbox.submit(frame)
            if self._tap is not None:
                self._tap.sent(self._id, self._peer, frame)
        except OutboxClosedError as err:
            raise IgtlConnectionClosedError(
                f"cannot send {what}: closed ({self.close_reason})", connection_id=self._id
            ) from err
        except OutboxOverflowError as err:
            logger.warning(
                "conn %d %s: send queue overflow, closing: %s", self._id, self._peer, err
            )
            self.close(f"send queue overflow: {err}")
            raise IgtlSendError(f"cannot send {what}: {err}", connection_id=self._id) from err
        except OSError as err:
            self.close(f"send failed: {err}")
            raise IgtlSendError(f"cannot send {what}: {err}", connection_id=self._id) from err
        self._counters.add("frames_out")
        self._counters.add("bytes_out", len(frame))
        logger.log(TRAFFIC, "conn %d: sent %s (%d B)", self._id, what, len(frame))

    def close(self, reason: str) -> None:
        """Close (idempotent, non-blocking, any thread): wakes the reader and writer at once."""
        with self._state_lock:
            if self._close_reason is not None:
                return
            self._close_reason = reason
        self._outbox.close()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError as err:  # already disconnected: nothing left to shut down
            logger.debug("conn %d: shutdown: %s", self._id, err)

    def join(self, timeout_s: float = _JOIN_TIMEOUT_S) -> None:
        """Wait for the reader thread (which joins the writer) to end."""
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout_s)

    @property
    def finished(self) -> bool:
        """Whether both threads have ended (or were never started)."""
        return not any(t is not None and t.is_alive() for t in (self._reader, self._writer))

    def _write_loop(self) -> None:
        try:
            self._outbox.run_writer()
        except OutboxTimeoutError as err:
            logger.warning("conn %d %s: send time-out, closing: %s", self._id, self._peer, err)
            self.close(f"send time-out: {err}")
        except OSError as err:
            self.close(f"send failed: {err}")

    def _read_loop(self) -> None:
        reason = "closed by server"
        level = logging.INFO
        try:
            self._handler.on_connect(self)
            while self.is_open:
                self._read_frame()
        except _PeerGoneError as gone:
            reason = gone.reason
            level = logging.INFO if gone.orderly else logging.WARNING
        except IgtlHeaderError as err:
            reason, level = str(err), logging.WARNING
            self._reject(err.device_name.encode("ascii", errors="replace"), err)
        except Exception as err:  # top of the thread: report and close, never die silently
            logger.exception("conn %d %s: handler or reader fault, closing", self._id, self._peer)
            reason = f"fault: {type(err).__name__}: {err}"
        self.close(reason)
        reason = self.close_reason or reason
        if self._writer is not None:
            self._writer.join(_JOIN_TIMEOUT_S)
        self._sock.close()
        logger.log(level, "conn %d %s: closed: %s", self._id, self._peer, reason)
        try:
            self._handler.on_disconnect(self, reason)
        except Exception:  # top of the thread: the handler's fault is logged, cleanup goes on
            logger.exception("conn %d: on_disconnect raised", self._id)
        self._on_finished(self)

    def _read_frame(self) -> None:
        """Receive once into the deframer (never past the current frame); deliver what is whole.

        Raises:
            _PeerGoneError: EOF, a socket error, or a started frame stalled for frame_timeout_s.
            IgtlHeaderError: an untrustworthy header (the connection is closed).
        """
        deframer = self._deframer
        started = deframer.in_frame
        view = deframer.writable()
        if started:
            self._wait_readable()
        try:
            count = self._sock.recv_into(view)
        except OSError as err:
            raise _PeerGoneError(self.close_reason or f"receive failed: {err}") from err
        if count == 0:
            if started:
                raise _PeerGoneError(
                    self.close_reason or f"EOF inside {deframer.describe_partial()}"
                )
            raise _PeerGoneError(self.close_reason or "EOF from peer", orderly=True)
        self._last_progress_s = self._now()
        deframer.commit(count)
        while (frame := deframer.next_frame()) is not None:
            self._deliver(frame)

    def _wait_readable(self) -> None:
        """Wait for the rest of a started frame; the peer may pause ``frame_timeout_s`` at most.

        Raises:
            _PeerGoneError: the pause is over.
        """
        silence_s = self._config.frame_timeout_s
        remaining_s = self._last_progress_s + silence_s - self._now()
        if remaining_s <= 0 or not self._poller.poll(max(1, int(remaining_s * 1000))):
            raise _PeerGoneError(
                f"{self._deframer.describe_partial()}: peer silent for {silence_s} s"
            )

    def _deliver(self, frame: Frame) -> None:
        header, body = frame.header, frame.body
        self._counters.add("bytes_in", frame.size_bytes)
        if self._tap is not None:
            self._tap.received(self._id, self._peer, frame.raw_header + bytes(body))
        with self._state_lock:
            self._peer_version = max(self._peer_version, header.version)
        try:
            message = decode_body(header, body)
        except IgtlCrcError as err:
            self._counters.add("crc_errors")
            logger.warning("conn %d: dropped: %s", self._id, err)
            self._reject(header.device_name_raw, err)
            return
        except IgtlUnknownTypeError as err:
            self._counters.add("unknown_types")
            logger.info("conn %d: skipped %d B: %s", self._id, header.body_size, err)
            self._reject(header.device_name_raw, err)
            return
        except IgtlDecodeError as err:
            self._counters.add("decode_errors")
            logger.warning("conn %d: dropped: %s", self._id, err)
            self._reject(header.device_name_raw, err)
            return
        except Exception as fault:  # a decoder bug must not cost this peer its connection
            self._counters.add("decode_errors")
            logger.exception("conn %d: dropped %s: decoder fault", self._id, header.message_type)
            error = IgtlDecodeError(
                f"decoder fault: {type(fault).__name__}",
                message_type=header.message_type,
                device_name=header.device_name_raw.decode("ascii", errors="backslashreplace"),
            )
            self._reject(header.device_name_raw, error)
            return
        if is_dummy_status(message):
            self._counters.add("dummy_statuses")
            logger.debug("conn %d: Slicer's connect-time dummy STATUS consumed", self._id)
            return
        self._counters.add("frames_in")
        logger.log(TRAFFIC, "conn %d: received %s", self._id, message)
        self._handler.on_message(self, message)

    def _reject(self, device_name_raw: bytes, error: IgtlDecodeError) -> None:
        """Answer a dropped frame with an error STATUS naming why (never silence)."""
        reply = rejection(device_name_raw, error)
        try:
            self.send(reply)
        except (IgtlSendError, ValueError) as err:  # gone, or closing: the drop is logged
            logger.info("conn %d: %s not sent: %s", self._id, reply.device_name, err)
