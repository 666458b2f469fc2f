"""Homogeneous 4x4 rigid transforms named by their frames, RAS/LPS, and the OpenIGTLink layout.

A transform ``T_b_from_a`` maps coordinates of frame ``a`` into frame ``b``; products chain by inner
names (``T_scanner_from_robot @ T_robot_from_tip``). Nothing here orthonormalises a bad matrix: a
matrix that is not rigid within tolerance is rejected with the measured deviation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from kinematics.errors import NotRigidError

if TYPE_CHECKING:
    from kinematics.types import Points, Transform, Vec3

__all__ = [
    "DEFAULT_RIGID_TOLERANCE",
    "IGTL_RIGID_TOLERANCE",
    "T_lps_from_ras",
    "T_ras_from_lps",
    "as_points",
    "as_vec3",
    "check_transform",
    "compose",
    "from_igtl12",
    "invert",
    "lps_from_ras_points",
    "make_transform",
    "ras_from_lps_points",
    "rigid_deviation",
    "rotation_about_axis",
    "rotation_angle_rad",
    "to_igtl12",
    "transform_from_rotvec",
    "transform_points",
    "transform_vectors",
]

DEFAULT_RIGID_TOLERANCE: Final = 1e-6
"""Largest accepted ``||R^T R - I||_F`` and bottom-row error for float64 transforms."""

IGTL_RIGID_TOLERANCE: Final = 1e-5
"""Tolerance for transforms that travelled as float32 (OpenIGTLink): ~100 float32 ulps."""


def as_vec3(value: npt.ArrayLike, *, name: str = "vector") -> Vec3:
    """Return ``value`` as a finite float64 array of shape (3,).

    Raises:
        ValueError: wrong shape or a non-finite component.
    """
    arr = np.array(value, dtype=np.float64)
    if arr.shape != (3,):
        raise ValueError(f"{name} must have shape (3,), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {arr.tolist()}")
    return arr


def as_points(value: npt.ArrayLike, *, name: str = "points") -> Points:
    """Return ``value`` as a finite float64 array of shape (N, 3); a single (3,) becomes (1, 3).

    Raises:
        ValueError: wrong shape or a non-finite component.
    """
    arr = np.array(value, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != 3:  # noqa: PLR2004 - 3-D points
        raise ValueError(f"{name} must have shape (N, 3), got {np.shape(value)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def rigid_deviation(matrix: npt.ArrayLike) -> float:
    """Return how far a 4x4 matrix is from rigid: max of ``||R^T R - I||_F`` and bottom-row error.

    Non-finite input gives ``inf``. A reflection is rigid by this measure; see `check_transform`.

    Raises:
        ValueError: ``matrix`` is not 4x4.
    """
    arr = np.asarray(matrix, dtype=np.float64)
    if arr.shape != (4, 4):
        raise ValueError(f"transform must have shape (4, 4), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        return float("inf")
    rot = arr[:3, :3]
    ortho = float(np.linalg.norm(rot.T @ rot - np.eye(3)))
    bottom = float(np.max(np.abs(arr[3] - np.array([0.0, 0.0, 0.0, 1.0]))))
    return max(ortho, bottom)


def check_transform(
    matrix: npt.ArrayLike, *, name: str = "transform", tolerance: float = DEFAULT_RIGID_TOLERANCE
) -> Transform:
    """Validate a rigid 4x4 transform and return it as a new float64 array.

    Args:
        matrix: any array-like of shape (4, 4).
        name: used in the error message (``T_scanner_from_robot``).
        tolerance: largest accepted deviation (see `rigid_deviation`).

    Raises:
        ValueError: ``matrix`` is not 4x4.
        NotRigidError: non-finite, not orthonormal (scale, shear, all ones), a reflection, or a
            bottom row other than ``0 0 0 1``; carries the measured deviation.
    """
    arr = np.array(matrix, dtype=np.float64)
    if arr.shape != (4, 4):
        raise ValueError(f"{name} must have shape (4, 4), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise NotRigidError(
            f"{name} has non-finite entries", deviation=float("inf"), tolerance=tolerance
        )
    rot = arr[:3, :3]
    ortho = float(np.linalg.norm(rot.T @ rot - np.eye(3)))
    if ortho > tolerance:
        singular = np.linalg.svd(rot, compute_uv=False)
        raise NotRigidError(
            f"{name} rotation part is not orthonormal (singular values "
            f"{', '.join(f'{s:.6g}' for s in singular)}; 1 expected)",
            deviation=ortho,
            tolerance=tolerance,
        )
    det = float(np.linalg.det(rot))
    if det < 0.0:
        raise NotRigidError(
            f"{name} is a reflection (det R = {det:.6g}; +1 expected)",
            deviation=abs(det - 1.0),
            tolerance=tolerance,
        )
    bottom = float(np.max(np.abs(arr[3] - np.array([0.0, 0.0, 0.0, 1.0]))))
    if bottom > tolerance:
        raise NotRigidError(
            f"{name} bottom row is {arr[3].tolist()}, expected [0, 0, 0, 1]",
            deviation=bottom,
            tolerance=tolerance,
        )
    return arr


def make_transform(rotation: npt.ArrayLike, t_mm: npt.ArrayLike) -> Transform:
    """Build a rigid 4x4 from a 3x3 rotation and a translation in mm.

    Raises:
        ValueError: wrong shapes.
        NotRigidError: ``rotation`` is not a rotation.
    """
    rot = np.asarray(rotation, dtype=np.float64)
    if rot.shape != (3, 3):
        raise ValueError(f"rotation must have shape (3, 3), got {rot.shape}")
    tf = np.eye(4)
    tf[:3, :3] = rot
    tf[:3, 3] = as_vec3(t_mm, name="translation")
    return check_transform(tf)


def invert(T_b_from_a: npt.ArrayLike) -> Transform:
    """Return ``T_a_from_b``, the exact rigid inverse (R^T, -R^T t).

    Raises:
        NotRigidError: the input is not rigid.
    """
    tf = check_transform(T_b_from_a)
    out = np.eye(4)
    R_t = tf[:3, :3].T
    out[:3, :3] = R_t
    out[:3, 3] = -R_t @ tf[:3, 3]
    return out


def compose(*transforms: npt.ArrayLike) -> Transform:
    """Return the product ``T_0 @ T_1 @ ...``; name the result by the outer frames.

    Raises:
        ValueError: no transforms given.
        NotRigidError: an operand is not rigid.
    """
    if not transforms:
        raise ValueError("compose needs at least one transform")
    out = np.eye(4)
    for index, tf in enumerate(transforms):
        out = out @ check_transform(tf, name=f"operand {index}")
    return out


def transform_points(T_b_from_a: npt.ArrayLike, points_a: npt.ArrayLike) -> Points:
    """Map points (N, 3) or (3,) in frame ``a`` to frame ``b``; returns shape (N, 3).

    Raises:
        ValueError: bad point shape.
        NotRigidError: ``T_b_from_a`` is not rigid.
    """
    tf = check_transform(T_b_from_a)
    pts = as_points(points_a)
    return pts @ tf[:3, :3].T + tf[:3, 3]


def transform_vectors(T_b_from_a: npt.ArrayLike, vectors_a: npt.ArrayLike) -> Points:
    """Rotate direction vectors (N, 3) from frame ``a`` to frame ``b`` (no translation).

    Raises:
        ValueError: bad shape.
        NotRigidError: ``T_b_from_a`` is not rigid.
    """
    tf = check_transform(T_b_from_a)
    return as_points(vectors_a, name="vectors") @ tf[:3, :3].T


def T_ras_from_lps() -> Transform:
    """Return the 4x4 mapping DICOM LPS coordinates to RAS: ``diag(-1, -1, 1, 1)``."""
    return np.diag([-1.0, -1.0, 1.0, 1.0])


def T_lps_from_ras() -> Transform:
    """Return the 4x4 mapping RAS coordinates to DICOM LPS (its own inverse)."""
    return np.diag([-1.0, -1.0, 1.0, 1.0])


def ras_from_lps_points(points_lps_mm: npt.ArrayLike) -> Points:
    """Convert points (N, 3) from LPS to RAS mm.

    Raises:
        ValueError: bad shape.
    """
    return np.asarray(as_points(points_lps_mm) * np.array([-1.0, -1.0, 1.0]))


def lps_from_ras_points(points_ras_mm: npt.ArrayLike) -> Points:
    """Convert points (N, 3) from RAS to LPS mm.

    Raises:
        ValueError: bad shape.
    """
    return np.asarray(as_points(points_ras_mm) * np.array([-1.0, -1.0, 1.0]))


def to_igtl12(transform: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Return the 12 values of an OpenIGTLink TRANSFORM body for a rigid transform.

    Order (OPENIGTLINK.md section 2): ``R11 R21 R31 R12 R22 R32 R13 R23 R33 TX TY TZ``, i.e. the
    rotation column by column, then the translation in mm. The caller packs them as big-endian
    float32.

    Raises:
        NotRigidError: ``transform`` is not rigid.
    """
    arr = check_transform(transform)
    return np.concatenate([arr[:3, :3].reshape(-1, order="F"), arr[:3, 3]])


