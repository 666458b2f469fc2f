"""One TCP connection to a BRP robot: a reader thread that routes replies to waiting requests.

Requests are sent from any thread; at most one ordinary request waits at a time (a second one is
refused locally with :class:`BrpBusyError`), while STOP and EMERGENCY are always sent and cut the
request they overtake when their ACK arrives (OPENIGTLINK.md section 4.4, "STOP/EMERGENCY
mid-move"). A protocol violation or a time-out desynchronises the session: later ordinary requests
raise :class:`BrpSessionError` (STOP and EMERGENCY are still sent).
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import select
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Final, TypeVar

from robot.console.config import BrpClientConfig
from robot.console.errors import (
    BrpBusyError,
    BrpConnectError,
    BrpDisconnectedError,
    BrpProtocolError,
    BrpSessionError,
    BrpTimeoutError,
)
from robot.console.exchange import POSITION_NAME, Exchange, ExchangeDone, ExchangeFailed
from robot.console.frames import FrameBuffer
from robot.console.results import BrpView, PhaseResult, PositionReading, StatusReply
from robot.igtl import (
    IgtlDecodeError,
    IgtlHeaderError,
    IgtlUnknownTypeError,
    StatusBody,
    TransformBody,
    encode,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence
    from types import TracebackType

    from robot.console.exchange import Expect
    from robot.igtl import IgtlMessage

__all__ = ["BrpSession"]

logger = logging.getLogger(__name__)
R = TypeVar("R")
_CHUNK: Final = 1 << 16
_JOIN_TIMEOUT_S: Final = 5.0
_POLL_S: Final = 0.5
_MAX_FAULTS: Final = 16
_UNSOLICITED_CAPACITY: Final = 256
_ProtocolErrors: Final = (BrpProtocolError,)


class BrpSession:
    """A connection to a BRP robot, shared by the console client and the emulated scanner.

    Args:
        host: robot address.
        port: robot TCP port (18944 by default on the robot).
        config: time-outs.
        now: monotonic seconds (deadlines).
        name: for the reader thread's name and logs.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        config: BrpClientConfig | None = None,
        now: Callable[[], float] = time.monotonic,
        name: str = "brp",
    ) -> None:
        if not 0 < port < 65536:  # noqa: PLR2004 - TCP port range
            raise ValueError(f"port {port} is outside 1..65535")
        self.host, self.port = host, port
        self.config = config or BrpClientConfig()
        self._now = now
        self._name = name
        # _lock guards _active, _view, _desync and _closed_reason; exchanges are fed under it.
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._active: list[Exchange[Any]] = []
        self._view = BrpView()
        self._desync: str | None = None
        self._closed_reason: str | None = None
        self._unsolicited: queue.Queue[IgtlMessage] = queue.Queue(_UNSOLICITED_CAPACITY)
        self._sock: socket.socket | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._reader: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def open(self) -> None:
        """Connect and start the reader thread.

        Raises:
            BrpConnectError: the robot cannot be reached within the connect time-out.
            RuntimeError: already opened.
        """
        if self._sock is not None or self._closed_reason is not None:
            raise RuntimeError("BrpSession.open() called twice (make a new session)")
        try:
            sock = socket.create_connection(
                (self.host, self.port), timeout=self.config.connect_timeout_s
            )
        except OSError as err:
            raise BrpConnectError(host=self.host, port=self.port, reason=str(err)) from err
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        user_timeout = getattr(socket, "TCP_USER_TIMEOUT", None)
        if user_timeout is not None:
            sock.setsockopt(
                socket.IPPROTO_TCP, user_timeout, int(self.config.send_timeout_s * 1000)
            )
        self._sock = sock
        self._wake_r, self._wake_w = socket.socketpair()
        with self._lock:
            self._view = dataclasses.replace(self._view, connected=True)
        self._reader = threading.Thread(
            target=self._read_loop, name=f"{self._name}-reader-{self.port}", daemon=True
        )
        self._reader.start()
        logger.info("%s: connected to %s:%d", self._name, self.host, self.port)

    def close(self) -> None:
        """Close the connection and join the reader (idempotent)."""
        self._mark_closed("closed by the client")
        if self._wake_w is not None:
            self._wake_w.send(b"x")
        if self._reader is not None:
            self._reader.join(_JOIN_TIMEOUT_S)
        for sock in (self._sock, self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()
        self._sock = self._wake_r = self._wake_w = None
        self._reader = None

    def __enter__(self) -> BrpSession:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- state -----------------------------------------------------------------------------------

    @property
    def view(self) -> BrpView:
        """A snapshot of what the robot last said."""
        with self._lock:
            return self._view

    def next_unsolicited(self, timeout_s: float) -> IgtlMessage:
        """The oldest message that answered no request (positions, broadcasts, PLANE_0...).

        Raises:
            BrpTimeoutError: none within ``timeout_s``.
        """
        try:
            return self._unsolicited.get(timeout=timeout_s)
        except queue.Empty:
            raise BrpTimeoutError(
                "waiting for an unsolicited message", device_name="", timeout_s=timeout_s
            ) from None

    # -- requests --------------------------------------------------------------------------------

    def send(self, message: IgtlMessage) -> None:
        """Send one message that expects no reply.

        Raises:
            BrpSessionError: the session is closed.
            BrpDisconnectedError: the send failed (the session is then closed).
        """
        self._send_all((message,))

    def exchange(
        self,
        messages: Sequence[IgtlMessage],
        names: frozenset[str],
        script: Generator[Expect, IgtlMessage, R],
        *,
        label: str,
        ack_name: str = "",
        preemptive: bool = False,
        overall_timeout_s: float | None = None,
        on_position: Callable[[PositionReading], None] | None = None,
    ) -> R:
        """Send ``messages`` and wait until ``script`` accepts the replies.

        Args:
            messages: the request (sent in order, one frame each).
            names: every device name the script may expect.
            script: the reply rules (see :mod:`robot.console.scripts`).
            label: how messages name this request.
            ack_name: device name of the first reply (used by preempting requests).
            preemptive: STOP/EMERGENCY: sent even when busy or desynchronised; cut older requests.
            overall_timeout_s: upper bound of the whole exchange.
            on_position: called on this thread for each ``CURRENT_POSITION`` of the exchange.

        Raises:
            BrpStatusError: the robot answered an error STATUS.
            BrpProtocolError: order, echo or content violated, silence (time-out) or disconnect.
            BrpInterruptedError: STOP or EMERGENCY cut this request.
            BrpBusyError: another request still waits (not sent).
            BrpSessionError: closed or desynchronised (not sent).
        """
        with self._lock:
            if self._closed_reason is not None or self._sock is None:
                raise BrpSessionError(f"not connected ({self._closed_reason or 'never opened'})")
            if not preemptive:
                if self._desync is not None:
                    raise BrpSessionError(f"desynchronised: {self._desync}; reconnect")
                pending = [e.label for e in self._active if not e.finished]
                if pending:
                    raise BrpBusyError(pending=pending[0])
            ex: Exchange[R] = Exchange(
                label=label,
                ack_name=ack_name,
                names=names,
                script=script,
                started_s=self._now(),
                preemptive=preemptive,
                overall_timeout_s=overall_timeout_s,
            )
            self._active.append(ex)
        self._send_all(messages)
        return self._wait(ex, on_position)

    # -- internals -------------------------------------------------------------------------------

    def _send_all(self, messages: Sequence[IgtlMessage]) -> None:
        frames = b"".join(encode(m) for m in messages)
        sock = self._sock
        if sock is None:
            raise BrpSessionError(f"not connected ({self._closed_reason or 'never opened'})")
        try:
            with self._send_lock:
                sock.sendall(frames)
        except OSError as err:
            reason = f"send failed: {err}"
            self._mark_closed(reason)
            raise BrpDisconnectedError(reason) from err

    def _wait(self, ex: Exchange[R], on_position: Callable[[PositionReading], None] | None) -> R:
        positions: list[PositionReading] = []
        while True:
            with self._lock:
                remaining_s = ex.deadline_s() - self._now()
                if remaining_s <= 0 and not ex.finished:
                    expect = ex.expecting
                    what = expect.describe() if expect is not None else "?"
                    error = BrpTimeoutError(
                        f"{ex.label}: waiting for {what}",
                        device_name=expect.names[0] if expect is not None else "",
                        timeout_s=ex.timeout_s(self._now()),
                    )
                    ex.fail(error)
                    self._after_feed(ex)
            try:  # re-check at least every _POLL_S: the deadline moves as replies arrive
                event = ex.events.get(timeout=min(max(remaining_s, 0.0), _POLL_S))
            except queue.Empty:
                continue
            if isinstance(event, PositionReading):
                positions.append(event)
                if on_position is not None:
                    on_position(event)
            elif isinstance(event, ExchangeFailed):
                raise event.error
            else:
                return self._with_positions(event, positions)

    @staticmethod
    def _with_positions(event: ExchangeDone[R], positions: list[PositionReading]) -> R:
        result = event.result
        if isinstance(result, PhaseResult) and positions:
            return dataclasses.replace(result, positions=tuple(positions))
        return result

    def _after_feed(self, ex: Exchange[Any]) -> None:
        """Under the lock: drop a finished exchange, desynchronise on a violation."""
        if ex.finished:
            if ex in self._active:
                self._active.remove(ex)
            if isinstance(ex.error, _ProtocolErrors) and self._desync is None:
                self._desync = str(ex.error)
                self._view = dataclasses.replace(self._view, desynchronised=self._desync)
                logger.error("%s: %s", self._name, ex.error)

    def _mark_closed(self, reason: str) -> None:
        with self._lock:
            if self._closed_reason is None:
                self._closed_reason = reason
            self._view = dataclasses.replace(self._view, connected=False)
            for ex in list(self._active):
                ex.fail(BrpDisconnectedError(f"{ex.label}: {reason}"))
                self._after_feed(ex)

    def _route(self, message: IgtlMessage, received_s: float) -> bool:
        """Under the lock: give ``message`` to the exchange it belongs to; False if none."""
        for index, ex in enumerate(self._active):
            if ex.preemptive and message.device_name == ex.ack_name:
                for older in self._active[:index]:
                    older.cut(ex.label)
                    self._after_feed(older)
                consumed = ex.feed(message, received_s)
                self._after_feed(ex)
                return consumed
        if not self._active:
            return False
        oldest = self._active[0]
        consumed = oldest.feed(message, received_s)
        self._after_feed(oldest)
        return consumed

    def _observe(self, message: IgtlMessage) -> None:
        """Under the lock: update the view from any message."""
        view, body = self._view, message.body
        changes: dict[str, object] = {"frames_received": view.frames_received + 1}
        if isinstance(body, StatusBody):
            reply = StatusReply.of(message.device_name, body)
            changes["last_status"] = reply
            if message.device_name == "CURRENT_STATUS":
                changes["phase"] = body.error_name
            if not reply.ok:
                changes["faults"] = (*view.faults, reply)[-_MAX_FAULTS:]
        elif isinstance(body, TransformBody) and message.device_name == POSITION_NAME:
            changes["position"] = PositionReading(T_ras_from_tip=body.matrix_ras_mm)
        self._view = dataclasses.replace(view, **changes)  # type: ignore[arg-type]  # field names above

    def _deliver(self, message: IgtlMessage) -> None:
        received_s = self._now()
        with self._lock:
            self._observe(message)
            consumed = self._route(message, received_s)
        if consumed:
            return
        logger.debug(
            "%s: unsolicited %s(%s)", self._name, message.message_type, message.device_name
        )
        while True:
            try:
                self._unsolicited.put_nowait(message)
            except queue.Full:
                self._unsolicited.get_nowait()  # keep the newest: drop the oldest
                logger.debug("%s: unsolicited queue full, oldest message dropped", self._name)
            else:
                return

    def _drop(self, error: IgtlDecodeError) -> None:
        with self._lock:
            self._view = dataclasses.replace(
                self._view, frames_dropped=self._view.frames_dropped + 1
            )
            if isinstance(error, IgtlUnknownTypeError):
                logger.info("%s: skipped %s", self._name, error)
                return
            logger.warning("%s: dropped a frame: %s", self._name, error)
            if self._active:
                oldest = self._active[0]
                oldest.fail(BrpProtocolError("BAD_FRAME", f"{oldest.label}: {error}"))
                self._after_feed(oldest)

    def _read_loop(self) -> None:
        sock, wake = self._sock, self._wake_r
        if sock is None or wake is None:
            return
        frames = FrameBuffer()
        try:
            while True:
                readable, _, _ = select.select([sock, wake], [], [])
                if wake in readable:
                    return
                chunk = sock.recv(_CHUNK)
                if not chunk:
                    self._mark_closed("the robot closed the connection (EOF)")
                    return
                for item in frames.feed(chunk):
                    if isinstance(item, IgtlDecodeError):
                        self._drop(item)
                    else:
                        self._deliver(item)
        except IgtlHeaderError as err:
            self._mark_closed(f"unusable header, stream lost: {err}")
        except OSError as err:
            self._mark_closed(f"receive failed: {err}")
        except Exception as err:  # top of the reader thread: fail the waiters, never hang them
            logger.exception("%s: reader failed", self._name)
            self._mark_closed(f"reader failed: {err!r}")
