"""The audit trail as a person uses it: ``mrbot serve`` sessions, ``mrbot log`` in real pipes."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import IO

import pytest
from mcap.reader import make_reader

from safety import JsonlAuditLog, read_audit_log
from tests.integration.test_serve import FAST_SETTINGS
from tests.support import processes
from tests.support.clock import FakeClock
from tests.support.robot_app import Console, start_up

pytestmark = pytest.mark.slow

MRBOT = processes.MRBOT


def _env(state_home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["XDG_STATE_HOME"] = str(state_home)
    env.pop("MRBOT_AUDIT_DIR", None)
    return env


def _serve(
    env: dict[str, str], *settings: str, extra: tuple[str, ...] = ()
) -> subprocess.Popen[str]:
    sets = [a for s in settings for a in ("--set", s)]
    process = processes.spawn(["serve", "--emulate", "--port", "0", *sets, *extra], env=env)
    process.address = processes.address_of(process)  # type: ignore[attr-defined]
    return process


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    return err


def _log(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MRBOT, "log", *args], capture_output=True, text=True, env=env, timeout=30, check=False
    )


@pytest.mark.hazard("H-11")
def test_a_fresh_serve_session_is_found_by_a_bare_log_and_retention_spares_running_ones(
    tmp_path,
):
    env = _env(tmp_path / "state")
    folder = tmp_path / "state" / "mrbot" / "audit"
    first = _serve(env)
    try:
        result = _log(env, "--json")
        assert result.returncode == 0, result.stderr
        header = json.loads(result.stdout.splitlines()[0])
        assert header["kind"] == "run_header"
        assert header["payload"]["emulated"] is True
        listed = _log(env, "--list", "--json")
        rows = [json.loads(line) for line in listed.stdout.splitlines()]
        assert len(rows) == 1
        assert rows[0]["open"] is True
        assert Path(rows[0]["path"]).parent == folder
        assert rows[0]["id"].endswith(f"-p{first.pid}")
        # a second server keeping one session must not delete the first, still running
        second = _serve(env, "audit.keep_sessions=1")
        second_err = _stop(second)
    finally:
        first_err = _stop(first)
    assert f"audit log {folder}" in first_err
    assert "a server is still writing it" in second_err
    assert len(list(folder.iterdir())) == 2
    third = _serve(env, "audit.keep_sessions=1")
    try:
        sessions = sorted(folder.iterdir())
    finally:
        third_err = _stop(third)
    assert [p.name for p in sessions] == [sorted(folder.iterdir())[0].name]
    assert sessions[0].stem.endswith(f"-p{third.pid}")
    assert third_err.count("audit retention: deleted") == 2


def _big_log(path: Path, records: int) -> None:
    with JsonlAuditLog(path, now=FakeClock()) as log:
        for n in range(records):
            log.append("interlock", state="READY", payload={"tripped": ["estop_input"], "n": n})


@pytest.mark.parametrize("mode", [["--json"], []])
def test_a_closed_pipe_ends_log_quietly(tmp_path, mode):
    path = tmp_path / "audit.jsonl"
    _big_log(path, 3000)  # far more than a pipe buffer
    with subprocess.Popen(
        [*MRBOT, "log", str(path), *mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(tmp_path / "state"),
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        assert process.stdout.readline()  # like `head -1`: read one line, then hang up
        process.stdout.close()
        err = process.stderr.read().decode()
        assert process.wait(timeout=30) == 0
    assert "Traceback" not in err
    assert err == ""


def _reader(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


def test_follow_prints_records_as_a_writer_appends_them_and_ends_on_ctrl_c(tmp_path):
    path = tmp_path / "audit.jsonl"
    lines: queue.Queue[str] = queue.Queue()
    with JsonlAuditLog(path, now=FakeClock()) as log:
        process = subprocess.Popen(
            [*MRBOT, "log", "--follow", "--json", "--kind", "INTERLOCK", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(tmp_path / "state"),
        )
        assert process.stdout is not None
        reader = threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True)
        reader.start()
        try:
            for n in range(3):
                log.append("fault", state="READY", payload={"skip": n})  # filtered out
                log.append("interlock", state="READY", payload={"n": n})
                line = lines.get(timeout=15)  # a deadline, not a sleep
                record = json.loads(line)
                assert (record["kind"], record["payload"]) == ("interlock", {"n": n})
            deadline = time.monotonic() + 15
            while process.poll() is None and time.monotonic() < deadline:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=0.5)
                except subprocess.TimeoutExpired:
                    continue
        finally:
            if process.poll() is None:
                process.kill()
            _, err = process.communicate(timeout=15)
            reader.join(timeout=5)
    assert process.returncode == 0, err
    assert lines.empty()
    assert "Traceback" not in err


def test_serve_record_writes_an_mcap_of_openigtlink_the_serial_link_and_the_audit(tmp_path):
    env = _env(tmp_path / "state")
    process = _serve(env, *FAST_SETTINGS, extra=("--record",))
    try:
        with Console(process.address) as console:  # type: ignore[attr-defined]
            assert start_up(console).code == 1
    finally:
        err = _stop(process)
    recordings = list((tmp_path / "state" / "mrbot" / "recordings").iterdir())
    sessions = list((tmp_path / "state" / "mrbot" / "audit").iterdir())
    assert [p.stem for p in recordings] == [p.stem for p in sessions]
    assert f"recording {recordings[0]}" in err
    assert "none dropped" in err
    counts: Counter[str] = Counter()
    audit_kinds: list[str] = []
    igtl_in: list[bytes] = []
    with recordings[0].open("rb") as f:
        for _schema, channel, message in make_reader(f).iter_messages():
            counts[channel.topic] += 1
            if channel.topic == "/safety/audit":
                audit_kinds.append(json.loads(message.data)["kind"])
            if channel.topic == "/igtl/in":
                igtl_in.append(bytes(message.data))
    # every OpenIGTLink frame in and out: the console's CMD_ START_UP, and ACK, CURRENT_STATUS,
    # STATUS(START_UP) back (raw frames: header v1 TYPE at bytes 2-14, device name at 14-34)
    assert [frame[14:34].rstrip(b"\0")[:4] for frame in igtl_in] == [b"CMD_"]
    assert counts["/igtl/out"] >= 3
    assert counts["/igtl/in/summary"] == counts["/igtl/in"]
    assert counts["/igtl/out/summary"] == counts["/igtl/out"]
    assert counts["/serial/tx"] > 0
    assert counts["/serial/rx"] > 0
    assert counts["/serial/rx/decoded"] == counts["/serial/rx"]
    assert audit_kinds[0] == "run_header"
    assert "transition" in audit_kinds
    assert len(audit_kinds) == len(read_audit_log(sessions[0]).records)
