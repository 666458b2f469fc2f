"""``mrbot serve`` as a separate process: address line, a console session, faults, clean exit."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from robot.igtl import StatusBody
from robot.runtime.schema import JOINT_NAMES
from safety import read_audit_log
from tests.support import processes
from tests.support.robot_app import Console, matrix, ready_to_move, start_up

pytestmark = pytest.mark.slow

FAST_SETTINGS = [
    *(f"joints.{j}.max_step_rate_hz=20000.0" for j in JOINT_NAMES),
    "emulator.homing_speed_mm_s=200.0",
    "serial.link_timeout_periods=15",
]


def serve(*args: str) -> tuple[subprocess.Popen[str], tuple[str, int]]:
    return processes.serve("--emulate", *args, settings=FAST_SETTINGS)


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
    return processes.stop(process, sig)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_address_serves_a_console_and_stops_cleanly_on_a_signal(sig):
    process, address = serve()
    try:
        with Console(address) as console:
            assert start_up(console).code == 1
    finally:
        code, err = stop(process, sig)
    assert code == 0, err
    assert "connection 1 from 127.0.0.1" in err
    assert "stopping the axes" in err


def test_serve_with_the_startup_failure_fault_answers_start_up_13():
    process, address = serve("--fault", "startup-failure")
    try:
        with Console(address) as console:
            assert start_up(console).code == 13
    finally:
        code, err = stop(process)
    assert code == 0, err


def test_serve_refuses_a_public_bind_without_an_allow_list_and_a_bad_key():
    result = subprocess.run(
        [
            *processes.MRBOT,
            "serve",
            "--emulate",
            "--host",
            "0.0.0.0",  # noqa: S104 - the refusal under test
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "allowed_peers" in result.stderr or "allow" in result.stderr
    result = subprocess.run(
        [
            *processes.MRBOT,
            "serve",
            "--emulate",
            "--set",
            "network.port=99999",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "network.port = 99999" in result.stderr


def test_serve_with_the_hardware_failure_fault_fails_the_first_move_with_18_mid_stream():
    process, address = serve("--fault", "hardware-failure-mid-move")
    try:
        with Console(address) as console:
            ready_to_move(console, matrix((45.0, 45.0, 45.0)))
            console.command("MOVE_TO_TARGET")
            status, between = console.until("MOVE_TO_TARGET", type_name="STATUS")
            assert isinstance(status.body, StatusBody)
            assert (status.body.code, status.body.subcode) == (18, 10)
            assert any(m.device_name == "CURRENT_POSITION" for m in between)
    finally:
        code, err = stop(process)
    assert code == 0, err


def test_serve_speed_scales_the_emulated_robot_and_says_so(tmp_path):
    audit = tmp_path / "audit.jsonl"
    proc = processes.spawn(
        ["serve", "--emulate", "--speed", "10", "--port", "0", "--audit", str(audit)]
    )
    lines = processes.Lines(proc)
    try:
        first = lines.until(bool, timeout_s=30.0, what="first line")
        assert first.startswith("listening on ")
        assert first.endswith("(emulated axes at 10x real speed)")
        host, _, port = first.split()[2].rpartition(":")
        with Console((host, int(port))) as console:
            started_s = time.monotonic()
            assert start_up(console).code == 1  # the shipped robot homes for ~7.8 s at 1x
            # the 2013 reference suite's START_UP bound (5 s); generous for a loaded machine
            assert time.monotonic() - started_s < 5.0
    finally:
        code, err = stop(proc)
    assert code == 0, err
    header = next(r for r in read_audit_log(audit).records if r.kind == "run_header")
    assert header.payload["speed_factor"] == 10.0


@pytest.mark.parametrize(
    ("args", "why"),
    [(["--speed", "10"], "--speed needs --emulate"), (["--emulate", "--speed", "0.5"], "[1, 50]")],
)
def test_serve_refuses_a_speed_without_emulation_or_out_of_range(args, why):
    result = subprocess.run(
        [*processes.MRBOT, "serve", *args], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert why in result.stderr
