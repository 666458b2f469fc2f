"""The BRP workphase protocol on the control loop (OPENIGTLINK.md 4.3-4.5).

Every ``CMD_<id>`` was ACKed on its reader thread; here follow (2) ``CURRENT_STATUS`` and (3) the
phase STATUS, at once or when the action ends. A requested phase takes effect even when its
preconditions fail (it is then inert and the STATUS carries the error); only a client without
authority (5) or a request during motion (13 sub 6) leaves the phase unchanged. STOP and
EMERGENCY come from anyone, at any moment. State messages (phase STATUS, TARGET,
CURRENT_POSITION while moving) go to every connection; refusals to the requester only.
"""

from __future__ import annotations

import logging
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import numpy as np

from robot.igtl import (
    CommandReceived,
    MessageReceived,
    PeerConnected,
    PeerDisconnected,
    PoseReceived,
    Workphase,
)
from robot.runtime import JobKind, JobResult
from robot.workphase import replies
from robot.workphase.poses import PosesMixin
from robot.workphase.requests import RequestsMixin
from robot.workphase.scanner import ZFrameResult
from safety import LATCHED_STATES, State, StatusCode, SubCode

if TYPE_CHECKING:
    from collections.abc import Callable

    from kinematics import Transform
    from robot.igtl import Authority, Connection, IgtlMessage
    from robot.runtime import RobotCore
    from robot.workphase.handler import WorkphaseHandler
    from robot.workphase.scanner import ZFrameWorker
    from safety import Decision

__all__ = ["WorkphaseProtocol"]

logger = logging.getLogger(__name__)

_RESULT_NAME: Final = MappingProxyType(
    {
        JobKind.START_UP: "START_UP",
        JobKind.MOVE: "MOVE_TO_TARGET",
        JobKind.RETRACT: "RETRACT_NEEDLE",
        JobKind.STOP: "STOP",
        JobKind.EMERGENCY: "EMERGENCY",
    }
)


