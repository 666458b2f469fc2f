from __future__ import annotations

import dataclasses
import zlib

import pytest
from cobs import cobs

from firmware_interfaces import (
    MAX_WIRE_BYTES,
    EStop,
    FaultKind,
    Frame,
    FrameDecoder,
    FrameFault,
    Heartbeat,
    encode_frame,
    encode_raw_frame,
)
from firmware_interfaces.samples import sample_messages


def _stream():
    messages = list(sample_messages().values())
    return messages, b"".join(encode_frame(m, i) for i, m in enumerate(messages))


def _messages(items):
    return [item.message for item in items if isinstance(item, Frame)]


def _kinds(items):
    return [item.kind for item in items if isinstance(item, FrameFault)]


def test_a_stream_of_every_message_decodes_in_order():
    messages, stream = _stream()
    decoder = FrameDecoder()
    items = decoder.feed(stream)
    assert _messages(items) == messages
    assert [f.seq for f in items if isinstance(f, Frame)] == list(range(len(messages)))
    assert decoder.stats.frames_ok == len(messages)
    assert decoder.stats.total_errors == 0
    assert decoder.buffered_bytes == 0


def test_one_byte_at_a_time_gives_the_same_result_as_all_at_once():
    messages, stream = _stream()
    decoder = FrameDecoder()
    items = []
    for i in range(len(stream)):
        items.extend(decoder.feed(stream[i : i + 1]))
    assert _messages(items) == messages


def test_a_frame_split_across_feeds_comes_out_once_complete():
    wire = encode_frame(Heartbeat(counter=7), 3)
    decoder = FrameDecoder()
    assert decoder.feed(wire[:4]) == []
    assert decoder.buffered_bytes == 4
    (frame,) = decoder.feed(wire[4:])
    assert isinstance(frame, Frame)
    assert frame.message == Heartbeat(counter=7)


def test_empty_frames_between_delimiters_are_skipped_and_not_errors():
    wire = encode_frame(EStop(), 1, leading_delimiter=True)
    decoder = FrameDecoder()
    items = decoder.feed(b"\x00\x00" + wire + b"\x00")
    assert _messages(items) == [EStop()]
    assert decoder.stats.empty_frames == 4
    assert decoder.stats.total_errors == 0


def test_a_corrupted_frame_is_a_typed_fault_and_the_next_frame_survives():
    first = bytearray(encode_frame(Heartbeat(counter=0x01020304), 1))
    first[3] ^= 0x80
    assert 0 not in first[:-1]  # the flip made no delimiter, so it is one bad frame
    second = encode_frame(Heartbeat(counter=2), 2)
    decoder = FrameDecoder()
    items = decoder.feed(bytes(first) + second)
    assert _kinds(items) == [FaultKind.CRC]
    assert _messages(items) == [Heartbeat(counter=2)]
    fault = items[0]
    assert isinstance(fault, FrameFault)
    assert fault.raw == bytes(first[:-1])
    stats = decoder.stats
    assert stats.crc_errors == 1
    assert stats.count(FaultKind.CRC) == 1
    assert stats.bytes_discarded == len(first) - 1


def test_garbage_before_the_first_delimiter_costs_no_frame():
    decoder = FrameDecoder()
    items = decoder.feed(b"\x13\x37\xff" + encode_frame(EStop(), 1, leading_delimiter=True))
    assert _messages(items) == [EStop()]
    assert len(_kinds(items)) == 1


def test_a_truncated_frame_is_a_fault_and_the_next_frame_survives():
    truncated = encode_frame(Heartbeat(counter=1), 1)[:6] + b"\x00"
    decoder = FrameDecoder()
    items = decoder.feed(truncated + encode_frame(EStop(), 2))
    assert len(_kinds(items)) == 1
    assert _messages(items) == [EStop()]


