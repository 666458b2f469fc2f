from __future__ import annotations

import dataclasses

import pytest

from firmware_interfaces import (
    MAX_AXES,
    MAX_PAYLOAD_BYTES,
    MESSAGE_CLASSES,
    Direction,
    MessageType,
    check_catalog,
    layout_for,
    max_payload_size,
)
from firmware_interfaces.enum_docs import ENUM_DOCS, PARAM_UNITS
from firmware_interfaces.enums import ParamId
from firmware_interfaces.fields import FieldKind, layout_of
from firmware_interfaces.messages import AxisTelemetry


def test_catalog_is_consistent():
    check_catalog()


def test_every_message_type_has_exactly_its_class():
    assert list(MESSAGE_CLASSES) == list(MessageType)
    for message_type, cls in MESSAGE_CLASSES.items():
        assert cls.TYPE is message_type


def test_host_commands_are_below_0x80_and_firmware_reports_above():
    for message_type, cls in MESSAGE_CLASSES.items():
        expected = Direction.HOST_TO_FIRMWARE if message_type < 0x80 else Direction.FIRMWARE_TO_HOST
        assert cls.DIRECTION is expected, message_type.name


def test_every_payload_fits_the_largest_payload():
    assert max(max_payload_size(t) for t in MessageType) <= MAX_PAYLOAD_BYTES


@pytest.mark.parametrize(
    ("message_type", "fixed", "record"),
    [
        (MessageType.HELLO, 7, 0),
        (MessageType.HEARTBEAT, 4, 0),
        (MessageType.ESTOP, 0, 0),
        (MessageType.MOVE, 9, 8),
        (MessageType.JOG, 7, 0),
        (MessageType.IDENT, 16, 1),
        (MessageType.TELEMETRY, 15, 17),
        (MessageType.NACK, 4, 0),
        (MessageType.FAULT, 6, 0),
    ],
)
def test_layout_sizes_are_the_documented_ones(message_type, fixed, record):
    layout = layout_for(message_type)
    assert (layout.fixed_size, layout.record_size) == (fixed, record)


def test_telemetry_of_max_axes_is_the_largest_message():
    assert max_payload_size(MessageType.TELEMETRY) == 15 + MAX_AXES * 17
    assert max(MessageType, key=max_payload_size) is MessageType.TELEMETRY


def test_every_field_is_documented_and_unit_bearing_names_carry_their_unit():
    layouts = [layout_for(t) for t in MessageType] + [layout_of(AxisTelemetry)]
    for layout in layouts:
        for spec in layout.fixed + layout.per_axis:
            assert spec.doc, f"{layout.name}.{spec.name} has no doc"
            for suffix, unit in (("_um", "um"), ("_um_s", "um/s"), ("_ms", "ms"), ("_us", "us")):
                if spec.name.endswith(suffix):
                    assert spec.unit == unit, f"{layout.name}.{spec.name} unit {spec.unit!r}"
            if spec.name.endswith("_hpa"):
                assert spec.unit == "hPa"


def test_every_enum_member_is_documented():
    for enum, docs in ENUM_DOCS.items():
        assert set(docs) == {int(m) for m in enum}, enum.__name__
        assert all(docs.values())


def test_every_enum_used_in_a_field_is_documented():
    layouts = [layout_for(t) for t in MessageType] + [layout_of(AxisTelemetry)]
    used = {
        spec.enum
        for layout in layouts
        for spec in layout.fixed + layout.per_axis
        if spec.kind is not FieldKind.INT and spec.enum is not None
    }
    assert used - set(ENUM_DOCS) == {MessageType}


def test_every_parameter_has_a_unit():
    assert set(PARAM_UNITS) == set(ParamId)


def test_message_classes_are_frozen_slotted_keyword_only_dataclasses():
    for cls in [*MESSAGE_CLASSES.values(), AxisTelemetry]:
        params = cls.__dataclass_params__  # type: ignore[attr-defined]
        assert params.frozen
        assert "__slots__" in cls.__dict__
        assert all(f.kw_only for f in dataclasses.fields(cls))


def test_a_class_with_an_undescribed_field_has_no_layout():
    @dataclasses.dataclass(frozen=True)
    class Undescribed:
        x: int = 0

    with pytest.raises(TypeError, match="no wire description"):
        layout_of(Undescribed)
    with pytest.raises(TypeError, match="not a dataclass"):
        layout_of(int)
