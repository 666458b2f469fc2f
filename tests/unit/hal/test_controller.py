# mypy: disable-error-code="comparison-overlap, unreachable"
# (states change through calls mypy cannot see, so its narrowing of `.state` is wrong here)
"""Controller driver against the in-process emulator in simulated time."""

from __future__ import annotations

import math
import threading

import pytest

from firmware_interfaces import (
    Ack,
    ClearFault,
    Enable,
    EStop,
    Fault,
    FaultCode,
    FirmwareState,
    Frame,
    FrameDecoder,
    GetParam,
    ParamId,
    Stop,
    StopCategory,
)
from hal import (
    CallbackReturn,
    HalFaultKind,
    HandshakeError,
    ImagingInterlockError,
    LifecycleError,
    LifecycleState,
    MotionBusyError,
    NackError,
    PermitRefusedError,
    RequestTimeoutError,
    VersionMismatchError,
)
from hal.emulator import EmulatedFirmware, emulator_config_for
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


def test_lifecycle_goes_unconfigured_inactive_active_and_back(rig):
    driver = rig.driver
    assert driver.state is LifecycleState.UNCONFIGURED
    assert driver.configure() is CallbackReturn.SUCCESS
    assert driver.state is LifecycleState.INACTIVE
    assert driver.ident is not None
    assert driver.activate() is CallbackReturn.SUCCESS
    assert all(a.enabled for a in rig.firmware.axes)
    assert driver.deactivate() is CallbackReturn.SUCCESS
    assert not any(a.enabled for a in rig.firmware.axes)
    assert driver.cleanup() is CallbackReturn.SUCCESS
    assert driver.state is LifecycleState.UNCONFIGURED


def test_lifecycle_calls_in_the_wrong_state_return_failure_instead_of_raising(rig):
    assert rig.driver.activate() is CallbackReturn.FAILURE
    assert isinstance(rig.driver.last_error, LifecycleError)
    assert rig.driver.deactivate() is CallbackReturn.FAILURE


def test_another_protocol_major_is_refused_with_an_error_naming_both_versions():
    config = emulator_config_for(FAST_CONFIG)
    firmware = EmulatedFirmware(type(config)(**{**_fields(config), "protocol_version": (2, 3)}))
    rig = SimRig(emulator=firmware)
    try:
        assert rig.driver.configure() is CallbackReturn.FAILURE
        error = rig.driver.last_error
        assert isinstance(error, VersionMismatchError)
        assert (error.host, error.firmware) == ((1, 0), (2, 3))
        assert "1.0" in str(error)
        assert "2.3" in str(error)
        assert rig.driver.state is LifecycleState.UNCONFIGURED
        assert not rig.driver.link.is_up
    finally:
        rig.close()


def _fields(config):
    return {name: getattr(config, name) for name in config.__dataclass_fields__}


def test_firmware_limits_that_differ_from_the_configuration_fail_the_handshake():
    firmware = EmulatedFirmware(emulator_config_for(FAST_CONFIG))
    firmware.axes[1].soft_max_um = 30_000
    rig = SimRig(emulator=firmware)
    try:
        assert rig.driver.configure() is CallbackReturn.FAILURE
        assert isinstance(rig.driver.last_error, HandshakeError)
        assert "SOFT_LIMIT_MAX_UM is 30000 um" in str(rig.driver.last_error)
    finally:
        rig.close()


def test_move_is_refused_without_a_permit_and_no_frame_is_sent(rig):
    rig.up()
    with pytest.raises(PermitRefusedError):
        rig.driver.move({"x1": 1.0}, permit=None)
    assert move_frames(rig) == []
    assert rig.driver.counters().refused_motions == 1


def test_move_is_refused_when_the_permit_does_not_cover_every_moving_axis(rig):
    rig.up()
    permit = rig.authority.issue(
        plan_id="p",
        envelopes=[JointEnvelope(joint="x1", min_position=-5, max_position=5, max_speed=10)],
        lease_s=10,
    )
    rig.driver.move({"x1": 2.0}, permit=permit, speeds={"x1": 10.0})
    with pytest.raises(PermitRefusedError, match="y1"):
        rig.driver.move({"x1": 2.0, "y1": 1.0}, permit=permit, speeds={"x1": 10.0})
    with pytest.raises(PermitRefusedError, match="outside the permit envelope"):
        rig.driver.move({"x1": 6.0}, permit=permit, speeds={"x1": 10.0})


def test_an_expired_permit_is_refused(rig):
    rig.up()
    permit = rig.permit(lease_s=0.5)
    rig.run(0.6)
    with pytest.raises(PermitRefusedError, match="expired"):
        rig.driver.move({"x1": 1.0}, permit=permit)


