"""Exceptions of the ``hal`` package: one tree rooted at :class:`HalError`."""

from __future__ import annotations

__all__ = [
    "AxisFaultError",
    "HalError",
    "HalTimeoutError",
    "HandshakeError",
    "LifecycleError",
    "LinkDownError",
    "MotionBusyError",
    "NackError",
    "PermitRefusedError",
    "RequestAbortedError",
    "RequestTimeoutError",
    "TransportError",
    "VersionMismatchError",
]


class HalError(Exception):
    """Base of every error raised by the ``hal`` package."""


class TransportError(HalError):
    """The byte transport failed (open, read, write, disconnect); ``url`` names the port."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url


class HalTimeoutError(HalError, TimeoutError):
    """Base of every HAL time-out; also a :class:`TimeoutError`."""


class RequestTimeoutError(HalTimeoutError):
    """No ACK/NACK/reply arrived for a request within its time-out, after all retries."""

    def __init__(self, *, command: str, seq: int, timeout_s: float, attempts: int) -> None:
        super().__init__(
            f"no reply to {command} (seq {seq}) within {timeout_s * 1000:.0f} ms "
            f"after {attempts} attempt(s)"
        )
        self.command = command
        self.seq = seq
        self.timeout_s = timeout_s
        self.attempts = attempts


class NackError(HalError):
    """The firmware refused a command; ``reason`` is the firmware's NACK reason name."""

    def __init__(self, *, command: str, seq: int, reason: str) -> None:
        super().__init__(f"firmware refused {command} (seq {seq}): {reason}")
        self.command = command
        self.seq = seq
        self.reason = reason


class RequestAbortedError(HalError):
    """A request was withdrawn before it was (re)sent: its abort condition (a stop) became true.

    A motion request raises it when ``stop()`` or ``estop()`` was called after the motion was
    asked for; the frame, or its retry, never reached the wire.
    """


class LinkDownError(HalError):
    """The link is not open, or was lost; requests cannot be sent."""


class HandshakeError(HalError):
    """The HELLO/IDENT handshake failed (no reply, wrong nonce, inconsistent configuration)."""


class VersionMismatchError(HandshakeError):
    """The firmware speaks another protocol major version; names both versions."""

    def __init__(self, *, host: tuple[int, int], firmware: tuple[int, int]) -> None:
        super().__init__(
            f"protocol version mismatch: host speaks {host[0]}.{host[1]}, "
            f"firmware speaks {firmware[0]}.{firmware[1]} (majors must be equal)"
        )
        self.host = host
        self.firmware = firmware


class LifecycleError(HalError):
    """An operation was asked for in a lifecycle state that does not allow it."""

    def __init__(self, *, operation: str, state: str, allowed: str) -> None:
        super().__init__(f"{operation} is not allowed in state {state} (needs {allowed})")
        self.operation = operation
        self.state = state
        self.allowed = allowed


class MotionBusyError(HalError):
    """A second motion request arrived while another one was being sent (one motion owner)."""


class PermitRefusedError(HalError):
    """The motion permit does not allow the motion; ``reason`` says why.

    No permit, a forged, revoked or expired one, or a joint, target or speed outside its
    envelope. The verifier's own error is the ``__cause__``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AxisFaultError(HalError):
    """An axis reported or showed a fault (following error, low pressure, limit, stuck encoder)."""

    def __init__(self, message: str, *, axis: str) -> None:
        super().__init__(f"axis {axis}: {message}")
        self.axis = axis
