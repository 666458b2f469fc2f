"""The error STATUS that answers a frame the transport could not deliver (never silence).

A frame is dropped when its CRC is wrong, its header-v2 parts or its content are malformed, its
STRING encoding is not one we read, or its TYPE is not decoded here. The peer that sent it gets
one ``STATUS`` naming why, on the same connection:

* device name ``ACK_<id>`` when the frame was named ``CMD_``/``CLB_``/``TGT_``/``NPOS_<id>`` (a
  BRP request: its console waits for ``ACK_<id>``), else ``ACK_`` and the first 16 characters of
  the name as received (non-printable bytes shown as ``?``);
* code 9 (checksum error) for a CRC mismatch, 12 (illegal or unknown instruction) otherwise;
  sub-code 11 ``BAD_VALUE`` for a malformed frame, 12 ``UNKNOWN`` for an unknown TYPE (the BRP
  sub-codes, numbered as ``safety.SubCode`` numbers them);
* the reason as the STATUS message, with the TYPE and name as received.

A header that cannot be trusted (VERSION, TYPE, BODY_SIZE over its limit) closes the connection;
the same STATUS goes out first, best effort.

Sans-I/O: the connection sends what :func:`rejection` returns. :func:`is_dummy_status` recognises
the one frame that is consumed without any reply: the STATUS Slicer sends at every connect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from robot.igtl.ack import parse_command_id
from robot.igtl.errors import IgtlCrcError, IgtlHeaderError, IgtlUnknownTypeError
from robot.igtl.messages import IgtlMessage, StatusBody, StatusCode

if TYPE_CHECKING:
    from robot.igtl.errors import IgtlDecodeError

__all__ = ["DUMMY_METADATA", "is_dummy_status", "rejection", "reply_name"]

_REQUEST_PREFIXES: Final = ("CMD_", "CLB_", "TGT_", "NPOS_")
_NAME_CHARS: Final = 16
_MESSAGE_CHARS: Final = 1000
#: BRP sub-codes: numbers and ERROR_NAMEs as the workphase layer sends them (``safety.SubCode``).
SUB_BAD_VALUE: Final = (11, "BAD_VALUE")
SUB_UNKNOWN: Final = (12, "UNKNOWN")


#: The metadata entry of the STATUS Slicer's OpenIGTLinkIF sends at every connect to offer v2.
DUMMY_METADATA: Final = ("dummy", "dummy")


def is_dummy_status(message: IgtlMessage) -> bool:
    """Whether ``message`` is Slicer's connect-time probe: STATUS, empty name, ``dummy=dummy``.

    It asks for nothing; the connection notes its header version and consumes it unanswered.
    """
    return (
        isinstance(message.body, StatusBody)
        and message.device_name == ""
        and DUMMY_METADATA in message.metadata
    )


def _printable(raw: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b <= 0x7E else "?" for b in raw)  # noqa: PLR2004


def reply_name(device_name_raw: bytes) -> str:
    """The device name of the answer to a request named ``device_name_raw`` (see module doc)."""
    name = _printable(device_name_raw)
    if name.encode("ascii") == device_name_raw:  # printable as received: maybe a BRP request
        for prefix in _REQUEST_PREFIXES:
            command_id = parse_command_id(name, prefix)
            if command_id is not None:
                return f"ACK_{command_id}"
    return f"ACK_{name[:_NAME_CHARS]}"


def rejection(device_name_raw: bytes, error: IgtlDecodeError) -> IgtlMessage:
    """The error STATUS answering the frame ``error`` dropped."""
    if isinstance(error, IgtlCrcError):
        code, (sub_code, error_name) = StatusCode.CHECKSUM_ERROR, SUB_BAD_VALUE
    elif isinstance(error, IgtlUnknownTypeError):
        code, (sub_code, error_name) = StatusCode.UNKNOWN_INSTRUCTION, SUB_UNKNOWN
    else:
        code, (sub_code, error_name) = StatusCode.UNKNOWN_INSTRUCTION, SUB_BAD_VALUE
    kind = _printable(error.message_type.encode("ascii", "replace")) or "?"
    text = f"{kind}({_printable(device_name_raw)}) dropped: {_printable(error.reason.encode())}"
    if isinstance(error, IgtlHeaderError):
        text += "; the stream cannot be trusted, connection closed"
    return IgtlMessage(
        device_name=reply_name(device_name_raw),
        body=StatusBody(
            code=int(code),
            subcode=sub_code,
            error_name=error_name,
            message=text[:_MESSAGE_CHARS],
        ),
    )
