"""Reading the audit log back: every complete record, a torn final line skipped and reported."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from safety.audit_types import AuditRecord
from safety.errors import AuditError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["AuditLogContents", "read_audit_log"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditLogContents:
    """What a reader found in an audit log.

    Attributes:
        records: every complete record, in file order.
        torn_tail_bytes: length of a torn (unterminated) final line that was skipped, else 0.
        sequence_gaps: (expected, found) pairs where ``seq`` did not go up by one.
    """

    records: tuple[AuditRecord, ...]
    torn_tail_bytes: int
    sequence_gaps: tuple[tuple[int, int], ...]


def _record(line: bytes, number: int, path: Path) -> AuditRecord:
    try:
        raw = json.loads(line)
        return AuditRecord(
            seq=int(raw["seq"]),
            kind=str(raw["kind"]),
            mono_s=float(raw["mono_s"]),
            wall_utc=str(raw["wall_utc"]),
            state=str(raw["state"]),
            payload=dict(raw["payload"]),
            snapshot=None if raw.get("snapshot") is None else dict(raw["snapshot"]),
        )
    except (ValueError, KeyError, TypeError) as err:
        raise AuditError(
            f"audit log {path} line {number} is corrupt (not a torn tail): {err}", path=str(path)
        ) from err


def read_audit_log(path: Path) -> AuditLogContents:
    """Read every record of the log at ``path``.

    A final line without its newline is a write torn by a crash: it is skipped and its length
    reported. Any other unreadable line is corruption and raises.

    Raises:
        AuditError: the file cannot be read, or a complete line is not a valid record.
    """
    try:
        data = path.read_bytes()
    except OSError as err:
        raise AuditError(f"cannot read audit log {path}: {err}", path=str(path)) from err
    lines = data.split(b"\n")
    torn = lines.pop()  # after the last newline: empty unless the final write was torn
    records = tuple(_record(line, n, path) for n, line in enumerate(lines, start=1))
    gaps = tuple((a.seq + 1, b.seq) for a, b in itertools.pairwise(records) if b.seq != a.seq + 1)
    return AuditLogContents(records=records, torn_tail_bytes=len(torn), sequence_gaps=gaps)
