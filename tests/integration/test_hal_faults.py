"""Every fault of the emulator's fault plan, against the real driver, in simulated time.

Each test states its bound in simulated seconds from the fault's onset to the driver's report,
and checks that the axes end stopped. Simulated time: the emulator and the driver's clock move
together under the test's control; only the driver's reader thread is real.
"""

# mypy: disable-error-code="comparison-overlap, unreachable"

from __future__ import annotations

import pytest

from firmware_interfaces import FirmwareState, GetParam, ParamId
from hal import (
    CallbackReturn,
    FaultEvent,
    HalFaultKind,
    LifecycleState,
    NackError,
    RequestTimeoutError,
)
from hal.emulator import FaultKind, FaultPlan, FaultSpec
from tests.support.firmware import SimRig
from tests.support.polling import wait_for

ONSET_S = 1.0  # every timed fault starts 1 s into the emulator's life, during a long move


def rig_with(*faults: FaultSpec, seed: int = 1) -> SimRig:
    return SimRig(FaultPlan(faults=faults, seed=seed))


@pytest.fixture
def make_rig():
    rigs: list[SimRig] = []

    def make(*faults: FaultSpec, seed: int = 1) -> SimRig:
        rig = rig_with(*faults, seed=seed)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


def moving_at_onset(rig: SimRig) -> None:
    """Bring the rig up and start a 2 s move that is under way at ``ONSET_S``."""
    rig.up()
    assert rig.firmware.time_s < ONSET_S - 0.2
    rig.driver.move(
        {"x1": 25.0, "y1": 25.0, "insertion": 90.0}, permit=rig.permit(), duration_s=2.0
    )
    rig.run(ONSET_S - rig.firmware.time_s)


def first(rig: SimRig, kind: HalFaultKind, *, code: str | None = None, limit_s: float = 1.0):
    """Run until the driver reports ``kind`` (with firmware ``code``); returns the event."""

    def found():
        return [e for e in rig.events_of(kind) if code is None or e.code == code]

    rig.run_until(lambda: bool(found()), limit_s=limit_s)
    return found()[0]


def latency_s(rig: SimRig, event: FaultEvent) -> float:
    """Simulated seconds from the fault onset to the event."""
    offset_s = rig.clock.now_s() - rig.firmware.time_s
    return event.at_s - offset_s - ONSET_S


def assert_stopped(rig: SimRig) -> None:
    rig.run(0.3)  # long enough for the firmware watchdog, too
    assert rig.axes_stopped()
    assert rig.driver.state is not LifecycleState.ACTIVE


def test_drop_frames_at_a_low_rate_is_absorbed_by_retries(make_rig):
    rig = make_rig(FaultSpec(kind=FaultKind.DROP_FRAMES, probability=0.15), seed=3)
    rig.up(home=False)
    for axis in range(3):
        for param in (ParamId.SOFT_LIMIT_MIN_UM, ParamId.SOFT_LIMIT_MAX_UM):
            rig.driver.link.request(GetParam(param=param, axis=axis), timeout_s=0.02, retries=2)
    counters = rig.driver.counters()
    assert counters.retries > 0
    assert rig.firmware.injector_stats.dropped_rx + rig.firmware.injector_stats.dropped_tx > 0


def test_drop_frames_for_good_is_a_link_timeout_within_80_ms_and_the_watchdog_stops_the_axes(
    make_rig,
):
    rig = make_rig(FaultSpec(kind=FaultKind.DROP_FRAMES, at_s=ONSET_S))
    moving_at_onset(rig)
    event = first(rig, HalFaultKind.LINK_TIMEOUT)
    assert latency_s(rig, event) <= 0.08  # 5 telemetry periods (25 ms) + one heartbeat (50 ms)
    watchdog_s = rig.run_until(lambda: rig.firmware.state is FirmwareState.FAULT)
    assert watchdog_s <= 0.3
    assert rig.firmware.fault_latched.name == "WATCHDOG"
    assert_stopped(rig)


def test_corrupt_bytes_are_counted_as_frame_faults_and_end_in_a_stop(make_rig):
    rig = make_rig(FaultSpec(kind=FaultKind.CORRUPT_BYTES, at_s=ONSET_S))
    moving_at_onset(rig)
    event = first(rig, HalFaultKind.LINK_TIMEOUT)
    assert latency_s(rig, event) <= 0.08
    faults = rig.driver.counters().frame_faults
    assert sum(faults.values()) > 0
    assert set(faults) <= {"crc", "cobs", "short", "bad_length", "bad_payload", "unknown_type"}
    assert_stopped(rig)


def test_delay_longer_than_the_ack_timeout_fails_requests_and_stops_the_axes(make_rig):
    rig = make_rig(FaultSpec(kind=FaultKind.DELAY, at_s=ONSET_S, delay_s=0.15))
    moving_at_onset(rig)
    with pytest.raises(RequestTimeoutError) as info:
        rig.driver.link.request(
            GetParam(param=ParamId.WATCHDOG_MS, axis=0xFF), timeout_s=0.02, retries=2
        )
    assert info.value.attempts == 3
    assert rig.events_of(HalFaultKind.REQUEST_TIMEOUT)
    event = first(rig, HalFaultKind.LINK_TIMEOUT)
    assert latency_s(rig, event) <= 0.08
    assert_stopped(rig)


