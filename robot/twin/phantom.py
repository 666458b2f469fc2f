"""A bone phantom with an osteoid-osteoma nidus and a nerve bundle, and safe entry planning.

The phantom is a straight long-bone shaft in soft tissue, all in scanner RAS mm: coaxial
cylinders for the skin, the cortex (outer surface) and the marrow cavity, a spherical nidus of
5-10 mm in or under the cortex, and a forbidden cylinder (neurovascular bundle) parallel to the
bone. Cylinders are infinite along their axes (the phantom is longer than any field of view).

`plan_entry` chooses the needle path to the nidus centre: among directions within a cone around
the robot's insertion axis it keeps those whose path from the skin to the target stays clear of
the bundle by a margin, meets the cortex within a largest obliquity, and that the robot reaches;
of those it takes the one most perpendicular to the cortex (ties: most clearance).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import numpy as np

from kinematics.frames import as_points, as_vec3, rotation_about_axis

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import numpy.typing as npt

    from kinematics.types import BoolArray, FloatArray, IntArray, Points, Vec3

__all__ = [
    "TISSUE_SIGNAL",
    "BonePhantom",
    "EntryPlan",
    "NoSafeEntry",
    "Tissue",
    "make_bone_phantom",
    "plan_entry",
]

Triple = tuple[float, float, float]
_MIN_NIDUS_MM: Final = 5.0
_MAX_NIDUS_MM: Final = 10.0


class Tissue(enum.IntEnum):
    """Tissue label of a point; a higher value wins where regions overlap."""

    AIR = 0
    SOFT_TISSUE = 1
    MARROW = 2
    CORTEX = 3
    BUNDLE = 4
    NIDUS = 5


TISSUE_SIGNAL: Final[Mapping[Tissue, float]] = MappingProxyType(
    {
        Tissue.AIR: 0.0,
        Tissue.SOFT_TISSUE: 450.0,
        Tissue.MARROW: 850.0,
        Tissue.CORTEX: 60.0,
        Tissue.BUNDLE: 250.0,
        Tissue.NIDUS: 720.0,
    }
)
"""Magnitude signal per tissue (counts, 1000 = full), T1 after contrast: fat-rich marrow bright,
cortex dark, the enhancing nidus bright inside dark cortex."""


def _triple(v: Vec3) -> Triple:
    return (float(v[0]), float(v[1]), float(v[2]))


def _unit(value: Triple, name: str) -> Vec3:
    v = as_vec3(value, name=name)
    norm = float(np.linalg.norm(v))
    if abs(norm - 1.0) > 1e-6:  # noqa: PLR2004 - unit-vector tolerance
        raise ValueError(f"{name} must be a unit vector, got norm {norm:.6g}")
    return v


def _radial(points: Points, origin: Vec3, axis: Vec3) -> Points:
    """Component of ``points - origin`` perpendicular to ``axis`` (unit)."""
    rel = points - origin
    return np.asarray(rel - (rel @ axis)[:, None] * axis)


@dataclass(frozen=True, slots=True, kw_only=True)
class BonePhantom:
    """A long-bone shaft with a nidus and a forbidden bundle, scanner RAS mm.

    Attributes:
        bone_axis_point_ras_mm: a point on the bone's long axis.
        bone_axis_ras: unit direction of the long axis.
        skin_radius_mm: radius of the soft-tissue cylinder (the skin) around the bone axis.
        cortex_radius_mm: outer radius of the cortex.
        marrow_radius_mm: radius of the marrow cavity (inner cortex surface).
        nidus_centre_ras_mm: centre of the nidus, the needle target.
        nidus_diameter_mm: nidus diameter, 5-10 mm.
        bundle_point_ras_mm: a point on the axis of the forbidden neurovascular bundle.
        bundle_radius_mm: bundle radius; the bundle runs parallel to the bone.
    """

    bone_axis_point_ras_mm: Triple
    bone_axis_ras: Triple
    skin_radius_mm: float
    cortex_radius_mm: float
    marrow_radius_mm: float
    nidus_centre_ras_mm: Triple
    nidus_diameter_mm: float
    bundle_point_ras_mm: Triple
    bundle_radius_mm: float

    def __post_init__(self) -> None:
        as_vec3(self.bone_axis_point_ras_mm, name="bone_axis_point_ras_mm")
        _unit(self.bone_axis_ras, "bone_axis_ras")
        for name in ("skin_radius_mm", "cortex_radius_mm", "marrow_radius_mm", "bundle_radius_mm"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"{name} must be > 0 mm, got {value}")
        if not self.marrow_radius_mm < self.cortex_radius_mm < self.skin_radius_mm:
            raise ValueError(
                f"radii must satisfy marrow < cortex < skin, got {self.marrow_radius_mm}, "
                f"{self.cortex_radius_mm}, {self.skin_radius_mm} mm"
            )
        if not _MIN_NIDUS_MM <= self.nidus_diameter_mm <= _MAX_NIDUS_MM:
            raise ValueError(
                f"nidus_diameter_mm must be in [{_MIN_NIDUS_MM}, {_MAX_NIDUS_MM}] mm, "
                f"got {self.nidus_diameter_mm} mm"
            )
        nidus_r = self.radial_distance_mm(self.nidus_centre_ras_mm)[0]
        if nidus_r > self.cortex_radius_mm:
            raise ValueError(
                f"nidus centre is {nidus_r:.1f} mm from the bone axis, outside the cortex "
                f"({self.cortex_radius_mm} mm)"
            )
        bundle_r = self.radial_distance_mm(self.bundle_point_ras_mm)[0]
        if not self.cortex_radius_mm + self.bundle_radius_mm <= bundle_r <= self.skin_radius_mm:
            raise ValueError(
                f"bundle axis is {bundle_r:.1f} mm from the bone axis; it must lie in soft tissue "
                f"({self.cortex_radius_mm + self.bundle_radius_mm}-{self.skin_radius_mm} mm)"
            )

    @property
    def target_ras_mm(self) -> Vec3:
        """The needle target: the nidus centre."""
        return as_vec3(self.nidus_centre_ras_mm, name="nidus_centre_ras_mm")

    def radial_distance_mm(self, points_ras_mm: npt.ArrayLike) -> FloatArray:
        """Distance of N points from the bone axis (N,).

        Raises:
            ValueError: points are not (N, 3) or (3,) and finite.
        """
        return self._axis_distance_mm(points_ras_mm, self.bone_axis_point_ras_mm)

    def bundle_distance_mm(self, points_ras_mm: npt.ArrayLike) -> FloatArray:
        """Distance of N points from the bundle axis (N,); the bundle surface is at its radius.

        Raises:
            ValueError: points are not (N, 3) or (3,) and finite.
        """
        return self._axis_distance_mm(points_ras_mm, self.bundle_point_ras_mm)

    def _axis_distance_mm(
        self, points_ras_mm: npt.ArrayLike, axis_point_ras_mm: Triple
    ) -> FloatArray:
        """Distance of N points from the line through ``axis_point_ras_mm`` along the bone axis."""
        pts = as_points(points_ras_mm, name="points_ras_mm")
        radial = _radial(pts, np.array(axis_point_ras_mm), np.array(self.bone_axis_ras))
        return np.asarray(np.linalg.norm(radial, axis=1))

    def tissue_at(self, points_ras_mm: npt.ArrayLike) -> IntArray:
        """Label N points with their `Tissue` value (N,).

        Raises:
            ValueError: points are not (N, 3) or (3,) and finite.
        """
        pts = as_points(points_ras_mm, name="points_ras_mm")
        r = self.radial_distance_mm(pts)
        labels = np.full(len(pts), int(Tissue.AIR), dtype=np.int64)
        labels[r <= self.skin_radius_mm] = Tissue.SOFT_TISSUE
        labels[r <= self.cortex_radius_mm] = Tissue.CORTEX
        labels[r <= self.marrow_radius_mm] = Tissue.MARROW
        labels[self.bundle_distance_mm(pts) <= self.bundle_radius_mm] = Tissue.BUNDLE
        nidus = np.linalg.norm(pts - self.target_ras_mm, axis=1) <= self.nidus_diameter_mm / 2.0
        labels[nidus] = Tissue.NIDUS
        return labels

    def signal_at(self, points_ras_mm: npt.ArrayLike) -> FloatArray:
        """Magnitude signal (counts) of N points, from `TISSUE_SIGNAL` (N,).

        Raises:
            ValueError: points are not (N, 3) or (3,) and finite.
        """
        table = np.array([TISSUE_SIGNAL[t] for t in Tissue])
        return np.asarray(table[self.tissue_at(points_ras_mm)])


def make_bone_phantom(
    *,
    seed: int,
    centre_ras_mm: Triple,
    bone_axis_ras: Triple,
    approach_ras: Triple,
    cortex_radius_mm: float = 13.0,
    marrow_radius_mm: float = 8.0,
    skin_radius_mm: float = 45.0,
    bundle_radius_mm: float = 3.0,
) -> BonePhantom:
    """Build a phantom with the nidus and bundle at seeded places on the approach side.

    The nidus (5-10 mm) sits at the inner cortex, within 8 degrees around the bone axis of the
    side facing the needle and within 8 mm along the axis of ``centre_ras_mm``. The bundle runs
    6-10 mm outside the cortex, 12-20 degrees around the axis from the nidus, so the most
    perpendicular (radial) path usually passes too close and the planner must tilt away.

    Args:
        seed: seed of the placement (deterministic).
        centre_ras_mm: a point on the bone axis near which the lesion lies.
        bone_axis_ras: long-axis direction (normalised here).
        approach_ras: direction the needle travels into the patient; must not be parallel to the
            bone axis (normalised here).
        cortex_radius_mm: outer cortex radius.
        marrow_radius_mm: marrow cavity radius.
        skin_radius_mm: skin radius.
        bundle_radius_mm: bundle radius.

    Raises:
        ValueError: degenerate directions, or radii the phantom rejects.
    """
    axis = as_vec3(bone_axis_ras, name="bone_axis_ras")
    approach = as_vec3(approach_ras, name="approach_ras")
    if np.linalg.norm(axis) < 1e-9 or np.linalg.norm(approach) < 1e-9:  # noqa: PLR2004
        raise ValueError("bone_axis_ras and approach_ras must not be zero vectors")
    axis = axis / np.linalg.norm(axis)
    outward = -(approach - (approach @ axis) * axis)  # from the bone towards the needle side
    if np.linalg.norm(outward) < 0.5 * np.linalg.norm(approach):
        raise ValueError("approach_ras must be at least 30 degrees from the bone axis")
    outward /= np.linalg.norm(outward)
    centre = as_vec3(centre_ras_mm, name="centre_ras_mm")
    rng = np.random.default_rng(seed)
    diameter = float(rng.uniform(_MIN_NIDUS_MM + 1.0, _MAX_NIDUS_MM - 1.0))
    nidus_angle = float(rng.uniform(-math.radians(8.0), math.radians(8.0)))
    nidus_dir = rotation_about_axis(axis, nidus_angle) @ outward
    nidus_r = marrow_radius_mm + 0.5 * (cortex_radius_mm - marrow_radius_mm)
    nidus = centre + axis * float(rng.uniform(-8.0, 8.0)) + nidus_dir * nidus_r
    side = 1.0 if rng.random() < 0.5 else -1.0  # noqa: PLR2004 - fair coin
    bundle_angle = nidus_angle + side * float(rng.uniform(math.radians(12.0), math.radians(20.0)))
    bundle_dir = rotation_about_axis(axis, bundle_angle) @ outward
    bundle_r = cortex_radius_mm + bundle_radius_mm + float(rng.uniform(6.0, 10.0))
    return BonePhantom(
        bone_axis_point_ras_mm=_triple(centre),
        bone_axis_ras=_triple(axis),
        skin_radius_mm=skin_radius_mm,
        cortex_radius_mm=cortex_radius_mm,
        marrow_radius_mm=marrow_radius_mm,
        nidus_centre_ras_mm=_triple(nidus),
        nidus_diameter_mm=diameter,
        bundle_point_ras_mm=_triple(centre + bundle_dir * bundle_r),
        bundle_radius_mm=bundle_radius_mm,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryPlan:
    """A needle path from the skin to the nidus centre, scanner RAS mm.

    Attributes:
        target_ras_mm: the nidus centre.
        skin_entry_ras_mm: where the path crosses the skin.
        cortex_entry_ras_mm: where the path enters the cortex.
        direction_ras: unit direction from the skin towards the target.
        obliquity_rad: angle between the path and the cortex normal at the cortex entry.
        clearance_mm: closest approach of the skin-to-target segment to the bundle surface.
        depth_from_skin_mm: skin entry to target.
        angle_from_approach_rad: angle between the path and the robot's insertion axis.
        perpendicular_clearance_mm: bundle clearance of the most perpendicular path of all
            candidates, before the bundle was considered (how close the naive path comes).
        candidates: directions considered.
        rejected: how many candidates each check rejected (a candidate counts once, under the
            first failed check: ``bundle``, ``obliquity``, ``reach``).
    """

    target_ras_mm: Triple
    skin_entry_ras_mm: Triple
    cortex_entry_ras_mm: Triple
    direction_ras: Triple
    obliquity_rad: float
    clearance_mm: float
    depth_from_skin_mm: float
    angle_from_approach_rad: float
    perpendicular_clearance_mm: float
    candidates: int
    rejected: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class NoSafeEntry:
    """No candidate path passed every check; ``reason`` says which checks rejected how many."""

    reason: str
    candidates: int
    rejected: tuple[tuple[str, int], ...]


def _cone_directions(approach: Vec3, max_angle_rad: float, step_rad: float) -> Points:
    """Unit directions within ``max_angle_rad`` of ``approach``, polar rings ``step_rad`` apart."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(approach[0]) < 0.9 else np.array([0.0, 1.0, 0.0])  # noqa: PLR2004
    e1 = np.cross(approach, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(approach, e1)
    dirs = [approach]
    for polar in np.arange(step_rad, max_angle_rad + 1e-12, step_rad):
        n_az = max(6, math.ceil(2.0 * math.pi * math.sin(polar) / step_rad))
        az = np.arange(n_az) * (2.0 * math.pi / n_az)
        ring = math.cos(polar) * approach + math.sin(polar) * (
            np.cos(az)[:, None] * e1 + np.sin(az)[:, None] * e2
        )
        dirs.extend(ring)
    return np.asarray(np.vstack(dirs))


def _exit_distance(w: Points, v: Points, radius_mm: float) -> FloatArray:
    """Largest s >= 0 with |w - s v| = radius (w inside), per row; NaN where v is ~zero."""
    vv = np.einsum("ij,ij->i", v, v)
    wv = np.einsum("ij,ij->i", w, v)
    ww = np.einsum("ij,ij->i", w, w)
    disc = wv**2 - vv * (ww - radius_mm**2)
    ok = vv > 1e-12  # noqa: PLR2004 - direction along the bone axis never leaves the cylinder
    safe_vv = np.where(ok, vv, 1.0)
    return np.asarray(np.where(ok, (wv + np.sqrt(np.maximum(disc, 0.0))) / safe_vv, np.nan))


def plan_entry(
    phantom: BonePhantom,
    *,
    approach_ras: Triple,
    max_angle_rad: float,
    margin_mm: float = 5.0,
    max_obliquity_rad: float = math.radians(30.0),
    step_rad: float = math.radians(1.0),
    reachable: Callable[[Points, Vec3], BoolArray] | None = None,
) -> EntryPlan | NoSafeEntry:
    """Choose the most perpendicular safe path to the nidus centre (see the module docstring).

    Args:
        phantom: the anatomy.
        approach_ras: the robot's insertion axis in RAS (from the guide into the patient).
        max_angle_rad: largest angle of a path from ``approach_ras``.
        margin_mm: smallest accepted distance of the path from the bundle surface.
        max_obliquity_rad: largest accepted angle of the path from the cortex normal.
        step_rad: angular spacing of the candidate directions.
        reachable: optional check of (N, 3) skin entries and the target against the robot
            (True = reachable), e.g. inverse kinematics through the registration.

    Raises:
        ValueError: a degenerate approach, or angles or margins out of range.
    """
    approach = as_vec3(approach_ras, name="approach_ras")
    if float(np.linalg.norm(approach)) < 1e-9:  # noqa: PLR2004 - zero vector
        raise ValueError("approach_ras must not be the zero vector")
    approach = approach / np.linalg.norm(approach)
    if not 0.0 <= max_angle_rad < math.pi / 2:
        raise ValueError(f"max_angle_rad must be in [0, pi/2) rad, got {max_angle_rad}")
    if not (0.0 < step_rad <= math.radians(10.0) and 0.0 < max_obliquity_rad < math.pi / 2):
        raise ValueError(f"step_rad {step_rad} or max_obliquity_rad {max_obliquity_rad} rad bad")
    if not (math.isfinite(margin_mm) and margin_mm >= 0.0):
        raise ValueError(f"margin_mm must be >= 0 mm, got {margin_mm}")
    dirs = _cone_directions(approach, max_angle_rad, step_rad)
    axis = np.array(phantom.bone_axis_ras)
    target = phantom.target_ras_mm
    v = dirs - (dirs @ axis)[:, None] * axis
    bone_w = _radial(target[None], np.array(phantom.bone_axis_point_ras_mm), axis)
    w = np.repeat(bone_w, len(dirs), axis=0)
    s_skin = _exit_distance(w, v, phantom.skin_radius_mm)
    s_cortex = _exit_distance(w, v, phantom.cortex_radius_mm)
    usable = np.isfinite(s_skin)
    s_skin, s_cortex = np.nan_to_num(s_skin), np.nan_to_num(s_cortex)
    normal = w - s_cortex[:, None] * v
    normal /= np.maximum(np.linalg.norm(normal, axis=1), 1e-12)[:, None]
    obliquity = np.arccos(np.clip(np.einsum("ij,ij->i", -dirs, normal), -1.0, 1.0))
    bundle_w = _radial(target[None], np.array(phantom.bundle_point_ras_mm), axis)[0]
    vv = np.maximum(np.einsum("ij,ij->i", v, v), 1e-12)
    s_near = np.clip((v @ bundle_w) / vv, 0.0, s_skin)
    clearance = np.linalg.norm(bundle_w - s_near[:, None] * v, axis=1) - phantom.bundle_radius_mm
    entries = target - s_skin[:, None] * dirs
    checks: list[tuple[str, BoolArray]] = [
        ("bundle", clearance >= margin_mm),
        ("obliquity", obliquity <= max_obliquity_rad),
    ]
    if reachable is not None:
        checks.append(("reach", np.asarray(reachable(entries, target), dtype=bool)))
    alive = usable.copy()
    rejected = []
    for name, passed in checks:
        rejected.append((name, int(np.count_nonzero(alive & ~passed))))
        alive &= passed
    perpendicular = int(np.argmin(np.where(usable, obliquity, np.inf)))
    if not alive.any():
        detail = ", ".join(f"{n} {k}" for n, k in rejected)
        return NoSafeEntry(
            reason=(
                f"none of {len(dirs)} paths within {math.degrees(max_angle_rad):.0f} deg of the "
                f"insertion axis is safe (rejected: {detail}; margin {margin_mm} mm, largest "
                f"obliquity {math.degrees(max_obliquity_rad):.0f} deg)"
            ),
            candidates=len(dirs),
            rejected=tuple(rejected),
        )
    order = np.lexsort((-clearance, np.round(obliquity, 4)))
    best = int(next(i for i in order if alive[i]))
    return EntryPlan(
        target_ras_mm=_triple(target),
        skin_entry_ras_mm=_triple(entries[best]),
        cortex_entry_ras_mm=_triple(target - s_cortex[best] * dirs[best]),
        direction_ras=_triple(dirs[best]),
        obliquity_rad=float(obliquity[best]),
        clearance_mm=float(clearance[best]),
        depth_from_skin_mm=float(s_skin[best]),
        angle_from_approach_rad=float(math.acos(min(1.0, float(dirs[best] @ approach)))),
        perpendicular_clearance_mm=float(clearance[perpendicular]),
        candidates=len(dirs),
        rejected=tuple(rejected),
    )
