"""plan(): scanner RAS targets through a registration into joint goals or actionable reasons."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kinematics import (
    CartesianRcmRobot,
    JointGoal,
    NotRigidError,
    Target,
    ToolKind,
    ToolModel,
    TwoPlaneGuide,
    Unreachable,
    UnreachableCode,
    default_rcm_config,
    default_two_plane_config,
    plan,
    rotation_about_axis,
    transform_from_rotvec,
)


@pytest.fixture
def guide():
    return TwoPlaneGuide(default_two_plane_config())


@pytest.fixture
def T_scanner_from_robot():
    return transform_from_rotvec([0.0, 0.0, math.pi / 2], [100.0, -20.0, 5.0])


def test_a_reachable_target_gives_joints_and_the_tip_lands_on_it(guide, T_scanner_from_robot):
    target = Target(target_ras_mm=(110.0, -10.0, 15.0))
    goal = plan(guide, target, T_scanner_from_robot)
    assert isinstance(goal, JointGoal)
    assert np.allclose(goal.tip_ras_mm, target.target_ras_mm, atol=1e-9)
    assert goal.joint_names[-1] == "insertion_mm"
    assert goal.insertion_depth_mm == pytest.approx(70.0)
    assert goal.target_distance_from_robot_origin_mm == pytest.approx(math.sqrt(300.0))
    assert "insertion_mm = 70.000" in goal.describe()


def test_a_direction_given_in_scanner_ras_is_rotated_into_the_robot_frame(T_scanner_from_robot):
    robot = CartesianRcmRobot(default_rcm_config())
    direction_robot = np.array([0.2, 0.0, 1.0])
    direction_ras = rotation_about_axis([0, 0, 1], math.pi / 2) @ direction_robot
    goal = plan(
        robot,
        Target.from_arrays([100.0, -20.0, 5.0], direction_ras=direction_ras),
        T_scanner_from_robot,
    )
    assert isinstance(goal, JointGoal)
    assert np.allclose(goal.direction_ras, direction_ras / np.linalg.norm(direction_ras))
    assert goal.joint_values[4] == pytest.approx(math.asin(0.2 / math.sqrt(1.04)))
    assert "deg)" in goal.describe()


def test_outside_the_workspace_names_the_joint_the_limit_and_the_excess(guide):
    result = plan(guide, Target(target_ras_mm=(90.0, 0.0, 0.0)), np.eye(4))
    assert isinstance(result, Unreachable)
    assert result.code is UnreachableCode.JOINT_LIMIT
    assert "outside the workspace" in result.reason
    assert "front_x_mm would be 90.0 mm, 30.0 mm beyond its upper limit of 60.0 mm" in result.reason
    assert {v.joint for v in result.violations} == {"front_x_mm", "back_x_mm"}
    assert all(
        v.limit_name == "upper" and v.excess == pytest.approx(30.0) for v in result.violations
    )


def test_a_target_behind_the_guide_reports_the_insertion_lower_limit(guide):
    result = plan(guide, Target(target_ras_mm=(0.0, 0.0, -80.0)), np.eye(4))
    assert isinstance(result, Unreachable)
    assert (
        "insertion_mm would be -20.0 mm, 20.0 mm beyond its lower limit of 0.0 mm" in result.reason
    )


def test_a_revolute_limit_is_reported_in_degrees():
    robot = CartesianRcmRobot(default_rcm_config())
    tilt = math.radians(40.0)
    result = plan(
        robot,
        Target(target_ras_mm=(0.0, 0.0, 0.0), direction_ras=(math.sin(tilt), 0.0, math.cos(tilt))),
        np.eye(4),
    )
    assert isinstance(result, Unreachable)
    assert (
        "tilt_b_rad would be 40.0 deg, 10.0 deg beyond its upper limit of 30.0 deg" in result.reason
    )


def test_excess_angulation_says_by_how_many_degrees(guide):
    result = plan(
        guide, Target(target_ras_mm=(0.0, 0.0, 0.0), entry_ras_mm=(-40.0, 0.0, -40.0)), np.eye(4)
    )
    assert isinstance(result, Unreachable)
    assert result.code is UnreachableCode.ANGULATION
    assert "angulation 45.0 deg from the insertion axis" in result.reason
    assert "the guide's 25.0 deg by 20.0 deg" in result.reason


def test_an_entry_behind_the_guide_says_by_how_many_mm(guide):
    result = plan(
        guide, Target(target_ras_mm=(0.0, 0.0, 0.0), entry_ras_mm=(0.0, 0.0, -75.0)), np.eye(4)
    )
    assert isinstance(result, Unreachable)
    assert result.code is UnreachableCode.ENTRY_BEHIND_GUIDE
    assert "15.0 mm on the robot side" in result.reason


def test_insertion_deeper_than_the_needle_says_by_how_much():
    short = ToolModel(kind=ToolKind.NEEDLE, length_mm=150.0)
    result = plan(
        TwoPlaneGuide(default_two_plane_config(short)), Target(target_ras_mm=(0, 0, 40)), np.eye(4)
    )
    assert isinstance(result, Unreachable)
    assert result.code is UnreachableCode.TOOL_TOO_SHORT
    assert "insertion 100.0 mm is deeper than the 150 mm needle" in result.reason
    assert "(90.0 mm) by 10.0 mm" in result.reason


def test_a_needle_pointing_away_from_the_patient_is_refused_in_words():
    robot = CartesianRcmRobot(default_rcm_config())
    result = plan(robot, Target(target_ras_mm=(0, 0, 0), direction_ras=(0, 0, -1)), np.eye(4))
    assert isinstance(result, Unreachable)
    assert "points away from the patient" in result.reason


def test_a_non_rigid_registration_is_rejected(guide):
    with pytest.raises(NotRigidError, match="T_scanner_from_robot"):
        plan(guide, Target(target_ras_mm=(0, 0, 0)), np.diag([1.0, 1.0, 1.1, 1.0]))


def test_target_validation_rejects_bad_inputs():
    with pytest.raises(ValueError, match="not both"):
        Target(target_ras_mm=(0, 0, 0), entry_ras_mm=(0, 0, -10), direction_ras=(0, 0, 1))
    with pytest.raises(ValueError, match="from the target"):
        Target(target_ras_mm=(0, 0, 0), entry_ras_mm=(0, 0, 0.5))
    with pytest.raises(ValueError, match="zero vector"):
        Target(target_ras_mm=(0, 0, 0), direction_ras=(0, 0, 0))
    with pytest.raises(ValueError, match="finite"):
        Target(target_ras_mm=(0, math.nan, 0))
