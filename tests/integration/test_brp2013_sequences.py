"""The 2013 CommunicationTest navigation tests 1-9, run in-process against the brp-2013 robot.

``NavigationTestSimulator`` (ProstateBRP/CommunicationTest, June 2013 protocol page) plays the
navigation software: it sends fixed commands (``CMD_0001`` START_UP, ``CMD_0002`` PLANNING,
``CMD_0003`` CALIBRATION, ``CLB_0004``, ``CMD_0005`` TARGETING, ``TGT_0006``, ``CMD_0007``
MOVE_TO_TARGET, ...) and reads the replies strictly one after the other, each within a time-out
counted from the previous read; anything other than what it expects at a check point fails the
test. The project keeps none of the suite's code; these tests are the same sequences written
with the project's client (docs/WORKPHASES.md, "Protocol profiles").

What every check point asserts, as the suite does: the message type, the device name, for a
STRING its text and encoding 3 (US-ASCII), for a STATUS its code and, for ``CURRENT_STATUS``, the
error name (the phase now in effect). The suite means to compare each TRANSFORM echo with the
matrix it sent, but its check compares the received matrix with itself; here the echo is compared
with what was sent, to the suite's 1e-10. Between check points nothing else may arrive: each
reply is the very next message, read raw, except inside a move, where the suite itself reads
CURRENT_POSITION until something else comes.

Time-outs are the suite's defaults, 0.5 s (short), 1 s (medium) and 5 s (long), per read. The
simulator's ``main`` raises short to 1 s and medium to 10 s; the defaults are the stricter ones.

Beyond the wire, the robot is judged by physical truth, the emulator's true axis positions: after
MOVE_TO_TARGET the guide points at the target with the tool retracted (brp-2013 aligns only), and
where the suite expects no motion (a refusal, a STOP or EMERGENCY) no axis moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pytest

from kinematics import transform_points, transform_vectors
from robot.app import RobotApp
from robot.igtl import IgtlMessage, StatusBody, StringBody, TransformBody
from robot.igtl.errors import IgtlReceiveTimeoutError
from robot.igtl.profile import PROFILES
from safety import State
from tests.support.polling import wait_for
from tests.support.robot_app import Console, fast_config, matrix

if TYPE_CHECKING:
    from collections.abc import Iterator

    from kinematics import Transform

pytestmark = pytest.mark.slow

SHORT_S = 0.5
MEDIUM_S = 1.0
LONG_S = 5.0
QUIET_S = 0.5  # after the last check point: nothing more comes (the suite has hung up by then)
US_ASCII = 3
ECHO_TOLERANCE = 1.0e-10  # the suite's matrix tolerance
ALIGN_TOLERANCE_MM = 0.1
STILL_TOLERANCE_UM = 1.0

# the suite's STATUS codes
OK = 1
CONFIG_ERROR = 10
NOT_READY = 13
HARDWARE_FAULT = 18

# the suite's matrices (RAS, mm)
IDENTITY = matrix()
MOVING_TARGET = matrix((20.0, 40.0, 50.0))  # StopDuringOperation / EmergencyStopDuringOperation
OUT_OF_RANGE = matrix((0.0, 0.0, 5000.0))  # OutOfRange: +5000 mm in S-I
ALL_ONES = np.vstack([np.ones((3, 4)), [0.0, 0.0, 0.0, 1.0]])  # CalibrationError: rows 1-3 ones
# (TRANSFORM carries the upper 3x4 only, so this is the suite's all-ones matrix on the wire)


def _label(message: IgtlMessage) -> str:
    return f"{message.message_type}:{message.device_name}"


@dataclass
class Navigator:
    """The suite's side of the link: named sends, and raw reads strictly in order."""

    console: Console
    last: str = "(nothing yet)"

    def send_command(self, number: int, phase: str) -> None:
        self.console.string(f"CMD_{number:04d}", phase)

    def send_pose(self, prefix: str, number: int, m: np.ndarray) -> None:
        self.console.client.send(
            IgtlMessage(device_name=f"{prefix}_{number:04d}", body=TransformBody(matrix_ras_mm=m))
        )

    def next(self, timeout_s: float) -> IgtlMessage:
        """The very next message, within ``timeout_s`` (the suite fails on its time-out)."""
        try:
            message = self.console.receive(timeout_s=timeout_s)
        except IgtlReceiveTimeoutError as err:
            raise AssertionError(f"nothing within {timeout_s} s after {self.last}") from err
        self.last = f"{_label(message)} {message.body}"
        return message

    def string(self, name: str, text: str, timeout_s: float) -> None:
        self.check_string(self.next(timeout_s), name, text)

    @staticmethod
    def check_string(message: IgtlMessage, name: str, text: str) -> None:
        assert _label(message) == f"STRING:{name}", message
        assert isinstance(message.body, StringBody)
        assert (message.body.text, message.body.encoding) == (text, US_ASCII), message.body

    def status(
        self, name: str, code: int, timeout_s: float, *, error_name: str | None = None
    ) -> StatusBody:
        return self.check_status(self.next(timeout_s), name, code, error_name=error_name)

    @staticmethod
    def check_status(
        message: IgtlMessage, name: str, code: int, *, error_name: str | None = None
    ) -> StatusBody:
        assert _label(message) == f"STATUS:{name}", message
        assert isinstance(message.body, StatusBody)
        assert message.body.code == code, message.body
        if error_name is not None:
            assert message.body.error_name == error_name, message.body
        return message.body

    def transform(self, name: str, timeout_s: float) -> TransformBody:
        message = self.next(timeout_s)
        assert _label(message) == f"TRANSFORM:{name}", message
        assert isinstance(message.body, TransformBody)
        return message.body

    def echo(self, number: int, sent: np.ndarray, timeout_s: float) -> None:
        body = self.transform(f"ACK_{number:04d}", timeout_s)
        np.testing.assert_allclose(body.matrix_ras_mm, sent, rtol=0.0, atol=ECHO_TOLERANCE)

    # --- one command: its ACK, then CURRENT_STATUS naming the phase -----------------------------

    def command(self, number: int, phase: str, ack_s: float) -> None:
        self.send_command(number, phase)
        self.string(f"ACK_{number:04d}", phase, ack_s)
        self.status("CURRENT_STATUS", OK, LONG_S, error_name=phase)

    def positions_then(self) -> tuple[int, IgtlMessage]:
        """The suite's move loop: CURRENT_POSITION (each within 5 s) until another message."""
        count = 0
        while True:
            message = self.next(LONG_S)
            if message.message_type != "TRANSFORM":
                return count, message
            assert message.device_name == "CURRENT_POSITION", message
            count += 1

    def quiet(self, seconds: float = QUIET_S) -> None:
        """Nothing at all arrives for ``seconds``."""
        try:
            extra = self.console.receive(timeout_s=seconds)
        except IgtlReceiveTimeoutError:
            return
        raise AssertionError(f"unexpected {_label(extra)} {extra.body} after {self.last}")


