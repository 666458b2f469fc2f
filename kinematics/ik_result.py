"""Result of vectorised inverse kinematics: joints where reachable, a reason code where not."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kinematics.joints import limit_excess

if TYPE_CHECKING:
    from collections.abc import Sequence

    from kinematics.joints import JointSpec
    from kinematics.types import BoolArray, FloatArray, IntArray

__all__ = ["IkBatch", "UnreachableCode", "finalise_ik"]


class UnreachableCode(enum.IntEnum):
    """Why a target has no solution; checked in this order, the first failure is reported."""

    REACHABLE = 0
    ANGULATION = 1
    """The needle direction is tilted beyond what the guide allows (excess in rad)."""
    ENTRY_BEHIND_GUIDE = 2
    """The entry point lies on the robot side of where the needle leaves the guide (excess mm)."""
    JOINT_LIMIT = 3
    """At least one joint would be outside its limits (details from ``raw_joints``)."""
    TOOL_TOO_SHORT = 4
    """The insertion is deeper than the tool reaches beyond the guide (excess mm)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IkBatch:
    """Inverse kinematics of N targets.

    Attributes:
        joints: (N, n) joint values; rows of unreachable targets are NaN, so a returned number is
            always inside the joint limits.
        raw_joints: (N, n) the closed-form solution before any check (NaN where the geometry has
            none); for diagnostics only, never for motion.
        code: (N,) `UnreachableCode` values.
        excess: (N,) by how much the failed check was missed: rad for angulation, mm for entry and
            tool length, NaN for reachable targets and for joint limits (use ``raw_joints``).
    """

    joints: FloatArray
    raw_joints: FloatArray
    code: IntArray
    excess: FloatArray

    @property
    def reachable(self) -> BoolArray:
        """(N,) True where the target is reachable."""
        return np.asarray(self.code == UnreachableCode.REACHABLE, dtype=np.bool_)


def finalise_ik(
    raw_joints: FloatArray,
    specs: Sequence[JointSpec],
    *,
    angulation_excess_rad: FloatArray,
    entry_excess_mm: FloatArray,
    tool_excess_mm: FloatArray,
) -> IkBatch:
    """Apply the checks in `UnreachableCode` order and mask unreachable rows.

    Each ``*_excess`` array is (N,), positive where that check fails.
    """
    n = raw_joints.shape[0]
    code = np.zeros(n, dtype=np.int64)
    excess = np.full(n, np.nan)
    with np.errstate(invalid="ignore"):
        joint_bad = np.any(limit_excess(raw_joints, specs) > 0.0, axis=1)
    joint_bad |= np.any(~np.isfinite(raw_joints), axis=1)
    checks = (
        (UnreachableCode.ANGULATION, angulation_excess_rad > 0.0, angulation_excess_rad),
        (UnreachableCode.ENTRY_BEHIND_GUIDE, entry_excess_mm > 0.0, entry_excess_mm),
        (UnreachableCode.JOINT_LIMIT, joint_bad, np.full(n, np.nan)),
        (UnreachableCode.TOOL_TOO_SHORT, tool_excess_mm > 0.0, tool_excess_mm),
    )
    for value, failed, amount in checks:
        new = failed & (code == UnreachableCode.REACHABLE)
        code[new] = int(value)
        excess[new] = amount[new]
    joints = raw_joints.copy()
    joints[code != UnreachableCode.REACHABLE] = np.nan
    return IkBatch(joints=joints, raw_joints=raw_joints, code=code, excess=excess)
