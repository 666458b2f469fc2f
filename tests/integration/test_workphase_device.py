"""RobotApp on a controller reached by URL (as real hardware is), here the emulator over TCP."""

from __future__ import annotations

import time

import pytest

from hal import MonotonicClock
from hal.emulator import EmulatedFirmware, TcpServer
from robot.app import RobotApp
from robot.errors import RobotError
from safety import State
from tests.support.robot_app import Console, fast_config, start_up

pytestmark = pytest.mark.slow


def test_a_device_url_drives_the_controller_through_the_serial_transport():
    config = fast_config()
    firmware = EmulatedFirmware(RobotApp.emulator_config(config))
    clock = MonotonicClock(time.monotonic)
    with (
        TcpServer(firmware, clock, host="127.0.0.1", port=0) as server,
        RobotApp(config, device_url=server.url) as app,
        Console(app.address) as console,
    ):
        assert start_up(console).code == 1
        assert app.state is State.READY
        assert app.emulator is None
        assert all(a.homed for a in firmware.axes)


def test_without_a_device_or_emulator_start_fails_with_a_reason():
    app = RobotApp(fast_config())
    with pytest.raises(RobotError, match="no controller"):
        app.start()
    app.close()
