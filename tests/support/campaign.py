"""The fault campaign: every emulator fault in every phase where it can strike, end to end.

Each :class:`Scenario` runs :class:`~robot.app.RobotApp` (``emulate=True``, emulator linked
in-process, stepped in real time) behind its real OpenIGTLink socket, driven by the console
library :class:`~robot.console.BrpClient`, while a :class:`GroundTruth` thread samples the
emulated firmware's axes (positions, trajectories) every millisecond of wall time. The emulator's
fault plan fires at emulator time ``at_s`` (seconds since the emulator started); the runner brings
the robot into the scenario's phase before ``at_s`` (or starts the action so that it is under way
at ``at_s``), then records what happened: when the axes stopped, which STATUS the console got,
whether a MOVE_TO_TARGET was refused afterwards with the axes still, and how the documented reset
(START_UP, which re-homes) ended. The runner only observes; ``tests/campaign`` asserts.

What the campaign does not model: the Z-frame worker (replaced by :class:`InertZFrameWorker`; no
scanner images are sent), the pty (the emulator is linked in-process), more than one console.
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from unittest import mock

import numpy as np

from robot.app import RobotApp
from robot.config import load_config
from robot.console import BrpClient, BrpClientConfig, BrpError, BrpStatusError
from robot.runtime.schema import JOINT_NAMES
from safety import read_audit_log
from tests.support.polling import wait_for

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from hal.emulator import EmulatedFirmware
    from robot.runtime import RobotConfig
    from safety import AuditRecord

__all__ = [
    "AXIS_SPEED_MM_S",
    "BOUNDS_MS",
    "LINK_TIMEOUT_MS",
    "SCENARIOS",
    "TELEMETRY_PERIOD_MS",
    "WATCHDOG_MS",
    "Expected",
    "GroundTruth",
    "InertZFrameWorker",
    "Outcome",
    "Phase",
    "Reset",
    "Scenario",
    "StopPath",
    "campaign_config",
    "run_scenario",
    "table_markdown",
]

# --- the numbers the bounds derive from -------------------------------------------------------

#: Axis speed of the campaign robot (mm/s): step rate 40 kHz x 0.01 mm; homing at the same speed.
AXIS_SPEED_MM_S: Final = 400.0
#: Telemetry period of the emulated firmware (ms); the HAL counts the link lost after 5 of them.
TELEMETRY_PERIOD_MS: Final = 20
#: HAL link time-out: ``link_timeout_periods`` (5) x the telemetry period (ms).
LINK_TIMEOUT_MS: Final = 5 * TELEMETRY_PERIOD_MS
#: Firmware watchdog (ms): no valid frame for this long stops and disables every axis.
WATCHDOG_MS: Final = 250
#: Control loop period (ms, 100 Hz) and host heartbeat period (ms, 20 Hz).
CONTROL_PERIOD_MS: Final = 10
HEARTBEAT_PERIOD_MS: Final = 50
#: Emulator physics tick (ms) and the ground-truth sampling period (ms).
PHYSICS_TICK_MS: Final = 1
SAMPLE_PERIOD_MS: Final = 1
#: Scheduling allowance (ms): Python threads on 2 loaded cores (switch interval 5 ms, a few
#: wake-ups between fault and stop) plus the sampler's own resolution.
SCHEDULING_MS: Final = 40


class StopPath(enum.Enum):
    """Who stops the axes after the fault, which sets the bound (docs/FAULT_CAMPAIGN.md)."""

    FIRMWARE = "firmware"  # the firmware detects it and halts in the same physics tick
    HOST = "host"  # the host detects it (link time-out, interlock) and commands a Cat 1 stop
    WATCHDOG = "watchdog"  # nothing valid reaches the firmware: its watchdog stops the axes
    AT_REST = "at rest"  # nothing was moving: nothing may move
    NONE = "none"  # a benign rate of damage: the retries absorb it, the work completes


#: Largest time (ms, emulator time) from the fault's onset to the axes standing still.
BOUNDS_MS: Final = {
    StopPath.FIRMWARE: PHYSICS_TICK_MS + SAMPLE_PERIOD_MS + SCHEDULING_MS,
    StopPath.HOST: LINK_TIMEOUT_MS + 2 * CONTROL_PERIOD_MS + PHYSICS_TICK_MS + SCHEDULING_MS,
    StopPath.WATCHDOG: WATCHDOG_MS + PHYSICS_TICK_MS + SAMPLE_PERIOD_MS + SCHEDULING_MS,
    StopPath.AT_REST: 0,
}


class Phase(enum.Enum):
    """Where the fault strikes."""

    START_UP = "START_UP (homing)"
    IDLE = "idle after START_UP"
    TARGETING = "TARGETING, target accepted"
    MOVE = "during MOVE_TO_TARGET"
    INSERTED = "needle inserted (at target)"
    RETRACT = "during RETRACT_NEEDLE"
    WHOLE_RUN = "whole procedure"


class Reset(enum.Enum):
    """What the documented reset (START_UP: reset, bring-up, re-homing) must do afterwards."""

    RECOVERS = "START_UP re-homes: 1"
    REFUSED = "START_UP refused: cause persists"
    NOT_NEEDED = "no reset needed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Expected:
    """The STATUS the console must receive (OPENIGTLINK.md 4.4)."""

    device: str
    code: int
    sub_code: int

    def describe(self) -> str:
        """``DEVICE code/sub``."""
        return f"{self.device} {self.code}/{self.sub_code}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One fault in one phase, and what must happen.

    Attributes:
        id: stable id (the doc lists every one).
        fault: the emulator fault, CLI syntax ``NAME[@AT_S][:key=value,...]``.
        phase: where it strikes.
        stop: who stops the axes (sets the bound).
        status: the STATUS the console must get; ``None`` for a benign run.
        cause: regular expression an audit fault/interlock record must match.
        reset: what START_UP must do afterwards.
        refusal: (code, sub-code) of MOVE_TO_TARGET after the fault, before the reset.
        reset_refusal: (code, sub-code) of a START_UP refused because the cause persists.
        clears_at_s: emulator time the cause ends (lasting link damage with ``until_s``).
        firmware_fault: the fault the firmware must latch by itself (``WATCHDOG`` when nothing
            valid reaches it), checked before the reset.
    """

    id: str
    fault: str
    phase: Phase
    stop: StopPath
    status: Expected | None
    cause: str
    reset: Reset
    refusal: tuple[int, int] = (13, 7)
    reset_refusal: tuple[int, int] | None = None
    clears_at_s: float = 0.0
    firmware_fault: str | None = None

    @property
    def at_s(self) -> float:
        """Emulator time at which the fault fires (or arms, for mid-move faults)."""
        head = self.fault.partition(":")[0]
        _, _, at = head.partition("@")
        return float(at) if at else 0.0

    @property
    def bound_ms(self) -> int | None:
        """Stop bound (ms) of the scenario's stop path; ``None`` for a benign run."""
        return BOUNDS_MS.get(self.stop)


