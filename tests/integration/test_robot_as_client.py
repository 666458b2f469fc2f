"""The robot as the OpenIGTLink client (``network.connect``, ``mrbot serve --connect``).

The 2021 ProstateBRP module runs the server and waits for the robot. Here the test is that
console's server: it listens, accepts the robot's connection and drives a placement over it,
then drops it mid-move (the same protective stop as a lost accepted connection) and checks that
the robot connects again within the backoff bound.
"""

from __future__ import annotations

import select
import signal
import socket
import time

import pytest

from robot.app import RobotApp
from robot.igtl import IgtlClient, IgtlMessage, StringBody
from safety import State
from tests.integration.test_startup_after_stop import start_up_result
from tests.support import processes
from tests.support.polling import wait_for
from tests.support.robot_app import FAST, Console, matrix, ready_to_move

pytestmark = pytest.mark.slow

#: Backoff of the robot under test (s): quick, so that the bounds below are short.
_MIN_S = 0.05
_MAX_S = 0.4


class ConsoleServer:
    """A console's OpenIGTLink server: one listening socket; accepts the robot with deadlines."""

    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])

    def listen(self) -> None:
        self.listener.listen(4)

    def accept(self, timeout_s: float = 10.0) -> Console:
        readable, _, _ = select.select([self.listener], [], [], timeout_s)
        assert readable, f"the robot did not connect within {timeout_s} s"
        sock, _ = self.listener.accept()
        return Console(IgtlClient.from_socket(sock))

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def console_server():
    server = ConsoleServer()
    yield server
    server.close()


def _app(console_server: ConsoleServer) -> RobotApp:
    from robot.config import load_config

    config = load_config(
        overrides={
            **FAST,
            "network.connect": [f"127.0.0.1:{console_server.port}"],
            "network.reconnect_min_s": _MIN_S,
            "network.reconnect_max_s": _MAX_S,
        },
        environ={},
    )
    return RobotApp(config, emulate=True, port=0)


def test_a_placement_over_the_connection_the_robot_made(console_server):
    console_server.listen()
    with _app(console_server) as app, console_server.accept() as console:
        reached = ready_to_move(console, matrix((10.0, -20.0, 30.0)))
        assert reached.device_name == "REACHABLE_TARGET"  # the 2021 module's name (default)
        command_id = console.command("MOVE_TO_TARGET")
        console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
        assert console.status("MOVE_TO_TARGET", timeout_s=20.0).code == 1
        assert app.state is State.NEEDLE_INSERTED
        (dialer,) = app.server.dialers() if app.server is not None else ()
        assert dialer.connected
        assert dialer.connections == 1


@pytest.mark.hazard("H-18")
def test_losing_the_console_mid_move_stops_and_the_robot_connects_again(console_server):
    console_server.listen()
    with _app(console_server) as app:
        console = console_server.accept()
        ready_to_move(console, matrix((45.0, 45.0, 45.0)))
        console.command("MOVE_TO_TARGET")
        console.until("CURRENT_POSITION")
        console.close()  # the console's side of the robot's connection is gone
        lost_at = time.monotonic()
        wait_for(lambda: app.state is State.PROTECTIVE_STOP, timeout_s=3.0, what="stop")
        emulator = app.emulator
        assert emulator is not None
        wait_for(lambda: not any(a.moving for a in emulator.axes), timeout_s=2.0)
        # the robot connects again: within the first wait plus scheduling slack
        with console_server.accept(timeout_s=_MAX_S + 5.0) as again:
            elapsed_s = time.monotonic() - lost_at
            assert elapsed_s < _MAX_S + 5.0
            assert start_up_result(again) == (1, "homed")  # served as before: START_UP recovers
        assert app.server is not None
        (dialer,) = app.server.dialers()
        assert dialer.connections == 2


def test_a_console_server_that_is_not_up_yet_is_tried_with_a_bounded_backoff(console_server):
    # bound but not listening: every attempt is refused until listen()
    with _app(console_server) as app:
        server = app.server
        assert server is not None
        wait_for(lambda: server.dialers()[0].attempts >= 4, timeout_s=10.0, what="retries")
        stats = server.dialers()[0]
        assert not stats.connected
        assert stats.last_error  # why it failed is kept (and logged once)
        assert _MIN_S < stats.next_wait_s <= _MAX_S  # doubled, never beyond the bound
        console_server.listen()
        with console_server.accept(timeout_s=_MAX_S + 5.0) as console:
            command_id = console.command("START_UP")
            console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")


def test_a_bad_connect_endpoint_is_a_configuration_error():
    from robot.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=r"network\.connect"):
        load_config(overrides={"network.connect": ["localhost"]}, environ={})
    with pytest.raises(ConfigError, match="reconnect_max_s"):
        load_config(
            overrides={"network.reconnect_min_s": 2.0, "network.reconnect_max_s": 1.0},
            environ={},
        )


def test_mrbot_serve_connect_dials_the_console_and_answers_it(console_server):
    console_server.listen()
    settings = [f"{k}={v}" for k, v in FAST.items()]
    proc, _address = processes.serve(
        "--emulate", "--connect", f"127.0.0.1:{console_server.port}", settings=settings
    )
    try:
        with console_server.accept(timeout_s=30.0) as console:
            console.client.send(
                IgtlMessage(device_name="CMD_0001", body=StringBody(text="START_UP"))
            )
            console.expect("STRING:ACK_0001", "STATUS:CURRENT_STATUS")
            assert console.status("START_UP", timeout_s=20.0).code == 1
    finally:
        code, err = processes.stop(proc, signal.SIGTERM)
    assert code == 0, err
    assert f"connecting out to 127.0.0.1:{console_server.port}" in err
    assert f"dial 127.0.0.1:{console_server.port}: connected" in err
