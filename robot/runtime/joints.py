"""One description of a joint, from which its HAL, safety and kinematics views are built.

The robot configuration gives each joint one set of keys (``joints.<name>.*``); they become one
:class:`JointDescription`, and the three packages' views of that joint come from it alone: the
HAL axis (:meth:`JointDescription.hal_axis`), the supervisor joint
(:meth:`JointDescription.supervisor_joint`) and the kinematic joint
(:meth:`JointDescription.kinematic_joint`). One speed limit serves all three.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from hal import JointKind as HalJointKind
from hal import PiezoConfig, PneumaticStepperConfig
from kinematics import JointKind, JointSpec, joint_kind
from safety import JointConfig

__all__ = ["AXIS_TYPES", "JointDescription"]

#: The axis types a joint may have (``joints.<name>.axis``).
AXIS_TYPES: Final = ("pneumatic", "piezo")


@dataclass(frozen=True, slots=True, kw_only=True)
class JointDescription:
    """One joint of the configured robot, in its joint unit (mm or rad, from its name).

    Attributes:
        name: joint name carrying its unit (``front_x_mm``, ``tilt_a_rad``).
        axis: ``pneumatic`` (stepper, open loop with an encoder check) or ``piezo``.
        lower: lower soft limit.
        upper: upper soft limit.
        step: travel per step of a pneumatic axis.
        max_step_rate_hz: step rate of a pneumatic axis with the installed hose.
        piezo_max_speed: speed limit of a piezo axis (unit/s).
        max_acceleration: acceleration of the trajectory planner (unit/s^2).
        following_error_limit: largest allowed |commanded - encoder|.
        imaging_safe: may move while the scanner images.
        insertion: it is the model's insertion joint (every other joint is lateral).
    """

    name: str
    axis: str
    lower: float
    upper: float
    step: float
    max_step_rate_hz: float
    piezo_max_speed: float
    max_acceleration: float
    following_error_limit: float
    imaging_safe: bool
    insertion: bool

    def __post_init__(self) -> None:
        if self.axis not in AXIS_TYPES:
            raise ValueError(f"joint {self.name}: axis {self.axis!r} is not one of {AXIS_TYPES}")
        if self.lower >= self.upper:
            raise ValueError(
                f"joint {self.name}: lower limit {self.lower} {self.unit} must be below the "
                f"upper {self.upper} {self.unit}"
            )

    @property
    def kind(self) -> JointKind:
        """Prismatic (``_mm`` names) or revolute (``_rad`` names)."""
        return joint_kind(self.name)

    @property
    def unit(self) -> str:
        """``mm`` or ``rad``."""
        return self.kind.value

    @property
    def max_speed(self) -> float:
        """The one speed limit (unit/s): step x step rate (pneumatic) or the piezo limit."""
        if self.axis == "piezo":
            return self.piezo_max_speed
        return self.step * self.max_step_rate_hz

    def hal_axis(self, *, min_supply_pressure_kpa: float) -> PneumaticStepperConfig | PiezoConfig:
        """The HAL's view: the axis the controller drives."""
        kind = HalJointKind.ROTARY if self.kind is JointKind.REVOLUTE else HalJointKind.LINEAR
        if self.axis == "piezo":
            return PiezoConfig(
                name=self.name,
                kind=kind,
                min_position=self.lower,
                max_position=self.upper,
                max_speed=self.piezo_max_speed,
                following_error_limit=self.following_error_limit,
                imaging_safe=self.imaging_safe,
            )
        return PneumaticStepperConfig(
            name=self.name,
            kind=kind,
            min_position=self.lower,
            max_position=self.upper,
            step_size=self.step,
            max_step_rate_hz=self.max_step_rate_hz,
            following_error_limit=self.following_error_limit,
            min_supply_pressure_kpa=min_supply_pressure_kpa,
            imaging_safe=self.imaging_safe,
        )

    def supervisor_joint(self) -> JointConfig:
        """The supervisor's view: limits, speed caps, and whether it moves the needle sideways."""
        return JointConfig(
            name=self.name,
            min_position=self.lower,
            max_position=self.upper,
            max_speed=self.max_speed,
            homing_speed=self.max_speed,
            imaging_safe=self.imaging_safe,
            lateral=not self.insertion,
            insertion=self.insertion,
        )

    def kinematic_joint(self) -> JointSpec:
        """The kinematic model's view: limits, speed and acceleration for IK and trajectories."""
        return JointSpec(
            name=self.name,
            kind=self.kind,
            lower=self.lower,
            upper=self.upper,
            max_velocity=self.max_speed,
            max_acceleration=self.max_acceleration,
        )
