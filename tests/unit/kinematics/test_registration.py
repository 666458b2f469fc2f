"""Paired-point registration, FRE, Fitzpatrick TRE, leave-one-out outliers."""

from __future__ import annotations

import numpy as np
import pytest

from kinematics import (
    RegistrationError,
    expected_fre_mm,
    find_outliers,
    leave_one_out_residuals_mm,
    predicted_tre_mm,
    register_points,
    transform_from_rotvec,
    transform_points,
)

FIDUCIALS = np.array(
    [[-30, -30, 0], [-30, 30, 10], [30, 30, -10], [30, -30, 5], [0, 0, 30], [10, -20, -25]],
    dtype=float,
)


def test_exact_points_give_the_transform_and_zero_fre():
    tf = transform_from_rotvec([0.4, -1.0, 0.2], [10.0, -5.0, 120.0])
    result = register_points(FIDUCIALS, transform_points(tf, FIDUCIALS))
    assert np.allclose(result.T_fixed_from_moving, tf, atol=1e-12)
    assert result.fre_mm < 1e-12


def test_planar_points_do_not_produce_a_reflection():
    planar = FIDUCIALS.copy()
    planar[:, 2] = 0.0
    tf = transform_from_rotvec([np.pi * 0.9, 0.0, 0.0], [0, 0, 0])
    noisy = transform_points(tf, planar) + np.random.default_rng(0).normal(0, 0.5, planar.shape)
    rot = register_points(planar, noisy).T_fixed_from_moving[:3, :3]
    assert np.linalg.det(rot) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("moving", "fixed", "words"),
    [
        (FIDUCIALS[:2], FIDUCIALS[:2], "at least 3"),
        (FIDUCIALS, FIDUCIALS[:5], "differ in number"),
        (
            [[0, 0, 0], [1, 1, 1], [2, 2, 2], [3, 3, 3]],
            [[0, 0, 0], [1, 1, 1], [2, 2, 2], [3, 3, 3]],
            "collinear",
        ),
    ],
)
def test_degenerate_point_sets_are_refused(moving, fixed, words):
    with pytest.raises(RegistrationError, match=words):
        register_points(moving, fixed)


def test_fre_and_tre_predictions_agree_with_a_monte_carlo_run():
    rng = np.random.default_rng(5)
    fle = 0.5  # RMS 3-D localisation error
    target = np.array([[0.0, 0.0, 150.0]])
    fre, tre = [], []
    for _ in range(3000):
        noisy = FIDUCIALS + rng.normal(0, fle / np.sqrt(3), FIDUCIALS.shape)
        fit = register_points(FIDUCIALS, noisy)
        fre.append(fit.fre_mm**2)
        tre.append(np.sum((transform_points(fit.T_fixed_from_moving, target) - target) ** 2))
    assert np.sqrt(np.mean(fre)) == pytest.approx(expected_fre_mm(len(FIDUCIALS), fle), rel=0.05)
    assert np.sqrt(np.mean(tre)) == pytest.approx(
        predicted_tre_mm(FIDUCIALS, target, fle)[0], rel=0.1
    )


def test_tre_grows_with_distance_from_the_fiducials():
    near, far = predicted_tre_mm(FIDUCIALS, [[0, 0, 0], [0, 0, 200]], 0.3)
    assert near == pytest.approx(0.3 / np.sqrt(len(FIDUCIALS)) * 1.0, rel=0.2)
    assert far > 3 * near


def test_one_bad_fiducial_is_found_by_leave_one_out():
    rng = np.random.default_rng(9)
    tf = transform_from_rotvec([0.1, 0.2, 0.3], [1, 2, 3])
    fixed = transform_points(tf, FIDUCIALS) + rng.normal(0, 0.2 / np.sqrt(3), FIDUCIALS.shape)
    fixed[2] += [2.5, 0.0, 0.0]
    report = find_outliers(FIDUCIALS, fixed, fle_mm=0.2)
    assert report.outliers.tolist() == [2]
    assert report.loo_residuals_mm[2] > report.factor * report.expected_mm[2]


def test_good_fiducials_produce_no_outlier():
    rng = np.random.default_rng(10)
    fixed = FIDUCIALS + rng.normal(0, 0.2 / np.sqrt(3), FIDUCIALS.shape)
    assert find_outliers(FIDUCIALS, fixed, fle_mm=0.2).outliers.size == 0
    assert leave_one_out_residuals_mm(FIDUCIALS, fixed).max() < 1.0


@pytest.mark.hazard("H-08")
def test_an_outlier_among_four_fiducials_that_cannot_be_isolated_raises():
    rng = np.random.default_rng(0)
    moving = np.array([[0, 0, 0], [60, 0, 0], [0, 60, 0], [0, 0, 60.0]])
    fixed = moving + rng.normal(0, 0.2, moving.shape)
    fixed[3] += [15.0, 0.0, 0.0]  # one fiducial mislocalised by 15 mm
    with pytest.raises(RegistrationError, match=r"outlier is evident among the 4 .* isolated"):
        find_outliers(moving, fixed, fle_mm=0.3)
    good = moving + rng.normal(0, 0.2 / np.sqrt(3), moving.shape)
    assert find_outliers(moving, good, fle_mm=0.3).outliers.size == 0


def test_two_bad_fiducials_among_five_raise_once_one_is_rejected():
    rng = np.random.default_rng(3)
    moving = FIDUCIALS[:5]
    fixed = moving + rng.normal(0, 0.2 / np.sqrt(3), moving.shape)
    fixed[1] += [0.0, 12.0, 0.0]
    fixed[4] += [9.0, 0.0, 0.0]
    with pytest.raises(RegistrationError, match=r"among the 4 remaining fiducials after rejecting"):
        find_outliers(moving, fixed, fle_mm=0.2)


def test_outlier_search_needs_four_points_and_a_positive_fle():
    with pytest.raises(RegistrationError, match="at least 4"):
        find_outliers(FIDUCIALS[:3], FIDUCIALS[:3], fle_mm=0.2)
    with pytest.raises(ValueError, match="> 0"):
        find_outliers(FIDUCIALS, FIDUCIALS, fle_mm=0.0)
