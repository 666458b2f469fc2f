"""The server's message handler: on the reader thread the EMERGENCY estop and the ACK; stops.

:class:`WorkphaseHandler` wraps :class:`~robot.igtl.AckHandler` (which ACKs and posts events).
For ``CMD_<id>`` STOP or EMERGENCY, on the connection's reader thread, it first pauses that
connection's CURRENT_POSITION stream, so that nothing but the STOP/EMERGENCY exchange follows the
ACK (OPENIGTLINK.md 4.4; the workphase layer resumes it after the STATUS); for EMERGENCY it then
calls the HAL's ``estop()`` (the latency path, before the ACK). Once the ACK handler has ACKed
and posted the command, the request becomes a :class:`StopRequest` that the control loop takes
before the queued events (its priority path), so a stop is acted on in the next cycle however
many events wait ahead of it.

Each request enters the core exactly once: whichever comes first, the priority path
(:meth:`WorkphaseHandler.take_stop_requests`) or the queued command itself
(:meth:`WorkphaseHandler.settle`), makes the one supervisor decision; the other only answers.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from robot.igtl import StringBody, Workphase, parse_command_id

if TYPE_CHECKING:
    from collections.abc import Callable

    from robot.igtl import AckHandler, CommandReceived, Connection, ConnectionId, IgtlMessage

__all__ = ["StopRequest", "WorkphaseHandler"]

logger = logging.getLogger(__name__)

_STOPS: Final = {"STOP": Workphase.STOP, "EMERGENCY": Workphase.EMERGENCY}
#: Requests whose core entry was made on the priority path and whose queued command has not
#: been handled yet, at most (their commands are normally handled within a cycle or two; one
#: whose command never comes, e.g. its event could not be queued, is forgotten past this).
_MAX_ENTERED: Final = 256


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class StopRequest:
    """One STOP or EMERGENCY received (compared by identity: one per received message).

    Attributes:
        kind: STOP or EMERGENCY.
        source: who sent it (``conn<id>``, the audit record's source).
        connection_id: the sender.
        command_id: the ``<id>`` of ``CMD_<id>`` (as received, even when not a valid id).
        hal_stopped: the HAL's ``estop()`` ran for it on the reader thread (EMERGENCY).
        queued: its ``<id>`` is valid, so a ``CommandReceived`` follows it (to be answered);
            a stop with a malformed ``<id>`` is still acted on, but nothing follows it.
        message: the message received (matches the queued command to its request).
    """

    kind: Workphase
    source: str
    connection_id: ConnectionId
    command_id: str
    hal_stopped: bool
    queued: bool
    message: IgtlMessage = field(repr=False)


class WorkphaseHandler:
    """A :class:`~robot.igtl.MessageHandler`: pause and estop on STOP/EMERGENCY, then the ACK.

    Args:
        ack: the ACK handler (its own ``emergency_stop`` should be unset: this handler calls
            ``emergency_stop`` and records that it did).
        emergency_stop: the HAL's idempotent ``estop()``, called on the reader thread for
            ``CMD_<id>`` EMERGENCY before the ACK; it must not block.
    """

    def __init__(
        self, ack: AckHandler, *, emergency_stop: Callable[[], None] | None = None
    ) -> None:
        self._ack = ack
        self._emergency_stop = emergency_stop
        self._lock = threading.Lock()  # guards everything below
        self._paused: set[ConnectionId] = set()
        #: Received, not yet ACKed and posted: neither path may take them yet.
        self._arriving: list[StopRequest] = []
        #: ACKed and posted, waiting for the priority path or their queued command.
        self._pending: list[StopRequest] = []
        #: Entered on the priority path; their queued command only answers.
        self._entered: deque[StopRequest] = deque(maxlen=_MAX_ENTERED)

    def is_paused(self, connection_id: ConnectionId) -> bool:
        """Whether that connection's position stream is paused."""
        with self._lock:
            return connection_id in self._paused

    def take_stop_requests(self) -> list[StopRequest]:
        """The STOP/EMERGENCY requests posted since the last call, in arrival order (priority path).

        Each is then entered in the core by the caller; its queued command, handled later,
        gets ``(request, True)`` from :meth:`settle` and only answers.
        """
        with self._lock:
            taken, self._pending = self._pending, []
            answered = [request for request in taken if request.queued]
            overflow = len(self._entered) + len(answered) - _MAX_ENTERED
            if overflow > 0:
                logger.warning(
                    "%d stop request(s) whose command never came are forgotten", overflow
                )
            self._entered.extend(answered)
        return taken

    def settle(self, event: CommandReceived) -> tuple[StopRequest | None, bool]:
        """Match a queued STOP/EMERGENCY command to its request.

        Returns:
            ``(request, entered)``: ``entered`` when the priority path already entered it in the
            core (answer only); else the caller enters it now (``request`` is ``None`` for a
            command that did not come through this handler).
        """
        with self._lock:
            for held in (self._entered, self._pending, self._arriving):
                for request in held:
                    if request.message is event.message:
                        held.remove(request)
                        return request, held is self._entered
        return None, False

    def resume_all(self) -> None:
        """Resume every paused stream (after the STOP/EMERGENCY STATUS)."""
        with self._lock:
            self._paused.clear()

    def on_connect(self, conn: Connection) -> None:
        """Log the peer and let the ACK handler post the event."""
        logger.info("connection %d from %s:%d", conn.id, *conn.peer)
        self._ack.on_connect(conn)

    def on_message(self, conn: Connection, message: IgtlMessage) -> None:
        """Pause the stream and estop for STOP/EMERGENCY, then ACK and post."""
        body = message.body
        kind = None
        if isinstance(body, StringBody) and message.device_name.startswith("CMD_"):
            kind = _STOPS.get(body.text)
        if kind is None:
            self._ack.on_message(conn, message)
            return
        with self._lock:
            self._paused.add(conn.id)
        hal_stopped = kind is Workphase.EMERGENCY and self._estop(conn)
        request = StopRequest(
            kind=kind,
            source=f"conn{conn.id}",
            connection_id=conn.id,
            command_id=message.device_name.removeprefix("CMD_"),
            hal_stopped=hal_stopped,
            queued=parse_command_id(message.device_name, "CMD_") is not None,
            message=message,
        )
        with self._lock:
            self._arriving.append(request)
        try:
            self._ack.on_message(conn, message)
        finally:
            # Posted (or, with a malformed <id>, not a command at all: still a stop to act on).
            with self._lock:
                if request in self._arriving:
                    self._arriving.remove(request)
                    self._pending.append(request)

    def _estop(self, conn: Connection) -> bool:
        if self._emergency_stop is None:
            return False
        try:
            self._emergency_stop()
        except Exception:  # stop never raises; if it does, the core's estop() follows
            logger.exception("conn %d: emergency_stop() raised", conn.id)
            return False
        return True

    def on_disconnect(self, conn: Connection, reason: str) -> None:
        """Log, forget the pause, let the ACK handler release authority and post."""
        logger.info("connection %d from %s:%d closed: %s", conn.id, *conn.peer, reason)
        with self._lock:
            self._paused.discard(conn.id)
        self._ack.on_disconnect(conn, reason)
