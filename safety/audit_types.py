"""Audit records, the sink protocol the supervisor writes to, and the run header."""

from __future__ import annotations

import dataclasses
import json
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Mapping

    from safety.interlocks import InterlockSnapshot

__all__ = [
    "AUDIT_KINDS",
    "SOUP_PACKAGES",
    "AuditRecord",
    "AuditSink",
    "CommittingAuditSink",
    "run_header",
    "snapshot_to_json",
    "utc_now",
]

#: Every record kind this software writes: the writer's own ``run_header``, and the supervisor's
#: decisions (``accepted``, ``refusal``, ``transition``), ``interlock`` changes, ``fault`` reports
#: and permit life cycle (``permit_issued``, ``permit_revoked``, ``permit_lapsed``). Readers check
#: filters against these (and against the kinds a file actually holds, for newer writers).
AUDIT_KINDS: frozenset[str] = frozenset(
    {
        "run_header",
        "accepted",
        "refusal",
        "transition",
        "interlock",
        "fault",
        "permit_issued",
        "permit_revoked",
        "permit_lapsed",
    }
)

#: Third-party packages (SOUP) whose versions every run header records.
SOUP_PACKAGES = (
    "transitions",
    "pyserial",
    "numpy",
    "scipy",
    "pyigtl",
    "cobs",
    "rich",
    "platformdirs",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """One audit record as written and read back.

    Attributes:
        seq: sequence number, strictly increasing within a file.
        kind: record kind (``run_header``, ``transition``, ``refusal``, ``permit_issued``...).
        mono_s: monotonic seconds of the injected clock.
        wall_utc: wall time, ISO 8601 with ``+00:00``.
        state: supervisor state when written.
        payload: kind-specific JSON object.
        snapshot: the interlock snapshot the record concerns, if any.
    """

    seq: int
    kind: str
    mono_s: float
    wall_utc: str
    state: str
    payload: Mapping[str, object]
    snapshot: Mapping[str, object] | None = None

    def to_json_line(self) -> bytes:
        """The record as one JSON line (UTF-8, newline-terminated)."""
        return (
            json.dumps(dataclasses.asdict(self), separators=(",", ":"), allow_nan=False) + "\n"
        ).encode()


class AuditSink(Protocol):
    """Where the supervisor writes its audit records.

    ``append()`` returning means the record is stored. A sink whose ``append()`` returns before
    the record is durable (group commit) must be a :class:`CommittingAuditSink`: the supervisor
    then commits each ``permit_issued`` record before it hands the permit out.
    """

    @property
    def healthy(self) -> bool:
        """False after an append failed, until the sink is usable again."""
        ...

    def append(
        self,
        kind: str,
        *,
        state: str,
        payload: Mapping[str, object],
        snapshot: InterlockSnapshot | None = None,
    ) -> int:
        """Write one record and return its sequence number once it is stored.

        Raises:
            AuditError: the record could not be stored.
        """
        ...


@runtime_checkable
class CommittingAuditSink(AuditSink, Protocol):
    """An audit sink whose records become durable in :meth:`commit` (group commit)."""

    def commit(self) -> int:
        """Make every record appended so far durable; returns the highest durable sequence.

        Raises:
            AuditError: the records could not be made durable.
        """
        ...


def snapshot_to_json(snapshot: InterlockSnapshot) -> dict[str, object]:
    """The snapshot as a JSON object (field name -> value)."""
    # A slotted dataclass lists its fields in __slots__ (cheaper than dataclasses.fields()).
    return {name: getattr(snapshot, name) for name in snapshot.__slots__}


def utc_now() -> datetime:
    """Wall time now, in UTC (for timestamps only, never deadlines)."""
    return datetime.now(UTC)


def run_header(extra: Mapping[str, object] | None = None) -> dict[str, object]:
    """Payload of a run header: software and SOUP versions, plus ``extra`` (config hash...)."""
    soup: dict[str, str] = {}
    for name in SOUP_PACKAGES:
        try:
            soup[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            soup[name] = "not installed"
    try:
        software = metadata.version("mrbot")
    except metadata.PackageNotFoundError:
        software = "not installed"
    header: dict[str, object] = {
        "software": "mrbot",
        "software_version": software,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "soup": soup,
    }
    if extra:
        header.update(extra)
    return header
