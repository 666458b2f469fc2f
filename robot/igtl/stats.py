"""Counters of one connection and of the whole server, as frozen snapshots."""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields

__all__ = ["ConnectionStats", "Counters", "ServerStats"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionStats:
    """What one connection has seen (or, summed, all connections so far).

    Attributes:
        frames_in: frames delivered to the handler.
        bytes_in: bytes received (headers and bodies).
        frames_out: frames handed to the socket or its queue.
        bytes_out: bytes of those frames.
        crc_errors: frames dropped for a CRC mismatch.
        decode_errors: frames dropped as malformed (name, content, v2 metadata).
        unknown_types: frames skipped because their TYPE is not decoded here.
        dummy_statuses: Slicer's connect-time STATUS (empty name, metadata ``dummy=dummy``),
            consumed without a reply and not delivered.
    """

    frames_in: int = 0
    bytes_in: int = 0
    frames_out: int = 0
    bytes_out: int = 0
    crc_errors: int = 0
    decode_errors: int = 0
    unknown_types: int = 0
    dummy_statuses: int = 0

    def __add__(self, other: ConnectionStats) -> ConnectionStats:
        return ConnectionStats(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerStats:
    """Server-wide counters.

    Attributes:
        accepted: connections accepted and served.
        refused: connections refused (outside the allow-list, or over ``max_connections``).
        closed: connections closed so far.
        open: connections open now.
        traffic: the sum of every connection's counters, closed ones included.
    """

    accepted: int
    refused: int
    closed: int
    open: int
    traffic: ConnectionStats


class Counters:
    """Mutable counters behind a lock; :meth:`snapshot` gives a frozen copy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards _values
        self._values = dict.fromkeys((f.name for f in fields(ConnectionStats)), 0)

    def add(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` to counter ``name`` (a field of :class:`ConnectionStats`)."""
        with self._lock:
            self._values[name] += amount

    def snapshot(self) -> ConnectionStats:
        """A frozen copy of the counters."""
        with self._lock:
            return ConnectionStats(**self._values)
