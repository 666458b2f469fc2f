"""Streaming deframer: bytes in any chunking -> frames or typed faults, never an exception.

Bytes accumulate until a 0x00 delimiter; the bytes before it are one frame. Two delimiters in a
row are an empty frame and skipped. A bad frame is reported as a ``FrameFault``, counted, and
decoding resumes after the next 0x00, so one bad frame never costs the next good one. Drops are
logged at DEBUG only: the link above owns the counters' rates and logs what they mean. Memory is
bounded: at most ``max_wire_bytes - 1`` bytes are buffered; a longer run without a delimiter is
reported once as ``OVERSIZE`` and discarded up to the next 0x00.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Final

from firmware_interfaces.constants import MAX_WIRE_BYTES, MIN_FRAME_BYTES
from firmware_interfaces.errors import FaultKind, FrameDecodeError
from firmware_interfaces.framing import Frame, decode_frame

__all__ = ["DecoderStats", "FrameDecoder", "FrameFault"]

logger = logging.getLogger(__name__)
TRAFFIC: Final = 5
"""Log level of per-frame traffic (below DEBUG)."""

_RAW_LIMIT: Final = 64
"""Bytes of an oversize run kept in its fault (the rest is only counted)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameFault:
    """A received frame that was dropped.

    Attributes:
        kind: which check failed.
        detail: what was found, with values.
        raw: the frame's wire bytes without delimiter (first 64 bytes only for ``OVERSIZE``).
        seq: the frame's seq when its CRC was good (so the header can be trusted), else ``None``.
        type_id: the frame's type byte when its CRC was good, else ``None``.
    """

    kind: FaultKind
    detail: str
    raw: bytes
    seq: int | None = None
    type_id: int | None = None


@dataclass(slots=True, kw_only=True)
class DecoderStats:
    """Counters of one decoder. ``FrameDecoder.stats`` hands out copies.

    Attributes:
        frames_ok: frames decoded into messages.
        cobs_errors: frames that were not valid COBS.
        short_frames: frames shorter than header + CRC.
        crc_errors: frames whose CRC did not match.
        oversize: runs longer than ``max_wire_bytes`` without a delimiter.
        bad_length: frames whose len byte or size does not match their type's layout.
        unknown_type: frames with a type byte not in the catalog.
        bad_version: frames of another protocol major.
        bad_payload: frames whose payload holds values no message may hold.
        empty_frames: empty frames (two delimiters in a row), skipped, not errors.
        bytes_received: every byte fed.
        bytes_discarded: bytes of dropped frames and oversize runs (delimiters not counted).
    """

    frames_ok: int = 0
    cobs_errors: int = 0
    short_frames: int = 0
    crc_errors: int = 0
    oversize: int = 0
    bad_length: int = 0
    unknown_type: int = 0
    bad_version: int = 0
    bad_payload: int = 0
    empty_frames: int = 0
    bytes_received: int = 0
    bytes_discarded: int = 0

    @property
    def total_errors(self) -> int:
        """Frames dropped for any reason."""
        return (
            self.cobs_errors
            + self.short_frames
            + self.crc_errors
            + self.oversize
            + self.bad_length
            + self.unknown_type
            + self.bad_version
            + self.bad_payload
        )

    def count(self, kind: FaultKind) -> int:
        """The counter of one fault kind."""
        return int(getattr(self, _COUNTER[kind]))


_COUNTER: Final = {
    FaultKind.COBS: "cobs_errors",
    FaultKind.SHORT: "short_frames",
    FaultKind.CRC: "crc_errors",
    FaultKind.OVERSIZE: "oversize",
    FaultKind.BAD_LENGTH: "bad_length",
    FaultKind.UNKNOWN_TYPE: "unknown_type",
    FaultKind.BAD_VERSION: "bad_version",
    FaultKind.BAD_PAYLOAD: "bad_payload",
}


