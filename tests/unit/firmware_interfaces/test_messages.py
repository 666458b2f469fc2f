from __future__ import annotations

import dataclasses

import pytest

from firmware_interfaces import (
    MAX_AXES,
    NO_AXIS,
    Ack,
    AxisStatus,
    AxisTelemetry,
    Capability,
    Fault,
    FaultCode,
    FirmwareState,
    GetParam,
    Heartbeat,
    Ident,
    Jog,
    MessageType,
    MessageValueError,
    Move,
    Nack,
    NackReason,
    ParamId,
    ProtocolError,
    SetParam,
    Stop,
    StopCategory,
)
from firmware_interfaces.samples import sample_messages, sample_telemetry


def _axis(**overrides):
    values: dict[str, object] = {
        "commanded_um": 0,
        "encoder_um": 0,
        "velocity_um_s": 0,
        "status": AxisStatus.ENABLED,
        "supply_pressure_hpa": 0,
        "limit_switches": 0,
    }
    values.update(overrides)
    return AxisTelemetry(**values)  # type: ignore[arg-type]  # values vary per test


def test_every_sample_message_builds_and_is_frozen():
    for message in sample_messages().values():
        fields = dataclasses.fields(message)  # type: ignore[arg-type]  # every Message is one
        if fields:
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(message, fields[0].name, 0)


def test_message_value_error_is_a_protocol_error_and_a_value_error():
    with pytest.raises(MessageValueError) as info:
        Heartbeat(counter=-1)
    assert isinstance(info.value, ProtocolError)
    assert isinstance(info.value, ValueError)
    assert info.value.field == "counter"
    assert info.value.value == -1
    assert "0..4294967295" in str(info.value)


@pytest.mark.parametrize("counter", [0, 0xFFFF_FFFF])
def test_integer_fields_accept_both_ends_of_their_wire_range(counter):
    assert Heartbeat(counter=counter).counter == counter


@pytest.mark.parametrize("counter", [2**32, -1])
def test_integer_fields_refuse_values_outside_their_wire_range(counter):
    with pytest.raises(MessageValueError, match="u32"):
        Heartbeat(counter=counter)


@pytest.mark.parametrize("value", [1.0, float("nan"), float("inf"), "1", None, True])
def test_integer_fields_refuse_non_integers_including_nan_and_bool(value):
    with pytest.raises(MessageValueError, match="must be an int"):
        Heartbeat(counter=value)


def test_an_int_subclass_such_as_an_enum_member_is_accepted_in_an_int_field():
    assert Heartbeat(counter=MessageType.MOVE).counter == 0x13


def test_range_error_names_the_unit():
    with pytest.raises(MessageValueError, match=r"0\.\.2147483647 um/s"):
        Move(command_id=1, duration_ms=1, targets_um=(0,), max_velocity_um_s=(-1,))


def test_jog_axis_must_be_an_existing_axis_index():
    assert Jog(axis=MAX_AXES - 1, velocity_um_s=1, duration_ms=1).axis == MAX_AXES - 1
    with pytest.raises(MessageValueError, match="axis"):
        Jog(axis=MAX_AXES, velocity_um_s=1, duration_ms=1)
    with pytest.raises(MessageValueError):
        Jog(axis=NO_AXIS, velocity_um_s=1, duration_ms=1)


def test_parameter_and_fault_axis_may_be_no_axis_but_not_another_out_of_range_index():
    assert GetParam(param=ParamId.WATCHDOG_MS, axis=NO_AXIS).axis == NO_AXIS
    assert Fault(code=FaultCode.WATCHDOG, axis=NO_AXIS, detail=0).axis == NO_AXIS
    with pytest.raises(MessageValueError, match="or 0xFF"):
        SetParam(param=ParamId.WATCHDOG_MS, axis=MAX_AXES, value=1)


def test_enum_fields_need_members_of_their_enum():
    with pytest.raises(MessageValueError, match="StopCategory"):
        Stop(category=1)  # type: ignore[arg-type]  # deliberately wrong type
    with pytest.raises(MessageValueError, match="StopCategory"):
        Stop(category=FirmwareState.IDLE)  # type: ignore[arg-type]  # deliberately wrong type
    assert Stop(category=StopCategory.CAT2).category is StopCategory.CAT2


