"""The HAL link time-out: max(periods x telemetry period, floor), the only place it comes from.

As found in a user trial: an idle ``mrbot serve --emulate`` latched FAULT twice on a loaded
2-core machine with "no telemetry for 107 ms / 112 ms" against a 100 ms limit (5 x 20 ms).
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from hal import (
    LINK_TIMEOUT_FLOOR_S,
    LINK_TIMEOUT_PERIODS,
    ControllerConfig,
    HalFaultKind,
)
from tests.support.firmware import FAST_CONFIG, SimRig
from tests.support.hal_config import shipped_controller

#: The longest telemetry gap the trial saw on a healthy (idle) link, at 20 ms telemetry.
TRIAL_GAP_S = 0.112


@pytest.mark.parametrize(
    ("periods", "floor_s", "period_s", "expected_s"),
    [
        (5, 0.2, 0.020, 0.2),  # the default robot: the floor rules
        (5, 0.2, 0.005, 0.2),  # fast telemetry: scheduling delay does not shrink with it
        (5, 0.2, 0.050, 0.25),  # slow telemetry: the periods rule
        (15, 0.0, 0.010, 0.15),  # no floor: periods alone
    ],
)
def test_the_link_timeout_is_the_larger_of_the_periods_and_the_floor(
    periods, floor_s, period_s, expected_s
):
    config = dataclasses.replace(
        shipped_controller(), link_timeout_periods=periods, link_timeout_floor_s=floor_s
    )
    assert config.link_timeout_s(period_s) == pytest.approx(expected_s)


def test_the_defaults_are_the_documented_rule():
    assert shipped_controller().link_timeout_periods == LINK_TIMEOUT_PERIODS == 5
    assert shipped_controller().link_timeout_floor_s == LINK_TIMEOUT_FLOOR_S == 0.2
    assert shipped_controller().link_timeout_s(0.020) > TRIAL_GAP_S


@pytest.mark.parametrize("floor_s", [-0.1, math.nan, math.inf])
def test_a_bad_floor_is_refused(floor_s):
    with pytest.raises(ValueError, match="link_timeout_floor_s"):
        ControllerConfig(axes=shipped_controller().axes, link_timeout_floor_s=floor_s)


def _rig_with_the_default_rule() -> SimRig:
    """Simulated time, 20 ms telemetry as the default robot, the default link time-out rule."""
    config = dataclasses.replace(FAST_CONFIG, link_timeout_floor_s=LINK_TIMEOUT_FLOOR_S)
    return SimRig(config=config, telemetry_period_ms=20)


def test_a_112_ms_telemetry_gap_at_20_ms_telemetry_is_not_a_lost_link():
    rig = _rig_with_the_default_rule()
    try:
        rig.up(home=False)
        assert rig.driver.read(rig.clock.now_s()).ok
        rig.clock.advance(TRIAL_GAP_S)  # the host saw no telemetry for this long
        status = rig.driver.read(rig.clock.now_s())
        assert not status.comm_timeout, status
        assert rig.events_of(HalFaultKind.LINK_TIMEOUT) == []
    finally:
        rig.close()


def test_a_gap_beyond_the_floor_is_still_a_lost_link():
    rig = _rig_with_the_default_rule()
    try:
        rig.up(home=False)
        rig.clock.advance(LINK_TIMEOUT_FLOOR_S + 0.01)
        assert rig.driver.read(rig.clock.now_s()).comm_timeout
    finally:
        rig.close()