class FrameDecoder:
    """Sans-I/O deframer for one receive direction of a link (not thread-safe: one reader)."""

    def __init__(self, *, max_wire_bytes: int = MAX_WIRE_BYTES) -> None:
        """Create an empty decoder.

        Args:
            max_wire_bytes: largest frame on the wire including its delimiter; a longer run of
                bytes without 0x00 is an ``OVERSIZE`` fault.

        Raises:
            ValueError: ``max_wire_bytes`` cannot hold the smallest frame.
        """
        smallest = MIN_FRAME_BYTES + 2
        if max_wire_bytes < smallest:
            raise ValueError(f"max_wire_bytes = {max_wire_bytes}, a frame needs {smallest}")
        self._limit = max_wire_bytes - 1
        self._buffer = bytearray()
        self._discarding = False
        self._stats = DecoderStats()

    @property
    def stats(self) -> DecoderStats:
        """A copy of the counters."""
        return dataclasses.replace(self._stats)

    @property
    def buffered_bytes(self) -> int:
        """Bytes of an unfinished frame held (never more than ``max_wire_bytes - 1``)."""
        return len(self._buffer)

    def reset(self) -> None:
        """Drop any half-received frame (after a reconnect); counters are kept."""
        self._stats.bytes_discarded += len(self._buffer)
        self._buffer.clear()
        self._discarding = False

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame | FrameFault]:
        """Consume received bytes; return the frames and faults they complete, in order.

        Never raises on any content of ``data``.
        """
        if type(data) is not bytes:
            data = bytes(data)
        out: list[Frame | FrameFault] = []
        stats = self._stats
        stats.bytes_received += len(data)
        start = 0
        end_of_data = len(data)
        while start < end_of_data:
            end = data.find(0, start)
            if end < 0:
                self._accumulate(data[start:], out)
                break
            piece = data[start:end]
            start = end + 1
            if self._discarding:
                stats.bytes_discarded += len(piece)
                self._discarding = False
                continue
            if self._buffer:
                if not self._accumulate(piece, out):
                    self._discarding = False
                    continue
                piece = bytes(self._buffer)
                self._buffer.clear()
            elif len(piece) > self._limit:
                self._oversize(piece, out)
                continue
            if not piece:
                stats.empty_frames += 1
                continue
            out.append(self._decode(piece))
        return out

    def _accumulate(self, chunk: bytes, out: list[Frame | FrameFault]) -> bool:
        """Buffer bytes of an unfinished frame; false when they are discarded (oversize run)."""
        if self._discarding:
            self._stats.bytes_discarded += len(chunk)
            return False
        if len(self._buffer) + len(chunk) > self._limit:
            run = bytes(self._buffer) + chunk[:_RAW_LIMIT]
            self._stats.bytes_discarded += len(self._buffer) + len(chunk)
            self._buffer.clear()
            self._discarding = True
            self._report_oversize(run[:_RAW_LIMIT], out)
            return False
        self._buffer += chunk
        return True

    def _oversize(self, piece: bytes, out: list[Frame | FrameFault]) -> None:
        self._stats.bytes_discarded += len(piece)
        self._report_oversize(piece[:_RAW_LIMIT], out)

    def _report_oversize(self, head: bytes, out: list[Frame | FrameFault]) -> None:
        self._stats.oversize += 1
        detail = f"more than {self._limit} bytes without a 0x00 delimiter"
        logger.debug("dropped frame: oversize: %s", detail)
        out.append(FrameFault(kind=FaultKind.OVERSIZE, detail=detail, raw=head))

    def _decode(self, piece: bytes) -> Frame | FrameFault:
        try:
            frame = decode_frame(piece)
        except FrameDecodeError as err:
            return self._fault(err, piece)
        self._stats.frames_ok += 1
        if logger.isEnabledFor(TRAFFIC):
            logger.log(TRAFFIC, "rx seq=%d %r", frame.seq, frame.message)
        return frame

    def _fault(self, err: FrameDecodeError, piece: bytes) -> FrameFault:
        stats = self._stats
        counter = _COUNTER[err.kind]
        setattr(stats, counter, getattr(stats, counter) + 1)
        stats.bytes_discarded += len(piece)
        logger.debug("dropped frame: %s: %s", err.kind.value, err.detail)
        return FrameFault(
            kind=err.kind, detail=err.detail, raw=piece, seq=err.seq, type_id=err.type_id
        )
