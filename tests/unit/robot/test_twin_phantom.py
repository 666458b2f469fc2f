"""The bone phantom and safe entry planning (robot.twin.phantom)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot.twin import BonePhantom, EntryPlan, NoSafeEntry, Tissue, make_bone_phantom, plan_entry

APPROACH = (0.0, 0.0, -1.0)  # needle travels inferior; the bone runs left-right
BONE_AXIS = (1.0, 0.0, 0.0)
CONE_RAD = math.radians(20.0)


def _phantom(seed: int) -> BonePhantom:
    return make_bone_phantom(
        seed=seed, centre_ras_mm=(5.0, -3.0, 2.0), bone_axis_ras=BONE_AXIS, approach_ras=APPROACH
    )


def _manual(**changes: object) -> BonePhantom:
    values: dict[str, object] = {
        "bone_axis_point_ras_mm": (0.0, 0.0, 0.0),
        "bone_axis_ras": BONE_AXIS,
        "skin_radius_mm": 45.0,
        "cortex_radius_mm": 13.0,
        "marrow_radius_mm": 8.0,
        "nidus_centre_ras_mm": (0.0, 0.0, 10.5),
        "nidus_diameter_mm": 8.0,
        "bundle_point_ras_mm": (0.0, 30.0, 0.0),
        "bundle_radius_mm": 3.0,
    }
    values.update(changes)
    return BonePhantom(**values)  # type: ignore[arg-type]


def _segment_distance_to_bundle(phantom: BonePhantom, start, end) -> float:
    """Independent check: densely sample the segment and measure to the bundle axis."""
    s = np.linspace(0.0, 1.0, 20001)[:, None]
    points = np.asarray(start) + s * (np.asarray(end) - np.asarray(start))
    return float(phantom.bundle_distance_mm(points).min() - phantom.bundle_radius_mm)


def test_the_same_seed_builds_the_same_phantom_and_another_seed_a_different_one():
    assert _phantom(3) == _phantom(3)
    assert _phantom(3).nidus_centre_ras_mm != _phantom(4).nidus_centre_ras_mm


@pytest.mark.parametrize("seed", range(20))
def test_the_nidus_is_5_to_10_mm_inside_the_cortex_on_the_side_facing_the_needle(seed):
    phantom = _phantom(seed)
    assert 5.0 <= phantom.nidus_diameter_mm <= 10.0
    r = phantom.radial_distance_mm(phantom.nidus_centre_ras_mm)[0]
    assert phantom.marrow_radius_mm < r < phantom.cortex_radius_mm
    assert phantom.tissue_at(phantom.nidus_centre_ras_mm)[0] == Tissue.NIDUS
    outward = np.asarray(phantom.nidus_centre_ras_mm) - np.asarray(phantom.bone_axis_point_ras_mm)
    outward -= (outward @ np.asarray(BONE_AXIS)) * np.asarray(BONE_AXIS)
    assert outward @ -np.asarray(APPROACH) > 0.95 * np.linalg.norm(outward)  # within ~18 deg


def test_tissue_labels_follow_the_coaxial_cylinders_and_the_bundle():
    phantom = _manual()
    points = [
        (0.0, 0.0, 0.0),  # bone axis
        (0.0, -10.5, 0.0),  # cortex, away from the nidus
        (0.0, 0.0, -30.0),  # soft tissue
        (0.0, 0.0, -50.0),  # outside the skin
        (0.0, 30.0, 0.0),  # bundle axis
        (0.0, 0.0, 10.5),  # nidus centre
    ]
    assert phantom.tissue_at(points).tolist() == [
        Tissue.MARROW,
        Tissue.CORTEX,
        Tissue.SOFT_TISSUE,
        Tissue.AIR,
        Tissue.BUNDLE,
        Tissue.NIDUS,
    ]
    assert phantom.signal_at(points)[1] < phantom.signal_at(points)[0]  # cortex dark, marrow bright


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"marrow_radius_mm": 14.0}, "marrow < cortex < skin"),
        ({"nidus_diameter_mm": 12.0}, "nidus_diameter_mm"),
        ({"nidus_centre_ras_mm": (0.0, 0.0, 20.0)}, "outside the cortex"),
        ({"bundle_point_ras_mm": (0.0, 12.0, 0.0)}, "soft tissue"),
        ({"bone_axis_ras": (2.0, 0.0, 0.0)}, "unit vector"),
        ({"cortex_radius_mm": math.nan}, "cortex_radius_mm"),
    ],
)
def test_an_impossible_phantom_is_refused_with_the_offending_value(changes, message):
    with pytest.raises(ValueError, match=message):
        _manual(**changes)


def test_a_needle_direction_along_the_bone_is_refused_for_phantom_generation():
    with pytest.raises(ValueError, match="30 degrees"):
        make_bone_phantom(
            seed=0, centre_ras_mm=(0, 0, 0), bone_axis_ras=(1, 0, 0), approach_ras=(1, 0, 0.1)
        )


def test_with_the_bundle_far_away_the_path_is_radial_and_meets_the_cortex_perpendicularly():
    plan = plan_entry(_manual(), approach_ras=APPROACH, max_angle_rad=CONE_RAD)
    assert isinstance(plan, EntryPlan)
    assert plan.obliquity_rad < math.radians(0.5)
    np.testing.assert_allclose(plan.direction_ras, APPROACH, atol=1e-9)
    np.testing.assert_allclose(plan.skin_entry_ras_mm, (0.0, 0.0, 45.0), atol=1e-9)
    np.testing.assert_allclose(plan.cortex_entry_ras_mm, (0.0, 0.0, 13.0), atol=1e-9)
    assert plan.depth_from_skin_mm == pytest.approx(34.5)


def test_when_the_radial_path_passes_the_bundle_the_planner_tilts_away_by_the_margin():
    phantom = _manual(bundle_point_ras_mm=(0.0, 6.0, 24.0))  # near the radial path
    plan = plan_entry(phantom, approach_ras=APPROACH, max_angle_rad=CONE_RAD, margin_mm=5.0)
    assert isinstance(plan, EntryPlan)
    assert plan.perpendicular_clearance_mm < 5.0
    assert plan.clearance_mm >= 5.0
    assert plan.skin_entry_ras_mm[1] < -5.0  # entered on the side away from the bundle (+y)
    independent = _segment_distance_to_bundle(phantom, plan.skin_entry_ras_mm, plan.target_ras_mm)
    assert independent == pytest.approx(plan.clearance_mm, abs=1e-3)
    assert dict(plan.rejected)["bundle"] > 0


@pytest.mark.parametrize("seed", range(12))
def test_every_seeded_plan_is_safe_inside_the_cone_and_starts_on_the_skin(seed):
    phantom = _phantom(seed)
    plan = plan_entry(phantom, approach_ras=APPROACH, max_angle_rad=CONE_RAD, margin_mm=5.0)
    assert isinstance(plan, EntryPlan), plan
    independent = _segment_distance_to_bundle(phantom, plan.skin_entry_ras_mm, plan.target_ras_mm)
    assert independent >= 5.0 - 1e-3
    assert plan.obliquity_rad <= math.radians(30.0)
    assert plan.angle_from_approach_rad <= CONE_RAD + 1e-9
    skin_r, cortex_r = phantom.radial_distance_mm(
        [plan.skin_entry_ras_mm, plan.cortex_entry_ras_mm]
    )
    assert skin_r == pytest.approx(phantom.skin_radius_mm)
    assert cortex_r == pytest.approx(phantom.cortex_radius_mm)
    path = np.asarray(plan.target_ras_mm) - np.asarray(plan.skin_entry_ras_mm)
    np.testing.assert_allclose(path / np.linalg.norm(path), plan.direction_ras, atol=1e-9)


def test_an_impossible_margin_gives_no_safe_entry_naming_the_bundle_check():
    result = plan_entry(_manual(), approach_ras=APPROACH, max_angle_rad=CONE_RAD, margin_mm=40.0)
    assert isinstance(result, NoSafeEntry)
    assert dict(result.rejected)["bundle"] == result.candidates
    assert "margin 40.0 mm" in result.reason


def test_paths_the_robot_cannot_reach_are_rejected_and_counted():
    seen = []

    def nothing_reachable(entries, target):
        seen.append((entries.shape, target.shape))
        return np.zeros(len(entries), dtype=bool)

    result = plan_entry(
        _manual(), approach_ras=APPROACH, max_angle_rad=CONE_RAD, reachable=nothing_reachable
    )
    assert isinstance(result, NoSafeEntry)
    assert dict(result.rejected)["reach"] == result.candidates
    assert seen == [((result.candidates, 3), (3,))]


def test_a_reach_check_that_allows_only_tilted_paths_moves_the_choice():
    def only_tilted(entries, target):
        return np.abs(entries[:, 1] - target[1]) > 5.0

    plan = plan_entry(
        _manual(), approach_ras=APPROACH, max_angle_rad=CONE_RAD, reachable=only_tilted
    )
    assert isinstance(plan, EntryPlan)
    assert abs(plan.skin_entry_ras_mm[1]) > 5.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"approach_ras": (0.0, 0.0, 0.0), "max_angle_rad": CONE_RAD},
        {"approach_ras": APPROACH, "max_angle_rad": math.radians(95.0)},
        {"approach_ras": APPROACH, "max_angle_rad": CONE_RAD, "margin_mm": -1.0},
        {"approach_ras": APPROACH, "max_angle_rad": CONE_RAD, "step_rad": 0.0},
    ],
)
def test_bad_planning_arguments_are_refused(kwargs):
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        plan_entry(_manual(), **kwargs)
