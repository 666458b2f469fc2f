"""The emulator's faces in joint units: its configuration's homing speed and its true positions."""

from __future__ import annotations

import math

import pytest

from hal import ControllerConfig, JointKind, PiezoConfig, PneumaticStepperConfig
from hal.emulator import EmulatedFirmware, emulator_config_for

MIXED = ControllerConfig(
    axes=(
        PneumaticStepperConfig(name="x1", min_position=-25.0, max_position=25.0),
        PiezoConfig(
            name="roll",
            kind=JointKind.ROTARY,
            min_position=-math.pi,
            max_position=math.pi,
            max_speed=1.0,
        ),
    )
)


def test_a_homing_speed_in_mm_per_s_sets_the_wire_speed_in_um_per_s():
    assert emulator_config_for(MIXED, homing_speed=2.5).homing_velocity_um_s == 2_500
    assert emulator_config_for(MIXED, homing_speed=1e-6).homing_velocity_um_s == 1  # at least
    assert emulator_config_for(MIXED, homing_velocity_um_s=7_000).homing_velocity_um_s == 7_000


def test_the_true_positions_are_in_mm_and_rad_rounded_to_the_wire_unit():
    firmware = EmulatedFirmware(emulator_config_for(MIXED))
    firmware.axes[0].true_um = 12_345.4
    firmware.axes[1].true_um = 1_570_796.3
    x1, roll = firmware.true_positions()
    assert x1 == pytest.approx(12.345)
    assert roll == pytest.approx(1.570796)
