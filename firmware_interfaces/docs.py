"""Generate ``docs/PROTOCOL.md``, the byte-by-byte description of the wire protocol.

Everything in the document (ids, offsets, sizes, units, enum values, the example frames) comes
from the catalog and the codec, so the document cannot drift from the code unnoticed: a test
compares the committed file with this generator's output.
"""

from __future__ import annotations

from enum import IntFlag
from typing import TYPE_CHECKING

from firmware_interfaces import constants as k
from firmware_interfaces.catalog import MESSAGE_CLASSES, layout_for
from firmware_interfaces.enum_docs import ENUM_DOCS, FAULT_KIND_DOCS, PARAM_UNITS
from firmware_interfaces.enums import Direction, MessageType, ParamId
from firmware_interfaces.errors import FaultKind
from firmware_interfaces.fields import FieldKind
from firmware_interfaces.framing import encode_frame, encode_raw_frame
from firmware_interfaces.header import C_RESULT_CODES
from firmware_interfaces.messages import Heartbeat
from firmware_interfaces.samples import sample_messages

if TYPE_CHECKING:
    from firmware_interfaces.fields import FieldSpec, Layout

__all__ = ["PROTOCOL_MD_NAME", "generate_protocol_md"]

PROTOCOL_MD_NAME = "PROTOCOL.md"
"""File name of the document under ``docs/``."""


def _type_text(spec: FieldSpec) -> str:
    if spec.kind is FieldKind.BOOL:
        return "u8 (bool)"
    if spec.enum is not None:
        return f"{spec.wire.name} ({spec.enum.__name__})"
    return spec.wire.name


def _allowed(spec: FieldSpec) -> str:
    if spec.kind is FieldKind.BOOL:
        return "0 or 1"
    if spec.kind is FieldKind.ENUM and spec.enum is not None:
        return f"a {spec.enum.__name__} value"
    if spec.kind is FieldKind.OPEN_ENUM:
        return f"any (a {spec.enum.__name__ if spec.enum else ''} value when known)"
    if spec.kind is FieldKind.FLAG and spec.enum is not None:
        return f"{spec.enum.__name__} bits only"
    text = f"{spec.lo}..{spec.hi}"
    return text + " or 255 (no axis)" if spec.no_axis_allowed else text


def _field_rows(fields: tuple[FieldSpec, ...], start: int, prefix: str = "") -> list[str]:
    rows = []
    offset = start
    for spec in fields:
        unit = "" if spec.unit in ("", "param", "code") else spec.unit
        if spec.unit == "param":
            unit = "per ParamId"
        rows.append(
            f"| {prefix}{offset} | `{spec.name}` | {_type_text(spec)} | {unit or '-'} | "
            f"{_allowed(spec)} | {spec.doc} |"
        )
        offset += spec.wire.size
    return rows


def _message_section(message_type: MessageType, layout: Layout) -> list[str]:
    cls = MESSAGE_CLASSES[message_type]
    doc = (cls.__doc__ or "").strip().splitlines()
    arrow = "host → firmware" if cls.DIRECTION is Direction.HOST_TO_FIRMWARE else "firmware → host"
    if layout.has_axes:
        size = (
            f"{layout.fixed_size} + axis_count \u00d7 {layout.record_size} bytes "
            f"(axis_count {layout.min_axes}..{k.MAX_AXES})"
        )
    else:
        size = f"{layout.fixed_size} bytes"
    out = [
        f"### {message_type.name} (0x{int(message_type):02X}, {cls.__name__}), {arrow}",
        "",
        " ".join(line.strip() for line in doc),
        "",
        f"Payload: {size}.",
        "",
    ]
    if layout.fixed_size:
        out += [
            "| Offset | Field | Type | Unit | Allowed | Meaning |",
            "|---|---|---|---|---|---|",
            *_field_rows(layout.fixed, 0),
        ]
        if layout.has_axes:
            out.append(
                f"| {layout.fixed_size - 1} | `axis_count` | u8 | - | "
                f"{layout.min_axes}..{k.MAX_AXES} | number of per-axis records that follow |"
            )
            owner = layout.record.__name__ if layout.record is not None else "entry i of each tuple"
            record_text = (
                f"Per-axis record i ({owner}, {layout.record_size} bytes) starts at payload "
                f"offset {layout.fixed_size} + i \u00d7 {layout.record_size}; offsets below are "
                "within it:"
            )
            out += [
                "",
                record_text,
                "",
                "| Offset | Field | Type | Unit | Allowed | Meaning |",
                "|---|---|---|---|---|---|",
                *_field_rows(layout.per_axis, 0, "+"),
            ]
        out.append("")
    sample = sample_messages()[message_type]
    wire = encode_frame(sample, 1)
    out += [
        f"Example (seq 1): `{sample!r}`",
        "",
        "```",
        wire.hex(" "),
        "```",
        "",
    ]
    return out