# --- the scenarios ------------------------------------------------------------------------------

# Emulator times (s) at which each phase is under way with the campaign robot (400 mm/s):
# START_UP sent at 0.1, homing 0.14..0.33; START_UP done by ~0.35; target accepted by ~0.4;
# MOVE sent 0.12 s before the fault, whose lateral segment lasts ~0.25 s; the full move to the
# target ends ~0.6 s after it starts; RETRACT sent 0.12 s before the fault, lasting ~0.27 s.
_AT: Final = {
    Phase.START_UP: 0.2,
    Phase.IDLE: 0.7,
    Phase.TARGETING: 0.75,
    Phase.MOVE: 0.75,
    Phase.INSERTED: 1.3,
    Phase.RETRACT: 1.3,
    Phase.WHOLE_RUN: 0.0,
}
#: Lead (s) between sending the command and the fault, for faults during an action.
LEAD_S: Final = {Phase.START_UP: 0.12, Phase.MOVE: 0.15, Phase.RETRACT: 0.2}
#: Audit records from this long before the onset (host clock) count as after it (s).
AUDIT_SLACK_S: Final = 0.02
#: Wire index of the insertion axis (the only axis a retraction moves).
_INSERTION: Final = 4

_HW = 10  # sub-code HARDWARE
_NOT_READY = 8
_INTERLOCK = 7
_LINK_CAUSE: Final = r"transport_lost|link_timeout|firmware_heartbeat_lost|frame_errors"


def _at(phase: Phase, name: str, options: str = "") -> str:
    at = _AT[phase]
    return f"{name}@{at:g}" + (f":{options}" if options else "")


