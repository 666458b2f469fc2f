"""Append-only, crash-safe audit log: JSON lines, one writer, fsync before ``append`` returns.

Each record is one line: ``seq`` (increasing across runs of the same file), ``kind``, ``mono_s``
(the injected monotonic clock), ``wall_utc`` (ISO 8601, UTC), ``state``, ``payload`` and the
interlock ``snapshot`` when there is one. Every ``open()`` writes a ``run_header`` record with the
software and SOUP versions. :meth:`JsonlAuditLog.append` returns only after ``os.fsync``; a
process or OS crash can tear at most the final line, which :func:`safety.audit_read.read_audit_log`
skips (and reports) and the next ``open()`` truncates (recording how many bytes it dropped).

:class:`MemoryAuditSink` keeps records in memory and is **not durable**: it is for tests and for
the decision benchmark, which measures the supervisor without the cost of fsync.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import TYPE_CHECKING, Protocol

from safety.errors import AuditError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from safety.interlocks import InterlockSnapshot

__all__ = [
    "SOUP_PACKAGES",
    "AuditRecord",
    "AuditSink",
    "JsonlAuditLog",
    "MemoryAuditSink",
    "run_header",
    "snapshot_to_json",
]

logger = logging.getLogger(__name__)

#: Third-party packages (SOUP) whose versions every run header records.
SOUP_PACKAGES = ("transitions", "pyserial", "numpy", "scipy", "pyigtl", "cobs", "rich")
_TAIL_PROBE_BYTES = 1 << 16


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
    """Where the supervisor writes its audit records."""

    @property
    def healthy(self) -> bool:
        """False after an append failed, until one succeeds again."""
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


def snapshot_to_json(snapshot: InterlockSnapshot) -> dict[str, object]:
    """The snapshot as a JSON object (field name -> value)."""
    return {f.name: getattr(snapshot, f.name) for f in dataclasses.fields(snapshot)}


def _utc_now() -> datetime:
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


class MemoryAuditSink:
    """Audit records in a list. Not durable: for tests and benchmarks only.

    Does not model: disk latency, fsync, torn lines. ``fail_next`` makes the next appends raise
    :class:`AuditError` as a failing disk would.
    """

    def __init__(
        self, *, now: Callable[[], float], wall: Callable[[], datetime] = _utc_now
    ) -> None:
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


class JsonlAuditLog:
    """The durable audit log: one writer per file (``flock``), fsync per record.

    Args:
        path: the log file; created if missing, appended to otherwise. Its folder must exist.
        now: monotonic clock (s) for ``mono_s``.
        wall: wall clock for ``wall_utc`` (UTC); timestamps only.
        header_extra: added to every run header (robot id, config hash, firmware build).
    """

    def __init__(
        self,
        path: Path,
        *,
        now: Callable[[], float],
        wall: Callable[[], datetime] = _utc_now,
        header_extra: Mapping[str, object] | None = None,
    ) -> None:
        self._path = path
        self._now = now
        self._wall = wall
        self._header_extra = dict(header_extra or {})
        self._fd: int | None = None
        self._seq = 0
        self._size = 0
        self._healthy = False
        self.failures = 0

    @property
    def path(self) -> Path:
        """The log file."""
        return self._path

    @property
    def healthy(self) -> bool:
        """True while open and the last append was durable."""
        return self._fd is not None and self._healthy

    def open(self) -> None:
        """Open (or create) the file, take the writer lock, drop a torn tail, write a run header.

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
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
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
        except (OSError, ValueError) as err:
            os.close(fd)
            raise AuditError(f"cannot prepare audit log {path}: {err}", path=str(path)) from err
        self._fd = fd
        self._healthy = True
        header = run_header(self._header_extra)
        header["torn_tail_dropped_bytes"] = dropped
        try:
            self.append("run_header", state="-", payload=header)
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
        return dropped

    def append(
        self,
        kind: str,
        *,
        state: str,
        payload: Mapping[str, object],
        snapshot: InterlockSnapshot | None = None,
    ) -> int:
        """Write one record and fsync it; returns its sequence number once durable.

        Raises:
            AuditError: the log is closed, the record is not JSON-serialisable, or the write
                or fsync failed (the partial line is truncated away when possible).
        """
        fd = self._fd
        if fd is None:
            raise AuditError(f"audit log {self._path} is not open", path=str(self._path))
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
            os.fsync(fd)
        except OSError as err:
            self._healthy = False
            self.failures += 1
            self._truncate_partial(fd)
            raise AuditError(
                f"audit record {record.seq} ({kind}) not durable in {self._path}: {err}",
                path=str(self._path),
            ) from err
        self._seq = record.seq
        self._size += len(data)
        self._healthy = True
        return record.seq

    def _truncate_partial(self, fd: int) -> None:
        try:
            os.ftruncate(fd, self._size)
        except OSError as err:
            logger.error(  # noqa: TRY400 - message suffices
                "audit log %s: cannot truncate a partial record: %s", self._path, err
            )

    def close(self) -> None:
        """Release the lock and close the file. Idempotent."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> JsonlAuditLog:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
