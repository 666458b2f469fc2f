"""Motion commands against the in-process emulator: stops win, ids survive a restart, holds."""

from __future__ import annotations

import threading

import pytest

from firmware_interfaces import FirmwareState, Frame, FrameDecoder, Move, StopCategory
from hal import (
    CallbackReturn,
    ControllerDriver,
    HalError,
    MotionBusyError,
    PermitRefusedError,
    RequestAbortedError,
)
from safety.permits import JointEnvelope
from tests.support.firmware import FAST_CONFIG, SimRig, motion_in_progress
from tests.support.polling import wait_for


@pytest.fixture
def rig():
    rig = SimRig()
    yield rig
    rig.close()


def move_frames(rig):
    return [m for m in rig.driver.link.recorder.snapshot() if m.summary.startswith("Move(")]


def lose_frames(rig, lost):
    """Make the wire drop every host frame for which ``lost(message)`` is true."""
    original = rig.firmware.receive

    def receive(data):
        frames = [i for i in FrameDecoder().feed(data) if isinstance(i, Frame)]
        if any(lost(f.message) for f in frames):
            return
        original(data)

    rig.firmware.receive = receive


def permit_for(rig, *, x1=(-25.0, 25.0), speed=200.0):
    envelopes = [
        JointEnvelope(
            joint=a.name,
            min_position=x1[0] if a.name == "x1" else a.min_position,
            max_position=x1[1] if a.name == "x1" else a.max_position,
            max_speed=speed,
        )
        for a in FAST_CONFIG.axes
    ]
    return rig.authority.issue(plan_id="p", envelopes=envelopes, lease_s=60)


# --- a stop wins over a move being sent (finding 1) ---------------------------------------------


def test_a_stop_while_a_move_waits_for_its_ack_is_not_undone_by_the_retry(rig):
    rig.up()
    lost: list[Move] = []

    def first_move(message):
        if isinstance(message, Move) and not lost:
            lost.append(message)
            return True
        return False

    lose_frames(rig, first_move)
    outcome: list[object] = []
    permit = rig.permit()

    def mover() -> None:
        try:
            outcome.append(rig.driver.move({"x1": 20.0}, permit=permit))
        except HalError as err:
            outcome.append(err)

    thread = threading.Thread(target=mover, name="test-move")
    thread.start()
    wait_for(lambda: bool(lost), what="the first MOVE frame")
    assert rig.driver.stop(StopCategory.CAT2)
    thread.join(2.0)
    assert not thread.is_alive()
    assert isinstance(outcome[0], RequestAbortedError)
    assert len(move_frames(rig)) == 1, "the MOVE was retried after the stop"
    rig.run(0.05)
    assert rig.axes_stopped()
    assert rig.firmware.state is not FirmwareState.MOVING
    wait_for(lambda: rig.driver.pending_stop is None, what="the stop acknowledged at standstill")


class _StopWhileChecking:
    """A verifier that lets another party call stop() while the move is being validated."""

    def __init__(self):
        self._verifier = None
        self.driver = None  # armed once set

    def wrap(self, verifier):
        self._verifier = verifier
        return self

    def check(self, permit, **kwargs):
        assert self._verifier is not None, "wrap() gives the checker its verifier"
        if self.driver is not None:
            self.driver.stop(StopCategory.CAT2)
        return self._verifier.check(permit, **kwargs)


def test_a_stop_issued_after_a_move_was_asked_for_withdraws_it_before_the_wire():
    checker = _StopWhileChecking()
    rig = SimRig(wrap_verifier=checker.wrap)
    try:
        rig.up()
        checker.driver = rig.driver
        with pytest.raises(RequestAbortedError, match="stop"):
            rig.driver.move({"x1": 20.0}, permit=rig.permit())
        assert move_frames(rig) == []
        rig.run(0.05)
        assert rig.axes_stopped()
    finally:
        rig.close()


def test_a_move_after_a_stop_supersedes_the_pending_stop(rig):
    rig.up()
    rig.driver.stop(StopCategory.CAT2)
    rig.driver.move({"x1": 5.0}, permit=rig.permit())
    assert rig.driver.pending_stop is None
    rig.run_until(lambda: rig.firmware.state is FirmwareState.ENABLED)
    rig.run(0.01)  # one more telemetry period
    assert rig.driver.axes["x1"].position() == pytest.approx(5.0, abs=0.1)


# --- command ids survive a host restart (finding 3) --------------------------------------------