def test_motion_outside_active_raises_a_lifecycle_error(rig):
    rig.up()
    assert rig.driver.deactivate() is CallbackReturn.SUCCESS
    with pytest.raises(LifecycleError, match="needs active"):
        rig.driver.move({"x1": 1.0}, permit=rig.permit())


@pytest.mark.parametrize("target", [math.nan, math.inf, 25.5])
def test_non_finite_or_out_of_limit_targets_are_rejected_before_the_wire(rig, target):
    rig.up()
    with pytest.raises(ValueError, match="x1"):
        rig.driver.move({"x1": target}, permit=rig.permit())
    assert move_frames(rig) == []


def test_a_second_concurrent_motion_request_is_refused_at_once(rig):
    rig.up()
    with motion_in_progress(rig), pytest.raises(MotionBusyError):
        rig.driver.move({"x1": 1.0}, permit=rig.permit())


def test_coordinated_move_sends_one_frame_and_all_axes_arrive(rig):
    rig.up()
    command_id = rig.driver.move({"x1": 10.0, "y1": -5.0, "insertion": 40.0}, permit=rig.permit())
    assert len(move_frames(rig)) == 1
    rig.run_until(lambda: rig.firmware.state is FirmwareState.ENABLED)
    rig.run(0.01)  # one more telemetry period
    positions = {name: axis.position() for name, axis in rig.driver.axes.items()}
    assert positions["x1"] == pytest.approx(10.0, abs=0.1)
    assert positions["y1"] == pytest.approx(-5.0, abs=0.1)
    assert positions["insertion"] == pytest.approx(40.0, abs=0.02)
    assert rig.driver.link.latest.telemetry.last_command_id == command_id


def test_unlisted_axes_hold_their_position_in_a_coordinated_move(rig):
    rig.up()
    held = rig.driver.axes["insertion"].commanded()
    rig.driver.move({"x1": 3.0}, permit=rig.permit())
    rig.run_until(lambda: rig.firmware.state is FirmwareState.ENABLED)
    assert rig.driver.axes["insertion"].commanded() == pytest.approx(held, abs=0.01)


def test_firmware_nack_reaches_the_caller_with_its_reason(rig):
    rig.up(home=False)
    rig.run(0.01)  # telemetry after the enable shows where the unlisted axes hold
    with pytest.raises(NackError, match="NOT_HOMED"):
        rig.driver.move({"x1": 1.0}, permit=rig.permit())


def test_stop_halts_motion_and_is_repeated_until_acknowledged_at_standstill(rig):
    rig.up()
    rig.driver.move({"x1": 20.0}, permit=rig.permit())
    rig.run(0.02)
    assert rig.driver.stop(StopCategory.CAT2) is True
    assert rig.axes_stopped()
    rig.run(0.1)
    assert rig.driver.pending_stop is None
    assert rig.firmware.axes[0].enabled, "Cat 2 holds with drives on"


def test_stop_and_estop_never_raise_even_without_a_link(rig):
    assert rig.driver.stop() is False
    assert rig.driver.estop() is False
    assert rig.driver.estop() is False


def test_estop_stops_disables_latches_and_leaves_active(rig):
    rig.up()
    rig.driver.move({"x1": 20.0}, permit=rig.permit())
    rig.run(0.02)
    assert rig.driver.estop() is True
    assert rig.firmware.state is FirmwareState.ESTOP
    assert not any(a.enabled or a.moving for a in rig.firmware.axes)
    assert rig.driver.state is LifecycleState.INACTIVE
    rig.run(0.05)
    status = rig.driver.read(rig.clock.now_s())
    assert status.estop_open
    assert not status.ok
    assert rig.driver.activate() is CallbackReturn.FAILURE
    assert "ESTOP_ACTIVE" in str(rig.driver.last_error)
    rig.driver.clear_fault()
    assert rig.driver.activate() is CallbackReturn.SUCCESS


