"""The demo's hidden truth and anatomy: the robot's mount pose, the Z-frame scan, the phantom.

Only the emulated scanner and the report see `Scenario.T_scanner_from_robot_true`; the robot
learns its pose from the Z-frame image alone. The nominal mount puts the robot's insertion axis
along scanner +S (the Z-frame detector's default hint) with its origin 50 mm below the scanner
origin; the hidden pose differs from it by a seeded translation and rotation inside the range the
detector is specified for (docs/KINEMATICS.md, evaluation protocol). The bone phantom lies
across the insertion axis, its nidus about 50 mm into the robot's workspace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

from kinematics import (
    check_transform,
    compose,
    invert,
    make_transform,
    rotation_angle_rad,
    transform_from_rotvec,
    transform_points,
)
from robot.twin import BonePhantom, SliceGeometry, make_bone_phantom

if TYPE_CHECKING:
    import numpy.typing as npt

    from kinematics import Transform

__all__ = [
    "MAX_HIDDEN_ROTATION_DEG",
    "MAX_HIDDEN_TRANSLATION_MM",
    "Scenario",
    "make_scenario",
    "zframe_scan_geometry",
]

MAX_HIDDEN_TRANSLATION_MM: Final = 15.0
"""Largest hidden mount offset per axis from nominal (mm)."""
MAX_HIDDEN_ROTATION_DEG: Final = 8.0
"""Largest hidden mount rotation from nominal (deg)."""
_NOMINAL_ROBOT_ORIGIN_RAS_MM: Final = (0.0, 0.0, -50.0)
_BONE_DEPTH_MM: Final = 60.0  # robot z of the bone axis
_SKIN_RADIUS_MM: Final = 26.0  # keeps the skin clear of the Z-frame (robot z <= 32 mm)

Triple = tuple[float, float, float]


def _triple(v: npt.ArrayLike) -> Triple:
    a = np.asarray(v, dtype=np.float64).reshape(3)
    return (float(a[0]), float(a[1]), float(a[2]))


def zframe_scan_geometry(centre_ras_mm: Triple, *, matrix: int = 128) -> SliceGeometry:
    """The localiser: 5 axial slices, 1 mm pixels, 3 mm thick, 6 mm apart, around the frame."""
    return SliceGeometry(
        centre_ras_mm=centre_ras_mm,
        row_direction_ras=(-1.0, 0.0, 0.0),
        column_direction_ras=(0.0, -1.0, 0.0),
        pixel_mm=1.0,
        thickness_mm=3.0,
        matrix=(matrix, matrix),
        n_slices=5,
        spacing_mm=6.0,
    )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Scenario:
    """One seeded needle placement.

    Attributes:
        seed: the seed everything below derives from.
        T_scanner_from_robot_nominal: where the team believes the robot is mounted.
        T_scanner_from_robot_true: where it really is (hidden from the robot).
        T_zframe_from_robot: the robot's Z-frame mount, from its configuration.
        zframe_scan: the localiser slices, centred where the frame nominally is.
        phantom: the anatomy, scanner RAS.
        hidden_translation_mm: size of the hidden translation from nominal.
        hidden_rotation_deg: size of the hidden rotation from nominal.
    """

    seed: int
    T_scanner_from_robot_nominal: Transform
    T_scanner_from_robot_true: Transform
    T_zframe_from_robot: Transform
    zframe_scan: SliceGeometry
    phantom: BonePhantom
    hidden_translation_mm: float
    hidden_rotation_deg: float

    @property
    def T_scanner_from_zframe_true(self) -> Transform:
        """The Z-frame pose the scanner images."""
        return compose(self.T_scanner_from_robot_true, invert(self.T_zframe_from_robot))

    @property
    def target_ras_mm(self) -> Triple:
        """The planned target: the nidus centre."""
        return self.phantom.nidus_centre_ras_mm


def make_scenario(seed: int, T_zframe_from_robot: npt.ArrayLike) -> Scenario:
    """Draw the hidden mount pose and the phantom from ``seed``.

    Raises:
        NotRigidError: ``T_zframe_from_robot`` is not rigid.
    """
    T_z_r = check_transform(T_zframe_from_robot, name="T_zframe_from_robot")
    nominal = make_transform(np.eye(3), _NOMINAL_ROBOT_ORIGIN_RAS_MM)
    rng = np.random.default_rng(seed)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = float(rng.uniform(0.3, 1.0)) * math.radians(MAX_HIDDEN_ROTATION_DEG)
    shift = rng.uniform(-MAX_HIDDEN_TRANSLATION_MM, MAX_HIDDEN_TRANSLATION_MM, 3)
    # The hidden error, applied about the robot origin and expressed in scanner axes.
    perturbation = transform_from_rotvec(axis * angle, shift)
    true = nominal.copy()
    true[:3, :3] = perturbation[:3, :3] @ nominal[:3, :3]
    true[:3, 3] = nominal[:3, 3] + perturbation[:3, 3]
    zframe_centre = transform_points(compose(nominal, invert(T_z_r)), np.zeros(3))[0]
    bone_centre = transform_points(nominal, (0.0, 0.0, _BONE_DEPTH_MM))[0]
    phantom = make_bone_phantom(
        seed=seed,
        centre_ras_mm=_triple(bone_centre),
        bone_axis_ras=_triple(nominal[:3, 0]),
        approach_ras=_triple(nominal[:3, 2]),
        skin_radius_mm=_SKIN_RADIUS_MM,
    )
    return Scenario(
        seed=seed,
        T_scanner_from_robot_nominal=nominal,
        T_scanner_from_robot_true=true,
        T_zframe_from_robot=T_z_r,
        zframe_scan=zframe_scan_geometry(_triple(zframe_centre)),
        phantom=phantom,
        hidden_translation_mm=float(np.linalg.norm(shift)),
        hidden_rotation_deg=math.degrees(rotation_angle_rad(perturbation[:3, :3])),
    )
