"""What the driver reports: fault events, timestamped telemetry, recorded frames, counters."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from firmware_interfaces import Telemetry

__all__ = [
    "Direction",
    "FaultEvent",
    "HalFaultKind",
    "LinkCounters",
    "RecordedFrame",
    "TelemetrySample",
]


class Direction(enum.Enum):
    """Which way a frame went."""

    TX = "tx"
    RX = "rx"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedFrame:
    """One frame in the flight recorder.

    Attributes:
        at_s: host monotonic seconds (injected clock) when sent or received.
        direction: sent (TX) or received (RX).
        seq: frame sequence number (-1 for a frame that failed to decode).
        summary: the message (``repr``) or the decode fault.
    """

    at_s: float
    direction: Direction
    seq: int
    summary: str


class HalFaultKind(enum.Enum):
    """Kinds of fault events."""

    TRANSPORT_LOST = "transport_lost"
    """The transport failed (EOF, I/O error, unplugged adapter)."""
    LINK_TIMEOUT = "link_timeout"
    """No telemetry for the link time-out (``ControllerConfig.link_timeout_s``)."""
    REQUEST_TIMEOUT = "request_timeout"
    """A request got no reply after all retries."""
    FIRMWARE_FAULT = "firmware_fault"
    """The firmware sent FAULT (``code`` is its FaultCode name)."""
    FRAME_ERRORS = "frame_errors"
    """Received frames failed to decode (CRC, COBS, size, version, type)."""
    FOLLOWING_ERROR = "following_error"
    """Host-side cross-check: |commanded - encoder| above the axis limit."""
    PRESSURE_LOW = "pressure_low"
    """Host-side check: supply pressure below the axis minimum."""
    LIMIT_HIT = "limit_hit"
    """A limit switch is pressed."""
    ESTOP = "estop"
    """The e-stop input is open."""
    READER_DIED = "reader_died"
    """The reader thread ended on an unexpected error."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultEvent:
    """One fault, with the recent traffic attached.

    Attributes:
        kind: what happened.
        at_s: host monotonic seconds (injected clock).
        detail: human-readable description with values and units.
        axis: axis name, or ``None`` when not about one axis.
        code: firmware FaultCode name for FIRMWARE_FAULT, else ``None``.
        recent_frames: flight recorder snapshot (oldest first).
    """

    kind: HalFaultKind
    at_s: float
    detail: str
    axis: str | None = None
    code: str | None = None
    recent_frames: tuple[RecordedFrame, ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class TelemetrySample:
    """The latest telemetry and when the host received it.

    Attributes:
        received_at_s: host monotonic seconds (injected clock) at receipt.
        telemetry: the message as decoded.
    """

    received_at_s: float
    telemetry: Telemetry


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkCounters:
    """Health counters of one link (a snapshot)."""

    frames_tx: int = 0
    frames_rx: int = 0
    frame_faults: dict[str, int] = field(default_factory=dict)
    seq_gaps: int = 0
    duplicates: int = 0
    ack_timeouts: int = 0
    retries: int = 0
    nacks: dict[str, int] = field(default_factory=dict)
    telemetry_rx: int = 0
    firmware_faults: int = 0
    stops_sent: int = 0
    estops_sent: int = 0
    heartbeats_sent: int = 0
    refused_motions: int = 0
    transport_errors: int = 0