def from_igtl12(values: npt.ArrayLike, *, tolerance: float = IGTL_RIGID_TOLERANCE) -> Transform:
    """Build a 4x4 from the 12 values of an OpenIGTLink TRANSFORM body (see `to_igtl12`).

    The default tolerance allows float32 rounding; a matrix farther from rigid is rejected, not
    orthonormalised.

    Raises:
        ValueError: not exactly 12 values.
        NotRigidError: the values do not form a rigid transform.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (12,):
        raise ValueError(f"an OpenIGTLink transform has 12 values, got shape {arr.shape}")
    tf = np.eye(4)
    tf[:3, :3] = arr[:9].reshape(3, 3, order="F")
    tf[:3, 3] = arr[9:]
    return check_transform(tf, name="OpenIGTLink transform", tolerance=tolerance)


def rotation_about_axis(axis: npt.ArrayLike, angle_rad: float) -> npt.NDArray[np.float64]:
    """Return the 3x3 rotation by ``angle_rad`` about ``axis`` (right hand, Rodrigues).

    Raises:
        ValueError: zero or non-finite axis, non-finite angle.
    """
    a = as_vec3(axis, name="axis")
    norm = float(np.linalg.norm(a))
    if norm == 0.0 or not np.isfinite(angle_rad):
        raise ValueError(f"rotation needs a non-zero axis and finite angle, got {a}, {angle_rad}")
    k = a / norm
    skew = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.asarray(
        np.eye(3) + np.sin(angle_rad) * skew + (1.0 - np.cos(angle_rad)) * (skew @ skew)
    )


def rotation_angle_rad(rotation: npt.ArrayLike) -> float:
    """Return the rotation angle of a 3x3 rotation matrix in [0, pi] radians.

    Raises:
        ValueError: not 3x3.
    """
    rot = np.asarray(rotation, dtype=np.float64)
    if rot.shape != (3, 3):
        raise ValueError(f"rotation must have shape (3, 3), got {rot.shape}")
    # Robust near 0 and pi: angle from the skew part and the trace together.
    skew = np.array([rot[2, 1] - rot[1, 2], rot[0, 2] - rot[2, 0], rot[1, 0] - rot[0, 1]])
    return float(np.arctan2(np.linalg.norm(skew), np.trace(rot) - 1.0))


def transform_from_rotvec(rotvec_rad: npt.ArrayLike, translation_mm: npt.ArrayLike) -> Transform:
    """Build a rigid transform from a rotation vector (axis times angle, rad) and translation (mm).

    Raises:
        ValueError: wrong shapes or non-finite values.
    """
    r = as_vec3(rotvec_rad, name="rotation vector")
    angle = float(np.linalg.norm(r))
    rot = np.eye(3) if angle == 0.0 else rotation_about_axis(r, angle)
    return make_transform(rot, translation_mm)
