"""CLB_ and TGT_ transforms translated into the core's ``calibrate`` and ``set_target`` (4.4-4.5).

The checks, the planning and the acceptance are the core's; here a transform becomes one core
command, and its outcome becomes ``STATUS(CALIBRATION)`` or ``STATUS(TARGET)`` (+
``TRANSFORM(TARGET)``): to every console when judged, to the requester when refused before.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from robot.igtl import PoseKind, TransformBody, Workphase
from robot.workphase import replies
from safety import StatusCode, SubCode

if TYPE_CHECKING:
    from kinematics import Transform
    from robot.igtl import Authority, Connection, PoseReceived
    from robot.runtime import RobotCore, TargetOutcome
    from robot.workphase.replier import Replier

__all__ = ["PoseRequests"]

logger = logging.getLogger(__name__)


class PoseRequests:
    """``CLB_``/``TGT_``/``NPOS_`` transforms (already echoed by the ACK step).

    Args:
        core: the robot.
        replier: where the answers go (and the phase in effect).
        authority: who holds command authority.
    """

    def __init__(self, core: RobotCore, *, replier: Replier, authority: Authority) -> None:
        self._core = core
        self._replier = replier
        self._authority = authority

    def pose(self, event: PoseReceived) -> None:
        """One transform: refuse it (authority, motion) or translate it into a core command."""
        conn, kind = event.conn, event.kind
        body = event.message.body
        if kind is PoseKind.NPOS or not isinstance(body, TransformBody):
            logger.info("conn %d: %s logged", conn.id, event.message.device_name)
            return
        name = "CALIBRATION" if kind is PoseKind.CLB else "TARGET"
        if not event.has_authority:
            self._replier.refuse(
                conn,
                name,
                StatusCode.ACCESS_DENIED,
                SubCode.NOT_IN_CONTROL,
                replies.not_in_control(conn.id, self._authority.holder),
            )
            return
        if self._core.busy:
            self._replier.refuse(
                conn, name, StatusCode.NOT_READY, SubCode.BUSY, "the robot is in motion; STOP first"
            )
            return
        source = f"conn{conn.id}"
        if kind is PoseKind.CLB:
            self._calibration(body.matrix_ras_mm, f"CLB_{event.command_id}", source, conn)
            return
        outcome = self._core.targets.set_target(
            body.matrix_ras_mm, f"TGT_{event.command_id}", source, phase=self._replier.phase
        )
        if outcome.judged:
            self.target_status(outcome)
        else:
            self._replier.refuse(conn, "TARGET", outcome.code, outcome.sub_code, outcome.reason)

    def _calibration(
        self, matrix: Transform, calibration_id: str, source: str, conn: Connection
    ) -> None:
        phase = self._replier.phase
        if phase is not Workphase.CALIBRATION:
            self._replier.refuse(
                conn,
                "CALIBRATION",
                StatusCode.NOT_READY,
                SubCode.NOT_READY,
                f"CLB_ outside CALIBRATION (the phase in effect is {phase.value})",
            )
            return
        self.apply_calibration(matrix, calibration_id, source)

    def apply_calibration(self, matrix: Transform, calibration_id: str, source: str) -> bool:
        """The core's ``calibrate``; STATUS(CALIBRATION) to all; whether it was accepted."""
        decision = self._core.targets.calibrate(matrix, calibration_id, source)
        self._replier.decision_status("CALIBRATION", decision)
        return decision.accepted

    def accept_pending_target(self) -> None:
        """The core's pending target, once the needle is out: its STATUS(TARGET) (each cycle)."""
        outcome = self._core.targets.accept_pending_target()
        if outcome is not None:
            self.target_status(outcome)

    def accept_target(self, matrix: Transform, target_id: str, source: str) -> bool:
        """The core's ``accept_target`` (re-alignment); its STATUS(TARGET); whether accepted."""
        outcome = self._core.targets.accept_target(matrix, target_id, source)
        self.target_status(outcome)
        return outcome.accepted

    def target_status(self, outcome: TargetOutcome) -> None:
        """``STATUS(TARGET)`` to all, then the reached pose on acceptance.

        The pose is ``TRANSFORM(REACHABLE_TARGET)`` or ``TRANSFORM(TARGET)``, per the profile.
        """
        self._replier.phase_result("TARGET", outcome.code, outcome.sub_code, outcome.reason)
        if outcome.T_scanner_from_reached is not None:
            name = self._replier.profile.target_transform
            self._replier.to_all(replies.transform(name, outcome.T_scanner_from_reached))
