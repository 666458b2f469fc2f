"""Needle motion plan properties: limits, synchronised arrival, no lateral motion inserted."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinematics import (
    CartesianRcmRobot,
    NeedleRobot,
    TwoPlaneGuide,
    default_rcm_config,
    default_two_plane_config,
    plan_needle_motion,
)

ROBOTS: dict[str, NeedleRobot] = {
    "two_plane": TwoPlaneGuide(default_two_plane_config()),
    "rcm": CartesianRcmRobot(default_rcm_config()),
}
fraction = st.floats(0.0, 1.0)


@st.composite
def motions(draw):
    name = draw(st.sampled_from(sorted(ROBOTS)))
    robot = ROBOTS[name]
    n = len(robot.joints)
    lower = np.array([j.lower for j in robot.joints])
    upper = np.array([j.upper for j in robot.joints])
    start = lower + np.array(draw(st.lists(fraction, min_size=n, max_size=n))) * (upper - lower)
    goal = lower + np.array(draw(st.lists(fraction, min_size=n, max_size=n))) * (upper - lower)
    rate = draw(st.sampled_from([10.0, 50.0, 250.0]))
    return robot, start, goal, rate


@pytest.mark.hazard("H-05")
@given(motions())
def test_limits_hold_at_every_sample(motion):
    robot, start, goal, rate = motion
    traj = plan_needle_motion(robot, start, goal, rate_hz=rate)
    vmax = np.array([j.max_velocity for j in robot.joints])
    amax = np.array([j.max_acceleration for j in robot.joints])
    assert np.all(np.abs(traj.velocities) <= vmax * (1.0 + 1e-9))
    assert np.all(np.abs(traj.accelerations) <= amax * (1.0 + 1e-9))
    assert np.array_equal(traj.positions[-1], goal)


@given(motions())
def test_axes_of_each_move_arrive_together(motion):
    robot, start, goal, rate = motion
    traj = plan_needle_motion(robot, start, goal, rate_hz=rate)
    for move in traj.moves:
        t = np.linspace(0.0, move.duration_s, 257)
        pos, vel, _ = move.sample(t)
        moving = move.goal != move.start
        assert np.array_equal(pos[-1], move.goal)
        # No moving axis is at rest before the end: each is still travelling at the last
        # interior instant.
        assert np.all(np.abs(vel[-2, moving]) > 0.0)


@pytest.mark.hazard("H-04")
@given(motions())
def test_lateral_axes_are_still_whenever_the_needle_is_in(motion):
    robot, start, goal, rate = motion
    traj = plan_needle_motion(robot, start, goal, rate_hz=rate)
    lateral = np.arange(len(robot.joints)) != robot.insertion_index
    inserted = traj.positions[:, robot.insertion_index] > robot.retracted_insertion_mm
    assert np.all(traj.velocities[np.ix_(inserted, lateral)] == 0.0)
    names = [m.name for m in traj.moves]
    assert names == sorted(names, key=["retract", "lateral", "insert"].index)
