"""BrpClient against a scripted robot: every reply shape and every violation of section 4."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

from robot.console import (
    BrpBusyError,
    BrpClient,
    BrpClientConfig,
    BrpConnectError,
    BrpDisconnectedError,
    BrpInterruptedError,
    BrpProtocolError,
    BrpSessionError,
    BrpStatusError,
    BrpTimeoutError,
    CommandIds,
)
from robot.igtl import TransformBody, encode_content
from robot.igtl.profile import PROFILES
from tests.support.fake_robot import (
    Disconnect,
    FakeRobot,
    Hold,
    RawFrame,
    ack,
    ack_text,
    ack_transform,
    bad_crc,
    current,
    phase_ok,
    position,
    status,
    string,
    transform,
)
from tests.support.polling import wait_for

# The fake robot below answers in the 2013 order (no phase STATUS after PLANNING/CALIBRATION,
# TRANSFORM(TARGET)); test_the_2021_profile_* checks what the client expects of the other one.
FAST = BrpClientConfig(
    ack_timeout_s=0.3,
    reply_timeout_s=0.3,
    action_timeout_s=0.5,
    move_silence_s=0.5,
    profile=PROFILES["brp-2013"],
)


@pytest.fixture
def robot():
    with FakeRobot() as fake:
        yield fake


@pytest.fixture
def client(robot):
    with BrpClient("127.0.0.1", robot.port, config=FAST, ids=CommandIds("TEST01")) as brp:
        yield brp


def test_start_up_returns_the_phase_in_effect_and_its_ok_status(robot, client):
    robot.expect("CMD:START_UP").reply(phase_ok("START_UP"))
    result = client.start_up()
    assert result.command_id == "TEST010001"
    assert result.phase_in_effect == "START_UP"
    assert result.status is not None
    assert result.status.ok
    assert client.view.phase == "START_UP"
    assert robot.received[0].device_name == "CMD_TEST010001"


def test_planning_has_no_phase_status_and_ends_after_current_status(robot, client):
    robot.expect("CMD:PLANNING").reply(ack(), current("PLANNING"))
    robot.expect("CMD:MANUAL").reply(phase_ok("MANUAL"))
    assert client.planning().status is None
    assert client.manual().phase_in_effect == "MANUAL"


def test_the_2021_profile_confirms_planning_and_calibration_and_names_the_reached_pose(robot):
    config = replace(FAST, profile=PROFILES["brp-2021"])
    with BrpClient("127.0.0.1", robot.port, config=config, ids=CommandIds("TEST02")) as client:
        robot.expect("CMD:PLANNING").reply(ack(), current("PLANNING"), status("PLANNING", 1))
        robot.expect("CMD:CALIBRATION").reply(
            ack(), current("CALIBRATION"), status("CALIBRATION", 1)
        )
        robot.expect("CLB").reply(ack(), status("CALIBRATION", 1))
        robot.expect("TGT").reply(
            ack(), status("TARGET", 1), transform("REACHABLE_TARGET", np.eye(4))
        )
        planned = client.planning()
        assert planned.status is not None
        assert planned.status.ok
        result = client.calibration(np.eye(4))  # the phase STATUS, then the CLB_ exchange
        assert result.status.ok
        target = client.set_target(np.eye(4))
        np.testing.assert_array_equal(target.T_reply, np.eye(4, dtype=np.float32))
        assert [m.device_name[:4] for m in robot.received] == ["CMD_", "CMD_", "CLB_", "TGT_"]


def test_calibration_sends_the_phase_then_the_matrix_and_checks_the_bit_exact_echo(robot, client):
    robot.expect("CMD:CALIBRATION").reply(ack(), current("CALIBRATION"))
    robot.expect("CLB").reply(ack(), status("CALIBRATION", 1))
    matrix = np.eye(4)
    matrix[:3, 3] = (0.1, -2.3, 1e-7)
    result = client.calibration(matrix)
    assert result.kind == "CLB"
    assert result.echo_content == encode_content(TransformBody(matrix_ras_mm=matrix))
    assert [m.device_name[:4] for m in robot.received] == ["CMD_", "CLB_"]
    assert robot.received[0].device_name != "CMD_" + robot.received[1].device_name[4:]


def test_calibration_echo_that_is_not_bit_exact_is_a_protocol_violation(robot, client):
    robot.expect("CMD:CALIBRATION").reply(ack(), current("CALIBRATION"))
    nearly = np.eye(4)
    nearly[0, 3] = 1e-3
    robot.expect("CLB").reply(ack_transform(nearly), status("CALIBRATION", 1))
    with pytest.raises(BrpProtocolError) as caught:
        client.calibration(np.eye(4))
    assert caught.value.error_name == "ECHO"
    assert client.view.desynchronised is not None


def test_calibration_rejected_as_not_rigid_raises_the_status_with_its_sub_code(robot, client):
    robot.expect("CMD:CALIBRATION").reply(ack(), current("CALIBRATION"))
    robot.expect("CLB").reply(
        ack(), status("CALIBRATION", 10, 1, "INVALID_MATRIX", "det R = 0, not 1 +- 1e-3")
    )
    with pytest.raises(BrpStatusError) as caught:
        client.calibration(np.ones((4, 4)) * np.r_[1, 1, 1, 0][:, None] + np.diag([0, 0, 0, 1]))
    error = caught.value
    assert (error.code, error.sub_code, error.error_name) == (10, 1, "INVALID_MATRIX")
    assert "det R" in error.detail
    assert client.view.faults[-1].code == 10
    robot.expect("CMD:TARGETING").reply(phase_ok("TARGETING"))
    assert client.targeting().status.ok  # an error STATUS leaves the session usable


def test_target_returns_the_pose_the_robot_will_reach(robot, client):
    reached = np.eye(4)
    reached[:3, 3] = (10.0, 20.0, 30.05)
    robot.expect("TGT").reply(ack(), status("TARGET", 1), transform("TARGET", reached))
    target = np.eye(4)
    target[:3, 3] = (10.0, 20.0, 30.0)
    result = client.set_target(target)
    np.testing.assert_array_equal(result.T_reply, reached.astype(np.float32))


def test_unreachable_target_raises_target_10_sub_3_and_expects_no_transform(robot, client):
    robot.expect("TGT").reply(
        ack(), status("TARGET", 10, 3, "OUT_OF_RANGE", "joint 2 exceeds its limit by 4.5 mm")
    )
    robot.expect("GET_STATUS").reply(status("TARGETING", 1))
    with pytest.raises(BrpStatusError) as caught:
        client.set_target(np.eye(4))
    assert (caught.value.device_name, caught.value.code, caught.value.sub_code) == ("TARGET", 10, 3)
    assert client.get_status().device_name == "TARGETING"


def test_move_collects_positions_until_the_final_status_and_the_trailing_position(robot, client):
    robot.expect("CMD:MOVE_TO_TARGET").reply(
        ack(),
        current("MOVE_TO_TARGET"),
        position(1.0),
        position(2.0),
        position(3.0),
        status("MOVE_TO_TARGET", 1),
        position(3.01),
    )
    seen: list[float] = []
    result = client.move_to_target(on_position=lambda p: seen.append(p.tip_ras_mm[0]))
    assert seen == [1.0, 2.0, 3.0]
    assert [p.tip_ras_mm[0] for p in result.positions] == [1.0, 2.0, 3.0]
    assert result.final_position is not None
    assert result.final_position.tip_ras_mm[0] == pytest.approx(3.01)
    assert client.view.position is not None
    assert client.view.position.tip_ras_mm[0] == pytest.approx(3.01)


def test_refused_move_raises_13_after_its_trailing_position(robot, client):
    robot.expect("CMD:MOVE_TO_TARGET").reply(
        ack(),
        current("MOVE_TO_TARGET"),
        status("MOVE_TO_TARGET", 13, 4, "NO_TARGET", "no target"),
        position(0.0),
    )
    robot.expect("CMD:PLANNING").reply(ack(), current("PLANNING"))
    with pytest.raises(BrpStatusError) as caught:
        client.move_to_target()
    assert (caught.value.code, caught.value.sub_code) == (13, 4)
    client.planning()  # the trailing position was consumed, the next exchange is clean


def test_command_without_authority_keeps_the_old_phase_and_raises_code_5(robot, client):
    robot.expect("CMD:PLANNING").reply(
        ack(), current("START_UP"), status("PLANNING", 5, 9, "NOT_IN_CONTROL", "no authority")
    )
    with pytest.raises(BrpStatusError) as caught:
        client.planning()
    assert caught.value.code == 5


def test_current_status_naming_another_phase_with_an_ok_status_is_a_violation(robot, client):
    robot.expect("CMD:TARGETING").reply(ack(), current("PLANNING"), status("TARGETING", 1))
    with pytest.raises(BrpProtocolError) as caught:
        client.targeting()
    assert caught.value.error_name == "PHASE"


def test_status_before_ack_is_an_order_violation(robot, client):
    robot.expect("CMD:START_UP").reply(current("START_UP"), ack(), status("START_UP", 1))
    with pytest.raises(BrpProtocolError) as caught:
        client.start_up()
    assert caught.value.error_name == "ORDER"
    assert "expected STRING(ACK_TEST010001)" in str(caught.value)


def test_phase_status_before_current_status_is_an_order_violation(robot, client):
    robot.expect("CMD:START_UP").reply(ack(), status("START_UP", 1), current("START_UP"))
    with pytest.raises(BrpProtocolError, match="expected STATUS\\(CURRENT_STATUS\\)"):
        client.start_up()


def test_ack_with_another_text_is_an_echo_violation(robot, client):
    robot.expect("CMD:START_UP").reply(ack_text("START"), current("START_UP"))
    with pytest.raises(BrpProtocolError) as caught:
        client.start_up()
    assert caught.value.error_name == "ECHO"


def test_missing_ack_is_an_order_violation_at_the_next_reply(robot, client):
    robot.expect("CMD:START_UP").reply(current("START_UP"), status("START_UP", 1))
    with pytest.raises(BrpProtocolError, match="ORDER"):
        client.start_up()


def test_silence_is_a_timeout_naming_what_was_awaited(robot, client):
    robot.expect("CMD:START_UP").reply(ack())
    with pytest.raises(BrpTimeoutError) as caught:
        client.start_up()
    assert caught.value.device_name == "CURRENT_STATUS"
    assert caught.value.timeout_s == pytest.approx(0.3)
    assert isinstance(caught.value, TimeoutError)


def test_after_a_violation_ordinary_commands_refuse_but_stop_is_still_sent(robot, client):
    robot.expect("CMD:START_UP").reply(ack())
    with pytest.raises(BrpTimeoutError):
        client.start_up()
    with pytest.raises(BrpSessionError, match="desynchronised"):
        client.planning()
    robot.expect("CMD:STOP").reply(phase_ok("STOP"))
    assert client.stop().status.ok


def test_disconnect_mid_exchange_raises_disconnected(robot, client):
    robot.expect("CMD:START_UP").reply(ack(), Disconnect())
    with pytest.raises(BrpDisconnectedError):
        client.start_up()
    assert not client.view.connected
    with pytest.raises(BrpSessionError):
        client.planning()


def test_a_frame_with_a_bad_crc_fails_the_waiting_exchange(robot, client):
    robot.expect("CMD:START_UP").reply(ack(), bad_crc("CURRENT_STATUS"))
    with pytest.raises(BrpProtocolError) as caught:
        client.start_up()
    assert caught.value.error_name == "BAD_FRAME"
    assert client.view.frames_dropped == 1


def test_unrelated_messages_between_replies_are_unsolicited_not_violations(robot, client):
    robot.expect("CMD:START_UP").reply(
        ack(),
        string("IMAGE_TIMESTAMP", "12"),
        current("START_UP"),
        position(5.0),
        status("START_UP", 1),
    )
    client.start_up()
    first = client.session.next_unsolicited(1.0)
    second = client.session.next_unsolicited(1.0)
    assert [first.device_name, second.device_name] == ["IMAGE_TIMESTAMP", "CURRENT_POSITION"]


def test_stop_during_a_move_cuts_it_and_returns_its_own_result(robot, client):
    hold = Hold()
    robot.expect("CMD:MOVE_TO_TARGET").reply(
        ack(), current("MOVE_TO_TARGET"), position(1.0), position(2.0), hold
    )
    robot.expect("CMD:STOP").reply(phase_ok("STOP"), position(2.5))
    seen: list[object] = []
    outcome: list[BrpInterruptedError] = []

    def move() -> None:
        try:
            client.move_to_target(on_position=seen.append)
        except BrpInterruptedError as err:
            outcome.append(err)

    mover = threading.Thread(target=move, name="test-mover")
    mover.start()
    try:
        wait_for(lambda: len(seen) == 2, what="two streamed positions")
        with pytest.raises(BrpBusyError):
            client.planning()
        result = client.stop()
    finally:
        hold.release()
        mover.join(5.0)
    assert result.status is not None
    assert result.status.ok
    assert len(outcome) == 1
    assert outcome[0].by.endswith("STOP")


def test_needle_length_is_echoed_and_a_refusal_raises(robot, client):
    robot.expect("NEEDLE_LENGTH").reply(string("ACK_NEEDLE_LENGTH", "150.5"))
    robot.expect("NEEDLE_LENGTH").reply(
        status("ACK_NEEDLE_LENGTH", 10, 11, "BAD_VALUE", "needle length 5000 mm > 300 mm")
    )
    assert client.needle_length(150.5).text == "150.5"
    with pytest.raises(BrpStatusError) as caught:
        client.needle_length(5000)
    assert caught.value.sub_code == 11
    with pytest.raises(ValueError, match="finite"):
        client.needle_length(float("nan"))


def test_retract_streams_positions_until_done(robot, client):
    robot.expect("RETRACT_NEEDLE").reply(
        status("ACK_RETRACT_NEEDLE", 1), position(0.0, 0.0, 9.0), status("RETRACT_NEEDLE", 1)
    )
    result = client.retract_needle()
    assert len(result.positions) == 1


def test_get_position_and_auto_align(robot, client):
    robot.expect("GET_TRANSFOR").reply(position(1.0, 2.0, 3.0))
    robot.expect("AUTO_ALIGN").reply(status("ACK_AUTO_ALIGN", 1))
    assert client.get_position().tip_ras_mm == (1.0, 2.0, 3.0)
    assert client.auto_align(on=True).ok
    assert robot.received[1].body.text == "ON"


def test_command_ids_are_unique_and_at_most_16_characters():
    ids = CommandIds("ABC123")
    seen = {ids.next() for _ in range(20000)}
    assert len(seen) == 20000
    assert max(len(i) for i in seen) <= 16
    assert len(CommandIds().next()) == 10
    with pytest.raises(ValueError, match="6 ASCII"):
        CommandIds("TOO-LONG")


def test_connect_to_a_closed_port_raises_a_connect_error():
    with FakeRobot() as fake:
        port = fake.port
    client = BrpClient("127.0.0.1", port, config=FAST)
    with pytest.raises(BrpConnectError) as caught:
        client.open()
    assert caught.value.port == port
    client.close()


def test_refusals_named_after_the_request_are_accepted_as_error_status(robot, client):
    robot.expect("NEEDLE_LENGTH").reply(
        status("NEEDLE_LENGTH", 10, 11, "BAD_VALUE", "NEEDLE_LENGTH refused: the robot is moving")
    )
    robot.expect("AUTO_ALIGN").reply(status("AUTO_ALIGN", 5, 9, "NOT_IN_CONTROL", "no authority"))
    with pytest.raises(BrpStatusError, match="moving"):
        client.needle_length(100.0)
    with pytest.raises(BrpStatusError) as caught:
        client.auto_align(on=False)
    assert (caught.value.device_name, caught.value.code) == ("AUTO_ALIGN", 5)


def test_echo_under_the_wrong_name_is_a_violation(robot, client):
    robot.expect("NEEDLE_LENGTH").reply(string("NEEDLE_LENGTH", "100"))
    with pytest.raises(BrpProtocolError, match="expected ACK_NEEDLE_LENGTH"):
        client.needle_length(100.0)


def test_a_fault_status_between_commands_is_kept_in_the_view(robot, client):
    robot.expect("CMD:TARGETING").reply(
        phase_ok("TARGETING"), status("TARGETING", 18, 10, "HARDWARE", "axis 3 encoder stuck")
    )
    client.targeting()
    wait_for(lambda: len(client.view.faults) == 1, what="the fault STATUS")
    assert client.view.faults[0].describe() == "TARGETING 18/10 HARDWARE: axis 3 encoder stuck"
    assert client.session.next_unsolicited(1.0).device_name == "TARGETING"


def test_emergency_cuts_a_start_up_that_waits_for_homing(robot, client):
    hold = Hold()
    robot.expect("CMD:START_UP").reply(ack(), current("START_UP"), hold)
    robot.expect("CMD:EMERGENCY").reply(phase_ok("EMERGENCY"))
    outcome: list[BrpInterruptedError] = []
    started = threading.Event()

    def start_up() -> None:
        started.set()
        try:
            client.start_up()
        except BrpInterruptedError as err:
            outcome.append(err)

    waiter = threading.Thread(target=start_up, name="test-start-up")
    waiter.start()
    try:
        started.wait(5.0)
        wait_for(lambda: client.view.phase == "START_UP", what="START_UP in effect")
        assert client.emergency().phase_in_effect == "EMERGENCY"
    finally:
        hold.release()
        waiter.join(5.0)
    assert len(outcome) == 1
    assert outcome[0].error_name.endswith("EMERGENCY")


def test_closing_the_client_fails_a_waiting_command_at_once(robot, client):
    robot.expect("CMD:START_UP").reply(ack(), current("START_UP"))
    errors: list[BrpDisconnectedError] = []

    def start_up() -> None:
        try:
            client.start_up()
        except BrpDisconnectedError as err:
            errors.append(err)

    waiter = threading.Thread(target=start_up, name="test-start-up")
    waiter.start()
    wait_for(lambda: client.view.phase == "START_UP", what="START_UP in effect")
    client.close()
    waiter.join(5.0)
    assert len(errors) == 1
    assert "closed by the client" in str(errors[0])


def test_an_unusable_header_closes_the_session(robot, client):
    robot.expect("CMD:START_UP").reply(ack(), RawFrame(b"\x00\x07" + b"\x00" * 56))
    with pytest.raises(BrpDisconnectedError, match="unusable header"):
        client.start_up()
    assert not client.view.connected
