"""Emulated axis physics: step rate and hose length, missed steps, encoder, piezo loop, switches."""

from __future__ import annotations

import random

import pytest

from hal.emulator.physics import PiezoModel, PiezoModelConfig, PneumaticModel, PneumaticModelConfig


def pneumatic(**kwargs) -> PneumaticModel:
    config = PneumaticModelConfig(soft_min_um=-25_000, soft_max_um=25_000, **kwargs)
    axis = PneumaticModel(config, random.Random(1))
    axis.enabled = True
    return axis


def run(axis, seconds, dt_s=0.001, t0_s=0.0):
    t_s = t0_s
    while t_s < t0_s + seconds - 1e-12:
        t_s += dt_s
        axis.step(t_s, dt_s)
    return t_s


def test_longer_hoses_lower_the_step_rate():
    short = PneumaticModelConfig(soft_min_um=0, soft_max_um=1, hose_length_m=1.0)
    long = PneumaticModelConfig(soft_min_um=0, soft_max_um=1, hose_length_m=10.0)
    assert short.max_step_rate_hz > long.max_step_rate_hz
    assert long.max_step_rate_hz == pytest.approx(300.0 / 3.0)


def test_a_pneumatic_axis_moves_in_whole_steps_no_faster_than_its_step_rate():
    axis = pneumatic()
    axis.start(20_000.0, 0.0, 0.0)  # asks for an instant jump
    run(axis, 0.5)
    assert axis.true_um == pytest.approx(0.5 * axis.max_velocity_um_s, abs=100)
    assert axis.true_um % 100 == 0
    assert axis.encoder_um() == pytest.approx(axis.true_um, abs=10)


def test_steps_are_lost_below_the_minimum_pressure_and_the_encoder_shows_it():
    axis = pneumatic(miss_probability=0.5)
    axis.supply_pressure_hpa = 1000
    axis.start(5_000.0, 0.0, 0.1)
    run(axis, 0.5)
    assert axis.missed_steps > 0
    assert axis.commanded_um == pytest.approx(5_000, abs=50)
    assert axis.encoder_um() < 5_000 - 500
    assert axis.following_error_um() > axis.following_error_limit_um


def test_a_stuck_encoder_stops_reporting_motion():
    axis = pneumatic()
    axis.encoder_stuck_at_um = 0.0
    axis.start(2_000.0, 0.0, 0.1)
    run(axis, 0.2)
    assert axis.true_um == pytest.approx(2_000)
    assert axis.encoder_um() == 0


def test_a_disabled_axis_does_not_move_and_holds():
    axis = pneumatic()
    axis.enabled = False
    axis.start(2_000.0, 0.0, 0.1)
    run(axis, 0.2)
    assert axis.true_um == 0


def test_the_upper_limit_switch_blocks_further_travel():
    axis = pneumatic(switch_margin_um=500)
    axis.start(40_000.0, 0.0, 0.0)
    run(axis, 2.0)
    assert axis.upper_switch
    assert axis.true_um <= 25_000 + 500 + 100


def test_homing_finds_the_lower_switch_then_backs_off_to_the_soft_limit():
    axis = pneumatic()
    axis.start_homing(0.0, 10_000.0)
    t_s = run(axis, 3.0)
    assert axis.homed
    assert not axis.homing
    run(axis, 1.0, t0_s=t_s)
    assert axis.true_um == pytest.approx(-25_000, abs=100)
    assert not axis.lower_switch


def test_piezo_follows_its_path_at_a_limited_speed_with_encoder_noise():
    config = PiezoModelConfig(soft_min_um=0, soft_max_um=100_000, max_velocity_um_s=10_000)
    axis = PiezoModel(config, random.Random(3))
    axis.enabled = True
    axis.start(50_000.0, 0.0, 0.0)
    run(axis, 1.0)
    assert axis.true_um == pytest.approx(10_000, abs=20)
    run(axis, 5.0, t0_s=1.0)
    readings = {axis.encoder_um() for _ in range(20)}
    assert len(readings) > 1
    assert all(abs(r - 50_000) <= 10 for r in readings)


def test_a_longer_hose_than_calibrated_makes_the_emulated_axis_slower_than_configured():
    from hal.emulator import emulator_config_for
    from tests.support.hal_config import shipped_controller

    as_calibrated = emulator_config_for(shipped_controller()).axes[0]
    longer = emulator_config_for(shipped_controller(), hose_length_m=10.0).axes[0]
    assert as_calibrated.max_velocity_um_s == pytest.approx(10_000)  # 10 mm/s as configured
    assert longer.max_velocity_um_s == pytest.approx(10_000 * 2 / 3)
