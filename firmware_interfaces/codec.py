"""Payload codec compiled from the catalog: one precompiled ``struct.Struct`` per type and count.

Values are checked when a message is built, so encoding only packs. Decoding unpacks, maps enums,
flags and bools back to their Python types and rebuilds the message through its checking
constructor, so a decoded message is always a valid one.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Final, cast

from firmware_interfaces.catalog import MESSAGE_CLASSES
from firmware_interfaces.constants import HEADER_BYTES, MAX_AXES, NO_AXIS, PROTOCOL_VERSION_MAJOR
from firmware_interfaces.enums import MessageType
from firmware_interfaces.errors import FaultKind, FrameDecodeError, MessageValueError
from firmware_interfaces.fields import FieldKind, FieldSpec, layout_of

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from firmware_interfaces.fields import Layout
    from firmware_interfaces.messages import Message

__all__ = ["decode_payload", "encode_body", "encode_payload", "expected_payload_size"]

_HEADER_FORMAT: Final = "<BBHB"


def _bad(detail: str) -> FrameDecodeError:
    return FrameDecodeError(FaultKind.BAD_PAYLOAD, detail)


def _converter(owner: str, spec: FieldSpec) -> Callable[[int], object] | None:
    """Map a raw wire integer to the field's Python value, or ``None`` when it stays an int."""
    label = f"{owner}.{spec.name}"
    if spec.kind is FieldKind.BOOL:

        def to_bool(raw: int) -> object:
            if raw > 1:
                raise _bad(f"{label} = {raw}: a bool must be 0 or 1")
            return raw == 1

        return to_bool
    if spec.kind in (FieldKind.ENUM, FieldKind.OPEN_ENUM) and spec.enum is not None:
        members = {int(m): m for m in spec.enum}
        enum_name = spec.enum.__name__
        if spec.kind is FieldKind.OPEN_ENUM:
            return lambda raw: members.get(raw, raw)

        def to_enum(raw: int) -> object:
            member = members.get(raw)
            if member is None:
                raise _bad(f"{label} = {raw}: not a {enum_name}")
            return member

        return to_enum
    if spec.kind is FieldKind.FLAG and spec.enum is not None:
        mask = spec.flag_mask
        flag = spec.enum

        # At most 2**bits entries (2,048 for AxisStatus): building IntFlag values is the slowest
        # step of decoding TELEMETRY, and a link repeats the same few status words.
        seen: dict[int, object] = {}

        def to_flag(raw: int) -> object:
            value = seen.get(raw)
            if value is None:
                if raw & ~mask:
                    bits = raw & ~mask
                    raise _bad(f"{label} = {raw:#x}: undefined {flag.__name__} bits {bits:#x}")
                value = seen[raw] = flag(raw)
            return value

        return to_flag
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Codec:
    """Everything needed to encode and decode one message type, precomputed."""

    message_type: MessageType
    cls: type[Message]
    layout: Layout
    fixed_getter: Callable[[object], tuple[object, ...]]
    record_getter: Callable[[object], tuple[object, ...]] | None
    has_axes: bool
    build: Callable[[tuple[int, ...]], Message]
    build_checked: Callable[[tuple[int, ...]], Message]
    fixed_size: int
    record_size: int
    payload_structs: tuple[struct.Struct, ...]
    body_structs: tuple[struct.Struct, ...]


def _getter(names: tuple[str, ...]) -> Callable[[object], tuple[object, ...]]:
    if not names:
        return lambda _obj: ()
    if len(names) == 1:
        single = attrgetter(names[0])
        return lambda obj: (single(obj),)
    return attrgetter(*names)


def _term(names: dict[str, object], spec: FieldSpec, owner: str, value: str) -> str:
    """Source of ``value`` as the field's Python value; a converter it needs goes into ``names``."""
    convert = _converter(owner, spec)
    if convert is None:
        return value
    key = f"c{len(names)}"
    names[key] = convert
    return f"{key}({value})"


def _compile_checked_builder(
    layout: Layout, cls: type[Message]
) -> Callable[[tuple[int, ...]], Message]:
    """Generate ``build(values) -> message`` that goes through the checking constructors.

    ``values`` is the unpacked payload; converters map raw integers to enums, flags and bools
    (raising ``FrameDecodeError``); the message and its records are built by their constructors,
    whose ``__post_init__`` checks raise ``MessageValueError`` for values no message may hold.
    This is the reference decoder: the fast builder falls back to it, and tests compare the two.
    Generated from our own field names and integer offsets only, as ``dataclasses`` does.
    """
    names: dict[str, object] = {"M": cls}

    args = [
        f"{f.name}={_term(names, f, layout.name, f'v[{i}]')}" for i, f in enumerate(layout.fixed)
    ]
    lines = ["def build(v):"]
    if layout.has_axes:
        first = len(layout.fixed) + 1
        width = len(layout.per_axis)
        lines.append(f"    n = v[{first - 1}]")
        if layout.record is not None:
            names["R"] = layout.record
            owner = layout.record.__name__
            fields = ", ".join(
                f"{f.name}={_term(names, f, owner, f'v[j + {k}]')}"
                for k, f in enumerate(layout.per_axis)
            )
            span = f"range({first}, {first} + n * {width}, {width})"
            args.append(f"{layout.per_axis_attrs[0]}=tuple([R({fields}) for j in {span}])")
        else:
            for k, f in enumerate(layout.per_axis):
                items = f"v[{first + k}:{first} + n * {width}:{width}]"
                converted = _term(names, f, layout.name, "x")
                if converted == "x":
                    args.append(f"{f.name}=tuple({items})")
                else:
                    args.append(f"{f.name}=tuple([{converted} for x in {items}])")
    lines.append(f"    return M({', '.join(args)})")
    exec("\n".join(lines), names)  # noqa: S102 - source built from field names and integers only
    return cast("Callable[[tuple[int, ...]], Message]", names["build"])