def _motion_status(phase: Phase) -> Expected:
    """The STATUS of a fault in ``phase`` (OPENIGTLINK.md 4.4)."""
    if phase is Phase.START_UP:
        return Expected(device="START_UP", code=13, sub_code=_NOT_READY)
    if phase is Phase.MOVE:
        return Expected(device="MOVE_TO_TARGET", code=18, sub_code=_HW)
    if phase is Phase.RETRACT:
        return Expected(device="RETRACT_NEEDLE", code=18, sub_code=_HW)
    # a fault outside a move: STATUS(<phase in effect>, 18)
    device = {
        Phase.IDLE: "START_UP",
        Phase.TARGETING: "TARGETING",
        Phase.INSERTED: "MOVE_TO_TARGET",
    }[phase]
    return Expected(device=device, code=18, sub_code=_HW)


_EVERY_PHASE: Final = (
    Phase.START_UP,
    Phase.IDLE,
    Phase.TARGETING,
    Phase.MOVE,
    Phase.INSERTED,
    Phase.RETRACT,
)


def _axis_for(phase: Phase) -> int:
    return _INSERTION if phase is Phase.RETRACT else 0


def _scenarios() -> tuple[Scenario, ...]:
    out: list[Scenario] = [
        Scenario(
            id="startup-failure/start-up",
            fault="startup-failure",
            phase=Phase.START_UP,
            stop=StopPath.AT_REST,
            status=Expected(device="START_UP", code=13, sub_code=_NOT_READY),
            cause=r"STARTUP_FAILURE",
            reset=Reset.REFUSED,
            refusal=(13, _NOT_READY),
            reset_refusal=(13, _NOT_READY),
        )
    ]
    for phase in (Phase.MOVE, Phase.RETRACT):
        axis = _axis_for(phase)
        out.append(
            Scenario(
                id=f"hardware-failure-mid-move/{phase.name.lower()}",
                fault=_at(phase, "hardware-failure-mid-move", f"axis={axis}"),
                phase=phase,
                stop=StopPath.FIRMWARE,
                status=_motion_status(phase),
                cause=r"HARDWARE_FAILURE",
                reset=Reset.RECOVERS,
            )
        )
    for phase in (Phase.MOVE, Phase.RETRACT):
        axis = _axis_for(phase)
        out.append(
            Scenario(
                id=f"limit-hit/{phase.name.lower()}",
                fault=_at(phase, "limit-hit", f"axis={axis}"),
                phase=phase,
                stop=StopPath.FIRMWARE,
                status=_motion_status(phase),
                cause=r"LIMIT_HIT|limit_switch_hit",
                reset=Reset.REFUSED,
                reset_refusal=(13, _NOT_READY),
            )
        )
    for phase in (Phase.START_UP, Phase.IDLE, Phase.MOVE, Phase.RETRACT):
        axis = _axis_for(phase)
        latent = phase is Phase.IDLE
        out.append(
            Scenario(
                id=f"stuck-encoder/{phase.name.lower()}",
                fault=_at(phase, "stuck-encoder", f"axis={axis}"),
                phase=phase,
                # at rest a stuck encoder is latent: the next motion trips the following error
                stop=StopPath.FIRMWARE,
                status=(
                    Expected(device="MOVE_TO_TARGET", code=18, sub_code=_HW)
                    if latent
                    else _motion_status(phase)
                ),
                cause=r"FOLLOWING_ERROR|following_error",
                reset=Reset.REFUSED,
                reset_refusal=(13, _NOT_READY),
            )
        )
    for phase in _EVERY_PHASE:
        axis = _axis_for(phase)
        moving = phase in LEAD_S
        # at rest the supply pressure is an interlock (PROTECTIVE_STOP, 13 sub 7), not a FAULT
        interlock = Expected(device=_motion_status(phase).device, code=13, sub_code=_INTERLOCK)
        out.append(
            Scenario(
                id=f"pressure-loss/{phase.name.lower()}",
                fault=_at(phase, "pressure-loss", f"axis={axis},pressure_hpa=1000"),
                phase=phase,
                stop=StopPath.HOST if moving else StopPath.AT_REST,
                status=_motion_status(phase) if moving else interlock,
                cause=r"PRESSURE_LOW|supply_pressure_low",
                reset=Reset.REFUSED,
                reset_refusal=(13, _NOT_READY),
            )
        )
    out.extend(
        Scenario(
            id=f"disconnect/{phase.name.lower()}",
            fault=_at(phase, "disconnect"),
            phase=phase,
            stop=StopPath.WATCHDOG if phase in LEAD_S else StopPath.AT_REST,
            status=_motion_status(phase),
            cause=_LINK_CAUSE,
            reset=Reset.RECOVERS,
            firmware_fault="WATCHDOG",
        )
        for phase in _EVERY_PHASE
    )
    # lasting link damage: a low rate is absorbed; total damage for 0.4 s is a lost link
    for name, benign in (
        ("drop-frames", "probability=0.02"),
        ("corrupt-bytes", "probability=0.01"),
        ("delay", "delay_ms=20"),
    ):
        out.append(
            Scenario(
                id=f"{name}/low-rate",
                fault=f"{name}:{benign}",
                phase=Phase.WHOLE_RUN,
                stop=StopPath.NONE,
                status=None,
                cause="",
                reset=Reset.NOT_NEEDED,
            )
        )
    for name, total, stop in (
        ("drop-frames", "probability=1", StopPath.WATCHDOG),
        ("corrupt-bytes", "probability=1", StopPath.WATCHDOG),
        ("delay", "delay_ms=300", StopPath.HOST),
    ):
        for phase in (Phase.IDLE, Phase.MOVE):
            at = _AT[phase]
            until = at + 0.4
            out.append(
                Scenario(
                    id=f"{name}/{phase.name.lower()}",
                    fault=f"{name}@{at:g}:{total},until_s={until:g}",
                    phase=phase,
                    stop=stop if phase is Phase.MOVE else StopPath.AT_REST,
                    status=_motion_status(phase),
                    cause=_LINK_CAUSE + r"|request_timeout",
                    reset=Reset.RECOVERS,
                    clears_at_s=until,
                    firmware_fault="WATCHDOG" if stop is StopPath.WATCHDOG else None,
                )
            )
    return tuple(out)


