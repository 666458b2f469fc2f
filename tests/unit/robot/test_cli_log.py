from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from robot.cli.main import main
from safety import JsonlAuditLog
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
    assert main(["log", str(bad)]) == 2
    assert "line 1 is corrupt" in capsys.readouterr().err
    assert main(["log", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read audit log" in capsys.readouterr().err


def test_log_rejects_a_time_that_is_not_iso_8601(log_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["log", str(log_path), "--since", "yesterday"])
    assert exc.value.code == 2
