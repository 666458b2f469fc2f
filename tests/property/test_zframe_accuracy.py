"""Z-frame pose accuracy over 200 random poses (deterministic seeds).

Acquisition: 3 axial slices, 1 mm pixels, 3 mm thick, 8 mm apart, SNR 20, 192 x 192 matrix;
poses uniform within +-20 mm per axis and up to 10 degrees about a random axis from nominal.
Targets: median <= 0.3 mm and <= 0.3 deg, 95th percentile translation <= 0.6 mm.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from kinematics import detect_zframe
from robot.bench.kinematics import random_zframe_poses, zframe_error, zframe_stack_geometry
from robot.twin import render_zframe


@pytest.mark.hazard("H-08")
@pytest.mark.slow
def test_zframe_pose_error_over_200_random_poses_meets_the_targets():
    geometry = zframe_stack_geometry(matrix=192)
    translation, rotation = [], []
    for index, pose in enumerate(random_zframe_poses(200, seed=2024)):
        image = render_zframe(pose, geometry, snr=20.0, seed=index)
        found = detect_zframe(image.image, image.ijk_to_ras)  # every pose must be detected
        t_err, r_err = zframe_error(pose, found.T_scanner_from_zframe)
        translation.append(t_err)
        rotation.append(math.degrees(r_err))
    assert np.median(translation) <= 0.3
    assert np.median(rotation) <= 0.3
    assert np.percentile(translation, 95) <= 0.6


@pytest.mark.slow
def test_single_slices_through_the_frame_centre_meet_the_same_targets():
    geometry = zframe_stack_geometry(matrix=192)
    single = type(geometry)(
        centre_ras_mm=geometry.centre_ras_mm,
        row_direction_ras=geometry.row_direction_ras,
        column_direction_ras=geometry.column_direction_ras,
        pixel_mm=1.0,
        thickness_mm=3.0,
        matrix=(192, 192),
    )
    translation, rotation = [], []
    for index, pose in enumerate(random_zframe_poses(60, seed=7, translation_mm=10.0)):
        image = render_zframe(pose, single, snr=20.0, seed=index)
        found = detect_zframe(image.image, image.ijk_to_ras)
        t_err, r_err = zframe_error(pose, found.T_scanner_from_zframe)
        translation.append(t_err)
        rotation.append(math.degrees(r_err))
    assert np.median(translation) <= 0.3
    assert np.median(rotation) <= 0.3
    assert np.percentile(translation, 95) <= 0.6
