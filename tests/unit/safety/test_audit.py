from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from safety.audit import Durability, JsonlAuditLog
from safety.audit_read import read_audit_log
from safety.audit_types import SOUP_PACKAGES, run_header
from safety.errors import AuditError
from safety.states import Event, State, StopCategory
from tests.support.clock import FakeClock
from tests.unit.safety.helpers import clear, drive_to


def _wall():
    return datetime(2026, 11, 26, 23, 0, 0, tzinfo=UTC)


def _healthy(log):
    return log.healthy  # a call: mypy does not narrow it across the writer's calls


def _log(path, clock=None):
    return JsonlAuditLog(
        path, now=clock or FakeClock(), wall=_wall, header_extra={"robot_id": "r1"}
    )


@pytest.mark.hazard("H-11")
def test_records_are_durable_json_lines_with_sequence_and_times(tmp_path):
    path = tmp_path / "audit.jsonl"
    clock = FakeClock()
    with _log(path, clock) as log:
        clock.advance(0.5)
        seq = log.append("transition", state="READY", payload={"event": "HOMING_DONE"})
        snap_seq = log.append("refusal", state="READY", payload={}, snapshot=clear(clock()))
    assert (seq, snap_seq) == (2, 3)
    lines = path.read_bytes().splitlines()
    assert len(lines) == 3
    header = json.loads(lines[0])
    assert header["kind"] == "run_header"
    assert header["seq"] == 1
    assert header["payload"]["robot_id"] == "r1"
    assert set(header["payload"]["soup"]) == set(SOUP_PACKAGES)
    assert header["payload"]["soup"]["transitions"] == "0.9.3"
    record = json.loads(lines[1])
    assert record["mono_s"] == 1000.5
    assert record["wall_utc"] == "2026-11-26T23:00:00+00:00"
    assert json.loads(lines[2])["snapshot"]["estop_released"] is True


def test_reopening_continues_the_sequence_with_a_new_run_header(tmp_path):
    path = tmp_path / "audit.jsonl"
    with _log(path) as log:
        log.append("a", state="OFF", payload={})
    with _log(path) as log:
        assert log.append("b", state="OFF", payload={}) == 4
    contents = read_audit_log(path)
    assert [r.kind for r in contents.records] == ["run_header", "a", "run_header", "b"]
    assert contents.sequence_gaps == ()
    assert contents.torn_tail_bytes == 0


@pytest.mark.hazard("H-11")
def test_a_torn_final_line_is_skipped_by_readers_and_dropped_by_the_next_writer(tmp_path):
    path = tmp_path / "audit.jsonl"
    with _log(path) as log:
        log.append("a", state="OFF", payload={"n": 1})
    with path.open("ab") as f:
        f.write(b'{"seq":3,"kind":"tor')
    contents = read_audit_log(path)
    assert [r.seq for r in contents.records] == [1, 2]
    assert contents.torn_tail_bytes == 20
    with _log(path) as log:
        assert log.append("b", state="OFF", payload={}) == 4
    contents = read_audit_log(path)
    assert contents.torn_tail_bytes == 0
    header = contents.records[2]
    assert header.kind == "run_header"
    assert header.payload["torn_tail_dropped_bytes"] == 20


def test_a_corrupt_line_in_the_middle_is_an_error_not_a_torn_tail(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"seq":1}\nnot json\n')
    with pytest.raises(AuditError, match="line 1 is corrupt"):
        read_audit_log(path)


def test_a_second_writer_on_the_same_file_is_refused(tmp_path):
    path = tmp_path / "audit.jsonl"
    with _log(path), pytest.raises(AuditError, match="held by another writer"):
        _log(path).open()


def test_append_before_open_or_after_close_raises(tmp_path):
    log = _log(tmp_path / "audit.jsonl")
    with pytest.raises(AuditError, match="not open"):
        log.append("a", state="OFF", payload={})
    log.open()
    log.close()
    log.close()
    assert not _healthy(log)
    with pytest.raises(AuditError, match="not open"):
        log.append("a", state="OFF", payload={})


