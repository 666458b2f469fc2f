"""Frozen configuration of the controller and its axes, and the default needle-guide robot.

Positions are in joint units: millimetres for linear joints, radians for rotary joints. The wire
carries "um" (micro joint units: micrometres or microradians); :func:`to_wire_um` and
:func:`from_wire_um` convert.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "LINK_TIMEOUT_FLOOR_S",
    "LINK_TIMEOUT_PERIODS",
    "AxisConfig",
    "ControllerConfig",
    "JointKind",
    "PiezoConfig",
    "PneumaticStepperConfig",
    "from_wire_um",
    "to_wire_um",
]

_UM_PER_UNIT: Final = {"linear": 1000.0, "rotary": 1_000_000.0}

#: The link time-out rule (docs/HARDWARE.md, "Link time-out"): the link counts as lost after
#: ``max(LINK_TIMEOUT_PERIODS x telemetry period, LINK_TIMEOUT_FLOOR_S)`` without telemetry.
#: The periods tolerate lost frames (4 in a row); the floor covers host scheduling delay, which
#: does not shrink with the period: ``mrbot bench link`` measured gaps up to 82 ms at 20 ms
#: telemetry on this 2-core VM with a CPU-bound process per core, a user trial saw 112 ms.
LINK_TIMEOUT_PERIODS: Final = 5
LINK_TIMEOUT_FLOOR_S: Final = 0.2


class JointKind(enum.Enum):
    """Linear joints are in mm, rotary joints in rad."""

    LINEAR = "linear"
    ROTARY = "rotary"


def to_wire_um(value: float, kind: JointKind) -> int:
    """Convert a joint value (mm, mm/s, rad, rad/s) to wire micro-units, rounded.

    Raises:
        ValueError: ``value`` is not finite.
    """
    if not math.isfinite(value):
        raise ValueError(f"joint value must be finite, got {value}")
    return round(value * _UM_PER_UNIT[kind.value])


def from_wire_um(value_um: int, kind: JointKind) -> float:
    """Convert wire micro-units to joint units (mm or rad)."""
    return value_um / _UM_PER_UNIT[kind.value]


def _check_finite(name: str, **values: float) -> None:
    for key, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"axis {name!r}: {key} must be finite, got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class PneumaticStepperConfig:
    """A PneuStep-type pneumatic stepper: open-loop steps with an encoder cross-check.

    Attributes:
        name: joint name (as in motion permits).
        kind: linear (mm) or rotary (rad).
        min_position: lower soft limit (mm or rad).
        max_position: upper soft limit (mm or rad).
        step_size: travel per step (mm or rad).
        max_step_rate_hz: highest step rate with the installed hose length (bench-measured).
        following_error_limit: largest allowed |commanded - encoder| (mm or rad).
        min_supply_pressure_kpa: supply pressure below which steps may be lost.
        imaging_safe: pneumatic motors cost no SNR (Fischer et al. 2008), so true by default.
    """

    name: str
    kind: JointKind = JointKind.LINEAR
    min_position: float
    max_position: float
    step_size: float = 0.1
    max_step_rate_hz: float = 150.0
    following_error_limit: float = 0.5
    min_supply_pressure_kpa: float = 300.0
    imaging_safe: bool = True

    def __post_init__(self) -> None:
        _check_finite(
            self.name,
            min_position=self.min_position,
            max_position=self.max_position,
            step_size=self.step_size,
            max_step_rate_hz=self.max_step_rate_hz,
            following_error_limit=self.following_error_limit,
            min_supply_pressure_kpa=self.min_supply_pressure_kpa,
        )
        if not self.name:
            raise ValueError("axis name must not be empty")
        if self.min_position >= self.max_position:
            raise ValueError(
                f"axis {self.name!r}: min_position {self.min_position} >= max {self.max_position}"
            )
        if self.step_size <= 0 or self.max_step_rate_hz <= 0 or self.following_error_limit <= 0:
            raise ValueError(
                f"axis {self.name!r}: step_size, max_step_rate_hz and following_error_limit "
                "must be > 0"
            )

    @property
    def max_speed(self) -> float:
        """Fastest commanded speed (mm/s or rad/s): one step per step period."""
        return self.step_size * self.max_step_rate_hz


@dataclass(frozen=True, slots=True, kw_only=True)
class PiezoConfig:
    """A closed-loop piezo (ultrasonic) axis: positions within a tolerance, self-locks when off.

    Attributes:
        name: joint name.
        kind: linear (mm) or rotary (rad).
        min_position: lower soft limit (mm or rad).
        max_position: upper soft limit (mm or rad).
        max_speed: speed limit (mm/s or rad/s).
        tolerance: in-position window (mm or rad).
        following_error_limit: largest allowed |commanded - encoder| (mm or rad).
        imaging_safe: piezo motors degrade images while moving; false unless an SNR
            measurement on file says otherwise (docs/SAFETY_BASIS.md section 5).
    """

    name: str
    kind: JointKind = JointKind.LINEAR
    min_position: float
    max_position: float
    max_speed: float = 10.0
    tolerance: float = 0.02
    following_error_limit: float = 1.0
    imaging_safe: bool = False

    def __post_init__(self) -> None:
        _check_finite(
            self.name,
            min_position=self.min_position,
            max_position=self.max_position,
            max_speed=self.max_speed,
            tolerance=self.tolerance,
            following_error_limit=self.following_error_limit,
        )
        if not self.name:
            raise ValueError("axis name must not be empty")
        if self.min_position >= self.max_position:
            raise ValueError(
                f"axis {self.name!r}: min_position {self.min_position} >= max {self.max_position}"
            )
        if self.max_speed <= 0 or self.tolerance <= 0 or self.following_error_limit <= 0:
            raise ValueError(
                f"axis {self.name!r}: max_speed, tolerance and following_error_limit must be > 0"
            )


AxisConfig = PneumaticStepperConfig | PiezoConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerConfig:
    """One motor controller on one serial link, and its axes in wire order.

    Attributes:
        axes: axis configurations; index i is wire axis i.
        ack_timeout_s: time-out per request attempt (docs/SERIAL_LINK_BASIS.md section 3: 100 ms).
        retries: extra attempts for idempotent requests (docs/SERIAL_LINK_BASIS.md section 3: 2).
        heartbeat_hz: host heartbeat rate (docs/SAFETY_BASIS.md section 6: 20 Hz, i.e. every 50 ms).
        link_timeout_periods: telemetry periods without telemetry before the link counts as lost
            (at least; see :meth:`link_timeout_s`).
        link_timeout_floor_s: the shortest link time-out (s), whatever the telemetry period.
        recorder_s: how many seconds of frames the flight recorder keeps.
        handshake_timeout_s: how long to wait for IDENT after HELLO.
    """

    axes: tuple[AxisConfig, ...]
    ack_timeout_s: float = 0.1
    retries: int = 2
    heartbeat_hz: float = 20.0
    link_timeout_periods: int = LINK_TIMEOUT_PERIODS
    link_timeout_floor_s: float = LINK_TIMEOUT_FLOOR_S
    recorder_s: float = 2.0
    handshake_timeout_s: float = 0.5
    fault_queue_size: int = field(default=256)

    def __post_init__(self) -> None:
        if not self.axes:
            raise ValueError("a controller needs at least one axis")
        names = [a.name for a in self.axes]
        if len(set(names)) != len(names):
            raise ValueError(f"axis names must be unique, got {names}")
        if not (math.isfinite(self.ack_timeout_s) and self.ack_timeout_s > 0):
            raise ValueError(f"ack_timeout_s must be > 0 s, got {self.ack_timeout_s}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries}")
        if not (math.isfinite(self.heartbeat_hz) and self.heartbeat_hz > 0):
            raise ValueError(f"heartbeat_hz must be > 0 Hz, got {self.heartbeat_hz}")
        if self.link_timeout_periods < 1:
            raise ValueError(f"link_timeout_periods must be >= 1, got {self.link_timeout_periods}")
        if not (math.isfinite(self.link_timeout_floor_s) and self.link_timeout_floor_s >= 0):
            raise ValueError(
                f"link_timeout_floor_s must be finite and >= 0 s, got {self.link_timeout_floor_s}"
            )
        if not (self.recorder_s > 0 and self.handshake_timeout_s > 0):
            raise ValueError("recorder_s and handshake_timeout_s must be > 0 s")
        if self.fault_queue_size < 1:
            raise ValueError(f"fault_queue_size must be >= 1, got {self.fault_queue_size}")

    def link_timeout_s(self, telemetry_period_s: float) -> float:
        """The link time-out (s) at ``telemetry_period_s``: no telemetry for longer is a lost link.

        ``max(link_timeout_periods x telemetry_period_s, link_timeout_floor_s)``: the only place
        the HAL's link time-out comes from.
        """
        return max(self.link_timeout_periods * telemetry_period_s, self.link_timeout_floor_s)

    def axis_index(self, name: str) -> int:
        """Wire index of axis ``name``.

        Raises:
            KeyError: no such axis.
        """
        for index, axis in enumerate(self.axes):
            if axis.name == name:
                return index
        raise KeyError(f"no axis {name!r}; axes are {[a.name for a in self.axes]}")
