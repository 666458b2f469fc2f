"""``mrbot log``: print, filter and follow the audit trail (rich table, or JSON lines).

Which file: ``PATH``, or ``--session ID|PATH`` (an id or a unique prefix of one, from
``--list``), or by default the latest session of the audit folder (``audit.dir``, default the
user state folder + ``mrbot/audit``; ``--dir`` overrides it). ``--list`` lists the sessions
(id, start, size, records, open while a server writes it). ``--follow`` prints the records as a
running server writes them, until Ctrl-C.

Filters combine with AND: ``--since``/``--until`` compare wall time, given as ISO 8601 (a time
without a zone is UTC, as the table prints it) or as a local clock time ``HH:MM[:SS]`` of today;
``--kind`` and ``--state`` may be repeated, are matched without regard to case, and an unknown
one is an error that lists the valid ones. A torn final line (a write cut by a crash) is skipped
and reported on stderr; a corrupt line elsewhere is named (line number and why) on stderr, the
records around it are still printed, and the exit code is 1. A closed output pipe (``| head``)
ends the command quietly.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import os
import re
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from rich.console import Console
from rich.table import Table

from robot.config import ConfigError, load_config
from robot.records import audit_directory
from safety import AuditError, AuditRecord, State
from safety.audit_read import AuditTail, BadLine, scan_audit_log
from safety.audit_sessions import AuditSession, find_session, latest_session, list_sessions
from safety.audit_types import AUDIT_KINDS, utc_now

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

__all__ = ["filter_records", "parse_when", "register"]

EXIT_OK: Final = 0
EXIT_CORRUPT: Final = 1
EXIT_BAD_INPUT: Final = 2
_SUMMARY_CHARS: Final = 110
_FOLLOW_POLL_S: Final = 0.2
_CLOCK_TIME: Final = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
#: The state of a run header (written before the supervisor exists).
_HEADER_STATE: Final = "-"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``log`` subcommand."""
    parser = subparsers.add_parser(
        "log",
        help="print, filter and follow the safety audit trail",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "path",
        type=Path,
        nargs="?",
        metavar="PATH",
        help="audit log (JSON lines); default: the latest session",
    )
    parser.add_argument("--session", metavar="ID|PATH", help="a session id (or prefix) or file")
    parser.add_argument("--list", action="store_true", help="list the sessions of the folder")
    parser.add_argument("--follow", action="store_true", help="print records as they are written")
    parser.add_argument("--dir", type=Path, help="audit session folder (default: audit.dir)")
    parser.add_argument("--config", type=Path, help="robot TOML for audit.dir (default: shipped)")
    when_help = "wall time: ISO 8601 (no zone = UTC) or local HH:MM[:SS] today"
    parser.add_argument("--since", type=_when, help=f"only records at or after this {when_help}")
    parser.add_argument("--until", type=_when, help=f"only records at or before this {when_help}")
    parser.add_argument(
        "--kind", action="append", default=[], help="only this record kind (repeatable)"
    )
    parser.add_argument(
        "--state", action="append", default=[], help="only records in this state (repeatable)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    parser.set_defaults(func=_run)


def _local_now() -> datetime:
    return utc_now().astimezone()


def parse_when(text: str, *, now: Callable[[], datetime] = _local_now) -> datetime:
    """A wall time from the command line, as an aware datetime.

    ``HH:MM`` or ``HH:MM:SS`` is a clock time of today in the local time zone; anything else is
    ISO 8601, where a time without a zone is UTC. ``now`` gives today's date and the local
    time zone (aware, in the local zone).

    Raises:
        ValueError: neither form (the message shows both).
    """
    clock = _CLOCK_TIME.match(text.strip())
    if clock is not None:
        hour, minute, second = int(clock[1]), int(clock[2]), int(clock[3] or 0)
        local_now = now()
        try:
            return local_now.replace(hour=hour, minute=minute, second=second, microsecond=0)
        except ValueError as err:
            raise ValueError(f"not a clock time HH:MM[:SS]: {text!r} ({err})") from err
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as err:
        raise ValueError(
            f"not a time: {text!r}; expected ISO 8601 (2026-12-02T04:35:00, no zone = UTC; "
            "or with a zone, +01:00) or a local clock time of today, HH:MM or HH:MM:SS"
        ) from err
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _when(text: str) -> datetime:
    try:
        return parse_when(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def filter_records(
    records: Iterable[AuditRecord],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    kinds: Sequence[str] = (),
    states: Sequence[str] = (),
) -> list[AuditRecord]:
    """The records that pass every given filter, in order (kinds and states as written)."""
    kept = []
    for record in records:
        if kinds and record.kind not in kinds:
            continue
        if states and record.state not in states:
            continue
        if since is not None or until is not None:
            wall = datetime.fromisoformat(record.wall_utc)
            if wall.tzinfo is None:
                wall = wall.replace(tzinfo=UTC)
            if (since is not None and wall < since) or (until is not None and wall > until):
                continue
        kept.append(record)
    return kept


class _UsageError(Exception):
    """A bad command line that argparse cannot see (exit 2 with the message)."""


def _canonical(given: Sequence[str], valid: Iterable[str], what: str) -> list[str]:
    """Map each given name to a valid one regardless of case; an unknown one is an error."""
    by_folded = {v.casefold(): v for v in valid}
    out = []
    for name in given:
        match = by_folded.get(name.strip().casefold())
        if match is None:
            close = difflib.get_close_matches(name.casefold(), list(by_folded), n=1)
            hint = f" (did you mean {by_folded[close[0]]!r}?)" if close else ""
            raise _UsageError(
                f"unknown --{what} {name!r}{hint}; valid: {', '.join(sorted(by_folded.values()))}"
            )
        out.append(match)
    return out


def _valid_kinds(records: Iterable[AuditRecord]) -> set[str]:
    return set(AUDIT_KINDS) | {r.kind for r in records}


def _valid_states(records: Iterable[AuditRecord]) -> set[str]:
    return {s.value for s in State} | {_HEADER_STATE} | {r.state for r in records}


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


def _json_line(record: AuditRecord) -> str:
    return json.dumps(dataclasses.asdict(record), separators=(",", ":"))


def _text_line(record: AuditRecord) -> str:
    return f"{record.seq} {record.wall_utc} {record.kind} {record.state} {_summary(record)}"


def _folder(args: argparse.Namespace) -> Path:
    if args.dir is not None:
        return Path(args.dir)
    try:
        return audit_directory(load_config(args.config).audit)
    except ConfigError as err:
        raise _UsageError(str(err)) from err


def _resolve(args: argparse.Namespace) -> Path:
    """The file to read: PATH, --session, or the latest session of the folder."""
    if args.path is not None and args.session is not None:
        raise _UsageError("give PATH or --session, not both")
    if args.path is not None:
        return Path(args.path)
    if args.session is not None:
        as_path = Path(args.session)
        if as_path.is_file() or "/" in args.session:
            return as_path
        try:
            return find_session(_folder(args), args.session).path
        except AuditError as err:
            raise _UsageError(str(err)) from err
    folder = _folder(args)
    latest = latest_session(folder)
    if latest is None:
        raise _UsageError(
            f"no audit sessions in {folder} (mrbot serve writes one per run; "
            "give PATH, --dir or audit.dir)"
        )
    return latest.path


def _report(path: Path, bad_lines: Iterable[BadLine]) -> int:
    count = 0
    for bad in bad_lines:
        count += 1
        print(f"mrbot log: {path} {bad.describe()}", file=sys.stderr)
    return count


def _print_list(sessions: Sequence[AuditSession], folder: Path, *, as_json: bool) -> None:
    rows = [
        {
            "id": s.id,
            "start_utc": s.start_utc.isoformat(),
            "start_local": s.start_utc.astimezone().isoformat(timespec="seconds"),
            "size_bytes": s.size_bytes(),
            "records": s.record_count(),
            "open": s.is_open(),
            "path": str(s.path),
        }
        for s in sessions
    ]
    if as_json:
        for row in rows:
            print(json.dumps(row, separators=(",", ":")))
        return
    print(f"{folder}: {len(rows)} sessions, oldest first")
    table = Table()
    for column in ("id", "start (local)", "size", "records", "open"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["start_local"]),
            f"{row['size_bytes']} B",
            str(row["records"]),
            "yes" if row["open"] else "",
        )
    Console(width=200).print(table)


def _list(args: argparse.Namespace) -> int:
    if args.path is not None or args.session is not None or args.follow:
        raise _UsageError("--list takes no PATH, --session or --follow")
    folder = _folder(args)
    _print_list(list_sessions(folder), folder, as_json=args.json)
    return EXIT_OK


def _print_file(path: Path, args: argparse.Namespace) -> int:
    contents = scan_audit_log(path)
    kinds = _canonical(args.kind, _valid_kinds(contents.records), "kind")
    states = _canonical(args.state, _valid_states(contents.records), "state")
    records = filter_records(
        contents.records, since=args.since, until=args.until, kinds=kinds, states=states
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
            print(_json_line(record))
    else:
        bad = f", {len(contents.bad_lines)} corrupt lines" if contents.bad_lines else ""
        table = Table(title=f"{path} ({len(records)} of {len(contents.records)} records{bad})")
        for column in ("seq", "wall UTC", "mono s", "kind", "state", "summary"):
            table.add_column(column)
        for r in records:
            table.add_row(str(r.seq), r.wall_utc, f"{r.mono_s:.3f}", r.kind, r.state, _summary(r))
        Console(width=200).print(table)
    sys.stdout.flush()
    return EXIT_CORRUPT if _report(path, contents.bad_lines) else EXIT_OK


def _follow(path: Path, args: argparse.Namespace, stop: threading.Event) -> int:
    """Print every record of ``path`` and then each new one, until ``stop`` is set."""
    kinds_seen: set[str] = set()
    states_seen: set[str] = set()
    corrupt = 0
    emit = _json_line if args.json else _text_line
    with AuditTail(path) as tail:
        while True:
            chunk = tail.poll()
            if chunk.truncated_bytes:
                print(
                    f"note: {path} shrank by {chunk.truncated_bytes} bytes (a torn tail dropped)",
                    file=sys.stderr,
                )
            kinds_seen.update(r.kind for r in chunk.records)
            states_seen.update(r.state for r in chunk.records)
            kinds = _canonical(args.kind, AUDIT_KINDS | kinds_seen, "kind")
            states = _canonical(args.state, _valid_states(()) | states_seen, "state")
            for record in filter_records(
                chunk.records, since=args.since, until=args.until, kinds=kinds, states=states
            ):
                print(emit(record))
            sys.stdout.flush()
            corrupt += _report(path, chunk.bad_lines)
            if stop.wait(_FOLLOW_POLL_S):
                return EXIT_CORRUPT if corrupt else EXIT_OK


def _quiet_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so the final flush cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass  # stdout without a file descriptor (captured): nothing will flush it at exit


def _run(args: argparse.Namespace) -> int:
    try:
        if args.list:
            return _list(args)
        path = _resolve(args)
        if args.follow:
            return _follow(path, args, threading.Event())
        return _print_file(path, args)
    except _UsageError as err:
        print(f"mrbot log: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except AuditError as err:
        print(f"mrbot log: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        if args.follow:
            return EXIT_OK  # Ctrl-C is how a follow ends
        raise
