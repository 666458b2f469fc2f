"""Wire field descriptions attached to message dataclass fields, and the checks they imply.

A message class is its own catalog entry: every dataclass field carries a ``FieldSpec`` (wire
type, unit, meaning, allowed range) in its metadata, as in
``field(metadata=integer(U16, unit="ms", doc=...))``. The codec, the ``__post_init__`` checks
(``checks.py``), the C header and PROTOCOL.md are all derived from these descriptions.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from enum import Enum, IntEnum, IntFlag
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, cast

from firmware_interfaces.constants import MAX_AXES

if TYPE_CHECKING:
    from collections.abc import Hashable, Mapping

__all__ = [
    "BOOL",
    "I16",
    "I32",
    "U8",
    "U16",
    "U32",
    "U64",
    "FieldKind",
    "FieldSpec",
    "Layout",
    "WireType",
    "axis_index",
    "boolean",
    "column",
    "enum_field",
    "flag_field",
    "integer",
    "layout_of",
    "records",
]

_META: Final = "mrbot_wire"


@dataclass(frozen=True, slots=True, kw_only=True)
class WireType:
    """A little-endian integer type on the wire."""

    name: str
    struct_code: str
    size: int
    lo: int
    hi: int
    c_type: str


U8: Final = WireType(name="u8", struct_code="B", size=1, lo=0, hi=0xFF, c_type="uint8_t")
U16: Final = WireType(name="u16", struct_code="H", size=2, lo=0, hi=0xFFFF, c_type="uint16_t")
U32: Final = WireType(name="u32", struct_code="I", size=4, lo=0, hi=0xFFFF_FFFF, c_type="uint32_t")
U64: Final = WireType(
    name="u64", struct_code="Q", size=8, lo=0, hi=0xFFFF_FFFF_FFFF_FFFF, c_type="uint64_t"
)
I16: Final = WireType(
    name="i16", struct_code="h", size=2, lo=-(2**15), hi=2**15 - 1, c_type="int16_t"
)
I32: Final = WireType(
    name="i32", struct_code="i", size=4, lo=-(2**31), hi=2**31 - 1, c_type="int32_t"
)
BOOL: Final = WireType(name="bool", struct_code="B", size=1, lo=0, hi=1, c_type="uint8_t")


class FieldKind(Enum):
    """How a wire integer maps to a Python value."""

    INT = "int"
    BOOL = "bool"
    ENUM = "enum"
    OPEN_ENUM = "open_enum"
    FLAG = "flag"
    RECORDS = "records"


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldSpec:
    """One field of a message or per-axis record.

    Attributes:
        name: Python attribute and C struct member name.
        wire: wire integer type.
        kind: how the integer maps to Python.
        unit: unit of the value ("" when dimensionless, "bits" for bit sets).
        doc: meaning of the field.
        lo: smallest allowed value (within the wire type).
        hi: largest allowed value (within the wire type).
        enum: the enumeration of ENUM, OPEN_ENUM and FLAG fields.
        no_axis_allowed: whether ``NO_AXIS`` (0xFF) is accepted besides ``lo..hi``.
        per_axis: whether the field is a tuple with one entry per axis.
        record: the record class of a RECORDS field.
    """

    name: str = ""
    wire: WireType
    kind: FieldKind
    unit: str
    doc: str
    lo: int
    hi: int
    enum: type[IntEnum] | type[IntFlag] | None = None
    no_axis_allowed: bool = False
    per_axis: bool = False
    record: type | None = None

    @property
    def flag_mask(self) -> int:
        """All defined bits of a FLAG field (0 for other kinds)."""
        if self.kind is not FieldKind.FLAG or self.enum is None:
            return 0
        return _mask_of(self.enum)


@functools.cache
def _mask_of(flag: type[IntEnum] | type[IntFlag]) -> int:
    mask = 0
    for member in flag:
        mask |= int(member)
    return mask


def _field(spec: FieldSpec) -> Mapping[str, FieldSpec]:
    return MappingProxyType({_META: spec})


def integer(
    wire: WireType, *, unit: str, doc: str, lo: int | None = None, hi: int | None = None
) -> Mapping[str, FieldSpec]:
    """Describe an integer field; ``lo``/``hi`` narrow the wire type's range."""
    return _field(
        FieldSpec(
            wire=wire,
            kind=FieldKind.INT,
            unit=unit,
            doc=doc,
            lo=wire.lo if lo is None else lo,
            hi=wire.hi if hi is None else hi,
        )
    )


def axis_index(*, doc: str, no_axis_allowed: bool = False) -> Mapping[str, FieldSpec]:
    """Describe a u8 axis index ``0..MAX_AXES-1`` (or ``NO_AXIS`` when allowed)."""
    return _field(
        FieldSpec(
            wire=U8,
            kind=FieldKind.INT,
            unit="",
            doc=doc,
            lo=0,
            hi=MAX_AXES - 1,
            no_axis_allowed=no_axis_allowed,
        )
    )


