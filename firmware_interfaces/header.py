"""Generate the C header ``c/mrbot_protocol.h`` from the message catalog.

The header carries the protocol constants, every enumeration, one packed struct per message
payload (and per-axis record), per-type payload validation with the same rules as the Python
decoder, and static inline CRC-32, COBS and frame encode/decode routines. Structs assume a
little-endian target, as the wire does; the header refuses to compile on a big-endian one.
"""

from __future__ import annotations

import re
from enum import IntEnum, IntFlag
from pathlib import Path
from typing import TYPE_CHECKING

from firmware_interfaces import constants as k
from firmware_interfaces.c_runtime import C_RUNTIME
from firmware_interfaces.catalog import MESSAGE_CLASSES, layout_for
from firmware_interfaces.enum_docs import ENUM_DOCS
from firmware_interfaces.enums import Direction, MessageType
from firmware_interfaces.errors import FaultKind
from firmware_interfaces.fields import FieldKind, FieldSpec

if TYPE_CHECKING:
    from firmware_interfaces.fields import Layout

__all__ = ["C_RESULT_CODES", "HEADER_PATH", "generate_header", "header_is_current"]

HEADER_PATH = Path(__file__).parent / "c" / "mrbot_protocol.h"
"""Where the committed header lives (shipped as package data)."""

C_RESULT_CODES: tuple[tuple[str, int, str], ...] = (
    ("OK", 0, "frame valid"),
    ("ERR_COBS", -1, f"FaultKind.{FaultKind.COBS.name}: not valid COBS"),
    ("ERR_SHORT", -2, f"FaultKind.{FaultKind.SHORT.name}: shorter than header + CRC"),
    ("ERR_OVERSIZE", -3, f"FaultKind.{FaultKind.OVERSIZE.name}: longer than the largest frame"),
    ("ERR_CRC", -4, f"FaultKind.{FaultKind.CRC.name}: CRC mismatch"),
    ("ERR_BAD_VERSION", -5, f"FaultKind.{FaultKind.BAD_VERSION.name}: other protocol major"),
    ("ERR_BAD_LENGTH", -6, f"FaultKind.{FaultKind.BAD_LENGTH.name}: len/layout mismatch"),
    ("ERR_UNKNOWN_TYPE", -7, f"FaultKind.{FaultKind.UNKNOWN_TYPE.name}: type not in catalog"),
    ("ERR_BAD_PAYLOAD", -8, f"FaultKind.{FaultKind.BAD_PAYLOAD.name}: invalid value"),
)
"""``mrbot_result_t``: name (after ``MRBOT_``), value, meaning; one error per ``FaultKind``."""


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _enum_prefix(enum: type[IntEnum] | type[IntFlag]) -> str:
    return "MRBOT_MSG" if enum is MessageType else f"MRBOT_{_snake(enum.__name__).upper()}"


def _struct_name(message_type: MessageType) -> str:
    return f"mrbot_{message_type.name.lower()}_t"


def _record_name(message_type: MessageType, layout: Layout) -> str:
    if layout.record is not None:
        return f"mrbot_{_snake(layout.record.__name__)}_t"
    return f"mrbot_{message_type.name.lower()}_axis_t"


def _section(title: str) -> str:
    return f"/* ---- {title} ".ljust(93, "-") + " */"


def _comment(text: str) -> str:
    return text.replace("*/", "* /")


def _field_comment(spec: FieldSpec) -> str:
    parts = [spec.doc]
    if spec.unit and spec.unit != "param":
        parts.append(f"[{spec.unit}]")
    if spec.enum is not None:
        parts.append(f"({spec.enum.__name__})")
    if spec.kind is FieldKind.BOOL:
        parts.append("(0 or 1)")
    narrowed = spec.lo != spec.wire.lo or spec.hi != spec.wire.hi
    if narrowed and spec.kind is FieldKind.INT:
        parts.append(f"range {spec.lo}..{spec.hi}" + (" or 0xFF" if spec.no_axis_allowed else ""))
    return _comment(" ".join(parts))


def _enums() -> list[str]:
    out = [_section("Enumerations")]
    enums: list[type[IntEnum] | type[IntFlag]] = [MessageType, *ENUM_DOCS]
    for enum in enums:
        prefix = _enum_prefix(enum)
        kind = "bit flags" if issubclass(enum, IntFlag) else "values"
        out.append(f"/* {enum.__name__} ({kind}) */")
        out.append("typedef enum {")
        docs = ENUM_DOCS.get(enum, {})
        for member in enum:
            doc = docs.get(int(member), "")
            if enum is MessageType:
                cls = MESSAGE_CLASSES[MessageType(member)]
                arrow = (
                    "host -> fw" if cls.DIRECTION is Direction.HOST_TO_FIRMWARE else "fw -> host"
                )
                doc = f"{arrow}: {(cls.__doc__ or '').splitlines()[0]}"
            out.append(f"    {prefix}_{member.name} = {int(member):#04x}, /**< {_comment(doc)} */")
        out.append(f"}} mrbot_{_snake(enum.__name__)}_t;")
        out.append("")
    return out


