"""The generated C header against the Python codec, byte for byte (needs a C compiler)."""

from __future__ import annotations

import shutil
import subprocess
import zlib
from pathlib import Path

import pytest
from cobs import cobs
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_interfaces import (
    CRC_CHECK_VALUE,
    FaultKind,
    FrameDecodeError,
    MessageType,
    decode_frame,
    encode_frame,
    encode_raw_frame,
)
from firmware_interfaces.header import HEADER_PATH
from firmware_interfaces.samples import sample_messages
from tests.unit.firmware_interfaces.strategies import any_message
from tests.unit.firmware_interfaces.test_golden import golden_seq, read_golden

ROUNDTRIP_C = Path(__file__).resolve().parents[2] / "c" / "roundtrip.c"
C_RESULT = {
    FaultKind.COBS: -1,
    FaultKind.SHORT: -2,
    FaultKind.OVERSIZE: -3,
    FaultKind.CRC: -4,
    FaultKind.BAD_VERSION: -5,
    FaultKind.BAD_LENGTH: -6,
    FaultKind.UNKNOWN_TYPE: -7,
    FaultKind.BAD_PAYLOAD: -8,
}


def _compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc")


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory) -> Path:
    compiler = _compiler()
    if compiler is None:
        pytest.skip("no C compiler (cc or gcc) on PATH; CI installs gcc")
    binary = Path(tmp_path_factory.mktemp("c")) / "roundtrip"
    command = [
        compiler,
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pedantic",
        "-O2",
        f"-I{HEADER_PATH.parent}",
        str(ROUNDTRIP_C),
        "-o",
        str(binary),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, f"compiling roundtrip.c failed:\n{result.stderr}"
    return binary


def _run(binary: Path, mode: str, stdin: str = "") -> list[str]:
    result = subprocess.run(
        [str(binary), mode], input=stdin, capture_output=True, text=True, check=False, timeout=30
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def _python_view(wire_without_delimiter: bytes) -> str:
    """What the C echo must print for these bytes, computed by the Python decoder."""
    try:
        frame = decode_frame(wire_without_delimiter)
    except FrameDecodeError as err:
        return f"ERR {C_RESULT[err.kind]}"
    wire = encode_frame(frame.message, frame.seq)
    return f"OK {int(frame.message.TYPE):02x} {frame.seq} {wire.hex()}"


def test_c_crc_has_the_check_value(roundtrip):
    assert _run(roundtrip, "crc") == [f"{CRC_CHECK_VALUE:08x}"]


def test_frames_built_in_c_are_the_golden_frames_and_decode_in_python(roundtrip):
    lines = _run(roundtrip, "encode")
    assert len(lines) == len(MessageType)
    for message_type, line in zip(MessageType, lines, strict=True):
        type_hex, wire_hex = line.split()
        wire = bytes.fromhex(wire_hex)
        assert int(type_hex, 16) == message_type
        assert wire == read_golden(message_type), message_type.name
        frame = decode_frame(wire[:-1])
        assert frame.message == sample_messages()[message_type]
        assert frame.seq == golden_seq(message_type)


def test_frames_built_in_python_are_decoded_and_re_encoded_by_c_byte_for_byte(roundtrip):
    wires = [encode_frame(m, golden_seq(t)) for t, m in sample_messages().items()]
    lines = _run(roundtrip, "echo", "".join(w[:-1].hex() + "\n" for w in wires))
    for message_type, wire, line in zip(MessageType, wires, lines, strict=True):
        assert line == f"OK {int(message_type):02x} {golden_seq(message_type)} {wire.hex()}"


@settings(max_examples=15)
@given(messages=st.lists(any_message, min_size=1, max_size=40), seq=st.integers(0, 0xFFFF))
def test_c_and_python_agree_on_random_messages_of_every_type(roundtrip, messages, seq):
    wires = [encode_frame(m, (seq + i) % 0x10000)[:-1] for i, m in enumerate(messages)]
    lines = _run(roundtrip, "echo", "".join(w.hex() + "\n" for w in wires))
    assert lines == [_python_view(w) for w in wires]
    assert all(line.startswith("OK ") for line in lines)


def _mutate_with_good_crc(raw: bytes, position: int, value: int) -> bytes:
    body = bytearray(raw[:-4])
    body[position % len(body)] = value
    return bytes(cobs.encode(bytes(body) + zlib.crc32(body).to_bytes(4, "little")))


_corruption = st.tuples(
    st.sampled_from(["flip", "truncate", "crc_ok"]), st.integers(0, 500), st.integers(0, 255)
)


@settings(max_examples=15)
@given(
    cases=st.lists(st.tuples(any_message, _corruption), min_size=1, max_size=40),
)
def test_c_rejects_damaged_frames_with_the_same_fault_kind_as_python(roundtrip, cases):
    wires = []
    for i, (message, (kind, position, value)) in enumerate(cases):
        if kind == "crc_ok":  # header or payload changed, CRC recomputed: tests the validators
            wires.append(_mutate_with_good_crc(encode_raw_frame(message, i), position, value))
            continue
        wire = bytearray(encode_frame(message, i)[:-1])
        if kind == "flip":
            wire[position % len(wire)] ^= 1 << (value % 8)
        else:
            del wire[max(position % len(wire), 1) :]
        wires.append(bytes(wire).replace(b"\x00", b"\x01"))  # one line = one frame
    lines = _run(roundtrip, "echo", "".join(w.hex() + "\n" for w in wires))
    assert lines == [_python_view(w) for w in wires]


@pytest.mark.parametrize(
    ("raw_hex", "kind"),
    [
        ("05", FaultKind.COBS),
        ("0201", FaultKind.SHORT),
        ("01" * 250, FaultKind.CRC),
        ("01" * 251, FaultKind.OVERSIZE),
    ],
    ids=["bad-cobs", "short", "zeros", "oversize"],
)
def test_c_and_python_agree_on_hand_made_bad_frames(roundtrip, raw_hex, kind):
    wire = bytes.fromhex(raw_hex)
    assert _python_view(wire) == f"ERR {C_RESULT[kind]}"
    assert _run(roundtrip, "echo", wire.hex() + "\n") == [_python_view(wire)]