def _enum_sections() -> list[str]:
    out = ["## 9. Enumerations", ""]
    for enum, docs in ENUM_DOCS.items():
        kind = "bit flags, combine with OR" if issubclass(enum, IntFlag) else "values"
        out += [f"### {enum.__name__} ({kind})", "", "| Value | Name | Meaning |", "|---|---|---|"]
        for member in enum:
            value = f"0x{int(member):04X}" if issubclass(enum, IntFlag) else str(int(member))
            meaning = docs[int(member)]
            if enum is ParamId:
                meaning += f"; value unit {PARAM_UNITS[ParamId(member)]}"
            out.append(f"| {value} | `{member.name}` | {meaning} |")
        out.append("")
    return out


def _example_frame() -> str:
    message = Heartbeat(counter=0x0A0B0C0D)
    raw = encode_raw_frame(message, 0x1234)
    wire = encode_frame(message, 0x1234)
    rows = [
        f"version  {raw[0]:02x}             type     {raw[1]:02x}",
        f"seq      {raw[2:4].hex(' ')}          (0x1234 LE)",
        f"len      {raw[4]:02x}",
        f"payload  {raw[5:9].hex(' ')}    (counter 0x0A0B0C0D LE)",
        f"crc32    {raw[9:13].hex(' ')}    (zlib.crc32 of the 9 bytes before it, LE)",
        f"wire     {wire.hex(' ')}",
    ]
    return f"Example: `{message!r}` with seq 0x1234.\n\n```\n" + "\n".join(rows) + "\n```"


def _catalog_table() -> list[str]:
    out = [
        "| Id | Type | Direction | Payload bytes | Meaning |",
        "|---|---|---|---|---|",
    ]
    for message_type in MessageType:
        cls = MESSAGE_CLASSES[message_type]
        layout = layout_for(message_type)
        size = str(layout.fixed_size)
        if layout.has_axes:
            size += f" + n \u00d7 {layout.record_size}"
        arrow = "host → fw" if cls.DIRECTION is Direction.HOST_TO_FIRMWARE else "fw → host"
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        out.append(
            f"| 0x{int(message_type):02X} | {message_type.name} | {arrow} | {size} | {doc} |"
        )
    return [*out, ""]


