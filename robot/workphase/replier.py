"""What the robot tells its consoles: to one or to all, the phase in effect and its results.

:class:`Replier` is the workphase layer's one way out: it sends to one connection (a refusal,
an answer) or to every open one (state messages), remembers the phase in effect and the last
result of each phase (for GET_STATUS), and streams CURRENT_POSITION while moving or on request.
Control-loop thread only.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from robot.igtl import IgtlSendError, Workphase
from robot.workphase import replies
from safety import StatusCode, SubCode

if TYPE_CHECKING:
    from collections.abc import Callable

    from robot.igtl import Connection, ConnectionId, IgtlMessage
    from robot.igtl.profile import Profile
    from robot.runtime import RobotCore
    from safety import Decision

__all__ = ["Replier"]

logger = logging.getLogger(__name__)


class Replier:
    """Sends the workphase layer's replies and remembers what they said.

    Args:
        core: the robot (read only: its pose and whether it moves).
        connections: the server's open connections.
        is_paused: whether a connection's position stream is paused (after its STOP).
        now: monotonic clock (s).
        profile: the protocol profile (what differs between the 2021 and 2013 references).
    """

    def __init__(
        self,
        core: RobotCore,
        *,
        connections: Callable[[], tuple[Connection, ...]],
        is_paused: Callable[[ConnectionId], bool],
        now: Callable[[], float],
        profile: Profile,
    ) -> None:
        self._core = core
        #: The protocol profile in use.
        self.profile = profile
        self._connections = connections
        self._is_paused = is_paused
        self._now = now
        #: The workphase in effect (CURRENT_STATUS).
        self.phase = Workphase.START_UP
        #: The last STATUS of each phase (name -> code, sub-code, message), for GET_STATUS.
        self.phase_status: dict[str, tuple[int, int, str]] = {}
        #: Connections that asked for CURRENT_POSITION while idle (STT_TRANSFOR).
        self.streaming: set[ConnectionId] = set()
        self._next_position_s = -1e9
        self._last_idle_s = -1e9

    def send(self, conn: Connection, message: IgtlMessage) -> None:
        """Send to one connection; a closed one is logged and skipped."""
        try:
            conn.send(message)
        except IgtlSendError as err:
            logger.info("conn %d: %s not sent: %s", conn.id, message.device_name, err)

    def to_all(self, message: IgtlMessage, *, skip_paused: bool = False) -> None:
        """Send to every open connection (state messages)."""
        for conn in self._connections():
            if conn.is_open and not (skip_paused and self._is_paused(conn.id)):
                self.send(conn, message)

    def refuse(self, conn: Connection, name: str, code: int, sub_code: int, message: str) -> None:
        """``STATUS(name, code, sub_code, message)`` to the requester only (not remembered)."""
        self.send(conn, replies.status(name, code, sub_code, message))

    def announce(self, phase: Workphase) -> None:
        """The phase ``phase`` is in effect: ``CURRENT_STATUS`` to every connection."""
        self.phase = phase
        self.to_all(replies.current_status(phase.value))

    def current_status(self, conn: Connection) -> None:
        """``CURRENT_STATUS`` (the phase in effect, unchanged) to ``conn``."""
        self.send(conn, replies.current_status(self.phase.value))

    def phase_result(
        self,
        name: str,
        code: int,
        sub_code: int = 0,
        message: str = "",
        conn: Connection | None = None,
    ) -> None:
        """Send ``STATUS(name, ...)`` (to all, or to ``conn``) and remember it for GET_STATUS."""
        self.phase_status[name] = (int(code), int(sub_code), message)
        msg = replies.status(name, code, sub_code, message)
        if conn is None:
            self.to_all(msg)
        else:
            self.send(conn, msg)

    def decision_status(self, name: str, decision: Decision) -> None:
        """``STATUS(name)`` to all: 1 when ``decision`` was accepted, else its code and reason."""
        code = StatusCode.OK if decision.accepted else decision.code
        sub = SubCode.OK if decision.accepted else decision.sub_code
        self.phase_result(name, code, sub, "" if decision.accepted else decision.reason)

    def status_reply(self, conn: Connection) -> None:
        """The phase in effect's last STATUS (or OK) to ``conn`` (GET_STATUS, CURRENT_STATUS)."""
        code, sub, text = self.phase_status.get(self.phase.value, (int(StatusCode.OK), 0, ""))
        self.send(conn, replies.status(self.phase.value, code, sub, text))

    def position_message(self) -> IgtlMessage | None:
        """``TRANSFORM(CURRENT_POSITION)``, or ``None`` without telemetry."""
        pose = self._core.current_pose()
        return None if pose is None else replies.transform("CURRENT_POSITION", pose)

    def refusal_position_message(self) -> IgtlMessage:
        """The ``CURRENT_POSITION`` that follows a refused move (OPENIGTLINK.md 4.4: 13 + it).

        The measured pose when telemetry has ever arrived; before that (a fresh server whose
        controller was never brought up) the identity matrix, which the preceding 13 sub 8
        NOT_READY marks as "position unknown" (docs/WORKPHASES.md).
        """
        message = self.position_message()
        if message is None:
            message = replies.transform("CURRENT_POSITION", np.eye(4))
        return message

    def position_to_all(self) -> None:
        """One CURRENT_POSITION to every connection."""
        message = self.position_message()
        if message is not None:
            self.to_all(message)

    def stream_positions(self) -> None:
        """End of cycle: CURRENT_POSITION to all while moving, else to the streaming ones."""
        now_s = self._now()
        period_s = self._core.config.runtime.position_period_s
        if self._core.motion is not None:
            if now_s >= self._next_position_s:
                # A fixed schedule (not "period since the last one"), so the control cycle's
                # granularity does not stretch the period; after a stall it restarts from now.
                self._next_position_s = max(self._next_position_s + period_s, now_s - period_s)
                if self._next_position_s <= now_s - period_s + 1e-9:
                    self._next_position_s = now_s + period_s
                message = self.position_message()
                if message is not None:
                    self.to_all(message, skip_paused=True)
        elif self.streaming and now_s - self._last_idle_s >= period_s:
            self._last_idle_s = now_s
            message = self.position_message()
            if message is not None:
                for conn in self._connections():
                    if conn.id in self.streaming and conn.is_open:
                        self.send(conn, message)
