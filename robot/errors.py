"""Exceptions of the composition layer."""

__all__ = ["RobotError"]


class RobotError(Exception):
    """Base of every error raised by the ``robot`` package."""
