"""CLB_ and TGT_ transforms: calibration and target checks, planning, acceptance (4.4-4.5)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

import numpy as np

from kinematics import Unreachable
from robot.igtl import PoseKind, TransformBody, Workphase
from robot.runtime import REACH_TOLERANCE_MM
from robot.runtime.pose import target_problem
from robot.workphase import replies
from safety import State, StatusCode, SubCode

if TYPE_CHECKING:
    from kinematics import Transform
    from robot.igtl import Authority, Connection, IgtlMessage, PoseReceived
    from robot.runtime import RobotCore
    from safety import Decision

__all__ = ["PosesMixin"]

logger = logging.getLogger(__name__)

_TARGETABLE: Final = frozenset({State.CALIBRATED, State.TARGET_SET, State.AT_TARGET})


class PosesMixin:
    """Pose requests of :class:`~robot.workphase.protocol.WorkphaseProtocol`."""

    core: RobotCore
    phase: Workphase
    _authority: Authority

    def send(self, conn: Connection, message: IgtlMessage) -> None:
        """Provided by the protocol."""
        raise NotImplementedError

    def to_all(self, message: IgtlMessage, *, skip_paused: bool = False) -> None:
        """Provided by the protocol."""
        raise NotImplementedError

    def phase_result(
        self,
        name: str,
        code: int,
        sub_code: int = 0,
        message: str = "",
        conn: Connection | None = None,
    ) -> None:
        """Provided by the protocol."""
        raise NotImplementedError

    def decision_status(self, name: str, decision: Decision) -> None:
        """Provided by the protocol."""
        raise NotImplementedError

    def pose(self, event: PoseReceived) -> None:
        """A ``CLB_``/``TGT_``/``NPOS_`` transform (already echoed): check, plan, accept."""
        conn, kind = event.conn, event.kind
        body = event.message.body
        if kind is PoseKind.NPOS or not isinstance(body, TransformBody):
            logger.info("conn %d: %s logged", conn.id, event.message.device_name)
            return
        name = "CALIBRATION" if kind is PoseKind.CLB else "TARGET"
        if not event.has_authority:
            self.send(
                conn,
                replies.status(
                    name,
                    StatusCode.ACCESS_DENIED,
                    SubCode.NOT_IN_CONTROL,
                    replies.not_in_control(conn.id, self._authority.holder),
                ),
            )
            return
        if self.core.busy:
            self.send(
                conn,
                replies.status(
                    name, StatusCode.NOT_READY, SubCode.BUSY, "the robot is in motion; STOP first"
                ),
            )
            return
        source = f"conn{conn.id}"
        if kind is PoseKind.CLB:
            self._calibration(body.matrix_ras_mm, f"CLB_{event.command_id}", source, conn)
        else:
            self._target(body.matrix_ras_mm, f"TGT_{event.command_id}", source, conn)

    def _calibration(
        self, matrix: Transform, calibration_id: str, source: str, conn: Connection
    ) -> None:
        if self.phase is not Workphase.CALIBRATION:
            self.send(
                conn,
                replies.status(
                    "CALIBRATION",
                    StatusCode.NOT_READY,
                    SubCode.NOT_READY,
                    f"CLB_ outside CALIBRATION (the phase in effect is {self.phase.value})",
                ),
            )
            return
        self.apply_calibration(matrix, calibration_id, source)

    def apply_calibration(self, matrix: Transform, calibration_id: str, source: str) -> bool:
        """Check and accept a calibration ``T_scanner_from_robot``; STATUS(CALIBRATION) to all."""
        decision = self.core.calibrate(matrix, calibration_id, source)
        self.decision_status("CALIBRATION", decision)
        return decision.accepted

    def _target(self, matrix: Transform, target_id: str, source: str, conn: Connection) -> None:
        core = self.core
        if core.state is State.NEEDLE_INSERTED:
            # Kept apart from the accepted target until the needle is out (then planned).
            core.keep_pending_target(matrix, target_id, source)
            held = "none" if core.target is None else core.target.target_id
            self.send(
                conn,
                replies.status(
                    "TARGET",
                    StatusCode.NOT_READY,
                    SubCode.INTERLOCK,
                    f"{core.needle_text()}: {target_id} is kept pending and planned once the "
                    f"needle is out (RETRACT_NEEDLE); the accepted target ({held}) stays",
                ),
            )
            return
        if self.phase is not Workphase.TARGETING or core.state not in _TARGETABLE:
            sub = SubCode.NOT_CALIBRATED if core.T_scanner_from_robot is None else SubCode.NOT_READY
            self.send(
                conn,
                replies.status(
                    "TARGET",
                    StatusCode.NOT_READY,
                    sub,
                    f"TGT_ needs TARGETING ready (phase {self.phase.value}, "
                    f"robot {core.state.value})",
                ),
            )
            return
        self.accept_target(matrix, target_id, source)

    def accept_pending_target(self) -> None:
        """Plan a target that arrived while the needle was in, once it is out (each cycle)."""
        pending = self.core.take_pending_target()
        if pending is None:
            return
        matrix, target_id, source = pending
        logger.info("the needle is out: planning the pending target %s", target_id)
        self.accept_target(matrix, target_id, source)

    def accept_target(self, matrix: Transform, target_id: str, source: str) -> bool:
        """Check, plan and accept a target; STATUS(TARGET) (+ TRANSFORM(TARGET)) to all."""
        core = self.core
        problem = target_problem(matrix)
        reason = ""
        sub = SubCode.OK
        goal = None
        if problem is not None:
            sub, reason = SubCode.INVALID_MATRIX, problem.message
        else:
            planned = core.plan_target(np.asarray(matrix, dtype=np.float64))
            if isinstance(planned, Unreachable):
                sub, reason = SubCode.OUT_OF_RANGE, planned.reason
            else:
                miss = float(np.linalg.norm(np.subtract(planned.tip_ras_mm, matrix[:3, 3])))
                if miss > REACH_TOLERANCE_MM:
                    sub = SubCode.OUT_OF_RANGE
                    reason = f"the tip would end {miss:.3f} mm from the target (> 0.1 mm)"
                else:
                    goal = planned
        if goal is None:
            core.reject_target(sub, reason, source)
            self.phase_result("TARGET", StatusCode.CONFIG_ERROR, sub, reason)
            return False
        requested = np.asarray(matrix, dtype=np.float64)
        decision = core.accept_target(requested, goal, target_id, source)
        if not decision.accepted or core.target is None:
            self.decision_status("TARGET", decision)
            return False
        reached = core.target.T_scanner_from_reached
        self.phase_result("TARGET", StatusCode.OK, SubCode.OK, goal.describe().replace("\n", "; "))
        self.to_all(replies.transform("TARGET", reached))
        return True
