"""The robot as the control loop sees it: supervisor, controller driver and kinematics together.

Only the control-loop thread calls a :class:`RobotCore`. Each cycle it calls :meth:`sense`
(HAL read -> interlock snapshot -> HAL faults -> ``supervisor.evaluate``), then the workphase
layer's commands (``start_up``, ``targets.calibrate``, ``targets.set_target``,
``move_to_target``, ``stop``, ...), then :meth:`act` (advance homing, motion and stops), and
:meth:`commit` (audit group commit). Results of multi-cycle work come back from
:meth:`sense`/:meth:`act` as :class:`~robot.runtime.jobs.JobResult`. The core is composed of
collaborators, each in its own module: ``StartUpSequence`` (robot/runtime/startup.py),
``MotionControl`` (motion.py) and ``Targeting`` (targeting.py: calibration and target).
Motion always follows: plan in the robot frame (target in scanner RAS through the calibration),
a trajectory that retracts before lateral motion, a permit from the supervisor, the audit
committed, then the HAL moves with that permit.
"""

from __future__ import annotations

import logging
from collections import deque
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import numpy as np

from hal import FaultEvent, HalFaultKind, LifecycleState
from hal import StopCategory as WireStop
from kinematics import transform_points, transform_vectors
from robot.runtime.jobs import (
    AcceptedTarget,
    JobKind,
    JobResult,
    MoveJob,
    StartUpJob,
    StopJob,
)
from robot.runtime.motion import MotionControl
from robot.runtime.pose import pose_along
from robot.runtime.readings import read_joints, snapshot_from
from robot.runtime.startup import StartUpSequence
from robot.runtime.targeting import Targeting
from safety import (
    LATCHED_STATES,
    MOTION_STATES,
    Event,
    State,
    StatusCode,
    StopCategory,
    SubCode,
    Workphase,
)
from safety.errors import AuditError
from safety.interlocks import needle_text

if TYPE_CHECKING:
    from collections.abc import Callable

    from hal import ControllerDriver, HalStatus
    from kinematics import NeedleRobot, Transform
    from robot.runtime.config import RobotConfig
    from robot.runtime.readings import Readings
    from safety import Decision, InterlockSnapshot, Supervisor

__all__ = ["WIRE_STOP", "AcceptedTarget", "RobotCore"]

logger = logging.getLogger(__name__)

_STOPPING_HAL_FAULTS: Final = frozenset(
    {
        HalFaultKind.TRANSPORT_LOST,
        HalFaultKind.LINK_TIMEOUT,
        HalFaultKind.FIRMWARE_FAULT,
        HalFaultKind.READER_DIED,
        HalFaultKind.FRAME_ERRORS,
        HalFaultKind.REQUEST_TIMEOUT,
    }
)
#: Controller faults a START_UP failure names (the most recent ones).
_REMEMBERED_FAULTS: Final = 4
#: The supervisor's stop categories on the wire: the one mapping between the two definitions
#: (safety and the firmware protocol may not import each other).
WIRE_STOP: Final = MappingProxyType(
    {
        StopCategory.CAT0: WireStop.CAT0,
        StopCategory.CAT1: WireStop.CAT1,
        StopCategory.CAT2: WireStop.CAT2,
    }
)
#: Workphases a MOVE_TO_TARGET may follow.
_MOVE_AFTER: Final = frozenset({Workphase.TARGETING, Workphase.MOVE_TO_TARGET})
#: Supervisor states in which axes seek their limit switches (START_UP's two homing stages).
HOMING_STATES: Final = frozenset({State.STARTUP, State.HOMING_LATERAL})


