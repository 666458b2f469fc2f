"""``mrbot console`` against a scripted robot: scripts, -c, exit codes, the interactive prompt."""

from __future__ import annotations

import io

import pytest

from robot.cli.main import main
from tests.support.fake_robot import (
    FakeRobot,
    ack,
    current,
    phase_ok,
    position,
    status,
    transform,
)


@pytest.fixture
def robot():
    with FakeRobot() as fake:
        yield fake


def _target_ok(robot: FakeRobot) -> None:
    import numpy as np

    reached = np.eye(4)
    reached[:3, 3] = (10.0, 20.0, 30.0)
    robot.expect("TGT").reply(ack(), status("TARGET", 1), transform("TARGET", reached))


def test_command_string_runs_a_session_and_exits_zero(robot, capsys):
    robot.expect("CMD:START_UP").reply(phase_ok("START_UP"))
    robot.expect("CMD:CALIBRATION").reply(ack(), current("CALIBRATION"))
    robot.expect("CLB").reply(ack(), status("CALIBRATION", 1))
    robot.expect("CMD:TARGETING").reply(phase_ok("TARGETING"))
    _target_ok(robot)
    robot.expect("CMD:MOVE_TO_TARGET").reply(
        ack(),
        current("MOVE_TO_TARGET"),
        position(5.0),
        status("MOVE_TO_TARGET", 1),
        position(10.0, 20.0, 30.0),
    )
    code = main(
        [
            "console",
            "--port",
            str(robot.port),
            "-c",
            "start_up; calibrate identity; targeting; target 10 20 30 --entry 10 20 90; move",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "START_UP: START_UP 1/0 OK (phase in effect START_UP)" in out
    assert "robot will reach (10.00, 20.00, 30.00) mm" in out
    assert "1 positions, tip (10.00, 20.00, 30.00) mm" in out
    assert robot.pending() == []


def test_error_status_stops_the_script_with_exit_code_1_and_prints_it(robot, capsys, tmp_path):
    robot.expect("TGT").reply(
        ack(), status("TARGET", 10, 3, "OUT_OF_RANGE", "joint 2 exceeds its limit by 4.5 mm")
    )
    script = tmp_path / "session.txt"
    script.write_text("target 0 0 500\nmove\n", encoding="utf-8")
    code = main(["console", "--port", str(robot.port), "--script", str(script)])
    captured = capsys.readouterr()
    assert code == 1
    assert "STATUS(TARGET) code 10 sub-code 3 OUT_OF_RANGE: joint 2 exceeds" in captured.err
    assert [m.device_name[:4] for m in robot.received] == ["TGT_"]  # move never sent


def test_bad_command_exits_2_before_anything_is_sent(robot, capsys):
    code = main(["console", "--port", str(robot.port), "-c", "target 1 2"])
    assert code == 2
    assert "target needs X Y Z" in capsys.readouterr().err
    assert robot.received == []


def test_unreachable_robot_exits_3(capsys):
    with FakeRobot() as fake:
        port = fake.port
    assert main(["console", "--port", str(port), "-c", "status"]) == 3
    assert "cannot connect" in capsys.readouterr().err


def test_missing_script_file_exits_2(robot, capsys, tmp_path):
    assert main(["console", "--port", str(robot.port), "--script", str(tmp_path / "no")]) == 2


def test_interactive_prompt_runs_commands_from_stdin_and_shows_the_live_state(
    robot, capsys, monkeypatch
):
    robot.expect("CMD:START_UP").reply(phase_ok("START_UP"))
    robot.expect("GET_TRANSFOR").reply(position(1.0, 2.0, 3.0))
    robot.expect("CMD:TARGETING").reply(
        ack(), current("TARGETING"), status("TARGETING", 13, 2, "NOT_CALIBRATED", "no calibration")
    )
    monkeypatch.setattr(
        "sys.stdin", io.StringIO("help\nstart_up\nposition\n\ntargeting\nfly\nfaults\nquit\n")
    )
    code = main(["console", "--port", str(robot.port)])
    captured = capsys.readouterr()
    assert code == 0
    assert "mrbot> " in captured.out
    assert "POSITION: tip (1.00, 2.00, 3.00) mm" in captured.out
    assert (
        "phase START_UP | tip (1.00, 2.00, 3.00) mm | last START_UP 1/0 OK | faults 0"
        in captured.out
    )
    assert "STATUS(TARGETING) code 13 sub-code 2 NOT_CALIBRATED" in captured.err
    assert "unknown command 'fly'" in captured.err
    assert "faults 1" in captured.out
    assert "FAULTS: 1\n  TARGETING 13/2 NOT_CALIBRATED: no calibration" in captured.out


def test_interactive_prompt_ends_on_end_of_input(robot, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["console", "--port", str(robot.port)]) == 0
