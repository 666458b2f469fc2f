"""Reading the audit log back: every complete record, a torn final line skipped and reported.

:func:`scan_audit_log` reads everything it can and names each unreadable line (line number and
why); :func:`read_audit_log` is the strict form that raises on the first one. :class:`AuditTail`
follows a log that a running server is still writing (``mrbot log --follow``).
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from safety.audit_types import AuditRecord
from safety.errors import AuditError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["AuditLogContents", "AuditTail", "BadLine", "read_audit_log", "scan_audit_log"]

_EXCERPT_CHARS: Final = 60
_READ_CHUNK_BYTES: Final = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class BadLine:
    """A complete line of an audit log that is not a valid record.

    Attributes:
        number: line number in the file (1 = first line).
        reason: why it is not a record (the parser's message).
        excerpt: the start of the line, for a person to recognise it.
    """

    number: int
    reason: str
    excerpt: str

    def describe(self) -> str:
        """``line N is corrupt: reason (excerpt)`` for a message."""
        return f"line {self.number} is corrupt: {self.reason} ({self.excerpt!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditLogContents:
    """What a reader found in an audit log.

    Attributes:
        records: every complete, valid record, in file order.
        torn_tail_bytes: length of a torn (unterminated) final line that was skipped, else 0.
        sequence_gaps: (expected, found) pairs where ``seq`` did not go up by one.
        bad_lines: complete lines that are not valid records (corruption), in file order.
    """

    records: tuple[AuditRecord, ...]
    torn_tail_bytes: int
    sequence_gaps: tuple[tuple[int, int], ...]
    bad_lines: tuple[BadLine, ...] = field(default=())


def parse_record(line: bytes) -> AuditRecord:
    """One JSON line as an :class:`AuditRecord`.

    Raises:
        ValueError: not JSON, or not an object with every field of a record.
    """
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
    except KeyError as err:
        raise ValueError(f"missing field {err}") from err
    except (ValueError, TypeError) as err:
        raise ValueError(str(err) or type(err).__name__) from err


def _bad_line(line: bytes, number: int, err: ValueError) -> BadLine:
    text = line.decode("utf-8", errors="replace")
    excerpt = text if len(text) <= _EXCERPT_CHARS else text[: _EXCERPT_CHARS - 3] + "..."
    return BadLine(number=number, reason=str(err), excerpt=excerpt)


def _parse_lines(lines: list[bytes], first_number: int) -> tuple[list[AuditRecord], list[BadLine]]:
    records: list[AuditRecord] = []
    bad: list[BadLine] = []
    for number, line in enumerate(lines, start=first_number):
        try:
            records.append(parse_record(line))
        except ValueError as err:
            bad.append(_bad_line(line, number, err))
    return records, bad


def _gaps(records: tuple[AuditRecord, ...]) -> tuple[tuple[int, int], ...]:
    return tuple((a.seq + 1, b.seq) for a, b in itertools.pairwise(records) if b.seq != a.seq + 1)


def scan_audit_log(path: Path) -> AuditLogContents:
    """Read every valid record of the log at ``path``; name the lines that are not records.

    A final line without its newline is a write torn by a crash: it is skipped and its length
    reported. Any other unreadable line is corruption: it is listed in ``bad_lines`` (the
    records before and after it are still returned).

    Raises:
        AuditError: the file cannot be read.
    """
    try:
        data = path.read_bytes()
    except OSError as err:
        raise AuditError(f"cannot read audit log {path}: {err}", path=str(path)) from err
    lines = data.split(b"\n")
    torn = lines.pop()  # after the last newline: empty unless the final write was torn
    records, bad = _parse_lines(lines, 1)
    good = tuple(records)
    return AuditLogContents(
        records=good, torn_tail_bytes=len(torn), sequence_gaps=_gaps(good), bad_lines=tuple(bad)
    )


def read_audit_log(path: Path) -> AuditLogContents:
    """Read every record of the log at ``path``; any corrupt line is an error.

    A final line without its newline is a write torn by a crash: it is skipped and its length
    reported. Any other unreadable line is corruption and raises.

    Raises:
        AuditError: the file cannot be read, or a complete line is not a valid record.
    """
    contents = scan_audit_log(path)
    if contents.bad_lines:
        first = contents.bad_lines[0]
        raise AuditError(
            f"audit log {path} line {first.number} is corrupt (not a torn tail): {first.reason}",
            path=str(path),
        )
    return contents


@dataclass(frozen=True, slots=True, kw_only=True)
class TailChunk:
    """What one :meth:`AuditTail.poll` found.

    Attributes:
        records: the new complete, valid records, in file order.
        bad_lines: new complete lines that are not records.
        truncated_bytes: the file shrank by this much since the last poll (a writer that
            re-opened the file dropped a torn tail); reading goes on from the new end.
    """

    records: tuple[AuditRecord, ...]
    bad_lines: tuple[BadLine, ...]
    truncated_bytes: int = 0


class AuditTail:
    """Follows an audit log that another process may still be writing.

    Each :meth:`poll` returns the records completed since the previous one; a line still being
    written (no newline yet) waits for the next poll. Never blocks: the caller decides how
    often to poll.

    Args:
        path: the log file (must exist).

    Raises:
        AuditError: the file cannot be opened.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        try:
            self._fd: int | None = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as err:
            raise AuditError(f"cannot read audit log {path}: {err}", path=str(path)) from err
        self._offset = 0
        self._pending = b""
        self._next_line = 1

    @property
    def path(self) -> Path:
        """The followed file."""
        return self._path

    @property
    def pending_bytes(self) -> int:
        """Bytes of a line not yet terminated (being written, or torn)."""
        return len(self._pending)

    def poll(self) -> TailChunk:
        """Read what was appended since the last poll.

        Raises:
            AuditError: closed, or the file cannot be read.
        """
        fd = self._fd
        if fd is None:
            raise AuditError(f"audit tail of {self._path} is closed", path=str(self._path))
        try:
            size = os.fstat(fd).st_size
            truncated = 0
            if size < self._offset:  # a re-opened writer cut a torn tail: go on from its end
                truncated = self._offset - size
                self._offset = size
                self._pending = b""
            chunks = [self._pending]
            while self._offset < size:
                data = os.pread(fd, min(_READ_CHUNK_BYTES, size - self._offset), self._offset)
                if not data:
                    break
                self._offset += len(data)
                chunks.append(data)
        except OSError as err:
            raise AuditError(
                f"cannot read audit log {self._path}: {err}", path=str(self._path)
            ) from err
        lines = b"".join(chunks).split(b"\n")
        self._pending = lines.pop()
        records, bad = _parse_lines(lines, self._next_line)
        self._next_line += len(lines)
        return TailChunk(records=tuple(records), bad_lines=tuple(bad), truncated_bytes=truncated)

    def close(self) -> None:
        """Close the file. Idempotent."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> AuditTail:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