def test_disconnect_is_reported_at_once_and_the_driver_reconnects(make_rig):
    rig = make_rig(FaultSpec(kind=FaultKind.DISCONNECT, at_s=ONSET_S))
    moving_at_onset(rig)
    rig.run(0.005)
    wait_for(
        lambda: rig.events_of(HalFaultKind.TRANSPORT_LOST), timeout_s=0.1, what="TRANSPORT_LOST"
    )
    assert rig.driver.read(rig.clock.now_s()).link_down
    assert_stopped(rig)  # the firmware watchdog stopped the axes: nobody sends heartbeats
    assert rig.firmware.fault_latched.name == "WATCHDOG"
    assert rig.reconnect() is CallbackReturn.SUCCESS
    assert rig.driver.state is LifecycleState.INACTIVE
    rig.run(0.02)
    assert rig.driver.read(rig.clock.now_s()).firmware_fault
    assert rig.driver.activate() is CallbackReturn.FAILURE  # never auto-clear
    assert isinstance(rig.driver.last_error, NackError)
    rig.driver.clear_fault()
    assert rig.driver.activate() is CallbackReturn.SUCCESS
    rig.run(0.01)  # telemetry after the enable shows where the unlisted axes hold
    rig.driver.move({"x1": 0.0}, permit=rig.permit())
    rig.run_until(lambda: rig.firmware.state is FirmwareState.ENABLED)


def test_stuck_encoder_is_a_following_error_within_20_ms(make_rig):
    rig = make_rig(FaultSpec(kind=FaultKind.STUCK_ENCODER, at_s=ONSET_S, axis=0))
    moving_at_onset(rig)
    event = first(rig, HalFaultKind.FIRMWARE_FAULT, code="FOLLOWING_ERROR")
    assert event.axis == "x1"
    assert latency_s(rig, event) <= 0.02  # 0.5 mm at 25 mm/s is 20 ms
    assert event.recent_frames
    assert_stopped(rig)


def test_pressure_loss_is_reported_within_10_ms_and_stops_the_axes(make_rig):
    rig = make_rig(FaultSpec(kind=FaultKind.PRESSURE_LOSS, at_s=ONSET_S, axis=1))
    moving_at_onset(rig)
    event = first(rig, HalFaultKind.FIRMWARE_FAULT, code="PRESSURE_LOW")
    assert event.axis == "y1"
    assert latency_s(rig, event) <= 0.01
    host = first(rig, HalFaultKind.PRESSURE_LOW)
    assert host.axis == "y1"
    assert not rig.driver.read(rig.clock.now_s()).ok
    assert_stopped(rig)


def test_startup_failure_makes_configure_fail_and_reports_the_firmware_fault(make_rig):
    rig = make_rig(FaultSpec(kind=FaultKind.STARTUP_FAILURE))
    assert rig.driver.configure() is CallbackReturn.FAILURE
    assert isinstance(rig.driver.last_error, NackError)
    assert "FAULT_ACTIVE" in str(rig.driver.last_error)
    wait_for(lambda: rig.events_of(HalFaultKind.FIRMWARE_FAULT), timeout_s=0.1)
    assert rig.events_of(HalFaultKind.FIRMWARE_FAULT)[0].code == "STARTUP_FAILURE"
    assert rig.driver.state is LifecycleState.UNCONFIGURED
    assert not any(a.enabled for a in rig.firmware.axes)


def test_hardware_failure_mid_move_is_reported_within_10_ms_and_stops_every_axis(make_rig):
    rig = make_rig(FaultSpec(kind=FaultKind.HARDWARE_FAILURE_MID_MOVE, at_s=ONSET_S, axis=2))
    moving_at_onset(rig)
    event = first(rig, HalFaultKind.FIRMWARE_FAULT, code="HARDWARE_FAILURE")
    assert event.axis == "insertion"
    assert latency_s(rig, event) <= 0.01
    assert_stopped(rig)


def test_limit_hit_mid_move_is_reported_within_10_ms_and_stops_every_axis(make_rig):
    rig = make_rig(FaultSpec(kind=FaultKind.LIMIT_HIT, at_s=ONSET_S, axis=0))
    moving_at_onset(rig)
    event = first(rig, HalFaultKind.FIRMWARE_FAULT, code="LIMIT_HIT")
    assert event.axis == "x1"
    assert latency_s(rig, event) <= 0.01
    host = first(rig, HalFaultKind.LIMIT_HIT)
    assert host.axis == "x1"
    assert_stopped(rig)


def test_watchdog_stops_the_axes_250_ms_after_the_host_goes_quiet(make_rig):
    rig = make_rig()
    rig.up()
    rig.driver.move({"x1": 25.0}, permit=rig.permit(), duration_s=2.0)
    rig.run(0.05)
    quiet_from_s = rig.firmware.last_valid_rx_s  # the last frame the firmware received
    rig.run(0.3, heartbeat=False)
    event = first(rig, HalFaultKind.FIRMWARE_FAULT, code="WATCHDOG")
    offset_s = rig.clock.now_s() - rig.firmware.time_s
    assert 0.25 <= event.at_s - offset_s - quiet_from_s <= 0.27
    assert not any(a.enabled or a.moving for a in rig.firmware.axes)
    assert rig.driver.state is LifecycleState.INACTIVE


def test_corrupt_bytes_above_5_percent_trip_the_frame_error_rate_and_stop(make_rig):
    rig = make_rig(FaultSpec(kind=FaultKind.CORRUPT_BYTES, at_s=ONSET_S, probability=0.2))
    moving_at_onset(rig)
    event = first(rig, HalFaultKind.FRAME_ERRORS)
    assert "limit 5 %" in event.detail
    # the 1 s window still holds the good frames from before the onset: at 20 % bad it takes
    # about 0.05 / 0.2 = 0.25 s of damage to pass 5 %
    assert latency_s(rig, event) <= 0.4
    assert_stopped(rig)
