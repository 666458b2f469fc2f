"""Append-only, crash-safe audit log: JSON lines, one writer, fsync'd records.

Each record is one line: ``seq`` (increasing across runs of the same file), ``kind``, ``mono_s``
(the injected monotonic clock), ``wall_utc`` (ISO 8601, UTC), ``state``, ``payload`` and the
interlock ``snapshot`` when there is one. Every ``open()`` writes a ``run_header`` record with the
software and SOUP versions. With ``Durability.RECORD`` (default) :meth:`JsonlAuditLog.append`
returns only after ``os.fsync``; with ``Durability.GROUP`` it returns after ``write`` and
:meth:`JsonlAuditLog.commit` makes everything written durable with one fsync and reports the
durable sequence number (group commit, e.g. once per control cycle). A process or OS crash can
tear at most the final line, which :func:`safety.audit_read.read_audit_log` skips (and reports)
and the next ``open()`` truncates (recording how many bytes it dropped).

**A failure is final until re-opened.** After a failed ``write`` or ``fsync`` (in ``append()``
or ``commit()``) the writer stays unhealthy and refuses every further ``append()`` and
``commit()`` until :meth:`JsonlAuditLog.close` and :meth:`JsonlAuditLog.open`: Linux marks the
pages of a failed writeback clean, so a later fsync can succeed without the lost records, and
:attr:`JsonlAuditLog.durable_seq` must never move past them. The next run header records the
failure (``previous_failure``). ``healthy`` is True only between a successful ``open()`` and the
first failure; in ``GROUP`` mode a plain ``write`` never makes the writer healthy.

**The supervisor and group commit.** The supervisor treats ``append()`` as "stored" for every
record except ``permit_issued``: that one must be durable before the permit leaves the
supervisor, so for a sink that has ``commit()`` (a
:class:`~safety.audit_types.CommittingAuditSink`, as this class is) the supervisor calls
``commit()`` right after appending it and hands the permit out only when the returned durable
sequence number covers the record (in ``RECORD`` mode that ``commit()`` does no I/O). Every other
record of a ``GROUP`` log is durable at the owner's next ``commit()`` (once per control cycle,
within the 50 ms of docs/SAFETY_BASIS.md section 9).
"""

from __future__ import annotations

import enum
import fcntl
import json
import logging
import os
import threading
from typing import TYPE_CHECKING

from safety.audit_types import AuditRecord, run_header, snapshot_to_json, utc_now
from safety.errors import AuditError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime
    from pathlib import Path

    from safety.interlocks import InterlockSnapshot

__all__ = ["Durability", "JsonlAuditLog"]

logger = logging.getLogger(__name__)

_TAIL_PROBE_BYTES = 1 << 16
_LOCK_ATTEMPTS = 5
_LOCK_RETRY_S = 0.005


def _lock_exclusive(fd: int) -> None:
    """Take the writer lock; a few short retries ride out a reader's momentary probe.

    ``mrbot log --list`` and the session retention probe a file with a shared lock held for
    microseconds; a writer that collides with one tries again briefly instead of failing.
    A lock still held after the retries belongs to another writer.

    Raises:
        OSError: the lock is held (another writer) or cannot be taken.
    """
    pause = threading.Event()
    for _ in range(_LOCK_ATTEMPTS - 1):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pause.wait(_LOCK_RETRY_S)
        else:
            return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


class Durability(enum.Enum):
    """When a record becomes durable."""

    RECORD = "fsync before append() returns"
    GROUP = "fsync in commit(), covering every record written before it"


