"""Golden vectors: one hex file per message type in ``tests/golden/``.

Each file holds comment lines (``#``) describing the message, then the wire bytes in hex
(COBS-encoded frame including the trailing 0x00). Firmware tests can replay the same files.
Regenerate after a deliberate protocol change with::

    python -c "from tests.unit.firmware_interfaces.test_golden import write_golden; write_golden()"
"""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_interfaces import MessageType, decode_frame, encode_frame, encode_raw_frame
from firmware_interfaces.samples import sample_messages

GOLDEN_DIR = Path(__file__).resolve().parents[2] / "golden"
SEQ_BASE = 0x1200


def golden_seq(message_type: MessageType) -> int:
    return SEQ_BASE + list(MessageType).index(message_type)


def golden_path(message_type: MessageType) -> Path:
    return GOLDEN_DIR / f"{message_type.name.lower()}.hex"


def golden_text(message_type: MessageType) -> str:
    message = sample_messages()[message_type]
    seq = golden_seq(message_type)
    raw = encode_raw_frame(message, seq)
    wire = encode_frame(message, seq)
    return (
        f"# {message_type.name} (type {int(message_type):#04x}), seq {seq:#06x}\n"
        f"# {message!r}\n"
        f"# raw frame before COBS ({len(raw)} bytes): {raw.hex(' ')}\n"
        f"# wire bytes ({len(wire)}, COBS + 0x00 delimiter):\n"
        f"{wire.hex(' ')}\n"
    )


def read_golden(message_type: MessageType) -> bytes:
    lines = golden_path(message_type).read_text(encoding="ascii").splitlines()
    return bytes.fromhex(" ".join(line for line in lines if not line.startswith("#")))


def write_golden() -> None:
    for message_type in MessageType:
        golden_path(message_type).write_text(golden_text(message_type), encoding="ascii")


def test_there_is_exactly_one_golden_file_per_message_type():
    names = sorted(p.name for p in GOLDEN_DIR.glob("*.hex"))
    assert names == sorted(golden_path(t).name for t in MessageType)


@pytest.mark.parametrize("message_type", list(MessageType), ids=lambda t: t.name)
def test_encoding_the_sample_message_gives_the_golden_bytes(message_type):
    message = sample_messages()[message_type]
    assert encode_frame(message, golden_seq(message_type)) == read_golden(message_type)


@pytest.mark.parametrize("message_type", list(MessageType), ids=lambda t: t.name)
def test_decoding_the_golden_bytes_gives_the_sample_message(message_type):
    wire = read_golden(message_type)
    assert wire.endswith(b"\x00")
    frame = decode_frame(wire[:-1])
    assert frame.message == sample_messages()[message_type]
    assert type(frame.message) is type(sample_messages()[message_type])
    assert frame.seq == golden_seq(message_type)


@pytest.mark.parametrize("message_type", list(MessageType), ids=lambda t: t.name)
def test_golden_file_comments_are_current(message_type):
    assert golden_path(message_type).read_text(encoding="ascii") == golden_text(message_type)
