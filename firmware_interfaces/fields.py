"""Wire field descriptions attached to message dataclass fields, and the checks they imply.

A message class is its own catalog entry: every dataclass field carries a ``FieldSpec`` (wire
type, unit, meaning, allowed range) in its metadata, as in
``field(metadata=integer(U16, unit="ms", doc=...))``. The codec, the ``__post_init__`` checks,
the C header and PROTOCOL.md are all derived from these descriptions.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from enum import Enum, IntEnum, IntFlag
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, cast

from firmware_interfaces.constants import MAX_AXES, NO_AXIS
from firmware_interfaces.errors import MessageValueError

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Mapping

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
    "validate",
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


_INT, _BOOL, _ENUM, _FLAG = 0, 1, 2, 3
_Check = tuple[str, int, int, int, type | None, int, bool, FieldSpec]


def _compile_checks(specs: tuple[FieldSpec, ...]) -> tuple[_Check, ...]:
    checks: list[_Check] = []
    for spec in specs:
        code = {
            FieldKind.BOOL: _BOOL,
            FieldKind.ENUM: _ENUM,
            FieldKind.FLAG: _FLAG,
        }.get(spec.kind, _INT)
        checks.append(
            (
                spec.name,
                code,
                spec.lo,
                spec.hi,
                spec.enum,
                spec.flag_mask,
                spec.no_axis_allowed,
                spec,
            )
        )
    return tuple(checks)


@functools.cache
def _checks_of(key: Hashable) -> tuple[tuple[_Check, ...], tuple[_Check, ...], Layout]:
    layout = layout_of(cast("type", key))
    per_axis = () if layout.record is not None else _compile_checks(layout.per_axis)
    return _compile_checks(layout.fixed), per_axis, layout


def _check_scalar(owner: str, check: _Check, value: object, label: str) -> None:
    _name, code, lo, hi, enum, mask, no_axis_allowed, spec = check
    if code == _INT:
        if value.__class__ is int or (isinstance(value, int) and not isinstance(value, bool)):
            if lo <= value <= hi or (no_axis_allowed and value == NO_AXIS):
                return
            unit = f" {spec.unit}" if spec.unit and spec.unit != "bits" else ""
            extra = " or 0xFF (no axis)" if no_axis_allowed else ""
            raise MessageValueError(
                owner, label, value, f"outside {lo}..{hi}{unit}{extra} ({spec.wire.name})"
            )
        raise MessageValueError(owner, label, value, f"must be an int ({spec.wire.name})")
    if code == _BOOL:
        if value is not True and value is not False:
            raise MessageValueError(owner, label, value, "must be a bool")
        return
    if enum is None or not isinstance(value, enum):
        name = "?" if enum is None else enum.__name__
        raise MessageValueError(owner, label, value, f"must be a {name} member")
    if code == _FLAG and int(value) & ~mask:  # type: ignore[call-overload]
        raise MessageValueError(owner, label, value, f"has undefined bits {int(value) & ~mask:#x}")  # type: ignore[call-overload]


def _fast_term(spec: FieldSpec, value: str, names: dict[str, object]) -> str:
    """A Python expression true when ``value`` certainly passes ``spec`` (exact types only)."""
    if spec.kind is FieldKind.BOOL:
        return f"{value}.__class__ is bool"
    if spec.kind is FieldKind.INT or (spec.kind is FieldKind.OPEN_ENUM):
        in_range = f"{spec.lo} <= {value} <= {spec.hi}"
        if spec.no_axis_allowed:
            in_range = f"({in_range} or {value} == {NO_AXIS})"
        return f"{value}.__class__ is int and {in_range}"
    enum_name = f"E{len(names)}"
    names[enum_name] = spec.enum
    if spec.kind is FieldKind.FLAG:
        return f"{value}.__class__ is {enum_name} and not int({value}) & {~spec.flag_mask}"
    return f"{value}.__class__ is {enum_name}"


def _compile_fast_check(layout: Layout) -> Callable[[object], bool]:
    """Generate ``check(o) -> bool``: true when every field certainly passes.

    A false result only means "not certain" (for example an ``IntEnum`` member in an int field);
    ``validate`` then runs the precise checks, which raise with the field, value and range.
    Generated from our own field names and integer bounds only, like ``dataclasses`` does.
    """
    names: dict[str, object] = {}
    terms = [_fast_term(f, f"o.{f.name}", names) for f in layout.fixed]
    attrs = layout.per_axis_attrs
    if attrs:
        terms.append(f"o.{attrs[0]}.__class__ is tuple")
        terms.extend(f"o.{a}.__class__ is tuple and len(o.{a}) == len(o.{attrs[0]})" for a in attrs)
        terms.append(f"{layout.min_axes} <= len(o.{attrs[0]}) <= {MAX_AXES}")
        if layout.record is not None:
            names["R"] = layout.record
            terms.append(f"all(x.__class__ is R for x in o.{attrs[0]})")
        else:
            terms.extend(
                f"all({_fast_term(f, 'x', names)} for x in o.{f.name})" for f in layout.per_axis
            )
    source = "def check(o):\n    return " + (" and ".join(f"({t})" for t in terms) or "True")
    exec(source, names)  # noqa: S102 - source built from field names and integers only
    check = names["check"]
    if not callable(check):
        raise TypeError("generated check is not callable")
    return cast("Callable[[object], bool]", check)


@functools.cache
def _fast_check_of(key: Hashable) -> Callable[[object], bool]:
    return _compile_fast_check(layout_of(cast("type", key)))


def validate(obj: object) -> None:
    """Check every field of a described dataclass instance against its description.

    Raises:
        MessageValueError: a field holds a value its wire field cannot carry.
    """
    cls = cast("Hashable", obj.__class__)
    if _fast_check_of(cls)(obj):
        return
    fixed_checks, column_checks, layout = _checks_of(cls)
    owner = layout.name
    for check in fixed_checks:
        _check_scalar(owner, check, getattr(obj, check[0]), check[0])
    if not layout.per_axis_attrs:
        return
    counts: list[int] = []
    for attr in layout.per_axis_attrs:
        values = getattr(obj, attr)
        if type(values) is not tuple:
            raise MessageValueError(owner, attr, values, "must be a tuple (one entry per axis)")
        counts.append(len(values))
    count = counts[0]
    if any(c != count for c in counts):
        lengths = ", ".join(f"{a}: {c}" for a, c in zip(layout.per_axis_attrs, counts, strict=True))
        reason = f"per-axis tuples differ in length ({lengths})"
        raise MessageValueError(owner, layout.per_axis_attrs[0], tuple(counts), reason)
    if not layout.min_axes <= count <= MAX_AXES:
        raise MessageValueError(
            owner,
            layout.per_axis_attrs[0],
            count,
            f"axis count outside {layout.min_axes}..{MAX_AXES}",
        )
    if layout.record is not None:
        record = layout.record
        for i, item in enumerate(getattr(obj, layout.per_axis_attrs[0])):
            if type(item) is not record:
                raise MessageValueError(
                    owner, f"{layout.per_axis_attrs[0]}[{i}]", item, f"must be a {record.__name__}"
                )
        return
    for check in column_checks:
        for i, item in enumerate(getattr(obj, check[0])):
            _check_scalar(owner, check, item, f"{check[0]}[{i}]")