def test_a_run_without_delimiter_is_one_oversize_fault_and_memory_stays_bounded():
    decoder = FrameDecoder()
    items = []
    for _ in range(100):
        items.extend(decoder.feed(b"\x01" * 97))
        assert decoder.buffered_bytes <= MAX_WIRE_BYTES - 1
    items.extend(decoder.feed(b"\x00" + encode_frame(EStop(), 5)))
    assert _kinds(items) == [FaultKind.OVERSIZE]
    assert _messages(items) == [EStop()]
    oversize = items[0]
    assert isinstance(oversize, FrameFault)
    assert len(oversize.raw) <= 64
    assert decoder.stats.oversize == 1
    assert decoder.stats.bytes_discarded == 9_700


def test_an_oversize_run_within_one_feed_is_detected_too():
    decoder = FrameDecoder()
    items = decoder.feed(b"\x01" * MAX_WIRE_BYTES + b"\x00" + encode_frame(EStop(), 5))
    assert _kinds(items) == [FaultKind.OVERSIZE]
    assert _messages(items) == [EStop()]


def test_the_largest_legal_frame_is_not_oversize():
    decoder = FrameDecoder()
    run = b"\x01" * (MAX_WIRE_BYTES - 1)  # decodes to zeros: a short or CRC fault, not oversize
    items = decoder.feed(run + b"\x00")
    assert FaultKind.OVERSIZE not in _kinds(items)


def test_a_smaller_limit_turns_long_frames_into_oversize_faults():
    telemetry = sample_messages()
    wire = encode_frame(telemetry[next(iter(telemetry))], 1)
    decoder = FrameDecoder(max_wire_bytes=len(wire) - 1)
    assert _kinds(decoder.feed(wire)) == [FaultKind.OVERSIZE]
    with pytest.raises(ValueError, match="max_wire_bytes"):
        FrameDecoder(max_wire_bytes=5)


def test_fault_of_a_frame_with_a_good_crc_carries_its_seq_and_type_for_a_nack():
    raw = bytearray(encode_raw_frame(Heartbeat(counter=1), 0x0102))
    raw[1] = 0x7E  # unknown type, CRC recomputed below
    raw[-4:] = zlib.crc32(raw[:-4]).to_bytes(4, "little")
    decoder = FrameDecoder()
    (fault,) = decoder.feed(cobs.encode(bytes(raw)) + b"\x00")
    assert isinstance(fault, FrameFault)
    assert fault.kind is FaultKind.UNKNOWN_TYPE
    assert (fault.seq, fault.type_id) == (0x0102, 0x7E)
    assert decoder.stats.unknown_type == 1


def test_stats_are_a_copy_the_caller_cannot_change():
    decoder = FrameDecoder()
    decoder.feed(encode_frame(EStop(), 1))
    snapshot = decoder.stats
    snapshot.frames_ok = 99
    assert decoder.stats.frames_ok == 1
    assert dataclasses.asdict(decoder.stats)["bytes_received"] == len(encode_frame(EStop(), 1))


def test_reset_drops_a_half_received_frame_and_keeps_counters():
    decoder = FrameDecoder()
    decoder.feed(encode_frame(EStop(), 1))
    decoder.feed(encode_frame(EStop(), 2)[:3])
    decoder.reset()
    assert decoder.buffered_bytes == 0
    items = decoder.feed(encode_frame(EStop(), 3))
    assert [f.seq for f in items if isinstance(f, Frame)] == [3]
    assert decoder.stats.frames_ok == 2
    assert decoder.stats.bytes_discarded == 3


def test_reset_ends_an_oversize_discard():
    decoder = FrameDecoder()
    decoder.feed(b"\x01" * (MAX_WIRE_BYTES + 5))
    decoder.reset()
    assert _messages(decoder.feed(encode_frame(EStop(), 3))) == [EStop()]


def test_feed_of_nothing_returns_nothing():
    assert FrameDecoder().feed(b"") == []


def test_bytearray_and_memoryview_input_decode_like_bytes():
    wire = encode_frame(Heartbeat(counter=3), 4)
    for data in (bytearray(wire), memoryview(wire)):
        (frame,) = FrameDecoder().feed(data)
        assert isinstance(frame, Frame)
        assert frame.message == Heartbeat(counter=3)
