"""START_UP over several cycles: clear latches, bring the controller up, home every axis.

A restart always needs this: the supervisor starts in OFF, and MOVE needs a target, which needs
a calibration, which needs READY, which only homing reaches (position may be lost on restart).
Homing runs in two stages: the insertion axis alone first (it homes towards its retracted end,
so a needle left in tissue, or at an unknown depth after a restart, comes out along its own
axis), then, once the needle is measured out, the other axes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from hal import CallbackReturn, FirmwareState, HalError, LifecycleState
from robot.runtime.jobs import JobKind, JobResult, StartUpJob, StartUpStep
from safety import LATCHED_STATES, Event, State, StatusCode, SubCode
from safety.guards import homing_stages
from safety.interlocks import needle_text

if TYPE_CHECKING:
    from collections.abc import Callable

    from hal import ControllerDriver
    from robot.runtime.config import RobotConfig
    from robot.runtime.services import CoreServices
    from safety import Decision, Supervisor

__all__ = ["StartUpSequence"]

logger = logging.getLogger(__name__)

#: Longest wait for the firmware to leave its latched state after CLEAR_FAULT, and for the first
#: telemetry after activation (s).
_SETTLE_S: Final = 1.0
#: Firmware states in which every axis is enabled and holding: homing may start.
_ENABLED_FIRMWARE: Final = frozenset({FirmwareState.ENABLED})
#: A homing that shows no motion within this is taken as finished if every axis reports HOMED (s).
_HOMING_QUIET_S: Final = 1.0
#: Link (re)connection attempts within one START_UP, and the first wait between two (s; doubled
#: after each failed attempt, counted in control cycles, so the loop never blocks on it).
_CONNECT_ATTEMPTS: Final = 4
_CONNECT_BACKOFF_S: Final = 0.1
_LATCHED_FIRMWARE: Final = frozenset({FirmwareState.ESTOP, FirmwareState.FAULT})


class StartUpSequence:
    """START_UP of a :class:`~robot.runtime.core.RobotCore`: its steps over control cycles.

    Owns the START_UP job; reads the core's readings and snapshot of the cycle, and reports
    through the core's ``finish``. Called from the control-loop thread only.

    Args:
        core: the robot whose readings, snapshot, audit commit and results it uses.
        config: the robot.
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
        self.job: StartUpJob | None = None
        self._seen_homing = False

    def start(self, source: str) -> None:
        """Begin START_UP; the result arrives later as a :class:`JobResult` (START_UP).

        Steps (OPENIGTLINK.md 4.4 "reset guards, firmware, homing"): reconnect a lost link or
        configure a fresh driver (handshake), clear a latched firmware fault once telemetry shows
        it, reset the supervisor's latch (its guards see the fresh link), enable, home.
        """
        now_s = self._now()
        self.job = StartUpJob(
            step=StartUpStep.CONNECT, started_s=now_s, step_started_s=now_s, source=source
        )
        self.advance()

    def _fail(self, reason: str, *, audited: bool = False) -> None:
        """End START_UP with 13 sub 8 NOT_READY (OPENIGTLINK.md 4.4); ``reason`` names the cause.

        Unless a supervisor decision already recorded it (``audited``), the failure is audited
        as a HOMING_FAILED report with ``reason`` as its cause (refused, so the state stays as
        it is outside homing).
        """
        logger.error("START_UP failed: %s", reason)
        self.job = None
        if not audited:
            self.supervisor.handle(
                Event.HOMING_FAILED, self._core.snapshot(), source="control_loop", reason=reason
            )
        self._core.finish(
            JobResult(
                kind=JobKind.START_UP,
                code=StatusCode.NOT_READY,
                sub_code=SubCode.NOT_READY,
                reason=reason,
            )
        )

    def _next(self, step: StartUpStep) -> None:
        assert self.job is not None  # noqa: S101 - called while starting up
        self.job.step = step
        self.job.step_started_s = self._now()

    def advance(self) -> None:
        """Run the current START_UP step (called once per cycle while starting up)."""
        job = self.job
        if job is None:
            return
        waited_s = self._now() - job.step_started_s
        if job.step is StartUpStep.CONNECT:
            self._connect(job)
        elif job.step is StartUpStep.CLEAR_FIRMWARE:
            self._clear_firmware(waited_s, job)
        elif job.step is StartUpStep.RESET:
            self._reset(waited_s)
        elif job.step is StartUpStep.BRING_UP:
            self._bring_up(waited_s)
        elif job.step is StartUpStep.AWAIT_TELEMETRY:
            self._await_telemetry(waited_s, job.source)
        else:
            self._homing(waited_s, job)

    def _firmware_state(self) -> FirmwareState | None:
        joints = self.driver.joint_readings()
        return None if joints is None else joints.firmware_state

    def _firmware_state_name(self) -> str:
        state = self._firmware_state()
        return "unknown (no telemetry)" if state is None else FirmwareState(state).name

    def _with_controller_faults(self, text: str) -> str:
        """``text`` and the controller faults reported since START_UP began (the cause)."""
        driver_down = self.driver.state is LifecycleState.UNCONFIGURED
        if driver_down or self.supervisor.state in {State.OFF, *LATCHED_STATES}:
            self._core.drain_controller_faults()  # nothing else acts on them now (see core.sense)
        if not self._core.controller_faults:
            return text
        return f"{text}; the controller reported: {'; '.join(self._core.controller_faults)}"

    def _connect(self, job: StartUpJob) -> None:
        """Configure a fresh driver, or reconnect a lost link (backoff between attempts)."""
        driver = self.driver
        if driver.state is not LifecycleState.UNCONFIGURED and driver.link_up:
            self._next(StartUpStep.CLEAR_FIRMWARE)
            self._clear_firmware(0.0, job)
            return
        now_s = self._now()
        if now_s < job.retry_at_s:
            return
        job.attempts += 1
        fresh = driver.state is LifecycleState.UNCONFIGURED
        result = driver.configure() if fresh else driver.reconnect(attempts=1)
        if result is CallbackReturn.SUCCESS:
            logger.info("START_UP: controller link up (attempt %d)", job.attempts)
            self._next(StartUpStep.CLEAR_FIRMWARE)
            self._clear_firmware(0.0, job)
            return
        # A refusal (handshake refused, NACK) is the firmware's answer: retrying cannot help.
        if result is CallbackReturn.FAILURE or job.attempts >= _CONNECT_ATTEMPTS:
            self._fail(
                self._with_controller_faults(
                    f"the controller did not {'configure' if fresh else 'reconnect'} "
                    f"({job.attempts} attempt(s)): {driver.last_error}"
                )
            )
            return
        job.retry_at_s = now_s + _CONNECT_BACKOFF_S * 2 ** (job.attempts - 1)

    def _telemetry_current(self, since_s: float | None = None) -> bool:
        """Telemetry of this link session (``open()`` forgets older), in time, after ``since_s``."""
        joints = self.driver.joint_readings()
        if joints is None or (since_s is not None and joints.received_at_s < since_s):
            return False
        status = self.driver.read(self._now())
        return not (status.comm_timeout or status.link_down)

    def _clear_firmware(self, waited_s: float, job: StartUpJob) -> None:
        """Clear a latched firmware fault or e-stop, judged from current telemetry."""
        since_s = job.step_started_s if job.cleared else None  # after the clear, newer only
        if not self._telemetry_current(since_s):
            if waited_s > _SETTLE_S:
                self._fail(
                    self._with_controller_faults(
                        f"no current telemetry from the controller {_SETTLE_S:g} s after "
                        + ("CLEAR_FAULT" if job.cleared else "the link came up")
                    )
                )
            return
        state = self._firmware_state()
        if state not in _LATCHED_FIRMWARE:
            self._next(StartUpStep.RESET)
            self._reset(0.0)
            return
        if job.cleared:
            if waited_s > _SETTLE_S:
                self._fail(
                    self._with_controller_faults(
                        f"the controller is still latched ({FirmwareState(state).name}) "
                        f"{_SETTLE_S:g} s after "
                        "CLEAR_FAULT (e-stop pressed?)"
                    )
                )
            return
        try:
            self.driver.clear_fault()
        except HalError as err:
            self._fail(
                self._with_controller_faults(f"the controller refused to clear its fault: {err}")
            )
            return
        job.cleared = True
        job.step_started_s = self._now()  # wait for telemetry sent after the clear

    def _reset(self, waited_s: float) -> None:
        """Reset the supervisor's latch once this cycle's snapshot shows the fresh link."""
        if self.supervisor.state in LATCHED_STATES:
            status = self._core.status  # what the RESET guards judge (read at the top of the cycle)
            if status is None or status.link_down or status.comm_timeout:
                if waited_s > _SETTLE_S:
                    self._fail(
                        self._with_controller_faults(
                            f"the controller link is not healthy {_SETTLE_S:g} s after it came "
                            "up, so the latch cannot be reset"
                        )
                    )
                return
            decision = self.supervisor.handle(
                Event.RESET, self._core.snapshot(), source=self._source()
            )
            if not decision.accepted:
                self._fail(f"the cause persists: {decision.reason}", audited=True)
                return
        self._next(StartUpStep.BRING_UP)
        self._bring_up(0.0)

    def _source(self) -> str:
        return "" if self.job is None else self.job.source

    def _bring_up(self, waited_s: float) -> None:
        driver = self.driver
        if driver.stop_pending:
            # A stop (e.g. the protective stop START_UP recovers from) is repeated until the
            # firmware confirms it at rest: enabling before that would be undone by the repeat.
            if waited_s > _SETTLE_S:
                self._fail(
                    self._with_controller_faults(
                        f"the last stop was not confirmed at rest {_SETTLE_S:g} s after "
                        "START_UP began (axes still moving?)"
                    )
                )
            return
        if (
            driver.state is LifecycleState.ACTIVE
            and self._telemetry_current()
            and self._firmware_state() not in _ENABLED_FIRMWARE
        ):
            # Active, but the firmware holds after a stop (STOPPED after Cat 2, IDLE with the
            # drives off after Cat 1): enable again through the lifecycle, so homing finds every
            # axis enabled.
            logger.info(
                "START_UP: controller active with firmware %s: re-enabling",
                self._firmware_state_name(),
            )
            if driver.deactivate() is not CallbackReturn.SUCCESS:
                self._fail(
                    self._with_controller_faults(
                        f"the controller did not deactivate: {driver.last_error}"
                    )
                )
                return
        if driver.state is LifecycleState.UNCONFIGURED and driver.configure() is not (
            CallbackReturn.SUCCESS
        ):
            self._fail(
                self._with_controller_faults(
                    f"the controller did not configure: {driver.last_error}"
                )
            )
            return
        if driver.state is LifecycleState.INACTIVE:
            if self.job is not None:
                self.job.activated = True
            if driver.activate() is not CallbackReturn.SUCCESS:
                self._fail(
                    self._with_controller_faults(
                        f"the controller did not activate: {driver.last_error}"
                    )
                )
                return
        self._next(StartUpStep.AWAIT_TELEMETRY)

    def _await_telemetry(self, waited_s: float, source: str) -> None:
        status = self._core.status
        fresh = (
            status is not None
            and not status.comm_timeout
            and self._core.readings.positions is not None
        )
        job = self.job
        if (
            fresh
            and self._firmware_state() not in _ENABLED_FIRMWARE
            and job is not None
            and not job.activated
            and self.driver.state is LifecycleState.ACTIVE
        ):
            # The firmware went to hold after bring-up looked (telemetry then still said
            # ENABLED): bring it up again, once.
            self._next(StartUpStep.BRING_UP)
            return
        if not fresh or self._firmware_state() not in _ENABLED_FIRMWARE:
            if waited_s > _SETTLE_S:
                self._fail(
                    self._with_controller_faults(
                        f"no telemetry from an enabled controller {_SETTLE_S:g} s after "
                        f"activation (firmware state {self._firmware_state_name()})"
                    )
                )
            return
        snapshot = self._core.snapshot()
        decision = self.supervisor.handle(
            Event.START_UP,
            snapshot,
            source=source,
            reason=(
                "homing the insertion axis first, then the others: "
                f"{needle_text(snapshot, self.config.supervisor)}"
            ),
        )
        if not decision.accepted or decision.permit is None:
            self._fail(f"homing is not allowed: {decision.reason}", audited=True)
            return
        insertion = snapshot.insertion_position_mm
        logger.info(
            "START_UP: homing the insertion axis first (%s)",
            "position unknown" if insertion is None else f"measured at {insertion:.2f} mm",
        )
        self._home_stage(decision, StartUpStep.HOMING)

    def _home_stage(self, decision: Decision, step: StartUpStep) -> None:
        """Home the joints ``decision``'s permit covers (one START_UP stage)."""
        assert decision.permit is not None  # noqa: S101 - checked by the callers
        names = tuple(n for n in self.driver.axes if n in decision.permit.joints)
        self._core.commit()
        try:
            self.driver.home(names, permit=self.supervisor.permit)
        except (HalError, ValueError) as err:
            self._homing_failed(f"homing of {', '.join(names)} was refused: {err}")
            return
        self._seen_homing = False
        self._next(step)

    def _homing_failed(self, reason: str) -> None:
        decision = self.supervisor.handle(
            Event.HOMING_FAILED, self._core.snapshot(), source="control_loop", reason=reason
        )
        self._core.apply_stop(decision)
        self._fail(reason, audited=True)

    def _homing(self, waited_s: float, job: StartUpJob) -> None:
        state = self._firmware_state()
        moving = self._core.readings.moving or state is FirmwareState.HOMING
        self._seen_homing |= moving
        quiet = waited_s > _HOMING_QUIET_S
        lateral_stage = self.supervisor.state is State.HOMING_LATERAL
        permit = self.supervisor.permit
        covered = () if permit is None else tuple(permit.joints)
        homed = all(
            self._core.readings.homed_axes[i] if i < len(self._core.readings.homed_axes) else False
            for i, name in enumerate(self.driver.axes)
            if name in covered
        )
        if homed and not moving and (self._seen_homing or quiet) and not lateral_stage:
            if len(homing_stages(self.config.supervisor)) == 1:  # a robot homed in one stage
                self._homing_done()
                return
            # the insertion axis is homed (retracted): the others, once the needle is out
            decision = self.supervisor.handle(
                Event.HOME_LATERAL, self._core.snapshot(), source="hal"
            )
            if not decision.accepted or decision.permit is None:
                self._homing_failed(
                    f"the lateral axes may not home after the insertion axis: {decision.reason}"
                )
                return
            self._home_stage(decision, StartUpStep.HOMING)
            return
        if self._core.readings.homed and not moving and (self._seen_homing or quiet):
            self._homing_done()
            return
        if self._now() - job.started_s > self.config.runtime.homing_timeout_s:
            self._homing_failed(
                f"homing did not finish within {self.config.runtime.homing_timeout_s:g} s"
            )

    def _homing_done(self) -> None:
        decision = self.supervisor.handle(Event.HOMING_DONE, self._core.snapshot(), source="hal")
        self.job = None
        self._core.finish(
            JobResult(
                kind=JobKind.START_UP,
                code=decision.code if decision.accepted else StatusCode.NOT_READY,
                sub_code=decision.sub_code if decision.accepted else SubCode.NOT_READY,
                reason="homed" if decision.accepted else decision.reason,
            )
        )
