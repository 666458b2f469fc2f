"""Benchmark of the wire protocol: TELEMETRY encode + streaming decode on one core.

Figures: frames per second for a realistic 4-axis TELEMETRY frame (encode with
``encode_frame``, decode through ``FrameDecoder.feed``, one thread), against a baseline measured
in the same run: the same frame encoded and decoded naively, one ``struct`` call per field and
the enums rebuilt through their constructors. A second figure compares the throughput with what a
1 Mbaud 8N1 serial line can carry of the same frame (10 bits per byte on the wire, COBS and
delimiter included), the physical floor the codec must beat.
"""

from __future__ import annotations

import statistics
import struct
import time
import zlib
from typing import TYPE_CHECKING, Final, cast

from cobs import cobs

from firmware_interfaces import (
    AxisStatus,
    AxisTelemetry,
    FirmwareState,
    Frame,
    FrameDecoder,
    MessageType,
    Telemetry,
    encode_frame,
    sample_telemetry,
)
from robot.bench.result import BenchResult
from robot.errors import RobotError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["run"]

AREA: Final = "protocol"
TARGET_FRAMES_S: Final = 50_000
LINK_BAUD: Final = 1_000_000
BITS_PER_BYTE_8N1: Final = 10
AXES: Final = 4
REPEATS: Final = 5


def _naive_encode(message: Telemetry, seq: int) -> bytes:
    """Baseline encoder: one ``struct.pack`` per field, bytes concatenated."""
    body = struct.pack("<B", 1) + struct.pack("<B", int(MessageType.TELEMETRY))
    body += struct.pack("<H", seq)
    payload = struct.pack("<Q", message.firmware_time_us)
    payload += struct.pack("<B", 1 if message.estop_input else 0)
    payload += struct.pack("<B", int(message.firmware_state))
    payload += struct.pack("<I", message.last_command_id)
    payload += struct.pack("<B", len(message.axes))
    for axis in message.axes:
        payload += struct.pack("<i", axis.commanded_um)
        payload += struct.pack("<i", axis.encoder_um)
        payload += struct.pack("<i", axis.velocity_um_s)
        payload += struct.pack("<H", int(axis.status))
        payload += struct.pack("<H", axis.supply_pressure_hpa)
        payload += struct.pack("<B", axis.limit_switches)
    body += struct.pack("<B", len(payload)) + payload
    body += struct.pack("<I", zlib.crc32(body))
    return cast("bytes", cobs.encode(body)) + b"\x00"


def _naive_decode(wire: bytes) -> Telemetry:
    """Baseline decoder: one ``struct.unpack_from`` per field, enums through their constructors.

    Raises:
        RobotError: the frame is not a valid TELEMETRY.
    """
    raw = cast("bytes", cobs.decode(wire[:-1]))
    (crc,) = struct.unpack_from("<I", raw, len(raw) - 4)
    if crc != zlib.crc32(raw[:-4]):
        raise RobotError("baseline decoder: CRC mismatch")
    (count,) = struct.unpack_from("<B", raw, 5 + 14)
    axes = []
    offset = 5 + 15
    for _ in range(count):
        (commanded,) = struct.unpack_from("<i", raw, offset)
        (encoder,) = struct.unpack_from("<i", raw, offset + 4)
        (velocity,) = struct.unpack_from("<i", raw, offset + 8)
        (status,) = struct.unpack_from("<H", raw, offset + 12)
        (pressure,) = struct.unpack_from("<H", raw, offset + 14)
        (limits,) = struct.unpack_from("<B", raw, offset + 16)
        axes.append(
            AxisTelemetry(
                commanded_um=commanded,
                encoder_um=encoder,
                velocity_um_s=velocity,
                status=AxisStatus(status),
                supply_pressure_hpa=pressure,
                limit_switches=limits,
            )
        )
        offset += 17
    (time_us,) = struct.unpack_from("<Q", raw, 5)
    (estop,) = struct.unpack_from("<B", raw, 5 + 8)
    (state,) = struct.unpack_from("<B", raw, 5 + 9)
    (last,) = struct.unpack_from("<I", raw, 5 + 10)
    return Telemetry(
        firmware_time_us=time_us,
        estop_input=estop == 1,
        firmware_state=FirmwareState(state),
        last_command_id=last,
        axes=tuple(axes),
    )


def _rate(work: Callable[[int], None], frames: int) -> float:
    """Median frames/s of ``REPEATS`` timed runs of ``work(frames)``."""
    rates = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        work(frames)
        rates.append(frames / (time.perf_counter() - start))
    return statistics.median(rates)


def run(*, quick: bool) -> list[BenchResult]:
    """Measure TELEMETRY throughput; ``quick`` uses fewer frames (a smoke run).

    Raises:
        RobotError: a codec under test returned a wrong result.
    """
    frames = 5_000 if quick else 50_000
    message = sample_telemetry(AXES)
    wire = encode_frame(message, 0)
    if _naive_encode(message, 0) != wire or _naive_decode(wire) != message:
        raise RobotError("baseline codec disagrees with firmware_interfaces; no valid baseline")
    decoder = FrameDecoder()

    def codec(n: int) -> None:
        feed = decoder.feed
        for seq in range(n):
            (item,) = feed(encode_frame(message, seq & 0xFFFF))
            if type(item) is not Frame:
                raise RobotError(f"decoder reported {item!r} for a valid frame")

    def naive(n: int) -> None:
        for seq in range(n):
            _naive_decode(_naive_encode(message, seq & 0xFFFF))

    def encode_only(n: int) -> None:
        for seq in range(n):
            encode_frame(message, seq & 0xFFFF)

    def decode_only(n: int) -> None:
        feed = decoder.feed
        for _ in range(n):
            feed(wire)

    codec_rate = _rate(codec, frames)
    naive_rate = _rate(naive, max(frames // 5, 1_000))
    encode_rate = _rate(encode_only, frames)
    decode_rate = _rate(decode_only, frames)
    stats = decoder.stats
    if stats.total_errors or stats.frames_ok != REPEATS * 2 * frames:
        raise RobotError(f"decoder counted {stats.total_errors} errors, {stats.frames_ok} frames")
    link_rate = LINK_BAUD / BITS_PER_BYTE_8N1 / len(wire)
    runs = f"median of {REPEATS} runs of {frames:,} frames, one thread"
    return [
        BenchResult(
            area=AREA,
            figure=f"TELEMETRY ({AXES} axes) encode + streaming decode",
            value=codec_rate,
            unit="frames/s",
            target=f">= {TARGET_FRAMES_S:,} frames/s",
            met=codec_rate >= TARGET_FRAMES_S,
            baseline=naive_rate,
            baseline_name="naive per-field struct codec, same run",
            ratio=codec_rate / naive_rate,
            note=f"{runs}; {len(wire)} wire bytes per frame",
        ),
        BenchResult(
            area=AREA,
            figure="same, against a 1 Mbaud 8N1 serial line",
            value=codec_rate,
            unit="frames/s",
            baseline=link_rate,
            baseline_name=f"link floor: {LINK_BAUD:,} baud / 10 bits / {len(wire)} B",
            ratio=codec_rate / link_rate,
            note="how many such links one core could serve",
        ),
        BenchResult(
            area=AREA,
            figure="TELEMETRY encode only",
            value=encode_rate,
            unit="frames/s",
            note=runs,
        ),
        BenchResult(
            area=AREA,
            figure="TELEMETRY streaming decode only",
            value=decode_rate,
            unit="frames/s",
            note=runs,
        ),
    ]
