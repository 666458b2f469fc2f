"""Emulator faults reach the console as STATUS 13 or 18 in the phase they strike."""


# mypy: disable-error-code="comparison-overlap, unreachable, union-attr"

from __future__ import annotations

import pytest

from robot.app import RobotApp
from safety import State
from tests.support.polling import wait_for
from tests.support.robot_app import Console, fast_config, matrix, ready_to_move, start_up

pytestmark = pytest.mark.slow


def test_startup_failure_answers_start_up_13_and_nothing_moves():
    with (
        RobotApp(fast_config(), emulate=True, fault="startup-failure") as app,
        Console(app.address) as console,
    ):
        verdict = start_up(console)
        assert verdict.code == 13
        assert verdict.error_name == "NOT_READY"
        assert "configure" in verdict.message
        assert "STARTUP_FAILURE" in verdict.message  # the firmware's own fault names the cause
        assert app.state is State.OFF


def test_hardware_failure_mid_move_answers_move_18_sub_10_while_positions_stream():
    with (
        RobotApp(fast_config(), emulate=True, fault="hardware-failure-mid-move") as app,
        Console(app.address) as console,
    ):
        ready_to_move(console, matrix((45.0, 45.0, 45.0)))
        console.command("MOVE_TO_TARGET")
        status, between = console.until("MOVE_TO_TARGET", type_name="STATUS")
        assert {m.device_name for m in between} >= {"CURRENT_POSITION"}
        assert (status.body.code, status.body.subcode) == (18, 10)
        console.expect("TRANSFORM:CURRENT_POSITION")
        assert app.state is State.FAULT
        assert app.emulator is not None
        wait_for(lambda: not any(a.moving for a in app.emulator.axes), timeout_s=2.0)


def test_a_link_lost_while_idle_is_reported_as_18_in_the_phase_in_effect():
    with (
        RobotApp(fast_config(), emulate=True, fault="disconnect@1.5") as app,
        Console(app.address) as console,
    ):
        assert start_up(console).code == 1
        verdict = console.status("START_UP", timeout_s=5.0)
        assert verdict.code == 18
        assert app.state is State.FAULT


def test_pressure_loss_during_a_move_stops_it_with_13_interlock():
    with (
        RobotApp(fast_config(), emulate=True, fault="pressure-loss@1.0:pressure_hpa=1000") as app,
        Console(app.address) as console,
    ):
        ready_to_move(console, matrix((45.0, -45.0, 45.0)))
        console.command("MOVE_TO_TARGET")
        verdict = console.status("MOVE_TO_TARGET")
        assert verdict.code in {13, 18}
        assert verdict.code != 1
        assert app.state in {State.PROTECTIVE_STOP, State.FAULT}


@pytest.mark.parametrize(
    "fault",
    ["limit-hit@1.0", "stuck-encoder@1.0:axis=0", "disconnect@1.0", "delay@1.0:delay_ms=400"],
)
def test_an_emulator_fault_during_a_move_ends_it_with_13_or_18_and_the_axes_stop(fault):
    with (
        RobotApp(fast_config(), emulate=True, fault=fault) as app,
        Console(app.address) as console,
    ):
        ready_to_move(console, matrix((45.0, 45.0, 45.0)))
        console.command("MOVE_TO_TARGET")
        verdict = console.status("MOVE_TO_TARGET")
        assert verdict.code in {13, 18}, verdict
        assert app.state in {State.PROTECTIVE_STOP, State.FAULT, State.EMERGENCY_STOP}
        assert app.emulator is not None
        wait_for(lambda: not any(a.moving for a in app.emulator.axes), timeout_s=3.0)
