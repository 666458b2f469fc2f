"""The HAL's view of the shipped robot, for HAL tests: the emulator emulates the configured robot.

There is no second default robot in ``hal``: the one robot is ``robot/data/default_robot.toml``,
and its HAL view is built by the configuration (``RobotConfig.controller``).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from robot.config import load_config

if TYPE_CHECKING:
    from hal import ControllerConfig


@cache
def shipped_controller() -> ControllerConfig:
    """The shipped default robot as the HAL sees it (environment variables not read)."""
    return load_config(environ={}).controller