@pytest.fixture
def robot() -> Iterator[tuple[RobotApp, Navigator]]:
    yield from _robot(None)


@pytest.fixture
def faulty_robot(request: pytest.FixtureRequest) -> Iterator[tuple[RobotApp, Navigator]]:
    yield from _robot(request.param)


def _robot(fault: str | None) -> Iterator[tuple[RobotApp, Navigator]]:
    app = RobotApp(fast_config(network__profile="brp-2013"), emulate=True, fault=fault)
    app.start()
    console = Console(app.address, profile=PROFILES["brp-2013"])
    try:
        yield app, Navigator(console)
    finally:
        console.close()
        app.close()


# --- physical truth -------------------------------------------------------------------------------


def _true_positions_um(app: RobotApp) -> np.ndarray:
    assert app.emulator is not None
    return np.array(app.emulator.truth_now().positions_um)


def _assert_still_since(app: RobotApp, before_um: np.ndarray) -> None:
    """No axis is following a trajectory and none has moved since ``before_um``."""
    assert app.emulator is not None
    truth = app.emulator.truth_now()
    assert not any(truth.moving), truth
    travel_um = np.abs(np.array(truth.positions_um) - before_um)
    assert float(travel_um.max()) <= STILL_TOLERANCE_UM, travel_um


def _true_depth_mm(app: RobotApp) -> float:
    assert app.emulator is not None
    assert app.core is not None
    return app.emulator.truth_now().positions_um[app.core.robot.insertion_index] / 1000.0


