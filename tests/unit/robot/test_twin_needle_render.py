"""Confirmation slices with the needle as a signal void (robot.twin.needle_render)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot.twin import (
    TISSUE_SIGNAL,
    BonePhantom,
    NeedleSegment,
    Tissue,
    needle_fraction,
    needle_slice,
    ras_to_ijk,
    render_confirmation,
)

DOWN = (0.0, 0.0, -1.0)


def _phantom() -> BonePhantom:
    return BonePhantom(
        bone_axis_point_ras_mm=(0.0, 0.0, 0.0),
        bone_axis_ras=(1.0, 0.0, 0.0),
        skin_radius_mm=45.0,
        cortex_radius_mm=13.0,
        marrow_radius_mm=8.0,
        nidus_centre_ras_mm=(0.0, 0.0, 10.5),
        nidus_diameter_mm=8.0,
        bundle_point_ras_mm=(0.0, 30.0, 0.0),
        bundle_radius_mm=3.0,
    )


def _needle(diameter_mm: float = 2.1) -> NeedleSegment:
    return NeedleSegment(
        tip_ras_mm=(0.0, 0.0, 10.5),
        direction_ras=DOWN,
        shaft_length_mm=60.0,
        diameter_mm=diameter_mm,
    )


def test_points_inside_the_shaft_are_needle_and_points_beyond_the_tip_or_radius_are_not():
    points = [
        (0.0, 0.0, 20.0),  # on the shaft, 9.5 mm behind the tip
        (0.0, 1.0, 20.0),  # inside the 1.05 mm radius
        (0.0, 1.1, 20.0),  # just outside it
        (0.0, 0.0, 10.0),  # 0.5 mm beyond the tip
        (0.0, 0.0, 71.0),  # behind the drawn shaft
    ]
    assert needle_fraction(_needle(), points).tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]


def test_the_needle_slice_contains_the_needle_axis_with_columns_along_the_needle():
    geometry = needle_slice((0.0, 0.0, 10.5), DOWN, in_plane_ras=(0.0, 1.0, 0.0), pixel_mm=0.5)
    axis_points = [(0.0, 0.0, 10.5 + s) for s in (0.0, 10.0, 30.0)]
    ijk = ras_to_ijk(geometry.ijk_to_ras(), axis_points)
    np.testing.assert_allclose(ijk[:, 2], 0.0, atol=1e-9)  # in the slice
    np.testing.assert_allclose(ijk[:, 0], ijk[0, 0], atol=1e-9)  # one column
    np.testing.assert_allclose(np.diff(ijk[:, 1]), [-20.0, -40.0], atol=1e-9)  # 0.5 mm pixels
    np.testing.assert_allclose(geometry.normal_ras, (-1.0, 0.0, 0.0), atol=1e-12)


def test_ras_to_ijk_inverts_the_slice_matrix():
    geometry = needle_slice((3.0, -2.0, 7.0), (0.0, 0.6, -0.8), in_plane_ras=(1.0, 0.0, 0.0))
    ijk = np.array([[0.0, 0.0, 0.0], [12.5, 80.0, 0.0], [159.0, 3.0, 0.0]])
    ras = (np.column_stack([ijk, np.ones(3)]) @ geometry.ijk_to_ras().T)[:, :3]
    np.testing.assert_allclose(ras_to_ijk(geometry.ijk_to_ras(), ras), ijk, atol=1e-9)


def test_the_void_across_the_needle_has_the_area_of_its_cross_section_over_the_slab():
    """Partial volume: the signal missing across the shaft integrates to pi r^2 / thickness."""
    diameter = 2.1
    geometry = needle_slice(
        (0.0, 0.0, 10.5),
        DOWN,
        in_plane_ras=(0.0, 1.0, 0.0),
        centre_ras_mm=(0.0, 0.0, 30.0),
        pixel_mm=0.5,
        matrix=(40, 16),
        thickness_mm=3.0,
    )
    image = render_confirmation(
        _phantom(), _needle(diameter), geometry, snr=None, seed=0, subsamples=8, slab_samples=24
    )
    tissue = TISSUE_SIGNAL[Tissue.SOFT_TISSUE]
    deficit_mm = ((tissue - image.image[0].astype(float)) / tissue).sum(axis=1) * 0.5
    expected = math.pi * (diameter / 2.0) ** 2 / 3.0
    np.testing.assert_allclose(deficit_mm, expected, rtol=0.03)
    # The centre pixel is darker than tissue but not black: partial volume, not a drawn line.
    centre = image.image[0, 8, 19:21].astype(float)
    assert np.all(centre < 0.6 * tissue)
    assert np.all(centre > 0.0)


def test_without_a_needle_the_same_slice_shows_only_tissue():
    geometry = needle_slice(
        (0.0, 0.0, 10.5), DOWN, in_plane_ras=(0.0, 1.0, 0.0), centre_ras_mm=(0.0, 0.0, 30.0)
    )
    image = render_confirmation(_phantom(), None, geometry, snr=None, seed=0)
    column = ras_to_ijk(geometry.ijk_to_ras(), [(0.0, 0.0, 30.0)])[0]
    i, j = round(column[0]), round(column[1])
    assert image.image[0, j, i] == TISSUE_SIGNAL[Tissue.SOFT_TISSUE]


def test_the_nidus_cortex_and_marrow_appear_where_the_phantom_puts_them():
    geometry = needle_slice(
        (0.0, 0.0, 0.0), DOWN, in_plane_ras=(0.0, 1.0, 0.0), pixel_mm=1.0, matrix=(64, 64)
    )
    image = render_confirmation(_phantom(), None, geometry, snr=None, seed=0)
    ijk = ras_to_ijk(geometry.ijk_to_ras(), [(0.0, 0.0, 0.0), (0.0, -11.0, 0.0), (0.0, 0.0, 10.5)])
    values = [int(image.image[0, round(j), round(i)]) for i, j, _ in ijk]
    assert values == [
        TISSUE_SIGNAL[Tissue.MARROW],
        TISSUE_SIGNAL[Tissue.CORTEX],
        TISSUE_SIGNAL[Tissue.NIDUS],
    ]


def test_noise_is_deterministic_for_a_seed_and_differs_between_seeds():
    geometry = needle_slice((0.0, 0.0, 10.5), DOWN, in_plane_ras=(0.0, 1.0, 0.0), matrix=(32, 32))
    a = render_confirmation(_phantom(), _needle(), geometry, snr=20.0, seed=1, subsamples=2)
    b = render_confirmation(_phantom(), _needle(), geometry, snr=20.0, seed=1, subsamples=2)
    c = render_confirmation(_phantom(), _needle(), geometry, snr=20.0, seed=2, subsamples=2)
    assert a.image.dtype == np.uint16
    np.testing.assert_array_equal(a.image, b.image)
    assert not np.array_equal(a.image, c.image)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: _needle(diameter_mm=0.0), "diameter_mm"),
        (
            lambda: NeedleSegment(
                tip_ras_mm=(0, 0, 0), direction_ras=(0, 0, 2), shaft_length_mm=1, diameter_mm=1
            ),
            "unit vector",
        ),
        (lambda: needle_slice((0, 0, 0), DOWN, in_plane_ras=(0, 0, 5)), "parallel"),
        (lambda: needle_slice((0, 0, 0), (0, 0, 0), in_plane_ras=(0, 1, 0)), "zero vector"),
        (lambda: ras_to_ijk(np.zeros((4, 4)), [(0, 0, 0)]), "affine"),
    ],
)
def test_bad_needles_and_slices_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bad_render_settings_are_refused():
    geometry = needle_slice((0.0, 0.0, 10.5), DOWN, in_plane_ras=(0.0, 1.0, 0.0))
    with pytest.raises(ValueError, match="snr"):
        render_confirmation(_phantom(), None, geometry, snr=0.0, seed=0)
    with pytest.raises(ValueError, match="sample counts"):
        render_confirmation(_phantom(), None, geometry, snr=None, seed=0, subsamples=0)
