"""The shared OpenIGTLink stream deframer: any chunking gives the same frames, in order."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robot.igtl import (
    BodyLimits,
    Deframer,
    IgtlHeaderError,
    IgtlMessage,
    IgtlSizeLimitError,
    StringBody,
    TransformBody,
    decode_body,
    encode,
)
from robot.igtl.header import HEADER_SIZE

MESSAGES = [
    IgtlMessage(device_name="CMD_0001", body=StringBody(text="START_UP")),
    IgtlMessage(device_name="TGT_0002", body=TransformBody(matrix_ras_mm=np.eye(4))),
    IgtlMessage(device_name="CMD_0003", body=StringBody(text="")),
    IgtlMessage(
        device_name="v2", body=StringBody(text="x"), header_version=2, metadata=(("k", "v"),)
    ),
]
STREAM = b"".join(encode(m) for m in MESSAGES)


def drain(deframer: Deframer) -> list[IgtlMessage]:
    out = []
    while (frame := deframer.next_frame()) is not None:
        out.append(decode_body(frame.header, frame.body))
    return out


@settings(derandomize=True, max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(0, len(STREAM)), max_size=12))
def test_any_chunking_of_the_stream_gives_the_same_frames(cuts):
    deframer = Deframer()
    got = []
    start = 0
    for cut in [*sorted(cuts), len(STREAM)]:
        deframer.feed(STREAM[start:cut])
        got += drain(deframer)
        start = cut
    assert got == MESSAGES
    assert not deframer.in_frame


def test_writable_never_spans_two_frames():
    deframer = Deframer()
    sizes = []
    data = memoryview(STREAM)
    while data:
        view = deframer.writable()
        sizes.append(len(view))
        taken = min(len(view), len(data))
        view[:taken] = data[:taken]
        deframer.commit(taken)
        data = data[taken:]
    frames = [len(encode(m)) - HEADER_SIZE for m in MESSAGES]
    assert sizes == [s for body in frames for s in (HEADER_SIZE, body) if s]
    assert drain(deframer) == MESSAGES


def test_partial_frame_is_described_and_kept():
    deframer = Deframer()
    frame = encode(MESSAGES[0])
    deframer.feed(frame[:30])
    assert deframer.in_frame
    assert deframer.describe_partial() == "header incomplete (30 of 58 B)"
    deframer.feed(frame[30:60])
    assert deframer.describe_partial() == "12 B body incomplete (2 of 12 B)"
    assert deframer.next_frame() is None
    deframer.feed(frame[60:])
    assert drain(deframer) == [MESSAGES[0]]


def test_frames_before_a_bad_header_come_out_first_then_the_error_stays():
    deframer = Deframer()
    bad = struct.pack(">H12s20sQQQ", 3, b"STRING", b"x", 0, 0, 0)
    deframer.feed(encode(MESSAGES[0]) + bad + encode(MESSAGES[1]))
    assert drain_until_error(deframer) == [MESSAGES[0]]
    assert deframer.failed
    with pytest.raises(IgtlHeaderError, match="header version 3"):
        deframer.next_frame()
    with pytest.raises(IgtlHeaderError):
        deframer.writable()


def drain_until_error(deframer: Deframer) -> list[IgtlMessage]:
    out = []
    try:
        while (frame := deframer.next_frame()) is not None:
            out.append(decode_body(frame.header, frame.body))
    except IgtlHeaderError:
        pass
    return out


def test_body_over_its_limit_fails_before_any_body_byte_is_stored():
    deframer = Deframer(BodyLimits(string_bytes=4))
    deframer.feed(encode(MESSAGES[0])[:HEADER_SIZE])
    with pytest.raises(IgtlSizeLimitError, match="12 B exceeds the 4 B limit"):
        deframer.next_frame()


def test_commit_beyond_the_writable_space_is_refused():
    deframer = Deframer()
    with pytest.raises(ValueError, match="exceeds"):
        deframer.commit(HEADER_SIZE + 1)
