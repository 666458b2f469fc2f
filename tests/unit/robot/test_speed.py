"""Time-scaled emulation: what ``--speed F`` changes and what it leaves alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from robot.config import load_config
from robot.runtime.speed import check_speed_factor, speed_overrides


def test_speeds_scale_by_the_factor_accelerations_by_its_square_homing_timeout_by_its_inverse():
    base = load_config(environ={})
    scaled = load_config(overrides=speed_overrides(base.values, 10.0), environ={})
    joints = [k.split(".")[1] for k in base.values if k.endswith(".max_step_rate_hz")]
    assert joints  # every configured joint
    for name in joints:
        rate, accel = f"joints.{name}.max_step_rate_hz", f"joints.{name}.max_accel_mm_s2"
        assert scaled.values[rate] == pytest.approx(10.0 * float(str(base.values[rate])))
        assert scaled.values[accel] == pytest.approx(100.0 * float(str(base.values[accel])))
    for axis_base, axis in zip(base.controller.axes, scaled.controller.axes, strict=True):
        assert axis.max_speed == pytest.approx(10.0 * axis_base.max_speed)
    homing = "emulator.homing_speed_mm_s"
    assert scaled.values[homing] == pytest.approx(10.0 * float(str(base.values[homing])))
    timeout = "safety.homing_timeout_s"
    assert scaled.values[timeout] == pytest.approx(float(str(base.values[timeout])) / 10.0)
    # bounds on the host and the link do not scale: faster axes only stop sooner
    for key in ("safety.stop_timeout_s", "serial.link_timeout_floor_s", "safety.lease_s"):
        assert scaled.values[key] == base.values[key]


@pytest.mark.parametrize("factor", [0.5, 0.0, 51.0, float("nan"), float("inf")])
def test_a_factor_outside_1_to_50_is_refused(factor):
    with pytest.raises(ValueError, match=r"speed factor must be in \[1, 50\]"):
        check_speed_factor(factor)


def test_the_rcm_robot_scales_its_rotary_joints_in_their_own_unit():
    path = Path(__file__).resolve().parents[3] / "robot" / "data" / "cartesian_rcm.toml"
    base = load_config(path, environ={})
    scaled = load_config(path, overrides=speed_overrides(base.values, 4.0), environ={})
    accel = "joints.tilt_a_rad.max_accel_rad_s2"
    assert scaled.values[accel] == pytest.approx(16.0 * float(str(base.values[accel])))
    for axis_base, axis in zip(base.controller.axes, scaled.controller.axes, strict=True):
        assert axis.max_speed == pytest.approx(4.0 * axis_base.max_speed)
