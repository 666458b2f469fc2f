"""The BRP workphase protocol end to end: a console over TCP, RobotApp on the emulated firmware.

Message order and codes follow OPENIGTLINK.md 4.3-4.6. The emulated axes are fast (200 mm/s) so
each test takes well under a second of real time.
"""


# mypy: disable-error-code="comparison-overlap, unreachable, union-attr"

from __future__ import annotations

import numpy as np
import pytest

from robot.app import RobotApp
from robot.igtl import IgtlMessage, QueryBody, StatusBody, StringBody, TransformBody
from robot.runtime.pose import CALIBRATION_RIGID_TOLERANCE
from safety import State
from tests.support.polling import wait_for
from tests.support.robot_app import (
    Console,
    calibrate,
    fast_config,
    matrix,
    ready_to_move,
    set_target,
    start_up,
    targeting,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def app():
    with RobotApp(fast_config(), emulate=True) as robot:
        yield robot


@pytest.fixture
def console(app):
    with Console(app.address) as c:
        yield c


def current_status_phase(message: IgtlMessage) -> str:
    assert isinstance(message.body, StatusBody)
    assert message.body.code == 1
    return message.body.error_name


def test_start_up_answers_ack_then_current_status_then_start_up_ok(console):
    command_id = console.command("START_UP")
    ack, current = console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
    assert isinstance(ack.body, StringBody)
    assert ack.body.text == "START_UP"
    assert current_status_phase(current) == "START_UP"
    verdict = console.receive(timeout_s=5.0)
    assert (verdict.device_name, verdict.message_type) == ("START_UP", "STATUS")
    assert isinstance(verdict.body, StatusBody)
    assert (verdict.body.code, verdict.body.error_name) == (1, "OK")


def test_full_placement_reaches_the_reported_target_within_a_tenth_of_a_millimetre(console, app):
    rotation = np.array(
        [[1.0, 0.0, 0.0], [0.0, np.cos(0.2), -np.sin(0.2)], [0.0, np.sin(0.2), np.cos(0.2)]]
    )
    reached = ready_to_move(console, matrix((20.0, -15.0, 25.0), rotation))
    assert isinstance(reached.body, TransformBody)
    target = reached.body.matrix_ras_mm
    command_id = console.command("MOVE_TO_TARGET")
    _, current = console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
    assert current_status_phase(current) == "MOVE_TO_TARGET"
    status, between = console.until("MOVE_TO_TARGET", type_name="STATUS")
    assert {m.device_name for m in between} == {"CURRENT_POSITION"}
    assert len(between) >= 2
    assert isinstance(status.body, StatusBody)
    assert status.body.code == 1
    final = console.receive()
    assert final.device_name == "CURRENT_POSITION"
    assert isinstance(final.body, TransformBody)
    position = final.body.matrix_ras_mm
    assert np.linalg.norm(position[:3, 3] - target[:3, 3]) <= 0.1
    assert np.allclose(position[:3, :3], target[:3, :3], atol=2e-3)
    assert np.linalg.norm(target[:3, 3] - [20.0, -15.0, 25.0]) <= 0.1
    assert app.state is State.NEEDLE_INSERTED  # measured: the needle is in


def test_the_default_robot_reaches_the_corners_of_the_100_mm_cube_with_identity_calibration(
    console,
):
    assert start_up(console).code == 1
    assert calibrate(console).code == 1
    assert targeting(console).code == 1
    for corner in [(-50, -50, -50), (50, 50, 50), (50, -50, 0), (-50, 50, 50)]:
        verdict, reached = set_target(console, matrix(corner))
        assert verdict.code == 1, verdict
        assert reached is not None


def test_a_calibration_that_is_not_rigid_gets_configuration_error_sub_code_1(console):
    assert start_up(console).code == 1
    verdict = calibrate(console, np.vstack([np.ones((3, 4)), [0, 0, 0, 1]]))
    assert (verdict.code, verdict.subcode, verdict.error_name) == (10, 1, "INVALID_MATRIX")
    assert "det" in verdict.message or "orthonormal" in verdict.message
    scaled = matrix()
    scaled[:3, :3] *= 1 + 10 * CALIBRATION_RIGID_TOLERANCE
    assert calibrate(console, scaled).code == 10


def test_calibration_echoes_the_matrix_bit_exact(console):
    assert start_up(console).code == 1
    command_id = console.command("CALIBRATION")
    console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS", "STATUS:CALIBRATION")
    m = matrix((0.1, 0.2, 0.3))
    pose_id = console.pose("CLB", m)
    (echo,) = console.expect(f"TRANSFORM:ACK_{pose_id}")
    assert isinstance(echo.body, TransformBody)
    assert np.allclose(echo.body.matrix_ras_mm, m.astype(np.float32))
    assert console.status("CALIBRATION").code == 1


def test_an_unreachable_target_gets_target_10_sub_3_with_the_reason_and_no_transform(console):
    assert start_up(console).code == 1
    assert calibrate(console).code == 1
    assert targeting(console).code == 1
    verdict, reached = set_target(console, matrix((0.0, 0.0, 400.0)))
    assert (verdict.code, verdict.subcode, verdict.error_name) == (10, 3, "OUT_OF_RANGE")
    assert "mm" in verdict.message
    assert reached is None
    tilted = matrix(rotation=[[1, 0, 0], [0, 0, -1], [0, 1, 0]])  # needle along -A: 90 deg
    verdict, _ = set_target(console, tilted)
    assert (verdict.code, verdict.subcode) == (10, 3)
    assert "angulation" in verdict.message


def test_a_target_that_is_not_a_rotation_gets_target_10_sub_1(console):
    assert start_up(console).code == 1
    assert calibrate(console).code == 1
    assert targeting(console).code == 1
    bad = matrix()
    bad[:3, :3] *= 2.0
    verdict, reached = set_target(console, bad)
    assert (verdict.code, verdict.subcode) == (10, 1)
    assert reached is None


def test_targeting_without_calibration_is_13_sub_2_and_still_takes_effect(console):
    assert start_up(console).code == 1
    command_id = console.command("TARGETING")
    _, current = console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
    assert current_status_phase(current) == "TARGETING"
    verdict = console.status("TARGETING")
    assert (verdict.code, verdict.subcode, verdict.error_name) == (13, 2, "NOT_CALIBRATED")


def test_move_errors_carry_their_sub_codes_and_a_current_position(console):
    command_id = console.command("MOVE_TO_TARGET")
    console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
    verdict = console.status("MOVE_TO_TARGET")
    assert (verdict.code, verdict.subcode) == (13, 8)  # not started
    (position,) = console.expect("TRANSFORM:CURRENT_POSITION")  # 4.4: 13 + CURRENT_POSITION
    assert isinstance(position.body, TransformBody)
    np.testing.assert_array_equal(position.body.matrix_ras_mm, np.eye(4))  # no position known
    assert start_up(console).code == 1
    assert calibrate(console).code == 1
    command_id = console.command("MOVE_TO_TARGET")
    console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
    verdict = console.status("MOVE_TO_TARGET")
    assert (verdict.code, verdict.subcode) == (13, 4)  # no target
    console.expect("TRANSFORM:CURRENT_POSITION")
    command_id = console.command("MANUAL")
    console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS", "STATUS:MANUAL")
    command_id = console.command("MOVE_TO_TARGET")
    console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
    verdict = console.status("MOVE_TO_TARGET")
    assert (verdict.code, verdict.subcode) == (13, 5)  # manual mode
    console.expect("TRANSFORM:CURRENT_POSITION")


def test_unknown_phase_text_gets_status_12_on_the_ack_name(console):
    command_id = console.command("DANCE")
    _, current, refusal = console.expect(
        f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS", f"STATUS:ACK_{command_id}"
    )
    assert current_status_phase(current) == "START_UP"
    assert isinstance(refusal.body, StatusBody)
    assert refusal.body.code == 12


def test_an_observer_is_denied_commands_with_status_5_but_may_read_status(app, console):
    assert start_up(console).code == 1
    with Console(app.address) as observer:
        command_id = observer.command("PLANNING")
        _, current, denied = observer.expect(
            f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS", "STATUS:PLANNING"
        )
        assert current_status_phase(current) == "START_UP"
        assert isinstance(denied.body, StatusBody)
        assert (denied.body.code, denied.body.error_name) == (5, "NOT_IN_CONTROL")
        pose_id = observer.pose("CLB", matrix())
        observer.expect(f"TRANSFORM:ACK_{pose_id}")
        assert observer.status("CALIBRATION").code == 5
        observer.client.send(
            IgtlMessage(
                device_name="CURRENT_STATUS", body=QueryBody(verb="GET", data_type="STATUS")
            )
        )
        answer = observer.status("START_UP")
        assert answer.code == 1


def test_a_command_during_motion_is_busy_and_leaves_the_phase(console, app):
    ready_to_move(console, matrix((40.0, 40.0, 40.0)))
    console.command("MOVE_TO_TARGET")
    console.until("CURRENT_POSITION")
    command_id = console.command("PLANNING")
    console.until(f"ACK_{command_id}")
    current, _ = console.until("CURRENT_STATUS")
    assert current_status_phase(current) == "MOVE_TO_TARGET"
    refusal, _ = console.until("PLANNING", type_name="STATUS")
    assert isinstance(refusal.body, StatusBody)
    assert (refusal.body.code, refusal.body.subcode) == (13, 6)
    assert console.status("MOVE_TO_TARGET").code == 1


def test_stop_from_an_observer_mid_move_stops_and_pauses_its_stream(app, console):
    ready_to_move(console, matrix((45.0, -45.0, 45.0)))
    console.command("MOVE_TO_TARGET")
    console.until("CURRENT_POSITION")
    with Console(app.address) as observer:
        command_id = observer.command("STOP")
        _, current = observer.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
        assert current_status_phase(current) == "STOP"
        stop = observer.receive()  # the stream is paused: nothing but the STOP exchange
        assert (stop.device_name, stop.message_type) == ("STOP", "STATUS")
        assert isinstance(stop.body, StatusBody)
        assert stop.body.code == 1
        assert observer.receive().device_name == "CURRENT_POSITION"
    assert console.status("STOP").code == 1
    assert app.emulator is not None
    # STATUS(STOP, 1) is sent when the host's telemetry shows standstill; the emulator's own flag
    # may trail that by a telemetry period or two (10 ms here) on a loaded machine.
    wait_for(lambda: not any(a.moving for a in app.emulator.axes), timeout_s=0.2, what="still")
    assert app.state is State.TARGET_SET


def test_emergency_from_an_observer_mid_move_latches_and_start_up_must_home_again(app, console):
    ready_to_move(console, matrix((45.0, 45.0, -45.0)))
    console.command("MOVE_TO_TARGET")
    console.until("CURRENT_POSITION")
    with Console(app.address) as observer:
        command_id = observer.command("EMERGENCY")
        _, current = observer.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
        assert current_status_phase(current) == "EMERGENCY"
        assert observer.status("EMERGENCY").code == 1
    assert app.state is State.EMERGENCY_STOP
    assert app.emulator is not None
    wait_for(lambda: not any(a.moving for a in app.emulator.axes), timeout_s=2.0)
    assert app.driver is not None
    assert app.driver.counters().estops_sent >= 1
    command_id = console.command("MOVE_TO_TARGET")
    console.until(f"ACK_{command_id}")
    refusal = console.status("MOVE_TO_TARGET")
    assert refusal.code == 13
    assert start_up(console).code == 1
    assert app.state is State.READY  # homed again; calibration and target forgotten


@pytest.mark.hazard("H-18")
def test_the_controlling_console_leaving_mid_move_causes_a_protective_stop(app):
    console = Console(app.address)
    ready_to_move(console, matrix((45.0, 45.0, 45.0)))
    console.command("MOVE_TO_TARGET")
    console.until("CURRENT_POSITION")
    console.close()
    wait_for(lambda: app.state is State.PROTECTIVE_STOP, timeout_s=3.0, what="protective stop")
    assert app.emulator is not None
    wait_for(lambda: not any(a.moving for a in app.emulator.axes), timeout_s=2.0)


def test_position_and_status_requests(console):
    assert start_up(console).code == 1
    console.client.send(
        IgtlMessage(
            device_name="CURRENT_POSITION", body=QueryBody(verb="GET", data_type="TRANSFOR")
        )
    )
    console.expect("TRANSFORM:CURRENT_POSITION")
    console.string("CURRENT_POSITION", "?")
    console.expect(
        "TRANSFORM:CURRENT_POSITION", "STRING:IS_IN_TARGETING_POS", "STRING:HAS_REACHED_TARGET"
    )
    console.string("CURRENT_STATUS", "?")
    console.expect("STATUS:START_UP")
    console.client.send(
        IgtlMessage(
            device_name="CURRENT_POSITION", body=QueryBody(verb="STT", data_type="TRANSFOR")
        )
    )
    console.expect("RTS_TRANSFOR:CURRENT_POSITION")
    console.expect("TRANSFORM:CURRENT_POSITION", "TRANSFORM:CURRENT_POSITION")
    console.client.send(IgtlMessage(device_name="X", body=QueryBody(verb="STT", data_type="IMAGE")))
    console.until("X", type_name="RTS_IMAGE")
    console.string("ALPHA", "1")
    refusal = console.status("ACK_ALPHA")
    assert refusal.code == 12


def test_needle_length_is_acknowledged_and_a_bad_one_is_10_sub_11(console):
    command_id = console.command("PLANNING")  # claim authority
    console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS", "STATUS:PLANNING")
    console.string("NEEDLE_LENGTH", "180.5")
    (ack,) = console.expect("STRING:ACK_NEEDLE_LENGTH")
    assert isinstance(ack.body, StringBody)
    assert ack.body.text == "180.5"
    console.string("NEEDLE_LENGTH", "-3")
    refusal = console.status("NEEDLE_LENGTH")
    assert (refusal.code, refusal.subcode) == (10, 11)


def test_retract_needle_after_arrival_streams_and_reports_done(console, app):
    ready_to_move(console, matrix((0.0, 0.0, 30.0)))
    console.command("MOVE_TO_TARGET")
    assert console.status("MOVE_TO_TARGET").code == 1
    console.string("RETRACT_NEEDLE", "")
    assert console.status("ACK_RETRACT_NEEDLE").code == 1
    assert console.status("RETRACT_NEEDLE").code == 1
    assert app.core is not None
    assert app.core.readings.positions is not None
    assert app.core.readings.positions[-1] == pytest.approx(0.0, abs=0.05)


def test_malformed_frames_during_a_move_do_not_disturb_it(console, app):
    ready_to_move(console, matrix((30.0, 30.0, 30.0)))
    console.command("MOVE_TO_TARGET")
    console.until("CURRENT_POSITION")
    with Console(app.address) as rogue:
        rogue.client.send_bytes(b"\x00\x01GARBAGE" + bytes(200))
    assert console.status("MOVE_TO_TARGET").code == 1


def test_a_stop_behind_a_flood_of_requests_is_acted_on_before_them(console, app):
    ready_to_move(console, matrix((45.0, -45.0, 45.0)))
    console.command("MOVE_TO_TARGET")
    console.until("CURRENT_POSITION")
    with Console(app.address) as observer:
        for _ in range(300):
            observer.string("ALPHA", "1")
        command_id = observer.command("STOP")
        assert app.emulator is not None
        wait_for(lambda: app.state is State.TARGET_SET, timeout_s=1.0, what="priority stop")
        observer.until(f"ACK_{command_id}")
        assert observer.status("STOP").code == 1
    emulator = app.emulator
    wait_for(lambda: not any(a.moving for a in emulator.axes), timeout_s=0.2, what="still")


def test_the_in_process_emulator_link_serves_the_same_protocol():
    with RobotApp(fast_config(), emulate=True, realtime=False) as app, Console(app.address) as c:
        assert start_up(c).code == 1
        assert app.state is State.READY


def test_with_a_rotated_calibration_the_needle_ends_on_the_scanner_ras_target(console, app):
    # robot base 90 deg about S and displaced: robot +x is scanner +A, robot +z is scanner +S
    T_scanner_from_robot = matrix((10.0, -20.0, 30.0), [[0, -1, 0], [1, 0, 0], [0, 0, 1]])
    assert start_up(console).code == 1
    assert calibrate(console, T_scanner_from_robot).code == 1
    assert targeting(console).code == 1
    target_ras = np.array([10.0 - 15.0, -20.0 + 25.0, 30.0 + 20.0])  # robot (25, 15, 20)
    verdict, _ = set_target(console, matrix(target_ras))
    assert verdict.code == 1, verdict
    assert verdict.message.startswith("front_x_mm = 25.000; front_y_mm = 15.000")
    console.command("MOVE_TO_TARGET")
    assert console.status("MOVE_TO_TARGET").code == 1
    (final,) = console.expect("TRANSFORM:CURRENT_POSITION")
    assert isinstance(final.body, TransformBody)
    assert np.linalg.norm(final.body.matrix_ras_mm[:3, 3] - target_ras) <= 0.1
    assert app.registration is not None
    assert np.allclose(app.registration, T_scanner_from_robot)


def test_a_robot_with_a_piezo_insertion_axis_moves_once_the_scanner_is_idle():
    config = fast_config(
        joints__insertion_mm__axis="piezo",
        joints__insertion_mm__piezo_max_speed_mm_s=200.0,
        joints__insertion_mm__imaging_safe=False,
    )
    with RobotApp(config, emulate=True) as app, Console(app.address) as console:
        console.string("SCANNER", "STOP_SEQUENCE")
        assert console.status("SCANNER").code == 1
        reached = ready_to_move(console, matrix((10.0, 5.0, 35.0)))
        console.command("MOVE_TO_TARGET")
        assert console.status("MOVE_TO_TARGET").code == 1
        (final,) = console.expect("TRANSFORM:CURRENT_POSITION")
        assert isinstance(final.body, TransformBody)
        assert isinstance(reached.body, TransformBody)
        error_mm = final.body.matrix_ras_mm[:3, 3] - reached.body.matrix_ras_mm[:3, 3]
        assert np.linalg.norm(error_mm) <= 0.1


def test_a_decoded_message_the_robot_does_not_handle_gets_status_12_not_silence(console):
    console.client.send(IgtlMessage(device_name="FOO", body=TransformBody(matrix_ras_mm=matrix())))
    refused = console.status("ACK_FOO")
    assert refused.code == 12
    assert "TRANSFORM" in refused.message
    assert "not supported" in refused.message
