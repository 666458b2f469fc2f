"""One frame: header, payload and CRC-32, COBS-encoded and ended by a 0x00 delimiter.

Raw frame: ``version u8 | type u8 | seq u16 LE | len u8 | payload | crc32 u32 LE``, the CRC
(CRC-32/ISO-HDLC, ``zlib.crc32``) taken over version..payload. On the wire the raw frame is
COBS-encoded and followed by one 0x00.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

from cobs import cobs

from firmware_interfaces.codec import decode_payload, encode_body
from firmware_interfaces.constants import (
    CRC_BYTES,
    FRAME_DELIMITER,
    HEADER_BYTES,
    MAX_FRAME_BYTES,
    MIN_FRAME_BYTES,
    PROTOCOL_VERSION_MAJOR,
)
from firmware_interfaces.errors import FaultKind, FrameDecodeError

if TYPE_CHECKING:
    from firmware_interfaces.messages import Message

__all__ = ["Frame", "crc32", "decode_frame", "encode_frame", "encode_raw_frame"]

_HEADER: Final = struct.Struct("<BBHB")
_CRC: Final = struct.Struct("<I")


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """A decoded frame.

    Attributes:
        version: the frame's version byte (the protocol major).
        seq: the sender's sequence number (u16, wraps).
        message: the decoded message.
    """

    version: int
    seq: int
    message: Message


def crc32(data: bytes) -> int:
    """CRC-32/ISO-HDLC of ``data`` (poly 0x04C11DB7 reflected, init and xorout 0xFFFFFFFF)."""
    return zlib.crc32(data)


def encode_raw_frame(message: Message, seq: int) -> bytes:
    """Header, payload and CRC of one frame, before COBS.

    Raises:
        TypeError: ``message`` is not a catalog message.
        ValueError: ``seq`` is outside 0..65535.
    """
    body = encode_body(message, seq)
    return body + _CRC.pack(zlib.crc32(body))


def encode_frame(message: Message, seq: int, *, leading_delimiter: bool = False) -> bytes:
    """Encode one message as wire bytes: COBS(frame) + 0x00 (and a 0x00 before it if asked).

    Args:
        message: any catalog message (already checked when it was built).
        seq: the sender's sequence number, 0..65535.
        leading_delimiter: also send a 0x00 first, which ends any half-received garbage at the
            far end (do this for the first frame after opening a link).

    Raises:
        TypeError: ``message`` is not a catalog message.
        ValueError: ``seq`` is outside 0..65535.
    """
    body = encode_body(message, seq)
    wire = cast("bytes", cobs.encode(body + _CRC.pack(zlib.crc32(body)))) + FRAME_DELIMITER
    return FRAME_DELIMITER + wire if leading_delimiter else wire


def decode_frame(wire: bytes) -> Frame:
    """Decode the bytes of one frame as received, without its 0x00 delimiter.

    Checks, in order: COBS, size, CRC, version, len byte, type, layout length, values.

    Raises:
        FrameDecodeError: the frame is invalid; ``kind`` says which check failed.
    """
    try:
        raw = cast("bytes", cobs.decode(wire))
    except cobs.DecodeError as err:
        raise FrameDecodeError(FaultKind.COBS, f"{err} ({len(wire)} wire bytes)") from err
    size = len(raw)
    if size < MIN_FRAME_BYTES:
        raise FrameDecodeError(
            FaultKind.SHORT, f"{size} bytes after COBS, a frame has at least {MIN_FRAME_BYTES}"
        )
    if size > MAX_FRAME_BYTES:
        raise FrameDecodeError(
            FaultKind.OVERSIZE, f"{size} bytes after COBS, a frame has at most {MAX_FRAME_BYTES}"
        )
    body_end = size - CRC_BYTES
    (received,) = _CRC.unpack_from(raw, body_end)
    computed = zlib.crc32(memoryview(raw)[:body_end])
    if received != computed:
        raise FrameDecodeError(
            FaultKind.CRC, f"received CRC {received:#010x}, computed {computed:#010x}"
        )
    version, type_id, seq, length = _HEADER.unpack_from(raw)
    if version != PROTOCOL_VERSION_MAJOR:
        raise FrameDecodeError(
            FaultKind.BAD_VERSION,
            f"frame has protocol major {version}, this side speaks {PROTOCOL_VERSION_MAJOR}",
            seq=seq,
            type_id=type_id,
        )
    if length != body_end - HEADER_BYTES:
        raise FrameDecodeError(
            FaultKind.BAD_LENGTH,
            f"len byte says {length} payload bytes, the frame holds {body_end - HEADER_BYTES}",
            seq=seq,
            type_id=type_id,
        )
    try:
        message = decode_payload(type_id, raw[HEADER_BYTES:body_end])
    except FrameDecodeError as err:
        raise FrameDecodeError(err.kind, err.detail, seq=seq, type_id=type_id) from err
    return Frame(version=version, seq=seq, message=message)
