"""Audit sessions: one JSON-lines file per server run, in one folder, with a retention rule.

A session file is named ``<start>-p<pid>.jsonl`` with ``<start>`` the UTC start time to the
microsecond (``20261202T043512.123456Z``), so names sort by start time and two servers never
share one. The session id is the name without ``.jsonl``. :func:`apply_retention` deletes old
sessions by count and by age but never a file a writer still holds (the writer's ``flock``:
the running server's own session, or another server's in the same folder), and never a file
whose name is not a session name.
"""

from __future__ import annotations

import fcntl
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from safety.errors import AuditError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

__all__ = [
    "SESSION_SUFFIX",
    "AuditSession",
    "Retention",
    "apply_retention",
    "find_session",
    "latest_session",
    "list_sessions",
    "new_session_path",
    "session_id",
]

SESSION_SUFFIX: Final = ".jsonl"
_STAMP: Final = "%Y%m%dT%H%M%S.%fZ"
_NAME: Final = re.compile(r"^(?P<start>\d{8}T\d{6}\.\d{6}Z)-p(?P<pid>\d+)\.jsonl$")
_COUNT_CHUNK_BYTES: Final = 1 << 20


def session_id(start_utc: datetime, pid: int) -> str:
    """The id of a session started at ``start_utc`` (aware) by process ``pid``."""
    return f"{start_utc.astimezone(UTC).strftime(_STAMP)}-p{pid}"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditSession:
    """One session file.

    Attributes:
        id: the file name without ``.jsonl`` (``20261202T043512.123456Z-p4242``).
        path: the file.
        start_utc: when the session started (from its name).
        pid: the server process that wrote it.
    """

    id: str
    path: Path
    start_utc: datetime
    pid: int

    def size_bytes(self) -> int:
        """Current size of the file (0 if it vanished)."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def record_count(self) -> int:
        """Complete lines in the file (records, corrupt lines included; 0 if it vanished)."""
        try:
            with self.path.open("rb") as f:
                return sum(
                    chunk.count(b"\n") for chunk in iter(lambda: f.read(_COUNT_CHUNK_BYTES), b"")
                )
        except FileNotFoundError:
            return 0

    def is_open(self) -> bool:
        """True while a writer (a running server) holds the file."""
        return _held_by_writer(self.path)


def _session(path: Path) -> AuditSession | None:
    match = _NAME.match(path.name)
    if match is None:
        return None
    start = datetime.strptime(match["start"], _STAMP).replace(tzinfo=UTC)
    return AuditSession(
        id=path.name.removesuffix(SESSION_SUFFIX), path=path, start_utc=start, pid=int(match["pid"])
    )


def list_sessions(directory: Path) -> list[AuditSession]:
    """Every session file in ``directory``, oldest first; other files are ignored.

    A missing folder has no sessions.

    Raises:
        AuditError: the folder cannot be listed.
    """
    try:
        entries = list(directory.iterdir())
    except FileNotFoundError:
        return []
    except OSError as err:
        raise AuditError(
            f"cannot list audit sessions in {directory}: {err}", path=str(directory)
        ) from err
    sessions = [s for s in (_session(p) for p in entries) if s is not None and s.path.is_file()]
    return sorted(sessions, key=lambda s: (s.start_utc, s.pid))


def latest_session(directory: Path) -> AuditSession | None:
    """The most recently started session in ``directory``, or None."""
    sessions = list_sessions(directory)
    return sessions[-1] if sessions else None


def find_session(directory: Path, wanted: str) -> AuditSession:
    """The session whose id is ``wanted`` or starts with it (a unique prefix).

    Raises:
        AuditError: no session matches, or the prefix matches several (both listed).
    """
    sessions = list_sessions(directory)
    exact = [s for s in sessions if wanted in (s.id, s.path.name)]
    matches = exact or [s for s in sessions if s.id.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise AuditError(
            f"no audit session {wanted!r} in {directory} ({len(sessions)} sessions; "
            "mrbot log --list shows them)",
            path=str(directory),
        )
    raise AuditError(
        f"audit session {wanted!r} is ambiguous in {directory}: "
        + ", ".join(s.id for s in matches),
        path=str(directory),
    )


def new_session_path(directory: Path, *, start_utc: datetime, pid: int) -> Path:
    """The file of a new session, its folder created (mode 0750) if missing.

    The file itself is not created (the audit writer does); if a file of that name exists
    already, the start time moves on by a microsecond until the name is free.

    Raises:
        AuditError: the folder cannot be created.
    """
    try:
        directory.mkdir(mode=0o750, parents=True, exist_ok=True)
    except OSError as err:
        raise AuditError(
            f"cannot create the audit folder {directory}: {err}", path=str(directory)
        ) from err
    start = start_utc.astimezone(UTC)
    while True:
        path = directory / (session_id(start, pid) + SESSION_SUFFIX)
        if not path.exists():
            return path
        start += timedelta(microseconds=1)


def _held_by_writer(path: Path) -> bool:
    """True if another open file description holds ``path``'s writer lock (``flock``)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock this probe took
    return False


