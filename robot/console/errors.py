"""Exceptions of the BRP console client (part of the ``robot`` exception tree)."""

from __future__ import annotations

from robot.errors import RobotError

__all__ = [
    "BrpBusyError",
    "BrpConnectError",
    "BrpDisconnectedError",
    "BrpError",
    "BrpInterruptedError",
    "BrpProtocolError",
    "BrpSessionError",
    "BrpStatusError",
    "BrpTimeoutError",
]


class BrpError(RobotError):
    """Base of every console-client error.

    Attributes:
        device_name: the device name the error concerns (STATUS device, or the expected reply).
        code: the STATUS code for an error STATUS, else None.
        sub_code: the STATUS sub-code for an error STATUS, else None.
        error_name: the STATUS error name, or a short tag of the violation (``ORDER``, ``ECHO``...).
        detail: the STATUS message, or what was expected and what arrived.
    """

    def __init__(
        self,
        text: str,
        *,
        device_name: str = "",
        code: int | None = None,
        sub_code: int | None = None,
        error_name: str = "",
        detail: str = "",
    ) -> None:
        super().__init__(text)
        self.device_name = device_name
        self.code = code
        self.sub_code = sub_code
        self.error_name = error_name
        self.detail = detail


class BrpStatusError(BrpError):
    """The robot answered with an error STATUS (code other than 1)."""

    def __init__(
        self, *, device_name: str, code: int, sub_code: int, error_name: str, detail: str
    ) -> None:
        super().__init__(
            f"STATUS({device_name}) code {code} sub-code {sub_code} {error_name or '-'}: "
            f"{detail or '(no message)'}",
            device_name=device_name,
            code=code,
            sub_code=sub_code,
            error_name=error_name,
            detail=detail,
        )


class BrpProtocolError(BrpError):
    """The robot broke the BRP reply rules (order, echo, content); the session is desynchronised."""

    def __init__(self, tag: str, detail: str, *, device_name: str = "") -> None:
        super().__init__(
            f"BRP protocol violation ({tag}): {detail}",
            device_name=device_name,
            error_name=tag,
            detail=detail,
        )


class BrpTimeoutError(BrpProtocolError, TimeoutError):
    """An expected reply did not arrive in time (silence is never an answer).

    Attributes:
        timeout_s: the time-out that expired, in seconds.
    """

    def __init__(self, detail: str, *, device_name: str, timeout_s: float) -> None:
        super().__init__(
            "TIMEOUT", f"{detail} (no reply within {timeout_s:.3g} s)", device_name=device_name
        )
        self.timeout_s = timeout_s


class BrpDisconnectedError(BrpProtocolError):
    """The connection closed (EOF, reset, bad frame) before the reply was complete."""

    def __init__(self, detail: str) -> None:
        super().__init__("DISCONNECTED", detail)


class BrpInterruptedError(BrpError):
    """A move or action was cut by STOP or EMERGENCY (it gets no STATUS of its own)."""

    def __init__(self, *, device_name: str, by: str) -> None:
        super().__init__(
            f"{device_name} was interrupted by {by}",
            device_name=device_name,
            error_name=by,
            detail=f"cut by {by}",
        )
        self.by = by


class BrpBusyError(BrpError):
    """Another command of this client still waits for its reply (one command at a time)."""

    def __init__(self, *, pending: str) -> None:
        super().__init__(
            f"command refused locally: {pending} still waits for its reply",
            error_name="BUSY",
            detail=pending,
        )


class BrpSessionError(BrpError):
    """The client is closed or desynchronised by an earlier violation; reconnect."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"BRP session unusable: {detail}", error_name="SESSION", detail=detail)


class BrpConnectError(BrpError):
    """The robot cannot be reached (refused, unreachable, connect time-out).

    Attributes:
        host: the host tried.
        port: the TCP port tried.
    """

    def __init__(self, *, host: str, port: int, reason: str) -> None:
        super().__init__(
            f"cannot connect to {host}:{port}: {reason}", error_name="CONNECT", detail=reason
        )
        self.host = host
        self.port = port
