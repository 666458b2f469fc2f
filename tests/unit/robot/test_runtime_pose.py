"""Matrix checks of OPENIGTLINK.md 4.5 and needle poses."""

from __future__ import annotations

import numpy as np
import pytest

from kinematics import transform_from_rotvec
from robot.runtime.pose import (
    calibration_problem,
    nearest_rigid,
    pose_along,
    target_problem,
)


def test_identity_is_an_acceptable_calibration_and_target():
    assert calibration_problem(np.eye(4)) is None
    assert target_problem(np.eye(4)) is None


@pytest.mark.parametrize(
    ("matrix", "check"),
    [
        (np.vstack([np.ones((3, 4)), [0, 0, 0, 1]]), "orthonormal"),
        (np.diag([1.0, 1.0, -1.0, 1.0]), "determinant"),
        (np.diag([np.nan, 1.0, 1.0, 1.0]), "finite"),
    ],
)
def test_a_calibration_that_is_not_rigid_names_the_failed_check(matrix, check):
    problem = calibration_problem(matrix)
    assert problem is not None
    assert problem.check == check


def test_a_calibration_more_than_a_metre_away_is_refused():
    far = np.eye(4)
    far[:3, 3] = (800.0, 800.0, 0.0)
    problem = calibration_problem(far)
    assert problem is not None
    assert problem.check == "translation"
    assert "1131.4 mm" in problem.message


def test_a_float32_rounded_rotation_passes_and_is_made_exactly_rigid():
    rounded = transform_from_rotvec([0.1, -0.2, 0.3], [1.0, 2.0, 3.0]).astype(np.float32)
    m = rounded.astype(np.float64)
    assert calibration_problem(m) is None
    rigid = nearest_rigid(m)
    assert np.allclose(rigid[:3, :3].T @ rigid[:3, :3], np.eye(3), atol=1e-12)
    assert np.allclose(rigid[:3, 3], m[:3, 3])


def test_a_needle_pose_has_its_z_column_along_the_needle_and_keeps_the_reference_roll():
    reference = transform_from_rotvec([0.0, 0.0, 0.5], [0.0, 0.0, 0.0])
    direction = np.array([0.1, 0.0, 1.0])
    pose = pose_along([1.0, 2.0, 3.0], direction, reference)
    assert np.allclose(pose[:3, 2], direction / np.linalg.norm(direction))
    assert np.allclose(pose[:3, :3].T @ pose[:3, :3], np.eye(3))
    assert np.linalg.det(pose[:3, :3]) == pytest.approx(1.0)
    assert np.allclose(pose[:3, 3], [1.0, 2.0, 3.0])
    straight = pose_along([0.0, 0.0, 0.0], [0.0, 0.0, 1.0], reference)
    assert np.allclose(straight[:3, :3], reference[:3, :3])
    plain = pose_along([0.0, 0.0, 0.0], [0.0, 0.0, 1.0])
    assert np.allclose(plain[:3, :3], np.eye(3))
