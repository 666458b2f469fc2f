"""One control cycle's readings: measured joints from telemetry, and the interlock snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

from hal import JointKind, LifecycleState
from safety import InterlockSnapshot

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hal import ControllerConfig, ControllerDriver, HalStatus
    from kinematics.types import FloatArray

__all__ = ["VELOCITY_MARGIN", "Readings", "at_rest_at", "read_joints", "snapshot_from"]

#: Measured speed may exceed the configured maximum by this factor before the velocity interlock
#: trips (encoder resolution and step quantisation over one speed window).
VELOCITY_MARGIN: Final = 1.5
#: Speeds are measured from encoder positions over at least this much firmware time (s); the
#: firmware's own per-sample velocity of a stepper spikes when a step lands in a short interval.
SPEED_WINDOW_S: Final = 0.05


@dataclass(frozen=True, slots=True, kw_only=True)
class Readings:
    """Joint readings from the latest telemetry (joint units, mm).

    Attributes:
        positions: measured (encoder) position per joint, wire order; ``None`` without telemetry.
        moving: any axis reports MOVING.
        homed: every axis reports HOMED.
        received_at_s: clock time of the telemetry frame, or ``None``.
        max_speed_ratio: largest |measured speed| / configured maximum over the joints.
        min_pressure_kpa: lowest supply pressure of the pneumatic axes (kPa), or ``None``.
        estop_input: the hardware e-stop circuit is open (not the firmware's ESTOP state, which
            our own ``estop()`` also causes).
        firmware_time_s: firmware clock of the sample (s), or ``None``.
        speed_origin: (firmware time s, positions) where the current speed window started.
        homed_axes: per joint, whether the axis reports HOMED (its position is referenced).
        last_move_id: command id of the last move the firmware accepted, or ``None``: until
            telemetry shows a move's id, "at rest" describes the axes before that move.
    """

    positions: FloatArray | None
    moving: bool
    homed: bool
    received_at_s: float | None
    max_speed_ratio: float
    min_pressure_kpa: float | None
    estop_input: bool = False
    firmware_time_s: float | None = None
    speed_origin: tuple[float, FloatArray] | None = None
    homed_axes: tuple[bool, ...] = ()
    last_move_id: int | None = None

    def referenced_position(self, index: int) -> float | None:
        """Measured position of joint ``index`` when it is homed (referenced), else ``None``."""
        if self.positions is None or index >= len(self.homed_axes) or not self.homed_axes[index]:
            return None
        return float(self.positions[index])


def at_rest_at(
    readings: Readings,
    config: ControllerConfig,
    goal: Sequence[float] | FloatArray,
    tolerance_mm: float,
    tolerance_rad: float | None = None,
) -> bool:
    """No axis moving and every joint within ``max(its tolerance, its step)`` of ``goal``.

    The tolerance is ``tolerance_mm`` for a linear joint, ``tolerance_rad`` (if given) for a
    rotary one.
    """
    positions = readings.positions
    if positions is None or readings.moving:
        return False
    for axis, value, wanted in zip(config.axes, positions, goal, strict=True):
        step = getattr(axis, "step_size", 0.0)
        rotary = axis.kind is JointKind.ROTARY
        tolerance = tolerance_rad if rotary and tolerance_rad is not None else tolerance_mm
        if abs(float(value) - float(wanted)) > max(tolerance, step):
            return False
    return True


def read_joints(
    driver: ControllerDriver, config: ControllerConfig, previous: Readings | None = None
) -> Readings:
    """Readings of the latest telemetry sample, from the HAL in joint units (never raises).

    Joint speeds are encoder travel over at least :data:`SPEED_WINDOW_S` of firmware time,
    measured from ``previous`` readings' window origin.
    """
    joints = driver.joint_readings()
    if joints is None or len(joints.axes) != len(config.axes):
        return Readings(
            positions=None,
            moving=False,
            homed=False,
            received_at_s=None,
            max_speed_ratio=0.0,
            min_pressure_kpa=None,
        )
    pressures = [a.supply_pressure_kpa for a in joints.axes if a.supply_pressure_kpa is not None]
    homed_axes = tuple(a.homed for a in joints.axes)
    now_fw_s = joints.firmware_time_s
    current = np.array(joints.positions)
    ratio = 0.0 if previous is None else previous.max_speed_ratio
    origin = None if previous is None else previous.speed_origin
    if origin is None or now_fw_s < origin[0]:
        origin = (now_fw_s, current)
    elif now_fw_s - origin[0] >= SPEED_WINDOW_S:
        limits = np.array([a.max_speed for a in config.axes])
        speeds = np.abs(current - origin[1]) / (now_fw_s - origin[0])
        ratio = float(np.max(speeds / limits))
        origin = (now_fw_s, current)
    return Readings(
        positions=current,
        moving=joints.moving,
        homed=all(homed_axes),
        received_at_s=joints.received_at_s,
        max_speed_ratio=ratio,
        min_pressure_kpa=min(pressures) if pressures else None,
        estop_input=joints.estop_input,
        firmware_time_s=now_fw_s,
        speed_origin=origin,
        homed_axes=homed_axes,
        last_move_id=joints.last_move_id,
    )


def snapshot_from(
    *,
    status: HalStatus,
    readings: Readings,
    config: ControllerConfig,
    scanner_imaging: bool | None,
    console_heartbeat_at_s: float | None,
    calibration_valid: bool,
    homing: bool = False,
    command_authority: bool = True,
    insertion_index: int | None = None,
) -> InterlockSnapshot:
    """The interlock snapshot of one cycle from the HAL status and the robot's own state.

    While ``homing``, positions beyond the soft limits are expected (the axes seek their limit
    switches), so the joint-limit reading is left clear; the HAL ignores the switches then too.
    The insertion axis (``insertion_index``) is reported as measured only while the link is up
    and the axis is homed; otherwise its position is unknown, which the supervisor counts as
    inserted.
    """
    live = status.state is not LifecycleState.UNCONFIGURED and readings.positions is not None
    current = live and not status.link_down
    insertion_mm = (
        readings.referenced_position(insertion_index)
        if insertion_index is not None and current
        else None
    )
    within = True
    if readings.positions is not None and not homing:
        for axis, value in zip(config.axes, readings.positions, strict=True):
            margin = axis.following_error_limit
            within &= bool(axis.min_position - margin <= value <= axis.max_position + margin)
    return InterlockSnapshot(
        estop_released=not (live and readings.estop_input),
        emergency_requested=False,
        scanner_imaging=scanner_imaging,
        needle_inserted=False,
        joints_within_limits=within,
        velocity_within_limit=bool(readings.max_speed_ratio <= VELOCITY_MARGIN),
        following_error_ok=not status.following_error,
        limit_switch_hit=bool(status.limit_hit),
        supply_pressure_kpa=readings.min_pressure_kpa,
        console_heartbeat_at_s=console_heartbeat_at_s,
        firmware_heartbeat_at_s=readings.received_at_s,
        calibration_valid=calibration_valid,
        command_authority=command_authority,
        insertion_position_mm=insertion_mm,
    )
