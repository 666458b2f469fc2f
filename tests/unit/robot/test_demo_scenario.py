"""The demo's hidden truth and anatomy, and the accuracy metrics (robot.demo)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kinematics import (
    Target,
    TwoPlaneGuide,
    default_two_plane_config,
    detect_zframe,
    invert,
    make_transform,
    plan,
    rotation_about_axis,
    rotation_angle_rad,
    transform_points,
)
from robot.demo.metrics import registration_accuracy, tip_accuracy
from robot.demo.scenario import (
    MAX_HIDDEN_ROTATION_DEG,
    MAX_HIDDEN_TRANSLATION_MM,
    make_scenario,
)
from robot.twin import EntryPlan, plan_entry, render_zframe


class _DefaultRobot:
    """The default robot's geometry, without the runtime configuration loader."""

    T_zframe_from_robot = np.eye(4)

    @staticmethod
    def robot() -> TwoPlaneGuide:
        return TwoPlaneGuide(default_two_plane_config())


@pytest.fixture(scope="module")
def config():
    return _DefaultRobot()


def test_the_same_seed_hides_the_same_mount_pose_and_another_seed_a_different_one(config):
    a, b, c = (make_scenario(s, config.T_zframe_from_robot) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.T_scanner_from_robot_true, b.T_scanner_from_robot_true)
    assert a.phantom == b.phantom
    assert not np.allclose(a.T_scanner_from_robot_true, c.T_scanner_from_robot_true)


@pytest.mark.parametrize("seed", range(10))
def test_the_hidden_pose_stays_inside_the_range_the_detector_is_specified_for(config, seed):
    s = make_scenario(seed, config.T_zframe_from_robot)
    offset = s.T_scanner_from_robot_true[:3, 3] - s.T_scanner_from_robot_nominal[:3, 3]
    assert np.all(np.abs(offset) <= MAX_HIDDEN_TRANSLATION_MM)
    relative = s.T_scanner_from_robot_nominal[:3, :3].T @ s.T_scanner_from_robot_true[:3, :3]
    angle_deg = math.degrees(rotation_angle_rad(relative))
    assert 0.0 < angle_deg <= MAX_HIDDEN_ROTATION_DEG + 1e-9
    assert angle_deg == pytest.approx(s.hidden_rotation_deg)
    assert s.hidden_translation_mm == pytest.approx(float(np.linalg.norm(offset)))


@pytest.mark.parametrize("seed", range(4))
def test_the_localiser_shows_the_frame_and_registers_it_within_half_a_millimetre(config, seed):
    s = make_scenario(seed, config.T_zframe_from_robot)
    image = render_zframe(s.T_scanner_from_zframe_true, s.zframe_scan, snr=20.0, seed=seed)
    found = detect_zframe(image.image, image.ijk_to_ras)
    registered = found.T_scanner_from_zframe @ config.T_zframe_from_robot
    accuracy = registration_accuracy(registered, s.T_scanner_from_robot_true, s.target_ras_mm)
    assert accuracy.at_target_mm < 0.5
    assert len(found.slices_used) >= 3  # a slice near a rod end may be skipped, never most


@pytest.mark.parametrize("seed", range(6))
def test_the_phantom_sits_in_the_robot_workspace_with_a_safe_reachable_path(config, seed):
    s = make_scenario(seed, config.T_zframe_from_robot)
    true = s.T_scanner_from_robot_true
    path = plan_entry(s.phantom, approach_ras=tuple(true[:3, 2]), max_angle_rad=math.radians(20.0))
    assert isinstance(path, EntryPlan), path
    goal = plan(
        config.robot(),
        Target.from_arrays(path.target_ras_mm, entry_ras_mm=path.skin_entry_ras_mm),
        true,
    )
    assert not hasattr(goal, "code"), goal
    # The skin stays clear of the Z-frame cube (+-30 mm about the robot origin, rods 2 mm).
    skin_robot = transform_points(invert(true), path.skin_entry_ras_mm)[0]
    assert skin_robot[2] > 32.0 - MAX_HIDDEN_TRANSLATION_MM


def test_an_exact_registration_has_no_error_and_a_shift_shows_everywhere(config):
    s = make_scenario(1, config.T_zframe_from_robot)
    true = s.T_scanner_from_robot_true
    exact = registration_accuracy(true, true, s.target_ras_mm)
    assert exact.at_target_mm == pytest.approx(0.0, abs=1e-9)
    assert exact.rotation_deg == pytest.approx(0.0, abs=1e-6)
    shifted = true.copy()
    shifted[:3, 3] += (0.3, -0.4, 0.0)
    accuracy = registration_accuracy(shifted, true, s.target_ras_mm)
    assert accuracy.at_target_mm == pytest.approx(0.5)
    assert accuracy.at_robot_origin_mm == pytest.approx(0.5)


def test_a_rotation_about_the_robot_origin_costs_its_chord_at_the_target():
    target = np.array([0.0, 0.0, 60.0])
    true = np.eye(4)
    angle = math.radians(0.5)
    registered = make_transform(rotation_about_axis((1.0, 0.0, 0.0), angle), (0.0, 0.0, 0.0))
    accuracy = registration_accuracy(registered, true, target)
    assert accuracy.at_target_mm == pytest.approx(60.0 * 2.0 * math.sin(angle / 2.0))
    assert accuracy.at_robot_origin_mm == pytest.approx(0.0, abs=1e-12)
    assert accuracy.rotation_deg == pytest.approx(0.5)


def test_the_tip_error_splits_into_across_and_along_the_needle(config):
    s = make_scenario(2, config.T_zframe_from_robot)
    robot = config.robot()
    true = s.T_scanner_from_robot_true
    goal = plan(robot, Target.from_arrays(s.target_ras_mm, direction_ras=true[:3, 2]), true)
    joints = np.array(goal.joint_values)  # type: ignore[union-attr]
    exact = tip_accuracy(robot, joints, true, s.target_ras_mm)
    assert exact.error_mm == pytest.approx(0.0, abs=1e-9)
    deeper = joints.copy()
    deeper[robot.insertion_index] += 0.6
    off = tip_accuracy(robot, deeper, true, s.target_ras_mm)
    assert off.error_mm == pytest.approx(0.6)
    assert off.depth_mm == pytest.approx(0.6)
    assert off.lateral_mm == pytest.approx(0.0, abs=1e-9)


def test_a_non_rigid_truth_is_refused():
    bad = np.eye(4)
    bad[0, 0] = 2.0
    with pytest.raises(ValueError, match="rigid"):
        registration_accuracy(np.eye(4), bad, (0.0, 0.0, 0.0))