def _validity_functions() -> list[str]:
    out = []
    for enum in [MessageType, *ENUM_DOCS]:
        name = _snake(enum.__name__)
        if issubclass(enum, IntFlag):
            mask = 0
            for member in enum:
                mask |= int(member)
            out.append(f"#define MRBOT_{name.upper()}_MASK {mask:#06x}u")
            continue
        cases = " ".join(f"case {int(m)}:" for m in enum)
        out += [
            f"static inline int mrbot_valid_{name}(uint32_t v)",
            "{",
            "    switch (v) {",
            f"    {cases}",
            "        return 1;",
            "    default:",
            "        return 0;",
            "    }",
            "}",
        ]
    return [*out, ""]


def _struct(name: str, doc: str, fields: list[tuple[str, str, str]], size: int) -> list[str]:
    out = [f"/** {_comment(doc)} */", "typedef struct {"]
    out += [f"    {c_type} {field}; /**< {comment} */" for c_type, field, comment in fields]
    out += [f"}} {name};", f'MRBOT_STATIC_ASSERT(sizeof({name}) == {size}u, "{name} size");', ""]
    return out


def _structs() -> list[str]:
    out = [
        _section("Payload layouts (packed, little-endian)"),
        "#pragma pack(push, 1)",
    ]
    for message_type in MessageType:
        layout = layout_for(message_type)
        upper = message_type.name
        out.append(f"#define MRBOT_{upper}_PAYLOAD_BYTES {layout.fixed_size}u")
        if layout.has_axes:
            out.append(f"#define MRBOT_{upper}_RECORD_BYTES {layout.record_size}u")
        if not layout.fixed_size:
            out.append(f"/* {upper}: empty payload */")
            out.append("")
            continue
        fields = [(f.wire.c_type, f.name, _field_comment(f)) for f in layout.fixed]
        if layout.has_axes:
            fields.append(("uint8_t", "axis_count", f"records that follow ({layout.min_axes}..8)"))
        doc = (MESSAGE_CLASSES[message_type].__doc__ or "").splitlines()[0]
        out += _struct(_struct_name(message_type), f"{upper}: {doc}", fields, layout.fixed_size)
        if layout.has_axes:
            records = [(f.wire.c_type, f.name, _field_comment(f)) for f in layout.per_axis]
            record_doc = f"{upper}: one per-axis record; axis_count of them follow the fixed part"
            out += _struct(
                _record_name(message_type, layout), record_doc, records, layout.record_size
            )
    out += ["#pragma pack(pop)", ""]
    return out


def _checks(spec: FieldSpec, value: str) -> list[str]:
    """C conditions that make a field invalid, mirroring the Python decoder."""
    if spec.kind is FieldKind.BOOL:
        return [f"{value} > 1u"]
    if spec.kind is FieldKind.ENUM and spec.enum is not None:
        return [f"!mrbot_valid_{_snake(spec.enum.__name__)}({value})"]
    if spec.kind is FieldKind.FLAG and spec.enum is not None:
        return [f"({value} & ~MRBOT_{_snake(spec.enum.__name__).upper()}_MASK) != 0u"]
    if spec.kind is not FieldKind.INT:
        return []
    bad = []
    if spec.lo > spec.wire.lo:
        bad.append(f"{value} < {spec.lo}")
    if spec.hi < spec.wire.hi:
        bad.append(f"{value} > {spec.hi}")
    if bad and spec.no_axis_allowed:
        return [f"({' || '.join(bad)}) && {value} != {k.NO_AXIS}u"]
    return bad


def _validator(message_type: MessageType) -> list[str]:
    layout = layout_for(message_type)
    name = f"mrbot_validate_{message_type.name.lower()}"
    head = [f"static inline int {name}(const uint8_t *p, uint8_t len)", "{"]
    if not layout.fixed_size:
        return [
            *head,
            "    (void)p;",
            "    return len == 0u ? MRBOT_OK : MRBOT_ERR_BAD_LENGTH;",
            "}",
        ]
    struct = _struct_name(message_type)
    body = [f"    {struct} f;"]
    if not layout.has_axes:
        body += ["    if (len != sizeof f) {", "        return MRBOT_ERR_BAD_LENGTH;", "    }"]
        body += ["    memcpy(&f, p, sizeof f);"]
    else:
        record = _record_name(message_type, layout)
        body += [
            "    if (len < sizeof f) {",
            "        return MRBOT_ERR_BAD_LENGTH;",
            "    }",
            "    memcpy(&f, p, sizeof f);",
            "    if (f.axis_count > MRBOT_MAX_AXES) {",
            "        return MRBOT_ERR_BAD_PAYLOAD;",
            "    }",
            f"    if ((size_t)len != sizeof f + (size_t)f.axis_count * sizeof({record})) {{",
            "        return MRBOT_ERR_BAD_LENGTH;",
            "    }",
        ]
        if layout.min_axes:
            body += [
                f"    if (f.axis_count < {layout.min_axes}u) {{",
                "        return MRBOT_ERR_BAD_PAYLOAD;",
                "    }",
            ]
    for spec in layout.fixed:
        body += [
            line
            for cond in _checks(spec, f"f.{spec.name}")
            for line in (f"    if ({cond}) {{", "        return MRBOT_ERR_BAD_PAYLOAD;", "    }")
        ]
    record_checks = [c for spec in layout.per_axis for c in _checks(spec, f"r.{spec.name}")]
    if record_checks:
        record = _record_name(message_type, layout)
        body += [
            "    for (uint8_t i = 0; i < f.axis_count; ++i) {",
            f"        {record} r;",
            "        memcpy(&r, p + sizeof f + (size_t)i * sizeof r, sizeof r);",
        ]
        for cond in record_checks:
            body += [
                f"        if ({cond}) {{",
                "            return MRBOT_ERR_BAD_PAYLOAD;",
                "        }",
            ]
        body += ["    }"]
    return [*head, *body, "    return MRBOT_OK;", "}"]


