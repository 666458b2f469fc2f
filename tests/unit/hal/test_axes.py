"""Axes in joint units over a fake motion port: speed limits, imaging, cross-checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import pytest

from firmware_interfaces import AxisStatus, AxisTelemetry, StopCategory
from hal import AxisFaultError, ImagingInterlockError, PiezoAxis, PneumaticStepperAxis
from hal.config import PiezoConfig, PneumaticStepperConfig

if TYPE_CHECKING:
    from safety.permits import MotionPermit


class FakePort:
    def __init__(self, record=None):
        self.record = record
        self.moves = []
        self.stops = []

    def move(self, targets, *, permit, duration_s=0.0, speeds=None, imaging=False):
        self.moves.append((dict(targets), permit, speeds))
        return len(self.moves)

    def stop(self, category=StopCategory.CAT1):
        self.stops.append(category)
        return True

    def axis_telemetry(self, name):
        return self.record


def record(commanded_um=0, encoder_um=0, status=None, pressure_hpa=6000):
    return AxisTelemetry(
        commanded_um=commanded_um,
        encoder_um=encoder_um,
        velocity_um_s=0,
        status=AxisStatus(0) if status is None else status,
        supply_pressure_hpa=pressure_hpa,
        limit_switches=0,
    )


# The fake port only records the permit it is given: any value stands for one.
PERMIT = cast("MotionPermit", "p")
PNEUMATIC = PneumaticStepperConfig(name="x1", min_position=-25, max_position=25)
PIEZO = PiezoConfig(name="insertion", min_position=0, max_position=100, max_speed=10)


def test_positions_come_from_the_encoder_in_millimetres():
    axis = PneumaticStepperAxis(PNEUMATIC, FakePort(record(commanded_um=12_300, encoder_um=12_290)))
    assert axis.position() == pytest.approx(12.29)
    assert axis.commanded() == pytest.approx(12.3)
    assert PneumaticStepperAxis(PNEUMATIC, FakePort()).position() is None


def test_move_to_goes_through_the_controller_with_the_permit_and_speed():
    port = FakePort()
    axis = PiezoAxis(PIEZO, port)
    assert axis.move_to(40.0, permit=PERMIT, speed=5.0) == 1
    assert port.moves == [({"insertion": 40.0}, "p", {"insertion": 5.0})]


def test_a_pneumatic_axis_refuses_speeds_above_its_step_rate():
    axis = PneumaticStepperAxis(PNEUMATIC, FakePort())
    assert axis.max_speed == pytest.approx(15.0)
    with pytest.raises(AxisFaultError, match="exceeds the axis limit"):
        axis.move_to(1.0, permit=PERMIT, speed=16.0)


def test_a_piezo_axis_is_not_imaging_safe_by_default_and_refuses_motion_while_imaging():
    port = FakePort()
    axis = PiezoAxis(PIEZO, port)
    assert not axis.imaging_safe
    with pytest.raises(ImagingInterlockError):
        axis.move_to(1.0, permit=PERMIT, imaging=True)
    assert port.moves == []
    safe = PiezoAxis(PiezoConfig(name="i", min_position=0, max_position=1, imaging_safe=True), port)
    safe.move_to(0.5, permit=PERMIT, imaging=True)


def test_cross_check_flags_following_error_low_pressure_and_limit_switches():
    axis = PneumaticStepperAxis(PNEUMATIC, FakePort())
    assert axis.check(record(commanded_um=1000, encoder_um=900)).ok
    assert axis.check(record(commanded_um=1000, encoder_um=300)).following_error
    assert axis.check(record(pressure_hpa=2000)).pressure_low
    assert axis.check(record(status=AxisStatus.LIMIT_MAX)).limit_hit


def test_piezo_in_position_uses_its_tolerance():
    port = FakePort(record(encoder_um=40_015))
    axis = PiezoAxis(PIEZO, port)
    assert axis.in_position(40.0)
    assert not axis.in_position(40.1)


def test_steps_to_counts_whole_steps_from_the_commanded_position():
    axis = PneumaticStepperAxis(PNEUMATIC, FakePort(record(commanded_um=1_000)))
    assert axis.steps_to(2.0) == 10
    with pytest.raises(AxisFaultError, match="unknown"):
        PneumaticStepperAxis(PNEUMATIC, FakePort()).steps_to(2.0)


def test_axis_stop_stops_the_whole_coordinated_motion_in_category_2():
    port = FakePort()
    assert PiezoAxis(PIEZO, port).stop()
    assert port.stops == [StopCategory.CAT2]
