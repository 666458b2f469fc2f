from __future__ import annotations

import pytest

from safety.interlocks import INTERLOCKS, InterlockId, MotionKind
from safety.reactions import reaction
from safety.states import Event, State
from tests.unit.safety.helpers import IMAGING_SAFE, INSERTION, LATERAL

Ids = InterlockId


def _event(ids, state, kind=MotionKind.TARGET, joints=()):
    """The event ``reaction`` owes for the interlocks ``ids`` tripped, or None."""
    result = reaction(tuple(i for i in INTERLOCKS if i.id in ids), state, kind, joints)
    return None if result is None else result[0]


def test_the_most_severe_latch_wins_and_names_its_interlock():
    tripped = tuple(i for i in INTERLOCKS if i.id in {Ids.FOLLOWING_ERROR, Ids.ESTOP_INPUT})
    event, cause = reaction(tripped, State.READY, MotionKind.TARGET, ())  # type: ignore[misc]
    assert event is Event.EMERGENCY
    assert cause.id is Ids.ESTOP_INPUT
    assert _event({Ids.FOLLOWING_ERROR, Ids.FIRMWARE_HEARTBEAT}, State.READY) is Event.FAULT


def test_a_latched_state_only_escalates():
    assert _event({Ids.ESTOP_INPUT}, State.PROTECTIVE_STOP) is Event.EMERGENCY
    assert _event({Ids.ESTOP_INPUT}, State.FAULT) is Event.EMERGENCY
    assert _event({Ids.ESTOP_INPUT}, State.EMERGENCY_STOP) is None
    assert _event({Ids.FOLLOWING_ERROR}, State.PROTECTIVE_STOP) is None


@pytest.mark.hazard("H-04")
@pytest.mark.parametrize(
    ("state", "kind", "joints", "expected"),
    [
        (State.MOVING, MotionKind.TARGET, (LATERAL,), Event.TRIP),
        (State.HOMING_LATERAL, MotionKind.HOMING, (LATERAL, IMAGING_SAFE), Event.TRIP),
        (State.RETRACTING, MotionKind.RETRACTION, (IMAGING_SAFE, INSERTION), Event.TRIP),
        (State.MOVING, MotionKind.TARGET, (INSERTION,), None),
        (State.INSERTING, MotionKind.TARGET, (INSERTION,), None),
        (State.STARTUP, MotionKind.HOMING, (INSERTION,), None),
        (State.RETRACTING, MotionKind.RETRACTION, (INSERTION,), None),
    ],
)
def test_the_needle_interlock_stops_every_motion_that_covers_a_lateral_axis(
    state, kind, joints, expected
):
    assert _event({Ids.NEEDLE_INSERTED}, state, kind, joints) is expected


def test_imaging_pauses_motion_of_axes_not_imaging_safe_and_nothing_at_rest():
    assert _event({Ids.SCANNER_IMAGING}, State.MOVING, joints=(LATERAL,)) is Event.PAUSE
    assert _event({Ids.SCANNER_IMAGING}, State.MOVING, joints=(IMAGING_SAFE,)) is None
    assert _event({Ids.SCANNER_IMAGING}, State.TARGET_SET) is None


def test_a_missing_calibration_does_not_stop_homing_or_retraction():
    assert _event({Ids.CALIBRATION}, State.STARTUP, MotionKind.HOMING, (LATERAL,)) is None
    assert _event({Ids.CALIBRATION}, State.RETRACTING, MotionKind.RETRACTION, (INSERTION,)) is None
    assert _event({Ids.CALIBRATION}, State.MOVING, joints=(LATERAL,)) is Event.PAUSE


def test_the_e_stop_input_latches_even_in_off_but_a_silent_link_does_not():
    assert _event({Ids.ESTOP_INPUT}, State.OFF) is Event.EMERGENCY
    assert _event({Ids.FIRMWARE_HEARTBEAT}, State.OFF) is None