@dataclass(frozen=True, slots=True, kw_only=True)
class Retention:
    """What :func:`apply_retention` did.

    Attributes:
        deleted: session files removed, oldest first.
        kept_open: sessions due for deletion but kept because a writer holds them.
        errors: files that could not be removed, with the reason.
    """

    deleted: tuple[Path, ...]
    kept_open: tuple[Path, ...]
    errors: tuple[tuple[Path, str], ...]


def _due(
    sessions: Sequence[AuditSession], *, keep_sessions: int, max_age_days: float, now_utc: datetime
) -> list[AuditSession]:
    due: list[AuditSession] = []
    newest_first = list(reversed(sessions))
    for index, session in enumerate(newest_first):
        if keep_sessions and index >= keep_sessions:
            due.append(session)
            continue
        if max_age_days:
            try:
                written = datetime.fromtimestamp(session.path.stat().st_mtime, UTC)
            except FileNotFoundError:
                continue
            if now_utc - written > timedelta(days=max_age_days):
                due.append(session)
    return list(reversed(due))


def apply_retention(
    directory: Path,
    *,
    keep_sessions: int,
    max_age_days: float,
    current: Path | None,
    now_utc: datetime,
) -> Retention:
    """Delete the sessions beyond the newest ``keep_sessions`` or older than ``max_age_days``.

    Args:
        directory: the session folder.
        keep_sessions: number of session files kept, ``current`` included (0 = no limit).
        max_age_days: a session last written longer ago than this is deleted (0 = no limit).
        current: the running session's file, never deleted (nor is any file a writer holds).
        now_utc: wall time now (aware).

    Raises:
        ValueError: a negative limit.
        AuditError: the folder cannot be listed.
    """
    if keep_sessions < 0 or max_age_days < 0:
        raise ValueError(
            f"audit retention limits must be >= 0, got keep_sessions={keep_sessions}, "
            f"max_age_days={max_age_days}"
        )
    sessions = list_sessions(directory)
    deleted: list[Path] = []
    kept_open: list[Path] = []
    errors: list[tuple[Path, str]] = []
    current_resolved = None if current is None else current.resolve()
    for session in _due(
        sessions, keep_sessions=keep_sessions, max_age_days=max_age_days, now_utc=now_utc
    ):
        if session.path.resolve() == current_resolved or _held_by_writer(session.path):
            kept_open.append(session.path)
            continue
        try:
            session.path.unlink()
        except FileNotFoundError:
            continue
        except OSError as err:
            errors.append((session.path, str(err)))
            continue
        deleted.append(session.path)
    return Retention(deleted=tuple(deleted), kept_open=tuple(kept_open), errors=tuple(errors))