def _true_guide_line(
    app: RobotApp, registration: Transform | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The true tip and needle direction, scanner RAS, through ``registration`` (default: the
    calibration in use)."""
    assert app.emulator is not None
    assert app.core is not None
    registration = app.registration if registration is None else registration
    assert registration is not None
    pose = app.core.robot.forward(np.array(app.emulator.true_positions()))
    tip_ras = transform_points(registration, pose.tip_robot_mm)[0]
    direction_ras = transform_vectors(registration, pose.direction_robot)[0]
    return tip_ras, direction_ras


def _miss_mm(app: RobotApp, reached: TransformBody, registration: Transform | None = None) -> float:
    """How far the reached pose lies from the true guide line (mm)."""
    tip_ras, direction_ras = _true_guide_line(app, registration)
    offset = reached.matrix_ras_mm[:3, 3] - tip_ras
    return float(np.linalg.norm(np.cross(offset, direction_ras)))


def _assert_guide_aligned_tool_retracted(app: RobotApp, reached: TransformBody) -> None:
    """The true guide line passes through the reached pose; the true tool is out (brp-2013)."""
    depth_mm = _true_depth_mm(app)
    assert depth_mm <= app.config.supervisor.retracted_band_mm, depth_mm
    assert _miss_mm(app, reached) <= ALIGN_TOLERANCE_MM
    tip_ras, direction_ras = _true_guide_line(app)
    ahead_mm = float(np.dot(reached.matrix_ras_mm[:3, 3] - tip_ras, direction_ras))
    assert ahead_mm > 0.0  # the target lies ahead of the retracted tip


# --- the suite's shared opening -------------------------------------------------------------------


def _start_up(nav: Navigator, ack_s: float, code: int = OK) -> StatusBody:
    nav.command(1, "START_UP", ack_s)
    return nav.status("START_UP", code, LONG_S)


def _planning(nav: Navigator, ack_s: float) -> None:
    nav.command(2, "PLANNING", ack_s)  # brp-2013: no STATUS(PLANNING) follows


def _calibration(nav: Navigator, ack_s: float, m: np.ndarray | None, code: int = OK) -> None:
    nav.command(3, "CALIBRATION", ack_s)  # brp-2013: nothing until the CLB_
    if m is None:
        return
    nav.send_pose("CLB", 4, m)
    nav.echo(4, m, ack_s)
    nav.status("CALIBRATION", code, LONG_S)


def _targeting(nav: Navigator, ack_s: float, code: int = OK) -> None:
    nav.command(5, "TARGETING", ack_s)
    nav.status("TARGETING", code, LONG_S)


def _target(nav: Navigator, m: np.ndarray, code: int = OK) -> TransformBody | None:
    nav.send_pose("TGT", 6, m)
    nav.echo(6, m, MEDIUM_S)
    nav.status("TARGET", code, LONG_S)
    if code != OK:
        return None
    return nav.transform("TARGET", MEDIUM_S)


def _ready_to_move(nav: Navigator, target: np.ndarray) -> TransformBody:
    """Steps 1-4 of tests 1, 6, 7 and 9: start-up short, every other ACK medium."""
    _start_up(nav, SHORT_S)
    _planning(nav, MEDIUM_S)
    _calibration(nav, MEDIUM_S, IDENTITY)
    _targeting(nav, MEDIUM_S)
    reached = _target(nav, target)
    assert reached is not None
    return reached


def _move_to_the_end(app: RobotApp, nav: Navigator, reached: TransformBody) -> None:
    """Step 5 of tests 1 and 9: positions, STATUS(MOVE_TO_TARGET, 1), one final position."""
    nav.command(7, "MOVE_TO_TARGET", MEDIUM_S)
    count, ending = nav.positions_then()
    nav.check_status(ending, "MOVE_TO_TARGET", OK)
    assert count >= 1  # the suite counts them (it needs none, but a move streams some)
    nav.transform("CURRENT_POSITION", MEDIUM_S)
    assert app.state is State.AT_TARGET
    _assert_guide_aligned_tool_retracted(app, reached)


# --- tests 1-9 ------------------------------------------------------------------------------------


def test_1_normal_operation(robot: tuple[RobotApp, Navigator]) -> None:
    """Every phase in turn; MANUAL right after the move, then STOP and EMERGENCY at rest."""
    app, nav = robot
    reached = _ready_to_move(nav, IDENTITY)
    _move_to_the_end(app, nav, reached)
    for number, phase in ((8, "MANUAL"), (9, "STOP"), (10, "EMERGENCY")):
        at_rest_um = _true_positions_um(app)
        nav.command(number, phase, MEDIUM_S)
        nav.status(phase, OK, LONG_S)
        _assert_still_since(app, at_rest_um)
    nav.quiet()


@pytest.mark.parametrize("faulty_robot", ["startup-failure"], indirect=True)
def test_2_start_up_error(faulty_robot: tuple[RobotApp, Navigator]) -> None:
    """START_UP with the hardware unavailable (``--fault startup-failure``): STATUS 13."""
    app, nav = faulty_robot
    before_um = _true_positions_um(app)
    _start_up(nav, SHORT_S, code=NOT_READY)
    nav.quiet()
    assert app.state is State.OFF
    _assert_still_since(app, before_um)


def test_3_calibration_error(robot: tuple[RobotApp, Navigator]) -> None:
    """A calibration whose rotation is all ones is echoed, then refused with STATUS 10."""
    app, nav = robot
    _start_up(nav, MEDIUM_S)
    _planning(nav, SHORT_S)
    at_rest_um = _true_positions_um(app)
    _calibration(nav, SHORT_S, ALL_ONES, code=CONFIG_ERROR)
    nav.quiet()
    assert app.registration is None
    _assert_still_since(app, at_rest_um)


def test_4_targeting_without_calibration(robot: tuple[RobotApp, Navigator]) -> None:
    """CALIBRATION entered but no CLB_ sent: TARGETING is answered STATUS(TARGETING, 13)."""
    app, nav = robot
    _start_up(nav, MEDIUM_S)
    _planning(nav, SHORT_S)
    _calibration(nav, SHORT_S, None)
    at_rest_um = _true_positions_um(app)
    _targeting(nav, SHORT_S, code=NOT_READY)
    nav.quiet()
    _assert_still_since(app, at_rest_um)


def test_5_out_of_range_target(robot: tuple[RobotApp, Navigator]) -> None:
    """A target 5 m up the S-I axis is echoed, then refused with STATUS(TARGET, 10), alone."""
    app, nav = robot
    _start_up(nav, SHORT_S)
    _planning(nav, MEDIUM_S)
    _calibration(nav, MEDIUM_S, IDENTITY)
    _targeting(nav, MEDIUM_S)
    at_rest_um = _true_positions_um(app)
    assert _target(nav, OUT_OF_RANGE, code=CONFIG_ERROR) is None
    nav.quiet()  # no TRANSFORM(TARGET) for a refused target
    assert app.core is not None
    assert app.core.target is None
    _assert_still_since(app, at_rest_um)


@pytest.mark.parametrize("phase", ["STOP", "EMERGENCY"])
def test_6_7_stop_or_emergency_during_the_move(
    robot: tuple[RobotApp, Navigator], phase: str
) -> None:
    """Suite tests 6 (STOP) and 7 (EMERGENCY): the command cuts MOVE_TO_TARGET.

    The suite sends ``CMD_0008`` after the sixth CURRENT_POSITION, lowers its read time-out to
    0.5 s and keeps reading: positions still in flight, then ``ACK_0008``, ``CURRENT_STATUS``
    naming the phase and ``STATUS(<phase>, 1)``. The robot follows the STATUS with one
    CURRENT_POSITION, where it came to rest. The suite's loop has no other way out (test 6 none
    at all, test 7 only on a message type other than TRANSFORM, STRING or STATUS), so it ends on
    its own read time-out (0.5 s by default, 1 s as the simulator's ``main`` sets it), where its
    reader reports a time-out and exits. Here that is the check that nothing more arrives for
    0.5 s, and that no axis moves from the trailing position on.
    """
    app, nav = robot
    reached = _ready_to_move(nav, MOVING_TARGET)
    registration = app.registration  # EMERGENCY forgets it
    nav.command(7, "MOVE_TO_TARGET", MEDIUM_S)
    for _ in range(6):  # the move is still going when the suite cuts it
        nav.transform("CURRENT_POSITION", LONG_S)
    nav.send_command(8, phase)
    message = nav.next(SHORT_S)
    while message.message_type == "TRANSFORM":  # positions sent before the command arrived
        assert message.device_name == "CURRENT_POSITION", message
        message = nav.next(SHORT_S)
    nav.check_string(message, "ACK_0008", phase)
    nav.status("CURRENT_STATUS", OK, SHORT_S, error_name=phase)
    nav.status(phase, OK, SHORT_S)
    nav.transform("CURRENT_POSITION", SHORT_S)
    at_rest_um = _true_positions_um(app)
    nav.quiet()
    _assert_still_since(app, at_rest_um)
    # STOP ends the move keeping the target (MOVING -> TARGET_SET); EMERGENCY latches
    assert app.state is (State.TARGET_SET if phase == "STOP" else State.EMERGENCY_STOP)
    # cut short: the guide is not aligned with the target
    assert _miss_mm(app, reached, registration) > ALIGN_TOLERANCE_MM
    assert _true_depth_mm(app) <= app.config.supervisor.retracted_band_mm


def test_8_move_to_target_without_a_target(robot: tuple[RobotApp, Navigator]) -> None:
    """Calibrated, in TARGETING, no TGT_ sent: MOVE_TO_TARGET is answered 13 within 1 s."""
    app, nav = robot
    _start_up(nav, SHORT_S)
    _planning(nav, MEDIUM_S)
    _calibration(nav, MEDIUM_S, IDENTITY)
    _targeting(nav, MEDIUM_S)
    at_rest_um = _true_positions_um(app)
    nav.command(7, "MOVE_TO_TARGET", MEDIUM_S)
    nav.status("MOVE_TO_TARGET", NOT_READY, MEDIUM_S)
    # the suite's last check point; mrbot follows a refused move with where it stands
    # (docs/OPENIGTLINK.md 4.4), which the suite, done by then, does not read
    nav.transform("CURRENT_POSITION", MEDIUM_S)
    nav.quiet()
    _assert_still_since(app, at_rest_um)


def test_9_accidental_command_during_manual_mode(robot: tuple[RobotApp, Navigator]) -> None:
    """After the move, MANUAL; a MOVE_TO_TARGET then is refused (13) and the robot stays put.

    The suite ends by asking the operator to confirm that the robot did not move; here the
    emulator's true axes confirm it.
    """
    app, nav = robot
    reached = _ready_to_move(nav, IDENTITY)
    _move_to_the_end(app, nav, reached)
    nav.command(8, "MANUAL", MEDIUM_S)
    nav.status("MANUAL", OK, LONG_S)
    in_manual_um = _true_positions_um(app)
    nav.command(9, "MOVE_TO_TARGET", MEDIUM_S)
    nav.status("MOVE_TO_TARGET", NOT_READY, MEDIUM_S)
    nav.transform("CURRENT_POSITION", MEDIUM_S)  # after the suite's last read, as in test 8
    nav.quiet()
    _assert_still_since(app, in_manual_um)
    assert app.state is State.MANUAL


# --- test 10, as the protocol has it -----------------------------------------------------------


@pytest.mark.parametrize("faulty_robot", ["hardware-failure-mid-move"], indirect=True)
def test_10_a_hardware_failure_mid_move_is_answered_18_not_target_1(
    faulty_robot: tuple[RobotApp, Navigator],
) -> None:
    """Suite test 10 expects STATUS(TARGET, 1) after the hardware fails mid-move; the protocol's
    error table (and mrbot) answer STATUS(MOVE_TO_TARGET, 18) instead, and the axes stop."""
    app, nav = faulty_robot
    _ready_to_move(nav, IDENTITY)
    nav.command(7, "MOVE_TO_TARGET", MEDIUM_S)
    _, ending = nav.positions_then()
    nav.check_status(ending, "MOVE_TO_TARGET", HARDWARE_FAULT)
    nav.transform("CURRENT_POSITION", MEDIUM_S)
    assert app.state is State.FAULT
    assert app.emulator is not None
    emulator = app.emulator
    wait_for(lambda: not any(emulator.truth_now().moving), timeout_s=2.0, what="axes at rest")