class WorkphaseProtocol(PosesMixin, RequestsMixin):
    """The workphase layer: a :class:`~robot.runtime.LoopConsumer` on the control loop.

    Args:
        core: the robot.
        connections: the server's open connections (for state messages to all).
        handler: the message handler (stream pause on STOP/EMERGENCY).
        authority: who holds command authority.
        worker: the Z-frame registration worker.
        now: monotonic clock (s).
    """

    def __init__(
        self,
        core: RobotCore,
        *,
        connections: Callable[[], tuple[Connection, ...]],
        handler: WorkphaseHandler,
        authority: Authority,
        worker: ZFrameWorker,
        now: Callable[[], float],
    ) -> None:
        self.core = core
        self._connections = connections
        self._handler = handler
        self._authority = authority
        self._worker = worker
        self._now = now
        self.phase = Workphase.START_UP
        self.phase_status: dict[str, tuple[int, int, str]] = {}
        self.streaming: set[int] = set()
        self._next_position_s = -1e9
        self._last_idle_s = -1e9
        self.auto_align = False
        self._align_pending = False
        self.zframe_count = 0
        self.last_zframe: Transform | None = None

    # --- sending -------------------------------------------------------------------------------

    def send(self, conn: Connection, message: IgtlMessage) -> None:
        """Send to one connection; a closed one is logged and skipped."""
        from robot.igtl import IgtlSendError  # noqa: PLC0415 - keeps the import list short

        try:
            conn.send(message)
        except IgtlSendError as err:
            logger.info("conn %d: %s not sent: %s", conn.id, message.device_name, err)

    def to_all(self, message: IgtlMessage, *, skip_paused: bool = False) -> None:
        """Send to every open connection (state messages)."""
        for conn in self._connections():
            if conn.is_open and not (skip_paused and self._handler.is_paused(conn.id)):
                self.send(conn, message)

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

    def position_message(self) -> IgtlMessage | None:
        """``TRANSFORM(CURRENT_POSITION)``, or ``None`` without telemetry."""
        pose = self.core.current_pose()
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

    # --- events --------------------------------------------------------------------------------

    def priority(self) -> None:
        """Stop at once for a STOP/EMERGENCY still queued behind other events.

        The queued command is then handled in its turn (C and the STOP/EMERGENCY STATUS); the
        supervisor and the HAL take STOP and EMERGENCY idempotently.
        """
        request = self._handler.take_stop_request()
        if request == "EMERGENCY":
            self.core.emergency("priority", report=False)
        elif request == "STOP" and self.core.busy:
            self.core.stop("priority", report=False)

    def handle(self, event: object) -> None:
        """Handle one event from the queue (control-loop thread)."""
        if isinstance(event, CommandReceived):
            self._command(event)
        elif isinstance(event, PoseReceived):
            self.pose(event)
        elif isinstance(event, MessageReceived):
            self.message(event)
        elif isinstance(event, ZFrameResult):
            self.zframe_result(event)
        elif isinstance(event, PeerConnected):
            logger.info("console %d connected from %s:%d", event.conn.id, *event.conn.peer)
        elif isinstance(event, PeerDisconnected):
            self.streaming.discard(event.conn.id)
            if event.had_authority and self.core.busy:
                logger.error(
                    "the controlling console %d left during motion (%s): protective stop",
                    event.conn.id,
                    event.reason,
                )
        else:
            logger.error("unknown event %r ignored", type(event).__name__)

    def _command(self, event: CommandReceived) -> None:
        conn, phase = event.conn, event.phase
        source = f"conn{conn.id}"
        if phase is None:
            self.send(conn, replies.current_status(self.phase.value))
            self.send(
                conn,
                replies.status(
                    f"ACK_{event.command_id}",
                    StatusCode.UNKNOWN_INSTRUCTION,
                    SubCode.UNKNOWN,
                    f"unknown workphase {event.text[:40]!r}",
                ),
            )
            return
        if phase in {Workphase.STOP, Workphase.EMERGENCY}:
            self._stop(phase, source)
            return
        if not event.has_authority:
            holder = self._authority.holder
            self.send(conn, replies.current_status(self.phase.value))
            self.send(
                conn,
                replies.status(
                    phase.value,
                    StatusCode.ACCESS_DENIED,
                    SubCode.NOT_IN_CONTROL,
                    replies.not_in_control(conn.id, holder),
                ),
            )
            return
        if self.core.busy:
            self.send(conn, replies.current_status(self.phase.value))
            self.send(
                conn,
                replies.status(
                    phase.value,
                    StatusCode.NOT_READY,
                    SubCode.BUSY,
                    f"{phase.value} refused: the robot is in motion ({self.core.state.value}); "
                    "STOP first",
                ),
            )
            return
        previous, self.phase = self.phase, phase
        self.to_all(replies.current_status(phase.value))
        if phase is Workphase.START_UP:
            self.core.start_up(source)
        elif phase is Workphase.PLANNING:
            self.core.plan(source)
        elif phase is Workphase.TARGETING:
            self._targeting(source)
        elif phase is Workphase.MOVE_TO_TARGET:
            self._move(previous, source)
        elif phase is Workphase.MANUAL:
            decision = self.core.manual(source)
            self.decision_status("MANUAL", decision)
        # CALIBRATION: A and C only; the STATUS follows the CLB_ transform.

    def decision_status(self, name: str, decision: Decision) -> None:
        """``STATUS(name)`` to all: 1 when ``decision`` was accepted, else its code and reason."""
        code = StatusCode.OK if decision.accepted else decision.code
        sub = SubCode.OK if decision.accepted else decision.sub_code
        self.phase_result(name, code, sub, "" if decision.accepted else decision.reason)

    def _targeting(self, source: str) -> None:
        core = self.core
        if core.T_scanner_from_robot is None:
            self.phase_result(
                "TARGETING",
                StatusCode.NOT_READY,
                SubCode.NOT_CALIBRATED,
                "TARGETING needs a calibration (CLB_ transform or Z-frame image) first",
            )
            return
        decision = core.targeting(source)
        self.decision_status("TARGETING", decision)

    def _move_refusal(self, previous: Workphase) -> tuple[SubCode, str] | None:
        core = self.core
        state = core.state
        if state is State.NEEDLE_INSERTED:
            return SubCode.INTERLOCK, (
                f"MOVE_TO_TARGET refused: {core.needle_text()}; only the needle may move, back "
                "out: RETRACT_NEEDLE (START_UP also retracts it first)"
            )
        if previous is Workphase.MANUAL or state is State.MANUAL:
            return SubCode.MANUAL_MODE, "the robot is in MANUAL; choose TARGETING first"
        if state in LATCHED_STATES:
            return SubCode.INTERLOCK, f"the robot is latched in {state.value}; START_UP first"
        if state is State.OFF:
            return SubCode.NOT_READY, "START_UP (homing) has not completed"
        if core.target is None or previous not in {Workphase.TARGETING, Workphase.MOVE_TO_TARGET}:
            return SubCode.NO_TARGET, "no accepted target: send TARGETING and a TGT_ transform"
        return None

    def _move(self, previous: Workphase, source: str) -> None:
        refusal = self._move_refusal(previous)
        result = None
        if refusal is not None:
            result = JobResult(
                kind=JobKind.MOVE, code=StatusCode.NOT_READY, sub_code=refusal[0], reason=refusal[1]
            )
        else:
            result = self.core.move_to_target(source)
        if result is not None:
            self.phase_result("MOVE_TO_TARGET", result.code, result.sub_code, result.reason)
            self.to_all(self.refusal_position_message())

    def _stop(self, phase: Workphase, source: str) -> None:
        self.phase = phase
        self._align_pending = False
        self.to_all(replies.current_status(phase.value))
        if phase is Workphase.EMERGENCY:
            self.core.emergency(source)
        else:
            self.core.stop(source)

    # --- end of cycle --------------------------------------------------------------------------

    def tick(self, results: list[JobResult]) -> None:
        """Report finished work, then stream positions (control-loop thread)."""
        for result in results:
            self._report(result)
        self.accept_pending_target()
        now_s = self._now()
        period_s = self.core.config.runtime.position_period_s
        if self.core.motion is not None:
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

    def _report(self, result: JobResult) -> None:
        name = _RESULT_NAME.get(result.kind)
        if name is None:  # a fault outside any job
            self.phase_result(self.phase.value, result.code, result.sub_code, result.reason)
            return
        code = result.code
        if result.kind is JobKind.RETRACT and not result.ok:
            code = StatusCode.HARDWARE_FAILURE
        self.phase_result(name, code, result.sub_code, result.reason)
        if result.kind is JobKind.START_UP:
            return
        self.position_to_all()
        if result.kind in {JobKind.STOP, JobKind.EMERGENCY}:
            self._handler.resume_all()
        if result.kind is JobKind.MOVE and self._align_pending:
            self._align_pending = False
            if result.ok:
                self.send_plane()
