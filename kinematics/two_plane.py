"""Two-plane needle guide: two XY stages at fixed heights define the needle axis, plus insertion.

Robot frame: origin at the workspace centre, ``+z`` the insertion axis pointing from the guide into
the patient. The front stage (nearest the patient) moves in the plane ``z = front_plane_z_mm``, the
back stage in ``z = back_plane_z_mm < front_plane_z_mm``. The needle runs through both stage
points; ``insertion_mm`` is the depth of the physical tip past the front stage point along the
needle. IK is closed form: intersect the desired line with the two planes.
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

__all__ = [
    "TWO_PLANE_JOINT_NAMES",
    "TwoPlaneGuide",
    "TwoPlaneGuideConfig",
    "default_two_plane_config",
]

#: The joints of a two-plane guide in joint-vector (and wire) order: the one list of them.
TWO_PLANE_JOINT_NAMES: Final = (
    "front_x_mm",
    "front_y_mm",
    "back_x_mm",
    "back_y_mm",
    "insertion_mm",
)
_N_JOINTS: Final = len(TWO_PLANE_JOINT_NAMES)


def _mm(name: str, lower: float, upper: float, speed: float, accel: float) -> JointSpec:
    return JointSpec(
        name=name,
        kind=JointKind.PRISMATIC,
        lower=lower,
        upper=upper,
        max_velocity=speed,
        max_acceleration=accel,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class TwoPlaneGuideConfig:
    """Geometry and joints of a two-plane guide.

    Attributes:
        front_plane_z_mm: robot z of the front (patient-side) stage plane.
        back_plane_z_mm: robot z of the back stage plane; must be below the front plane.
        joints: ``front_x_mm, front_y_mm, back_x_mm, back_y_mm, insertion_mm`` in that order.
        max_angulation_rad: largest needle tilt from ``+z`` the guide bushings allow.
        hub_clearance_mm: tool length kept behind the back stage (hub, carriage).
        tool: the needle or drill carried.
    """

    front_plane_z_mm: float
    back_plane_z_mm: float
    joints: tuple[JointSpec, ...]
    max_angulation_rad: float
    hub_clearance_mm: float
    tool: ToolModel = field(default_factory=default_needle)

    def __post_init__(self) -> None:
        for name in ("front_plane_z_mm", "back_plane_z_mm", "hub_clearance_mm"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"two-plane {name} must be finite, got {getattr(self, name)}")
        if self.back_plane_z_mm >= self.front_plane_z_mm:
            raise ValueError(
                f"back_plane_z_mm ({self.back_plane_z_mm} mm) must be below front_plane_z_mm "
                f"({self.front_plane_z_mm} mm)"
            )
        names = tuple(j.name for j in self.joints)
        if names != TWO_PLANE_JOINT_NAMES:
            raise ValueError(f"two-plane joints must be {TWO_PLANE_JOINT_NAMES}, got {names}")
        if not 0.0 < self.max_angulation_rad < math.pi / 2:
            raise ValueError(
                f"max_angulation_rad must be in (0, pi/2) rad, got {self.max_angulation_rad}"
            )
        if self.hub_clearance_mm < 0.0:
            raise ValueError(f"hub_clearance_mm must be >= 0 mm, got {self.hub_clearance_mm}")
        if not isinstance(self.tool, ToolModel):
            raise TypeError(f"tool must be a ToolModel, got {self.tool!r}")


def default_two_plane_config(tool: ToolModel | None = None) -> TwoPlaneGuideConfig:
    """Return the default guide: stages 50 mm apart, 60 mm before the workspace centre.

    +-60 mm stage travel, 0-150 mm insertion, 25 degrees angulation; pneumatic-stepper speeds
    (5 mm/s, 20 mm/s^2). Reaches the 100 mm cube around the origin along ``+z``.
    """
    *lateral, insertion = TWO_PLANE_JOINT_NAMES
    return TwoPlaneGuideConfig(
        front_plane_z_mm=-60.0,
        back_plane_z_mm=-110.0,
        joints=(
            *(_mm(name, -60.0, 60.0, 5.0, 20.0) for name in lateral),
            _mm(insertion, 0.0, 150.0, 10.0, 40.0),
        ),
        max_angulation_rad=math.radians(25.0),
        hub_clearance_mm=10.0,
        tool=default_needle() if tool is None else tool,
    )


class TwoPlaneGuide:
    """Kinematics of a two-plane needle guide (4 DOF + insertion)."""

    def __init__(self, config: TwoPlaneGuideConfig) -> None:
        self._config = config

    @property
    def config(self) -> TwoPlaneGuideConfig:
        """The configuration this model was built from."""
        return self._config

    @property
    def joints(self) -> tuple[JointSpec, ...]:
        """Joint descriptions in joint-vector order."""
        return self._config.joints

    @property
    def tool(self) -> ToolModel:
        """The tool the guide carries."""
        return self._config.tool

    @property
    def insertion_index(self) -> int:
        """Index of the insertion joint."""
        return _N_JOINTS - 1

    @property
    def retracted_insertion_mm(self) -> float:
        """The tip is inside the guide at insertion 0 mm or less."""
        return max(0.0, self._config.joints[-1].lower)

    @property
    def max_angulation_rad(self) -> float:
        """The guide bushings' tilt limit from ``+z``, the same in every direction."""
        return self._config.max_angulation_rad

    def _axis(self, q: FloatArray) -> tuple[Points, Points, FloatArray]:
        c = self._config
        front = np.column_stack([q[:, 0], q[:, 1], np.full(len(q), c.front_plane_z_mm)])
        delta = np.column_stack(
            [
                q[:, 0] - q[:, 2],
                q[:, 1] - q[:, 3],
                np.full(len(q), c.front_plane_z_mm - c.back_plane_z_mm),
            ]
        )
        length = np.linalg.norm(delta, axis=1)
        return front, delta / length[:, None], length

    def forward(self, joints: FloatArray) -> NeedlePose:
        """Forward kinematics of (N, 5) or (5,) joint vectors.

        Raises:
            ValueError: wrong shape or non-finite joints.
        """
        q = joint_batch(joints, _N_JOINTS)
        front, u, _ = self._axis(q)
        depth = q[:, 4] + self._config.tool.tip_offset_mm
        return NeedlePose(
            tip_robot_mm=front + u * depth[:, None], direction_robot=u, guide_exit_robot_mm=front
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
            entries_robot_mm: (N, 3) skin entry points; the needle runs entry -> target.

        Raises:
            ValueError: bad shapes, both directions and entries, degenerate directions.
        """
        c = self._config
        t, u, entries = resolve_directions(targets_robot_mm, directions_robot, entries_robot_mm)
        cos_limit = math.cos(c.max_angulation_rad)
        uz = u[:, 2]
        angle = np.arccos(np.clip(uz, -1.0, 1.0))
        angulation_excess = np.where(uz > cos_limit, 0.0, angle - c.max_angulation_rad)
        # Where the line is tilted too far (or parallel to the planes) use a harmless divisor;
        # those rows are masked by the angulation check.
        safe_uz = np.where(uz > cos_limit, uz, 1.0)
        s_front = (c.front_plane_z_mm - t[:, 2]) / safe_uz
        s_back = (c.back_plane_z_mm - t[:, 2]) / safe_uz
        front = t + u * s_front[:, None]
        back = t + u * s_back[:, None]
        insertion = -s_front - c.tool.tip_offset_mm
        raw = np.column_stack([front[:, 0], front[:, 1], back[:, 0], back[:, 1], insertion])
        raw[uz <= cos_limit] = np.nan
        entry_excess = np.zeros(len(t))
        if entries is not None:
            entry_excess = np.maximum(c.front_plane_z_mm - entries[:, 2], 0.0)
        guide_path = (s_front - s_back) + c.hub_clearance_mm
        max_depth = c.tool.length_mm - guide_path
        tool_excess = np.maximum(insertion - max_depth, 0.0)
        return finalise_ik(
            raw,
            c.joints,
            angulation_excess_rad=angulation_excess,
            entry_excess_mm=entry_excess,
            tool_excess_mm=tool_excess,
        )

    def jacobian(self, joints: FloatArray) -> FloatArray:
        """Return (N, 6, 5): rows d tip_mm (3) and d direction (3), columns the joints.

        Raises:
            ValueError: wrong shape or non-finite joints.
        """
        q = joint_batch(joints, _N_JOINTS)
        _, u, length = self._axis(q)
        n = len(q)
        s = q[:, 4] + self._config.tool.tip_offset_mm
        # d u / d delta = (I - u u^T) / |delta|; d delta / d q per joint column.
        du_ddelta = (np.eye(3)[None] - u[:, :, None] * u[:, None, :]) / length[:, None, None]
        ddelta_dq = np.zeros((3, _N_JOINTS))
        ddelta_dq[0, 0], ddelta_dq[1, 1], ddelta_dq[0, 2], ddelta_dq[1, 3] = 1.0, 1.0, -1.0, -1.0
        dfront_dq = np.zeros((3, _N_JOINTS))
        dfront_dq[0, 0], dfront_dq[1, 1] = 1.0, 1.0
        du_dq = du_ddelta @ ddelta_dq
        jac = np.zeros((n, 6, _N_JOINTS))
        jac[:, :3, :] = dfront_dq[None] + s[:, None, None] * du_dq
        jac[:, :3, 4] += u
        jac[:, 3:, :] = du_dq
        return jac
