"""The interface every needle-robot model offers: joints, FK, vectorised analytic IK, Jacobian."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kinematics.ik_result import IkBatch
    from kinematics.joints import JointSpec
    from kinematics.tool import ToolModel
    from kinematics.types import FloatArray, Points

__all__ = ["NeedlePose", "NeedleRobot"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NeedlePose:
    """Forward kinematics of N joint vectors, robot frame.

    Attributes:
        tip_robot_mm: (N, 3) the tool point placed on the target (physical tip + tip offset).
        direction_robot: (N, 3) unit needle direction, pointing from the guide into the patient.
        guide_exit_robot_mm: (N, 3) where the needle leaves the guide (front plane / pivot).
    """

    tip_robot_mm: Points
    direction_robot: Points
    guide_exit_robot_mm: Points


class NeedleRobot(Protocol):
    """A needle-guide robot model; all arrays are in the robot frame, mm and rad."""

    @property
    def joints(self) -> tuple[JointSpec, ...]:
        """Joint descriptions in joint-vector order."""
        ...

    @property
    def tool(self) -> ToolModel:
        """The tool the guide carries."""
        ...

    @property
    def insertion_index(self) -> int:
        """Index of the insertion joint; every other joint is lateral."""
        ...

    @property
    def retracted_insertion_mm(self) -> float:
        """Insertion value at or below which the tool is out of the patient."""
        ...

    @property
    def max_angulation_rad(self) -> float:
        """Largest needle tilt from ``+z`` the robot reaches in every direction (rad)."""
        ...

    def forward(self, joints: FloatArray) -> NeedlePose:
        """Forward kinematics of (N, n) joint vectors."""
        ...

    def inverse(
        self,
        targets_robot_mm: Points,
        directions_robot: Points | None = None,
        entries_robot_mm: Points | None = None,
    ) -> IkBatch:
        """Closed-form IK of N targets with optional directions or entry points."""
        ...

    def jacobian(self, joints: FloatArray) -> FloatArray:
        """(N, 6, n): d[tip_mm, direction]/d joints."""
        ...
