"""Exceptions of the safety package."""

from __future__ import annotations

__all__ = ["PermitError", "SafetyError"]


class SafetyError(Exception):
    """Base of every error raised by the ``safety`` package."""


class PermitError(SafetyError):
    """Motion was asked for without a valid permit; ``reason`` says what is wrong with it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
