"""Telemetry in joint units: micro-units to mm and rad, hPa to kPa, status bits to named flags."""

from __future__ import annotations

import math

import pytest

from firmware_interfaces import AxisStatus, AxisTelemetry, Telemetry
from hal import (
    AxisFault,
    FirmwareState,
    JointKind,
    PiezoConfig,
    PneumaticStepperConfig,
    TelemetrySample,
    joint_readings_from,
)
from tests.support.firmware import SimRig

PNEUMATIC_MM = PneumaticStepperConfig(name="x1", min_position=-25, max_position=25)
PIEZO_RAD = PiezoConfig(
    name="roll", kind=JointKind.ROTARY, min_position=-math.pi, max_position=math.pi, max_speed=1.0
)
AXES = (PNEUMATIC_MM, PIEZO_RAD)


def record(*, commanded_um=0, encoder_um=0, velocity_um_s=0, status=0, pressure_hpa=0):
    return AxisTelemetry(
        commanded_um=commanded_um,
        encoder_um=encoder_um,
        velocity_um_s=velocity_um_s,
        status=AxisStatus(status),
        supply_pressure_hpa=pressure_hpa,
        limit_switches=0,
    )


def sample(*axes, estop_input=False, state=FirmwareState.MOVING, received_at_s=12.5):
    telemetry = Telemetry(
        firmware_time_us=3_250_000,
        estop_input=estop_input,
        firmware_state=state,
        last_command_id=4711,
        axes=axes,
    )
    return TelemetrySample(received_at_s=received_at_s, telemetry=telemetry)


def healthy(*, pressure_hpa=6185):
    return sample(
        record(
            commanded_um=12_300,
            encoder_um=12_290,
            velocity_um_s=-2_000,
            status=AxisStatus.ENABLED | AxisStatus.HOMED | AxisStatus.MOVING,
            pressure_hpa=pressure_hpa,
        ),
        record(
            commanded_um=1_570_796,
            encoder_um=1_570_000,
            velocity_um_s=785_398,
            status=AxisStatus.ENABLED | AxisStatus.HOMED | AxisStatus.IN_POSITION,
        ),
    )


def test_a_pneumatic_linear_axis_reads_in_mm_mm_per_s_and_kpa():
    x1 = joint_readings_from(healthy(), AXES).axis("x1")
    assert x1.kind is JointKind.LINEAR
    assert x1.position == pytest.approx(12.29)
    assert x1.commanded == pytest.approx(12.3)
    assert x1.velocity == pytest.approx(-2.0)
    assert x1.supply_pressure_kpa == pytest.approx(618.5)


def test_a_rotary_axis_reads_in_rad_and_rad_per_s_and_has_no_supply_pressure():
    roll = joint_readings_from(healthy(), AXES).axis("roll")
    assert roll.kind is JointKind.ROTARY
    assert roll.position == pytest.approx(1.57)
    assert roll.commanded == pytest.approx(math.pi / 2, abs=1e-6)
    assert roll.velocity == pytest.approx(math.pi / 4, abs=1e-6)
    assert roll.supply_pressure_kpa is None  # a piezo axis reports 0 hPa: not a reading


def test_the_sample_carries_firmware_state_time_move_id_and_receipt_time():
    readings = joint_readings_from(healthy(), AXES)
    assert readings.firmware_state is FirmwareState.MOVING
    assert readings.firmware_time_s == pytest.approx(3.25)
    assert readings.last_move_id == 4711
    assert readings.received_at_s == 12.5
    assert readings.estop_input is False
    assert readings.positions == pytest.approx((12.29, 1.57))
    open_circuit = sample(*healthy().telemetry.axes, estop_input=True)
    assert joint_readings_from(open_circuit, AXES).estop_input is True


def test_status_bits_become_named_flags():
    readings = joint_readings_from(healthy(), AXES)
    x1, roll = readings.axes
    assert (x1.enabled, x1.homed, x1.moving, x1.in_position) == (True, True, True, False)
    assert (roll.enabled, roll.homed, roll.moving, roll.in_position) == (True, True, False, True)
    switches = (x1.lower_limit, x1.upper_limit, roll.lower_limit, roll.upper_limit)
    assert switches == (False, False, False, False)
    assert x1.faults == roll.faults == frozenset()
    assert readings.moving  # any axis
    assert readings.homed  # every axis


def test_limit_switches_and_faults_are_read_per_axis():
    readings = joint_readings_from(
        sample(
            record(status=AxisStatus.LIMIT_MIN | AxisStatus.PRESSURE_LOW | AxisStatus.FAULT),
            record(
                status=AxisStatus.LIMIT_MAX
                | AxisStatus.FOLLOWING_ERROR
                | AxisStatus.ENCODER_STUCK
                | AxisStatus.SOFT_LIMIT
                | AxisStatus.HOMED
            ),
        ),
        AXES,
    )
    x1, roll = readings.axes
    assert (x1.lower_limit, x1.upper_limit) == (True, False)
    assert (roll.lower_limit, roll.upper_limit) == (False, True)
    assert x1.faults == {AxisFault.FAULT, AxisFault.PRESSURE_LOW}
    assert roll.faults == {
        AxisFault.FOLLOWING_ERROR,
        AxisFault.ENCODER_STUCK,
        AxisFault.SOFT_LIMIT,
    }
    assert not readings.moving
    assert not readings.homed  # x1 is not


def test_another_number_of_axes_than_configured_is_refused():
    with pytest.raises(ValueError, match="1 axes, the configuration 2"):
        joint_readings_from(sample(record()), AXES)
    with pytest.raises(KeyError, match="no axis 'z'"):
        joint_readings_from(healthy(), AXES).axis("z")


def test_the_driver_gives_none_before_telemetry_and_the_latest_sample_after():
    rig = SimRig()
    try:
        assert rig.driver.joint_readings() is None
        rig.up()
        rig.run(0.02)
        readings = rig.driver.joint_readings()
        assert readings is not None
        assert tuple(a.name for a in readings.axes) == tuple(rig.driver.axes)
        for reading, axis in zip(readings.axes, rig.driver.axes.values(), strict=True):
            assert reading.position == axis.position()
            assert reading.commanded == axis.commanded()
        assert readings.homed
        assert not readings.moving
        assert readings.firmware_state is FirmwareState.ENABLED
        assert readings.firmware_time_s == pytest.approx(rig.firmware.time_s, abs=0.01)
    finally:
        rig.close()
