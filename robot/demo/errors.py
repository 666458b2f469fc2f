"""Exceptions of the demo: the story could not be told (not: a fault was shown)."""

from __future__ import annotations

from robot.errors import RobotError

__all__ = ["DemoError", "DemoStepError"]


class DemoError(RobotError):
    """Base of the demo's errors."""


class DemoStepError(DemoError):
    """A step of the needle-placement story failed where it must not.

    Attributes:
        step: the step (``registration``, ``planning``, ``targeting``, ``move``, ...).
    """

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
