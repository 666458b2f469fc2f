"""Configuration of the supervisor: joints, leases and time-outs (frozen, validated on build)."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["JointConfig", "SupervisorConfig"]


def _finite_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class JointConfig:
    """One joint as the supervisor sees it, in joint units (mm for linear, rad for rotary).

    Attributes:
        name: joint name as in the robot configuration and in permits.
        min_position: lower limit (mm or rad); permits never go below it.
        max_position: upper limit (mm or rad).
        max_speed: speed cap for motion permits (mm/s or rad/s).
        homing_speed: speed cap of the homing permit (mm/s or rad/s), <= ``max_speed``.
        imaging_safe: may move while the scanner images (only with an SNR measurement on file).
        lateral: moving it moves the needle sideways (locked while the needle is inserted).
        insertion: it is the insertion axis (the only one a retraction permit may move); its
            position grows with depth (mm), so a retraction moves it towards ``min_position``.
    """

    name: str
    min_position: float
    max_position: float
    max_speed: float
    homing_speed: float
    imaging_safe: bool = False
    lateral: bool = True
    insertion: bool = False

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("joint name must not be empty")
        if not (math.isfinite(self.min_position) and math.isfinite(self.max_position)):
            raise ValueError(
                f"joint {self.name!r}: limits must be finite, got "
                f"[{self.min_position}, {self.max_position}]"
            )
        if self.min_position >= self.max_position:
            raise ValueError(
                f"joint {self.name!r}: min_position {self.min_position} must be "
                f"< max_position {self.max_position}"
            )
        _finite_positive(f"joint {self.name!r} max_speed", self.max_speed)
        _finite_positive(f"joint {self.name!r} homing_speed", self.homing_speed)
        if self.homing_speed > self.max_speed:
            raise ValueError(
                f"joint {self.name!r}: homing_speed {self.homing_speed} exceeds "
                f"max_speed {self.max_speed}"
            )
        if self.insertion and self.lateral:
            raise ValueError(f"joint {self.name!r} cannot be both the insertion axis and lateral")


@dataclass(frozen=True, slots=True, kw_only=True)
class SupervisorConfig:
    """Supervisor settings.

    Attributes:
        joints: every joint of the robot, names unique, exactly one insertion axis at most.
        lease_s: permit lease granted at issue and at each extension (s); a supervisor that
            stops cycling lets the permit lapse within this time.
        console_timeout_s: console silence that trips the console-heartbeat interlock (s).
        firmware_timeout_s: telemetry silence that trips the firmware-heartbeat interlock (s).
        min_supply_pressure_kpa: lowest acceptable supply pressure (kPa, datasheet minimum plus
            margin); ``None`` for a robot without pneumatic axes (interlock never trips).
        imaging_interlock_required: an unknown scanner state counts as imaging.
        retraction_tolerance_mm: how far (mm) beyond the measured insertion position a
            retraction envelope may reach (measurement noise and standstill jitter of the
            insertion axis); a retraction never gets a permit to go deeper than that.
        retracted_band_mm: the needle counts as out (retracted) while the measured insertion
            axis is at or below this position (mm); beyond it, or while its position is
            unknown, the needle counts as inserted and no lateral axis may get a permit. A
            permit that covers a lateral axis never lets the insertion axis beyond this band.
    """

    joints: tuple[JointConfig, ...]
    lease_s: float = 0.2
    console_timeout_s: float = 2.0
    firmware_timeout_s: float = 0.25
    min_supply_pressure_kpa: float | None = None
    imaging_interlock_required: bool = True
    retraction_tolerance_mm: float = 0.5
    retracted_band_mm: float = 1.0

    def __post_init__(self) -> None:
        if not self.joints:
            raise ValueError("the supervisor needs at least one joint")
        names = [j.name for j in self.joints]
        if len(set(names)) != len(names):
            raise ValueError(f"joint names must be unique, got {names}")
        if sum(j.insertion for j in self.joints) > 1:
            raise ValueError(f"at most one insertion axis, got {names}")
        _finite_positive("lease_s", self.lease_s)
        _finite_positive("console_timeout_s", self.console_timeout_s)
        _finite_positive("firmware_timeout_s", self.firmware_timeout_s)
        if self.min_supply_pressure_kpa is not None:
            _finite_positive("min_supply_pressure_kpa", self.min_supply_pressure_kpa)
        tolerance = self.retraction_tolerance_mm
        if not (math.isfinite(tolerance) and tolerance >= 0):
            raise ValueError(f"retraction_tolerance_mm must be finite and >= 0, got {tolerance}")
        band = self.retracted_band_mm
        if not (math.isfinite(band) and band >= 0):
            raise ValueError(f"retracted_band_mm must be finite and >= 0, got {band}")

    def insertion_joint(self) -> JointConfig | None:
        """The insertion axis, or ``None`` for a robot without one."""
        for j in self.joints:
            if j.insertion:
                return j
        return None

    def joint(self, name: str) -> JointConfig | None:
        """The joint called ``name``, or ``None``."""
        for j in self.joints:
            if j.name == name:
                return j
        return None
