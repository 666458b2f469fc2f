"""The messages the robot sends in the BRP workphase protocol (OPENIGTLINK.md 4.2-4.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np

from robot.igtl import IgtlMessage, RtsBody, StatusBody, StringBody, TransformBody
from safety import StatusCode, SubCode

if TYPE_CHECKING:
    from kinematics import Transform

__all__ = [
    "current_status",
    "not_in_control",
    "not_supported",
    "rts",
    "status",
    "string",
    "transform",
]

_MESSAGE_CHARS: Final = 1000


def _ascii(text: str) -> str:
    clean = text.encode("ascii", "replace").decode("ascii").replace("\0", " ")
    return clean[:_MESSAGE_CHARS]


def status(name: str, code: int, sub_code: int = 0, message: str = "") -> IgtlMessage:
    """``STATUS(name, code, sub_code)``; ERROR_NAME is the sub-code's name (``OK``, ``BUSY``...)."""
    try:
        error_name = SubCode(sub_code).name
    except ValueError:
        error_name = "UNKNOWN"
    return IgtlMessage(
        device_name=name[:20],
        body=StatusBody(
            code=int(code), subcode=int(sub_code), error_name=error_name, message=_ascii(message)
        ),
    )


def not_supported(name: str, what: str) -> IgtlMessage:
    """``STATUS(ACK_<name>, 12 UNKNOWN)``: a request the robot does not handle (never silence).

    Args:
        name: the request's device name (its first 16 characters name the reply).
        what: how it is named in the message, e.g. ``STRING 'FOO'``.
    """
    return status(
        f"ACK_{name[:16]}",
        StatusCode.UNKNOWN_INSTRUCTION,
        SubCode.UNKNOWN,
        f"{what} is not supported",
    )


def not_in_control(connection_id: int, holder: int | None) -> str:
    """Why a command from ``connection_id`` is refused with 5 NOT_IN_CONTROL, and how to take it."""
    if holder is None:
        how = (
            "nobody holds it now: any workphase command (CMD_) or RETRACT_NEEDLE from this "
            "connection takes it"
        )
    else:
        how = (
            f"connection {holder} holds it until it disconnects; STOP and EMERGENCY work from "
            "anyone"
        )
    return f"connection {connection_id} does not hold command authority ({how})"


def current_status(phase: str) -> IgtlMessage:
    """``STATUS(CURRENT_STATUS, 1, 0, <phase in effect>)``."""
    return IgtlMessage(
        device_name="CURRENT_STATUS",
        body=StatusBody(code=int(StatusCode.OK), subcode=0, error_name=phase),
    )


def transform(name: str, matrix: Transform) -> IgtlMessage:
    """``TRANSFORM(name, matrix)`` (RAS mm)."""
    m = np.array(matrix, dtype=np.float64)
    m[3] = (0.0, 0.0, 0.0, 1.0)
    return IgtlMessage(device_name=name, body=TransformBody(matrix_ras_mm=m))


def string(name: str, text: str) -> IgtlMessage:
    """``STRING(name, text)`` (US-ASCII)."""
    return IgtlMessage(device_name=name[:20], body=StringBody(text=_ascii(text)))


def rts(data_type: str, status_byte: int, device_name: str = "") -> IgtlMessage:
    """``RTS_<data_type>`` with one status byte (0 ok, 1 error)."""
    return IgtlMessage(
        device_name=device_name, body=RtsBody(data_type=data_type, status=status_byte)
    )