class RobotCore:
    """Supervisor, driver and kinematics composed; one owner thread (the control loop).

    Args:
        config: the robot.
        driver: the controller driver (its permits verified by ``supervisor.verifier``).
        supervisor: the safety supervisor.
        now: the control loop's monotonic clock (s), the same the driver and supervisor use.
        commit: the audit log's group commit (called before a permit reaches the HAL).
        console_alive: whether a console holding command authority is connected.
    """

    def __init__(
        self,
        config: RobotConfig,
        driver: ControllerDriver,
        supervisor: Supervisor,
        *,
        now: Callable[[], float],
        commit: Callable[[], object],
        console_alive: Callable[[], bool],
    ) -> None:
        self.config = config
        self.driver = driver
        self.supervisor = supervisor
        self._now = now
        self._commit = commit
        self._console_alive = console_alive
        self.robot: NeedleRobot = config.robot()
        self.tool_length_mm = config.guide.tool.length_mm
        self.scanner_imaging: bool | None = None
        self.stopping: StopJob | None = None
        self._cut_motion = False  # the last STOP/EMERGENCY cut motion (see _cut_jobs)
        self.status: HalStatus | None = None
        self.readings: Readings = read_joints(driver, config.controller)
        self._sensed_s = 0.0
        self._results: list[JobResult] = []
        self.hal_faults_seen = 0
        #: Controller faults reported since START_UP began (newest last), named in its result.
        self.controller_faults: deque[str] = deque(maxlen=_REMEMBERED_FAULTS)
        #: Consecutive failed audit commits (0 while the writer is healthy).
        self.audit_commit_failures = 0
        self._startup = StartUpSequence(
            self, config=config, driver=driver, supervisor=supervisor, now=now
        )
        self._motion = MotionControl(
            self, config=config, driver=driver, supervisor=supervisor, now=now
        )
        #: The calibration in use, the accepted target and a pending one (their checks too).
        self.targets = Targeting(
            self,
            config=config,
            supervisor=supervisor,
            state=lambda: self.state,
            busy=lambda: self.busy,
        )

    # --- per cycle ---------------------------------------------------------------------------

    def snapshot(self, *, command_authority: bool = True) -> InterlockSnapshot:
        """The interlock snapshot: this cycle's HAL readings with the robot's current inputs.

        Rebuilt on each call, so a command handled later in a cycle sees a scanner state or a
        calibration that an earlier event of the same cycle changed.
        """
        if self.status is None:
            self.sense()
        assert self.status is not None  # noqa: S101 - set by sense()
        return snapshot_from(
            status=self.status,
            readings=self.readings,
            config=self.config.controller,
            scanner_imaging=self.scanner_imaging,
            console_heartbeat_at_s=self._sensed_s if self._console_alive() else None,
            calibration_valid=self.T_scanner_from_robot is not None,
            homing=self.supervisor.state in HOMING_STATES,
            command_authority=command_authority,
            insertion_index=self.robot.insertion_index,
        )

    def sense(self) -> list[JobResult]:
        """Read the HAL, build the snapshot, report HAL faults, let the supervisor evaluate."""
        now_s = self._now()
        self._sensed_s = now_s
        status = self.driver.read(now_s)
        self.status = status
        self.readings = read_joints(self.driver, self.config.controller, self.readings)
        self._drain_hal_faults(status)
        decision = self.supervisor.evaluate(self.snapshot())
        if decision is not None and decision.stop is not None:
            self.react(decision)
        self._follow_memory()
        return self._take_results()

    def _follow_memory(self) -> None:
        """Forget a calibration or target the supervisor has forgotten (START_UP, a latch...).

        The supervisor's memory decides what is accepted; the core keeps the matrices that go
        with it, never one the supervisor no longer holds.
        """
        memory = self.supervisor.memory
        if memory.calibration_id is None and self.T_scanner_from_robot is not None:
            self.targets.forget_registration()
        if memory.target_id is None and self.target is not None:
            self.targets.drop_target()

    def act(self) -> list[JobResult]:
        """Advance START_UP, motion and stops by one cycle."""
        if self.startup is not None:
            self._startup.advance()
        if self.motion is not None:
            self._motion.advance()
        if self.stopping is not None:
            self._advance_stop()
        return self._take_results()

    def commit(self) -> None:
        """Group-commit the audit records of this cycle (never raises).

        A failed commit (disk full, I/O error) leaves the audit writer unhealthy, which the
        supervisor sees as the ``audit_unavailable`` interlock: no new permit, running motion
        paused (Cat 2). It is logged once per failure spell, never raised into the cycle.
        """
        try:
            self._commit()
        except AuditError as err:
            self.audit_commit_failures += 1
            if self.audit_commit_failures == 1 or self.audit_commit_failures % 1000 == 0:
                logger.error(  # noqa: TRY400 - the message names the cause; no traceback
                    "audit commit failed (%d so far; audit_unavailable interlock): %s",
                    self.audit_commit_failures,
                    err,
                )
        else:
            self.audit_commit_failures = 0

    def _take_results(self) -> list[JobResult]:
        out, self._results = self._results, []
        return out

    def finish(self, result: JobResult) -> None:
        """Queue ``result`` for the workphase layer."""
        self._results.append(result)

    # --- faults and stops --------------------------------------------------------------------

    def drain_controller_faults(self) -> list[FaultEvent]:
        """Take the driver's queued fault events, remembering them in :attr:`controller_faults`.

        Only called where nothing else would act on them (the driver unconfigured, or at the top
        of :meth:`sense`, which then acts on them).
        """
        events: list[FaultEvent] = []
        while not self.driver.faults.empty():
            events.append(self.driver.faults.get_nowait())
        self.hal_faults_seen += len(events)
        for event in events:
            text = f"{event.kind.value}: {event.detail}"
            if text not in self.controller_faults:
                self.controller_faults.append(text)
        return events

    def _drain_hal_faults(self, status: HalStatus) -> None:
        events = self.drain_controller_faults()
        active = self.driver.state is not LifecycleState.UNCONFIGURED
        if not active or self.supervisor.state in {State.OFF, *LATCHED_STATES}:
            return
        stopping = [e for e in events if e.kind in _STOPPING_HAL_FAULTS]
        if stopping:
            first = stopping[0]
            self.fault(f"controller fault {first.kind.value}: {first.detail}")
        elif status.firmware_fault or status.link_down:
            what = "a lost link" if status.link_down else "firmware state FAULT"
            last = self.controller_faults[-1] if self.controller_faults else "none reported"
            self.fault(f"controller reports {what} (last controller fault: {last})")

    def fault(self, reason: str) -> None:
        """Report a hardware fault to the supervisor and carry out its stop."""
        logger.error("hardware fault: %s", reason)
        decision = self.supervisor.handle(
            Event.FAULT, self.snapshot(), source="control_loop", reason=reason
        )
        self.react(decision, reason=reason)

    def react(self, decision: Decision, *, reason: str | None = None) -> None:
        """Carry out a decision's stop and end the job it cut with the decision's verdict."""
        self.apply_stop(decision)
        text = reason or decision.reason
        code = decision.code if decision.code is not StatusCode.OK else StatusCode.NOT_READY
        sub = decision.sub_code if decision.sub_code is not SubCode.OK else SubCode.INTERLOCK
        if self.motion is not None:
            self.finish(JobResult(kind=self.motion.kind, code=code, sub_code=sub, reason=text))
            self._motion.job = None
        elif self.startup is not None:
            self.finish(
                JobResult(
                    kind=JobKind.START_UP,
                    code=StatusCode.NOT_READY,
                    sub_code=SubCode.NOT_READY,
                    reason=text,
                )
            )
            self._startup.job = None
        elif self.stopping is None:
            self.finish(JobResult(kind=JobKind.FAULT, code=code, sub_code=sub, reason=text))

    def apply_stop(self, decision: Decision) -> None:
        """Command the stop category ``decision`` asks for (never raises)."""
        if decision.stop is None or self.driver.state is LifecycleState.UNCONFIGURED:
            return
        wire = WIRE_STOP[decision.stop]
        if wire is WireStop.CAT0:
            self.driver.estop()
        else:
            self.driver.stop(wire)

    def stop(self, source: str, *, report: bool = True) -> Decision:
        """STOP (Cat 2) from anyone: cut any motion; ``report``: await standstill, say so."""
        decision = self.supervisor.handle(Event.STOP, self.snapshot(), source=source)
        self._cut_jobs()
        self.apply_stop(decision)
        if report:
            self.await_standstill(JobKind.STOP)
        return decision

    def emergency(self, source: str, *, hal_stopped: bool = False, report: bool = True) -> Decision:
        """EMERGENCY from anyone: the HAL's ``estop()``, the supervisor's latch, one decision.

        Args:
            source: who asked (the audit record's source).
            hal_stopped: the HAL's ``estop()`` already ran for this request (on the connection's
                reader thread); it is not called again.
            report: await standstill and report it (see :meth:`stop`); without it the report
                can follow with :meth:`await_standstill`.
        """
        if not hal_stopped and self.driver.state is not LifecycleState.UNCONFIGURED:
            self.driver.estop()
        decision = self.supervisor.handle(Event.EMERGENCY, self.snapshot(), source=source)
        self._cut_jobs()
        if report:
            self.await_standstill(JobKind.EMERGENCY)
        return decision

    def await_standstill(self, kind: JobKind) -> None:
        """Report a STOP or EMERGENCY already decided once the axes stand still (or time out).

        No new decision: the one :meth:`stop` or :meth:`emergency` took stands; the result
        (``kind``) follows from :meth:`act`.
        """
        self.stopping = StopJob(kind=kind, started_s=self._now(), cut_motion=self._cut_motion)

    def _advance_stop(self) -> None:
        job = self.stopping
        assert job is not None  # noqa: S101 - checked by the caller
        if not self.readings.moving:
            self.stopping = None
            self.finish(
                JobResult(
                    kind=job.kind,
                    code=StatusCode.OK,
                    sub_code=SubCode.OK,
                    reason="at standstill",
                    cut_motion=job.cut_motion,
                )
            )
            return
        if self._now() - job.started_s > self.config.runtime.stop_timeout_s:
            if self.driver.state is not LifecycleState.UNCONFIGURED:
                self.driver.estop() if job.kind is JobKind.EMERGENCY else self.driver.stop()
            self.stopping = None
            self.finish(
                JobResult(
                    kind=job.kind,
                    code=StatusCode.HARDWARE_FAILURE,
                    sub_code=SubCode.HARDWARE,
                    reason=(
                        f"axes still moving {self.config.runtime.stop_timeout_s:g} s after "
                        f"{job.kind.value}; Cat 1 stop commanded"
                    ),
                    cut_motion=True,
                )
            )

    def _cut_jobs(self) -> None:
        self._cut_motion = (
            self._motion.job is not None or self._startup.job is not None or self.readings.moving
        )
        self._motion.job = None
        self._startup.job = None

    # --- jobs ----------------------------------------------------------------------------------

    @property
    def startup(self) -> StartUpJob | None:
        """START_UP in progress, or ``None``."""
        return self._startup.job

    @property
    def motion(self) -> MoveJob | None:
        """The move or retraction in progress, or ``None``."""
        return self._motion.job

    def start_up(self, source: str) -> None:
        """Begin START_UP; the result arrives later as a :class:`JobResult` (START_UP)."""
        self.controller_faults.clear()
        self._startup.start(source)

    def move_to_target(
        self, source: str, *, previous: Workphase = Workphase.TARGETING, insert: bool = True
    ) -> JobResult | None:
        """Start the move to the accepted target; a refusal is returned, ``None`` = started.

        The one place that checks whether there is a target to move to.

        Args:
            source: who asked.
            previous: the workphase in effect before this request: MOVE_TO_TARGET follows
                TARGETING (or a move), never MANUAL.
            insert: also insert the tool to the target depth; ``False``: align the guide with
                the tool retracted (a needle guide; the tool is inserted by hand).
        """
        refusal = self._move_refusal(previous)
        if refusal is not None:
            return JobResult(
                kind=JobKind.MOVE, code=StatusCode.NOT_READY, sub_code=refusal[0], reason=refusal[1]
            )
        assert self.target is not None  # noqa: S101 - checked by _move_refusal
        return self._motion.move_to_target(self.target, source, insert=insert)

    def _move_refusal(self, previous: Workphase) -> tuple[SubCode, str] | None:
        state = self.state
        if state is State.NEEDLE_INSERTED:
            return SubCode.INTERLOCK, (
                f"MOVE_TO_TARGET refused: {self.needle_text()}; only the needle may move, back "
                "out: RETRACT_NEEDLE (START_UP also retracts it first)"
            )
        if previous is Workphase.MANUAL or state is State.MANUAL:
            return SubCode.MANUAL_MODE, "the robot is in MANUAL; choose TARGETING first"
        if state in LATCHED_STATES:
            return SubCode.INTERLOCK, f"the robot is latched in {state.value}; START_UP first"
        if state is State.OFF:
            return SubCode.NOT_READY, "START_UP (homing) has not completed"
        if self.target is None or previous not in _MOVE_AFTER:
            return SubCode.NO_TARGET, "no accepted target: send TARGETING and a TGT_ transform"
        return None

    def retract_needle(self, source: str) -> JobResult | None:
        """Retract the insertion axis alone; a refusal is returned, ``None`` = started."""
        return self._motion.retract_needle(source)

    # --- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        """Supervisor state."""
        return self.supervisor.state

    @property
    def busy(self) -> bool:
        """Homing, moving or retracting (a new command would be refused with 13 sub 6)."""
        return (
            self.supervisor.state in MOTION_STATES
            or self.motion is not None
            or self.startup is not None
        )

    def set_scanner_imaging(self, *, imaging: bool | None) -> None:
        """The scanner bridge's imaging state (``None``: unknown)."""
        self.scanner_imaging = imaging

    def set_tool_length(self, length_mm: float) -> None:
        """A new needle length (mm); an accepted target (planned for the old tool) is dropped.

        Raises:
            ValueError: not finite and > 0.
        """
        self.robot = self.config.robot(length_mm)
        self.tool_length_mm = length_mm
        self.targets.drop_target()

    def needle_text(self) -> str:
        """Where the needle is, measured (for refusals)."""
        return needle_text(self.snapshot(), self.config.supervisor)

    def current_pose(self) -> Transform | None:
        """Needle-tip pose: FK of measured joints, scanner RAS (robot frame if uncalibrated)."""
        positions = self.readings.positions
        if positions is None:
            return None
        lo = np.array([j.lower for j in self.robot.joints])
        hi = np.array([j.upper for j in self.robot.joints])
        pose = self.robot.forward(np.clip(positions, lo - 5.0, hi + 5.0))
        T_s_r = np.eye(4) if self.T_scanner_from_robot is None else self.T_scanner_from_robot
        tip = transform_points(T_s_r, pose.tip_robot_mm)[0]
        direction = transform_vectors(T_s_r, pose.direction_robot)[0]
        reference = None if self.target is None else self.target.requested
        return pose_along(tip, direction, reference)

    @property
    def target(self) -> AcceptedTarget | None:
        """The accepted target (owned by :attr:`targets`), or ``None``."""
        return self.targets.target

    @property
    def T_scanner_from_robot(self) -> Transform | None:
        """The calibration in use (owned by :attr:`targets`), or ``None``."""
        return self.targets.T_scanner_from_robot

    def plane_pose(self) -> Transform | None:
        """The pose a scan plane along the needle goes through: the target's, else the measured."""
        if self.target is not None:
            return self.target.T_scanner_from_reached
        return self.current_pose()

    # --- commands the workphase layer translates into (the core owns the state they change) ---

    def plan(self, source: str) -> Decision:
        """PLANNING: the supervisor's PLAN (from MANUAL it forgets calibration and target)."""
        decision = self.supervisor.handle(Event.PLAN, self.snapshot(), source=source)
        if decision.accepted and decision.state_after is State.READY:
            self.targets.forget_registration()
        return decision

    def manual(self, source: str) -> Decision:
        """MANUAL: the supervisor's MANUAL (the target is forgotten)."""
        decision = self.supervisor.handle(Event.MANUAL, self.snapshot(), source=source)
        if decision.accepted:
            self.targets.drop_target()
        return decision

    def targeting(self, source: str) -> Decision:
        """TARGETING: the supervisor's TARGETING; on acceptance the target is forgotten."""
        decision = self.supervisor.handle(Event.TARGETING, self.snapshot(), source=source)
        if decision.accepted:
            self.targets.drop_target()
        return decision
