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

# The fake robot answers in the 2013 order (no phase STATUS after PLANNING/CALIBRATION).
PROFILE_2013 = ("--profile", "brp-2013")


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
            *PROFILE_2013,
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
    code = main(["console", *PROFILE_2013, "--port", str(robot.port), "--script", str(script)])
    captured = capsys.readouterr()
    assert code == 1
    assert "STATUS(TARGET) code 10 sub-code 3 OUT_OF_RANGE: joint 2 exceeds" in captured.err
    assert [m.device_name[:4] for m in robot.received] == ["TGT_"]  # move never sent


def test_bad_command_exits_2_before_anything_is_sent(robot, capsys):
    code = main(["console", *PROFILE_2013, "--port", str(robot.port), "-c", "target 1 2"])
    assert code == 2
    assert "target needs X Y Z" in capsys.readouterr().err
    assert robot.received == []


def test_unreachable_robot_exits_3(capsys):
    with FakeRobot() as fake:
        port = fake.port
    assert main(["console", *PROFILE_2013, "--port", str(port), "-c", "status"]) == 3
    assert "cannot connect" in capsys.readouterr().err


def test_missing_script_file_exits_2(robot, capsys, tmp_path):
    args = ["console", *PROFILE_2013, "--port", str(robot.port), "--script", str(tmp_path / "no")]
    assert main(args) == 2


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
    code = main(["console", *PROFILE_2013, "--port", str(robot.port)])
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
    assert main(["console", *PROFILE_2013, "--port", str(robot.port)]) == 0


# A user trial found `needle_length -5` ending the interactive console with a traceback (the
# client's ValueError escaped the runner). Every bad number must be a "bad command" line and the
# prompt goes on; nothing is sent for it.
_BAD_NUMBER_COMMANDS = [
    "needle_length -5",
    "needle_length 0",
    "needle_length -0",
    "needle_length nan",
    "needle_length inf",
    "needle_length -inf",
    "needle_length 1e400",
    "needle_length 1 2",
    "needle_length",
    "target nan 0 0",
    "target 0 inf 0",
    "target 1e39 0 0",
    "target 0 0 0 --entry 0 0 nan",
    "target 0 0 0 --entry 0 0",
    "target 0 0 0 --entry",
    "target 0 0 0 0",
    "target",
    "calibrate nan 0 0 0 1 0 0 0 1 0 0 0",
    "calibrate 1 0 0 0 1 0 0 0 1 inf 0 0",
    "calibrate 1e39 0 0 0 1 0 0 0 1 0 0 0",
    "calibrate 1 0 0",
    "calibrate",
    "auto_align",
    "auto_align maybe",
    "auto_align on off",
    "status now",
    'target "1 2 3',
]


@pytest.mark.parametrize("typed", _BAD_NUMBER_COMMANDS)
def test_interactive_prompt_reports_a_bad_number_and_goes_on(robot, capsys, monkeypatch, typed):
    robot.expect("GET_TRANSFOR").reply(position(1.0, 2.0, 3.0))
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{typed}\nposition\nquit\n"))
    code = main(["console", *PROFILE_2013, "--port", str(robot.port)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err
    assert "bad command" in captured.err
    assert "POSITION: tip (1.00, 2.00, 3.00) mm" in captured.out  # the prompt went on
    assert [m.device_name for m in robot.received] == ["CURRENT_POSITION"]


@pytest.mark.parametrize("typed", ["needle_length -5", "needle_length nan", "target 1e39 0 0"])
def test_script_with_a_bad_number_exits_2_before_anything_is_sent(robot, capsys, typed):
    code = main(["console", *PROFILE_2013, "--port", str(robot.port), "-c", f"{typed}; status"])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert "bad command" in captured.err
    assert robot.received == []


@pytest.mark.parametrize("port", ["0", "70000", "-1"])
def test_a_port_outside_the_tcp_range_is_a_clear_error_not_a_traceback(capsys, port):
    assert main(["console", *PROFILE_2013, "--port", port, "-c", "status"]) == 2
    err = capsys.readouterr().err
    assert "outside 1..65535" in err


def test_runner_reports_a_value_the_client_refuses_as_a_bad_command(robot):
    from rich.console import Console

    from robot.console import BrpClient
    from robot.console.commands import ConsoleCommand
    from robot.console.runner import ConsoleRunner, Outcome

    out, err = io.StringIO(), io.StringIO()
    with BrpClient(port=robot.port) as client:
        runner = ConsoleRunner(client, Console(file=out), Console(file=err), live=False)
        command = ConsoleCommand(name="needle_length", text="needle_length -5", number=-5.0)
        assert runner.run(command) is Outcome.BAD_COMMAND
    assert "needle length must be finite and > 0 mm" in err.getvalue()
    assert robot.received == []