SCENARIOS: Final = _scenarios()

# --- the robot under test -------------------------------------------------------------------


def campaign_config() -> RobotConfig:
    """The default robot with fast axes (400 mm/s, 8000 mm/s^2) and 20 ms telemetry."""
    overrides: dict[str, object] = {
        **{f"joints.{j}.max_step_rate_hz": AXIS_SPEED_MM_S * 100.0 for j in JOINT_NAMES},
        **{f"joints.{j}.max_accel_mm_s2": AXIS_SPEED_MM_S * 20.0 for j in JOINT_NAMES},
        "emulator.homing_speed_mm_s": AXIS_SPEED_MM_S,
        "emulator.telemetry_period_ms": TELEMETRY_PERIOD_MS,
    }
    return load_config(overrides=overrides, environ={})


class InertZFrameWorker:
    """Stands in for the Z-frame worker: starts no process pool (the campaign sends no images).

    Does not model: registration (a submitted image is ignored).
    """

    def __init__(self, post: Callable[[object], None], *, now: Callable[[], float]) -> None:
        self.submitted = 0

    def start(self) -> None:
        """Nothing to start."""

    def close(self) -> None:
        """Nothing to stop."""

    def submit(self, device_name: str, connection_id: object, image: object) -> None:
        """Count and ignore an image."""
        self.submitted += 1


CLIENT_CONFIG: Final = BrpClientConfig(
    ack_timeout_s=2.0, reply_timeout_s=3.0, action_timeout_s=10.0, move_timeout_s=10.0
)
#: The target (scanner RAS mm, identity calibration): lateral then insertion moves.
TARGET_RAS_MM: Final = (20.0, 20.0, 30.0)


def target_matrix() -> np.ndarray:
    """The campaign target pose (identity rotation)."""
    m = np.eye(4)
    m[:3, 3] = TARGET_RAS_MM
    return m


# --- ground truth ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    """The emulated firmware at one instant."""

    t_s: float
    moving: bool
    positions_um: tuple[int, ...]
    state: str
    fault: str | None


