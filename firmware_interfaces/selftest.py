"""Self-test of the protocol stack: every message type through the deframer, with damage.

Builds a stream in which a good frame of every message type alternates with a damaged frame
(bit flip, truncation, garbage, oversize run, and well-formed frames with a wrong version, an
unknown type, a wrong length and an invalid value), feeds it to a ``FrameDecoder`` at once and
byte by byte, and checks that every good frame survives in order and every damaged one is
counted as a typed fault. Pure and deterministic for a given seed; ``mrbot protocol selftest``
prints the result.
"""

from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from cobs import cobs

from firmware_interfaces.constants import (
    CRC_CHECK_INPUT,
    CRC_CHECK_VALUE,
    MAX_WIRE_BYTES,
    PROTOCOL_VERSION_MAJOR,
)
from firmware_interfaces.decoder import FrameDecoder, FrameFault
from firmware_interfaces.enums import MessageType
from firmware_interfaces.errors import FaultKind
from firmware_interfaces.framing import Frame, crc32, encode_frame, encode_raw_frame
from firmware_interfaces.samples import sample_messages

if TYPE_CHECKING:
    from collections.abc import Mapping

    from firmware_interfaces.messages import Message

__all__ = ["EXPECTED_FAULTS", "Check", "SelftestReport", "run_selftest"]

_LINK_FAULTS = frozenset({FaultKind.COBS, FaultKind.SHORT, FaultKind.CRC})


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One line of the self-test report.

    Attributes:
        name: what was checked.
        expected: what should happen, in words.
        actual: what happened, in words.
        passed: whether it matched.
    """

    name: str
    expected: str
    actual: str
    passed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SelftestReport:
    """All checks of one self-test run.

    Attributes:
        checks: the checks, in order.
        frames_sent: good frames in the stream.
        damaged_sent: damaged frames in the stream.
        stream_bytes: length of the stream in bytes.
    """

    checks: tuple[Check, ...]
    frames_sent: int
    damaged_sent: int
    stream_bytes: int

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(c.passed for c in self.checks)


def _raw_with_crc(version: int, type_id: int, seq: int, payload: bytes) -> bytes:
    body = struct.pack("<BBHB", version, type_id, seq, len(payload)) + payload
    return cast("bytes", cobs.encode(body + struct.pack("<I", zlib.crc32(body)))) + b"\x00"


def _damaged_frames(rng: random.Random, message: Message, seq: int) -> list[tuple[str, bytes]]:
    """One damaged frame of each kind; the expected fault kinds are in ``EXPECTED_FAULTS``."""
    raw = bytearray(encode_raw_frame(message, seq))
    raw[-1 - rng.randrange(4)] ^= 1 << rng.randrange(8)  # a bit of the CRC: a certain CRC fault
    flipped = cast("bytes", cobs.encode(bytes(raw))) + b"\x00"
    wire = encode_frame(message, seq)
    truncated = wire[: max(2, len(wire) // 2)] + b"\x00"
    garbage = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(3, 40))) + b"\x00"
    oversize = bytes(rng.randrange(1, 256) for _ in range(MAX_WIRE_BYTES + 20)) + b"\x00"
    return [
        ("bit flip", flipped),
        ("truncation", truncated),
        ("garbage", garbage),
        ("oversize", oversize),
        ("wrong version", _raw_with_crc(PROTOCOL_VERSION_MAJOR + 1, 0x02, seq, b"\0" * 4)),
        ("unknown type", _raw_with_crc(PROTOCOL_VERSION_MAJOR, 0x7E, seq, b"")),
        ("wrong length", _raw_with_crc(PROTOCOL_VERSION_MAJOR, MessageType.HEARTBEAT, seq, b"\1")),
        ("invalid value", _raw_with_crc(PROTOCOL_VERSION_MAJOR, MessageType.STOP, seq, b"\x09")),
    ]


#: Each kind of damage the self-test injects, and the decoder faults it may be reported as.
EXPECTED_FAULTS: Mapping[str, frozenset[FaultKind]] = {
    "bit flip": frozenset({FaultKind.CRC}),
    "truncation": _LINK_FAULTS,
    "garbage": _LINK_FAULTS,
    "oversize": frozenset({FaultKind.OVERSIZE}),
    "wrong version": frozenset({FaultKind.BAD_VERSION}),
    "unknown type": frozenset({FaultKind.UNKNOWN_TYPE}),
    "wrong length": frozenset({FaultKind.BAD_LENGTH}),
    "invalid value": frozenset({FaultKind.BAD_PAYLOAD}),
}


def _feed(stream: bytes, chunk: int) -> list[Frame | FrameFault]:
    decoder = FrameDecoder()
    items: list[Frame | FrameFault] = []
    for start in range(0, len(stream), chunk):
        items.extend(decoder.feed(stream[start : start + chunk]))
    return items


def run_selftest(*, seed: int = 0) -> SelftestReport:
    """Run the self-test; deterministic for a given ``seed``."""
    rng = random.Random(seed)  # noqa: S311 - test data, not cryptography
    messages = list(sample_messages().values())
    damage_names = list(EXPECTED_FAULTS)
    stream = bytearray(b"\x00")
    expected_faults: list[str] = []
    for seq, message in enumerate(messages):
        stream += encode_frame(message, seq)
        name, frame = _damaged_frames(rng, message, seq)[seq % len(damage_names)]
        stream += frame
        expected_faults.append(name)
    checks = [
        Check(
            name="CRC-32 check value",
            expected=f"{CRC_CHECK_VALUE:#010x}",
            actual=f"{crc32(CRC_CHECK_INPUT):#010x}",
            passed=crc32(CRC_CHECK_INPUT) == CRC_CHECK_VALUE,
        )
    ]
    whole = _feed(bytes(stream), len(stream))
    bytewise = _feed(bytes(stream), 1)
    checks.append(
        Check(
            name="chunking",
            expected="1-byte feeds == one feed",
            actual="same" if whole == bytewise else "different",
            passed=whole == bytewise,
        )
    )
    frames = [item for item in whole if isinstance(item, Frame)]
    faults = [item for item in whole if isinstance(item, FrameFault)]
    for seq, message in enumerate(messages):
        got = [f for f in frames if f.seq == seq]
        ok = len(got) == 1 and got[0].message == message
        checks.append(
            Check(
                name=f"{message.TYPE.name} survives",
                expected=f"seq {seq}, equal message",
                actual="ok" if ok else f"{len(got)} frame(s) with seq {seq}, message differs",
                passed=ok,
            )
        )
    in_order = [f.seq for f in frames] == list(range(len(messages)))
    checks.append(
        Check(
            name="good frames in order",
            expected=f"seq 0..{len(messages) - 1}",
            actual="in order" if in_order else str([f.seq for f in frames]),
            passed=in_order,
        )
    )
    for index, name in enumerate(expected_faults):
        allowed = EXPECTED_FAULTS[name]
        kind = faults[index].kind if index < len(faults) else None
        checks.append(
            Check(
                name=f"{name} after {messages[index].TYPE.name}",
                expected=" or ".join(sorted(k.value for k in allowed)),
                actual="missing" if kind is None else kind.value,
                passed=kind in allowed,
            )
        )
    checks.append(
        Check(
            name="fault count",
            expected=str(len(expected_faults)),
            actual=str(len(faults)),
            passed=len(faults) == len(expected_faults),
        )
    )
    return SelftestReport(
        checks=tuple(checks),
        frames_sent=len(messages),
        damaged_sent=len(expected_faults),
        stream_bytes=len(stream),
    )
