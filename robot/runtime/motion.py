"""Motion over several cycles: trajectory (retract before lateral), permit, segments, arrival."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

import numpy as np

from hal import HalError
from kinematics import JointKind, plan_needle_motion
from robot.runtime.jobs import JobKind, JobResult, MoveJob
from robot.runtime.readings import at_rest_at
from safety import Event, JointEnvelope, State, StatusCode, SubCode

if TYPE_CHECKING:
    from collections.abc import Callable

    from hal import ControllerDriver
    from kinematics import SynchronisedMove
    from kinematics.types import FloatArray
    from robot.runtime.config import RobotConfig
    from robot.runtime.jobs import AcceptedTarget
    from robot.runtime.services import CoreServices
    from safety import Decision, Supervisor

__all__ = ["MotionControl"]

logger = logging.getLogger(__name__)

#: Extra time a segment may take beyond ``motion_timeout_factor`` times its plan (s).
_SEGMENT_SLACK_S: Final = 1.0
#: States from which RETRACT_NEEDLE may start (homed, at rest, not latched, not MANUAL).
_RETRACTABLE: Final = frozenset(
    {State.NEEDLE_INSERTED, State.READY, State.CALIBRATED, State.TARGET_SET, State.AT_TARGET}
)


def _refusal(kind: JobKind, sub_code: SubCode, reason: str) -> JobResult:
    return JobResult(kind=kind, code=StatusCode.NOT_READY, sub_code=sub_code, reason=reason)


class MotionControl:
    """Motion of a :class:`~robot.runtime.core.RobotCore`: moves and retractions over cycles.

    Owns the motion job and the plan serial; reads the core's robot model (it changes with the
    tool), readings, target and scanner state of the cycle, and reports through the core's
    ``finish`` and ``fault``. Called from the control-loop thread only.

    Args:
        core: the robot.
        config: the robot's configuration.
        driver: the controller driver.
        supervisor: the safety supervisor.
        now: the control loop's monotonic clock (s).
    """

    def __init__(
        self,
        core: CoreServices,
        *,
        config: RobotConfig,
        driver: ControllerDriver,
        supervisor: Supervisor,
        now: Callable[[], float],
    ) -> None:
        self._core = core
        self.config = config
        self.driver = driver
        self.supervisor = supervisor
        self._now = now
        self.job: MoveJob | None = None
        self.plan_serial = 0

    def _start_point(self) -> FloatArray | None:
        positions = self._core.readings.positions
        if positions is None:
            return None
        lo = np.array([j.lower for j in self._core.robot.joints])
        hi = np.array([j.upper for j in self._core.robot.joints])
        return np.asarray(np.clip(positions, lo, hi), dtype=np.float64)

    def _envelopes(self, path: FloatArray, joints: list[int]) -> list[JointEnvelope]:
        out = []
        for index in joints:
            spec = self._core.robot.joints[index]
            runtime = self.config.runtime
            margin = (
                runtime.arrival_tolerance_rad
                if spec.kind is JointKind.REVOLUTE
                else max(runtime.arrival_tolerance_mm, 0.05)
            )
            out.append(
                JointEnvelope(
                    joint=spec.name,
                    min_position=max(spec.lower, float(path[:, index].min()) - margin),
                    max_position=min(spec.upper, float(path[:, index].max()) + margin),
                    max_speed=self.config.supervisor.joints[index].max_speed,
                )
            )
        return out

    def move_to_target(
        self, target: AcceptedTarget, source: str, *, insert: bool = True
    ) -> JobResult | None:
        """Start the move to ``target``; a refusal is returned, ``None`` = started.

        Two permits, one after the other: the alignment (MOVING: retract into the guide, move
        the lateral axes, the insertion axis kept inside the retracted band) and then the
        insertion (INSERTING: the insertion axis alone, never deeper than the target). Without
        ``insert`` the move ends aligned, the tool retracted (AT_TARGET). Whether there is a
        target to move to is the core's check (:meth:`RobotCore.move_to_target`).
        """
        goal = np.array(target.goal.joint_values)
        start = self._start_point()
        if start is None:
            return _refusal(JobKind.MOVE, SubCode.NOT_READY, "no telemetry from the controller")
        try:
            trajectory = plan_needle_motion(
                self._core.robot, start, goal, rate_hz=self.config.runtime.control_rate_hz
            )
        except ValueError as err:
            return _refusal(JobKind.MOVE, SubCode.OUT_OF_RANGE, f"no trajectory: {err}")
        align = tuple(m for m in trajectory.moves if m.name != "insert")
        inserting = tuple(m for m in trajectory.moves if m.name == "insert") if insert else ()
        points = [start, *(m.goal for m in align)]
        path = np.vstack(points)
        # Every joint of the robot: the lateral axes where the path takes them (held where
        # they are when already aligned), the insertion axis over the retraction, if any.
        joints = list(range(len(goal)))
        return self._begin(
            JobKind.MOVE,
            Event.MOVE,
            source,
            segments=align,
            envelopes=self._envelopes(path, joints),
            goal=goal if insert else np.asarray(points[-1], dtype=np.float64),
            insert=inserting,
        )

    def retract_needle(self, source: str) -> JobResult | None:
        """Retract the insertion axis alone into the guide; a refusal is returned, else ``None``.

        Possible for whoever holds control whenever the robot is homed and not latched or in
        motion: with the needle in (NEEDLE_INSERTED) and with it already out.
        """
        start = self._start_point()
        if start is None:
            return _refusal(
                JobKind.RETRACT,
                SubCode.NOT_READY,
                "no telemetry from the controller: START_UP connects it and retracts the needle "
                "first (it homes the insertion axis before the others)",
            )
        state = self.supervisor.state
        if state not in _RETRACTABLE:
            return _refusal(
                JobKind.RETRACT,
                SubCode.NOT_READY,
                f"RETRACT_NEEDLE needs a homed robot at rest, state is {state.value}; "
                "START_UP retracts the needle first (it homes the insertion axis before the "
                "others)",
            )
        ins = self._core.robot.insertion_index
        goal = start.copy()
        goal[ins] = min(float(start[ins]), self._core.robot.retracted_insertion_mm)
        try:
            trajectory = plan_needle_motion(
                self._core.robot, start, goal, rate_hz=self.config.runtime.control_rate_hz
            )
        except ValueError as err:
            return _refusal(JobKind.RETRACT, SubCode.OUT_OF_RANGE, f"no trajectory: {err}")
        path = np.vstack([start, goal])
        return self._begin(
            JobKind.RETRACT,
            Event.RETRACT,
            source,
            segments=trajectory.moves,
            envelopes=self._envelopes(path, [ins]),
            goal=goal,
        )

    def _begin(
        self,
        kind: JobKind,
        event: Event,
        source: str,
        *,
        segments: tuple[SynchronisedMove, ...],
        envelopes: list[JointEnvelope],
        goal: FloatArray,
        insert: tuple[SynchronisedMove, ...] = (),
    ) -> JobResult | None:
        """Ask the supervisor for ``event``'s permit over ``envelopes``, then start ``segments``."""
        self.plan_serial += 1
        plan_id = f"{kind.value.lower()}-{self.plan_serial}"
        decision: Decision = self.supervisor.handle(
            event, self._core.snapshot(), source=source, plan_id=plan_id, envelopes=envelopes
        )
        if not decision.accepted or decision.permit is None:
            # refused, or accepted without a permit (its audit record could not be stored: the
            # supervisor paused at once, 13 sub 7 audit_unavailable)
            return JobResult(
                kind=kind,
                code=decision.code if decision.code is not StatusCode.OK else StatusCode.NOT_READY,
                sub_code=decision.sub_code,
                reason=decision.reason,
            )
        self.job = MoveJob(
            kind=kind,
            segments=segments,
            goal=goal,
            plan_id=plan_id,
            segment_started_s=self._now(),
            insert=insert,
        )
        logger.info(
            "%s %s: %d segment(s), %.2f s planned%s",
            kind.value,
            plan_id,
            len(segments),
            sum(float(m.duration_s) for m in segments),
            f", then {len(insert)} insertion segment(s)" if insert else "",
        )
        self.advance()
        return None

    def _begin_insert(self, job: MoveJob) -> None:
        """The alignment arrived: ask for the insertion permit (insertion axis alone)."""
        ins = self._core.robot.insertion_index
        path = np.vstack([job.insert[0].start, *(m.goal for m in job.insert)])
        self.plan_serial += 1
        plan_id = f"insert-{self.plan_serial}"
        decision = self.supervisor.handle(
            Event.INSERT,
            self._core.snapshot(),
            source="control_loop",
            plan_id=plan_id,
            envelopes=self._envelopes(path, [ins]),
        )
        if not decision.accepted or decision.permit is None:
            self.job = None
            self._core.finish(
                JobResult(
                    kind=job.kind,
                    code=decision.code,
                    sub_code=decision.sub_code,
                    reason=f"aligned, but the insertion was refused: {decision.reason}",
                )
            )
            return
        job.segments, job.insert = job.insert, ()
        job.index, job.sent, job.plan_id = 0, False, plan_id
        job.segment_started_s = self._now()
        self._send(job)

    def _send(self, job: MoveJob) -> None:
        segment = job.segments[job.index]
        names = [j.name for j in self._core.robot.joints]
        targets = {
            names[i]: float(segment.goal[i])
            for i in range(len(names))
            if segment.goal[i] != segment.start[i]
        }
        job.segment_started_s = self._now()
        job.sent = True
        job.move_id = None
        if not targets:
            return
        self._core.commit()
        try:
            job.move_id = self.driver.move(
                targets,
                permit=self.supervisor.permit,
                duration_s=float(segment.duration_s),
                imaging=bool(self._core.scanner_imaging),
            )
        except (HalError, ValueError) as err:
            self._core.fault(
                f"{job.kind.value} segment {segment.name!r} refused by the controller: {err}"
            )

    def _arrived(self, job: MoveJob, goal: FloatArray) -> bool:
        # Telemetry older than the segment's move shows the axes before it: a short segment
        # (a few um of retraction) looks "arrived" there while the firmware is about to move.
        if job.move_id is not None and self._core.readings.last_move_id != job.move_id:
            return False
        return at_rest_at(
            self._core.readings,
            self.config.controller,
            goal,
            self.config.runtime.arrival_tolerance_mm,
            self.config.runtime.arrival_tolerance_rad,
        )

    def advance(self) -> None:
        """Send the next segment, detect arrival from telemetry, or fault on a time-out."""
        job = self.job
        if job is None:
            return
        if job.index >= len(job.segments):
            self._done(job)
            return
        if not job.sent:
            self._send(job)
            return
        segment = job.segments[job.index]
        if self._arrived(job, segment.goal):
            job.index += 1
            job.sent = False
            if job.index >= len(job.segments):
                self._done(job)
            else:
                self._send(job)
            return
        limit_s = segment.duration_s * self.config.runtime.motion_timeout_factor + _SEGMENT_SLACK_S
        if self._now() - job.segment_started_s > limit_s:
            self._core.fault(
                f"{job.kind.value} segment {segment.name!r} did not arrive within {limit_s:.1f} s "
                f"(planned {segment.duration_s:.1f} s)"
            )

    def _done(self, job: MoveJob) -> None:
        decision = self.supervisor.handle(Event.MOTION_DONE, self._core.snapshot(), source="hal")
        if decision.accepted and job.insert:
            self._begin_insert(job)
            return
        self.job = None
        self._core.finish(
            JobResult(
                kind=job.kind,
                code=StatusCode.OK if decision.accepted else decision.code,
                sub_code=SubCode.OK if decision.accepted else decision.sub_code,
                reason="arrived" if decision.accepted else decision.reason,
            )
        )