def test_estop_from_many_threads_at_once_is_idempotent(rig):
    rig.up()
    threads = [threading.Thread(target=rig.driver.estop, name=f"estop-{i}") for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(1.0)
    estops = [f for f in rig.driver.link.recorder.snapshot() if f.summary.startswith("EStop(")]
    assert len(estops) == 8
    assert rig.firmware.state is FirmwareState.ESTOP


def test_read_reports_a_comm_timeout_when_telemetry_stops(rig):
    rig.up()
    assert rig.driver.read(rig.clock.now_s()).ok
    rig.clock.advance(0.1)
    status = rig.driver.read(rig.clock.now_s())
    assert status.comm_timeout
    assert not status.ok
    assert status.telemetry_age_s == pytest.approx(0.1, abs=0.01)


def test_read_never_raises_before_configure(rig):
    status = rig.driver.read(rig.clock.now_s())
    assert status.link_down
    assert status.comm_timeout
    assert not status.ok


def test_heartbeats_keep_the_firmware_watchdog_quiet_for_a_long_move(rig):
    rig.up()
    rig.driver.move({"x1": 25.0, "y1": 25.0}, permit=rig.permit(), duration_s=1.0)
    rig.run(1.2)
    assert rig.firmware.state is FirmwareState.ENABLED
    assert rig.events == []
    assert rig.driver.counters().heartbeats_sent >= 20


def test_every_frame_type_sent_by_the_driver_is_acknowledged_or_answered(rig):
    rig.up()
    rig.driver.move({"x1": 1.0}, permit=rig.permit())
    rig.run(0.1)
    counters = rig.driver.counters()
    assert counters.ack_timeouts == 0
    assert counters.nacks == {}
    assert counters.seq_gaps == 0


def test_flight_recorder_keeps_the_last_2_s_of_frames_both_ways(rig):
    rig.up()
    rig.run(3.0)
    frames = rig.driver.link.recorder.snapshot()
    directions = {f.direction.value for f in frames}
    assert directions == {"tx", "rx"}
    assert any(f.summary.startswith("Telemetry") for f in frames)
    assert any(f.summary.startswith("Heartbeat") for f in frames)
    span_s = frames[-1].at_s - frames[0].at_s
    assert 1.9 <= span_s <= 2.0


def test_reconnect_retries_with_backoff_until_the_port_comes_back(rig, mocker):
    rig.up(home=False)
    rig.firmware.detach()
    rig.port.refuse_connections = True
    waits = []

    def backoff(seconds):
        waits.append(seconds)
        if len(waits) == 2:
            rig.port.refuse_connections = False

    mocker.patch.object(rig.driver, "_backoff", side_effect=backoff)
    assert rig.driver.reconnect(attempts=4, backoff_s=0.1) is CallbackReturn.SUCCESS
    assert waits == [0.1, 0.2]
    assert rig.driver.state is LifecycleState.INACTIVE


def test_reconnect_gives_up_after_its_attempts_with_the_transport_error(rig):
    rig.up(home=False)
    rig.firmware.detach()
    rig.port.refuse_connections = True
    assert rig.driver.reconnect(attempts=2, backoff_s=0.0) is CallbackReturn.ERROR
    assert "refuses connections" in str(rig.driver.last_error)
    assert rig.driver.state is LifecycleState.UNCONFIGURED


def test_stop_with_a_bogus_category_still_stops_in_category_1(rig):
    rig.up()
    rig.driver.move({"x1": 20.0}, permit=rig.permit())
    rig.run(0.02)
    assert rig.driver.stop(7) is True
    assert rig.axes_stopped()
    assert not rig.firmware.axes[0].enabled


def test_a_raising_fault_callback_does_not_kill_the_reader():
    def explode(event):
        raise RuntimeError("callback bug")

    rig = SimRig(on_fault=explode)
    try:
        rig.up()
        rig.firmware.press_estop()
        rig.run(0.05)
        kinds = []
        while not rig.driver.faults.empty():
            kinds.append(rig.driver.faults.get_nowait().kind)
        assert "firmware_fault" in {k.value for k in kinds}
        assert rig.driver.link.is_up
    finally:
        rig.close()


def test_a_coordinated_move_of_a_piezo_axis_is_refused_while_imaging(rig):
    rig.up()
    with pytest.raises(ImagingInterlockError, match="insertion"):
        rig.driver.move({"x1": 1.0, "insertion": 30.0}, permit=rig.permit(), imaging=True)
    assert move_frames(rig) == []
    rig.driver.move({"x1": 1.0}, permit=rig.permit(), imaging=True)  # pneumatic: imaging-safe


def test_a_request_that_times_out_after_its_retries_stops_the_axes(rig):
    rig.up()
    rig.driver.move({"x1": 20.0}, permit=rig.permit())
    rig.run(0.02)
    lose_frames(rig, lambda message: True)  # the wire drops every host frame from now on
    with pytest.raises(RequestTimeoutError):
        rig.driver.link.request(
            GetParam(param=ParamId.WATCHDOG_MS, axis=0xFF), timeout_s=0.01, retries=2
        )
    assert rig.driver.state is LifecycleState.INACTIVE
    assert rig.driver.pending_stop is StopCategory.CAT1


def lose_frames(rig, lost):
    """Make the wire drop every host frame for which ``lost(message)`` is true; returns undo."""
    original = rig.firmware.receive

    def receive(data):
        frames = [i for i in FrameDecoder().feed(data) if isinstance(i, Frame)]
        if any(lost(f.message) for f in frames):
            return
        original(data)

    rig.firmware.receive = receive

    def undo():
        rig.firmware.receive = original

    return undo


def is_cat1_stop(message):
    return isinstance(message, Stop) and message.category is StopCategory.CAT1


def test_the_ack_of_a_weaker_stop_does_not_clear_a_pending_stronger_one(rig):
    rig.up()
    undo = lose_frames(rig, is_cat1_stop)
    held: list[object] = []
    hook = rig.driver.link.reply_hook
    rig.driver.link.set_reply_hook(held.append)  # replies arrive late (serial latency)
    rig.driver.stop(StopCategory.CAT2)
    rig.driver.stop(StopCategory.CAT1)  # its frame is lost
    wait_for(lambda: any(isinstance(m, Ack) for m in held), what="the ACK of the Cat 2 stop")
    rig.driver.link.set_reply_hook(hook)
    for message in held:
        hook(message)
    assert rig.driver.pending_stop is StopCategory.CAT1
    undo()
    rig.run(0.1)  # the heartbeat repeats the Cat 1 stop until it is acknowledged
    assert not any(a.enabled for a in rig.firmware.axes), "Cat 1 disables the drives"
    assert rig.driver.pending_stop is None


def test_the_stop_of_deactivate_does_not_clear_a_pending_stronger_stop(rig):
    rig.up()
    undo = lose_frames(rig, is_cat1_stop)
    rig.driver.stop(StopCategory.CAT1)
    assert rig.driver.deactivate() is CallbackReturn.SUCCESS  # its Cat 2 stop is acknowledged
    rig.run(0.01, heartbeat=False)
    assert rig.driver.pending_stop is StopCategory.CAT1
    undo()
    rig.run(0.1)
    assert rig.driver.pending_stop is None


def test_no_telemetry_at_all_after_configure_is_a_link_timeout_that_stops(rig):
    assert rig.driver.configure() is CallbackReturn.SUCCESS
    assert rig.driver.link.latest is None  # the emulator sends telemetry only when stepped
    rig.clock.advance(0.02)  # within 5 telemetry periods of 5 ms
    rig.driver.heartbeat_once()
    assert rig.events_of(HalFaultKind.LINK_TIMEOUT) == []
    rig.clock.advance(0.01)
    rig.driver.heartbeat_once()
    (event,) = rig.events_of(HalFaultKind.LINK_TIMEOUT)
    assert "since configure" in event.detail
    assert rig.driver.pending_stop is StopCategory.CAT1
    rig.driver.heartbeat_once()
    assert len(rig.events_of(HalFaultKind.LINK_TIMEOUT)) == 1, "reported once"


def test_a_fault_while_activate_waits_for_the_enable_ack_fails_the_activation(rig):
    assert rig.driver.configure() is CallbackReturn.SUCCESS
    rig.run(0.02)
    original = rig.firmware.receive

    def receive(data):
        frames = [i for i in FrameDecoder().feed(data) if isinstance(i, Frame)]
        if any(isinstance(f.message, Enable) for f in frames):
            rig.firmware.send(Fault(code=FaultCode.FOLLOWING_ERROR, axis=0, detail=0))
        original(data)

    rig.firmware.receive = receive
    assert rig.driver.activate() is CallbackReturn.ERROR
    assert "fault or e-stop" in str(rig.driver.last_error)
    assert rig.driver.state is LifecycleState.INACTIVE
    rig.firmware.receive = original
    rig.run(0.05)
    assert not any(a.enabled for a in rig.firmware.axes)
    assert rig.driver.faults.get_nowait().kind is HalFaultKind.FIRMWARE_FAULT


def test_an_estop_while_clear_fault_waits_for_its_ack_stays_pending(rig):
    rig.up()
    rig.driver.estop()
    rig.run(0.05)
    assert not rig.driver.estop_pending  # acknowledged
    original = rig.firmware.receive
    threads: list[threading.Thread] = []

    def receive(data):
        frames = [i for i in FrameDecoder().feed(data) if isinstance(i, Frame)]
        if any(isinstance(f.message, EStop) for f in frames):
            return  # the concurrent e-stop's frame is lost
        if any(isinstance(f.message, ClearFault) for f in frames) and not threads:
            thread = threading.Thread(target=rig.driver.estop, name="test-estop")
            threads.append(thread)
            thread.start()
            wait_for(lambda: rig.driver.estop_pending, what="the e-stop call")
        original(data)

    rig.firmware.receive = receive
    rig.driver.clear_fault()
    threads[0].join(1.0)
    assert rig.driver.estop_pending, "clear_fault wiped an e-stop issued while it waited"
    rig.firmware.receive = original
    rig.run(0.1)  # the heartbeat repeats the e-stop
    assert rig.firmware.state is FirmwareState.ESTOP
    assert not rig.driver.estop_pending
