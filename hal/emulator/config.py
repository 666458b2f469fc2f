"""Configuration of the emulated firmware, and how to derive it from a HAL controller config."""

from __future__ import annotations

from dataclasses import dataclass

from hal.config import ControllerConfig, JointKind, PiezoConfig, to_wire_um
from hal.emulator.physics import HOSE_REFERENCE_M, PiezoModelConfig, PneumaticModelConfig

__all__ = ["EmulatorConfig", "check_step_period", "emulator_config_for"]


def check_step_period(period_s: float, name: str) -> None:
    """Refuse an emulator stepping period outside (0, 0.1] s (a sanity bound, 100 ms).

    Raises:
        ValueError: ``period_s`` (called ``name`` in the message) is out of range.
    """
    if not 0 < period_s <= 0.1:  # noqa: PLR2004 - sanity bound, 100 ms
        raise ValueError(f"{name} must be in (0, 0.1] s, got {period_s}")


@dataclass(frozen=True, slots=True, kw_only=True)
class EmulatorConfig:
    """The emulated firmware.

    Attributes:
        axes: per-axis physics, in wire order.
        rotary: per axis, whether it is rotary ("um" = microradians).
        watchdog_ms: firmware watchdog: stop when no valid frame arrives for this long.
        telemetry_period_ms: telemetry period (5-20 ms = 200-50 Hz).
        protocol_version: (major, minor) the firmware advertises in IDENT.
        firmware_version: (major, minor, patch).
        require_homing: refuse MOVE on an axis that was not homed (NACK NOT_HOMED).
        homing_velocity_um_s: homing speed towards the lower limit switch.
        physics_period_s: largest physics step; longer steps are split.
    """

    axes: tuple[PneumaticModelConfig | PiezoModelConfig, ...]
    rotary: tuple[bool, ...]
    watchdog_ms: int = 250
    telemetry_period_ms: int = 10
    protocol_version: tuple[int, int] | None = None
    firmware_version: tuple[int, int, int] = (0, 1, 0)
    require_homing: bool = True
    homing_velocity_um_s: int = 10_000
    physics_period_s: float = 0.001

    def __post_init__(self) -> None:
        if not self.axes:
            raise ValueError("the emulator needs at least one axis")
        if len(self.rotary) != len(self.axes):
            raise ValueError(f"rotary has {len(self.rotary)} entries for {len(self.axes)} axes")
        if self.watchdog_ms <= 0:
            raise ValueError(f"watchdog_ms must be > 0 ms, got {self.watchdog_ms}")
        if self.telemetry_period_ms <= 0:
            raise ValueError(f"telemetry_period_ms must be > 0 ms, got {self.telemetry_period_ms}")
        if self.homing_velocity_um_s <= 0:
            raise ValueError(f"homing_velocity_um_s must be > 0, got {self.homing_velocity_um_s}")
        check_step_period(self.physics_period_s, "physics_period_s")


def emulator_config_for(
    controller: ControllerConfig,
    *,
    hose_length_m: float = 5.0,
    calibrated_hose_m: float = 5.0,
    watchdog_ms: int = 250,
    telemetry_period_ms: int = 10,
    homing_velocity_um_s: int = 10_000,
    homing_speed: float | None = None,
) -> EmulatorConfig:
    """An emulator whose axes match ``controller`` (limits, step size and rate, speeds).

    The configured ``max_step_rate_hz`` is taken as measured with ``calibrated_hose_m`` of hose;
    the emulated hose is ``hose_length_m``, so a longer hose than calibrated steps slower than
    the host expects (and shows up as following errors), as on the bench.

    ``homing_speed``, when given, replaces ``homing_velocity_um_s``: joint units per second
    (mm/s, or rad/s if the first axis is rotary: the firmware homes every axis at one wire
    speed), at least 1 um/s.
    """
    if homing_speed is not None:
        homing_velocity_um_s = max(1, to_wire_um(homing_speed, controller.axes[0].kind))
    if not (hose_length_m >= 0 and calibrated_hose_m >= 0):
        raise ValueError(
            f"hose lengths must be >= 0 m, got {hose_length_m} m and {calibrated_hose_m} m"
        )
    axes: list[PneumaticModelConfig | PiezoModelConfig] = []
    for axis in controller.axes:
        soft_min_um = to_wire_um(axis.min_position, axis.kind)
        soft_max_um = to_wire_um(axis.max_position, axis.kind)
        start_um = (soft_min_um + soft_max_um) // 2
        if isinstance(axis, PiezoConfig):
            axes.append(
                PiezoModelConfig(
                    soft_min_um=soft_min_um,
                    soft_max_um=soft_max_um,
                    max_velocity_um_s=to_wire_um(axis.max_speed, axis.kind),
                    following_error_limit_um=to_wire_um(axis.following_error_limit, axis.kind),
                    start_um=start_um,
                )
            )
        else:
            axes.append(
                PneumaticModelConfig(
                    soft_min_um=soft_min_um,
                    soft_max_um=soft_max_um,
                    step_um=to_wire_um(axis.step_size, axis.kind),
                    base_step_rate_hz=axis.max_step_rate_hz
                    * (1.0 + calibrated_hose_m / HOSE_REFERENCE_M),
                    hose_length_m=hose_length_m,
                    min_pressure_hpa=round(axis.min_supply_pressure_kpa * 10),
                    following_error_limit_um=to_wire_um(axis.following_error_limit, axis.kind),
                    start_um=start_um,
                )
            )
    return EmulatorConfig(
        axes=tuple(axes),
        rotary=tuple(a.kind is JointKind.ROTARY for a in controller.axes),
        watchdog_ms=watchdog_ms,
        telemetry_period_ms=telemetry_period_ms,
        homing_velocity_um_s=homing_velocity_um_s,
    )
