"""BrpClient and ``mrbot console`` against the real robot (``RobotApp``, emulated firmware)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from robot.app import RobotApp
from robot.cli.main import main
from robot.console import (
    BrpClient,
    BrpInterruptedError,
    BrpStatusError,
    PhaseResult,
    PositionReading,
    target_transform,
)
from tests.support.polling import wait_for
from tests.support.robot_app import fast_config


def ok(result: PhaseResult) -> bool:
    return result.status is not None and result.status.ok


pytestmark = pytest.mark.slow  # a real control loop and emulator: about a second per test

REACHABLE_RAS_MM = (1.0, -1.0, -50.0)  # identity calibration: robot frame = RAS


@pytest.fixture
def app():
    with RobotApp(fast_config(), emulate=True, port=0) as robot:
        yield robot


def test_scripted_session_reaches_the_target_within_a_tenth_of_a_mm(app):
    with BrpClient(*app.address) as client:
        assert ok(client.start_up())
        assert client.planning().phase_in_effect == "PLANNING"
        calibration = client.calibration(np.eye(4))
        assert calibration.status.ok
        assert ok(client.targeting())
        target = client.set_target(target_transform(REACHABLE_RAS_MM))
        assert target.T_reply is not None
        seen: list[PositionReading] = []
        moved = client.move_to_target(on_position=seen.append)
        assert moved.status is not None
        assert moved.status.message == "arrived"
        assert len(seen) >= 2
        assert len(moved.positions) == len(seen)
        assert moved.final_position is not None
        miss_mm = np.linalg.norm(moved.final_position.T_ras_from_tip[:3, 3] - REACHABLE_RAS_MM)
        assert miss_mm <= 0.1
        assert client.get_status().device_name == "MOVE_TO_TARGET"
        np.testing.assert_allclose(client.get_position().tip_ras_mm, REACHABLE_RAS_MM, atol=0.1)
        assert client.view.faults == ()
        assert client.view.desynchronised is None


def test_errors_of_the_real_robot_arrive_as_typed_status_errors(app):
    with BrpClient(*app.address) as client:
        client.start_up()
        with pytest.raises(BrpStatusError) as uncalibrated:
            client.targeting()
        assert (uncalibrated.value.code, uncalibrated.value.sub_code) == (13, 2)
        with pytest.raises(BrpStatusError) as not_rigid:
            client.calibration(np.vstack([np.ones((3, 4)), [0.0, 0.0, 0.0, 1.0]]))
        assert (not_rigid.value.code, not_rigid.value.sub_code) == (10, 1)
        client.calibration(np.eye(4))
        client.targeting()
        with pytest.raises(BrpStatusError) as unreachable:
            client.set_target(target_transform((0.0, 0.0, 500.0)))
        assert (unreachable.value.device_name, unreachable.value.sub_code) == ("TARGET", 3)
        assert "insertion_mm" in unreachable.value.detail
        with pytest.raises(BrpStatusError) as no_target:
            client.move_to_target()
        assert no_target.value.code == 13
        assert client.needle_length(180.0).text == "180"
        with pytest.raises(BrpStatusError) as bad_length:
            client.needle_length(5000.0)
        assert bad_length.value.sub_code == 11
        assert client.auto_align(on=False).ok
        assert ok(client.stop())
        assert ok(client.emergency())
        assert client.view.desynchronised is None


def test_stop_from_another_thread_cuts_a_real_move(app):
    with BrpClient(*app.address) as client:
        client.start_up()
        client.calibration(np.eye(4))
        client.targeting()
        far = target_transform((45.0, 45.0, -45.0))  # the longest lateral move: ~0.4 s
        client.set_target(far)
        seen: list[PositionReading] = []
        outcome: list[BrpInterruptedError] = []

        def move() -> None:
            try:
                client.move_to_target(on_position=seen.append)
            except BrpInterruptedError as err:
                outcome.append(err)

        mover = threading.Thread(target=move, name="test-real-mover")
        mover.start()
        try:
            wait_for(lambda: len(seen) >= 1, timeout_s=5.0, what="a streamed position")
            stopped = client.stop()
        finally:
            mover.join(10.0)
        assert stopped.status is not None
        assert stopped.status.ok
        assert len(outcome) == 1
        assert outcome[0].by.endswith("STOP")
        assert app.emulator is not None
        # The host reports STATUS(STOP, 1) from its telemetry; the emulator's own flag has been
        # seen to trail it (an open question in the closing note), so poll briefly.
        emulator = app.emulator
        wait_for(lambda: not any(a.moving for a in emulator.axes), timeout_s=0.2, what="still")
        assert client.get_position().tip_ras_mm != pytest.approx((45.0, 45.0, -45.0), abs=0.1)


def test_console_session_exits_zero_and_reports_arrival(app, capsys):
    _, port = app.address
    code = main(
        [
            "console",
            "--port",
            str(port),
            "-c",
            "start_up; calibrate identity; targeting; target 1 -1 -50; move; position",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "MOVE_TO_TARGET: MOVE_TO_TARGET 1/0 OK: arrived" in out
    assert "POSITION: tip (1.00, -1.00, -50.00) mm" in out


def test_console_exits_non_zero_on_an_unreachable_target(app, capsys):
    _, port = app.address
    code = main(
        [
            "console",
            "--port",
            str(port),
            "-c",
            "start_up; calibrate identity; targeting; target 0 0 500; move",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "STATUS(TARGET) code 10 sub-code 3 OUT_OF_RANGE" in captured.err
    assert "> move" not in captured.out