def test_a_record_that_is_not_json_is_refused_without_breaking_the_log(tmp_path):
    path = tmp_path / "audit.jsonl"
    with _log(path) as log:
        with pytest.raises(AuditError, match="not JSON-serialisable"):
            log.append("a", state="OFF", payload={"x": float("nan")})
        assert log.append("b", state="OFF", payload={}) == 2
    assert [r.kind for r in read_audit_log(path).records] == ["run_header", "b"]


@pytest.mark.hazard("H-11")
@pytest.mark.parametrize("durability", [Durability.RECORD, Durability.GROUP])
def test_a_write_error_leaves_the_writer_unhealthy_until_it_is_reopened(
    tmp_path, mocker, durability
):
    path = tmp_path / "audit.jsonl"
    log = JsonlAuditLog(path, now=FakeClock(), wall=_wall, durability=durability)
    log.open()
    mocker.patch("safety.audit.os.write", side_effect=OSError(5, "Input/output error"))
    with pytest.raises(AuditError, match=r"not durable.*Input/output error"):
        log.append("lost", state="OFF", payload={})
    assert not _healthy(log)
    assert log.failures == 1
    mocker.stopall()  # the disk works again: still unhealthy, nothing written or claimed durable
    with pytest.raises(AuditError, match=r"failed earlier.*close\(\) and open\(\)"):
        log.append("refused", state="OFF", payload={})
    with pytest.raises(AuditError, match="failed earlier"):
        log.commit()
    assert not _healthy(log)
    assert log.durable_seq == 1
    log.close()
    log.open()
    assert _healthy(log)
    assert log.append("kept", state="OFF", payload={}) == 3
    log.close()
    records = read_audit_log(path).records
    assert [r.kind for r in records] == ["run_header", "run_header", "kept"]
    assert records[1].payload["previous_failure"] == {
        "error": "[Errno 5] Input/output error",
        "durable_seq": 1,
    }


def test_a_full_device_fails_at_open_with_an_audit_error():
    with pytest.raises(AuditError, match="No space left"):
        JsonlAuditLog(Path("/dev/full"), now=FakeClock()).open()


def test_a_missing_folder_fails_at_open(tmp_path):
    with pytest.raises(AuditError, match="cannot open"):
        _log(tmp_path / "missing" / "audit.jsonl").open()


def test_the_run_header_names_software_and_soup_versions():
    header = run_header({"config_sha256": "abc"})
    assert header["software"] == "mrbot"
    assert header["config_sha256"] == "abc"
    assert isinstance(header["soup"], dict)
    assert header["soup"]["pyserial"] == "3.5"


@pytest.mark.hazard("H-11")
def test_a_supervisor_writes_its_decisions_to_the_durable_log(tmp_path):
    from safety.supervisor import Supervisor
    from tests.unit.safety.helpers import CONFIG

    path = tmp_path / "audit.jsonl"
    clock = FakeClock()
    with JsonlAuditLog(path, now=clock) as log:
        sup = Supervisor(CONFIG, now=clock, audit=log)
        drive_to(sup, clock, State.MOVING)
        sup.handle(Event.EMERGENCY, clear(clock()))
    kinds = [r.kind for r in read_audit_log(path).records]
    assert kinds[0] == "run_header"
    # homing the insertion axis, homing the others, the alignment
    assert kinds.count("permit_issued") == 3
    assert kinds.count("permit_revoked") == 3
    assert kinds[-1] == "transition"
    assert read_audit_log(path).records[-1].payload["to"] == "EMERGENCY_STOP"


@pytest.mark.hazard("H-11")
def test_group_commit_makes_every_written_record_durable_with_one_fsync(tmp_path, mocker):
    path = tmp_path / "audit.jsonl"
    log = JsonlAuditLog(path, now=FakeClock(), durability=Durability.GROUP)
    log.open()
    try:
        assert log.durable_seq == 1  # the run header is committed at open
        fsync = mocker.spy(os, "fsync")
        seqs = [log.append("t", state="MOVING", payload={"n": n}) for n in range(5)]
        assert seqs == [2, 3, 4, 5, 6]
        assert fsync.call_count == 0
        assert log.durable_seq == 1
        assert log.commit() == 6
        assert fsync.call_count == 1
        assert log.commit() == 6  # nothing new: no fsync
        assert fsync.call_count == 1
    finally:
        log.close()
    assert [r.seq for r in read_audit_log(path).records] == [1, 2, 3, 4, 5, 6]


