"""``mrbot emulator`` as a user runs it: a real process, a real pty or TCP port, SIGTERM to stop."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time

import pytest

from hal import CallbackReturn, ControllerDriver, MonotonicClock
from hal.transport import serial_opener
from robot.config import load_config
from safety.permits import PermitAuthority

MRBOT = shutil.which("mrbot")
pytestmark = pytest.mark.skipif(MRBOT is None, reason="the mrbot command is not installed")


def start(*args: str) -> subprocess.Popen[str]:
    assert MRBOT is not None
    return subprocess.Popen(
        [MRBOT, "emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=5)
    return err


@pytest.mark.parametrize("where", [["--pty"], ["--tcp", "127.0.0.1:0"]], ids=["pty", "tcp"])
def test_emulator_prints_where_it_serves_and_a_driver_can_configure_against_it(where):
    proc = start(*where, "--telemetry-hz", "200")
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert (
            url.startswith("/dev/") if where == ["--pty"] else url.startswith("socket://127.0.0.1:")
        )
        driver = ControllerDriver(
            load_config(environ={}).controller,
            serial_opener(url),
            MonotonicClock(time.monotonic),
            PermitAuthority(time.monotonic).verifier,
        )
        with driver:
            assert driver.configure() is CallbackReturn.SUCCESS, driver.last_error
            assert driver.ident is not None
            assert driver.ident.telemetry_period_ms == 5
    finally:
        err = stop(proc)
    assert proc.returncode == 0, err
    assert "stopped; frames rx" in err


def test_unknown_fault_name_is_refused_with_the_list_of_names():
    proc = start("--pty", "--fault", "gremlins")
    _, err = proc.communicate(timeout=5)
    assert proc.returncode == 2
    assert "unknown fault 'gremlins'" in err
    assert "hardware-failure-mid-move" in err


def test_faults_from_the_command_line_are_injected():
    proc = start("--tcp", "127.0.0.1:0", "--fault", "startup-failure")
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        driver = ControllerDriver(
            load_config(environ={}).controller,
            serial_opener(url),
            MonotonicClock(time.monotonic),
            PermitAuthority(time.monotonic).verifier,
        )
        with driver:
            assert driver.configure() is CallbackReturn.FAILURE
            assert "FAULT_ACTIVE" in str(driver.last_error)
    finally:
        stop(proc)
    assert proc.returncode == 0
