"""The latest telemetry in joint units: what the robot reads of its axes, without the wire.

The wire carries micro joint units, status bits and hectopascals (``docs/PROTOCOL.md``); a
:class:`JointReadings` carries the same sample in joint units (mm or rad, per second for speeds),
named flags and kPa, built by :func:`joint_readings_from` from a telemetry sample and the axes'
configurations. ``ControllerDriver.joint_readings()`` returns the latest one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from firmware_interfaces import AxisStatus, FirmwareState
from hal.config import PneumaticStepperConfig, from_wire_um

if TYPE_CHECKING:
    from collections.abc import Sequence

    from firmware_interfaces import AxisTelemetry
    from hal.config import AxisConfig, JointKind
    from hal.events import TelemetrySample

__all__ = ["AxisFault", "AxisReading", "FirmwareState", "JointReadings", "joint_readings_from"]

_HPA_PER_KPA: Final = 10.0
_US_PER_S: Final = 1e6


class AxisFault(enum.Enum):
    """A fault the firmware reports on one axis."""

    FAULT = "fault"
    """The axis hardware failed (drive, motor or sensor)."""
    FOLLOWING_ERROR = "following_error"
    """The firmware's own following-error check tripped."""
    PRESSURE_LOW = "pressure_low"
    """The firmware finds the supply pressure too low (pneumatic axes)."""
    ENCODER_STUCK = "encoder_stuck"
    """The encoder does not change while the axis is driven."""
    SOFT_LIMIT = "soft_limit"
    """The firmware stopped the axis at its soft limit."""


_FAULT_BITS: Final = (
    (AxisFault.FAULT, AxisStatus.FAULT),
    (AxisFault.FOLLOWING_ERROR, AxisStatus.FOLLOWING_ERROR),
    (AxisFault.PRESSURE_LOW, AxisStatus.PRESSURE_LOW),
    (AxisFault.ENCODER_STUCK, AxisStatus.ENCODER_STUCK),
    (AxisFault.SOFT_LIMIT, AxisStatus.SOFT_LIMIT),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AxisReading:
    """One axis of one telemetry sample, in joint units.

    Attributes:
        name: joint name.
        kind: linear (mm) or rotary (rad).
        position: measured (encoder) position (mm or rad).
        commanded: setpoint the firmware is tracking (mm or rad).
        velocity: measured velocity (mm/s or rad/s).
        enabled: the drive is powered.
        homed: the position is referenced.
        moving: a trajectory is being followed.
        in_position: at rest at the setpoint.
        lower_limit: the lower limit switch is pressed.
        upper_limit: the upper limit switch is pressed.
        faults: what the firmware reports wrong with the axis (empty when healthy).
        supply_pressure_kpa: supply pressure of a pneumatic axis (kPa); ``None`` for the others.
    """

    name: str
    kind: JointKind
    position: float
    commanded: float
    velocity: float
    enabled: bool
    homed: bool
    moving: bool
    in_position: bool
    lower_limit: bool
    upper_limit: bool
    faults: frozenset[AxisFault]
    supply_pressure_kpa: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class JointReadings:
    """One telemetry sample in joint units, axes in wire (joint) order.

    Attributes:
        axes: one reading per configured axis.
        estop_input: the hardware e-stop circuit is open (not the firmware's ESTOP state, which
            the host's own ``estop()`` also causes).
        firmware_state: the firmware's state machine.
        firmware_time_s: firmware clock of the sample (s).
        last_move_id: command id of the last move the firmware accepted.
        received_at_s: host clock (the driver's injected clock) when the sample arrived (s).
    """

    axes: tuple[AxisReading, ...]
    estop_input: bool
    firmware_state: FirmwareState
    firmware_time_s: float
    last_move_id: int
    received_at_s: float

    @property
    def positions(self) -> tuple[float, ...]:
        """Measured position per axis (mm or rad)."""
        return tuple(a.position for a in self.axes)

    @property
    def moving(self) -> bool:
        """Any axis is moving."""
        return any(a.moving for a in self.axes)

    @property
    def homed(self) -> bool:
        """Every axis is homed."""
        return all(a.homed for a in self.axes)

    def axis(self, name: str) -> AxisReading:
        """The reading of axis ``name``.

        Raises:
            KeyError: no such axis.
        """
        for reading in self.axes:
            if reading.name == name:
                return reading
        raise KeyError(f"no axis {name!r}; axes are {[a.name for a in self.axes]}")


def _axis_reading(config: AxisConfig, record: AxisTelemetry) -> AxisReading:
    status = record.status
    pneumatic = isinstance(config, PneumaticStepperConfig)  # the others report 0 hPa
    return AxisReading(
        name=config.name,
        kind=config.kind,
        position=from_wire_um(record.encoder_um, config.kind),
        commanded=from_wire_um(record.commanded_um, config.kind),
        velocity=from_wire_um(record.velocity_um_s, config.kind),
        enabled=AxisStatus.ENABLED in status,
        homed=AxisStatus.HOMED in status,
        moving=AxisStatus.MOVING in status,
        in_position=AxisStatus.IN_POSITION in status,
        lower_limit=AxisStatus.LIMIT_MIN in status,
        upper_limit=AxisStatus.LIMIT_MAX in status,
        faults=frozenset(fault for fault, bit in _FAULT_BITS if bit in status),
        supply_pressure_kpa=record.supply_pressure_hpa / _HPA_PER_KPA if pneumatic else None,
    )


def joint_readings_from(sample: TelemetrySample, axes: Sequence[AxisConfig]) -> JointReadings:
    """``sample`` in joint units; ``axes`` are the configured axes in wire order.

    Raises:
        ValueError: the sample has another number of axes than ``axes``.
    """
    telemetry = sample.telemetry
    if len(telemetry.axes) != len(axes):
        raise ValueError(f"telemetry has {len(telemetry.axes)} axes, the configuration {len(axes)}")
    return JointReadings(
        axes=tuple(
            _axis_reading(config, record)
            for config, record in zip(axes, telemetry.axes, strict=True)
        ),
        estop_input=bool(telemetry.estop_input),
        firmware_state=FirmwareState(telemetry.firmware_state),
        firmware_time_s=telemetry.firmware_time_us / _US_PER_S,
        last_move_id=telemetry.last_command_id,
        received_at_s=sample.received_at_s,
    )
