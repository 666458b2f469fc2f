# mypy: disable-error-code="comparison-overlap, unreachable"
# (states change through calls mypy cannot see, so its narrowing of `.state` is wrong here)
"""Controller driver against the in-process emulator in simulated time."""

from __future__ import annotations

import math
import threading

import pytest

from firmware_interfaces import FirmwareState, GetParam, ParamId, StopCategory
from hal import (
    CallbackReturn,
    HandshakeError,
    ImagingInterlockError,
    LifecycleError,
    LifecycleState,
    MotionBusyError,
    NackError,
    RequestTimeoutError,
    VersionMismatchError,
)
from hal.emulator import EmulatedFirmware, FaultKind, FaultSpec, emulator_config_for
from safety.errors import PermitError
from safety.permits import JointEnvelope
from tests.support.firmware import FAST_CONFIG, SimRig


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
    with pytest.raises(PermitError):
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
    with pytest.raises(PermitError, match="y1"):
        rig.driver.move({"x1": 2.0, "y1": 1.0}, permit=permit, speeds={"x1": 10.0})
    with pytest.raises(PermitError, match="outside the permit envelope"):
        rig.driver.move({"x1": 6.0}, permit=permit, speeds={"x1": 10.0})


def test_an_expired_permit_is_refused(rig):
    rig.up()
    permit = rig.permit(lease_s=0.5)
    rig.run(0.6)
    with pytest.raises(PermitError, match="expired"):
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
    with rig.driver._motion_lock, pytest.raises(MotionBusyError):
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
    with pytest.raises(NackError, match="NOT_HOMED"):
        rig.driver.move({"x1": 1.0}, permit=rig.permit())


def test_stop_halts_motion_and_is_repeated_until_acknowledged_at_standstill(rig):
    rig.up()
    rig.driver.move({"x1": 20.0}, permit=rig.permit())
    rig.run(0.02)
    assert rig.driver.stop(StopCategory.CAT2) is True
    assert rig.axes_stopped()
    rig.run(0.1)
    assert rig.driver._stop_pending is None
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


def test_a_raising_fault_callback_does_not_kill_the_reader(rig):
    def explode(event):
        raise RuntimeError("callback bug")

    rig.driver._on_fault_cb = explode
    rig.up()
    rig.firmware.press_estop()
    rig.run(0.05)
    kinds = []
    while not rig.driver.faults.empty():
        kinds.append(rig.driver.faults.get_nowait().kind)
    assert "firmware_fault" in {k.value for k in kinds}
    assert rig.driver.link.is_up


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
    rig.firmware._injector._drop = (FaultSpec(kind=FaultKind.DROP_FRAMES, probability=1.0),)
    with pytest.raises(RequestTimeoutError):
        rig.driver.link.request(
            GetParam(param=ParamId.WATCHDOG_MS, axis=0xFF), timeout_s=0.01, retries=2
        )
    assert rig.driver.state is LifecycleState.INACTIVE
    assert rig.driver._stop_pending is StopCategory.CAT1
