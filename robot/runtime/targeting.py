"""The robot's registration and target: calibration, TGT_ planning, the pending target.

:class:`Targeting` is the part of :class:`~robot.runtime.core.RobotCore` that owns the calibration
in use (``T_scanner_from_robot``), the accepted target and a target kept pending while the needle
is in. It checks a calibration or a target (rigid, reachable, within 0.1 mm), asks the supervisor
to accept it (one decision, one audit record) and keeps it on acceptance. Called from the
control-loop thread only, through the core (``core.targets``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

import numpy as np

from kinematics import Target, Unreachable, compose, plan
from robot.runtime.jobs import AcceptedTarget, TargetOutcome
from robot.runtime.pose import calibration_problem, nearest_rigid, pose_along, target_problem
from robot.runtime.readings import at_rest_at
from safety import Event, State, StatusCode, SubCode, Workphase
from safety.interlocks import needle_text

if TYPE_CHECKING:
    from collections.abc import Callable

    from kinematics import JointGoal, Transform
    from robot.runtime.config import RobotConfig
    from robot.runtime.services import CoreServices
    from safety import Decision, Supervisor

__all__ = ["REACH_TOLERANCE_MM", "TARGETABLE_STATES", "Targeting"]

logger = logging.getLogger(__name__)

#: OPENIGTLINK.md 4.5: a reachable target is reached within this (mm).
REACH_TOLERANCE_MM: Final = 0.1
#: States in which a target may be accepted.
TARGETABLE_STATES: Final = frozenset({State.CALIBRATED, State.TARGET_SET, State.AT_TARGET})


class Targeting:
    """Calibration, accepted target and pending target of the robot.

    Args:
        core: the robot (its model, readings and interlock snapshot of this cycle).
        config: the robot's configuration.
        supervisor: the safety supervisor (it decides every acceptance).
        state: the supervisor's state now.
        busy: whether the robot is moving, homing or stopping.
    """

    def __init__(
        self,
        core: CoreServices,
        *,
        config: RobotConfig,
        supervisor: Supervisor,
        state: Callable[[], State],
        busy: Callable[[], bool],
    ) -> None:
        self._core = core
        self._config = config
        self._supervisor = supervisor
        self._state = state
        self._busy = busy
        #: The calibration in use (robot base in scanner RAS), or ``None``.
        self.T_scanner_from_robot: Transform | None = None
        #: The id of that calibration (``CLB_<id>`` or the Z-frame image's).
        self.calibration_id: str | None = None
        #: The accepted target, or ``None``.
        self.target: AcceptedTarget | None = None
        #: A target (scanner RAS, its id, its sender) that arrived while the needle was in: kept
        #: apart from the accepted one and planned once the needle is measured out.
        self.pending_target: tuple[Transform, str, str] | None = None

    @property
    def has_target(self) -> bool:
        """Whether a target is accepted (IS_IN_TARGETING_POS)."""
        return self.target is not None

    def has_reached_target(self) -> bool:
        """The measured joints are at the accepted target's goal (HAS_REACHED_TARGET), at rest."""
        if self.target is None or self._busy():
            return False
        return at_rest_at(
            self._core.readings,
            self._config.controller,
            self.target.goal.joint_values,
            self._config.runtime.arrival_tolerance_mm,
            self._config.runtime.arrival_tolerance_rad,
        )

    def drop_target(self) -> None:
        """Forget the accepted target (a new phase, tool or calibration makes it stale)."""
        self.target = None

    def plan_target(self, requested: Transform) -> JointGoal | Unreachable:
        """Plan a target pose (scanner RAS) with the current calibration and tool."""
        assert self.T_scanner_from_robot is not None  # noqa: S101 - callers check calibration
        target = Target.from_arrays(requested[:3, 3], direction_ras=requested[:3, 2])
        return plan(self._core.robot, target, self.T_scanner_from_robot)

    def calibrate(
        self, T_scanner_from_robot: Transform, calibration_id: str, source: str
    ) -> Decision:
        """Check and accept a calibration; on acceptance it is in use and the target is gone.

        A matrix that is not rigid is refused with its measured deviation (10, INVALID_MATRIX)
        and recorded as such.
        """
        problem = calibration_problem(T_scanner_from_robot)
        if problem is not None:
            return self._supervisor.handle(
                Event.CALIBRATE,
                self._core.snapshot(),
                source=source,
                rejected=SubCode.INVALID_MATRIX,
                reason=problem.message,
            )
        decision = self._supervisor.handle(
            Event.CALIBRATE, self._core.snapshot(), source=source, calibration_id=calibration_id
        )
        if decision.accepted:
            self.T_scanner_from_robot = nearest_rigid(T_scanner_from_robot)
            self.calibration_id = calibration_id
            self.target = None
        return decision

    def set_target(
        self, requested: Transform, target_id: str, source: str, *, phase: Workphase
    ) -> TargetOutcome:
        """A TGT_ transform: keep it pending (needle in), refuse it (not ready), or accept it.

        Args:
            requested: the target pose (scanner RAS).
            target_id: its id.
            source: who sent it.
            phase: the workphase in effect (a target is taken in TARGETING only).
        """
        if self._state() is State.NEEDLE_INSERTED:
            # Kept apart from the accepted target until the needle is out (then planned).
            self.keep_pending_target(requested, target_id, source)
            held = "none" if self.target is None else self.target.target_id
            return TargetOutcome(
                code=StatusCode.NOT_READY,
                sub_code=SubCode.INTERLOCK,
                reason=(
                    f"{needle_text(self._core.snapshot(), self._config.supervisor)}: {target_id} "
                    "is kept pending and planned once the needle is out (RETRACT_NEEDLE); the "
                    f"accepted target ({held}) stays"
                ),
                judged=False,
            )
        if phase is not Workphase.TARGETING or self._state() not in TARGETABLE_STATES:
            return TargetOutcome(
                code=StatusCode.NOT_READY,
                sub_code=(
                    SubCode.NOT_CALIBRATED
                    if self.T_scanner_from_robot is None
                    else SubCode.NOT_READY
                ),
                reason=(
                    f"TGT_ needs TARGETING ready (phase {phase.value}, robot {self._state().value})"
                ),
                judged=False,
            )
        return self.accept_target(requested, target_id, source)

    def reject_target(self, sub_code: SubCode, reason: str, source: str) -> Decision:
        """Record a target the robot's own checks refused (invalid matrix, unreachable)."""
        return self._supervisor.handle(
            Event.SET_TARGET, self._core.snapshot(), source=source, rejected=sub_code, reason=reason
        )

    def keep_pending_target(self, requested: Transform, target_id: str, source: str) -> None:
        """Keep a target that arrived while the needle is in, apart from the accepted one."""
        self.pending_target = (np.asarray(requested, dtype=np.float64), target_id, source)

    def take_pending_target(self) -> tuple[Transform, str, str] | None:
        """The pending target once the needle is out and the robot can take a target, else None."""
        pending = self.pending_target
        if pending is None or self._busy() or self._state() not in TARGETABLE_STATES:
            return None
        self.pending_target = None
        return pending

    def accept_pending_target(self) -> TargetOutcome | None:
        """Plan and accept a target kept while the needle was in, once it is out (each cycle)."""
        pending = self.take_pending_target()
        if pending is None:
            return None
        requested, target_id, source = pending
        logger.info("the needle is out: planning the pending target %s", target_id)
        return self.accept_target(requested, target_id, source)

    def forget_registration(self) -> None:
        """Forget the calibration and the target (the supervisor no longer holds them)."""
        self.T_scanner_from_robot = None
        self.calibration_id = None
        self.target = None

    def accept_target(self, requested: Transform, target_id: str, source: str) -> TargetOutcome:
        """Check and plan a target, then ask the supervisor to accept it (it is then the target).

        An invalid matrix, an unreachable target or one the tip would miss by more than
        :data:`REACH_TOLERANCE_MM` is refused and recorded as such (10, with its reason).
        """
        requested = np.asarray(requested, dtype=np.float64)
        problem = target_problem(requested)
        if problem is not None:
            return self._refuse_target(SubCode.INVALID_MATRIX, problem.message, source)
        planned = self.plan_target(requested)
        if isinstance(planned, Unreachable):
            return self._refuse_target(SubCode.OUT_OF_RANGE, planned.reason, source)
        miss = float(np.linalg.norm(np.subtract(planned.tip_ras_mm, requested[:3, 3])))
        if miss > REACH_TOLERANCE_MM:
            reason = f"the tip would end {miss:.3f} mm from the target (> 0.1 mm)"
            return self._refuse_target(SubCode.OUT_OF_RANGE, reason, source)
        decision = self.accept_goal(requested, planned, target_id, source)
        if not decision.accepted or self.target is None:
            return TargetOutcome(
                code=StatusCode.OK if decision.accepted else decision.code,
                sub_code=SubCode.OK if decision.accepted else decision.sub_code,
                reason="" if decision.accepted else decision.reason,
                judged=True,
            )
        return TargetOutcome(
            code=StatusCode.OK,
            sub_code=SubCode.OK,
            reason=planned.describe().replace("\n", "; "),
            judged=True,
            T_scanner_from_reached=self.target.T_scanner_from_reached,
        )

    def _refuse_target(self, sub_code: SubCode, reason: str, source: str) -> TargetOutcome:
        self.reject_target(sub_code, reason, source)
        return TargetOutcome(
            code=StatusCode.CONFIG_ERROR, sub_code=sub_code, reason=reason, judged=True
        )

    def accept_goal(
        self, requested: Transform, goal: JointGoal, target_id: str, source: str
    ) -> Decision:
        """Ask the supervisor to accept a planned target; on acceptance it is the robot's target.

        The supervisor remembers the target's insertion depth, so no insertion permit may reach
        deeper than it.
        """
        decision = self._supervisor.handle(
            Event.SET_TARGET,
            self._core.snapshot(),
            source=source,
            target_id=target_id,
            target_depth_mm=float(goal.joint_values[self._core.robot.insertion_index]),
        )
        if decision.accepted:
            self.target = AcceptedTarget(
                target_id=target_id,
                requested=requested,
                goal=goal,
                T_scanner_from_reached=self.reached_pose(goal, requested),
            )
        return decision

    def reached_pose(self, goal: JointGoal, requested: Transform) -> Transform:
        """The pose the robot will reach for ``goal`` (scanner RAS)."""
        return pose_along(goal.tip_ras_mm, goal.direction_ras, requested)

    def T_scanner_from_zframe_to_robot(self, T_scanner_from_zframe: Transform) -> Transform:
        """The calibration implied by a Z-frame pose and the configured mount."""
        return compose(T_scanner_from_zframe, self._config.T_zframe_from_robot)
