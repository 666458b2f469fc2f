"""Synchronised trapezoidal moves and the retract -> lateral -> insert plan."""

from __future__ import annotations

import numpy as np
import pytest

from kinematics import (
    CartesianRcmRobot,
    TwoPlaneGuide,
    default_rcm_config,
    default_two_plane_config,
    plan_needle_motion,
    synchronised_move,
)

LIMIT_SLACK = 1e-9  # relative float rounding allowed on a limit


def _limits(robot):
    return (
        np.array([j.max_velocity for j in robot.joints]),
        np.array([j.max_acceleration for j in robot.joints]),
    )


@pytest.fixture
def guide():
    return TwoPlaneGuide(default_two_plane_config())


def test_every_axis_of_a_move_arrives_at_the_same_instant():
    move = synchronised_move(
        "lateral",
        np.array([0.0, 0.0, 5.0]),
        np.array([30.0, -2.0, 5.0]),
        np.array([5.0, 5.0, 5.0]),
        np.array([20.0, 20.0, 20.0]),
    )
    # Axis 0 sets the time: 30 mm at 5 mm/s with 0.25 s ramps -> 6.25 s.
    assert move.duration_s == pytest.approx(6.25)
    t = np.linspace(0.0, move.duration_s, 2001)
    pos, vel, _ = move.sample(t)
    assert np.array_equal(pos[-1], [30.0, -2.0, 5.0])
    moving = [0, 1]
    assert np.all(np.abs(vel[1:-1, moving]) > 0.0)  # both still moving until the end
    assert np.all(pos[:-1, 0] < 30.0)
    assert np.all(pos[:-1, 1] > -2.0)
    assert np.all(vel[:, 2] == 0.0)


def test_a_short_move_uses_a_triangular_profile_within_limits():
    move = synchronised_move("x", np.zeros(1), np.array([0.5]), np.array([5.0]), np.array([20.0]))
    assert move.duration_s == pytest.approx(2.0 * np.sqrt(0.5 / 20.0))
    _, vel, acc = move.sample(np.linspace(0, move.duration_s, 501))
    assert np.abs(vel).max() <= 5.0
    assert np.abs(acc).max() <= 20.0


def test_move_rejects_bad_limits_and_shapes():
    with pytest.raises(ValueError, match="> 0"):
        synchronised_move("x", np.zeros(2), np.ones(2), np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="one size"):
        synchronised_move("x", np.zeros(2), np.ones(3), np.ones(2), np.ones(2))


def test_needle_plan_retracts_moves_laterally_then_inserts(guide):
    start = np.array([0.0, 0.0, 0.0, 0.0, 60.0])
    goal = np.array([20.0, -10.0, 15.0, -5.0, 90.0])
    traj = plan_needle_motion(guide, start, goal, rate_hz=50.0)
    assert [m.name for m in traj.moves] == ["retract", "lateral", "insert"]
    ends = np.cumsum([m.duration_s for m in traj.moves])
    assert traj.times_s[-1] == pytest.approx(ends[-1])
    assert np.array_equal(traj.positions[0], start)
    assert np.array_equal(traj.positions[-1], goal)
    # At the end of the retract move the needle is out; at the end of lateral the stages are set.
    at_retract_end = np.searchsorted(traj.times_s, ends[0])
    assert traj.positions[at_retract_end, 4] == pytest.approx(0.0)
    at_lateral_end = np.searchsorted(traj.times_s, ends[1])
    assert np.allclose(traj.positions[at_lateral_end, :4], goal[:4])


def test_samples_are_uniform_at_the_rate_plus_each_move_end(guide):
    traj = plan_needle_motion(
        guide, np.zeros(5), np.array([3.0, 0.0, 0.0, 0.0, 10.0]), rate_hz=100.0
    )
    steps = np.diff(traj.times_s)
    assert steps.max() <= 0.01 + 1e-12
    ends = np.cumsum([m.duration_s for m in traj.moves])
    assert np.all(np.isin(np.round(ends, 12), np.round(traj.times_s, 12)))


