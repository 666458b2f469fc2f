"""START_UP right after a protective stop mid-move recovers, whatever the stop's timing.

The stop that ends the move is repeated by the HAL until the firmware confirms it at rest. A
START_UP that enabled the axes before that confirmation was undone by the next repeat (the
firmware back in IDLE: "no telemetry from an enabled controller", or homing refused with
BAD_STATE): 3 of 15 such recoveries failed on a loaded 2-core machine before START_UP waited for
the confirmation (``ControllerDriver.stop_pending``). The race is a matter of milliseconds, so
the scenario runs several times.
"""

from __future__ import annotations

import pytest

from robot.app import RobotApp
from safety import State
from tests.support.polling import wait_for
from tests.support.robot_app import Console, fast_config, matrix, ready_to_move

pytestmark = pytest.mark.slow


def start_up_result(console: Console) -> tuple[int, str]:
    """START_UP's outcome, tolerating the cut move's STATUS broadcast on the way."""
    command_id = console.command("START_UP")
    console.until(f"ACK_{command_id}")
    status = console.status("START_UP", timeout_s=20.0)
    return status.code, status.message


@pytest.mark.hazard("H-18")
@pytest.mark.parametrize("run", range(8))
def test_start_up_at_once_after_the_controlling_console_left_mid_move_homes(run):
    del run
    with RobotApp(fast_config(), emulate=True) as app:
        console = Console(app.address)
        ready_to_move(console, matrix((45.0, 45.0, 45.0)))
        console.command("MOVE_TO_TARGET")
        console.until("CURRENT_POSITION")
        console.close()
        wait_for(lambda: app.state is State.PROTECTIVE_STOP, timeout_s=3.0, what="stop")
        with Console(app.address) as again:
            assert start_up_result(again) == (1, "homed")
        assert app.state is State.READY
