"""The BRP workphase protocol on the control loop (OPENIGTLINK.md 4.3-4.5).

Every ``CMD_<id>`` was ACKed on its reader thread; here follow (2) ``CURRENT_STATUS`` and (3) the
phase STATUS, at once or when the action ends. A requested phase takes effect even when its
preconditions fail (it is then inert and the STATUS carries the error); only a client without
authority (5) or a request during motion (13 sub 6) leaves the phase unchanged. STOP and
EMERGENCY come from anyone, at any moment. State messages (phase STATUS, TARGET,
CURRENT_POSITION while moving) go to every connection; refusals to the requester only.

The layer only translates: one request becomes one command of the core
(:class:`~robot.runtime.RobotCore`), and its decision or result becomes the replies. It is
composed of a :class:`~robot.workphase.replier.Replier` (the way out, and the phase in effect),
:class:`~robot.workphase.poses.PoseRequests` (CLB_/TGT_), :class:`~robot.workphase.requests.
StringRequests` (STRING and QUERY) and :class:`~robot.workphase.alignment.ZFrameAlignment`
(Z-frame images, AUTO_ALIGN). One STOP or EMERGENCY enters the core once (see :meth:`priority`).
"""

from __future__ import annotations

import logging
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from robot.igtl import (
    CommandReceived,
    MessageReceived,
    PeerConnected,
    PeerDisconnected,
    PoseReceived,
    Workphase,
)
from robot.igtl.profile import PROFILES
from robot.runtime import JobKind
from robot.workphase import replies
from robot.workphase.alignment import ZFrameAlignment
from robot.workphase.poses import PoseRequests
from robot.workphase.replier import Replier
from robot.workphase.requests import StringRequests
from robot.workphase.scanner import ZFrameResult
from safety import StatusCode, SubCode

if TYPE_CHECKING:
    from collections.abc import Callable

    from robot.igtl import Authority, Connection, IgtlMessage
    from robot.igtl.profile import Profile
    from robot.runtime import JobResult, RobotCore
    from robot.workphase.handler import StopRequest, WorkphaseHandler
    from robot.workphase.scanner import ZFrameWorker

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
_STOP_KIND: Final = MappingProxyType(
    {Workphase.STOP: JobKind.STOP, Workphase.EMERGENCY: JobKind.EMERGENCY}
)


