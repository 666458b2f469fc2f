"""A writer killed with SIGKILL mid-stream loses no record whose ``append()`` had returned."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from safety.audit import JsonlAuditLog
from safety.audit_read import read_audit_log
from tests.support.clock import FakeClock

_CHILD = textwrap.dedent(
    """
    import os, stat, sys, time
    from pathlib import Path
    from safety.audit import Durability, JsonlAuditLog

    synced = [0]  # bytes of the log file covered by the last successful fsync
    real_fsync = os.fsync

    def counting_fsync(fd):
        real_fsync(fd)
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode):
            synced[0] = info.st_size

    os.fsync = counting_fsync  # safety.audit calls os.fsync through the module
    group = sys.argv[2] == "group"
    log = JsonlAuditLog(
        Path(sys.argv[1]),
        now=time.monotonic,
        durability=Durability.GROUP if group else Durability.RECORD,
    )
    log.open()
    for n in range(1_000_000):
        seq = log.append("transition", state="MOVING", payload={"n": n, "pad": "x" * (n % 300)})
        if group and n % 7 == 6:
            first = log.durable_seq + 1
            for durable in range(first, log.commit() + 1):
                sys.stdout.write(f"{durable} {synced[0]}\\n")
        elif not group:
            sys.stdout.write(f"{seq} {synced[0]}\\n")
        sys.stdout.flush()
    """
)
_WANTED = 150


def _read_reported(
    proc: subprocess.Popen[bytes], *, until: int, timeout_s: float
) -> list[tuple[int, int]]:
    """Read the child's (sequence number, fsynced bytes) reports until ``until`` or EOF."""
    assert proc.stdout is not None
    buffer = b""
    reported: list[tuple[int, int]] = []
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while len(reported) < until:
            if time.monotonic() > deadline:
                raise AssertionError(f"child reported {len(reported)} records in {timeout_s} s")
            if not selector.select(timeout=0.05):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                seq, synced = line.split()
                reported.append((int(seq), int(synced)))
    return reported


@pytest.mark.slow
@pytest.mark.hazard("H-11")
@pytest.mark.parametrize("durability", ["record", "group"])
def test_every_record_reported_before_sigkill_is_intact_and_the_log_reopens(tmp_path, durability):
    """The child prints a sequence number once it is durable (after append, or after commit).

    With each it prints how many bytes of the file its last successful ``os.fsync`` covered
    (the child wraps ``os.fsync``), so the test also fails when a record is reported before an
    fsync covered it, which a SIGKILL alone cannot show (the page cache survives it).
    """
    path = tmp_path / "audit.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), durability],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        reported = _read_reported(proc, until=_WANTED, timeout_s=60.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        reported += _read_reported(proc, until=10**9, timeout_s=10.0)  # lines already in the pipe
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        assert proc.stdout is not None
        assert proc.stderr is not None
        stderr = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, stderr.decode()
    assert len(reported) >= _WANTED
    seqs = [seq for seq, _ in reported]
    assert seqs == list(range(2, 2 + len(reported)))  # seq 1 is the run header

    contents = read_audit_log(path)
    by_seq = {r.seq: r for r in contents.records}
    end_of = {}  # seq -> byte offset just past its line
    offset = 0
    for line in path.read_bytes().splitlines(keepends=True):
        offset += len(line)
        if line.endswith(b"\n"):
            end_of[json.loads(line)["seq"]] = offset
    for seq, synced in reported:
        assert end_of[seq] <= synced, f"record {seq} was reported before an fsync covered it"
    for seq in seqs:
        record = by_seq[seq]
        assert record.kind == "transition"
        assert record.payload["n"] == seq - 2
        assert record.payload["pad"] == "x" * ((seq - 2) % 300)
    assert contents.sequence_gaps == ()
    # the killed writer held the lock; it died with the process, so a new writer opens and goes on
    with JsonlAuditLog(path, now=FakeClock()) as log:
        next_seq = log.append("after_crash", state="OFF", payload={})
    assert next_seq == contents.records[-1].seq + 2  # a new run header, then this record
    reread = read_audit_log(path)
    assert reread.torn_tail_bytes == 0
    assert reread.records[-1].kind == "after_crash"
