"""Exceptions of the safety package."""

from __future__ import annotations

__all__ = ["AuditError", "PermitError", "SafetyError", "SupervisorError"]


class SafetyError(Exception):
    """Base of every error raised by the ``safety`` package."""


class PermitError(SafetyError):
    """Motion was asked for without a valid permit; ``reason`` says what is wrong with it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SupervisorError(SafetyError):
    """The supervisor itself is broken (a binding failed, a guard raised); latches FAULT."""


class AuditError(SafetyError):
    """The audit log could not be written or read; ``path`` names the file."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path