def test_after_a_host_restart_the_first_move_is_executed_not_ignored_as_a_repeat(rig):
    rig.up()
    first = rig.driver.move({"x1": 5.0}, permit=rig.permit())
    rig.run_until(lambda: rig.firmware.state is FirmwareState.ENABLED)
    rig.driver.close()
    rig.firmware.detach()
    # the host process restarts: a new driver against the same, still powered firmware
    rig.driver = ControllerDriver(
        rig.config,
        rig.port,
        rig.clock,
        rig.authority.verifier,
        on_fault=rig.events.append,
        heartbeat_thread=False,
    )
    rig._read_base = 0
    rig._written_base = rig.firmware.counters.frames_written
    rig.up(home=False)
    rig.run(0.01)
    second = rig.driver.move({"x1": -10.0}, permit=rig.permit())
    assert second == first + 1
    rig.run_until(lambda: rig.firmware.state is FirmwareState.ENABLED)
    rig.run(0.01)
    assert rig.driver.axes["x1"].position() == pytest.approx(-10.0, abs=0.1)


def test_command_ids_continue_from_the_firmware_and_wrap_past_zero(rig):
    rig.firmware.last_command_id = 0xFFFF_FFFE
    rig.up()
    assert rig.driver.move({"x1": 1.0}, permit=rig.permit()) == 0xFFFF_FFFF
    rig.run_until(lambda: rig.firmware.state is FirmwareState.ENABLED)
    rig.run(0.01)
    assert rig.driver.move({"x1": 2.0}, permit=rig.permit()) == 1
    rig.run_until(lambda: rig.firmware.state is FirmwareState.ENABLED)
    assert rig.firmware.last_command_id == 1


# --- unlisted axes hold only at rest (finding 4) -----------------------------------------------


def test_a_move_is_refused_while_an_unlisted_axis_is_still_moving(rig):
    rig.up()
    rig.driver.move({"y1": 20.0}, permit=rig.permit(), speeds={"y1": 20.0})
    rig.run(0.3)
    assert rig.firmware.axes[1].moving
    with pytest.raises(MotionBusyError, match="y1"):
        rig.driver.move({"x1": 1.0}, permit=rig.permit())
    assert len(move_frames(rig)) == 1
    insertion = rig.driver.axes["insertion"].commanded()
    assert insertion is not None
    # every axis of the running move listed: it replaces that move
    rig.driver.move({"x1": 1.0, "y1": 20.0, "insertion": insertion}, permit=rig.permit())
    rig.run_until(lambda: rig.firmware.state is FirmwareState.ENABLED)
    rig.run(0.01)
    assert rig.driver.axes["y1"].position() == pytest.approx(20.0, abs=0.1)


def test_a_move_is_refused_while_telemetry_does_not_show_the_previous_move_yet(rig):
    rig.up()
    rig.driver.move({"y1": 20.0}, permit=rig.permit(), speeds={"y1": 20.0})
    with pytest.raises(MotionBusyError, match="y1"):
        rig.driver.move({"x1": 1.0}, permit=rig.permit())
    assert len(move_frames(rig)) == 1
    assert rig.driver.counters().refused_motions == 1


def test_a_running_move_may_be_replaced_by_one_that_lists_every_axis(rig):
    rig.up()
    rig.driver.move({"x1": 3.0}, permit=rig.permit())
    held = {name: axis.commanded() for name, axis in rig.driver.axes.items()}
    rig.driver.move(
        {"x1": 4.0, "y1": held["y1"], "insertion": held["insertion"]}, permit=rig.permit()
    )
    rig.run_until(lambda: rig.firmware.state is FirmwareState.ENABLED)
    rig.run(0.01)
    assert rig.driver.axes["x1"].position() == pytest.approx(4.0, abs=0.1)


# --- homing: one motion owner, permit over range and speed (finding 6) -------------------------


def test_home_is_refused_while_another_motion_request_is_in_progress(rig):
    rig.up(home=False)
    with motion_in_progress(rig), pytest.raises(MotionBusyError):
        rig.driver.home(permit=rig.permit())
    assert rig.firmware.state is not FirmwareState.HOMING


def test_a_homing_permit_must_cover_the_whole_soft_range(rig):
    rig.up(home=False)
    with pytest.raises(PermitRefusedError, match="outside the permit envelope"):
        rig.driver.home(("x1",), permit=permit_for(rig, x1=(-25.0, -20.0)))
    assert rig.firmware.state is not FirmwareState.HOMING


def test_a_homing_permit_must_allow_the_homing_speed(rig):
    rig.up(home=False)  # the fast emulator homes at 200 mm/s
    with pytest.raises(PermitRefusedError, match="exceeds the permit cap"):
        rig.driver.home(("x1",), permit=permit_for(rig, speed=10.0))
    assert rig.firmware.state is not FirmwareState.HOMING


def test_the_homing_speed_is_read_from_the_firmware():
    rig = SimRig(homing_velocity_um_s=5_000)
    try:
        assert rig.driver.configure() is CallbackReturn.SUCCESS
        assert rig.driver.homing_speeds == {"x1": 5.0, "y1": 5.0, "insertion": 5.0}
        rig.run(0.02)
        assert rig.driver.activate() is CallbackReturn.SUCCESS
        rig.driver.home(("x1",), permit=permit_for(rig, speed=5.0))
        assert rig.firmware.state is FirmwareState.HOMING
    finally:
        rig.close()
