"""Needle poses as 4x4 transforms in scanner RAS, and the checks a received matrix must pass."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    from kinematics import Transform

__all__ = [
    "CALIBRATION_RIGID_TOLERANCE",
    "MAX_CALIBRATION_TRANSLATION_MM",
    "MatrixProblem",
    "calibration_problem",
    "nearest_rigid",
    "pose_along",
    "target_problem",
]

#: OPENIGTLINK.md 4.5: max|R^T R - I| and |det R - 1| of an accepted calibration or target.
CALIBRATION_RIGID_TOLERANCE: Final = 1e-3
#: OPENIGTLINK.md 4.5: largest calibration translation (mm).
MAX_CALIBRATION_TRANSLATION_MM: Final = 1000.0


@dataclass(frozen=True, slots=True, kw_only=True)
class MatrixProblem:
    """Why a received matrix was refused: the failed check, in one sentence with the numbers."""

    check: str
    message: str


def _rotation_problem(matrix: npt.NDArray[np.float64], what: str) -> MatrixProblem | None:
    if not np.all(np.isfinite(matrix)):
        return MatrixProblem(check="finite", message=f"{what} has non-finite values")
    rotation = matrix[:3, :3]
    orthogonality = float(np.max(np.abs(rotation.T @ rotation - np.eye(3))))
    if orthogonality > CALIBRATION_RIGID_TOLERANCE:
        return MatrixProblem(
            check="orthonormal",
            message=(
                f"{what} rotation is not orthonormal: max|R^T R - I| = {orthogonality:.3g} "
                f"> {CALIBRATION_RIGID_TOLERANCE:g}"
            ),
        )
    det = float(np.linalg.det(rotation))
    if abs(det - 1.0) > CALIBRATION_RIGID_TOLERANCE:
        return MatrixProblem(
            check="determinant",
            message=(
                f"{what} rotation has det R = {det:.6g}, not 1 within "
                f"{CALIBRATION_RIGID_TOLERANCE:g} (a reflection or a scaling)"
            ),
        )
    return None


def calibration_problem(matrix: npt.NDArray[np.float64]) -> MatrixProblem | None:
    """The failed check of a calibration matrix (OPENIGTLINK.md 4.5), or ``None`` if rigid."""
    m = np.asarray(matrix, dtype=np.float64)
    problem = _rotation_problem(m, "calibration")
    if problem is not None:
        return problem
    distance = float(np.linalg.norm(m[:3, 3]))
    if distance > MAX_CALIBRATION_TRANSLATION_MM:
        return MatrixProblem(
            check="translation",
            message=(
                f"calibration translation is {distance:.1f} mm from the scanner origin, "
                f"more than {MAX_CALIBRATION_TRANSLATION_MM:g} mm"
            ),
        )
    return None


def target_problem(matrix: npt.NDArray[np.float64]) -> MatrixProblem | None:
    """The failed check of a target matrix (finite, orthonormal), or ``None``."""
    return _rotation_problem(np.asarray(matrix, dtype=np.float64), "target")


def nearest_rigid(matrix: npt.NDArray[np.float64]) -> Transform:
    """The rigid transform nearest to ``matrix`` (rotation by SVD, translation kept)."""
    m = np.asarray(matrix, dtype=np.float64)
    u, _, vt = np.linalg.svd(m[:3, :3])
    rotation = u @ vt
    if np.linalg.det(rotation) < 0:
        u[:, -1] = -u[:, -1]
        rotation = u @ vt
    out = np.eye(4)
    out[:3, :3] = rotation
    out[:3, 3] = m[:3, 3]
    return out


def _align(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The smallest rotation taking unit vector ``a`` to unit vector ``b``."""
    v = np.cross(a, b)
    c = float(np.dot(a, b))
    s = float(np.linalg.norm(v))
    if s < 1e-12:  # noqa: PLR2004 - parallel or antiparallel
        if c > 0:
            return np.eye(3)
        axis = np.cross(a, [1.0, 0.0, 0.0])
        if np.linalg.norm(axis) < 1e-6:  # noqa: PLR2004 - a along x
            axis = np.cross(a, [0.0, 1.0, 0.0])
        axis = axis / np.linalg.norm(axis)
        return 2.0 * np.outer(axis, axis) - np.eye(3)
    k = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
    out: npt.NDArray[np.float64] = np.eye(3) + k + k @ k * ((1.0 - c) / (s * s))
    return out


def pose_along(
    tip_mm: npt.ArrayLike,
    direction: npt.ArrayLike,
    reference_rotation: npt.NDArray[np.float64] | None = None,
) -> Transform:
    """A needle pose: translation = tip, z column = unit needle direction.

    The roll about the needle is taken from ``reference_rotation`` (e.g. the requested target's
    rotation) turned the least so that its z column lies along ``direction``; without one, x is
    chosen perpendicular to z and as close to +x (R) as possible.
    """
    z = np.asarray(direction, dtype=np.float64).reshape(3)
    z = z / np.linalg.norm(z)
    if reference_rotation is not None:
        ref = np.asarray(reference_rotation, dtype=np.float64)[:3, :3]
        rotation = _align(ref[:, 2] / np.linalg.norm(ref[:, 2]), z) @ ref
    else:
        x = np.array([1.0, 0.0, 0.0]) - z * z[0]
        if np.linalg.norm(x) < 1e-6:  # noqa: PLR2004 - needle along x
            x = np.array([0.0, 1.0, 0.0]) - z * z[1]
        x = x / np.linalg.norm(x)
        rotation = np.column_stack([x, np.cross(z, x), z])
    out = np.eye(4)
    out[:3, :3] = rotation
    out[:3, 3] = np.asarray(tip_mm, dtype=np.float64).reshape(3)
    return out


def angle_between_rad(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Angle between two vectors (rad)."""
    u = np.asarray(a, dtype=np.float64)
    v = np.asarray(b, dtype=np.float64)
    c = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))
    return math.acos(max(-1.0, min(1.0, c)))
