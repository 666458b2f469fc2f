"""An in-memory audit sink for tests and benchmarks (not durable)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safety.audit_types import AuditRecord, snapshot_to_json, utc_now
from safety.errors import AuditError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from safety.interlocks import InterlockSnapshot

__all__ = ["MemoryAuditSink"]


class MemoryAuditSink:
    """Audit records in a list. Not durable: for tests and benchmarks only.

    Does not model: disk latency, fsync, torn lines. ``fail_next`` makes the next appends raise
    :class:`AuditError` as a failing disk would.
    """

    def __init__(self, *, now: Callable[[], float], wall: Callable[[], datetime] = utc_now) -> None:
        self._now = now
        self._wall = wall
        self.records: list[AuditRecord] = []
        self.fail_next = 0
        self._healthy = True

    @property
    def healthy(self) -> bool:
        """False after an injected failure, until an append succeeds again."""
        return self._healthy

    def append(
        self,
        kind: str,
        *,
        state: str,
        payload: Mapping[str, object],
        snapshot: InterlockSnapshot | None = None,
    ) -> int:
        """Store one record in memory; raises :class:`AuditError` while failures are injected."""
        if self.fail_next > 0:
            self.fail_next -= 1
            self._healthy = False
            raise AuditError("injected audit failure", path="<memory>")
        record = AuditRecord(
            seq=len(self.records) + 1,
            kind=kind,
            mono_s=self._now(),
            wall_utc=self._wall().isoformat(),
            state=state,
            payload=payload,
            snapshot=None if snapshot is None else snapshot_to_json(snapshot),
        )
        self.records.append(record)
        self._healthy = True
        return record.seq

    def kinds(self) -> list[str]:
        """The kinds of the stored records, in order."""
        return [r.kind for r in self.records]