class WorkphaseProtocol:
    """The workphase layer: a :class:`~robot.runtime.LoopConsumer` on the control loop.

    Args:
        core: the robot.
        connections: the server's open connections (for state messages to all).
        handler: the message handler (stop requests, the stream pause on STOP/EMERGENCY).
        authority: who holds command authority.
        worker: the Z-frame registration worker.
        now: monotonic clock (s).
        profile: the protocol profile (``network.profile``); the 2021 module's by default.
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
        profile: Profile = PROFILES["brp-2021"],
    ) -> None:
        self.core = core
        self._handler = handler
        self._authority = authority
        self.replier = Replier(
            core, connections=connections, is_paused=handler.is_paused, now=now, profile=profile
        )
        self.poses = PoseRequests(core, replier=self.replier, authority=authority)
        self.alignment = ZFrameAlignment(
            core, replier=self.replier, poses=self.poses, worker=worker
        )
        self.requests = StringRequests(
            core, replier=self.replier, authority=authority, alignment=self.alignment
        )

    @property
    def phase(self) -> Workphase:
        """The workphase in effect."""
        return self.replier.phase

    def send(self, conn: Connection, message: IgtlMessage) -> None:
        """Send to one connection (a closed one is logged and skipped)."""
        self.replier.send(conn, message)

    # --- events --------------------------------------------------------------------------------

    def priority(self) -> None:
        """Enter each STOP/EMERGENCY still queued behind other events in the core, now.

        The one supervisor decision (and audit record) of each request is made here, with the
        HAL's ``estop()`` of the reader thread not repeated; its queued command, handled in its
        turn, only answers (CURRENT_STATUS, then the STATUS at standstill).
        """
        for request in self._handler.take_stop_requests():
            self._enter(request.kind, request.source, request, report=False)

    def _enter(
        self, kind: Workphase, source: str, request: StopRequest | None, *, report: bool
    ) -> None:
        if kind is Workphase.EMERGENCY:
            hal_stopped = request is not None and request.hal_stopped
            self.core.emergency(source, hal_stopped=hal_stopped, report=report)
        else:
            self.core.stop(source, report=report)

    def handle(self, event: object) -> None:
        """Handle one event from the queue (control-loop thread)."""
        if isinstance(event, CommandReceived):
            self._command(event)
        elif isinstance(event, PoseReceived):
            self.poses.pose(event)
        elif isinstance(event, MessageReceived):
            self.requests.message(event)
        elif isinstance(event, ZFrameResult):
            self.alignment.zframe_result(event)
        elif isinstance(event, PeerConnected):
            logger.info("console %d connected from %s:%d", event.conn.id, *event.conn.peer)
        elif isinstance(event, PeerDisconnected):
            self.replier.streaming.discard(event.conn.id)
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
        out = self.replier
        if phase is None:
            out.current_status(conn)
            out.refuse(
                conn,
                f"ACK_{event.command_id}",
                StatusCode.UNKNOWN_INSTRUCTION,
                SubCode.UNKNOWN,
                f"unknown workphase {event.text[:40]!r}",
            )
            return
        if phase in _STOP_KIND:
            self._stop(event, phase, source)
            return
        if not event.has_authority:
            out.current_status(conn)
            out.refuse(
                conn,
                phase.value,
                StatusCode.ACCESS_DENIED,
                SubCode.NOT_IN_CONTROL,
                replies.not_in_control(conn.id, self._authority.holder),
            )
            return
        if self.core.busy:
            out.current_status(conn)
            out.refuse(
                conn,
                phase.value,
                StatusCode.NOT_READY,
                SubCode.BUSY,
                f"{phase.value} refused: the robot is in motion ({self.core.state.value}); "
                "STOP first",
            )
            return
        previous = out.phase
        out.announce(phase)
        if phase is Workphase.START_UP:
            self.core.start_up(source)
        elif phase is Workphase.PLANNING:
            planned = self.core.plan(source)
            if phase in out.profile.entry_status:
                out.decision_status("PLANNING", planned)
        elif phase is Workphase.CALIBRATION:
            # The verdict on the calibration follows the CLB_ transform; the 2021 robot servers
            # also confirm the phase itself here, and the 2021 module waits for that.
            if phase in out.profile.entry_status:
                out.phase_result("CALIBRATION", StatusCode.OK, SubCode.OK, "")
        elif phase is Workphase.TARGETING:
            self._targeting(source)
        elif phase is Workphase.MOVE_TO_TARGET:
            self._move(previous, source)
        elif phase is Workphase.MANUAL:
            out.decision_status("MANUAL", self.core.manual(source))

    def _targeting(self, source: str) -> None:
        if self.core.T_scanner_from_robot is None:
            self.replier.phase_result(
                "TARGETING",
                StatusCode.NOT_READY,
                SubCode.NOT_CALIBRATED,
                "TARGETING needs a calibration (CLB_ transform or Z-frame image) first",
            )
            return
        self.replier.decision_status("TARGETING", self.core.targeting(source))

    def _move(self, previous: Workphase, source: str) -> None:
        refusal = self.core.move_to_target(
            source, previous=previous, insert=self.replier.profile.move_inserts
        )
        if refusal is not None:
            self.replier.phase_result(
                "MOVE_TO_TARGET", refusal.code, refusal.sub_code, refusal.reason
            )
            self.replier.to_all(self.replier.refusal_position_message())

    def _stop(self, event: CommandReceived, phase: Workphase, source: str) -> None:
        """A queued STOP/EMERGENCY: CURRENT_STATUS, and its one core entry unless made already."""
        self.alignment.cancel()
        self.replier.announce(phase)
        request, entered = self._handler.settle(event)
        if entered:
            self.core.await_standstill(_STOP_KIND[phase])
        else:
            self._enter(phase, source, request, report=True)

    # --- end of cycle --------------------------------------------------------------------------

    def tick(self, results: list[JobResult]) -> None:
        """Report finished work, then stream positions (control-loop thread)."""
        for result in results:
            self._report(result)
        self.poses.accept_pending_target()
        self.replier.stream_positions()

    def _report(self, result: JobResult) -> None:
        out = self.replier
        name = _RESULT_NAME.get(result.kind)
        if name is None:  # a fault outside any job
            out.phase_result(out.phase.value, result.code, result.sub_code, result.reason)
            return
        code = result.code
        if result.kind is JobKind.RETRACT and not result.ok:
            code = StatusCode.HARDWARE_FAILURE
        out.phase_result(name, code, result.sub_code, result.reason)
        if result.kind is JobKind.START_UP:
            return
        stopped = result.kind in _STOP_KIND.values()
        if not stopped or result.cut_motion:  # at rest nothing follows a STOP (the 2013 suite
            out.position_to_all()  # reads the next command's ACK there)
        if stopped:
            self._handler.resume_all()
        self.alignment.moved(result)
