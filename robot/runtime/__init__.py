"""The robot runtime: configuration, the control loop and the robot core it drives."""

from robot.runtime.config import (
    ENV_PREFIX,
    ConfigError,
    RobotConfig,
    RuntimeSettings,
    default_config_text,
    env_name,
    load_config,
)
from robot.runtime.core import REACH_TOLERANCE_MM, AcceptedTarget, RobotCore
from robot.runtime.jobs import JobKind, JobResult, TargetOutcome
from robot.runtime.loop import ControlLoop, LoopConsumer, LoopStats
from robot.runtime.schema import JOINT_NAMES, SCHEMA, Key, render_key_tables, render_markdown

__all__ = [
    "ENV_PREFIX",
    "JOINT_NAMES",
    "REACH_TOLERANCE_MM",
    "SCHEMA",
    "AcceptedTarget",
    "ConfigError",
    "ControlLoop",
    "JobKind",
    "JobResult",
    "Key",
    "LoopConsumer",
    "LoopStats",
    "RobotConfig",
    "RobotCore",
    "RuntimeSettings",
    "TargetOutcome",
    "default_config_text",
    "env_name",
    "load_config",
    "render_key_tables",
    "render_markdown",
]
