"""Both robot models: reach of the default configuration, FK/IK/Jacobian, configuration checks."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from kinematics import (
    CartesianRcmRobot,
    JointKind,
    JointSpec,
    ToolKind,
    ToolModel,
    TwoPlaneGuide,
    UnreachableCode,
    default_bone_drill,
    default_rcm_config,
    default_two_plane_config,
)

ROBOTS = {
    "two_plane": lambda: TwoPlaneGuide(default_two_plane_config()),
    "rcm": lambda: CartesianRcmRobot(default_rcm_config()),
}


@pytest.fixture(params=sorted(ROBOTS))
def robot(request):
    return ROBOTS[request.param]()


def _cube_grid(half_mm=50.0, n=5):
    axis = np.linspace(-half_mm, half_mm, n)
    return np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)


def test_default_robot_reaches_the_100_mm_cube_including_its_corners(robot):
    grid = _cube_grid()
    corners = np.array([[x, y, z] for x in (-50, 50) for y in (-50, 50) for z in (-50, 50)], float)
    targets = np.vstack([grid, corners])
    batch = robot.inverse(targets)
    assert batch.reachable.all(), targets[~batch.reachable]
    pose = robot.forward(batch.joints)
    assert np.abs(pose.tip_robot_mm - targets).max() < 1e-9
    assert np.allclose(pose.direction_robot, [0.0, 0.0, 1.0])


def test_joint_names_carry_units_and_the_insertion_joint_is_last(robot):
    for spec in robot.joints:
        assert spec.name.endswith("_" + spec.unit)
    assert robot.joints[robot.insertion_index].name == "insertion_mm"
    assert robot.insertion_index == len(robot.joints) - 1


def test_ik_of_tilted_directions_round_trips_through_fk(robot):
    rng = np.random.default_rng(3)
    targets = rng.uniform(-40, 40, (500, 3))
    directions = np.column_stack([rng.normal(0, 0.15, (500, 2)), np.ones(500)])
    batch = robot.inverse(targets, directions)
    ok = batch.reachable
    assert ok.mean() > 0.5
    pose = robot.forward(batch.joints[ok])
    assert np.abs(pose.tip_robot_mm - targets[ok]).max() < 1e-9
    unit = directions[ok] / np.linalg.norm(directions[ok], axis=1)[:, None]
    assert np.abs(pose.direction_robot - unit).max() < 1e-12
    assert np.all(np.isnan(batch.joints[~ok]))


def test_ik_with_entry_points_puts_the_needle_through_the_entry(robot):
    targets = np.array([[0.0, 0.0, 20.0], [10.0, -10.0, 0.0]])
    entries = np.array([[5.0, 5.0, -45.0], [0.0, 0.0, -50.0]])
    batch = robot.inverse(targets, entries_robot_mm=entries)
    assert batch.reachable.all()
    pose = robot.forward(batch.joints)
    for tip, u, entry in zip(pose.tip_robot_mm, pose.direction_robot, entries, strict=True):
        w = entry - tip
        assert np.linalg.norm(w - (w @ u) * u) < 1e-9  # entry lies on the needle line


def test_jacobian_matches_finite_differences(robot):
    rng = np.random.default_rng(4)
    batch = robot.inverse(
        rng.uniform(-30, 30, (5, 3)), np.column_stack([rng.normal(0, 0.1, (5, 2)), np.ones(5)])
    )
    q = batch.joints[batch.reachable]
    jac = robot.jacobian(q)
    eps = 1e-6
    n = q.shape[1]
    for k in range(n):
        step = np.zeros(n)
        step[k] = eps
        plus, minus = robot.forward(q + step), robot.forward(q - step)
        numeric = np.concatenate(
            [plus.tip_robot_mm - minus.tip_robot_mm, plus.direction_robot - minus.direction_robot],
            axis=1,
        ) / (2 * eps)
        assert np.abs(numeric - jac[:, :, k]).max() < 1e-6


def test_forward_rejects_wrong_shapes_and_nan(robot):
    with pytest.raises(ValueError, match="shape"):
        robot.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        robot.forward(np.full(len(robot.joints), np.nan))


def test_inverse_rejects_directions_and_entries_together(robot):
    with pytest.raises(ValueError, match="not both"):
        robot.inverse(np.zeros((1, 3)), np.ones((1, 3)), np.ones((1, 3)))


def test_inverse_rejects_an_entry_on_the_target(robot):
    with pytest.raises(ValueError, match="from its target"):
        robot.inverse(np.zeros((1, 3)), entries_robot_mm=np.zeros((1, 3)))


def test_two_plane_angulation_beyond_the_guide_is_reported_in_radians():
    guide = TwoPlaneGuide(default_two_plane_config())
    tilt = math.radians(40.0)
    batch = guide.inverse(np.zeros((1, 3)), np.array([[math.sin(tilt), 0.0, math.cos(tilt)]]))
    assert batch.code[0] == UnreachableCode.ANGULATION
    assert batch.excess[0] == pytest.approx(math.radians(15.0))


def test_two_plane_direction_parallel_to_the_stage_planes_is_unreachable_not_a_crash():
    guide = TwoPlaneGuide(default_two_plane_config())
    batch = guide.inverse(np.zeros((1, 3)), np.array([[1.0, 0.0, 0.0]]))
    assert batch.code[0] == UnreachableCode.ANGULATION
    assert np.isnan(batch.joints).all()


def test_two_plane_entry_behind_the_guide_exit_is_reported_in_mm():
    guide = TwoPlaneGuide(default_two_plane_config())
    batch = guide.inverse(np.zeros((1, 3)), entries_robot_mm=np.array([[0.0, 0.0, -70.0]]))
    assert batch.code[0] == UnreachableCode.ENTRY_BEHIND_GUIDE
    assert batch.excess[0] == pytest.approx(10.0)


def test_a_short_tool_cannot_reach_a_deep_target():
    short = ToolModel(kind=ToolKind.NEEDLE, length_mm=120.0)
    guide = TwoPlaneGuide(default_two_plane_config(short))
    batch = guide.inverse(np.array([[0.0, 0.0, 50.0]]))  # depth 110 mm, tool reaches 60 mm
    assert batch.code[0] == UnreachableCode.TOOL_TOO_SHORT
    assert batch.excess[0] == pytest.approx(50.0)


def test_tip_offset_of_a_drill_moves_the_physical_tip_past_the_target():
    guide = TwoPlaneGuide(default_two_plane_config(default_bone_drill()))
    batch = guide.inverse(np.array([[0.0, 0.0, 0.0]]))
    assert batch.joints[0, 4] == pytest.approx(60.0 + 1.5)
    assert np.allclose(guide.forward(batch.joints).tip_robot_mm, 0.0, atol=1e-12)


def test_rcm_pivot_sits_on_the_entry_point_and_stays_there_when_tilting():
    robot = CartesianRcmRobot(default_rcm_config())
    entry = np.array([[5.0, -5.0, -50.0]])
    batch = robot.inverse(np.array([[10.0, 0.0, 10.0]]), entries_robot_mm=entry)
    q = batch.joints[0].copy()
    assert np.allclose(q[:3], entry[0])
    q[3] += 0.1
    assert np.allclose(robot.forward(q).guide_exit_robot_mm, entry)


def test_rcm_tilt_beyond_its_joint_limit_is_a_joint_limit():
    robot = CartesianRcmRobot(default_rcm_config())
    tilt = math.radians(35.0)
    batch = robot.inverse(np.zeros((1, 3)), np.array([[math.sin(tilt), 0.0, math.cos(tilt)]]))
    assert batch.code[0] == UnreachableCode.JOINT_LIMIT
    assert batch.raw_joints[0, 4] == pytest.approx(tilt)


def test_configs_reject_inconsistent_values():
    config = default_two_plane_config()
    with pytest.raises(ValueError, match="below front_plane"):
        dataclasses.replace(config, back_plane_z_mm=0.0)
    with pytest.raises(ValueError, match="joints must be"):
        dataclasses.replace(config, joints=config.joints[:4])
    with pytest.raises(ValueError, match="max_angulation_rad"):
        dataclasses.replace(config, max_angulation_rad=2.0)
    rcm = default_rcm_config()
    with pytest.raises(ValueError, match="default_pivot_z_mm"):
        dataclasses.replace(rcm, default_pivot_z_mm=0.0)
    with pytest.raises(ValueError, match="must end with its unit"):
        JointSpec(
            name="x", kind=JointKind.PRISMATIC, lower=0, upper=1, max_velocity=1, max_acceleration=1
        )
    with pytest.raises(ValueError, match="below upper"):
        JointSpec(
            name="x_mm",
            kind=JointKind.PRISMATIC,
            lower=1,
            upper=1,
            max_velocity=1,
            max_acceleration=1,
        )
    with pytest.raises(ValueError, match="length_mm"):
        ToolModel(kind=ToolKind.NEEDLE, length_mm=-1.0)


@pytest.mark.parametrize(
    "robot", [TwoPlaneGuide(default_two_plane_config()), CartesianRcmRobot(default_rcm_config())]
)
def test_forward_rejects_a_joint_batch_of_the_wrong_shape_or_with_nan(robot):
    n = len(robot.joints)
    with pytest.raises(ValueError, match=rf"shape \(N, {n}\)"):
        robot.forward(np.zeros((2, n + 1)))
    bad = np.zeros(n)
    bad[0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        robot.forward(bad)
