"""Array type aliases used across ``kinematics``; shapes are documented and checked at entry."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = ["BoolArray", "FloatArray", "IntArray", "Points", "Transform", "Vec3"]

FloatArray: TypeAlias = npt.NDArray[np.float64]
"""Any float64 array."""

BoolArray: TypeAlias = npt.NDArray[np.bool_]
"""Any boolean array."""

IntArray: TypeAlias = npt.NDArray[np.int64]
"""Any int64 array."""

Transform: TypeAlias = npt.NDArray[np.float64]
"""A 4x4 homogeneous rigid transform ``T_<to>_from_<from>``, millimetres."""

Vec3: TypeAlias = npt.NDArray[np.float64]
"""One 3-vector, shape (3,)."""

Points: TypeAlias = npt.NDArray[np.float64]
"""N points or vectors, shape (N, 3)."""
