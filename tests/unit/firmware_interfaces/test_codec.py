from __future__ import annotations

import pytest

from firmware_interfaces import MAX_AXES, EStop, FaultKind, FrameDecodeError, MessageType
from firmware_interfaces.codec import decode_payload, encode_payload, expected_payload_size
from firmware_interfaces.samples import sample_messages, sample_telemetry


def test_payload_round_trips_for_every_sample():
    for message_type, message in sample_messages().items():
        payload = encode_payload(message)
        assert len(payload) == expected_payload_size(message_type, 4)
        assert decode_payload(message_type, payload) == message


def test_expected_payload_size_ignores_the_axis_count_of_fixed_layouts():
    assert expected_payload_size(MessageType.HEARTBEAT, 7) == 4
    assert expected_payload_size(MessageType.TELEMETRY, MAX_AXES) == 15 + 17 * MAX_AXES
    with pytest.raises(KeyError):
        expected_payload_size(0x7E)


@pytest.mark.parametrize("axes", range(MAX_AXES + 1))
def test_telemetry_with_any_axis_count_round_trips(axes):
    message = sample_telemetry(axes)
    assert decode_payload(MessageType.TELEMETRY, encode_payload(message)) == message


def test_empty_payload_with_extra_bytes_is_a_bad_length():
    with pytest.raises(FrameDecodeError) as info:
        decode_payload(MessageType.ESTOP, b"\x00")
    assert info.value.kind is FaultKind.BAD_LENGTH
    assert decode_payload(MessageType.ESTOP, b"") == EStop()


def test_payload_shorter_than_the_fixed_part_of_a_variable_layout_is_a_bad_length():
    with pytest.raises(FrameDecodeError) as info:
        decode_payload(MessageType.TELEMETRY, b"\x00" * 14)
    assert info.value.kind is FaultKind.BAD_LENGTH
    assert "shorter than its fixed part 15" in info.value.detail


def test_decoded_enum_and_flag_fields_have_their_python_types():
    telemetry = sample_telemetry(2)
    decoded = decode_payload(MessageType.TELEMETRY, encode_payload(telemetry))
    assert type(decoded.firmware_state) is type(telemetry.firmware_state)  # type: ignore[attr-defined]
    assert type(decoded.axes[0].status) is type(telemetry.axes[0].status)  # type: ignore[attr-defined]
    assert decoded.estop_input is False  # type: ignore[attr-defined]
