"""Cartesian XYZ stage with two rotations about a remote centre of motion (RCM), plus insertion.

Robot frame: origin at the workspace centre, ``+z`` the insertion axis at zero tilt. The XYZ stage
places the RCM pivot at ``(pivot_x_mm, pivot_y_mm, pivot_z_mm)``; ``tilt_a_rad`` rotates the needle
about the robot x axis, then ``tilt_b_rad`` about the rotated y axis, so the direction is
``u = R_x(a) R_y(b) e_z = (sin b, -sin a cos b, cos a cos b)``. Orientation changes leave the
pivot fixed. ``insertion_mm`` is the depth of the physical tip past the pivot along ``u``.

IK: the pivot goes on the entry point when one is given, otherwise where the needle line crosses
the plane ``z = default_pivot_z_mm``; the tilts follow from ``u`` and the insertion from the depth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import numpy as np

from kinematics.directions import resolve_directions
from kinematics.ik_result import IkBatch, finalise_ik
from kinematics.joints import JointKind, JointSpec, joint_batch
from kinematics.model import NeedlePose
from kinematics.tool import ToolModel, default_needle

if TYPE_CHECKING:
    from kinematics.types import FloatArray, Points

__all__ = ["RCM_JOINT_NAMES", "CartesianRcmConfig", "CartesianRcmRobot", "default_rcm_config"]

#: The joints of a Cartesian + RCM robot in joint-vector (and wire) order: the one list of them.
RCM_JOINT_NAMES: Final = (
    "pivot_x_mm",
    "pivot_y_mm",
    "pivot_z_mm",
    "tilt_a_rad",
    "tilt_b_rad",
    "insertion_mm",
)
_N_JOINTS: Final = len(RCM_JOINT_NAMES)


@dataclass(frozen=True, slots=True, kw_only=True)
class CartesianRcmConfig:
    """Geometry and joints of a Cartesian + RCM robot.

    Attributes:
        joints: ``pivot_x_mm, pivot_y_mm, pivot_z_mm, tilt_a_rad, tilt_b_rad, insertion_mm``.
        default_pivot_z_mm: pivot height used when a target comes without an entry point.
        holder_length_mm: tool length kept behind the pivot (holder, hub, carriage).
        tool: the needle or drill carried.
    """

    joints: tuple[JointSpec, ...]
    default_pivot_z_mm: float
    holder_length_mm: float
    tool: ToolModel = field(default_factory=default_needle)

    def __post_init__(self) -> None:
        names = tuple(j.name for j in self.joints)
        if names != RCM_JOINT_NAMES:
            raise ValueError(f"RCM joints must be {RCM_JOINT_NAMES}, got {names}")
        z = self.joints[2]
        if not (
            math.isfinite(self.default_pivot_z_mm) and z.lower <= self.default_pivot_z_mm <= z.upper
        ):
            raise ValueError(
                f"default_pivot_z_mm {self.default_pivot_z_mm} mm must lie within the pivot_z "
                f"limits [{z.lower}, {z.upper}] mm"
            )
        for tilt in self.joints[3:5]:
            if tilt.lower <= -math.pi / 2 or tilt.upper >= math.pi / 2:
                raise ValueError(
                    f"{tilt.name} limits [{tilt.lower}, {tilt.upper}] rad must lie inside "
                    "(-pi/2, pi/2)"
                )
        if not (math.isfinite(self.holder_length_mm) and self.holder_length_mm >= 0.0):
            raise ValueError(f"holder_length_mm must be >= 0 mm, got {self.holder_length_mm}")
        if not isinstance(self.tool, ToolModel):
            raise TypeError(f"tool must be a ToolModel, got {self.tool!r}")


def default_rcm_config(tool: ToolModel | None = None) -> CartesianRcmConfig:
    """Return the default RCM robot: +-60 mm XY, z -100..-40 mm, +-30 deg tilts, 150 mm insertion.

    Reaches the 100 mm cube around the origin along ``+z`` with the pivot at z = -60 mm.
    """

    def joint(name: str, kind: JointKind, lo: float, hi: float, v: float, a: float) -> JointSpec:
        return JointSpec(
            name=name, kind=kind, lower=lo, upper=hi, max_velocity=v, max_acceleration=a
        )

    mm, rad, tilt = JointKind.PRISMATIC, JointKind.REVOLUTE, math.radians(30.0)
    x, y, z, a, b, insertion = RCM_JOINT_NAMES
    return CartesianRcmConfig(
        joints=(
            joint(x, mm, -60.0, 60.0, 5.0, 20.0),
            joint(y, mm, -60.0, 60.0, 5.0, 20.0),
            joint(z, mm, -100.0, -40.0, 5.0, 20.0),
            joint(a, rad, -tilt, tilt, math.radians(6.0), math.radians(30.0)),
            joint(b, rad, -tilt, tilt, math.radians(6.0), math.radians(30.0)),
            joint(insertion, mm, 0.0, 150.0, 10.0, 40.0),
        ),
        default_pivot_z_mm=-60.0,
        holder_length_mm=60.0,
        tool=default_needle() if tool is None else tool,
    )


def _direction(a: FloatArray, b: FloatArray) -> Points:
    return np.column_stack([np.sin(b), -np.sin(a) * np.cos(b), np.cos(a) * np.cos(b)])


class CartesianRcmRobot:
    """Kinematics of a Cartesian XYZ + two-rotation RCM robot with insertion (6 joints)."""

    def __init__(self, config: CartesianRcmConfig) -> None:
        self._config = config

    @property
    def config(self) -> CartesianRcmConfig:
        """The configuration this model was built from."""
        return self._config

    @property
    def joints(self) -> tuple[JointSpec, ...]:
        """Joint descriptions in joint-vector order."""
        return self._config.joints

    @property
    def tool(self) -> ToolModel:
        """The tool the robot carries."""
        return self._config.tool

    @property
    def insertion_index(self) -> int:
        """Index of the insertion joint."""
        return _N_JOINTS - 1

    @property
    def retracted_insertion_mm(self) -> float:
        """The tip is behind the pivot at insertion 0 mm or less."""
        return max(0.0, self._config.joints[-1].lower)

    @property
    def max_angulation_rad(self) -> float:
        """The tilt from ``+z`` reachable in every direction: the smallest tilt limit.

        A tilt ``t`` towards any azimuth needs ``|tilt_a| <= t`` and ``|tilt_b| <= t``.
        """
        a, b = self._config.joints[3], self._config.joints[4]
        return min(-a.lower, a.upper, -b.lower, b.upper)

    def forward(self, joints: FloatArray) -> NeedlePose:
        """Forward kinematics of (N, 6) or (6,) joint vectors.

        Raises:
            ValueError: wrong shape or non-finite joints.
        """
        q = joint_batch(joints, _N_JOINTS)
        u = _direction(q[:, 3], q[:, 4])
        pivot = q[:, :3].copy()
        depth = q[:, 5] + self._config.tool.tip_offset_mm
        return NeedlePose(
            tip_robot_mm=pivot + u * depth[:, None], direction_robot=u, guide_exit_robot_mm=pivot
        )

    def inverse(
        self,
        targets_robot_mm: Points,
        directions_robot: Points | None = None,
        entries_robot_mm: Points | None = None,
    ) -> IkBatch:
        """Closed-form IK of N targets (robot frame), vectorised.

        Args:
            targets_robot_mm: (N, 3) points where the tool point must end.
            directions_robot: (N, 3) needle directions (need not be unit); default ``+z``.
            entries_robot_mm: (N, 3) skin entry points; the pivot is placed on them.

        Raises:
            ValueError: bad shapes, both directions and entries, degenerate directions.
        """
        c = self._config
        t, u, entries = resolve_directions(targets_robot_mm, directions_robot, entries_robot_mm)
        b = np.arcsin(np.clip(u[:, 0], -1.0, 1.0))
        a = np.arctan2(-u[:, 1], u[:, 2])
        if entries is not None:
            pivot = entries
            depth = np.einsum("ij,ij->i", t - pivot, u)
            valid = np.ones(len(t), dtype=np.bool_)
        else:
            valid = u[:, 2] > 0.0
            s = (c.default_pivot_z_mm - t[:, 2]) / np.where(valid, u[:, 2], 1.0)
            pivot = t + u * s[:, None]
            depth = -s
        insertion = depth - c.tool.tip_offset_mm
        raw = np.column_stack([pivot, a, b, insertion])
        raw[~valid] = np.nan
        tool_excess = np.maximum(insertion - (c.tool.length_mm - c.holder_length_mm), 0.0)
        zeros = np.zeros(len(t))
        return finalise_ik(
            raw,
            c.joints,
            angulation_excess_rad=zeros,
            entry_excess_mm=zeros,
            tool_excess_mm=tool_excess,
        )

    def jacobian(self, joints: FloatArray) -> FloatArray:
        """Return (N, 6, 6): rows d tip_mm (3) and d direction (3), columns the joints.

        Raises:
            ValueError: wrong shape or non-finite joints.
        """
        q = joint_batch(joints, _N_JOINTS)
        a, b = q[:, 3], q[:, 4]
        u = _direction(a, b)
        s = q[:, 5] + self._config.tool.tip_offset_mm
        du_da = np.column_stack([np.zeros(len(q)), -np.cos(a) * np.cos(b), -np.sin(a) * np.cos(b)])
        du_db = np.column_stack([np.cos(b), np.sin(a) * np.sin(b), -np.cos(a) * np.sin(b)])
        jac = np.zeros((len(q), 6, _N_JOINTS))
        jac[:, :3, :3] = np.eye(3)[None]
        jac[:, :3, 3] = s[:, None] * du_da
        jac[:, :3, 4] = s[:, None] * du_db
        jac[:, :3, 5] = u
        jac[:, 3:, 3] = du_da
        jac[:, 3:, 4] = du_db
        return jac
