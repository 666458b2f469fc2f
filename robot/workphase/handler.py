"""The server's message handler: the ACK step on the reader thread, plus the STOP stream pause.

:class:`WorkphaseHandler` wraps :class:`~robot.igtl.AckHandler` (which ACKs and posts events and
calls the HAL's ``estop()`` for EMERGENCY before the ACK). For ``CMD_<id>`` STOP or EMERGENCY it
first pauses that connection's CURRENT_POSITION stream, so that nothing but the STOP/EMERGENCY
exchange follows the ACK (OPENIGTLINK.md 4.4); the workphase layer resumes it after the STATUS.
It also raises a priority flag that the control loop reads before the queued events, so a STOP
is acted on in the next cycle however many events wait ahead of it.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Final

from robot.igtl import StringBody

if TYPE_CHECKING:
    from robot.igtl import AckHandler, Connection, ConnectionId, IgtlMessage

__all__ = ["WorkphaseHandler"]

logger = logging.getLogger(__name__)

_STOPS: Final = frozenset({"STOP", "EMERGENCY"})


class WorkphaseHandler:
    """A :class:`~robot.igtl.MessageHandler`: pause on STOP/EMERGENCY, then the ACK handler."""

    def __init__(self, ack: AckHandler) -> None:
        self._ack = ack
        self._lock = threading.Lock()  # guards _paused
        self._paused: set[ConnectionId] = set()
        self._stop_requested: str | None = None  # guarded by _lock; "STOP" or "EMERGENCY"

    def is_paused(self, connection_id: ConnectionId) -> bool:
        """Whether that connection's position stream is paused."""
        with self._lock:
            return connection_id in self._paused

    def take_stop_request(self) -> str | None:
        """The strongest STOP/EMERGENCY received since the last call (priority path), or None."""
        with self._lock:
            request, self._stop_requested = self._stop_requested, None
        return request

    def resume_all(self) -> None:
        """Resume every paused stream (after the STOP/EMERGENCY STATUS)."""
        with self._lock:
            self._paused.clear()

    def on_connect(self, conn: Connection) -> None:
        """Log the peer and let the ACK handler post the event."""
        logger.info("connection %d from %s:%d", conn.id, *conn.peer)
        self._ack.on_connect(conn)

    def on_message(self, conn: Connection, message: IgtlMessage) -> None:
        """Pause the stream for STOP/EMERGENCY, then ACK and post."""
        body = message.body
        if (
            isinstance(body, StringBody)
            and message.device_name.startswith("CMD_")
            and body.text in _STOPS
        ):
            with self._lock:
                self._paused.add(conn.id)
                if self._stop_requested != "EMERGENCY":
                    self._stop_requested = body.text
        self._ack.on_message(conn, message)

    def on_disconnect(self, conn: Connection, reason: str) -> None:
        """Log, forget the pause, let the ACK handler release authority and post."""
        logger.info("connection %d from %s:%d closed: %s", conn.id, *conn.peer, reason)
        with self._lock:
            self._paused.discard(conn.id)
        self._ack.on_disconnect(conn, reason)
