"""Property: every message of every type survives encode -> wire -> decode unchanged."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_interfaces import (
    MAX_WIRE_BYTES,
    Frame,
    FrameDecoder,
    MessageType,
    decode_frame,
    encode_frame,
)
from firmware_interfaces.codec import decode_payload, encode_payload
from tests.unit.firmware_interfaces.strategies import STRATEGIES, seqs


def test_there_is_a_strategy_for_every_message_type():
    assert set(STRATEGIES) == set(MessageType)


@pytest.mark.parametrize("message_type", list(MessageType), ids=lambda t: t.name)
@given(data=st.data(), seq=seqs)
def test_encode_then_decode_is_the_identity_for_every_message_type(message_type, data, seq):
    message = data.draw(STRATEGIES[message_type])
    wire = encode_frame(message, seq)
    assert len(wire) <= MAX_WIRE_BYTES
    assert 0 not in wire[:-1]
    frame = decode_frame(wire[:-1])
    assert frame == Frame(version=frame.version, seq=seq, message=message)
    assert type(frame.message) is type(message)
    assert decode_payload(int(message_type), encode_payload(message)) == message


@pytest.mark.parametrize("message_type", list(MessageType), ids=lambda t: t.name)
@given(data=st.data(), seq=seqs)
def test_the_streaming_decoder_agrees_with_the_single_frame_decoder(message_type, data, seq):
    message = data.draw(STRATEGIES[message_type])
    (frame,) = FrameDecoder().feed(encode_frame(message, seq, leading_delimiter=True))
    assert isinstance(frame, Frame)
    assert frame.message == message
    assert frame.seq == seq