_INTRO = """\
# mrbot firmware wire protocol

<!-- GENERATED by firmware_interfaces.docs from the message catalog; do not edit. -->

Protocol version {major}.{minor}. The same catalog generates the Python codec
(`firmware_interfaces`), the C header (`firmware_interfaces/c/mrbot_protocol.h`) and this page.

## 1. Conventions

- All integers are little-endian; signed integers are two's complement.
- Values are fixed-point integers with the unit in the field name. **um** is a micro-joint-unit:
  micrometres on a linear axis, microradians on a rotary axis (IDENT's `axis_kinds` says which);
  **um/s** is that per second. ms/us are milliseconds/microseconds, hPa hectopascal.
- Axes are numbered 0..{last_axis} (`MAX_AXES` = {max_axes}); bit i of an `axis_mask` selects
  axis i; axis index 255 (`NO_AXIS`) means "not about one axis".
- Reserved bits and undefined enum values are errors, not ignored.

## 2. Frame layout

| Offset | Field | Type | Meaning |
|---|---|---|---|
| 0 | version | u8 | protocol major ({major}); frames of another major are dropped |
| 1 | type | u8 | message type (section 7) |
| 2 | seq | u16 | sender's sequence number, one counter per direction, wraps after 65535 |
| 4 | len | u8 | payload length n; must equal the type's layout |
| 5 | payload | n bytes | 0..{max_payload} bytes, layout per type (section 8) |
| 5+n | crc | u32 | CRC-32 over bytes 0..4+n (section 4) |

A raw frame has {min_frame}..{max_frame} bytes. On the wire it is COBS-encoded and followed by
one 0x00 delimiter: at most {max_wire} bytes.

{example}

## 3. COBS and delimiters

- Consistent Overhead Byte Stuffing (Cheshire & Baker): the encoded frame contains no 0x00; a
  raw frame of up to 254 bytes costs exactly one extra byte.
- Every frame ends with one 0x00. A sender may also send a 0x00 before a frame; it must do so
  before the first frame after opening a link, to end half-received garbage at the far end.
- Two delimiters in a row are an empty frame: skipped, not an error.
- A receiver that has buffered {max_run} bytes without a 0x00 reports one OVERSIZE fault and
  discards everything up to the next 0x00; it never buffers more.

## 4. CRC

| Parameter | Value |
|---|---|
| Name | CRC-32/ISO-HDLC (the CRC of zlib, Ethernet, PNG) |
| Width | 32 bits, sent little-endian |
| Poly | 0x04C11DB7 (normal form; 0xEDB88320 reflected) |
| Init | 0xFFFFFFFF |
| RefIn | true |
| RefOut | true |
| XorOut | 0xFFFFFFFF |
| Check | 0x{check:08X} = CRC of ASCII `123456789` |
| Covers | version, type, seq, len and payload (everything before the CRC) |
| Code | Python `zlib.crc32(data)`; C `mrbot_crc32()` in the generated header |

## 5. Receiving: checks in order

Each failed check drops the frame, counts it under its fault kind and resumes after the next
0x00, so one bad frame never costs the next good one. Faults found after the CRC passed carry the
frame's seq and type, so a firmware can NACK them; a corrupted frame (COBS or CRC failure) is
never answered, its sender times out.

| # | Check | Fault kind | C result |
|---|---|---|---|
{checks}

## 6. Handshake, acknowledgement, sequence numbers

- The host sends HELLO (its version and a random nonce); the firmware answers IDENT with its
  version, the same nonce, its axes and capabilities. The majors must be equal, else the host
  raises `ProtocolVersionError` naming both versions; the lower minor is used. HELLO and IDENT
  keep `protocol_major, protocol_minor` as their first two payload bytes in every major.
- Every host command except HEARTBEAT is answered by ACK or NACK echoing its seq and type. The
  firmware answers a repeated seq with its cached reply without executing again.
- MOVE is absolute and carries a command_id; a repeated command_id is not re-executed. There
  are no relative moves on the wire.
- JOG expires after its duration_ms unless renewed; HEARTBEAT keeps the firmware watchdog
  (IDENT `watchdog_ms`) from stopping the axes.

## 7. Message types

{catalog}

## 8. Messages

Offsets are within the payload (add 5 for the offset within the raw frame). Each example is the
complete wire frame (COBS + delimiter) of the sample message of its type.

"""

_CHECK_ORDER = (
    (FaultKind.OVERSIZE, "wire run within the largest frame"),
    (FaultKind.COBS, "valid COBS"),
    (FaultKind.SHORT, "at least {min_frame} bytes after COBS"),
    (FaultKind.CRC, "CRC matches"),
    (FaultKind.BAD_VERSION, "version byte is our major"),
    (FaultKind.BAD_LENGTH, "len byte equals the payload size"),
    (FaultKind.UNKNOWN_TYPE, "type is in the catalog"),
    (FaultKind.BAD_LENGTH, "payload size matches the type's layout and axis_count"),
    (FaultKind.BAD_PAYLOAD, "enums, flags, bools, axis counts and ranges are valid"),
)


def _checks_table() -> str:
    results = {name: value for name, value, _doc in C_RESULT_CODES}
    rows = []
    for number, (kind, check) in enumerate(_CHECK_ORDER, start=1):
        code = results[f"ERR_{kind.name}"]
        text = check.format(min_frame=k.MIN_FRAME_BYTES)
        rows.append(f"| {number} | {text} | `{kind.value}`: {FAULT_KIND_DOCS[kind]} | {code} |")
    return "\n".join(rows)


def generate_protocol_md() -> str:
    """Return the text of ``docs/PROTOCOL.md`` for the current catalog."""
    intro = _INTRO.format(
        major=k.PROTOCOL_VERSION_MAJOR,
        minor=k.PROTOCOL_VERSION_MINOR,
        last_axis=k.MAX_AXES - 1,
        max_axes=k.MAX_AXES,
        max_payload=k.MAX_PAYLOAD_BYTES,
        min_frame=k.MIN_FRAME_BYTES,
        max_frame=k.MAX_FRAME_BYTES,
        max_wire=k.MAX_WIRE_BYTES,
        max_run=k.MAX_WIRE_BYTES - 1,
        check=k.CRC_CHECK_VALUE,
        example=_example_frame(),
        checks=_checks_table(),
        catalog="\n".join(_catalog_table()).rstrip("\n"),
    )
    lines = intro.splitlines()
    for message_type in MessageType:
        lines += _message_section(message_type, layout_for(message_type))
    lines += _enum_sections()
    return "\n".join(lines).rstrip("\n") + "\n"
