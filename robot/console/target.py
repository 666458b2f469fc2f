"""Target and calibration transforms from console input (RAS mm)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np

from kinematics import check_transform

if TYPE_CHECKING:
    from collections.abc import Sequence

    from kinematics import Transform

__all__ = ["FLOAT32_MAX", "calibration_from_text", "check_wire_numbers", "target_transform"]

_MIN_NEEDLE_PATH_MM: Final = 1.0
FLOAT32_MAX: Final = float(np.finfo(np.float32).max)
"""The largest magnitude an OpenIGTLink TRANSFORM (float32) carries; beyond it arrives as inf."""


def check_wire_numbers(values: Sequence[float], what: str) -> None:
    """Refuse numbers that are not finite or too large for a float32 on the wire.

    Raises:
        ValueError: naming ``what`` and the first bad value.
    """
    for value in values:
        if not math.isfinite(value):
            raise ValueError(f"{what}: {value} is not a finite number")
        if abs(value) > FLOAT32_MAX:
            raise ValueError(f"{what}: {value:g} exceeds the float32 range (+-{FLOAT32_MAX:.4g})")


def _vec(values: Sequence[float], name: str) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    vec = np.asarray(values, dtype=np.float64)
    if vec.shape != (3,) or not np.all(np.isfinite(vec)):
        raise ValueError(f"{name} must be 3 finite numbers (RAS mm), got {list(values)}")
    check_wire_numbers(values, name)
    return vec


def target_transform(
    target_ras_mm: Sequence[float], entry_ras_mm: Sequence[float] | None = None
) -> Transform:
    """The TGT_ pose: tip at ``target_ras_mm``, needle axis (z) along entry -> target.

    Without an entry point the orientation is the identity (needle axis along RAS +z).
    With one, z is the unit entry->target direction and x the RAS x axis made orthogonal to it
    (RAS y when the needle runs along x), so the pose is a right-handed rotation.

    Raises:
        ValueError: not 3 finite numbers each, or entry and target closer than 1 mm.
    """
    target = _vec(target_ras_mm, "target")
    pose = np.eye(4)
    pose[:3, 3] = target
    if entry_ras_mm is None:
        return pose
    entry = _vec(entry_ras_mm, "entry")
    path = target - entry
    length_mm = float(np.linalg.norm(path))
    if length_mm < _MIN_NEEDLE_PATH_MM:
        raise ValueError(
            f"entry and target are {length_mm:.3f} mm apart; need >= {_MIN_NEEDLE_PATH_MM} mm"
        )
    z = path / length_mm
    helper = np.array([1.0, 0.0, 0.0]) if abs(z[0]) < math.sqrt(0.5) else np.array([0.0, 1.0, 0.0])
    x = helper - (helper @ z) * z
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    pose[:3, 0], pose[:3, 1], pose[:3, 2] = x, y, z
    return check_transform(pose, name="target pose")


def calibration_from_text(spec: str) -> Transform:
    """``identity``, 12 numbers (OpenIGTLink order, RAS mm), or a file holding 12 or 16 numbers.

    A file's 16 numbers are a row-major 4x4; its 12 numbers, like 12 on the command line, are
    ``R11 R21 R31 R12 R22 R32 R13 R23 R33 TX TY TZ`` (OPENIGTLINK.md section 2).

    The matrix is not checked for rigidity here: the robot judges it (STATUS 10 sub 1).

    Raises:
        ValueError: not a number list of the right length, a number that is not finite or beyond
            the float32 range, or an unreadable file.
    """
    text = spec.strip()
    if text.lower() == "identity":
        return np.eye(4)
    words = text.replace(",", " ").split()
    if len(words) == 1:
        try:
            text = Path(words[0]).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(f"cannot read calibration file {words[0]!r}: {err}") from err
        words = text.replace(",", " ").split()
    try:
        values = [float(w) for w in words]
    except ValueError as err:
        raise ValueError(f"calibration must be numbers: {err}") from err
    check_wire_numbers(values, "calibration")
    if len(values) == 16:  # noqa: PLR2004 - a 4x4 matrix
        matrix = np.array(values).reshape(4, 4)
        if not np.array_equal(matrix[3], [0.0, 0.0, 0.0, 1.0]):
            raise ValueError(f"calibration last row must be 0 0 0 1, got {matrix[3].tolist()}")
        return matrix
    if len(values) != 12:  # noqa: PLR2004 - OpenIGTLink TRANSFORM
        raise ValueError(f"calibration needs 12 or 16 numbers, got {len(values)}")
    matrix = np.eye(4)
    matrix[:3, :3] = np.array(values[:9]).reshape(3, 3, order="F")
    matrix[:3, 3] = values[9:]
    return matrix
