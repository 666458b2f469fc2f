"""``mrbot log PATH``: print and filter an audit log (rich table, or JSON lines with ``--json``).

Filters combine with AND: ``--since``/``--until`` compare wall time (ISO 8601; a time without a
zone is taken as UTC), ``--kind`` and ``--state`` may be repeated. A torn final line (a write cut
by a crash) is skipped and reported on stderr; a corrupt line elsewhere is an error (exit 2).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from rich.console import Console
from rich.table import Table

from safety import AuditError, AuditRecord, read_audit_log

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable, Sequence

__all__ = ["filter_records", "register"]

EXIT_OK: Final = 0
EXIT_BAD_INPUT: Final = 2
_SUMMARY_CHARS: Final = 110


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``log`` subcommand."""
    parser = subparsers.add_parser(
        "log",
        help="print and filter a safety audit log",
        description="Print the records of an audit log written by the safety supervisor.",
    )
    parser.add_argument("path", type=Path, metavar="PATH", help="audit log (JSON lines)")
    parser.add_argument("--since", type=_utc, help="only records at or after this wall time (UTC)")
    parser.add_argument("--until", type=_utc, help="only records at or before this wall time (UTC)")
    parser.add_argument(
        "--kind", action="append", default=[], help="only this record kind (repeatable)"
    )
    parser.add_argument(
        "--state", action="append", default=[], help="only records in this state (repeatable)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    parser.set_defaults(func=_run)


def _utc(text: str) -> datetime:
    """Parse an ISO 8601 time for argparse; a time without a zone is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise ValueError(f"not an ISO 8601 time: {text!r}") from err
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def filter_records(
    records: Iterable[AuditRecord],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    kinds: Sequence[str] = (),
    states: Sequence[str] = (),
) -> list[AuditRecord]:
    """The records that pass every given filter, in order."""
    kept = []
    for record in records:
        if kinds and record.kind not in kinds:
            continue
        if states and record.state not in states:
            continue
        if since is not None or until is not None:
            wall = _utc(record.wall_utc)
            if (since is not None and wall < since) or (until is not None and wall > until):
                continue
        kept.append(record)
    return kept


def _summary(record: AuditRecord) -> str:
    payload = record.payload
    if "event" in payload and "from" in payload:
        text = (
            f"{payload['event']} {payload['from']}->{payload['to']} "
            f"[{payload.get('code')}/{payload.get('sub_code')}] {payload.get('reason', '')}"
        )
    else:
        text = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= _SUMMARY_CHARS else text[: _SUMMARY_CHARS - 3] + "..."


def _run(args: argparse.Namespace) -> int:
    path: Path = args.path
    try:
        contents = read_audit_log(path)
    except AuditError as err:
        print(f"mrbot log: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    records = filter_records(
        contents.records, since=args.since, until=args.until, kinds=args.kind, states=args.state
    )
    if contents.torn_tail_bytes:
        print(
            f"note: skipped a torn final line of {contents.torn_tail_bytes} bytes "
            "(a write cut short by a crash)",
            file=sys.stderr,
        )
    for expected, found in contents.sequence_gaps:
        print(f"note: sequence gap: expected {expected}, found {found}", file=sys.stderr)
    if args.json:
        for record in records:
            print(json.dumps(dataclasses.asdict(record), separators=(",", ":")))
        return EXIT_OK
    table = Table(title=f"{path} ({len(records)} of {len(contents.records)} records)")
    for column in ("seq", "wall UTC", "mono s", "kind", "state", "summary"):
        table.add_column(column)
    for r in records:
        table.add_row(str(r.seq), r.wall_utc, f"{r.mono_s:.3f}", r.kind, r.state, _summary(r))
    Console(width=200).print(table)
    return EXIT_OK
