"""Audit sessions (one file per server run), retention, and reading a log that is still written."""

from __future__ import annotations

import functools
import os
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from safety import JsonlAuditLog
from safety.audit_read import AuditTail, read_audit_log, scan_audit_log
from safety.audit_sessions import (
    apply_retention,
    find_session,
    latest_session,
    list_sessions,
    new_session_path,
    session_id,
)
from safety.audit_types import AUDIT_KINDS
from safety.errors import AuditError
from tests.support.clock import FakeClock
from tests.support.polling import wait_for

T0 = datetime(2026, 12, 2, 4, 35, 12, 123456, tzinfo=UTC)


def _make(directory: Path, start: datetime, pid: int = 100, lines: int = 1) -> Path:
    path = new_session_path(directory, start_utc=start, pid=pid)
    path.write_text("{}\n" * lines)
    return path


def test_session_names_sort_by_start_time_and_never_collide(tmp_path):
    folder = tmp_path / "audit"
    assert session_id(T0, 4242) == "20261202T043512.123456Z-p4242"
    first = new_session_path(folder, start_utc=T0, pid=4242)
    assert folder.is_dir()
    assert first.name == "20261202T043512.123456Z-p4242.jsonl"
    first.touch()
    again = new_session_path(folder, start_utc=T0, pid=4242)  # same start, same pid
    assert again != first
    assert again.name == "20261202T043512.123457Z-p4242.jsonl"
    # a local-time start is stored as UTC
    local = T0.astimezone(timezone(timedelta(hours=5)))
    assert new_session_path(folder, start_utc=local, pid=1).name.startswith("20261202T043512")
    starts = [T0 + timedelta(hours=h) for h in (3, 0, 27, 1)]
    for start in starts:
        _make(folder, start, pid=7)
    listed = [s.start_utc for s in list_sessions(folder) if s.pid == 7]
    assert listed == sorted(starts)
    by_name = sorted(p.name for p in folder.iterdir() if p.name.endswith("-p7.jsonl"))
    assert by_name == [s.path.name for s in list_sessions(folder) if s.pid == 7]


def test_list_latest_and_find_by_id_or_unique_prefix(tmp_path):
    assert list_sessions(tmp_path / "missing") == []
    assert latest_session(tmp_path / "missing") is None
    a = _make(tmp_path, T0, lines=3)
    b = _make(tmp_path, T0 + timedelta(days=1), pid=9)
    (tmp_path / "notes.txt").write_text("not a session\n")
    (tmp_path / "audit.jsonl").write_text("{}\n")
    sessions = list_sessions(tmp_path)
    assert [s.path for s in sessions] == [a, b]
    assert sessions[0].record_count() == 3
    assert sessions[0].size_bytes() == 9
    assert not sessions[0].is_open()
    latest = latest_session(tmp_path)
    assert latest is not None
    assert latest.path == b
    assert find_session(tmp_path, "20261203").path == b
    assert find_session(tmp_path, a.name).path == a
    assert find_session(tmp_path, a.stem).path == a
    with pytest.raises(AuditError, match="ambiguous"):
        find_session(tmp_path, "2026120")
    with pytest.raises(AuditError, match="no audit session '1999'"):
        find_session(tmp_path, "1999")


@pytest.mark.hazard("H-11")
def test_retention_by_count_keeps_the_newest_and_never_the_running_session(tmp_path):
    old = [_make(tmp_path, T0 + timedelta(minutes=m)) for m in range(5)]
    other = tmp_path / "keep-me.jsonl"
    other.write_text("{}\n")
    # the running session is the OLDEST here (its clock was behind): still never deleted
    result = apply_retention(
        tmp_path, keep_sessions=2, max_age_days=0, current=old[0], now_utc=T0 + timedelta(hours=1)
    )
    assert result.deleted == tuple(old[1:3])
    assert result.kept_open == (old[0],)
    assert result.errors == ()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [old[0].name, old[3].name, old[4].name, other.name]
    )


@pytest.mark.hazard("H-11")
def test_retention_never_deletes_a_session_another_writer_still_holds(tmp_path):
    held = new_session_path(tmp_path, start_utc=T0, pid=1)
    newer = [_make(tmp_path, T0 + timedelta(minutes=m + 1)) for m in range(3)]
    with JsonlAuditLog(held, now=FakeClock()):
        assert list_sessions(tmp_path)[0].is_open()
        result = apply_retention(
            tmp_path, keep_sessions=1, max_age_days=0, current=newer[-1], now_utc=T0
        )
    assert held.exists()
    assert result.kept_open == (held,)
    assert result.deleted == tuple(newer[:2])
    assert not list_sessions(tmp_path)[0].is_open()  # closed: the lock is gone


