"""Where ``mrbot serve`` keeps its audit sessions: ``audit.*`` settings and the default folder."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from robot.config import ConfigError, load_config
from robot.records import audit_directory, new_audit_session, prune_audit_sessions
from robot.records.sessions import retention_report
from safety.audit_sessions import list_sessions

T0 = datetime(2026, 12, 2, 4, 35, tzinfo=UTC)


def _at(moment: datetime) -> datetime:
    return moment


def test_the_default_folder_is_the_user_state_folder_never_a_temporary_one(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    settings = load_config(environ={}).audit
    assert settings.directory is None
    assert (settings.keep_sessions, settings.max_age_days) == (0, 0.0)
    folder = audit_directory(settings)
    assert folder == tmp_path / "state" / "mrbot" / "audit"
    path = new_audit_session(settings, wall=lambda: T0, pid=77)
    assert path == folder / "20261202T043500.000000Z-p77.jsonl"
    assert folder.is_dir()
    assert not path.exists()  # the audit writer creates it


def test_audit_settings_come_from_the_file_environment_or_command_line(tmp_path):
    robot = tmp_path / "robot.toml"
    robot.write_text(
        'robot.model = "two-plane"\n[audit]\ndir = "/var/lib/mrbot/audit"\nkeep_sessions = 50\n'
    )
    settings = load_config(robot, environ={"MRBOT_AUDIT_MAX_AGE_DAYS": "365"}).audit
    assert settings.directory == Path("/var/lib/mrbot/audit")
    assert settings.keep_sessions == 50
    assert settings.max_age_days == 365.0
    over = load_config(overrides={"audit.dir": str(tmp_path)}, environ={}).audit
    assert audit_directory(over) == tmp_path


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("audit.dir", "relative/audit", "must be an absolute folder"),
        ("audit.keep_sessions", -1, "below the minimum"),
        ("audit.max_age_days", -0.5, "below the minimum"),
    ],
)
def test_bad_audit_settings_fail_naming_the_key(key, value, message):
    with pytest.raises(ConfigError, match=message) as exc:
        load_config(overrides={key: value}, environ={})
    assert exc.value.key == key


def test_pruning_applies_the_settings_and_reports_each_deletion(tmp_path):
    settings = load_config(
        overrides={"audit.dir": str(tmp_path), "audit.keep_sessions": 2}, environ={}
    ).audit
    paths = []
    for minute in range(4):
        start = T0 + timedelta(minutes=minute)
        path = new_audit_session(settings, wall=functools.partial(_at, start), pid=1)
        path.write_text("{}\n")
        paths.append(path)
    result = prune_audit_sessions(settings, current=paths[-1], wall=lambda: T0)
    assert result.deleted == tuple(paths[:2])
    assert [s.path for s in list_sessions(tmp_path)] == paths[2:]
    assert retention_report(result) == [f"audit retention: deleted {p}" for p in paths[:2]]
