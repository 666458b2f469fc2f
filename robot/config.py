"""The robot configuration (a TOML file): see :mod:`robot.runtime.config` and CONFIGURATION.md."""

from robot.runtime.config import (
    ENV_PREFIX,
    ConfigError,
    RobotConfig,
    RuntimeSettings,
    default_config_text,
    env_name,
    load_config,
)
from robot.runtime.schema import SCHEMA, Key, render_key_tables, render_markdown

__all__ = [
    "ENV_PREFIX",
    "SCHEMA",
    "ConfigError",
    "Key",
    "RobotConfig",
    "RuntimeSettings",
    "default_config_text",
    "env_name",
    "load_config",
    "render_key_tables",
    "render_markdown",
]