def test_retention_by_age_uses_the_last_write_and_zero_means_keep_all(tmp_path):
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    paths = [_make(tmp_path, T0 + timedelta(minutes=m)) for m in range(3)]
    for path, age_days in zip(paths, (40, 29, 1), strict=True):
        stamp = (now - timedelta(days=age_days)).timestamp()
        os.utime(path, (stamp, stamp))
    keep_all = apply_retention(
        tmp_path, keep_sessions=0, max_age_days=0, current=paths[-1], now_utc=now
    )
    assert keep_all.deleted == ()
    result = apply_retention(
        tmp_path, keep_sessions=0, max_age_days=30, current=paths[-1], now_utc=now
    )
    assert result.deleted == (paths[0],)
    assert [p.exists() for p in paths] == [False, True, True]
    with pytest.raises(ValueError, match=">= 0"):
        apply_retention(tmp_path, keep_sessions=-1, max_age_days=0, current=None, now_utc=now)


@pytest.mark.hazard("H-11")
def test_a_bad_line_in_the_middle_is_named_and_the_records_around_it_are_kept(tmp_path):
    path = tmp_path / "audit.jsonl"
    with JsonlAuditLog(path, now=FakeClock()) as log:
        log.append("fault", state="READY", payload={"n": 1})
    with path.open("ab") as f:
        f.write(b'{"seq": 3, "kind": "fault"}\n')  # valid JSON, not a record
        f.write(b"\x00\x00garbage\n")
        f.write(
            b'{"seq":5,"kind":"fault","mono_s":1.0,"wall_utc":"2026-12-02T04:35:00+00:00",'
            b'"state":"READY","payload":{"n":2}}\n'
        )
    contents = scan_audit_log(path)
    assert [r.kind for r in contents.records] == ["run_header", "fault", "fault"]
    assert contents.records[-1].payload == {"n": 2}
    assert [b.number for b in contents.bad_lines] == [3, 4]
    assert "missing field 'mono_s'" in contents.bad_lines[0].reason
    assert "line 4 is corrupt" in contents.bad_lines[1].describe()
    with pytest.raises(AuditError, match="line 3 is corrupt"):
        read_audit_log(path)


def test_a_tail_sees_each_record_a_writer_in_this_process_appends(tmp_path):
    path = tmp_path / "audit.jsonl"
    seen: list[str] = []
    with JsonlAuditLog(path, now=FakeClock()) as log, AuditTail(path) as tail:

        def saw(kind: str, count: int = 1) -> bool:
            seen.extend(r.kind for r in tail.poll().records)
            return seen.count(kind) == count

        wait_for(lambda: saw("run_header"), what="the run header")
        for n in range(3):
            log.append("interlock", state="READY", payload={"n": n})
            wait_for(functools.partial(saw, "interlock", n + 1), what=f"record {n}")
        # a line still being written waits for its newline
        with path.open("ab") as f:
            f.write(b'{"seq":5,')
            f.flush()
            assert tail.poll().records == ()
            assert tail.pending_bytes == len(b'{"seq":5,')
            f.write(b'"kind":"fault","mono_s":1,"wall_utc":"x","state":"READY","payload":{}}\n')
        wait_for(lambda: saw("fault"), what="the completed line")
    assert seen == ["run_header", "interlock", "interlock", "interlock", "fault"]


def test_a_tail_goes_on_after_a_reopening_writer_drops_a_torn_tail(tmp_path):
    path = tmp_path / "audit.jsonl"
    with JsonlAuditLog(path, now=FakeClock()):
        pass
    with path.open("ab") as f:
        f.write(b'{"seq":2,"ki')  # a crash tore this write
    with AuditTail(path) as tail:
        assert [r.kind for r in tail.poll().records] == ["run_header"]
        with JsonlAuditLog(path, now=FakeClock()):  # drops the torn tail, writes a header
            chunk = tail.poll()
    assert [r.kind for r in chunk.records] == ["run_header"]
    assert chunk.bad_lines == ()


def test_audit_kinds_name_every_kind_the_supervisor_writes():
    root = Path(__file__).resolve().parents[3]
    sources = "".join(
        (root / "safety" / name).read_text() for name in ("supervisor.py", "records.py", "audit.py")
    )
    written = set(re.findall(r'_record\(\s*"(\w+)"', sources))
    written |= set(re.findall(r'kind = "(\w+)"', sources))
    written |= set(re.findall(r'\.append\(\s*"(\w+)"', sources))
    assert {"permit_issued", "refusal", "run_header"} <= written  # the scan finds them
    assert written <= AUDIT_KINDS


def test_a_writer_opening_while_a_reader_probes_the_lock_still_starts(tmp_path, monkeypatch):
    import fcntl

    real_flock = fcntl.flock
    probes = {"left": 2}  # the first two attempts meet a reader's momentary shared lock

    def flock(fd: int, operation: int) -> None:
        if operation & fcntl.LOCK_EX and probes["left"]:
            probes["left"] -= 1
            raise BlockingIOError(11, "Resource temporarily unavailable")
        real_flock(fd, operation)

    monkeypatch.setattr("safety.audit.fcntl.flock", flock)
    path = new_session_path(tmp_path, start_utc=T0, pid=1)
    with JsonlAuditLog(path, now=FakeClock()) as log:
        assert log.healthy
    assert probes["left"] == 0
