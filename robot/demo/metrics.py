"""Accuracy against the hidden truth: registration at the target, and the needle tip."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kinematics import check_transform, invert, rotation_angle_rad, transform_points

if TYPE_CHECKING:
    import numpy.typing as npt

    from kinematics import NeedleRobot

__all__ = ["RegistrationAccuracy", "TipAccuracy", "registration_accuracy", "tip_accuracy"]

Triple = tuple[float, float, float]


def _triple(v: npt.ArrayLike) -> Triple:
    a = np.asarray(v, dtype=np.float64).reshape(3)
    return (float(a[0]), float(a[1]), float(a[2]))


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrationAccuracy:
    """The robot's registration against the hidden mount pose.

    Attributes:
        at_target_mm: how far the robot would place a point it believes is at the target from
            the target (the registration's contribution to the targeting error).
        at_robot_origin_mm: the same at the robot origin.
        rotation_deg: rotation between the registered and the true pose.
    """

    at_target_mm: float
    at_robot_origin_mm: float
    rotation_deg: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TipAccuracy:
    """Where the needle tip really is, against the planned target.

    Attributes:
        tip_ras_mm: true tip: true joint positions through forward kinematics and the true pose.
        direction_ras: true needle direction.
        error_mm: distance of the true tip from the target.
        lateral_mm: component across the needle.
        depth_mm: signed component along the needle (positive: too deep).
    """

    tip_ras_mm: Triple
    direction_ras: Triple
    error_mm: float
    lateral_mm: float
    depth_mm: float


def registration_accuracy(
    T_scanner_from_robot_registered: npt.ArrayLike,
    T_scanner_from_robot_true: npt.ArrayLike,
    target_ras_mm: npt.ArrayLike,
) -> RegistrationAccuracy:
    """Compare a registration with the truth at the target and at the robot origin.

    Raises:
        NotRigidError: either transform is not rigid.
        ValueError: the target is not a finite 3-vector.
    """
    registered = check_transform(T_scanner_from_robot_registered, name="registered")
    true = check_transform(T_scanner_from_robot_true, name="true")
    target = np.asarray(target_ras_mm, dtype=np.float64).reshape(3)
    if not np.all(np.isfinite(target)):
        raise ValueError(f"target_ras_mm must be finite, got {target.tolist()}")
    # The robot aims at the robot-frame point it believes is the target; it lands there truly.
    believed_robot = transform_points(invert(registered), target)
    landed = transform_points(true, believed_robot)[0]
    origin_error = registered[:3, 3] - true[:3, 3]
    return RegistrationAccuracy(
        at_target_mm=float(np.linalg.norm(landed - target)),
        at_robot_origin_mm=float(np.linalg.norm(origin_error)),
        rotation_deg=math.degrees(rotation_angle_rad(registered[:3, :3].T @ true[:3, :3])),
    )


def tip_accuracy(
    robot: NeedleRobot,
    joints: npt.ArrayLike,
    T_scanner_from_robot_true: npt.ArrayLike,
    target_ras_mm: npt.ArrayLike,
) -> TipAccuracy:
    """Where true joint positions put the tip, against the target.

    Args:
        robot: the kinematic model (tip offset zero: the aimed point is the physical tip).
        joints: true joint positions (mm, rad) in the model's joint order.
        T_scanner_from_robot_true: the hidden mount pose.
        target_ras_mm: the planned target.

    Raises:
        NotRigidError: the pose is not rigid.
        ValueError: bad joints or target.
    """
    true = check_transform(T_scanner_from_robot_true, name="true")
    pose = robot.forward(np.asarray(joints, dtype=np.float64).reshape(1, -1))
    tip = transform_points(true, pose.tip_robot_mm)[0]
    direction = true[:3, :3] @ pose.direction_robot[0]
    target = np.asarray(target_ras_mm, dtype=np.float64).reshape(3)
    error = tip - target
    along = float(error @ direction)
    return TipAccuracy(
        tip_ras_mm=_triple(tip),
        direction_ras=_triple(direction),
        error_mm=float(np.linalg.norm(error)),
        lateral_mm=float(np.linalg.norm(error - along * direction)),
        depth_mm=along,
    )
