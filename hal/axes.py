"""Axes in joint units (mm or rad) behind one interface, on top of the controller driver.

An axis converts to and from the wire's micro-units, checks its own limits (step rate, speed,
imaging safety), cross-checks telemetry (following error, supply pressure, limit switches) and
sends motion only through the controller, which verifies the motion permit for every axis.
"""

from __future__ import annotations

import abc
import math
from typing import TYPE_CHECKING, Protocol

from firmware_interfaces import AxisStatus, StopCategory
from hal.config import PiezoConfig, PneumaticStepperConfig, from_wire_um
from hal.errors import AxisFaultError, HalError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from firmware_interfaces import AxisTelemetry
    from hal.config import AxisConfig
    from safety.permits import MotionPermit

__all__ = [
    "Axis",
    "AxisCheck",
    "ImagingInterlockError",
    "MotionPort",
    "PiezoAxis",
    "PneumaticStepperAxis",
]


class ImagingInterlockError(HalError):
    """Motion of an axis that is not imaging-safe was asked for while the scanner is imaging."""


class MotionPort(Protocol):
    """What an axis needs from its controller (the driver implements it)."""

    def move(
        self,
        targets: Mapping[str, float],
        *,
        permit: MotionPermit | None,
        duration_s: float = 0.0,
        speeds: Mapping[str, float] | None = None,
        imaging: bool = False,
    ) -> int:
        """Synchronised move of the named axes (joint units); returns the command id."""
        ...

    def stop(self, category: StopCategory = StopCategory.CAT1) -> bool:
        """Stop all axes; never raises."""
        ...

    def axis_telemetry(self, name: str) -> AxisTelemetry | None:
        """Latest telemetry record of axis ``name``, if any."""
        ...


class AxisCheck:
    """Host-side findings on one telemetry record (all false = healthy)."""

    __slots__ = ("following_error", "limit_hit", "pressure_low")

    def __init__(self, *, following_error: bool, pressure_low: bool, limit_hit: bool) -> None:
        self.following_error = following_error
        self.pressure_low = pressure_low
        self.limit_hit = limit_hit

    @property
    def ok(self) -> bool:
        """No finding."""
        return not (self.following_error or self.pressure_low or self.limit_hit)


class Axis(abc.ABC):
    """One joint in joint units (mm for linear axes, rad for rotary axes)."""

    def __init__(self, config: AxisConfig, port: MotionPort) -> None:
        self.config = config
        self._port = port

    @property
    def name(self) -> str:
        """Joint name."""
        return self.config.name

    @property
    def imaging_safe(self) -> bool:
        """Whether the axis may move while the scanner images (docs/SAFETY_BASIS.md section 5)."""
        return self.config.imaging_safe

    @property
    @abc.abstractmethod
    def max_speed(self) -> float:
        """Fastest allowed speed (mm/s or rad/s)."""

    def _um(self, value_um: int) -> float:
        return from_wire_um(value_um, self.config.kind)

    def position(self) -> float | None:
        """Measured position (encoder, mm or rad), or ``None`` before telemetry."""
        record = self._port.axis_telemetry(self.name)
        return None if record is None else self._um(record.encoder_um)

    def commanded(self) -> float | None:
        """Commanded position (mm or rad), or ``None`` before telemetry."""
        record = self._port.axis_telemetry(self.name)
        return None if record is None else self._um(record.commanded_um)

    def move_to(
        self,
        target: float,
        *,
        permit: MotionPermit | None,
        speed: float | None = None,
        imaging: bool = False,
    ) -> int:
        """Move this axis alone to ``target`` (mm or rad) at ``speed`` (default: max speed).

        Raises:
            ValueError: target or speed not finite, or speed <= 0.
            AxisFaultError: speed above the axis limit.
            ImagingInterlockError: ``imaging`` is true and the axis is not imaging-safe.
            PermitRefusedError: the permit does not allow it.
            HalError: lifecycle, link or firmware refusal (see ``ControllerDriver.move``).
        """
        speed = self.max_speed if speed is None else speed
        if not (math.isfinite(target) and math.isfinite(speed) and speed > 0):
            raise ValueError(
                f"axis {self.name}: target {target} and speed {speed} must be finite, speed > 0"
            )
        if speed > self.max_speed * (1 + 1e-9):
            raise AxisFaultError(
                f"speed {speed:g} exceeds the axis limit {self.max_speed:g} per s", axis=self.name
            )
        if imaging and not self.imaging_safe:
            raise ImagingInterlockError(
                f"axis {self.name} is not imaging-safe and the scanner is imaging; motion refused"
            )
        return self._port.move(
            {self.name: target}, permit=permit, speeds={self.name: speed}, imaging=imaging
        )

    def stop(self) -> bool:
        """Stop the whole coordinated motion (Cat 2: hold, standstill monitored); never raises."""
        return self._port.stop(StopCategory.CAT2)

    def check(self, record: AxisTelemetry) -> AxisCheck:
        """Cross-check one telemetry record of this axis."""
        error = abs(self._um(record.commanded_um) - self._um(record.encoder_um))
        status = record.status
        return AxisCheck(
            following_error=error > self.config.following_error_limit
            or bool(status & AxisStatus.FOLLOWING_ERROR),
            pressure_low=self._pressure_low(record),
            limit_hit=bool(status & (AxisStatus.LIMIT_MIN | AxisStatus.LIMIT_MAX)),
        )

    def _pressure_low(self, record: AxisTelemetry) -> bool:
        del record
        return False


class PneumaticStepperAxis(Axis):
    """Open-loop pneumatic stepper with an encoder cross-check and a supply-pressure check."""

    config: PneumaticStepperConfig

    def __init__(self, config: PneumaticStepperConfig, port: MotionPort) -> None:
        super().__init__(config, port)

    @property
    def max_speed(self) -> float:
        """Step size times the maximum step rate (mm/s or rad/s)."""
        return self.config.max_speed

    def _pressure_low(self, record: AxisTelemetry) -> bool:
        pressure_kpa = record.supply_pressure_hpa / 10.0
        return pressure_kpa < self.config.min_supply_pressure_kpa or bool(
            record.status & AxisStatus.PRESSURE_LOW
        )

    def steps_to(self, target: float) -> int:
        """Whole steps from the commanded position to ``target`` (signed).

        Raises:
            AxisFaultError: no telemetry yet (position unknown).
        """
        commanded = self.commanded()
        if commanded is None:
            raise AxisFaultError("position unknown (no telemetry yet)", axis=self.name)
        return round((target - commanded) / self.config.step_size)


class PiezoAxis(Axis):
    """Closed-loop piezo axis: in position within a tolerance; not imaging-safe by default."""

    config: PiezoConfig

    def __init__(self, config: PiezoConfig, port: MotionPort) -> None:
        super().__init__(config, port)

    @property
    def max_speed(self) -> float:
        """Configured speed limit (mm/s or rad/s)."""
        return self.config.max_speed

    def in_position(self, target: float) -> bool:
        """Whether the encoder is within the tolerance of ``target`` (mm or rad)."""
        position = self.position()
        return position is not None and abs(position - target) <= self.config.tolerance


def make_axis(config: AxisConfig, port: MotionPort) -> Axis:
    """The axis class for ``config``."""
    if isinstance(config, PiezoConfig):
        return PiezoAxis(config, port)
    return PneumaticStepperAxis(config, port)