@pytest.mark.hazard("H-11")
def test_after_a_failed_group_commit_a_later_fsync_never_claims_the_lost_records(tmp_path, mocker):
    path = tmp_path / "audit.jsonl"
    with JsonlAuditLog(path, now=FakeClock(), durability=Durability.GROUP) as log:
        log.append("t", state="MOVING", payload={})
        log.append("t", state="MOVING", payload={})
        assert _healthy(log)
        fsync = mocker.patch(
            "safety.audit.os.fsync", side_effect=OSError(28, "No space left on device")
        )
        with pytest.raises(AuditError, match=r"records 2\.\.3 not durable"):
            log.commit()
        assert not _healthy(log)
        assert log.durable_seq == 1
        # Linux marks the failed pages clean: the next fsync would succeed without them
        fsync.side_effect = None
        with pytest.raises(AuditError, match="failed earlier"):
            log.append("stop", state="TARGET_SET", payload={})
        assert not _healthy(log)  # a plain write never heals a GROUP writer
        with pytest.raises(AuditError, match="failed earlier"):
            log.commit()
        assert log.durable_seq == 1
        assert fsync.call_count == 1  # no later fsync was taken as covering records 2..3


def test_in_group_mode_only_commit_makes_records_durable_and_append_is_not_durable(tmp_path):
    path = tmp_path / "audit.jsonl"
    with JsonlAuditLog(path, now=FakeClock(), durability=Durability.GROUP) as log:
        seq = log.append("t", state="MOVING", payload={})
        assert log.durable_seq == seq - 1
        assert log.commit() == seq
        assert log.durable_seq == seq


@pytest.mark.hazard("H-11")
def test_with_group_commit_the_permit_record_is_durable_before_the_permit_is_handed_out(
    tmp_path, mocker
):
    from safety.supervisor import Supervisor
    from tests.unit.safety.helpers import CONFIG, MOVE_ENVELOPES

    path = tmp_path / "audit.jsonl"
    clock = FakeClock()
    with JsonlAuditLog(path, now=clock, durability=Durability.GROUP) as log:
        sup = Supervisor(CONFIG, now=clock, audit=log)
        drive_to(sup, clock, State.TARGET_SET)
        fsync = mocker.spy(os, "fsync")
        move = sup.request_motion(clear(clock()), plan_id="p", envelopes=MOVE_ENVELOPES)
        assert move.permit is not None
        assert fsync.call_count == 1
        durable_seq = log.durable_seq
    issued = [r for r in read_audit_log(path).records if r.kind == "permit_issued"]
    assert issued[-1].payload["permit_id"] == move.permit.permit_id
    assert issued[-1].seq <= durable_seq


@pytest.mark.hazard("H-11")
def test_with_group_commit_a_failed_commit_withholds_the_permit_and_blocks_new_ones(
    tmp_path, mocker
):
    from safety.supervisor import Supervisor
    from tests.unit.safety.helpers import CONFIG, MOVE_ENVELOPES

    clock = FakeClock()
    with JsonlAuditLog(tmp_path / "a.jsonl", now=clock, durability=Durability.GROUP) as log:
        sup = Supervisor(CONFIG, now=clock, audit=log)
        drive_to(sup, clock, State.TARGET_SET)
        fsync = mocker.patch("safety.audit.os.fsync", side_effect=OSError(5, "EIO"))
        move = sup.request_motion(clear(clock()), plan_id="p", envelopes=MOVE_ENVELOPES)
        assert move.permit is None
        assert sup.permit is None
        assert sup.state is State.TARGET_SET
        assert move.stop is StopCategory.CAT2
        assert "no permit issued" in move.reason
        fsync.side_effect = None  # the disk recovers, the writer does not until re-opened
        again = sup.request_motion(clear(clock()), plan_id="p", envelopes=MOVE_ENVELOPES)
        assert not again.accepted
        assert "audit_unavailable" in again.reason
        assert sup.permit is None