def _narrowed(spec: FieldSpec, value: str) -> str | None:
    """Condition for a field whose allowed range is narrower than its wire type, else ``None``.

    Bools, enums and flags are fully checked by their converters, and every other value is
    within its wire type because ``struct`` unpacked it; only narrowed ranges remain to check.
    """
    if spec.kind is not FieldKind.INT or (spec.lo == spec.wire.lo and spec.hi == spec.wire.hi):
        return None
    condition = f"{spec.lo} <= {value} <= {spec.hi}"
    return f"({condition} or {value} == {NO_AXIS})" if spec.no_axis_allowed else condition


def _compile_fast_builder(
    layout: Layout, cls: type[Message], checked: Callable[[tuple[int, ...]], Message]
) -> Callable[[tuple[int, ...]], Message]:
    """Generate a builder that skips the constructors' checks the wire already guarantees.

    It converts enums, flags and bools, checks only what ``_narrowed`` reports and the minimum
    axis count, and sets the frozen slots directly; whenever a check fails it returns
    ``checked(values)``, so errors come from the constructors with their full messages. Decoding
    TELEMETRY this way costs about half as much as through the constructors.
    """
    names: dict[str, object] = {"M": cls, "new": object.__new__, "put": object.__setattr__}
    names["slow"] = checked

    lines = ["def build(v):"]
    guards = [c for i, f in enumerate(layout.fixed) if (c := _narrowed(f, f"v[{i}]"))]
    sets = [
        f"    put(m, {f.name!r}, {_term(names, f, layout.name, f'v[{i}]')})"
        for i, f in enumerate(layout.fixed)
    ]
    if layout.has_axes:
        first = len(layout.fixed) + 1
        width = len(layout.per_axis)
        stop = f"{first} + n * {width}"
        lines.append(f"    n = v[{first - 1}]")
        if layout.min_axes:
            guards.append(f"n >= {layout.min_axes}")
        if layout.record is not None:
            names["R"] = layout.record
            owner = layout.record.__name__
            record_guards = [
                c for k, f in enumerate(layout.per_axis) if (c := _narrowed(f, f"v[j + {k}]"))
            ]
            lines.append("    records = []")
            lines.append(f"    for j in range({first}, {stop}, {width}):")
            if record_guards:
                lines.append(f"        if not ({' and '.join(record_guards)}):")
                lines.append("            return slow(v)")
            lines.append("        r = new(R)")
            lines.extend(
                f"        put(r, {f.name!r}, {_term(names, f, owner, f'v[j + {k}]')})"
                for k, f in enumerate(layout.per_axis)
            )
            lines.append("        records.append(r)")
            sets.append(f"    put(m, {layout.per_axis_attrs[0]!r}, tuple(records))")
        else:
            for k, f in enumerate(layout.per_axis):
                items = f"v[{first + k}:{stop}:{width}]"
                if (c := _narrowed(f, "x")) is not None:
                    guards.append(f"all({c} for x in {items})")
                converted = _term(names, f, layout.name, "x")
                column = (
                    f"tuple({items})"
                    if converted == "x"
                    else f"tuple([{converted} for x in {items}])"
                )
                sets.append(f"    put(m, {f.name!r}, {column})")
    if guards:
        lines.insert(2 if layout.has_axes else 1, f"    if not ({' and '.join(guards)}):")
        lines.insert(3 if layout.has_axes else 2, "        return slow(v)")
    lines += ["    m = new(M)", *sets, "    return m"]
    exec("\n".join(lines), names)  # noqa: S102 - source built from field names and integers only
    return cast("Callable[[tuple[int, ...]], Message]", names["build"])


