"""Needle-robot math: frames, models, IK/FK, trajectories, registration, Z-frame detection."""

from kinematics.errors import (
    KinematicsError,
    NotRigidError,
    RegistrationError,
    ZFrameDetectionError,
)
from kinematics.frames import (
    T_lps_from_ras,
    T_ras_from_lps,
    check_transform,
    compose,
    from_igtl12,
    invert,
    lps_from_ras_points,
    make_transform,
    ras_from_lps_points,
    rigid_deviation,
    rotation_about_axis,
    rotation_angle_rad,
    to_igtl12,
    transform_from_rotvec,
    transform_points,
    transform_vectors,
)
from kinematics.ik_result import UnreachableCode
from kinematics.joints import JointKind, JointSpec, joint_kind
from kinematics.model import NeedleRobot
from kinematics.planning import JointGoal, Target, Unreachable, plan
from kinematics.rcm import (
    RCM_JOINT_NAMES,
    CartesianRcmConfig,
    CartesianRcmRobot,
    default_rcm_config,
)
from kinematics.registration import (
    expected_fre_mm,
    find_outliers,
    leave_one_out_residuals_mm,
    predicted_tre_mm,
    register_points,
)
from kinematics.tool import ToolKind, ToolModel, default_bone_drill, default_needle
from kinematics.trajectory import SynchronisedMove, plan_needle_motion, synchronised_move
from kinematics.two_plane import (
    TWO_PLANE_JOINT_NAMES,
    TwoPlaneGuide,
    TwoPlaneGuideConfig,
    default_two_plane_config,
)
from kinematics.types import Points, Transform, Vec3
from kinematics.zframe_detect import DetectorSettings, ZFrameDetection, detect_zframe
from kinematics.zframe_geometry import Rod, ZFrameGeometry, default_zframe_geometry

__all__ = [
    "RCM_JOINT_NAMES",
    "TWO_PLANE_JOINT_NAMES",
    "CartesianRcmConfig",
    "CartesianRcmRobot",
    "DetectorSettings",
    "JointGoal",
    "JointKind",
    "JointSpec",
    "KinematicsError",
    "NeedleRobot",
    "NotRigidError",
    "Points",
    "RegistrationError",
    "Rod",
    "SynchronisedMove",
    "T_lps_from_ras",
    "T_ras_from_lps",
    "Target",
    "ToolKind",
    "ToolModel",
    "Transform",
    "TwoPlaneGuide",
    "TwoPlaneGuideConfig",
    "Unreachable",
    "UnreachableCode",
    "Vec3",
    "ZFrameDetection",
    "ZFrameDetectionError",
    "ZFrameGeometry",
    "check_transform",
    "compose",
    "default_bone_drill",
    "default_needle",
    "default_rcm_config",
    "default_two_plane_config",
    "default_zframe_geometry",
    "detect_zframe",
    "expected_fre_mm",
    "find_outliers",
    "from_igtl12",
    "invert",
    "joint_kind",
    "leave_one_out_residuals_mm",
    "lps_from_ras_points",
    "make_transform",
    "plan",
    "plan_needle_motion",
    "predicted_tre_mm",
    "ras_from_lps_points",
    "register_points",
    "rigid_deviation",
    "rotation_about_axis",
    "rotation_angle_rad",
    "synchronised_move",
    "to_igtl12",
    "transform_from_rotvec",
    "transform_points",
    "transform_vectors",
]
