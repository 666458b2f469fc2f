"""Targets in scanner RAS, and planning them into joint goals or reasons a clinician can act on."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kinematics.directions import MIN_ENTRY_TO_TARGET_MM
from kinematics.frames import as_vec3, check_transform, invert, transform_points
from kinematics.ik_result import UnreachableCode
from kinematics.joints import limit_excess

if TYPE_CHECKING:
    import numpy.typing as npt

    from kinematics.joints import JointSpec
    from kinematics.model import NeedleRobot
    from kinematics.types import FloatArray

__all__ = ["JointGoal", "LimitViolation", "Target", "Unreachable", "plan"]

Triple = tuple[float, float, float]


def _triple(value: npt.ArrayLike, name: str) -> Triple:
    v = as_vec3(value, name=name)
    return (float(v[0]), float(v[1]), float(v[2]))


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """A needle target in scanner RAS mm, with an optional entry point or direction.

    Without either, the needle runs along the robot's insertion axis.

    Attributes:
        target_ras_mm: where the tool point must end.
        entry_ras_mm: skin entry point; the needle runs entry -> target.
        direction_ras: needle direction (from the guide into the patient), any length > 0.
    """

    target_ras_mm: Triple
    entry_ras_mm: Triple | None = None
    direction_ras: Triple | None = None

    def __post_init__(self) -> None:
        target = as_vec3(self.target_ras_mm, name="target_ras_mm")
        if self.entry_ras_mm is not None and self.direction_ras is not None:
            raise ValueError("give either entry_ras_mm or direction_ras, not both")
        if self.entry_ras_mm is not None:
            gap = float(np.linalg.norm(target - as_vec3(self.entry_ras_mm, name="entry_ras_mm")))
            if gap < MIN_ENTRY_TO_TARGET_MM:
                raise ValueError(
                    f"entry point is {gap:.3f} mm from the target; at least "
                    f"{MIN_ENTRY_TO_TARGET_MM} mm is needed to define the needle direction"
                )
        if self.direction_ras is not None:
            d = as_vec3(self.direction_ras, name="direction_ras")
            if float(np.linalg.norm(d)) < 1e-9:  # noqa: PLR2004 - zero vector
                raise ValueError("direction_ras is the zero vector")

    @classmethod
    def from_arrays(
        cls,
        target_ras_mm: npt.ArrayLike,
        entry_ras_mm: npt.ArrayLike | None = None,
        direction_ras: npt.ArrayLike | None = None,
    ) -> Target:
        """Build a target from array-likes.

        Raises:
            ValueError: see the class checks.
        """
        return cls(
            target_ras_mm=_triple(target_ras_mm, "target_ras_mm"),
            entry_ras_mm=None if entry_ras_mm is None else _triple(entry_ras_mm, "entry_ras_mm"),
            direction_ras=None
            if direction_ras is None
            else _triple(direction_ras, "direction_ras"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class JointGoal:
    """A reachable target: joint values and the resulting needle pose.

    Attributes:
        joint_names: names carrying units, in joint-vector order.
        joint_values: values in the joint units (mm, rad).
        tip_ras_mm: tool point by forward kinematics, scanner RAS.
        direction_ras: unit needle direction, scanner RAS.
        insertion_depth_mm: depth of the physical tip past the guide exit.
        target_distance_from_robot_origin_mm: lever arm of the registration error at this target.
    """

    joint_names: tuple[str, ...]
    joint_values: tuple[float, ...]
    tip_ras_mm: Triple
    direction_ras: Triple
    insertion_depth_mm: float
    target_distance_from_robot_origin_mm: float

    def describe(self) -> str:
        """Return the joint values one per line, revolute joints also in degrees."""
        lines = []
        for name, value in zip(self.joint_names, self.joint_values, strict=True):
            if name.endswith("_rad"):
                lines.append(f"{name} = {value:.6f} ({math.degrees(value):.3f} deg)")
            else:
                lines.append(f"{name} = {value:.3f}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitViolation:
    """One joint outside its limits: which joint, which limit, by how much (joint unit)."""

    joint: str
    value: float
    limit_name: str
    limit: float
    excess: float

    def describe(self) -> str:
        """Return the violation in words, revolute joints in degrees."""
        if self.joint.endswith("_rad"):
            unit, k = "deg", math.degrees(1.0)
        else:
            unit, k = "mm", 1.0
        return (
            f"joint {self.joint} would be {self.value * k:.1f} {unit}, "
            f"{self.excess * k:.1f} {unit} "
            f"beyond its {self.limit_name} limit of {self.limit * k:.1f} {unit}"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Unreachable:
    """A target the robot cannot reach, and why.

    Attributes:
        code: the failed check.
        reason: one sentence for the operator, with values and units.
        violations: the joints outside their limits (empty unless ``code`` is ``JOINT_LIMIT``).
    """

    code: UnreachableCode
    reason: str
    violations: tuple[LimitViolation, ...] = ()


def _violations(raw: FloatArray, specs: tuple[JointSpec, ...]) -> tuple[LimitViolation, ...]:
    excess = limit_excess(raw.reshape(1, -1), specs)[0]
    found = []
    for spec, value, over in zip(specs, raw, excess, strict=True):
        if over > 0.0:
            upper = value > spec.upper
            found.append(
                LimitViolation(
                    joint=spec.name,
                    value=float(value),
                    limit_name="upper" if upper else "lower",
                    limit=spec.upper if upper else spec.lower,
                    excess=float(over),
                )
            )
    return tuple(found)


def _unreachable(
    robot: NeedleRobot,
    code: UnreachableCode,
    raw: FloatArray,
    excess: float,
    angle_rad: float,
) -> Unreachable:
    if code is UnreachableCode.ANGULATION:
        return Unreachable(
            code=code,
            reason=(
                f"needle angulation {math.degrees(angle_rad):.1f} deg from the insertion axis "
                f"exceeds the guide's {math.degrees(angle_rad - excess):.1f} deg by "
                f"{math.degrees(excess):.1f} deg; "
                "choose an entry point closer to the robot's insertion axis"
            ),
        )
    if code is UnreachableCode.ENTRY_BEHIND_GUIDE:
        return Unreachable(
            code=code,
            reason=(
                f"entry point lies {excess:.1f} mm on the robot side of the guide exit; "
                "move the entry point towards the patient"
            ),
        )
    if code is UnreachableCode.TOOL_TOO_SHORT:
        depth = float(raw[robot.insertion_index])
        tool = robot.tool
        return Unreachable(
            code=code,
            reason=(
                f"insertion {depth:.1f} mm is deeper than the {tool.length_mm:.0f} mm "
                f"{tool.kind.value.replace('_', ' ')} reaches beyond the guide "
                f"({depth - excess:.1f} mm) by {excess:.1f} mm; use a longer tool or a closer entry"
            ),
        )
    violations = _violations(raw, robot.joints)
    if not violations:  # NaN solution: no intersection with the guide geometry
        return Unreachable(
            code=code,
            reason=(
                "needle line does not pass through the guide: "
                "direction points away from the patient"
            ),
        )
    return Unreachable(
        code=code,
        reason="target is outside the workspace: " + "; ".join(v.describe() for v in violations),
        violations=violations,
    )


def plan(
    robot: NeedleRobot, target: Target, T_scanner_from_robot: npt.ArrayLike
) -> JointGoal | Unreachable:
    """Plan one target given in scanner RAS into a joint goal, or say why it is unreachable.

    Raises:
        NotRigidError: ``T_scanner_from_robot`` is not a rigid transform.
    """
    T_s_r = check_transform(T_scanner_from_robot, name="T_scanner_from_robot")
    T_robot_from_scanner = invert(T_s_r)
    t_robot = transform_points(T_robot_from_scanner, target.target_ras_mm)
    entries = directions = None
    if target.entry_ras_mm is not None:
        entries = transform_points(T_robot_from_scanner, target.entry_ras_mm)
    elif target.direction_ras is not None:
        directions = (
            np.asarray(target.direction_ras, dtype=np.float64).reshape(1, 3) @ T_s_r[:3, :3]
        )
    batch = robot.inverse(t_robot, directions, entries)
    code = UnreachableCode(int(batch.code[0]))
    if code is not UnreachableCode.REACHABLE:
        if entries is not None:
            axis = t_robot[0] - entries[0]
        elif directions is not None:
            axis = directions[0]
        else:
            axis = np.array([0.0, 0.0, 1.0])
        angle = math.acos(float(np.clip(axis[2] / np.linalg.norm(axis), -1.0, 1.0)))
        return _unreachable(robot, code, batch.raw_joints[0], float(batch.excess[0]), angle)
    q = batch.joints[0]
    pose = robot.forward(q)
    tip = transform_points(T_s_r, pose.tip_robot_mm)[0]
    direction = pose.direction_robot[0] @ T_s_r[:3, :3].T
    return JointGoal(
        joint_names=tuple(j.name for j in robot.joints),
        joint_values=tuple(float(v) for v in q),
        tip_ras_mm=_triple(tip, "tip"),
        direction_ras=_triple(direction, "direction"),
        insertion_depth_mm=float(q[robot.insertion_index]),
        target_distance_from_robot_origin_mm=float(np.linalg.norm(t_robot[0])),
    )
