"""Properties of the analytic IK of both robot models, and of plan()'s unreachable reasons."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinematics import (
    CartesianRcmRobot,
    JointGoal,
    NeedleRobot,
    Target,
    TwoPlaneGuide,
    Unreachable,
    default_rcm_config,
    default_two_plane_config,
    plan,
    transform_from_rotvec,
)

ROBOTS: dict[str, NeedleRobot] = {
    "two_plane": TwoPlaneGuide(default_two_plane_config()),
    "rcm": CartesianRcmRobot(default_rcm_config()),
}

coord = st.floats(-150.0, 150.0, allow_nan=False)
points = st.tuples(coord, coord, coord)
tilt = st.floats(0.0, math.radians(45.0))
azimuth = st.floats(0.0, 2.0 * math.pi)
robot_names = st.sampled_from(sorted(ROBOTS))


def _direction(t, a):
    return np.array([math.sin(t) * math.cos(a), math.sin(t) * math.sin(a), math.cos(t)])


@given(robot_names, st.lists(st.tuples(points, tilt, azimuth), min_size=1, max_size=64))
def test_fk_of_ik_returns_every_reachable_target_within_1e_9_mm(name, rows):
    robot = ROBOTS[name]
    targets = np.array([r[0] for r in rows])
    directions = np.array([_direction(r[1], r[2]) for r in rows])
    batch = robot.inverse(targets, directions)
    ok = batch.reachable
    if ok.any():
        pose = robot.forward(batch.joints[ok])
        assert np.abs(pose.tip_robot_mm - targets[ok]).max() <= 1e-9
        assert np.abs(pose.direction_robot - directions[ok]).max() <= 1e-12


@pytest.mark.hazard("H-05")
@given(robot_names, st.lists(st.tuples(points, tilt, azimuth), min_size=1, max_size=64))
def test_ik_never_returns_a_solution_outside_the_joint_limits(name, rows):
    robot = ROBOTS[name]
    targets = np.array([r[0] for r in rows])
    directions = np.array([_direction(r[1], r[2]) for r in rows])
    batch = robot.inverse(targets, directions)
    lower = np.array([j.lower for j in robot.joints])
    upper = np.array([j.upper for j in robot.joints])
    solved = batch.joints[batch.reachable]
    assert np.all(solved >= lower)
    assert np.all(solved <= upper)
    assert np.all(np.isnan(batch.joints[~batch.reachable]))


# Both default robots along +z: lateral x, y in [-60, 60] mm, tip z in [-60, 90] mm.
_REACH = {0: (-60.0, 60.0), 1: (-60.0, 60.0), 2: (-60.0, 90.0)}
_JOINT_FOR_AXIS = {
    "two_plane": {0: "front_x_mm", 1: "front_y_mm", 2: "insertion_mm"},
    "rcm": {0: "pivot_x_mm", 1: "pivot_y_mm", 2: "insertion_mm"},
}


@pytest.mark.hazard("H-05")
@given(
    robot_names,
    st.tuples(st.floats(-50, 50), st.floats(-50, 50), st.floats(-50, 50)),
    st.sampled_from([0, 1, 2]),
    st.booleans(),
    st.floats(1e-3, 400.0),
    st.tuples(st.floats(-0.5, 0.5), st.floats(-0.5, 0.5), st.floats(-0.5, 0.5)),
)
def test_every_target_outside_the_workspace_is_unreachable_with_a_reason(
    name, inside, axis, above, beyond_mm, rotvec
):
    robot = ROBOTS[name]
    target_robot = np.array(inside)
    lo, hi = _REACH[axis]
    target_robot[axis] = hi + beyond_mm if above else lo - beyond_mm
    T_scanner_from_robot = transform_from_rotvec(rotvec, [10.0, -40.0, 100.0])
    target_ras = T_scanner_from_robot[:3, :3] @ target_robot + T_scanner_from_robot[:3, 3]
    direction_ras = T_scanner_from_robot[:3, :3] @ np.array([0.0, 0.0, 1.0])
    result = plan(
        robot, Target.from_arrays(target_ras, direction_ras=direction_ras), T_scanner_from_robot
    )
    assert isinstance(result, Unreachable)
    assert "outside the workspace" in result.reason
    violation = next(v for v in result.violations if v.joint == _JOINT_FOR_AXIS[name][axis])
    assert violation.limit_name == ("upper" if above else "lower")
    assert abs(violation.excess - beyond_mm) <= 1e-6 * max(1.0, beyond_mm)
    assert violation.describe() in result.reason


@given(robot_names, points, tilt, azimuth)
def test_plan_and_ik_agree_and_every_refusal_has_words_and_units(name, target, t, a):
    robot = ROBOTS[name]
    direction = _direction(t, a)
    batch = robot.inverse(np.array([target]), direction.reshape(1, 3))
    result = plan(robot, Target.from_arrays(target, direction_ras=direction), np.eye(4))
    if batch.reachable[0]:
        assert isinstance(result, JointGoal)
    else:
        assert isinstance(result, Unreachable)
        assert len(result.reason) > 20
        assert " mm" in result.reason or " deg" in result.reason or "away" in result.reason
