"""Properties of the streaming deframer: it never raises, stays bounded, and loses only what
was damaged."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from firmware_interfaces import MAX_WIRE_BYTES, Frame, FrameDecoder, FrameFault, encode_frame
from tests.unit.firmware_interfaces.strategies import any_message


def _feed_in_chunks(data: bytes, sizes: list[int]):
    decoder = FrameDecoder()
    items = []
    start = 0
    index = 0
    while start < len(data):
        size = sizes[index % len(sizes)] if sizes else len(data)
        items.extend(decoder.feed(data[start : start + size]))
        assert decoder.buffered_bytes <= MAX_WIRE_BYTES - 1
        start += size
        index += 1
    return items, decoder.stats


@given(data=st.binary(max_size=3_000), sizes=st.lists(st.integers(1, 600), max_size=8))
def test_arbitrary_bytes_yield_only_typed_faults_and_bounded_memory(data, sizes):
    items, stats = _feed_in_chunks(data, sizes)
    faults = [item for item in items if isinstance(item, FrameFault)]
    frames = [item for item in items if isinstance(item, Frame)]
    assert len(faults) + len(frames) == len(items)
    assert stats.total_errors == len(faults)
    assert stats.frames_ok == len(frames)
    assert stats.bytes_received == len(data)
    for fault in faults:
        assert stats.count(fault.kind) >= 1
        assert len(fault.raw) < MAX_WIRE_BYTES


@given(
    messages=st.lists(any_message, min_size=1, max_size=12),
    garbage=st.binary(max_size=400),
    sizes=st.lists(st.integers(1, 300), min_size=1, max_size=6),
)
def test_one_byte_chunks_and_4_kib_chunks_give_the_same_result(messages, garbage, sizes):
    frames = b"".join(encode_frame(m, i) for i, m in enumerate(messages))
    stream = garbage + b"\x00" + frames + garbage  # the delimiter ends the leading garbage
    one_by_one = _feed_in_chunks(stream, [1])
    whole = _feed_in_chunks(stream, [4096])
    random_chunks = _feed_in_chunks(stream, sizes)
    assert one_by_one == whole == random_chunks
    decoded = [item.message for item in whole[0] if isinstance(item, Frame)]
    assert decoded[-len(messages) :] == messages


_damage = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(0, 7)),
    st.tuples(st.just("truncate"), st.integers(0, 10_000), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.integers(0, 255)),
)


def _damaged(wire: bytes, damage) -> bytes:
    """Damage a frame's content (never its delimiter); the result is non-empty."""
    kind, position, value = damage
    content = bytearray(wire[:-1])
    at = position % len(content)
    if kind == "flip":
        content[at] ^= 1 << value
    elif kind == "truncate":
        del content[max(at, 1) :]
    else:
        content.insert(at, value)
    return bytes(content) + b"\x00"


@given(
    messages=st.lists(any_message, min_size=1, max_size=16),
    damage=st.dictionaries(st.integers(0, 15), _damage, max_size=6),
    garbage=st.lists(st.binary(min_size=1, max_size=300), max_size=3),
    sizes=st.lists(st.integers(1, 400), min_size=1, max_size=5),
)
def test_corrupting_some_frames_of_a_stream_loses_only_those_frames(
    messages, damage, garbage, sizes
):
    pieces = []
    intact = []
    corrupted = 0
    for i, message in enumerate(messages):
        wire = encode_frame(message, i)
        if i in damage and _damaged(wire, damage[i]) != wire:
            pieces.append(_damaged(wire, damage[i]))
            corrupted += 1
        else:
            pieces.append(wire)
            intact.append((i, message))
        if i < len(garbage):
            pieces.append(garbage[i] + b"\x00")  # noise between frames, ended by a delimiter
    items, stats = _feed_in_chunks(b"".join(pieces), sizes)
    frames = [item for item in items if isinstance(item, Frame)]
    assert [(f.seq, f.message) for f in frames] == intact
    assert stats.frames_ok == len(intact)
    assert stats.total_errors >= corrupted


@given(messages=st.lists(any_message, min_size=1, max_size=8))
def test_stats_snapshot_equals_a_fresh_count(messages):
    decoder = FrameDecoder()
    stream = b"".join(encode_frame(m, i) for i, m in enumerate(messages))
    decoder.feed(stream)
    stats = decoder.stats
    assert dataclasses.replace(stats) == stats
    assert stats.frames_ok == len(messages)
    assert stats.bytes_received == len(stream)