class GroundTruth:
    """Samples the emulated axes every millisecond on its own thread (start/close)."""

    def __init__(self, firmware: EmulatedFirmware, *, period_s: float = 0.001) -> None:
        self._firmware = firmware
        self._period_s = period_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # guards _samples
        self._samples: list[Sample] = []

    def sample(self) -> Sample:
        """Read the firmware now."""
        fw = self._firmware
        t_s = fw.time_s
        axes = fw.axes
        fault = fw.fault_latched
        return Sample(
            t_s=t_s,
            moving=any(a.moving for a in axes),
            positions_um=tuple(round(a.true_um) for a in axes),
            state=fw.state.name,
            fault=None if fault is None else fault.name,
        )

    def start(self) -> None:
        """Start sampling."""
        self._thread = threading.Thread(target=self._run, name="campaign-ground-truth")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._period_s):
            s = self.sample()
            with self._lock:
                self._samples.append(s)

    def close(self) -> None:
        """Stop and join the sampler (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    @property
    def samples(self) -> tuple[Sample, ...]:
        """Every sample so far, in time order."""
        with self._lock:
            return tuple(self._samples)

    @property
    def now_s(self) -> float:
        """Emulator time now (s)."""
        return self._firmware.time_s


def stop_instant(samples: tuple[Sample, ...], onset_s: float, until_s: float) -> float | None:
    """First sample time at or after ``onset_s`` from which the axes stay still until ``until_s``.

    Still: no trajectory and the same positions as every later sample of the window. ``None``
    when the axes still moved at the last sample before ``until_s``.
    """
    window = [s for s in samples if onset_s <= s.t_s <= until_s]
    if not window:
        return None
    last = window[-1]
    if last.moving:
        return None
    instant = last.t_s
    for s in reversed(window):
        if s.moving or s.positions_um != last.positions_um:
            break
        instant = s.t_s
    return instant


def moved_between(samples: tuple[Sample, ...], start_s: float, end_s: float) -> list[str]:
    """Motion seen in ``[start_s, end_s]``: descriptions of samples that moved or changed."""
    window = [s for s in samples if start_s <= s.t_s <= end_s]
    out: list[str] = []
    for before, after in itertools.pairwise(window):
        if after.moving or after.positions_um != before.positions_um:
            out.append(f"t={after.t_s:.3f} s moving={after.moving} {after.positions_um}")
    return out


# --- running one scenario -------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Outcome:
    """What one scenario did (filled by :func:`run_scenario`, judged by the tests).

    Times are emulator seconds.
    """

    scenario: Scenario
    marks: dict[str, float] = field(default_factory=dict)
    setup_error: str = ""
    phase_result: str = ""
    status: Expected | None = None
    status_text: str = ""
    onset_s: float | None = None
    onset_state: str = ""
    stop_s: float | None = None
    moved_after_stop: list[str] = field(default_factory=list)
    moved_after_onset: list[str] = field(default_factory=list)
    refusal: tuple[int | None, int | None] | None = None
    reset_status: tuple[int | None, int | None] | None = None
    reset_text: str = ""
    state_after_fault: str = ""
    state_after_reset: str = ""
    rehomed: bool = False
    firmware_fault: str | None = None
    mono_offset_s: float = 0.0
    audit_cause: str = ""
    audit_faults: list[str] = field(default_factory=list)
    audit_torn_tail_bytes: int = 0
    audit_gaps: int = 0
    link_damage: int = 0
    wall_s: float = 0.0

    @property
    def stop_latency_ms(self) -> float | None:
        """Onset to standstill (ms), when both are known."""
        if self.onset_s is None or self.stop_s is None:
            return None
        return max(0.0, (self.stop_s - self.onset_s) * 1000.0)


def _error_of(err: BrpError) -> Expected:
    return Expected(device=err.device_name, code=err.code or 0, sub_code=err.sub_code or 0)


@contextlib.contextmanager
def campaign_robot(fault: str | None, audit_path: Path) -> Iterator[RobotApp]:
    """A started fast ``RobotApp`` on the in-process emulator with ``fault``; closed on exit."""
    with mock.patch("robot.app.ZFrameWorker", InertZFrameWorker):
        app = RobotApp(
            campaign_config(), emulate=True, fault=fault, realtime=False, audit_path=audit_path
        )
        app.start()
    try:
        yield app
    finally:
        app.close()


class SetupMissedPhaseError(AssertionError):
    """The robot was not in the scenario's phase when the fault fired (machine too slow)."""


