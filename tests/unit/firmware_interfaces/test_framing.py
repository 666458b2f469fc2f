from __future__ import annotations

import struct
import zlib

import pytest
from cobs import cobs

from firmware_interfaces import (
    CRC_CHECK_VALUE,
    MAX_FRAME_BYTES,
    MAX_PAYLOAD_BYTES,
    MAX_WIRE_BYTES,
    PROTOCOL_VERSION_MAJOR,
    EStop,
    FaultKind,
    FrameDecodeError,
    Heartbeat,
    MessageType,
    Move,
    crc32,
    decode_frame,
    encode_frame,
    encode_raw_frame,
)
from firmware_interfaces.samples import sample_messages


def _wire(raw: bytes) -> bytes:
    """COBS-encode a raw frame without its delimiter, as decode_frame expects."""
    return bytes(cobs.encode(raw))


def _raw(type_id, seq, payload, *, version=PROTOCOL_VERSION_MAJOR, length=None, crc=None):
    body = struct.pack("<BBHB", version, type_id, seq, len(payload) if length is None else length)
    body += payload
    return body + struct.pack("<I", zlib.crc32(body) if crc is None else crc)


def test_crc_is_crc32_iso_hdlc_pinned_by_its_check_value():
    assert crc32(b"123456789") == CRC_CHECK_VALUE == 0xCBF43926


def test_size_constants_follow_from_the_frame_layout():
    assert MAX_PAYLOAD_BYTES <= 240
    assert MAX_FRAME_BYTES == 5 + MAX_PAYLOAD_BYTES + 4
    assert MAX_WIRE_BYTES == MAX_FRAME_BYTES + 2


def test_heartbeat_frame_matches_a_frame_built_by_hand():
    # version 1, type 0x02, seq 0x1234 LE, len 4, counter 0x0A0B0C0D LE, CRC-32 LE, COBS, 0x00
    body = bytes([0x01, 0x02, 0x34, 0x12, 0x04, 0x0D, 0x0C, 0x0B, 0x0A])
    crc = zlib.crc32(body).to_bytes(4, "little")
    expected = bytes([len(body + crc) + 1]) + body + crc + b"\x00"
    assert 0 not in body + crc  # so COBS is a single length code
    assert encode_frame(Heartbeat(counter=0x0A0B0C0D), 0x1234) == expected


def test_empty_payload_frame_matches_a_frame_built_by_hand():
    raw = _raw(MessageType.ESTOP, 7, b"")
    assert encode_raw_frame(EStop(), 7) == raw
    assert encode_frame(EStop(), 7) == cobs.encode(raw) + b"\x00"


def test_wire_bytes_contain_no_zero_except_the_final_delimiter():
    for seq, message in enumerate(sample_messages().values()):
        wire = encode_frame(message, seq)
        assert wire.endswith(b"\x00")
        assert 0 not in wire[:-1]
        assert len(wire) <= MAX_WIRE_BYTES


def test_leading_delimiter_is_emitted_only_when_asked():
    plain = encode_frame(EStop(), 1)
    assert not plain.startswith(b"\x00")
    assert encode_frame(EStop(), 1, leading_delimiter=True) == b"\x00" + plain


@pytest.mark.parametrize("seq", [-1, 0x10000, 1.0, True, "1"])
def test_seq_that_is_not_a_u16_int_is_refused(seq):
    with pytest.raises(ValueError, match="seq"):
        encode_frame(EStop(), seq)


def test_encoding_something_that_is_not_a_catalog_message_is_refused():
    with pytest.raises(TypeError):
        encode_frame(object(), 1)  # type: ignore[arg-type]


def test_every_sample_message_round_trips_with_its_seq():
    for seq, message in enumerate(sample_messages().values(), start=65_530):
        frame = decode_frame(encode_frame(message, seq % 65_536)[:-1])
        assert frame.message == message
        assert type(frame.message) is type(message)
        assert frame.seq == seq % 65_536
        assert frame.version == PROTOCOL_VERSION_MAJOR


def _kind(wire: bytes) -> FrameDecodeError:
    with pytest.raises(FrameDecodeError) as info:
        decode_frame(wire)
    return info.value


def test_invalid_cobs_is_a_cobs_fault():
    assert _kind(b"\x05\x01\x02").kind is FaultKind.COBS


def test_frame_shorter_than_header_and_crc_is_a_short_fault():
    err = _kind(_wire(b"\x01\x02\x03\x04\x05\x06\x07\x08"))
    assert err.kind is FaultKind.SHORT
    assert "8 bytes" in err.detail


def test_frame_longer_than_the_largest_frame_is_an_oversize_fault():
    assert _kind(_wire(b"\x01" * (MAX_FRAME_BYTES + 1))).kind is FaultKind.OVERSIZE


def test_flipped_bit_is_a_crc_fault_naming_both_crcs():
    raw = bytearray(encode_raw_frame(Heartbeat(counter=5), 1))
    raw[6] ^= 0x10
    err = _kind(_wire(bytes(raw)))
    assert err.kind is FaultKind.CRC
    assert "received CRC 0x" in err.detail
    assert "computed 0x" in err.detail
    assert err.seq is None  # the header of a corrupt frame cannot be trusted


