"""Checks of message fields against their wire descriptions, run by ``__post_init__``.

A generated fast path accepts the common case (exact types, in range) in one expression per
class; anything it does not accept goes through the precise checks, which raise
``MessageValueError`` naming the field, the value and the allowed range with its unit.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, cast

from firmware_interfaces.constants import MAX_AXES, NO_AXIS
from firmware_interfaces.errors import MessageValueError
from firmware_interfaces.fields import FieldKind, FieldSpec, Layout, layout_of

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

__all__ = ["validate"]

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
