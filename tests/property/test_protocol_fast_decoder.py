"""Property: the fast payload builder agrees with the reference one built on the constructors.

The fast builder skips the constructors' checks that the wire format already guarantees; this
compares it with the reference builder on payloads of every type, valid and invalid alike.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_interfaces import MAX_AXES, FaultKind, FrameDecodeError, MessageType, layout_for
from firmware_interfaces.checks import validate
from firmware_interfaces.codec import decode_payload, encode_payload
from tests.unit.firmware_interfaces.strategies import STRATEGIES


def _outcome(type_id: int, payload: bytes, *, reference: bool):
    try:
        return decode_payload(type_id, payload, reference=reference)
    except FrameDecodeError as err:
        return err.kind


@st.composite
def payloads(draw, message_type: MessageType) -> bytes:
    """Random bytes of a length the layout accepts, with a plausible axis count."""
    layout = layout_for(message_type)
    if not layout.has_axes:
        return bytes(draw(st.binary(min_size=layout.fixed_size, max_size=layout.fixed_size)))
    count = draw(st.integers(0, MAX_AXES))
    fixed = draw(st.binary(min_size=layout.fixed_size - 1, max_size=layout.fixed_size - 1))
    size = count * layout.record_size
    return bytes(fixed + struct.pack("<B", count) + draw(st.binary(min_size=size, max_size=size)))


@st.composite
def near_valid_payloads(draw, message_type: MessageType) -> bytes:
    """A valid payload with one byte replaced: mostly valid, sometimes just outside a range."""
    payload = bytearray(encode_payload(draw(STRATEGIES[message_type])))
    if payload:
        payload[draw(st.integers(0, len(payload) - 1))] = draw(st.integers(0, 255))
    return bytes(payload)


@pytest.mark.parametrize("message_type", list(MessageType), ids=lambda t: t.name)
@given(data=st.data())
def test_fast_and_reference_builders_agree_on_any_payload(message_type, data):
    payload = data.draw(st.one_of(payloads(message_type), near_valid_payloads(message_type)))
    fast = _outcome(message_type, payload, reference=False)
    reference = _outcome(message_type, payload, reference=True)
    assert fast == reference
    assert type(fast) is type(reference)
    if not isinstance(fast, FaultKind):
        validate(fast)  # a decoded message passes every constructor check
