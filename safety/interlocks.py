"""Interlocks as data: one table of what trips, how the robot reacts, and how it resets.

The control loop fills one :class:`InterlockSnapshot` per cycle (and per command) from telemetry,
the scanner bridge and the console links. Each :class:`Interlock` in :data:`INTERLOCKS` has a trip
condition that is a pure function of that snapshot and a :class:`TripContext` (the supervisor's
clock reading, its configuration and the audit writer's health): no I/O, no exceptions.

Reactions: an interlock with a ``latch`` state drives the supervisor into that latched state
(from the states in ``applies_in``) with its stop category; one without (``latch is None``)
pauses motion with a Category 2 stop and needs a fresh command, never auto-resuming. Every
interlock whose ``scope`` covers a motion request refuses the permit for it.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from safety.states import LATCHED_STATES, MOTION_STATES, State, StopCategory, SubCode

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from safety.config import JointConfig, SupervisorConfig

__all__ = [
    "INTERLOCKS",
    "Interlock",
    "InterlockId",
    "InterlockSnapshot",
    "MotionKind",
    "Scope",
    "TripContext",
    "needle_in",
    "needle_text",
    "tripped_interlocks",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class InterlockSnapshot:
    """What the control loop read this cycle; the only input of every trip condition.

    Attributes:
        estop_released: the hardware e-stop circuit is closed (telemetry); False = pressed.
        emergency_requested: an operator EMERGENCY reached the HAL's ``estop()`` since last cycle.
        scanner_imaging: the scanner is acquiring; ``None`` when the bridge is silent (unknown).
        needle_inserted: an independent needle sensor reports the needle in tissue (optional;
            the needle also counts as in whenever the measured insertion axis says so, see
            :func:`needle_in`).
        joints_within_limits: every measured joint position and the tip lie inside the joint
            and workspace limits.
        velocity_within_limit: every measured joint speed is within its configured maximum.
        following_error_ok: following error stayed below threshold (firmware, N samples).
        limit_switch_hit: an end-of-travel (overtravel) switch is active.
        supply_pressure_kpa: supply pressure (kPa); ``None`` when not measured.
        console_heartbeat_at_s: monotonic time (s, the supervisor's clock) of the last sign of
            life from the controlling console; ``None`` when no console is connected.
        firmware_heartbeat_at_s: monotonic time (s) of the last valid telemetry frame.
        calibration_valid: the robot holds a valid scanner registration.
        command_authority: the sender of the command being handled holds command authority
            (True in cycles without a command).
        insertion_position_mm: measured position of the insertion axis (mm, larger = deeper),
            ``None`` when not measured or not referenced (no current telemetry, or the axis has
            not been homed since the controller started). A retraction permit never reaches
            deeper than this plus ``SupervisorConfig.retraction_tolerance_mm``; without it RETRACT
            is refused. Unknown counts as inserted (:func:`needle_in`).
    """

    estop_released: bool
    emergency_requested: bool
    scanner_imaging: bool | None
    needle_inserted: bool
    joints_within_limits: bool
    velocity_within_limit: bool
    following_error_ok: bool
    limit_switch_hit: bool
    supply_pressure_kpa: float | None
    console_heartbeat_at_s: float | None
    firmware_heartbeat_at_s: float | None
    calibration_valid: bool
    command_authority: bool
    insertion_position_mm: float | None = None

    def __post_init__(self) -> None:
        for name in (
            "supply_pressure_kpa",
            "console_heartbeat_at_s",
            "firmware_heartbeat_at_s",
            "insertion_position_mm",
        ):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"snapshot {name} must be finite or None, got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TripContext:
    """Everything besides the snapshot that trip conditions read (all values, no callables).

    Attributes:
        now_s: the supervisor's monotonic clock reading (s).
        config: supervisor configuration (time-outs, pressure minimum, imaging policy).
        audit_ok: the audit writer is healthy (no write or fsync has failed since it was
            opened).
    """

    now_s: float
    config: SupervisorConfig
    audit_ok: bool


class InterlockId(enum.Enum):
    """Interlock names (as written to the audit log and shown to the console)."""

    ESTOP_INPUT = "estop_input"
    OPERATOR_EMERGENCY = "operator_emergency"
    FIRMWARE_HEARTBEAT = "firmware_heartbeat_lost"
    JOINT_LIMITS = "joint_or_workspace_limit"
    VELOCITY_LIMIT = "velocity_limit"
    LIMIT_SWITCH = "limit_switch_hit"
    FOLLOWING_ERROR = "following_error"
    SUPPLY_PRESSURE = "supply_pressure_low"
    CONSOLE_HEARTBEAT = "console_heartbeat_lost"
    NEEDLE_INSERTED = "needle_inserted"
    SCANNER_IMAGING = "scanner_imaging"
    CALIBRATION = "calibration_missing"
    AUDIT_UNAVAILABLE = "audit_unavailable"
    COMMAND_AUTHORITY = "command_authority"


class Scope(enum.Enum):
    """Which motion an interlock blocks."""

    ALL_MOTION = "all motion"
    TARGET_MOTION = "motion to a target (not homing, not retraction)"
    NON_IMAGING_SAFE_AXES = "motion of axes not declared imaging-safe"
    LATERAL_AXES = "motion of lateral axes"
    ALL_BUT_RETRACTION = "all motion except a retraction of the insertion axis alone"
    COMMANDS = "commands from a console without authority"


class MotionKind(enum.Enum):
    """What a permit is for."""

    HOMING = "homing"
    TARGET = "target"
    RETRACTION = "retraction"


_ACTIVE: Final = frozenset(State) - {State.OFF} - LATCHED_STATES
_ALWAYS: Final = frozenset(State)


@dataclass(frozen=True, slots=True, kw_only=True)
class Interlock:
    """One row of the interlock table.

    Attributes:
        id: interlock name.
        source: where the input comes from.
        trips: the trip condition; pure function of the snapshot and context.
        condition: the trip condition in words (for the console, the audit and HAZARDS.md).
        stop: stop category of the reaction; ``None`` when it only refuses commands.
        latch: latched state entered when it trips in ``applies_in``; ``None`` = Cat 2 pause.
        applies_in: states in which a trip causes the reaction (new permits are refused in
            every state).
        scope: which motion it blocks.
        sub_code: OpenIGTLink sub-code of a refusal it causes.
        reset: how it resets.
    """

    id: InterlockId
    source: str
    trips: Callable[[InterlockSnapshot, TripContext], bool]
    condition: str
    stop: StopCategory | None
    latch: State | None
    applies_in: frozenset[State]
    scope: Scope
    sub_code: SubCode
    reset: str

    def blocks(self, kind: MotionKind, joints: Iterable[JointConfig]) -> bool:
        """Whether this interlock, when tripped, forbids motion of ``kind`` on ``joints``."""
        scope = self.scope
        if scope is Scope.ALL_MOTION:
            return True
        if scope is Scope.TARGET_MOTION:
            return kind is MotionKind.TARGET
        if scope is Scope.NON_IMAGING_SAFE_AXES:
            return any(not j.imaging_safe for j in joints)
        if scope is Scope.LATERAL_AXES:
            return any(j.lateral for j in joints)
        if scope is Scope.ALL_BUT_RETRACTION:
            joint_list = tuple(joints)
            return (
                kind is not MotionKind.RETRACTION
                or not joint_list
                or any(not j.insertion for j in joint_list)
            )
        return False


def _silent(at_s: float | None, now_s: float, timeout_s: float) -> bool:
    return at_s is None or now_s - at_s > timeout_s


def _estop(s: InterlockSnapshot, _c: TripContext) -> bool:
    return not s.estop_released


def _emergency(s: InterlockSnapshot, _c: TripContext) -> bool:
    return s.emergency_requested


def _firmware(s: InterlockSnapshot, c: TripContext) -> bool:
    return _silent(s.firmware_heartbeat_at_s, c.now_s, c.config.firmware_timeout_s)


def _limits(s: InterlockSnapshot, _c: TripContext) -> bool:
    return not s.joints_within_limits


def _velocity(s: InterlockSnapshot, _c: TripContext) -> bool:
    return not s.velocity_within_limit


def _limit_switch(s: InterlockSnapshot, _c: TripContext) -> bool:
    return s.limit_switch_hit


def _following(s: InterlockSnapshot, _c: TripContext) -> bool:
    return not s.following_error_ok


def _pressure(s: InterlockSnapshot, c: TripContext) -> bool:
    minimum = c.config.min_supply_pressure_kpa
    if minimum is None:
        return False
    return s.supply_pressure_kpa is None or not s.supply_pressure_kpa >= minimum


def _console(s: InterlockSnapshot, c: TripContext) -> bool:
    return _silent(s.console_heartbeat_at_s, c.now_s, c.config.console_timeout_s)


def needle_in(snapshot: InterlockSnapshot, config: SupervisorConfig) -> bool:
    """Whether the needle counts as inserted: measured beyond the retracted band, or unknown.

    The measured insertion axis decides (``SupervisorConfig.retracted_band_mm``); an unknown
    position counts as inserted, and so does a needle sensor's report. A robot without an
    insertion axis has no needle to insert.
    """
    if snapshot.needle_inserted:
        return True
    if config.insertion_joint() is None:
        return False
    depth_mm = snapshot.insertion_position_mm
    return depth_mm is None or depth_mm > config.retracted_band_mm


def needle_text(snapshot: InterlockSnapshot, config: SupervisorConfig) -> str:
    """Where the needle is, in words (for refusals and the audit log)."""
    depth_mm = snapshot.insertion_position_mm
    band = f"the retracted band (<= {config.retracted_band_mm:g} mm)"
    if snapshot.needle_inserted:
        return "a needle sensor reports the needle inserted"
    if depth_mm is None:
        return "the insertion position is unknown (not measured or not homed), counted as inserted"
    if depth_mm > config.retracted_band_mm:
        return (
            f"the needle is inserted: insertion axis measured at {depth_mm:.2f} mm, beyond {band}"
        )
    return f"the needle is out: insertion axis measured at {depth_mm:.2f} mm, inside {band}"


def _needle(s: InterlockSnapshot, c: TripContext) -> bool:
    return needle_in(s, c.config)


def _imaging(s: InterlockSnapshot, c: TripContext) -> bool:
    if s.scanner_imaging is None:
        return c.config.imaging_interlock_required
    return s.scanner_imaging


def _calibration(s: InterlockSnapshot, _c: TripContext) -> bool:
    return not s.calibration_valid


def _audit(_s: InterlockSnapshot, c: TripContext) -> bool:
    return not c.audit_ok


def _authority(s: InterlockSnapshot, _c: TripContext) -> bool:
    return not s.command_authority


_RESET_HOME = "clear the cause, RESET (lands in OFF), then START_UP re-homes"

#: The interlock table, most severe reaction first.
INTERLOCKS: Final[tuple[Interlock, ...]] = (
    Interlock(
        id=InterlockId.ESTOP_INPUT,
        source="hardware e-stop circuit state in firmware telemetry",
        trips=_estop,
        condition="e-stop circuit open",
        stop=StopCategory.CAT0,
        latch=State.EMERGENCY_STOP,
        applies_in=_ALWAYS,
        scope=Scope.ALL_MOTION,
        sub_code=SubCode.INTERLOCK,
        reset="release the e-stop, RESET (lands in OFF), then START_UP re-homes",
    ),
    Interlock(
        id=InterlockId.OPERATOR_EMERGENCY,
        source="EMERGENCY from any console (HAL estop() called first)",
        trips=_emergency,
        condition="operator EMERGENCY requested",
        stop=StopCategory.CAT1,
        latch=State.EMERGENCY_STOP,
        applies_in=_ALWAYS,
        scope=Scope.ALL_MOTION,
        sub_code=SubCode.INTERLOCK,
        reset="RESET (lands in OFF), then START_UP re-homes",
    ),
    Interlock(
        id=InterlockId.FIRMWARE_HEARTBEAT,
        source="telemetry frames from the motor-controller firmware",
        trips=_firmware,
        condition="no valid telemetry for longer than firmware_timeout_s",
        stop=StopCategory.CAT1,
        latch=State.FAULT,
        applies_in=_ACTIVE,
        scope=Scope.ALL_MOTION,
        sub_code=SubCode.HARDWARE,
        reset="restore the link, RESET (lands in OFF), then START_UP re-homes",
    ),
    Interlock(
        id=InterlockId.JOINT_LIMITS,
        source="measured joint positions and forward kinematics of the tip",
        trips=_limits,
        condition="a joint or the tip outside its joint or workspace limit",
        stop=StopCategory.CAT0,
        latch=State.PROTECTIVE_STOP,
        applies_in=_ACTIVE,
        scope=Scope.ALL_MOTION,
        sub_code=SubCode.OUT_OF_RANGE,
        reset="bring the joint back by hand with drives off, " + _RESET_HOME,
    ),
    Interlock(
        id=InterlockId.VELOCITY_LIMIT,
        source="measured joint speeds",
        trips=_velocity,
        condition="a joint faster than its configured maximum speed",
        stop=StopCategory.CAT0,
        latch=State.PROTECTIVE_STOP,
        applies_in=_ACTIVE,
        scope=Scope.ALL_MOTION,
        sub_code=SubCode.INTERLOCK,
        reset=_RESET_HOME,
    ),
    Interlock(
        id=InterlockId.LIMIT_SWITCH,
        source="end-of-travel switches in firmware telemetry",
        trips=_limit_switch,
        condition="an overtravel limit switch is active",
        stop=StopCategory.CAT0,
        latch=State.PROTECTIVE_STOP,
        applies_in=_ACTIVE,
        scope=Scope.ALL_MOTION,
        sub_code=SubCode.OUT_OF_RANGE,
        reset="move off the switch by hand with drives off, " + _RESET_HOME,
    ),
    Interlock(
        id=InterlockId.FOLLOWING_ERROR,
        source="firmware following-error monitor (encoder vs command, N samples)",
        trips=_following,
        condition="following error above threshold",
        stop=StopCategory.CAT1,
        latch=State.PROTECTIVE_STOP,
        applies_in=_ACTIVE,
        scope=Scope.ALL_MOTION,
        sub_code=SubCode.HARDWARE,
        reset=_RESET_HOME,
    ),
    Interlock(
        id=InterlockId.SUPPLY_PRESSURE,
        source="supply pressure sensor of the pneumatic axes",
        trips=_pressure,
        condition="supply pressure below min_supply_pressure_kpa or not measured",
        stop=StopCategory.CAT1,
        latch=State.PROTECTIVE_STOP,
        applies_in=_ACTIVE,
        scope=Scope.ALL_MOTION,
        sub_code=SubCode.INTERLOCK,
        reset="restore pressure, " + _RESET_HOME + " (steps may have been lost)",
    ),
    Interlock(
        id=InterlockId.CONSOLE_HEARTBEAT,
        source="controlling console connection and polls",
        trips=_console,
        condition="no sign of life from the controlling console for console_timeout_s",
        stop=StopCategory.CAT1,
        latch=State.PROTECTIVE_STOP,
        applies_in=MOTION_STATES,
        scope=Scope.ALL_MOTION,
        sub_code=SubCode.INTERLOCK,
        reset="reconnect the console, " + _RESET_HOME,
    ),
    Interlock(
        id=InterlockId.NEEDLE_INSERTED,
        source="measured insertion axis (beyond the retracted band, or unknown), or needle sensor",
        trips=_needle,
        condition="needle inserted (insertion axis beyond retracted_band_mm, or position unknown)",
        stop=StopCategory.CAT1,
        latch=State.PROTECTIVE_STOP,
        applies_in=MOTION_STATES,
        scope=Scope.LATERAL_AXES,
        sub_code=SubCode.INTERLOCK,
        reset="retract the needle (RETRACT_NEEDLE moves the insertion axis only, never deeper than "
        "measured; START_UP homes the insertion axis first); after a trip: " + _RESET_HOME,
    ),
    Interlock(
        id=InterlockId.SCANNER_IMAGING,
        source="scanner bridge START/STOP_SEQUENCE (silent bridge = unknown)",
        trips=_imaging,
        condition="scanner imaging, or state unknown while the interlock is required",
        stop=StopCategory.CAT2,
        latch=None,
        applies_in=MOTION_STATES,
        scope=Scope.NON_IMAGING_SAFE_AXES,
        sub_code=SubCode.INTERLOCK,
        reset="clears when the scanner reports the sequence stopped; motion needs a new command",
    ),
    Interlock(
        id=InterlockId.CALIBRATION,
        source="robot registration (CLB_ transform or Z-frame)",
        trips=_calibration,
        condition="no valid scanner registration",
        stop=StopCategory.CAT2,
        latch=None,
        applies_in=MOTION_STATES,
        scope=Scope.TARGET_MOTION,
        sub_code=SubCode.NOT_CALIBRATED,
        reset="clears with a valid calibration; motion needs a new command",
    ),
    Interlock(
        id=InterlockId.AUDIT_UNAVAILABLE,
        source="audit log writer health",
        trips=_audit,
        condition="the audit writer failed (a write, fsync or commit error) or is closed",
        stop=StopCategory.CAT2,
        latch=None,
        applies_in=MOTION_STATES,
        scope=Scope.ALL_MOTION,
        sub_code=SubCode.INTERLOCK,
        reset="clears when the sink is healthy again (a failed JSON-lines writer only after "
        "close() and open()); motion needs a new command",
    ),
    Interlock(
        id=InterlockId.COMMAND_AUTHORITY,
        source="OpenIGTLink server: which client holds command authority",
        trips=_authority,
        condition="the command's sender does not hold command authority",
        stop=None,
        latch=None,
        applies_in=frozenset(),
        scope=Scope.COMMANDS,
        sub_code=SubCode.NOT_IN_CONTROL,
        reset="send from the controlling console (STOP and EMERGENCY work from anyone)",
    ),
)


def tripped_interlocks(snapshot: InterlockSnapshot, context: TripContext) -> tuple[Interlock, ...]:
    """The interlocks that trip for this snapshot, in table order."""
    return tuple([i for i in INTERLOCKS if i.trips(snapshot, context)])