def boolean(*, doc: str) -> Mapping[str, FieldSpec]:
    """Describe a bool sent as one byte, 0 or 1."""
    return _field(FieldSpec(wire=BOOL, kind=FieldKind.BOOL, unit="", doc=doc, lo=0, hi=1))


def enum_field(
    wire: WireType, enum: type[IntEnum], *, doc: str, open_: bool = False
) -> Mapping[str, FieldSpec]:
    """Describe an enumeration; an open one also accepts raw integers of the wire width."""
    return _field(
        FieldSpec(
            wire=wire,
            kind=FieldKind.OPEN_ENUM if open_ else FieldKind.ENUM,
            unit="",
            doc=doc,
            lo=wire.lo if open_ else min(enum),
            hi=wire.hi if open_ else max(enum),
            enum=enum,
        )
    )


def flag_field(wire: WireType, enum: type[IntFlag], *, doc: str) -> Mapping[str, FieldSpec]:
    """Describe a bit set; undefined bits must be zero."""
    return _field(
        FieldSpec(
            wire=wire, kind=FieldKind.FLAG, unit="bits", doc=doc, lo=wire.lo, hi=wire.hi, enum=enum
        )
    )


def column(
    wire: WireType,
    *,
    unit: str,
    doc: str,
    lo: int | None = None,
    hi: int | None = None,
    enum: type[IntEnum] | None = None,
) -> Mapping[str, FieldSpec]:
    """Describe a per-axis tuple of integers (or of ``enum`` members), one entry per axis."""
    return _field(
        FieldSpec(
            wire=wire,
            kind=FieldKind.INT if enum is None else FieldKind.ENUM,
            unit=unit,
            doc=doc,
            lo=(wire.lo if enum is None else min(enum)) if lo is None else lo,
            hi=(wire.hi if enum is None else max(enum)) if hi is None else hi,
            enum=enum,
            per_axis=True,
        )
    )


def records(record: type, *, doc: str) -> Mapping[str, FieldSpec]:
    """Describe a per-axis tuple of record dataclasses (each itself made of described fields)."""
    return _field(
        FieldSpec(
            wire=U8,
            kind=FieldKind.RECORDS,
            unit="",
            doc=doc,
            lo=0,
            hi=0,
            per_axis=True,
            record=record,
        )
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    """Wire layout of one message or record class.

    Attributes:
        name: the class name.
        fixed: fields of the fixed part, in wire order (the axis count byte is not listed).
        per_axis: fields of one per-axis record, in wire order (empty without axes).
        per_axis_attrs: Python attributes holding the per-axis tuples (one per column, or the
            single records attribute).
        record: the record class when per-axis data are record objects, else ``None``.
        min_axes: smallest allowed axis count.
    """

    name: str
    fixed: tuple[FieldSpec, ...]
    per_axis: tuple[FieldSpec, ...]
    per_axis_attrs: tuple[str, ...]
    record: type | None
    min_axes: int

    @property
    def has_axes(self) -> bool:
        """Whether an axis count byte and per-axis records follow the fixed fields."""
        return bool(self.per_axis_attrs)

    @property
    def fixed_size(self) -> int:
        """Bytes of the fixed part, including the axis count byte when there is one."""
        return sum(f.wire.size for f in self.fixed) + (1 if self.has_axes else 0)

    @property
    def record_size(self) -> int:
        """Bytes of one per-axis record (0 without axes)."""
        return sum(f.wire.size for f in self.per_axis)

    def payload_size(self, axis_count: int) -> int:
        """Payload bytes for ``axis_count`` axes."""
        return self.fixed_size + axis_count * self.record_size


def layout_of(cls: type) -> Layout:
    """Derive the wire layout of a described dataclass (cached; classes are immutable).

    Raises:
        TypeError: ``cls`` is not a dataclass whose fields are all described.
    """
    return _cached_layout(cast("Hashable", cls))


@functools.cache
def _cached_layout(key: Hashable) -> Layout:
    cls = cast("type", key)
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    fixed: list[FieldSpec] = []
    per_axis: list[FieldSpec] = []
    attrs: list[str] = []
    record: type | None = None
    for f in dataclasses.fields(cls):
        spec = f.metadata.get(_META)
        if not isinstance(spec, FieldSpec):
            raise TypeError(f"{cls.__name__}.{f.name} has no wire description")
        spec = dataclasses.replace(spec, name=f.name)
        if spec.kind is FieldKind.RECORDS:
            if attrs or spec.record is None:
                raise TypeError(f"{cls.__name__}: a records field must be the only per-axis field")
            record = spec.record
            attrs.append(f.name)
            per_axis.extend(layout_of(spec.record).fixed)
        elif spec.per_axis:
            if record is not None:
                raise TypeError(f"{cls.__name__}: a records field must be the only per-axis field")
            attrs.append(f.name)
            per_axis.append(spec)
        else:
            fixed.append(spec)
    min_axes = getattr(cls, "MIN_AXES", 0)
    return Layout(
        name=cls.__name__,
        fixed=tuple(fixed),
        per_axis=tuple(per_axis),
        per_axis_attrs=tuple(attrs),
        record=record,
        min_axes=int(min_axes),
    )
