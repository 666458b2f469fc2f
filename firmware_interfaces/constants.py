"""Protocol-wide constants: versions, sizes and the CRC check value."""

from __future__ import annotations

from typing import Final

__all__ = [
    "CRC_BYTES",
    "CRC_CHECK_INPUT",
    "CRC_CHECK_VALUE",
    "FRAME_DELIMITER",
    "HEADER_BYTES",
    "MAX_AXES",
    "MAX_FRAME_BYTES",
    "MAX_PAYLOAD_BYTES",
    "MAX_WIRE_BYTES",
    "MIN_FRAME_BYTES",
    "NO_AXIS",
    "PROTOCOL_VERSION_MAJOR",
    "PROTOCOL_VERSION_MINOR",
]

PROTOCOL_VERSION_MAJOR: Final = 1
"""Carried in every frame's version byte; peers with another major cannot talk."""
PROTOCOL_VERSION_MINOR: Final = 0
"""Backward-compatible additions; the lower minor of the two peers is agreed in the handshake."""

MAX_AXES: Final = 8
"""Most axes one controller drives (axis masks are one byte)."""
NO_AXIS: Final = 0xFF
"""Axis index meaning "not about one axis" (global parameters, faults of the whole controller)."""

HEADER_BYTES: Final = 5
"""version u8, type u8, seq u16 LE, len u8."""
CRC_BYTES: Final = 4
"""CRC-32/ISO-HDLC, u32 little-endian, over version..payload."""
MIN_FRAME_BYTES: Final = HEADER_BYTES + CRC_BYTES
"""A frame with an empty payload."""
MAX_PAYLOAD_BYTES: Final = 240
"""Largest payload any message may declare."""
MAX_FRAME_BYTES: Final = HEADER_BYTES + MAX_PAYLOAD_BYTES + CRC_BYTES
"""Largest raw frame before COBS (249): fits one COBS block, so COBS adds exactly one byte."""
MAX_WIRE_BYTES: Final = MAX_FRAME_BYTES + 1 + 1
"""Largest frame on the wire (251): COBS-encoded frame plus its 0x00 delimiter."""
FRAME_DELIMITER: Final = b"\x00"
"""Ends every frame; optionally also sent before one to flush half-received garbage."""

CRC_CHECK_INPUT: Final = b"123456789"
"""Standard CRC check input."""
CRC_CHECK_VALUE: Final = 0xCBF43926
"""CRC-32/ISO-HDLC of ``CRC_CHECK_INPUT``; pins the CRC variant (poly, init, reflection, xorout)."""