def _validators() -> list[str]:
    out = [_section("Payload validation: same rules as the Python decoder")]
    for message_type in MessageType:
        out += [*_validator(message_type), ""]
    out += [
        "/* Returns MRBOT_OK or a negative mrbot_result_t for a payload of the given type. */",
        "static inline int mrbot_payload_validate(uint8_t type, const uint8_t *p, uint8_t len)",
        "{",
        "    switch (type) {",
    ]
    for message_type in MessageType:
        out += [
            f"    case MRBOT_MSG_{message_type.name}:",
            f"        return mrbot_validate_{message_type.name.lower()}(p, len);",
        ]
    out += ["    default:", "        return MRBOT_ERR_UNKNOWN_TYPE;", "    }", "}"]
    return out


def _constants() -> list[str]:
    values = [
        ("PROTOCOL_VERSION_MAJOR", k.PROTOCOL_VERSION_MAJOR, "frame version byte"),
        ("PROTOCOL_VERSION_MINOR", k.PROTOCOL_VERSION_MINOR, "agreed in HELLO/IDENT"),
        ("MAX_AXES", k.MAX_AXES, "axes per controller"),
        ("NO_AXIS", k.NO_AXIS, "axis index meaning no axis"),
        ("HEADER_BYTES", k.HEADER_BYTES, "version, type, seq (LE), len"),
        ("CRC_BYTES", k.CRC_BYTES, "CRC-32 (LE) after the payload"),
        ("MIN_FRAME_BYTES", k.MIN_FRAME_BYTES, "header + CRC"),
        ("MAX_PAYLOAD_BYTES", k.MAX_PAYLOAD_BYTES, "largest payload"),
        ("MAX_FRAME_BYTES", k.MAX_FRAME_BYTES, "largest raw frame before COBS"),
        ("MAX_WIRE_BYTES", k.MAX_WIRE_BYTES, "largest COBS frame + 0x00 delimiter"),
    ]
    out = [f"#define MRBOT_{name} {value}u /* {doc} */" for name, value, doc in values]
    out.append(
        f'#define MRBOT_CRC_CHECK_VALUE {k.CRC_CHECK_VALUE:#010x}u /* CRC-32 of "123456789" */'
    )
    out += ["", "typedef enum {"]
    out += [f"    MRBOT_{name} = {value}, /**< {doc} */" for name, value, doc in C_RESULT_CODES]
    out += ["} mrbot_result_t;", ""]
    return out


def generate_header() -> str:
    """Return the text of ``mrbot_protocol.h`` for the current catalog."""
    lines = [
        "/* mrbot firmware wire protocol. GENERATED by firmware_interfaces.header from the message",
        " * catalog: do not edit; regenerate with `mrbot protocol header --write`.",
        " *",
        " * Frame: version u8 | type u8 | seq u16 LE | len u8 | payload | crc32 u32 LE",
        " * (over version..payload), COBS-encoded, followed by one 0x00. Values are",
        ' * little-endian integers; "um" is micrometres on linear axes and microradians on',
        " * rotary axes. See docs/PROTOCOL.md.",
        " */",
        "#ifndef MRBOT_PROTOCOL_H",
        "#define MRBOT_PROTOCOL_H",
        "",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "#include <string.h>",
        "",
        "#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) \\",
        "    && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__",
        '#error "mrbot_protocol.h: the packed payload structs assume a little-endian target"',
        "#endif",
        "",
        "#if defined(__cplusplus)",
        "#define MRBOT_STATIC_ASSERT(cond, msg) static_assert(cond, msg)",
        "#else",
        "#define MRBOT_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)",
        "#endif",
        "",
        *_constants(),
        *_enums(),
        *_validity_functions(),
        *_structs(),
        *_validators(),
        C_RUNTIME.strip("\n"),
        "",
        "#endif /* MRBOT_PROTOCOL_H */",
        "",
    ]
    return "\n".join(lines)


def header_is_current(path: Path = HEADER_PATH) -> bool:
    """Whether the header file at ``path`` equals the generator output.

    Raises:
        OSError: the file cannot be read.
    """
    return path.read_text(encoding="utf-8") == generate_header()
