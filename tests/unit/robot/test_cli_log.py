from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone

import pytest

from robot.cli.log import parse_when
from robot.cli.main import main
from safety import JsonlAuditLog
from safety.audit_sessions import new_session_path
from tests.support.clock import FakeClock


class _Wall:
    """Wall clock that moves one minute per record, from 2026-11-26 23:00 UTC."""

    def __init__(self) -> None:
        self.t = datetime(2026, 11, 26, 23, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.t += timedelta(minutes=1)
        return self.t


@pytest.fixture
def log_path(tmp_path):
    path = tmp_path / "audit.jsonl"
    with JsonlAuditLog(path, now=FakeClock(), wall=_Wall()) as log:  # header at 23:01
        log.append(
            "transition",
            state="STARTUP",
            payload={
                "event": "START_UP",
                "from": "OFF",
                "to": "STARTUP",
                "code": 1,
                "sub_code": "OK",
                "reason": "ok",
            },
        )  # 23:02
        log.append(
            "refusal",
            state="READY",
            payload={
                "event": "MOVE",
                "from": "READY",
                "to": "READY",
                "code": 13,
                "sub_code": "NOT_CALIBRATED",
                "reason": "no calibration accepted",
            },
        )  # 23:03
        log.append("interlock", state="READY", payload={"tripped": ["estop_input"]})  # 23:04
    return path


def test_log_prints_every_record_as_a_table(log_path, capsys):
    assert main(["log", str(log_path)]) == 0
    out = capsys.readouterr().out
    assert "4 of 4 records" in out
    assert "MOVE READY->READY [13/NOT_CALIBRATED] no calibration accepted" in out
    assert "run_header" in out
    assert "estop_input" in out


def test_log_filters_by_kind_state_and_wall_time_as_json(log_path, capsys):
    assert (
        main(
            [
                "log",
                str(log_path),
                "--kind",
                "refusal",
                "--kind",
                "interlock",
                "--state",
                "READY",
                "--since",
                "2026-11-26T23:03:00",
                "--until",
                "2026-11-26T23:03:30+00:00",
                "--json",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["kind"] == "refusal"
    assert record["seq"] == 3


def test_log_reports_a_torn_final_line_and_prints_the_rest(log_path, capsys):
    with log_path.open("ab") as f:
        f.write(b'{"seq":5,"ki')
    assert main(["log", str(log_path), "--json"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 4
    assert "torn final line of 12 bytes" in captured.err


def test_log_of_a_corrupt_or_missing_file_fails_with_a_message(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("garbage\n")
    assert main(["log", str(bad)]) == 1
    assert "line 1 is corrupt" in capsys.readouterr().err
    assert main(["log", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read audit log" in capsys.readouterr().err


def test_log_rejects_a_time_that_is_not_iso_8601(log_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["log", str(log_path), "--since", "yesterday"])
    assert exc.value.code == 2


def test_an_unknown_kind_or_state_is_an_error_that_lists_the_valid_ones(log_path, capsys):
    assert main(["log", str(log_path), "--kind", "transitions"]) == 2
    err = capsys.readouterr().err
    assert "unknown --kind 'transitions' (did you mean 'transition'?)" in err
    assert "permit_issued" in err
    assert "refusal" in err
    assert main(["log", str(log_path), "--state", "movin"]) == 2
    err = capsys.readouterr().err
    assert "unknown --state 'movin' (did you mean 'MOVING'?)" in err
    assert "PROTECTIVE_STOP" in err


def test_kinds_and_states_match_regardless_of_case(log_path, capsys):
    assert main(["log", str(log_path), "--state", "ready", "--kind", "Refusal", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [3]


def test_a_kind_the_file_holds_is_valid_even_if_this_version_does_not_know_it(tmp_path, capsys):
    path = tmp_path / "audit.jsonl"
    with JsonlAuditLog(path, now=FakeClock()) as log:
        log.append("newer_kind", state="READY", payload={})
    assert main(["log", str(path), "--kind", "NEWER_KIND", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_a_clock_time_is_today_in_the_local_zone_and_iso_without_zone_is_utc():
    plus_one = timezone(timedelta(hours=1))
    now = datetime(2026, 12, 2, 9, 0, tzinfo=plus_one)  # 08:00 UTC
    assert parse_when("04:35", now=lambda: now) == datetime(2026, 12, 2, 4, 35, tzinfo=plus_one)
    assert parse_when("4:35:07", now=lambda: now).second == 7
    assert parse_when("2026-12-02T04:35") == datetime(2026, 12, 2, 4, 35, tzinfo=UTC)
    assert parse_when("2026-12-02T04:35+01:00").utcoffset() == timedelta(hours=1)
    with pytest.raises(ValueError, match="HH:MM"):
        parse_when("25:00", now=lambda: now)
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_when("yesterday")


def test_since_and_until_accept_a_local_clock_time(tmp_path, capsys):
    path = tmp_path / "audit.jsonl"
    with JsonlAuditLog(path, now=FakeClock()) as log:  # real wall clock: written today
        log.append("fault", state="READY", payload={})
    today = datetime.now(UTC).astimezone()
    if today.hour == 23 and today.minute == 59:  # pragma: no cover - midnight would split it
        pytest.skip("too close to local midnight")
    assert main(["log", str(path), "--since", "00:00", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert main(["log", str(path), "--until", "00:00", "--json"]) == 0
    assert capsys.readouterr().out == ""


def test_a_bad_line_in_the_middle_is_named_and_the_records_around_it_are_printed(log_path, capsys):
    lines = log_path.read_bytes().splitlines(keepends=True)
    log_path.write_bytes(b"".join([*lines[:2], b"{not json\n", *lines[2:]]))
    assert main(["log", str(log_path), "--json"]) == 1
    captured = capsys.readouterr()
    assert [json.loads(line)["seq"] for line in captured.out.splitlines()] == [1, 2, 3, 4]
    assert "line 3 is corrupt" in captured.err
    assert "{not json" in captured.err
    assert main(["log", str(log_path)]) == 1
    captured = capsys.readouterr()
    assert "4 of 4 records, 1 corrupt lines" in captured.out


@pytest.fixture
def sessions(tmp_path, monkeypatch):
    """Three sessions in the default folder ($XDG_STATE_HOME/mrbot/audit)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    folder = tmp_path / "state" / "mrbot" / "audit"
    paths = []
    for day in range(3):
        start = datetime(2026, 11, 28 + day, 8, 0, tzinfo=UTC)
        path = new_session_path(folder, start_utc=start, pid=100 + day)
        with JsonlAuditLog(path, now=FakeClock()) as log:
            for n in range(day):
                log.append("fault", state="READY", payload={"session": day, "n": n})
        paths.append(path)
    return paths


def test_a_bare_log_reads_the_latest_session_of_the_default_folder(sessions, capsys):
    assert main(["log", "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["kind"] for r in records] == ["run_header", "fault", "fault"]
    assert records[-1]["payload"] == {"session": 2, "n": 1}


def test_list_shows_every_session_with_start_size_and_records(sessions, capsys):
    assert main(["log", "--list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == [p.stem for p in sessions]
    assert [r["records"] for r in rows] == [1, 2, 3]
    assert rows[0]["start_utc"] == "2026-11-28T08:00:00+00:00"
    assert rows[0]["size_bytes"] == sessions[0].stat().st_size
    assert not any(r["open"] for r in rows)
    assert main(["log", "--list"]) == 0
    out = capsys.readouterr().out
    assert "3 sessions" in out
    assert sessions[1].stem in out


def test_session_by_id_prefix_or_path_and_a_clear_error_otherwise(sessions, tmp_path, capsys):
    assert main(["log", "--session", "20261129", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert main(["log", "--session", str(sessions[0]), "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["log", "--session", "2026112"]) == 2
    assert "ambiguous" in capsys.readouterr().err
    assert main(["log", "--session", "1999"]) == 2
    assert "no audit session '1999'" in capsys.readouterr().err
    assert main(["log", "--dir", str(tmp_path / "empty")]) == 2
    assert "no audit sessions in" in capsys.readouterr().err
    assert main(["log", str(sessions[0]), "--session", "x"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["log", "--list", "--follow"]) == 2
    assert "--list takes no PATH" in capsys.readouterr().err


def test_audit_dir_from_the_environment_is_where_log_looks(sessions, tmp_path, monkeypatch, capsys):
    other = tmp_path / "service"
    path = new_session_path(other, start_utc=datetime(2026, 1, 1, tzinfo=UTC), pid=1)
    with JsonlAuditLog(path, now=FakeClock()):
        pass
    monkeypatch.setenv("MRBOT_AUDIT_DIR", str(other))
    assert main(["log", "--list", "--json"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == [path.stem]
    assert os.environ["MRBOT_AUDIT_DIR"] == str(other)
