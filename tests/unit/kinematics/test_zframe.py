"""Z-frame geometry, renderer and detector, including every case the detector must refuse."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from kinematics import (
    DetectorSettings,
    Rod,
    ZFrameDetectionError,
    ZFrameGeometry,
    default_zframe_geometry,
    detect_zframe,
    rotation_angle_rad,
    transform_from_rotvec,
)
from robot.twin import SliceGeometry, axial_slices, render_zframe
from robot.twin.zframe_render import SIGNAL_COUNTS


def _ras_to_ij(ijk_to_ras, points):
    inv = np.linalg.inv(ijk_to_ras)
    h = np.column_stack([points, np.ones(len(points))])
    return (h @ inv.T)[:, :2]


def _pose_error(truth, found):
    err = np.linalg.inv(truth) @ found
    return float(np.linalg.norm(err[:3, 3])), math.degrees(rotation_angle_rad(err[:3, :3]))


# ---------------------------------------------------------------- geometry


def test_default_geometry_matches_the_domain_table():
    frame = default_zframe_geometry()
    assert frame.rod_radius_mm == 2.0
    assert frame.rods[1] == Rod(start_mm=(-30.0, -30.0, -30.0), end_mm=(-30.0, 30.0, 30.0))
    assert frame.rods[5] == Rod(start_mm=(30.0, 30.0, -30.0), end_mm=(30.0, -30.0, 30.0))
    assert np.allclose(frame.lengths_mm()[1::2], 60.0 * math.sqrt(2.0))


def test_geometry_refuses_a_diagonal_that_does_not_end_on_its_parallel_rods():
    frame = default_zframe_geometry()
    rods = list(frame.rods)
    rods[1] = Rod(start_mm=(-30.0, -25.0, -30.0), end_mm=(-30.0, 30.0, 30.0))
    with pytest.raises(ValueError, match="must end on the line of rod 1"):
        dataclasses.replace(frame, rods=tuple(rods))
    with pytest.raises(ValueError, match="7 rods"):
        dataclasses.replace(frame, rods=frame.rods[:6])


# ---------------------------------------------------------------- renderer


def test_ijk_to_ras_maps_the_central_voxel_to_the_slice_centre():
    g = axial_slices(centre_ras_mm=(5.0, -7.0, 12.0), pixel_mm=0.5, matrix=64, n_slices=3)
    affine = g.ijk_to_ras()
    assert np.allclose(affine @ [31.5, 31.5, 1.0, 1.0], [5.0, -7.0, 12.0, 1.0])
    assert np.allclose(affine[:3, 0], [-0.5, 0.0, 0.0])  # rows run towards patient left
    assert np.allclose(affine[:3, 1], [0.0, -0.5, 0.0])  # columns run posterior
    assert np.allclose(affine[:3, 2], [0.0, 0.0, 3.0])


def test_an_axial_slice_shows_the_seven_blobs_where_domain_md_says():
    z0 = 10.0
    g = axial_slices(centre_ras_mm=(0.0, 0.0, z0), thickness_mm=1.0, matrix=128)
    image = render_zframe(np.eye(4), g, snr=None, seed=0)
    expected = np.array(
        [[-30, -30], [-30, z0], [-30, 30], [z0, 30], [30, 30], [30, -z0], [30, -30]], dtype=float
    )
    ij = np.rint(_ras_to_ij(image.ijk_to_ras, np.column_stack([expected, np.full(7, z0)])))
    values = image.image[0][ij[:, 1].astype(int), ij[:, 0].astype(int)]
    assert np.all(values > 0.8 * SIGNAL_COUNTS)
    assert image.image[0][64, 64] == 0


def test_partial_volume_conserves_the_rod_cross_section():
    g = axial_slices(thickness_mm=3.0, matrix=128)
    image = render_zframe(np.eye(4), g, snr=None, seed=0).image[0].astype(float) / SIGNAL_COUNTS
    # Rod 1 at (-30, -30) RAS: pixel (i, j) = (93.5, 93.5); area pi r^2 = 12.57 mm^2.
    patch = image[88:100, 88:100]
    assert patch.sum() == pytest.approx(math.pi * 4.0, rel=0.02)


def test_a_thin_slice_through_a_rod_end_is_dimmer_than_through_its_middle():
    middle = render_zframe(np.eye(4), axial_slices(matrix=128), snr=None, seed=0).image[0]
    end = render_zframe(
        np.eye(4), axial_slices(centre_ras_mm=(0, 0, 30.0), matrix=128), snr=None, seed=0
    ).image[0]
    assert end[94, 94] < 0.6 * middle[94, 94]


def test_noise_is_deterministic_for_a_seed():
    g = axial_slices(matrix=64)
    a = render_zframe(np.eye(4), g, snr=20.0, seed=3).image
    b = render_zframe(np.eye(4), g, snr=20.0, seed=3).image
    c = render_zframe(np.eye(4), g, snr=20.0, seed=4).image
    assert a.dtype == np.uint16
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_slice_geometry_refuses_non_orthogonal_directions():
    with pytest.raises(ValueError, match="orthogonal"):
        SliceGeometry(
            centre_ras_mm=(0, 0, 0),
            row_direction_ras=(1, 0, 0),
            column_direction_ras=(math.sqrt(0.5), math.sqrt(0.5), 0),
            pixel_mm=1,
            thickness_mm=3,
            matrix=(64, 64),
        )


# ---------------------------------------------------------------- detector: good images


def test_noiseless_identity_pose_is_found_to_a_few_hundredths_of_a_mm():
    image = render_zframe(np.eye(4), axial_slices(matrix=160), snr=None, seed=0)
    found = detect_zframe(image.image, image.ijk_to_ras)
    t_err, r_err = _pose_error(np.eye(4), found.T_scanner_from_zframe)
    assert t_err < 0.05
    assert r_err < 0.05
    assert found.rms_residual_mm < 0.05
    assert sorted(found.rod_index.tolist()) == list(range(7))


def test_a_tilted_frame_in_an_oblique_noisy_slice_is_found():
    truth = transform_from_rotvec([0.1, -0.08, 0.5], [8.0, -12.0, 4.0])
    tilt = transform_from_rotvec([0.0, 0.12, 0.0], [0, 0, 0])
    g = axial_slices(matrix=192, T_scanner_from_tilt=tilt)
    image = render_zframe(truth, g, snr=20.0, seed=1)
    found = detect_zframe(image.image[0], image.ijk_to_ras)  # a 2-D slice works too
    t_err, r_err = _pose_error(truth, found.T_scanner_from_zframe)
    assert t_err < 0.3
    assert r_err < 0.3
    assert found.tilt_rad > 0.05
    near = found.predicted_tre_mm(found.T_scanner_from_zframe[:3, 3])
    far = found.predicted_tre_mm((found.T_scanner_from_zframe @ [0.0, 0.0, 150.0, 1.0])[:3])
    assert 0.0 < near < far < 1.0
    assert found.fle_estimate_mm == pytest.approx(found.rms_residual_mm * math.sqrt(1.5))
    residual = found.points_zframe_mm - (
        (found.points_ras_mm - found.T_scanner_from_zframe[:3, 3])
        @ found.T_scanner_from_zframe[:3, :3]
    )
    assert np.allclose(np.linalg.norm(residual, axis=1), found.residuals_mm)


def test_the_orientation_hint_picks_the_mirror_symmetric_twin():
    image = render_zframe(np.eye(4), axial_slices(matrix=160), snr=None, seed=0)
    flipped = DetectorSettings(z_axis_hint_ras=(0.0, 0.0, -1.0))
    found = detect_zframe(image.image, image.ijk_to_ras, flipped)
    turned = transform_from_rotvec([0.0, math.pi, 0.0], [0, 0, 0])
    t_err, r_err = _pose_error(turned, found.T_scanner_from_zframe)
    assert t_err < 0.05
    assert r_err < 0.05


def test_a_stack_skips_and_reports_slices_that_miss_the_frame():
    g = axial_slices(matrix=160, n_slices=3, centre_ras_mm=(0, 0, 30.0))
    g = dataclasses.replace(g, spacing_mm=30.0)  # slices at S = 0, 30 (rod ends), 60
    image = render_zframe(np.eye(4), g, snr=20.0, seed=2)
    found = detect_zframe(image.image, image.ijk_to_ras)
    assert found.slices_used == (0,)
    assert [k for k, _ in found.slices_skipped] == [1, 2]
    assert _pose_error(np.eye(4), found.T_scanner_from_zframe)[0] < 0.3


# ---------------------------------------------------------------- detector: refusals


def _good(matrix=160, snr=20.0):
    return render_zframe(np.eye(4), axial_slices(matrix=matrix), snr=snr, seed=5)


def _refused(image, ijk_to_ras, reason, settings=None):
    with pytest.raises(ZFrameDetectionError) as info:
        detect_zframe(image, ijk_to_ras, settings)
    assert info.value.reason == reason, info.value.detail
    assert info.value.detail
    return info.value


def test_fewer_than_seven_blobs_is_refused():
    good = _good()
    image = good.image.copy()
    ij = _ras_to_ij(good.ijk_to_ras, np.array([[30.0, 30.0, 0.0]]))[0].astype(int)
    image[0, ij[1] - 5 : ij[1] + 6, ij[0] - 5 : ij[0] + 6] = int(np.median(image))
    err = _refused(image, good.ijk_to_ras, "blob_count")
    assert "found 6" in err.detail


def test_an_extra_bright_blob_is_refused():
    good = _good()
    image = good.image.copy()
    image[0, 78:82, 78:82] = 1000  # a bright structure in the middle of the frame
    err = _refused(image, good.ijk_to_ras, "blob_count")
    assert "found 8" in err.detail


def test_a_partly_hidden_blob_is_refused_before_it_biases_the_pose():
    good = _good()
    image = good.image.copy()
    ij = _ras_to_ij(good.ijk_to_ras, np.array([[30.0, 30.0, 0.0]]))[0]
    i0, j0 = int(np.floor(ij[0])), int(np.floor(ij[1]))
    image[0, j0 - 4 : j0 + 5, i0 + 1 : i0 + 5] = int(np.median(image))  # hide half the blob
    err = _refused(image, good.ijk_to_ras, "blob_signal")
    assert "rod 5" in err.detail


def test_a_frame_partly_out_of_the_field_of_view_is_refused():
    truth = transform_from_rotvec([0, 0, 0], [0.0, 50.0, 0.0])  # rods at A = 80 on a 160 mm FOV
    image = render_zframe(truth, axial_slices(matrix=160), snr=20.0, seed=0)
    _refused(image.image, image.ijk_to_ras, "field_of_view")


def test_a_slice_parallel_to_the_rods_is_refused():
    sagittal = SliceGeometry(
        centre_ras_mm=(-30.0, 0.0, 0.0),
        row_direction_ras=(0.0, 1.0, 0.0),
        column_direction_ras=(0.0, 0.0, -1.0),
        pixel_mm=1.0,
        thickness_mm=3.0,
        matrix=(128, 128),
    )
    image = render_zframe(np.eye(4), sagittal, snr=20.0, seed=0)
    _refused(image.image, image.ijk_to_ras, "slice_orientation")


def test_a_slice_tilted_beyond_the_limit_is_refused():
    tilt = transform_from_rotvec([0.0, math.radians(25.0), 0.0], [0, 0, 0])
    image = render_zframe(tilt, axial_slices(matrix=160), snr=None, seed=0)
    strict = DetectorSettings(max_tilt_rad=math.radians(15.0))
    err = _refused(image.image, image.ijk_to_ras, "slice_orientation", strict)
    assert "25.0 deg" in err.detail


def test_a_slice_near_the_end_of_the_frame_is_refused():
    image = render_zframe(
        np.eye(4), axial_slices(matrix=160, centre_ras_mm=(0, 0, 22.0)), snr=None, seed=0
    )
    _refused(image.image, image.ijk_to_ras, "frame_end")


def test_an_image_of_noise_only_is_refused():
    rng = np.random.default_rng(0)
    noise = np.hypot(rng.normal(0, 50, (160, 160)), rng.normal(0, 50, (160, 160)))
    _refused(noise.astype(np.uint16), _good().ijk_to_ras, "no_signal")


def test_a_constant_image_is_refused():
    _refused(np.full((160, 160), 7, dtype=np.int16), _good().ijk_to_ras, "constant_image")


@pytest.mark.parametrize("dtype", [np.complex64, np.bool_, object])
def test_an_image_of_the_wrong_dtype_is_refused(dtype):
    _refused(np.zeros((160, 160), dtype=dtype), _good().ijk_to_ras, "dtype")


def test_non_finite_pixels_are_refused():
    image = _good().image.astype(np.float32)
    image[0, 3, 3] = np.nan
    _refused(image, _good().ijk_to_ras, "non_finite")


def test_a_bad_ijk_to_ras_matrix_is_refused():
    good = _good()
    sheared = good.ijk_to_ras.copy()
    sheared[:3, 1] = sheared[:3, 0] + sheared[:3, 1]
    _refused(good.image, sheared, "ijk_to_ras")
    _refused(good.image, np.eye(3), "ijk_to_ras")


def test_a_wrong_shape_is_refused():
    _refused(np.zeros(100), np.eye(4), "shape")
    _refused(np.zeros((20, 160, 160)), np.eye(4), "shape")


def test_a_frame_model_that_does_not_match_the_image_is_refused():
    wide = ZFrameGeometry(
        name="wider",
        rods=tuple(
            Rod(
                start_mm=tuple(1.3 * np.array(r.start_mm) * [1, 1, 1]),
                end_mm=tuple(1.3 * np.array(r.end_mm) * [1, 1, 1]),
            )
            for r in default_zframe_geometry().rods
        ),
        rod_radius_mm=2.0,
    )
    truth = transform_from_rotvec([0.0, 0.0, 0.0], [0.0, 0.0, 6.0])
    image = render_zframe(truth, axial_slices(matrix=160), snr=None, seed=0)
    with pytest.raises(ZFrameDetectionError) as info:
        detect_zframe(image.image, image.ijk_to_ras, DetectorSettings(zframe=wide))
    assert info.value.reason in {"residual", "rod_extent", "geometry"}


def test_an_orientation_hint_perpendicular_to_the_rods_is_refused_as_ambiguous():
    image = _good(snr=None)
    _refused(
        image.image,
        image.ijk_to_ras,
        "orientation_hint",
        DetectorSettings(z_axis_hint_ras=(1.0, 0.0, 0.0)),
    )


def test_a_stack_with_no_usable_slice_lists_every_slice():
    g = axial_slices(matrix=128, n_slices=2, centre_ras_mm=(0, 0, 60))
    image = render_zframe(np.eye(4), g, snr=20.0, seed=0)
    err = _refused(image.image, image.ijk_to_ras, "no_usable_slice")
    assert "slice 0" in err.detail
    assert "slice 1" in err.detail