def test_other_protocol_major_is_a_bad_version_fault_with_trusted_seq_and_type():
    err = _kind(_wire(_raw(MessageType.ESTOP, 9, b"", version=PROTOCOL_VERSION_MAJOR + 1)))
    assert err.kind is FaultKind.BAD_VERSION
    assert f"protocol major {PROTOCOL_VERSION_MAJOR + 1}" in err.detail
    assert (err.seq, err.type_id) == (9, MessageType.ESTOP)


def test_len_byte_disagreeing_with_the_frame_size_is_a_bad_length_fault():
    err = _kind(_wire(_raw(MessageType.HEARTBEAT, 3, b"\x01\x02\x03\x04", length=5)))
    assert err.kind is FaultKind.BAD_LENGTH


def test_payload_not_matching_the_type_layout_is_a_bad_length_fault():
    err = _kind(_wire(_raw(MessageType.HEARTBEAT, 3, b"\x01\x02\x03")))
    assert err.kind is FaultKind.BAD_LENGTH
    assert "HEARTBEAT payload is 3 bytes, its layout 4" in err.detail
    assert (err.seq, err.type_id) == (3, MessageType.HEARTBEAT)


def test_unknown_type_byte_is_an_unknown_type_fault_with_trusted_seq_and_type():
    err = _kind(_wire(_raw(0x7E, 11, b"")))
    assert err.kind is FaultKind.UNKNOWN_TYPE
    assert (err.seq, err.type_id) == (11, 0x7E)


def test_axis_count_above_max_axes_is_a_bad_payload_fault():
    payload = struct.pack("<IIB", 1, 1, 9) + b"\x00" * 8 * 9
    assert _kind(_wire(_raw(MessageType.MOVE, 1, payload))).kind is FaultKind.BAD_PAYLOAD


def test_zero_axis_move_is_a_bad_payload_fault():
    payload = struct.pack("<IIB", 1, 1, 0)
    assert _kind(_wire(_raw(MessageType.MOVE, 1, payload))).kind is FaultKind.BAD_PAYLOAD


def test_axis_count_not_matching_the_records_is_a_bad_length_fault():
    payload = struct.pack("<IIB", 1, 1, 2) + struct.pack("<ii", 5, 5)
    err = _kind(_wire(_raw(MessageType.MOVE, 1, payload)))
    assert err.kind is FaultKind.BAD_LENGTH
    assert "2 axes need 25" in err.detail


@pytest.mark.parametrize(
    ("type_id", "payload", "needle"),
    [
        (MessageType.STOP, b"\x03", "not a StopCategory"),
        (MessageType.ACK, b"\x01\x00\x7e", "not a MessageType"),
        (MessageType.FAULT, b"\x00\x00\x00\x00\x00\x00", "not a FaultCode"),
        (MessageType.JOG, b"\x08" + b"\x00" * 6, "outside 0..7"),
        (MessageType.GET_PARAM, b"\x01\x09", "or 0xFF"),
    ],
)
def test_values_no_message_may_hold_are_bad_payload_faults(type_id, payload, needle):
    err = _kind(_wire(_raw(type_id, 1, payload)))
    assert err.kind is FaultKind.BAD_PAYLOAD
    assert needle in err.detail


def test_telemetry_bool_other_than_zero_or_one_is_a_bad_payload_fault():
    raw = bytearray(encode_raw_frame(sample_messages()[MessageType.TELEMETRY], 1))
    raw[5 + 8] = 2  # estop_input follows the u64 firmware time
    raw[-4:] = zlib.crc32(raw[:-4]).to_bytes(4, "little")
    err = _kind(_wire(bytes(raw)))
    assert err.kind is FaultKind.BAD_PAYLOAD
    assert "estop_input = 2" in err.detail


def test_telemetry_status_with_undefined_bits_is_a_bad_payload_fault():
    raw = bytearray(encode_raw_frame(sample_messages()[MessageType.TELEMETRY], 1))
    status_offset = 5 + 15 + 12  # header, fixed part, three i32 of axis 0
    raw[status_offset + 1] |= 0x80
    raw[-4:] = zlib.crc32(raw[:-4]).to_bytes(4, "little")
    err = _kind(_wire(bytes(raw)))
    assert err.kind is FaultKind.BAD_PAYLOAD
    assert "undefined AxisStatus bits 0x8000" in err.detail


def test_move_with_negative_max_velocity_on_the_wire_is_a_bad_payload_fault():
    payload = struct.pack("<IIBii", 1, 1, 1, 100, -5)
    err = _kind(_wire(_raw(MessageType.MOVE, 1, payload)))
    assert err.kind is FaultKind.BAD_PAYLOAD
    assert "max_velocity_um_s[0]" in err.detail


def test_nack_of_an_unknown_type_decodes_the_raw_type_byte():
    move = Move(command_id=1, duration_ms=2, targets_um=(3,), max_velocity_um_s=(4,))
    assert decode_frame(encode_frame(move, 1)[:-1]).message == move
    frame = decode_frame(_wire(_raw(MessageType.NACK, 1, b"\x05\x00\x7e\x01")))
    assert frame.message.command_type == 0x7E  # type: ignore[attr-defined]
