"""Joint descriptions (name, unit, limits, speed) and vectorised limit checks."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from kinematics.types import FloatArray

__all__ = [
    "JointKind",
    "JointSpec",
    "joint_batch",
    "joint_kind",
    "limit_excess",
    "lower_limits",
    "upper_limits",
]


class JointKind(enum.Enum):
    """Prismatic joints are in mm, revolute joints in rad."""

    PRISMATIC = "mm"
    REVOLUTE = "rad"


def joint_kind(name: str) -> JointKind:
    """The kind a joint name carries in its unit suffix: ``_rad`` revolute, else prismatic."""
    return (
        JointKind.REVOLUTE if name.endswith(f"_{JointKind.REVOLUTE.value}") else JointKind.PRISMATIC
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class JointSpec:
    """One joint of a robot model.

    Attributes:
        name: joint name carrying its unit (``front_x_mm``, ``tilt_a_rad``).
        kind: prismatic (mm) or revolute (rad).
        lower: lower limit in the joint unit.
        upper: upper limit in the joint unit.
        max_velocity: speed limit, joint unit per second.
        max_acceleration: acceleration limit, joint unit per second squared.
    """

    name: str
    kind: JointKind
    lower: float
    upper: float
    max_velocity: float
    max_acceleration: float

    def __post_init__(self) -> None:
        if not self.name or not self.name.endswith(f"_{self.kind.value}"):
            raise ValueError(f"joint name {self.name!r} must end with its unit _{self.kind.value}")
        values = (self.lower, self.upper, self.max_velocity, self.max_acceleration)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"joint {self.name}: limits must be finite, got {values}")
        if self.lower >= self.upper:
            raise ValueError(
                f"joint {self.name}: lower limit {self.lower} must be below upper {self.upper} "
                f"{self.kind.value}"
            )
        if self.max_velocity <= 0.0 or self.max_acceleration <= 0.0:
            raise ValueError(
                f"joint {self.name}: max_velocity ({self.max_velocity}) and max_acceleration "
                f"({self.max_acceleration}) must be > 0"
            )

    @property
    def unit(self) -> str:
        """The joint unit, ``mm`` or ``rad``."""
        return self.kind.value


def lower_limits(specs: Sequence[JointSpec]) -> FloatArray:
    """Return the lower limits as an array (n,)."""
    return np.array([s.lower for s in specs], dtype=np.float64)


def upper_limits(specs: Sequence[JointSpec]) -> FloatArray:
    """Return the upper limits as an array (n,)."""
    return np.array([s.upper for s in specs], dtype=np.float64)


def limit_excess(joints: FloatArray, specs: Sequence[JointSpec]) -> FloatArray:
    """Return by how much each joint value lies outside its limits (0 inside), shape (N, n).

    Positive values are in the joint unit; NaN joint values give NaN.

    Raises:
        ValueError: ``joints`` is not (N, len(specs)).
    """
    q = np.asarray(joints, dtype=np.float64)
    if q.ndim != 2 or q.shape[1] != len(specs):  # noqa: PLR2004 - (N, n)
        raise ValueError(f"joints must have shape (N, {len(specs)}), got {q.shape}")
    below = lower_limits(specs) - q
    above = q - upper_limits(specs)
    return np.maximum(np.maximum(below, above), 0.0)


def joint_batch(joints: FloatArray, n_joints: int) -> FloatArray:
    """Joint vectors as an (N, n_joints) float array; one vector becomes a batch of one.

    Raises:
        ValueError: another shape, or a value that is not finite.
    """
    q = np.asarray(joints, dtype=np.float64)
    if q.ndim == 1:
        q = q.reshape(1, -1)
    if q.ndim != 2 or q.shape[1] != n_joints:  # noqa: PLR2004 - (N, n)
        raise ValueError(f"joints must have shape (N, {n_joints}), got {np.shape(joints)}")
    if not np.all(np.isfinite(q)):
        raise ValueError("joints must be finite")
    return q