class JsonlAuditLog:
    """The durable audit log: one writer per file (``flock``), fsync per record or per commit.

    Args:
        path: the log file; created if missing, appended to otherwise. Its folder must exist.
        now: monotonic clock (s) for ``mono_s``.
        wall: wall clock for ``wall_utc`` (UTC); timestamps only.
        header_extra: added to every run header (robot id, config hash, firmware build).
        durability: fsync per record (default) or per :meth:`commit`.
        observer: called with each record once :meth:`append` wrote it (e.g. a session
            recorder). It must return at once; whatever it raises is logged and counted in
            :attr:`observer_failures`, never passed to the caller: the audit goes on.
    """

    def __init__(
        self,
        path: Path,
        *,
        now: Callable[[], float],
        wall: Callable[[], datetime] = utc_now,
        header_extra: Mapping[str, object] | None = None,
        durability: Durability = Durability.RECORD,
        observer: Callable[[AuditRecord], None] | None = None,
    ) -> None:
        self._path = path
        self._observer = observer
        self.observer_failures = 0
        self._durability = durability
        self._durable_seq = 0
        self._now = now
        self._wall = wall
        self._header_extra = dict(header_extra or {})
        self._fd: int | None = None
        self._seq = 0
        self._size = 0
        self._failure: str | None = None  # first write/fsync failure since open(), if any
        self._failed_after_seq = 0  # durable_seq when that failure happened
        self.failures = 0

    @property
    def path(self) -> Path:
        """The log file."""
        return self._path

    @property
    def healthy(self) -> bool:
        """True while open and no write, fsync or commit has failed since :meth:`open`."""
        return self._fd is not None and self._failure is None

    @property
    def durability(self) -> Durability:
        """When a record becomes durable (per record or per :meth:`commit`)."""
        return self._durability

    @property
    def durable_seq(self) -> int:
        """Highest sequence number known to be on disk (after fsync)."""
        return self._durable_seq

    def open(self) -> None:
        """Open (or create) the file, take the writer lock, drop a torn tail, write a run header.

        This is also the only way back to health after a failure (``close()`` first); the run
        header then names the failure and the last sequence number known durable before it.

        Raises:
            AuditError: the file cannot be opened or locked, or the header is not durable.
        """
        if self._fd is not None:
            return
        path = self._path
        created = not path.exists()
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        except OSError as err:
            raise AuditError(f"cannot open audit log {path}: {err}", path=str(path)) from err
        try:
            _lock_exclusive(fd)
        except OSError as err:
            os.close(fd)
            raise AuditError(
                f"audit log {path} is held by another writer ({err})", path=str(path)
            ) from err
        try:
            dropped = self._repair_tail(fd)
            if created:
                dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        except (OSError, ValueError, KeyError, TypeError) as err:
            os.close(fd)
            raise AuditError(f"cannot prepare audit log {path}: {err}", path=str(path)) from err
        self._fd = fd
        header = run_header(self._header_extra)
        header["torn_tail_dropped_bytes"] = dropped
        if self._failure is not None:
            header["previous_failure"] = {
                "error": self._failure,
                "durable_seq": self._failed_after_seq,
            }
        self._failure = None
        try:
            self.append("run_header", state="-", payload=header)
            self.commit()
        except AuditError:
            self.close()
            raise

    def _repair_tail(self, fd: int) -> int:
        """Truncate a torn final line; set ``_seq`` and ``_size``. Returns bytes dropped."""
        size = os.fstat(fd).st_size
        start = max(0, size - _TAIL_PROBE_BYTES)
        tail = os.pread(fd, size - start, start)
        cut = tail.rfind(b"\n")
        good_size = start + cut + 1 if cut >= 0 else (0 if start == 0 else size)
        dropped = size - good_size
        if dropped:
            logger.warning(
                "audit log %s: dropping a torn final line of %d bytes", self._path, dropped
            )
            os.ftruncate(fd, good_size)
            os.fsync(fd)
        self._size = good_size
        self._seq = 0
        if good_size:
            body = tail[: good_size - start].rstrip(b"\n")
            last_line = body.rsplit(b"\n", 1)[-1]
            self._seq = int(json.loads(last_line)["seq"])
        self._durable_seq = self._seq
        return dropped

    def append(
        self,
        kind: str,
        *,
        state: str,
        payload: Mapping[str, object],
        snapshot: InterlockSnapshot | None = None,
    ) -> int:
        """Write one record; returns its sequence number once durable (``RECORD``) or written.

        With ``Durability.GROUP`` the record is durable only after the next :meth:`commit`.

        Raises:
            AuditError: the log is closed or failed earlier (re-open it), the record is not
                JSON-serialisable, or the write or fsync failed (the partial line is truncated
                away when possible, and the writer stays unhealthy until re-opened).
        """
        fd = self._fd
        if fd is None:
            raise AuditError(f"audit log {self._path} is not open", path=str(self._path))
        self._refuse_after_failure()
        record = AuditRecord(
            seq=self._seq + 1,
            kind=kind,
            mono_s=self._now(),
            wall_utc=self._wall().isoformat(),
            state=state,
            payload=payload,
            snapshot=None if snapshot is None else snapshot_to_json(snapshot),
        )
        try:
            data = record.to_json_line()
        except (TypeError, ValueError) as err:
            raise AuditError(
                f"audit record {kind!r} is not JSON-serialisable: {err}", path=str(self._path)
            ) from err
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if self._durability is Durability.RECORD:
                os.fsync(fd)
        except OSError as err:
            self._fail(err)
            self._truncate_partial(fd)
            raise AuditError(
                f"audit record {record.seq} ({kind}) not durable in {self._path}: {err}",
                path=str(self._path),
            ) from err
        self._seq = record.seq
        self._size += len(data)
        if self._durability is Durability.RECORD:
            self._durable_seq = record.seq
        if self._observer is not None:
            self._notify(self._observer, record)
        return record.seq

    def _notify(self, observer: Callable[[AuditRecord], None], record: AuditRecord) -> None:
        try:
            observer(record)
        except Exception:  # an observer's fault never reaches the supervisor: log and count it
            self.observer_failures += 1
            logger.exception("audit log %s: observer failed on record %d", self._path, record.seq)

    def commit(self) -> int:
        """Fsync everything written so far; returns the durable sequence number.

        Raises:
            AuditError: the log is not open, failed earlier, or the fsync failed: records
                after :attr:`durable_seq` may be lost, and the writer stays unhealthy (and
                :attr:`durable_seq` stays put) until it is closed and opened again.
        """
        fd = self._fd
        if fd is None:
            raise AuditError(f"audit log {self._path} is not open", path=str(self._path))
        self._refuse_after_failure()
        if self._durable_seq == self._seq:
            return self._durable_seq
        try:
            os.fsync(fd)
        except OSError as err:
            self._fail(err)
            raise AuditError(
                f"audit records {self._durable_seq + 1}..{self._seq} not durable in "
                f"{self._path}: {err}",
                path=str(self._path),
            ) from err
        self._durable_seq = self._seq
        return self._durable_seq

    def _fail(self, err: OSError) -> None:
        """Latch the first I/O failure: unhealthy, durable_seq frozen, until re-opened."""
        self.failures += 1
        if self._failure is None:
            self._failure = str(err)
            self._failed_after_seq = self._durable_seq

    def _refuse_after_failure(self) -> None:
        if self._failure is not None:
            raise AuditError(
                f"audit log {self._path} failed earlier ({self._failure}); records after seq "
                f"{self._failed_after_seq} may be lost; close() and open() it again",
                path=str(self._path),
            )

    def _truncate_partial(self, fd: int) -> None:
        try:
            os.ftruncate(fd, self._size)
        except OSError as err:
            logger.error(  # noqa: TRY400 - message suffices
                "audit log %s: cannot truncate a partial record: %s", self._path, err
            )

    def close(self) -> None:
        """Commit what was written, release the lock and close the file. Idempotent.

        A failed final commit is logged (the records after :attr:`durable_seq` may be lost);
        closing goes on.
        """
        if self._fd is None:
            return
        try:
            self.commit()
        except AuditError as err:
            logger.error("audit log %s closed with records not durable: %s", self._path, err)  # noqa: TRY400 - message suffices
        fd, self._fd = self._fd, None
        os.close(fd)

    def __enter__(self) -> JsonlAuditLog:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
