"""The demo's localiser and confirmation images (robot.demo.imaging)."""

from __future__ import annotations

import numpy as np

from robot.demo.imaging import confirmation_scan, localiser_scan
from robot.demo.metrics import TipAccuracy
from robot.demo.scenario import make_scenario
from robot.twin import TISSUE_SIGNAL, EmulatedScanner, Tissue, ras_to_ijk


def test_the_localiser_is_pixel_for_pixel_what_the_emulated_scanner_sends():
    scenario = make_scenario(4, np.eye(4))
    ours = localiser_scan(
        scenario.T_scanner_from_zframe_true, scenario.zframe_scan, seed=4, snr=20.0
    )
    message = EmulatedScanner("127.0.0.1", 1).zframe_image(  # builds the IMAGE, opens nothing
        scenario.T_scanner_from_zframe_true, scenario.zframe_scan, seed=4, snr=20.0
    )
    np.testing.assert_array_equal(message.body.voxels, ours.image.image)  # type: ignore[union-attr]
    np.testing.assert_allclose(message.body.ijk_to_ras, ours.image.ijk_to_ras)  # type: ignore[union-attr]
    assert len(ours.points_ras_mm) % 7 == 0
    assert len(ours.points_ras_mm) >= 21  # at least three slices show all seven rods


def _needle_through_the_nidus(scenario) -> TipAccuracy:
    return TipAccuracy(
        tip_ras_mm=scenario.target_ras_mm,
        direction_ras=(0.0, 0.0, 1.0),  # the nominal insertion axis, +S
        error_mm=0.0,
        lateral_mm=0.0,
        depth_mm=0.0,
    )


def test_the_confirmation_slice_shows_the_needle_as_a_void_above_the_tip_only():
    scenario = make_scenario(4, np.eye(4))
    needle = _needle_through_the_nidus(scenario)

    def scan(inserted: TipAccuracy | None):
        return confirmation_scan(
            scenario.phantom,
            plane_tip_ras_mm=needle.tip_ras_mm,
            plane_direction_ras=needle.direction_ras,
            needle=inserted,
            inserted_mm=40.0,
            diameter_mm=2.1,
            seed=0,
        )

    with_needle, without = scan(needle), scan(None)
    d = np.asarray(needle.direction_ras)
    shaft = np.asarray(needle.tip_ras_mm) - 8.0 * d  # in soft tissue, on the shaft
    beyond = np.asarray(needle.tip_ras_mm) + 2.0 * d  # past the tip, inside the nidus
    (i_s, j_s, _), (i_b, j_b, _) = ras_to_ijk(with_needle.image.ijk_to_ras, [shaft, beyond])
    tissue = TISSUE_SIGNAL[Tissue.SOFT_TISSUE]
    assert with_needle.image.image[0, round(j_s), round(i_s)] < 0.5 * tissue
    assert without.image.image[0, round(j_s), round(i_s)] > 0.7 * tissue
    past_tip_with = float(with_needle.image.image[0, round(j_b), round(i_b)])
    past_tip_without = float(without.image.image[0, round(j_b), round(i_b)])
    assert abs(past_tip_with - past_tip_without) < 0.25 * tissue
