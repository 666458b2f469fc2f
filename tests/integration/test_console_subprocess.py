"""``mrbot console`` as a process against ``mrbot serve --emulate`` as a process: end to end."""

from __future__ import annotations

import selectors
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from tests.support.robot_app import FAST

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow  # two Python processes and a real-time emulator: ~3 s

MRBOT = [sys.executable, "-c", "import sys; from robot.cli.main import main; sys.exit(main())"]


def _read_line(proc: subprocess.Popen[str], timeout_s: float) -> str:
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if selector.select(timeout=deadline - time.monotonic()):
                return proc.stdout.readline()
        raise AssertionError(f"no line from the server within {timeout_s} s")
    finally:
        selector.close()


@pytest.fixture
def served_port() -> Iterator[int]:
    settings = [arg for key, value in FAST.items() for arg in ("--set", f"{key}={value}")]
    proc = subprocess.Popen(
        [*MRBOT, "serve", "--emulate", "--port", "0", *settings],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _read_line(proc, 20.0)
        assert line.startswith("listening on "), line
        yield int(line.rsplit(":", 1)[1])
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def _console(port: int, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MRBOT, "console", "--port", str(port), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_interactive_console_process_drives_a_served_robot_to_the_target(served_port):
    typed = "start_up\ncalibrate identity\ntargeting\ntarget 1 -1 -50\nmove\nposition\nquit\n"
    result = _console(served_port, stdin=typed)
    assert result.returncode == 0, result.stderr
    assert "MOVE_TO_TARGET: MOVE_TO_TARGET 1/0 OK: arrived" in result.stdout
    assert "POSITION: tip (1.00, -1.00, -50.00) mm" in result.stdout
    assert "phase MOVE_TO_TARGET | tip (1.00, -1.00, -50.00) mm" in result.stdout
    assert result.stderr == ""


def test_console_process_exits_1_on_an_unreachable_target(served_port):
    result = _console(
        served_port, "-c", "start_up; calibrate identity; targeting; target 0 0 500; move"
    )
    assert result.returncode == 1
    assert "STATUS(TARGET) code 10 sub-code 3 OUT_OF_RANGE" in result.stderr
    assert "> move" not in result.stdout


def test_interactive_console_process_survives_bad_numbers(served_port):
    # As found in a user trial: `needle_length -5` ended the console with a traceback.
    typed = (
        "start_up\nneedle_length -5\nneedle_length 0\nneedle_length nan\nneedle_length 12.5\nquit\n"
    )
    result = _console(served_port, stdin=typed)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("bad command") == 3, result.stderr
    assert "needle_length must be > 0 mm, got -5" in result.stderr
    assert "NEEDLE_LENGTH: 12.5 mm" in result.stdout