class _Runner:
    """Drives one scenario; records into an :class:`Outcome` (asserts nothing itself)."""

    def __init__(
        self, scenario: Scenario, app: RobotApp, truth: GroundTruth, console: BrpClient
    ) -> None:
        self.sc = scenario
        self.app = app
        self.truth = truth
        self.console = console
        self.out = Outcome(scenario=scenario)
        assert app.emulator is not None
        self.fw = app.emulator
        self.out.mono_offset_s = time.monotonic() - self.fw.time_s

    # -- helpers ------------------------------------------------------------------------------

    def mark(self, name: str) -> None:
        now_s = self.truth.now_s
        self.out.marks[name] = now_s
        # host clock minus emulator clock: the smallest reading has the least lag in it
        self.out.mono_offset_s = min(self.out.mono_offset_s, time.monotonic() - now_s)

    def wait_emulator(self, t_s: float, what: str) -> None:
        wait_for(
            lambda: self.truth.now_s >= t_s,
            timeout_s=max(0.0, t_s - self.truth.now_s) + 5.0,
            what=f"emulator time {t_s:.3f} s ({what})",
        )

    def before(self, deadline_s: float, what: str) -> None:
        now_s = self.truth.now_s
        if now_s > deadline_s:
            raise SetupMissedPhaseError(
                f"{self.sc.id}: {what} at emulator time {now_s:.3f} s, after {deadline_s:.3f} s "
                "(the machine is too slow for this scenario's timing)"
            )

    def ready_to_move(self) -> None:
        self.console.start_up()
        self.mark("homed")
        self.console.calibration(np.eye(4))
        self.console.targeting()
        self.console.set_target(target_matrix())
        self.mark("ready")

    def action(self, run: Callable[[], object]) -> None:
        """Run the action the fault cuts; record its STATUS (or that it completed)."""
        self.mark("action")
        try:
            run()
        except BrpStatusError as err:
            self.out.status = _error_of(err)
            self.out.status_text = err.detail
            self.out.phase_result = "error STATUS"
        except BrpError as err:
            self.out.phase_result = f"{type(err).__name__}: {err}"
        else:
            self.out.phase_result = "completed"
        self.mark("action_end")

    def await_unsolicited_fault(self, already: int) -> None:
        """Wait for a fault STATUS outside any request (a fault at rest)."""

        def arrived() -> bool:
            return len(self.console.view.faults) > already

        try:
            wait_for(arrived, timeout_s=3.0, what="a fault STATUS")
        except AssertionError as err:
            self.out.phase_result = f"no fault STATUS: {err}"
            return
        reply = self.console.view.faults[already]
        self.out.status = Expected(
            device=reply.device_name, code=reply.code, sub_code=reply.sub_code
        )
        self.out.status_text = reply.message
        self.out.phase_result = "unsolicited STATUS"

    # -- phases -------------------------------------------------------------------------------

    def run(self) -> Outcome:
        sc, console = self.sc, self.console
        at_s = sc.at_s
        lead_s = LEAD_S.get(sc.phase, 0.0)
        if sc.phase is Phase.WHOLE_RUN:
            self.benign_run()
            return self.out
        if sc.phase is Phase.START_UP:
            self.wait_emulator(at_s - lead_s, "START_UP before the fault")
            self.action(console.start_up)
        elif sc.phase is Phase.IDLE:
            console.start_up()
            self.mark("ready")
            self.before(at_s - 0.05, "START_UP finished")
            if sc.fault.startswith("stuck-encoder"):  # latent until the next motion
                self.wait_emulator(at_s + 0.02, "the encoder stuck")
                console.calibration(np.eye(4))
                console.targeting()
                console.set_target(target_matrix())
                self.action(console.move_to_target)
            else:
                self.await_unsolicited_fault(len(console.view.faults))
        elif sc.phase is Phase.TARGETING:
            self.ready_to_move()
            self.before(at_s - 0.05, "target accepted")
            self.await_unsolicited_fault(len(console.view.faults))
        elif sc.phase is Phase.MOVE:
            self.ready_to_move()
            self.before(at_s - lead_s, "target accepted")
            self.wait_emulator(at_s - lead_s, "MOVE_TO_TARGET before the fault")
            self.action(console.move_to_target)
        elif sc.phase is Phase.INSERTED:
            self.ready_to_move()
            console.move_to_target()
            self.mark("inserted")
            self.before(at_s - 0.05, "needle at the target")
            self.await_unsolicited_fault(len(console.view.faults))
        elif sc.phase is Phase.RETRACT:
            self.ready_to_move()
            console.move_to_target()
            self.mark("inserted")
            self.before(at_s - lead_s, "needle at the target")
            self.wait_emulator(at_s - lead_s, "RETRACT_NEEDLE before the fault")
            self.action(console.retract_needle)
        self.after_fault()
        return self.out

    def benign_run(self) -> None:
        lags_ms: list[float] = []

        def lag() -> None:
            latest = self.app.driver.link.latest if self.app.driver is not None else None
            if latest is not None:
                lags_ms.append(
                    (self.truth.now_s - latest.telemetry.firmware_time_us / 1e6) * 1000.0
                )

        self.ready_to_move()
        self.out.onset_s = self.out.marks["homed"]  # audit: no fault record from here on
        lag()
        self.action(lambda: self.console.move_to_target(on_position=lambda _: lag()))
        if self.out.phase_result == "completed":
            self.action(lambda: self.console.retract_needle(on_position=lambda _: lag()))
        self.out.state_after_fault = self.app.state.value
        fw_counters = self.fw.counters
        host = self.app.driver.counters() if self.app.driver is not None else None
        name = self.sc.fault.partition(":")[0]
        if name == "drop-frames":
            self.out.link_damage = fw_counters.seq_gaps + (host.seq_gaps if host else 0)
        elif name == "corrupt-bytes":
            host_bad = sum(host.frame_faults.values()) if host else 0
            self.out.link_damage = fw_counters.frame_faults + host_bad
        else:
            self.out.link_damage = round(sorted(lags_ms)[len(lags_ms) // 2]) if lags_ms else 0

    def find_onset(self) -> None:
        sc = self.sc
        samples = self.truth.samples
        name = sc.fault.partition("@")[0].partition(":")[0]
        onset = sc.at_s
        if name in {"hardware-failure-mid-move", "limit-hit"}:
            latched = [s.t_s for s in samples if s.fault is not None]
            if latched:
                before = [s.t_s for s in samples if s.t_s < latched[0]]
                onset = before[-1] if before else latched[0]
        elif name == "stuck-encoder":  # only motion shows a stuck encoder
            moving = [s.t_s for s in samples if s.t_s >= sc.at_s and s.moving]
            onset = moving[0] if moving else sc.at_s
        self.out.onset_s = onset
        near = [s for s in samples if s.t_s <= onset] or list(samples[:1])
        if near:
            s = near[-1]
            self.out.onset_state = f"{s.state}{' moving' if s.moving else ''}"

    def after_fault(self) -> None:
        sc, console = self.sc, self.console
        try:
            wait_for(lambda: not self.truth.sample().moving, timeout_s=2.0, what="axes still")
        except AssertionError as err:
            self.out.moved_after_stop.append(str(err))
        self.mark("still")
        self.find_onset()
        self.out.state_after_fault = self.app.state.value
        # (d) a move is refused, and nothing moves, until the documented reset
        self.mark("refusal")
        try:
            console.move_to_target()
        except BrpStatusError as err:
            self.out.refusal = (err.code, err.sub_code)
        except BrpError as err:
            self.out.refusal = (None, None)
            self.out.reset_text = f"MOVE_TO_TARGET after the fault: {type(err).__name__}: {err}"
        else:
            self.out.refusal = (1, 0)
        if sc.clears_at_s:
            self.wait_emulator(sc.clears_at_s + 0.05, "the link damage to end")
        if sc.firmware_fault is not None and self.out.onset_s is not None:
            watchdog_s = (WATCHDOG_MS + SCHEDULING_MS) / 1000.0
            self.wait_emulator(self.out.onset_s + watchdog_s, "the firmware watchdog")
        # one more control cycle's worth of samples after the refusal
        self.wait_emulator(self.truth.now_s + 0.03, "samples after the refusal")
        self.mark("reset")
        samples = self.truth.samples
        self.out.firmware_fault = samples[-1].fault if samples else None
        onset = self.out.onset_s if self.out.onset_s is not None else 0.0
        self.out.stop_s = stop_instant(samples, onset, self.out.marks["reset"])
        if self.out.stop_s is not None:
            self.out.moved_after_stop += moved_between(
                samples, self.out.stop_s, self.out.marks["reset"]
            )
        self.out.moved_after_onset = moved_between(samples, onset, self.out.marks["reset"])
        try:
            result = console.start_up()
        except BrpStatusError as err:
            self.out.reset_status = (err.code, err.sub_code)
            self.out.reset_text = err.detail
        except BrpError as err:
            self.out.reset_status = (None, None)
            self.out.reset_text = f"{type(err).__name__}: {err}"
        else:
            status = result.status
            self.out.reset_status = (
                (status.code, status.sub_code) if status is not None else (None, None)
            )
        self.out.state_after_reset = self.app.state.value
        reset_s = self.out.marks["reset"]
        self.out.rehomed = self.out.reset_status == (1, 0) and any(
            s.moving for s in self.truth.samples if s.t_s >= reset_s
        )


def _read_audit(out: Outcome, path: Path) -> None:
    contents = read_audit_log(path)
    out.audit_torn_tail_bytes = contents.torn_tail_bytes
    out.audit_gaps = len(contents.sequence_gaps)
    pattern = re.compile(out.scenario.cause) if out.scenario.cause else None
    onset_s = out.onset_s if out.onset_s is not None else 0.0
    # host monotonic time of the onset; the emulator may lag the wall clock, never lead it
    from_mono_s = onset_s + out.mono_offset_s - AUDIT_SLACK_S
    for record in contents.records:
        if record.kind == "run_header" or record.mono_s < from_mono_s:
            continue
        text = json.dumps(record.payload, sort_keys=True)
        if _is_fault_record(record):
            out.audit_faults.append(_describe(record))
        if pattern is not None and not out.audit_cause and pattern.search(text):
            out.audit_cause = _describe(record)


def _is_fault_record(record: AuditRecord) -> bool:
    event = str(record.payload.get("event", ""))
    return event in {"FAULT", "TRIP", "HOMING_FAILED", "EMERGENCY"} or bool(
        record.payload.get("tripped")
    )


def _describe(record: AuditRecord) -> str:
    payload = record.payload
    if "tripped" in payload:
        return f"#{record.seq} {record.kind} tripped={payload['tripped']}"
    reason = str(payload.get("reason", ""))[:90]
    return f"#{record.seq} {record.kind} {payload.get('event', '')}: {reason}"


def run_scenario(scenario: Scenario, audit_path: Path) -> Outcome:
    """Run ``scenario`` end to end; the audit log goes to ``audit_path``."""
    wall0 = time.monotonic()
    with campaign_robot(scenario.fault, audit_path) as app:
        assert app.emulator is not None
        truth = GroundTruth(app.emulator)
        truth.start()
        try:
            with BrpClient(*app.address, config=CLIENT_CONFIG) as console:
                out = _Runner(scenario, app, truth, console).run()
        finally:
            truth.close()
    _read_audit(out, audit_path)
    out.wall_s = time.monotonic() - wall0
    return out


# --- tables -----------------------------------------------------------------------------------


def _reset_text(scenario: Scenario) -> str:
    if scenario.reset is Reset.REFUSED and scenario.reset_refusal is not None:
        code, sub = scenario.reset_refusal
        return f"START_UP {code}/{sub} (cause persists)"
    return scenario.reset.value


def table_markdown() -> str:
    """The scenario table of docs/FAULT_CAMPAIGN.md (expected outcomes), from :data:`SCENARIOS`."""
    lines = [
        (
            "| id | fault (emulator syntax) | phase | stopped by | bound ms | console STATUS "
            "| audit names | MOVE after | firmware latches | reset |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for sc in SCENARIOS:
        bound = "-" if sc.bound_ms is None else str(sc.bound_ms)
        status = "all 1 (completes)" if sc.status is None else sc.status.describe()
        cause = "-" if not sc.cause else "`" + sc.cause.replace("|", " or ") + "`"
        refusal = "-" if sc.status is None else f"{sc.refusal[0]}/{sc.refusal[1]}"
        lines.append(
            f"| `{sc.id}` | `{sc.fault}` | {sc.phase.value} | {sc.stop.value} | {bound} "
            f"| {status} | {cause} | {refusal} | {sc.firmware_fault or '-'} | {_reset_text(sc)} |"
        )
    return "\n".join(lines) + "\n"


def _fmt(pair: tuple[int | None, int | None] | None) -> str:
    if pair is None:
        return "-"
    return f"{pair[0]}/{pair[1]}"


def outcome_rows(outcomes: list[tuple[Outcome, list[str]]]) -> str:
    """The measured table: one line per scenario with what happened and the failed checks."""
    header = (
        f"{'scenario':34} {'stop ms':>8} {'bound':>5} {'STATUS got':24} {'MOVE':>5} "
        f"{'reset':>5} {'firmware':16} {'wall s':>6}  result"
    )
    lines = [header, "-" * len(header)]
    for out, failures in outcomes:
        sc = out.scenario
        latency = out.stop_latency_ms
        stop = "-" if latency is None else f"{latency:.1f}"
        bound = "-" if sc.bound_ms is None else str(sc.bound_ms)
        got = out.status.describe() if out.status is not None else out.phase_result[:24]
        tags = sorted({f.split(" ", 1)[0] for f in failures})
        result = "PASS" if not failures else "FAIL " + " ".join(tags)
        lines.append(
            f"{sc.id:34} {stop:>8} {bound:>5} {got[:24]:24} {_fmt(out.refusal):>5} "
            f"{_fmt(out.reset_status):>5} {out.firmware_fault or '-':16} {out.wall_s:6.2f}  "
            f"{result}"
        )
    return "\n".join(lines)