def _compile(message_type: MessageType) -> _Codec:
    cls = MESSAGE_CLASSES[message_type]
    layout = layout_of(cls)
    fixed_fmt = "".join(f.wire.struct_code for f in layout.fixed) + ("B" if layout.has_axes else "")
    record_fmt = "".join(f.wire.struct_code for f in layout.per_axis)
    counts = range(MAX_AXES + 1) if layout.has_axes else range(1)
    payload_fmts = [fixed_fmt + record_fmt * n for n in counts]
    record_names = tuple(f.name for f in layout.per_axis)
    checked = _compile_checked_builder(layout, cls)
    return _Codec(
        message_type=message_type,
        cls=cls,
        layout=layout,
        fixed_getter=_getter(tuple(f.name for f in layout.fixed)),
        record_getter=_getter(record_names) if layout.record is not None else None,
        has_axes=layout.has_axes,
        build=_compile_fast_builder(layout, cls, checked),
        build_checked=checked,
        fixed_size=layout.fixed_size,
        record_size=layout.record_size,
        payload_structs=tuple(struct.Struct("<" + f) for f in payload_fmts),
        body_structs=tuple(struct.Struct(_HEADER_FORMAT + f) for f in payload_fmts),
    )


@functools.cache
def _codecs() -> Mapping[int, _Codec]:
    """Type byte -> compiled codec, built on first use."""
    return {int(t): _compile(t) for t in MessageType}


def _values(codec: _Codec, message: Message) -> tuple[int, list[object]]:
    """Return the axis count and the flat list of payload values in wire order."""
    values = list(codec.fixed_getter(message))
    layout = codec.layout
    if not layout.has_axes:
        return 0, values
    if codec.record_getter is not None:
        items: tuple[object, ...] = getattr(message, layout.per_axis_attrs[0])
        count = len(items)
        values.append(count)
        get = codec.record_getter
        for item in items:
            values.extend(get(item))
        return count, values
    columns = [getattr(message, a) for a in layout.per_axis_attrs]
    count = len(columns[0])
    values.append(count)
    for row in zip(*columns, strict=True):
        values.extend(row)
    return count, values


def _codec_for(message: Message) -> _Codec:
    message_type = getattr(type(message), "TYPE", None)
    codec = _codecs().get(int(message_type)) if isinstance(message_type, MessageType) else None
    if codec is None or type(message) is not codec.cls:
        raise TypeError(f"{type(message).__name__} is not a catalog message")
    return codec


def encode_payload(message: Message) -> bytes:
    """Pack a message's payload (no header, no CRC).

    Raises:
        TypeError: ``message`` is not a catalog message.
    """
    codec = _codec_for(message)
    count, values = _values(codec, message)
    return codec.payload_structs[count].pack(*values)


def encode_body(message: Message, seq: int) -> bytes:
    """Pack header and payload (the bytes the CRC covers).

    Raises:
        TypeError: ``message`` is not a catalog message.
        ValueError: ``seq`` is outside 0..65535.
    """
    if type(seq) is not int or not 0 <= seq <= 0xFFFF:  # noqa: PLR2004 - u16 range
        raise ValueError(f"seq = {seq!r} is not an int in 0..65535 (u16)")
    codec = _codec_for(message)
    count, values = _values(codec, message)
    body = codec.body_structs[count]
    return body.pack(
        PROTOCOL_VERSION_MAJOR, codec.message_type, seq, body.size - HEADER_BYTES, *values
    )


def expected_payload_size(type_id: int, axis_count: int = 0) -> int:
    """Payload bytes of a type with ``axis_count`` axes (``axis_count`` ignored without axes).

    Raises:
        KeyError: unknown type.
    """
    layout = _codecs()[type_id].layout
    return layout.payload_size(axis_count if layout.has_axes else 0)


def decode_payload(type_id: int, payload: bytes, *, reference: bool = False) -> Message:
    """Rebuild a message from its type byte and payload.

    Args:
        type_id: the frame's type byte.
        payload: the frame's payload.
        reference: build through the checking constructors instead of the fast builder (same
            result, slower; tests use it as the oracle of the fast builder).

    Raises:
        FrameDecodeError: unknown type (``UNKNOWN_TYPE``), length not matching the layout
            (``BAD_LENGTH``), or values no message may hold (``BAD_PAYLOAD``).
    """
    codec = _codecs().get(type_id)
    if codec is None:
        raise FrameDecodeError(FaultKind.UNKNOWN_TYPE, f"type {type_id:#04x} is not in the catalog")
    size = len(payload)
    fixed_size = codec.fixed_size
    if not codec.has_axes:
        if size != fixed_size:
            raise FrameDecodeError(
                FaultKind.BAD_LENGTH,
                f"{codec.message_type.name} payload is {size} bytes, its layout {fixed_size}",
            )
        values = codec.payload_structs[0].unpack(payload)
    else:
        name = codec.message_type.name
        if size < fixed_size:
            raise FrameDecodeError(
                FaultKind.BAD_LENGTH,
                f"{name} payload is {size} bytes, shorter than its fixed part {fixed_size}",
            )
        count = payload[fixed_size - 1]
        if count > MAX_AXES:
            raise _bad(f"{name} axis count {count} > MAX_AXES {MAX_AXES}")
        expected = fixed_size + count * codec.record_size
        if size != expected:
            raise FrameDecodeError(
                FaultKind.BAD_LENGTH,
                f"{name} payload is {size} bytes, {count} axes need {expected}",
            )
        values = codec.payload_structs[count].unpack(payload)
    try:
        return codec.build_checked(values) if reference else codec.build(values)
    except MessageValueError as err:
        raise _bad(str(err)) from err