@pytest.mark.parametrize(
    "make",
    [
        lambda: TwoPlaneGuide(default_two_plane_config()),
        lambda: CartesianRcmRobot(default_rcm_config()),
    ],
)
@pytest.mark.hazard("H-05")
def test_no_sample_exceeds_a_velocity_or_acceleration_limit(make):
    robot = make()
    rng = np.random.default_rng(1)
    lower = np.array([j.lower for j in robot.joints])
    upper = np.array([j.upper for j in robot.joints])
    vmax, amax = _limits(robot)
    for _ in range(20):
        start, goal = rng.uniform(lower, upper), rng.uniform(lower, upper)
        traj = plan_needle_motion(robot, start, goal, rate_hz=200.0)
        assert np.all(np.abs(traj.velocities) <= vmax * (1 + LIMIT_SLACK))
        assert np.all(np.abs(traj.accelerations) <= amax * (1 + LIMIT_SLACK))
        assert np.all(traj.positions >= lower - 1e-9)
        assert np.all(traj.positions <= upper + 1e-9)


@pytest.mark.hazard("H-04")
def test_lateral_axes_never_move_while_the_needle_is_inserted(guide):
    rng = np.random.default_rng(2)
    lower = np.array([j.lower for j in guide.joints])
    upper = np.array([j.upper for j in guide.joints])
    for _ in range(20):
        traj = plan_needle_motion(
            guide, rng.uniform(lower, upper), rng.uniform(lower, upper), rate_hz=100.0
        )
        inserted = traj.positions[:, 4] > guide.retracted_insertion_mm
        assert np.all(traj.velocities[inserted, :4] == 0.0)
        # And between consecutive inserted samples the lateral position did not change.
        both = inserted[1:] & inserted[:-1]
        assert np.all(np.diff(traj.positions[:, :4], axis=0)[both] == 0.0)


def test_a_pure_depth_change_does_not_retract_first(guide):
    start = np.array([5.0, 5.0, 5.0, 5.0, 40.0])
    step = np.array([0.0, 0.0, 0.0, 0.0, 20.0])
    deeper = plan_needle_motion(guide, start, start + step, rate_hz=10.0)
    assert [m.name for m in deeper.moves] == ["insert"]
    assert deeper.positions[:, 4].min() == 40.0
    shallower = plan_needle_motion(guide, start, start - step, rate_hz=10.0)
    assert [m.name for m in shallower.moves] == ["retract"]
    assert plan_needle_motion(guide, start, start, rate_hz=10.0).moves == ()


def test_a_move_without_insertion_change_has_no_insert_segment(guide):
    traj = plan_needle_motion(guide, np.zeros(5), np.array([5.0, 0, 0, 0, 0]), rate_hz=10.0)
    assert [m.name for m in traj.moves] == ["lateral"]


def test_plan_refuses_goals_outside_the_limits_and_bad_rates(guide):
    with pytest.raises(ValueError, match="goal joint front_x_mm"):
        plan_needle_motion(guide, np.zeros(5), np.array([70.0, 0, 0, 0, 0]), rate_hz=10.0)
    with pytest.raises(ValueError, match="rate_hz"):
        plan_needle_motion(guide, np.zeros(5), np.zeros(5), rate_hz=0.0)


def test_an_axis_with_a_tiny_travel_moves_smoothly_instead_of_jumping_at_the_end():
    # One long move sets the duration; the other axis travels 1e-12 of a unit. The cruise speed
    # of the short axis must not cancel to zero (it would then jump to its goal at the end).
    move = synchronised_move(
        "tiny",
        np.array([0.0, 0.5]),
        np.array([100.0, 0.5 + 1e-12]),
        max_velocity=np.array([10.0, 10.0]),
        max_acceleration=np.array([50.0, 50.0]),
    )
    assert move.cruise_velocity[1] > 0.0
    t = np.linspace(0.0, move.duration_s, 2001)
    pos, _, _ = move.sample(t)
    assert np.max(np.abs(np.diff(pos[:, 1]))) < 1e-14
