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
from robot.runtime.core import RobotCore
from robot.runtime.jobs import JobKind, JobResult, TargetOutcome
from robot.runtime.loop import ControlLoop, LoopConsumer
from robot.runtime.schema import JOINT_NAMES, SCHEMA, Key, render_key_tables, render_markdown

__all__ = [
    "ENV_PREFIX",
    "JOINT_NAMES",
    "SCHEMA",
    "ConfigError",
    "ControlLoop",
    "JobKind",
    "JobResult",
    "Key",
    "LoopConsumer",
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
