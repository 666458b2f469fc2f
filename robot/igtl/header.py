"""The 58-byte OpenIGTLink header, the header-v2 extension and metadata, names and timestamps.

Sans-I/O: bytes in, values out. Layouts are OPENIGTLINK.md sections 1.1 and 1.3.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Final

from robot.igtl.errors import IgtlHeaderError, IgtlMetadataError

__all__ = [
    "EXT_HEADER_SIZE",
    "HEADER_SIZE",
    "SUPPORTED_HEADER_VERSIONS",
    "Header",
    "V2Parts",
    "decode_name",
    "encode_name",
    "pack_header",
    "pack_v2_body",
    "split_v2_body",
    "timestamp_from_s",
    "timestamp_to_s",
    "unpack_header",
]

HEADER_SIZE: Final = 58
EXT_HEADER_SIZE: Final = 12
TYPE_WIDTH: Final = 12
NAME_WIDTH: Final = 20
SUPPORTED_HEADER_VERSIONS: Final = (1, 2)
_HEADER: Final = struct.Struct(">H12s20sQQQ")
_EXT: Final = struct.Struct(">HHII")
_META_INDEX: Final = struct.Struct(">HHI")
_U16: Final = struct.Struct(">H")
_MIB_ASCII: Final = 3
_MIB_UTF8: Final = 106
_FRACTION_SCALE: Final = 1 << 32


@dataclass(frozen=True, slots=True, kw_only=True)
class Header:
    """A decoded 58-byte header.

    Attributes:
        version: header version (1 or 2).
        message_type: TYPE, printable ASCII.
        device_name_raw: DEVICE_NAME up to the first NUL, undecoded (checked by the codec).
        timestamp: 64-bit timestamp: Unix seconds << 32 | binary fraction; 0 = unset.
        body_size: BODY_SIZE in bytes.
        crc: the CRC field (CRC-64 of the body as sent).
    """

    version: int
    message_type: str
    device_name_raw: bytes
    timestamp: int
    body_size: int
    crc: int


@dataclass(frozen=True, slots=True, kw_only=True)
class V2Parts:
    """A header-v2 body split into its parts."""

    content: memoryview
    message_id: int
    metadata: tuple[tuple[str, str], ...]


def _is_printable(raw: bytes) -> bool:
    return all(0x20 <= b <= 0x7E for b in raw)  # noqa: PLR2004 - printable ASCII range


def encode_name(name: str, *, width: int, field: str) -> bytes:
    """Encode a TYPE or DEVICE_NAME: printable ASCII, at most ``width`` bytes (never truncated).

    Raises:
        ValueError: non-printable or too long.
    """
    raw = name.encode("ascii", errors="replace")
    if not name.isascii() or not _is_printable(raw):
        raise ValueError(f"{field} {name!r} must be printable ASCII")
    if len(raw) > width:
        raise ValueError(f"{field} {name!r} is {len(raw)} B, at most {width} B")
    return raw


def decode_name(raw: bytes, *, field: str) -> str:
    """Decode a name received up to its first NUL (or the full width).

    Raises:
        ValueError: a byte is not printable ASCII.
    """
    if not _is_printable(raw):
        raise ValueError(f"{field} {raw!r} is not printable ASCII")
    return raw.decode("ascii")


def timestamp_from_s(t_s: float) -> int:
    """Encode Unix seconds as the 64-bit timestamp (fraction in units of 2**-32 s)."""
    if not math.isfinite(t_s) or t_s < 0 or t_s >= _FRACTION_SCALE:
        raise ValueError(f"timestamp {t_s} s is outside 0 .. 2**32 s")
    seconds = int(t_s)
    fraction = min(round((t_s - seconds) * _FRACTION_SCALE), _FRACTION_SCALE - 1)
    return (seconds << 32) | fraction


def timestamp_to_s(timestamp: int) -> float:
    """Decode the 64-bit timestamp into Unix seconds (0.0 when unset)."""
    return (timestamp >> 32) + (timestamp & (_FRACTION_SCALE - 1)) / _FRACTION_SCALE


def pack_header(
    *,
    version: int,
    message_type: str,
    device_name: str,
    timestamp: int,
    body_size: int,
    crc: int,
) -> bytes:
    """Pack the 58-byte header.

    Raises:
        ValueError: a name is not printable ASCII or too long, or a number is out of range.
    """
    if version not in SUPPORTED_HEADER_VERSIONS:
        raise ValueError(f"header version {version} is not one of {SUPPORTED_HEADER_VERSIONS}")
    type_raw = encode_name(message_type, width=TYPE_WIDTH, field="TYPE")
    if not type_raw:
        raise ValueError("TYPE must not be empty")
    name_raw = encode_name(device_name, width=NAME_WIDTH, field="DEVICE_NAME")
    try:
        return _HEADER.pack(version, type_raw, name_raw, timestamp, body_size, crc)
    except struct.error as err:
        raise ValueError(f"header field out of range: {err}") from err


def unpack_header(data: bytes | bytearray | memoryview) -> Header:
    """Unpack the 58-byte header.

    Raises:
        IgtlHeaderError: unsupported version or a TYPE that is empty or not printable ASCII
            (the stream cannot be trusted any more: the connection is closed).
    """
    if len(data) != HEADER_SIZE:
        raise ValueError(f"header must be {HEADER_SIZE} B, got {len(data)} B")
    version, type_raw, name_raw, timestamp, body_size, crc = _HEADER.unpack(data)
    type_raw = type_raw.split(b"\0", 1)[0]
    name_raw = name_raw.split(b"\0", 1)[0]
    shown = {
        "message_type": type_raw.decode("ascii", errors="backslashreplace"),
        "device_name": name_raw.decode("ascii", errors="backslashreplace"),
    }
    if version not in SUPPORTED_HEADER_VERSIONS:
        raise IgtlHeaderError(f"header version {version} is not 1 or 2", **shown)
    if not type_raw or not _is_printable(type_raw):
        raise IgtlHeaderError(f"TYPE {type_raw!r} is empty or not printable ASCII", **shown)
    return Header(
        version=version,
        message_type=type_raw.decode("ascii"),
        device_name_raw=name_raw,
        timestamp=timestamp,
        body_size=body_size,
        crc=crc,
    )


def pack_v2_body(
    content: bytes, *, message_id: int, metadata: tuple[tuple[str, str], ...]
) -> bytes:
    """Wrap content as a header-v2 body: extended header, content, metadata header, metadata.

    Keys are ASCII; values are sent as US-ASCII (3) when they are ASCII, else UTF-8 (106).
    """
    index = bytearray(_U16.pack(len(metadata)))
    data = bytearray()
    for key, value in metadata:
        key_raw = encode_name(key, width=0xFFFF, field="metadata key")
        mib = _MIB_ASCII if value.isascii() else _MIB_UTF8
        value_raw = value.encode("ascii" if mib == _MIB_ASCII else "utf-8")
        index += _META_INDEX.pack(len(key_raw), mib, len(value_raw))
        data += key_raw + value_raw
    try:
        ext = _EXT.pack(EXT_HEADER_SIZE, len(index), len(data), message_id)
    except struct.error as err:
        raise ValueError(f"header-v2 field out of range: {err}") from err
    return ext + content + bytes(index) + bytes(data)


def split_v2_body(body: memoryview) -> V2Parts:
    """Split a header-v2 body strictly; ``META_HEADER_SIZE`` 0 (no metadata) is accepted.

    Every size field is checked against the bytes present before anything is read at it, so a
    malformed body raises :class:`IgtlMetadataError` (never ``struct.error`` or ``IndexError``).

    Raises:
        IgtlMetadataError: sizes that do not add up, bad encodings, duplicate keys.
    """
    if len(body) < EXT_HEADER_SIZE:
        raise IgtlMetadataError(f"v2 body of {len(body)} B is shorter than the 12 B ext header")
    ext_size, meta_header_size, meta_size, message_id = _EXT.unpack_from(body)
    if ext_size != EXT_HEADER_SIZE:
        raise IgtlMetadataError(f"EXT_HEADER_SIZE {ext_size}, must be {EXT_HEADER_SIZE}")
    if meta_header_size == 0:
        if meta_size != 0:
            raise IgtlMetadataError(f"META_SIZE {meta_size} B without a metadata header")
        return V2Parts(content=body[ext_size:], message_id=message_id, metadata=())
    if meta_header_size < _U16.size:
        raise IgtlMetadataError(
            f"META_HEADER_SIZE {meta_header_size} B cannot hold its {_U16.size} B INDEX_COUNT"
        )
    content_size = len(body) - ext_size - meta_header_size - meta_size
    if content_size < 0:
        raise IgtlMetadataError(
            f"ext header {ext_size} + metadata header {meta_header_size} + metadata {meta_size} B "
            f"exceed the body of {len(body)} B"
        )
    content = body[ext_size : ext_size + content_size]
    meta = body[ext_size + content_size :]
    (count,) = _U16.unpack_from(meta)
    if meta_header_size != _U16.size + _META_INDEX.size * count:
        raise IgtlMetadataError(
            f"META_HEADER_SIZE {meta_header_size} B disagrees with INDEX_COUNT {count} "
            f"(needs {_U16.size + _META_INDEX.size * count} B)"
        )
    entries = [
        _META_INDEX.unpack_from(meta, _U16.size + _META_INDEX.size * i) for i in range(count)
    ]
    declared = sum(key + value for key, _, value in entries)
    if declared != meta_size:
        raise IgtlMetadataError(
            f"metadata key and value sizes add up to {declared} B, META_SIZE says {meta_size} B"
        )
    offset = meta_header_size
    pairs: dict[str, str] = {}
    for key_size, mib, value_size in entries:
        key_raw = bytes(meta[offset : offset + key_size])
        value_raw = bytes(meta[offset + key_size : offset + key_size + value_size])
        offset += key_size + value_size
        if mib not in (_MIB_ASCII, _MIB_UTF8):
            raise IgtlMetadataError(f"metadata value encoding MIBenum {mib} is not 3 or 106")
        try:
            key = decode_name(key_raw, field="metadata key")
            value = value_raw.decode("ascii" if mib == _MIB_ASCII else "utf-8")
        except ValueError as err:  # UnicodeDecodeError included
            raise IgtlMetadataError(f"metadata entry {key_raw!r}: {err}") from err
        if not key or key in pairs:
            raise IgtlMetadataError(f"metadata key {key!r} is empty or repeated")
        pairs[key] = value
    return V2Parts(content=content, message_id=message_id, metadata=tuple(pairs.items()))
