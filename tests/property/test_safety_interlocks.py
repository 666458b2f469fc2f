"""Every trip condition of the interlock table against an independent oracle (Hypothesis)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safety.interlocks import InterlockId, InterlockSnapshot, TripContext, tripped_interlocks
from tests.support.interlocks import all_clear
from tests.unit.safety.helpers import CONFIG

_NOW = 5000.0
_times = st.one_of(st.none(), st.floats(_NOW - 10.0, _NOW))
_snapshots = st.builds(
    InterlockSnapshot,
    estop_released=st.booleans(),
    emergency_requested=st.booleans(),
    scanner_imaging=st.sampled_from([False, True, None]),
    needle_inserted=st.booleans(),
    joints_within_limits=st.booleans(),
    velocity_within_limit=st.booleans(),
    following_error_ok=st.booleans(),
    limit_switch_hit=st.booleans(),
    supply_pressure_kpa=st.one_of(st.none(), st.floats(0.0, 1000.0)),
    console_heartbeat_at_s=_times,
    firmware_heartbeat_at_s=_times,
    calibration_valid=st.booleans(),
    command_authority=st.booleans(),
)
_configs = st.builds(
    lambda console, firmware, pressure, required: dataclasses.replace(
        CONFIG,
        console_timeout_s=console,
        firmware_timeout_s=firmware,
        min_supply_pressure_kpa=pressure,
        imaging_interlock_required=required,
    ),
    st.floats(0.05, 5.0),
    st.floats(0.05, 5.0),
    st.one_of(st.none(), st.floats(100.0, 800.0)),
    st.booleans(),
)


def _oracle(s: InterlockSnapshot, config, audit_ok: bool) -> set[InterlockId]:
    expected = set()
    if not s.estop_released:
        expected.add(InterlockId.ESTOP_INPUT)
    if s.emergency_requested:
        expected.add(InterlockId.OPERATOR_EMERGENCY)
    firmware, console = s.firmware_heartbeat_at_s, s.console_heartbeat_at_s
    if firmware is None or _NOW - firmware > config.firmware_timeout_s:
        expected.add(InterlockId.FIRMWARE_HEARTBEAT)
    if console is None or _NOW - console > config.console_timeout_s:
        expected.add(InterlockId.CONSOLE_HEARTBEAT)
    if not s.joints_within_limits:
        expected.add(InterlockId.JOINT_LIMITS)
    if not s.velocity_within_limit:
        expected.add(InterlockId.VELOCITY_LIMIT)
    if s.limit_switch_hit:
        expected.add(InterlockId.LIMIT_SWITCH)
    if not s.following_error_ok:
        expected.add(InterlockId.FOLLOWING_ERROR)
    minimum = config.min_supply_pressure_kpa
    if minimum is not None and (s.supply_pressure_kpa is None or s.supply_pressure_kpa < minimum):
        expected.add(InterlockId.SUPPLY_PRESSURE)
    # the measured insertion axis decides: beyond the retracted band, or unknown, is "in"
    depth = s.insertion_position_mm
    if s.needle_inserted or depth is None or depth > config.retracted_band_mm:
        expected.add(InterlockId.NEEDLE_INSERTED)
    unknown_counts = s.scanner_imaging is None and config.imaging_interlock_required
    if s.scanner_imaging is True or unknown_counts:
        expected.add(InterlockId.SCANNER_IMAGING)
    if not s.calibration_valid:
        expected.add(InterlockId.CALIBRATION)
    if not audit_ok:
        expected.add(InterlockId.AUDIT_UNAVAILABLE)
    if not s.command_authority:
        expected.add(InterlockId.COMMAND_AUTHORITY)
    return expected


@pytest.mark.hazard("H-02", "H-05", "H-06", "H-07", "H-17")
@given(snapshot=_snapshots, config=_configs, audit_ok=st.booleans())
def test_each_interlock_trips_exactly_when_its_condition_holds(snapshot, config, audit_ok):
    context = TripContext(now_s=_NOW, config=config, audit_ok=audit_ok)
    tripped = {i.id for i in tripped_interlocks(snapshot, context)}
    assert tripped == _oracle(snapshot, config, audit_ok)


def test_a_heartbeat_exactly_at_the_timeout_is_still_alive():
    snapshot = dataclasses.replace(
        _example(), console_heartbeat_at_s=_NOW - 2.0, firmware_heartbeat_at_s=_NOW - 0.25
    )
    context = TripContext(now_s=_NOW, config=CONFIG, audit_ok=True)
    assert tripped_interlocks(snapshot, context) == ()


def _example() -> InterlockSnapshot:
    return all_clear(_NOW, supply_pressure_kpa=CONFIG.min_supply_pressure_kpa)
