"""The C++ BRP client (libopenigtlink, CRC checked) runs the whole workphase sequence.

``brp_client.cxx`` is compiled on demand in a temporary directory; the test skips only when the
library headers are absent. It runs first against the scripted fake robot (which proves the C++
checker accepts the spec's order and rejects a wrong one), then against the real server
(``RobotApp`` with emulated firmware).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from robot.app import RobotApp
from tests.support.fake_robot import (
    FakeRobot,
    ack,
    current,
    phase_ok,
    position,
    status,
    transform,
)
from tests.support.polling import wait_for
from tests.support.robot_app import fast_config

pytestmark = pytest.mark.slow  # compiles a C++ program (~2 s)

INCLUDE_DIR = Path("/usr/include/openigtlink")
SOURCE = Path(__file__).resolve().parent / "brp_client.cxx"
REACHABLE_RAS_MM = (1.0, -1.0, -50.0)
UNREACHABLE_RAS_MM = (0.0, 0.0, 500.0)


def build_brp_client(directory: Path) -> Path:
    """Compile brp_client.cxx into ``directory``; skip without the library headers."""
    if not (INCLUDE_DIR / "igtlMessageBase.h").exists():
        pytest.skip(
            "libopenigtlink-dev headers absent (/usr/include/openigtlink); .ci/run installs it"
        )
    compiler = shutil.which("g++")
    assert compiler is not None, "g++ is missing although the library headers are installed"
    binary = directory / "brp_client"
    result = subprocess.run(
        [
            compiler,
            "-O1",
            "-Wall",
            "-Wextra",
            "-Werror",
            f"-I{INCLUDE_DIR}",
            str(SOURCE),
            "-o",
            str(binary),
            "-lOpenIGTLink",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"compiling brp_client.cxx failed:\n{result.stderr}"
    return binary


def run_brp_client(binary: Path, port: int, *, timeout_s: float = 60.0, profile: str = "brp-2013"):
    args = [str(binary), "127.0.0.1", str(port)]
    args += [f"{v:g}" for v in (*REACHABLE_RAS_MM, *UNREACHABLE_RAS_MM)]
    args.append(profile)
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, check=False)


@pytest.fixture(scope="module")
def brp_client(tmp_path_factory) -> Path:
    return build_brp_client(Path(tmp_path_factory.mktemp("brp_cpp")))


def _script_compliant_robot(
    robot: FakeRobot, arrival_ras_mm: tuple[float, float, float] = REACHABLE_RAS_MM
) -> None:
    reached = np.eye(4)
    reached[:3, 3] = REACHABLE_RAS_MM
    robot.expect("CMD:START_UP").reply(phase_ok("START_UP"))
    robot.expect("CMD:PLANNING").reply(ack(), current("PLANNING"))
    robot.expect("CMD:CALIBRATION").reply(ack(), current("CALIBRATION"))
    robot.expect("CLB").reply(ack(), status("CALIBRATION", 1))
    robot.expect("CMD:TARGETING").reply(phase_ok("TARGETING"))
    robot.expect("TGT").reply(ack(), status("TARGET", 1), transform("TARGET", reached))
    robot.expect("CMD:MOVE_TO_TARGET").reply(
        ack(),
        current("MOVE_TO_TARGET"),
        position(0.0, 0.0, -60.0),
        position(0.5, -0.5, -55.0),
        status("MOVE_TO_TARGET", 1),
        position(*arrival_ras_mm),
    )
    robot.expect("RETRACT_NEEDLE").reply(
        status("ACK_RETRACT_NEEDLE", 1),
        position(*arrival_ras_mm),
        status("RETRACT_NEEDLE", 1),
        position(0.0, 0.0, -60.0),
    )
    robot.expect("CMD:TARGETING").reply(phase_ok("TARGETING"))
    robot.expect("TGT").reply(
        ack(), status("TARGET", 10, 3, "OUT_OF_RANGE", "insertion exceeds 150 mm by 410 mm")
    )
    robot.expect("CMD:STOP").reply(phase_ok("STOP"))  # at rest nothing follows
    robot.expect("CMD:EMERGENCY").reply(phase_ok("EMERGENCY"))


def test_cpp_client_accepts_the_spec_sequence_from_the_scripted_robot(brp_client):
    with FakeRobot() as robot:
        _script_compliant_robot(robot)
        result = run_brp_client(brp_client, robot.port)
        assert robot.unexpected == []
        assert robot.pending() == []
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "OK positions=2"
    assert "STATUS TARGET 10 3 OUT_OF_RANGE" in lines
    assert lines.index("STATUS START_UP 1 0 OK") < lines.index("STRING ACK_0002 PLANNING")


def test_cpp_client_rejects_a_status_before_its_ack(brp_client):
    with FakeRobot() as robot:
        robot.expect("CMD:START_UP").reply(current("START_UP"), ack(), status("START_UP", 1))
        result = run_brp_client(brp_client, robot.port)
    assert result.returncode == 1
    assert "expected STRING(ACK_0001), got STATUS(CURRENT_STATUS)" in result.stderr


def test_cpp_client_rejects_a_move_that_arrives_off_target(brp_client):
    with FakeRobot() as robot:
        _script_compliant_robot(robot, arrival_ras_mm=(1.0, -1.0, -49.8))  # 0.2 mm off
        result = run_brp_client(brp_client, robot.port)
    assert result.returncode == 1
    assert "mm from TRANSFORM(TARGET), > 0.1 mm" in result.stderr


def test_cpp_client_runs_the_whole_workphase_sequence_against_the_real_robot(brp_client):
    with RobotApp(fast_config(), emulate=True, port=0) as app:  # the default profile, brp-2021
        result = run_brp_client(brp_client, app.address[1], profile="brp-2021")
        emulator = app.emulator
        assert emulator is not None
        wait_for(lambda: not any(a.moving for a in emulator.axes), timeout_s=0.2, what="still")
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    lines = result.stdout.splitlines()
    assert lines[0] == "STRING ACK_0001 START_UP"
    assert "STATUS TARGET 10 3 OUT_OF_RANGE" in lines
    assert lines[-2] == "STATUS EMERGENCY 1 0 OK"
    positions = int(lines[-1].removeprefix("OK positions="))
    assert positions >= 2  # streamed at 20 Hz during the move
