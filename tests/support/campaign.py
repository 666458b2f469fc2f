"""The fault campaign's scenarios: every emulator fault in every phase where it can strike.

The table :data:`SCENARIOS` says, per fault and phase, who stops the axes (and so the stop bound
of :data:`BOUNDS_MS`, derived from the watchdog and link time-out numbers below), which STATUS the
console must receive (OPENIGTLINK.md 4.4), what the audit log must name, how MOVE_TO_TARGET is
refused afterwards, and what the documented reset (START_UP) must do. ``tests/campaign`` runs
them (``runner.py``) against :class:`~robot.app.RobotApp` with :func:`campaign_config`, and
docs/FAULT_CAMPAIGN.md carries :func:`table_markdown` (a test checks for drift).

The emulator fires a fault at emulator time ``at_s`` (seconds since it started); the runner
brings the robot into the scenario's phase before ``at_s``, or starts the action ``LEAD_S`` before
it so that the action is under way when the fault fires.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

from robot.config import load_config
from robot.console import BrpClientConfig
from robot.runtime.schema import JOINT_NAMES
from tests.support.hal_config import shipped_controller

if TYPE_CHECKING:
    from collections.abc import Callable

    from robot.runtime import RobotConfig

__all__ = [
    "AUDIT_SLACK_S",
    "AXIS_SPEED_MM_S",
    "BOUNDS_MS",
    "CLIENT_CONFIG",
    "LEAD_S",
    "LINK_TIMEOUT_MS",
    "SCENARIOS",
    "SCHEDULING_MS",
    "TELEMETRY_PERIOD_MS",
    "WATCHDOG_MS",
    "Expected",
    "InertZFrameWorker",
    "Phase",
    "Reset",
    "Scenario",
    "StopPath",
    "campaign_config",
    "table_markdown",
    "target_matrix",
]

# --- the numbers the bounds derive from -------------------------------------------------------

#: Axis speed of the campaign robot (mm/s): step rate 40 kHz x 0.01 mm; homing at the same speed.
AXIS_SPEED_MM_S: Final = 400.0
#: Telemetry period of the emulated firmware (ms).
TELEMETRY_PERIOD_MS: Final = 20
#: HAL link time-out at that period (ms), from the HAL's own rule with the default keys:
#: max(5 periods, 200 ms floor) = 200 ms (docs/HARDWARE.md).
LINK_TIMEOUT_MS: Final = round(
    1000 * shipped_controller().link_timeout_s(TELEMETRY_PERIOD_MS / 1000)
)
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
# target ends ~0.6-0.7 s after it starts (the needle is at the target by ~1.0-1.15 s: each segment
# ends on telemetry that shows its move, and brp-2021 confirms PLANNING and CALIBRATION);
# RETRACT sent 0.2 s before the fault, lasting ~0.27 s.
_AT: Final = {
    Phase.START_UP: 0.2,
    Phase.IDLE: 0.7,
    Phase.TARGETING: 0.75,
    Phase.MOVE: 0.75,
    Phase.INSERTED: 1.5,
    Phase.RETRACT: 1.5,
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
    # The axis that moves in that phase: START_UP homes the insertion axis alone first, a
    # retraction moves only it, a move starts with the lateral axes.
    return _INSERTION if phase in {Phase.RETRACT, Phase.START_UP} else 0


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
