"""Exceptions of the wire protocol, and the kinds of frame faults the decoder reports."""

from __future__ import annotations

from enum import Enum

__all__ = [
    "FaultKind",
    "FrameDecodeError",
    "MessageValueError",
    "ProtocolError",
    "ProtocolVersionError",
]


class FaultKind(Enum):
    """Why a received frame was dropped (one decoder counter per kind).

    Meanings: ``firmware_interfaces.enum_docs.FAULT_KIND_DOCS``.
    """

    OVERSIZE = "oversize"
    COBS = "cobs"
    SHORT = "short"
    CRC = "crc"
    BAD_VERSION = "bad_version"
    BAD_LENGTH = "bad_length"
    UNKNOWN_TYPE = "unknown_type"
    BAD_PAYLOAD = "bad_payload"


class ProtocolError(Exception):
    """Base of every error raised by ``firmware_interfaces``."""


class ProtocolVersionError(ProtocolError):
    """Host and firmware speak different protocol majors.

    Attributes:
        host: the host's ``(major, minor)``.
        firmware: the firmware's ``(major, minor)``.
    """

    def __init__(self, *, host: tuple[int, int], firmware: tuple[int, int]) -> None:
        self.host = host
        self.firmware = firmware
        super().__init__(
            f"protocol version mismatch: host speaks {host[0]}.{host[1]}, firmware speaks "
            f"{firmware[0]}.{firmware[1]}; the majors must be equal"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_version_error, (self.host, self.firmware))


def _rebuild_version_error(
    host: tuple[int, int], firmware: tuple[int, int]
) -> ProtocolVersionError:
    return ProtocolVersionError(host=host, firmware=firmware)


class MessageValueError(ProtocolError, ValueError):
    """A message was built with a value its wire field cannot carry or the protocol forbids.

    Attributes:
        message_name: the message (or record) class name.
        field: the offending field.
        value: the offending value.
    """

    def __init__(self, message_name: str, field: str, value: object, reason: str) -> None:
        self.message_name = message_name
        self.field = field
        self.value = value
        super().__init__(f"{message_name}.{field} = {value!r}: {reason}")


class FrameDecodeError(ProtocolError):
    """A frame could not be decoded.

    Attributes:
        kind: which check failed.
        detail: what was found, with values.
        seq: the frame's seq when its CRC was good (its header can be trusted), else ``None``.
        type_id: the frame's type byte when its CRC was good, else ``None``.
    """

    def __init__(
        self, kind: FaultKind, detail: str, *, seq: int | None = None, type_id: int | None = None
    ) -> None:
        self.kind = kind
        self.detail = detail
        self.seq = seq
        self.type_id = type_id
        super().__init__(f"{kind.value}: {detail}")

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_decode_error, (self.kind, self.detail, self.seq, self.type_id))


def _rebuild_decode_error(
    kind: FaultKind, detail: str, seq: int | None, type_id: int | None
) -> FrameDecodeError:
    return FrameDecodeError(kind, detail, seq=seq, type_id=type_id)