def test_flag_fields_refuse_undefined_bits():
    with pytest.raises(MessageValueError, match="undefined bits 0x8000"):
        _axis(status=AxisStatus(0x8000))


def test_flag_fields_need_their_flag_type():
    with pytest.raises(MessageValueError, match="AxisStatus"):
        _axis(status=1)
    with pytest.raises(MessageValueError, match="AxisStatus"):
        _axis(status=Capability.JOG)


def test_limit_switch_reserved_bits_must_be_zero():
    assert _axis(limit_switches=0b111).limit_switches == 0b111
    with pytest.raises(MessageValueError, match="limit_switches"):
        _axis(limit_switches=0b1000)


def test_bool_fields_need_a_bool():
    with pytest.raises(MessageValueError, match="bool"):
        dataclasses.replace(sample_telemetry(), estop_input=1)  # type: ignore[arg-type]  # deliberately wrong type


def test_move_tuples_must_have_the_same_length():
    with pytest.raises(MessageValueError, match="differ in length"):
        Move(command_id=1, duration_ms=1, targets_um=(1, 2), max_velocity_um_s=(1,))


def test_move_needs_at_least_one_axis_and_at_most_max_axes():
    with pytest.raises(MessageValueError, match="axis count"):
        Move(command_id=1, duration_ms=1, targets_um=(), max_velocity_um_s=())
    n = MAX_AXES + 1
    with pytest.raises(MessageValueError, match="axis count"):
        Move(command_id=1, duration_ms=1, targets_um=(0,) * n, max_velocity_um_s=(0,) * n)


def test_per_axis_values_must_be_tuples_not_lists():
    with pytest.raises(MessageValueError, match="tuple"):
        Move(command_id=1, duration_ms=1, targets_um=[1], max_velocity_um_s=(1,))  # type: ignore[arg-type]  # deliberately wrong type


def test_per_axis_entries_are_checked_and_named_by_index():
    with pytest.raises(MessageValueError, match=r"targets_um\[1\]"):
        Move(command_id=1, duration_ms=1, targets_um=(0, 2**31), max_velocity_um_s=(0, 0))


def test_telemetry_allows_no_axes_but_not_more_than_max_axes():
    assert sample_telemetry(0).axes == ()
    with pytest.raises(MessageValueError, match="axis count"):
        dataclasses.replace(sample_telemetry(MAX_AXES), axes=(_axis(),) * (MAX_AXES + 1))


def test_telemetry_axes_must_be_axis_telemetry_records():
    with pytest.raises(MessageValueError, match=r"axes\[0\]"):
        dataclasses.replace(sample_telemetry(1), axes=((1, 2, 3),))  # type: ignore[arg-type]  # deliberately wrong type


def test_ident_axis_kinds_must_be_axis_kinds():
    ident = sample_messages()[MessageType.IDENT]
    with pytest.raises(MessageValueError, match=r"axis_kinds\[0\]"):
        dataclasses.replace(ident, axis_kinds=(1,))  # type: ignore[type-var]  # Ident, not Message
    assert isinstance(ident, Ident)


def test_nack_may_name_a_type_byte_that_is_not_in_the_catalog():
    nack = Nack(nack_seq=1, command_type=0x7E, reason=NackReason.UNKNOWN_TYPE)
    assert nack.command_type == 0x7E
    with pytest.raises(MessageValueError):
        Nack(nack_seq=1, command_type=0x100, reason=NackReason.UNKNOWN_TYPE)


def test_ack_needs_a_known_message_type():
    with pytest.raises(MessageValueError, match="MessageType"):
        Ack(ack_seq=1, command_type=0x7E)  # type: ignore[arg-type]  # deliberately wrong type


def test_messages_are_keyword_only():
    with pytest.raises(TypeError):
        Heartbeat(1)  # type: ignore[misc]
