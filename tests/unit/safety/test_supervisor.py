from __future__ import annotations

import pytest

from safety.errors import PermitError
from safety.interlocks import INTERLOCKS, InterlockId
from safety.permits import JointEnvelope
from safety.states import (
    LATCHED_STATES,
    MOTION_STATES,
    Event,
    State,
    StatusCode,
    StopCategory,
    SubCode,
    Workphase,
)
from tests.unit.safety.helpers import (
    CONFIG,
    DEPTH_MM,
    IMAGING_SAFE,
    INSERTION,
    LATERAL,
    MOVE_ENVELOPES,
    PAYLOADS,
    RETRACT_ENVELOPES,
    RETRACT_FROM_DEPTH,
    clear,
    drive_to,
    envelope,
    force_state,
    make,
)

# One snapshot change per interlock that makes it trip (COMMAND_AUTHORITY is a command gate).
TRIP: dict[InterlockId, dict[str, object]] = {
    InterlockId.ESTOP_INPUT: {"estop_released": False},
    InterlockId.OPERATOR_EMERGENCY: {"emergency_requested": True},
    InterlockId.FIRMWARE_HEARTBEAT: {"firmware_heartbeat_at_s": None},
    InterlockId.JOINT_LIMITS: {"joints_within_limits": False},
    InterlockId.VELOCITY_LIMIT: {"velocity_within_limit": False},
    InterlockId.LIMIT_SWITCH: {"limit_switch_hit": True},
    InterlockId.FOLLOWING_ERROR: {"following_error_ok": False},
    InterlockId.SUPPLY_PRESSURE: {"supply_pressure_kpa": 399.0},
    InterlockId.CONSOLE_HEARTBEAT: {"console_heartbeat_at_s": None},
    InterlockId.NEEDLE_INSERTED: {"needle_inserted": True},
    InterlockId.SCANNER_IMAGING: {"scanner_imaging": True},
    InterlockId.CALIBRATION: {"calibration_valid": False},
    InterlockId.COMMAND_AUTHORITY: {"command_authority": False},
}
HAZARD_OF = {
    InterlockId.ESTOP_INPUT: "H-02",
    InterlockId.OPERATOR_EMERGENCY: "H-02",
    InterlockId.FIRMWARE_HEARTBEAT: "H-06",
    InterlockId.JOINT_LIMITS: "H-05",
    InterlockId.VELOCITY_LIMIT: "H-05",
    InterlockId.LIMIT_SWITCH: "H-05",
    InterlockId.FOLLOWING_ERROR: "H-07",
    InterlockId.SUPPLY_PRESSURE: "H-07",
    InterlockId.CONSOLE_HEARTBEAT: "H-06",
    InterlockId.NEEDLE_INSERTED: "H-04",
    InterlockId.SCANNER_IMAGING: "H-03",
    InterlockId.CALIBRATION: "H-08",
    InterlockId.COMMAND_AUTHORITY: "H-09",
}


def _target(sup):
    return sup.memory.target_id


def _healthy(audit):
    return audit.healthy


def test_every_interlock_in_the_table_has_a_tripping_input_here():
    assert {i.id for i in INTERLOCKS} == set(TRIP) | {InterlockId.AUDIT_UNAVAILABLE}


@pytest.mark.hazard("H-01", "H-14", "H-16")
def test_a_needle_placement_runs_from_start_up_to_needle_removal():
    sup, clock, audit = make()
    now = clock()
    d = sup.handle(Event.START_UP, clear(now, insertion_position_mm=None))
    assert d.accepted
    assert d.state_after is State.STARTUP
    assert d.workphase is Workphase.START_UP
    assert sup.workphase is Workphase.START_UP
    assert d.permit is not None
    assert d.permit.plan_id == "homing"
    # the insertion axis homes alone first (towards its retracted end), even with it unknown
    assert d.permit.joints == {INSERTION.name}
    assert d.permit.envelope(INSERTION.name).max_speed == INSERTION.homing_speed  # type: ignore[union-attr]
    # the other axes only once the needle is measured out
    early = sup.handle(Event.HOME_LATERAL, clear(now, insertion_position_mm=None))
    assert not early.accepted
    assert "unknown" in early.reason
    lateral = sup.handle(Event.HOME_LATERAL, clear(now))
    assert lateral.state_after is State.HOMING_LATERAL
    assert lateral.permit is not None
    assert lateral.permit.joints == {LATERAL.name, IMAGING_SAFE.name}
    assert lateral.permit.envelope(LATERAL.name).max_speed == LATERAL.homing_speed  # type: ignore[union-attr]
    assert sup.handle(Event.HOMING_DONE, clear(now)).permit is None
    assert sup.handle(Event.CALIBRATE, clear(now), calibration_id="clb-1").accepted
    target = sup.handle(Event.SET_TARGET, clear(now), target_id="tgt-1", target_depth_mm=DEPTH_MM)
    assert target.state_after is State.TARGET_SET
    move = sup.request_motion(clear(now), plan_id="plan-1", envelopes=MOVE_ENVELOPES)
    assert move.accepted
    assert move.state_after is State.MOVING
    assert move.code is StatusCode.OK
    permit = move.permit
    assert permit is not None
    assert permit.plan_id == "plan-1"
    assert permit.joints == {LATERAL.name, IMAGING_SAFE.name}
    sup.verifier.check(permit, joint=LATERAL.name, target=10.0, speed=4.0)
    with pytest.raises(PermitError, match="does not cover"):
        sup.verifier.check(permit, joint=INSERTION.name, target=10.0)
    done = sup.handle(Event.MOTION_DONE, clear(now))
    assert done.state_after is State.AT_TARGET
    assert done.permit is None
    with pytest.raises(PermitError, match="revoked"):
        sup.verifier.check_alive(permit)
    insert = sup.handle(Event.INSERT, clear(now), plan_id="i-1", envelopes=RETRACT_FROM_DEPTH)
    assert insert.state_after is State.INSERTING
    assert insert.permit is not None
    assert insert.permit.joints == {INSERTION.name}
    inserted = clear(now, insertion_position_mm=DEPTH_MM)
    assert sup.handle(Event.MOTION_DONE, inserted).state_after is State.NEEDLE_INSERTED
    retract = sup.handle(Event.RETRACT, inserted, plan_id="r-1", envelopes=RETRACT_FROM_DEPTH)
    assert retract.accepted
    assert retract.state_after is State.RETRACTING
    assert retract.permit is not None
    assert retract.permit.joints == {INSERTION.name}
    assert sup.handle(Event.MOTION_DONE, inserted).state_after is State.NEEDLE_INSERTED
    refused = sup.handle(Event.NEEDLE_REMOVED, inserted)
    assert not refused.accepted
    assert "still detected" in refused.reason
    # the measured axis back inside the retracted band: evaluate() follows it, target kept
    assert sup.evaluate(clear(now)) is None
    assert sup.state is State.TARGET_SET
    assert _target(sup) == "tgt-1"
    assert sup.memory.calibration_id == "clb-1"
    assert audit.kinds().count("permit_issued") == 5


@pytest.mark.hazard("H-04", "H-15")
def test_evaluate_follows_the_measured_needle_into_and_out_of_needle_inserted():
    sup, clock, audit = make()
    drive_to(sup, clock, State.AT_TARGET)
    assert sup.evaluate(clear(clock(), insertion_position_mm=CONFIG.retracted_band_mm)) is None
    states = [sup.state]
    assert sup.evaluate(clear(clock(), insertion_position_mm=30.0)) is None
    states.append(sup.state)
    assert states == [State.AT_TARGET, State.NEEDLE_INSERTED]
    record = audit.records[-1]
    assert record.payload["event"] == "NEEDLE_INSERTED"
    assert record.payload["source"] == "measurement"
    assert "30.00 mm" in str(record.payload["cause"])
    for event in (Event.TARGETING, Event.START_UP, Event.MANUAL, Event.CALIBRATE):
        d = sup.handle(event, clear(clock(), insertion_position_mm=30.0), calibration_id="c")
        if event is Event.START_UP:  # retract-first: homing starts with the insertion axis
            assert d.state_after is State.STARTUP
            assert d.permit is not None
            assert d.permit.joints == {INSERTION.name}
            sup.handle(Event.STOP, clear(clock(), insertion_position_mm=30.0))
            force_state(sup, State.NEEDLE_INSERTED)
            continue
        assert not d.accepted, d
        assert "30.00 mm" in d.reason
        assert "RETRACT_NEEDLE" in d.reason
    sup.evaluate(clear(clock(), insertion_position_mm=0.2))
    assert sup.state is State.TARGET_SET


@pytest.mark.parametrize(
    "interlock",
    [
        pytest.param(i, id=i.value, marks=pytest.mark.hazard(HAZARD_OF[i]))
        for i in TRIP
        if i is not InterlockId.COMMAND_AUTHORITY
    ],
)
def test_move_is_refused_while_any_blocking_interlock_is_tripped(interlock):
    sup, clock, audit = make()
    drive_to(sup, clock, State.TARGET_SET)
    d = sup.request_motion(clear(clock(), **TRIP[interlock]), plan_id="p", envelopes=MOVE_ENVELOPES)
    assert not d.accepted
    assert d.state_after is State.TARGET_SET
    assert d.permit is None
    assert d.code is StatusCode.NOT_READY
    assert interlock.value in d.reason
    assert interlock in d.tripped
    assert audit.records[-1].kind == "refusal"
    assert audit.records[-1].payload["reason"] == d.reason


@pytest.mark.hazard("H-09")
def test_a_command_from_a_console_without_authority_is_denied_but_stop_is_not():
    sup, clock, _ = make()
    drive_to(sup, clock, State.MOVING)
    other = clear(clock(), command_authority=False)
    d = sup.handle(Event.SET_TARGET, other, target_id="x")
    assert (d.accepted, d.code, d.sub_code) == (
        False,
        StatusCode.ACCESS_DENIED,
        SubCode.NOT_IN_CONTROL,
    )
    stop = sup.handle(Event.STOP, other)
    assert stop.accepted
    assert stop.state_after is State.TARGET_SET
    assert stop.stop is StopCategory.CAT2


_REACTIONS = [
    (InterlockId.ESTOP_INPUT, State.EMERGENCY_STOP, StopCategory.CAT0),
    (InterlockId.OPERATOR_EMERGENCY, State.EMERGENCY_STOP, StopCategory.CAT1),
    (InterlockId.FIRMWARE_HEARTBEAT, State.FAULT, StopCategory.CAT1),
    (InterlockId.JOINT_LIMITS, State.PROTECTIVE_STOP, StopCategory.CAT0),
    (InterlockId.VELOCITY_LIMIT, State.PROTECTIVE_STOP, StopCategory.CAT0),
    (InterlockId.LIMIT_SWITCH, State.PROTECTIVE_STOP, StopCategory.CAT0),
    (InterlockId.FOLLOWING_ERROR, State.PROTECTIVE_STOP, StopCategory.CAT1),
    (InterlockId.SUPPLY_PRESSURE, State.PROTECTIVE_STOP, StopCategory.CAT1),
    (InterlockId.CONSOLE_HEARTBEAT, State.PROTECTIVE_STOP, StopCategory.CAT1),
    (InterlockId.NEEDLE_INSERTED, State.PROTECTIVE_STOP, StopCategory.CAT1),
    (InterlockId.SCANNER_IMAGING, State.TARGET_SET, StopCategory.CAT2),
    (InterlockId.CALIBRATION, State.TARGET_SET, StopCategory.CAT2),
]


@pytest.mark.parametrize(
    ("interlock", "reaction", "stop"),
    [
        pytest.param(*r, id=r[0].value, marks=pytest.mark.hazard(HAZARD_OF[r[0]]))
        for r in _REACTIONS
    ],
)
def test_an_interlock_tripping_during_a_move_stops_it_with_its_category(interlock, reaction, stop):
    sup, clock, _ = make()
    drive_to(sup, clock, State.MOVING)
    permit = sup.permit
    assert sup.evaluate(clear(clock())) is None
    d = sup.evaluate(clear(clock(), **TRIP[interlock]))
    assert d is not None
    assert d.accepted
    assert d.state_after is reaction
    assert d.stop is stop
    assert interlock.value in d.reason
    assert sup.permit is None
    with pytest.raises(PermitError, match="revoked"):
        sup.verifier.check_alive(permit)
    # no auto-resume: clearing the input changes nothing
    assert sup.evaluate(clear(clock())) is None
    assert sup.state is reaction


@pytest.mark.hazard("H-03")
def test_imaging_safe_axes_may_move_while_the_scanner_images_and_others_may_not():
    sup, clock, _ = make()
    drive_to(sup, clock, State.TARGET_SET)
    imaging = clear(clock(), scanner_imaging=True)
    lateral = sup.request_motion(imaging, plan_id="p", envelopes=[envelope(LATERAL)])
    assert not lateral.accepted
    assert lateral.sub_code is SubCode.INTERLOCK
    safe = sup.request_motion(imaging, plan_id="p", envelopes=[envelope(IMAGING_SAFE)])
    assert safe.accepted
    assert safe.permit is not None
    assert sup.evaluate(imaging) is None  # the imaging-safe move goes on, lease extended
    assert sup.state is State.MOVING


@pytest.mark.hazard("H-03")
@pytest.mark.parametrize(("required", "accepted"), [(True, False), (False, True)])
def test_an_unknown_scanner_state_counts_as_imaging_when_the_interlock_is_required(
    required, accepted
):
    import dataclasses

    from safety.audit_memory import MemoryAuditSink
    from safety.supervisor import Supervisor
    from tests.support.clock import FakeClock

    clock = FakeClock()
    config = dataclasses.replace(CONFIG, imaging_interlock_required=required)
    sup = Supervisor(config, now=clock, audit=MemoryAuditSink(now=clock))
    drive_to(sup, clock, State.TARGET_SET)
    d = sup.request_motion(
        clear(clock(), scanner_imaging=None), plan_id="p", envelopes=[envelope(LATERAL)]
    )
    assert d.accepted is accepted


@pytest.mark.hazard("H-04")
def test_with_the_needle_inserted_only_the_insertion_axis_may_retract():
    sup, clock, _ = make()
    drive_to(sup, clock, State.AT_TARGET)
    inserted = clear(clock(), needle_inserted=True, insertion_position_mm=120.0)
    assert sup.handle(Event.NEEDLE_INSERTED, inserted).accepted
    both = sup.handle(
        Event.RETRACT, inserted, plan_id="r", envelopes=[envelope(INSERTION), envelope(LATERAL)]
    )
    assert not both.accepted
    assert both.sub_code is SubCode.BAD_VALUE
    assert "insertion axis only" in both.reason
    move = sup.request_motion(inserted, plan_id="p", envelopes=MOVE_ENVELOPES)
    assert not move.accepted
    assert move.sub_code is SubCode.INTERLOCK
    assert "needle inserted" in move.reason
    assert sup.handle(Event.RETRACT, inserted, plan_id="r", envelopes=RETRACT_ENVELOPES).accepted


def _needle_in(clock, depth_mm=DEPTH_MM):
    return clear(clock(), needle_inserted=True, insertion_position_mm=depth_mm)


@pytest.mark.hazard("H-04")
@pytest.mark.parametrize("state", [State.TARGET_SET, State.AT_TARGET])
def test_with_the_needle_inserted_a_move_of_the_insertion_axis_alone_is_refused(state):
    sup, clock, audit = make()
    drive_to(sup, clock, state)
    deeper = sup.request_motion(_needle_in(clock), plan_id="p", envelopes=[envelope(INSERTION)])
    assert not deeper.accepted
    assert deeper.code is StatusCode.NOT_READY
    assert deeper.sub_code is SubCode.INTERLOCK
    assert "needle_inserted" in deeper.reason
    assert "RETRACT_NEEDLE" in deeper.reason
    assert deeper.permit is None
    assert sup.permit is None
    assert sup.state is state
    assert audit.records[-1].kind == "refusal"
    assert sup.evaluate(_needle_in(clock)) is None
    assert sup.state is State.NEEDLE_INSERTED


@pytest.mark.hazard("H-04")
def test_an_alignment_may_not_insert_nor_move_sideways_with_the_insertion_axis_deep():
    sup, clock, _ = make()
    drive_to(sup, clock, State.TARGET_SET)
    deeper = sup.request_motion(clear(clock()), plan_id="p", envelopes=[envelope(INSERTION)])
    assert not deeper.accepted
    assert deeper.sub_code is SubCode.OUT_OF_RANGE
    assert "retracted band" in deeper.reason
    both = sup.request_motion(
        clear(clock()), plan_id="p", envelopes=[envelope(LATERAL), envelope(INSERTION)]
    )
    assert not both.accepted
    assert "retracted band" in both.reason
    assert sup.state is State.TARGET_SET


@pytest.mark.hazard("H-04")
def test_an_alignment_is_stopped_when_the_needle_is_detected():
    sup, clock, _ = make()
    drive_to(sup, clock, State.TARGET_SET)
    move = sup.request_motion(clear(clock()), plan_id="p", envelopes=MOVE_ENVELOPES)
    assert move.state_after is State.MOVING
    permit = move.permit
    trip = sup.evaluate(_needle_in(clock))
    assert trip is not None
    assert trip.state_after is State.PROTECTIVE_STOP
    assert trip.stop is StopCategory.CAT1
    assert "needle_inserted" in trip.reason
    assert sup.permit is None
    with pytest.raises(PermitError, match="revoked"):
        sup.verifier.check(permit, joint=LATERAL.name, target=10.0)


@pytest.mark.hazard("H-04")
def test_an_insertion_goes_no_deeper_than_the_accepted_target():
    sup, clock, _ = make()
    drive_to(sup, clock, State.AT_TARGET)
    too_deep = JointEnvelope(
        joint=INSERTION.name, min_position=0.0, max_position=DEPTH_MM + 1.0, max_speed=5.0
    )
    d = sup.handle(Event.INSERT, clear(clock()), plan_id="i", envelopes=[too_deep])
    assert not d.accepted
    assert "deeper than the accepted target" in d.reason
    sideways = sup.handle(Event.INSERT, clear(clock()), plan_id="i", envelopes=[envelope(LATERAL)])
    assert not sideways.accepted
    ok = sup.handle(Event.INSERT, clear(clock()), plan_id="i", envelopes=RETRACT_FROM_DEPTH)
    assert ok.state_after is State.INSERTING


def _inserted(depth_mm=DEPTH_MM):
    sup, clock, audit = make()
    drive_to(sup, clock, State.AT_TARGET)
    assert sup.handle(Event.NEEDLE_INSERTED, _needle_in(clock, depth_mm)).accepted
    return sup, clock, audit


def _retract(sup, snapshot, max_position_mm):
    env = JointEnvelope(
        joint=INSERTION.name, min_position=0.0, max_position=max_position_mm, max_speed=5.0
    )
    return sup.handle(Event.RETRACT, snapshot, plan_id="r", envelopes=[env])


@pytest.mark.hazard("H-04")
def test_a_retraction_permit_never_reaches_deeper_than_the_measured_insertion():
    sup, clock, audit = _inserted()
    tolerance_mm = CONFIG.retraction_tolerance_mm
    assert tolerance_mm == 0.5
    for too_deep in (INSERTION.max_position, DEPTH_MM + tolerance_mm + 0.01):
        refused = _retract(sup, _needle_in(clock), too_deep)
        assert not refused.accepted
        assert refused.sub_code is SubCode.OUT_OF_RANGE
        assert "deeper than the measured insertion 60 mm + tolerance 0.5 mm" in refused.reason
        assert sup.permit is None
        assert audit.records[-1].kind == "refusal"
    retract = _retract(sup, _needle_in(clock), DEPTH_MM + tolerance_mm)
    assert retract.state_after is State.RETRACTING
    sup.verifier.check(retract.permit, joint=INSERTION.name, target=0.0)
    sup.verifier.check(retract.permit, joint=INSERTION.name, target=DEPTH_MM + tolerance_mm)
    with pytest.raises(PermitError, match="outside the permit envelope"):
        sup.verifier.check(retract.permit, joint=INSERTION.name, target=DEPTH_MM + 1.0)
    with pytest.raises(PermitError, match="outside the permit envelope"):
        sup.verifier.check(retract.permit, joint=INSERTION.name, target=INSERTION.max_position)
    assert sup.evaluate(_needle_in(clock)) is None  # the retraction goes on, lease renewed
    assert sup.state is State.RETRACTING


@pytest.mark.hazard("H-04")
def test_a_retraction_is_refused_while_the_insertion_position_is_unknown():
    sup, clock, audit = _inserted()
    refused = _retract(sup, _needle_in(clock, None), 0.0)
    assert not refused.accepted
    assert refused.code is StatusCode.NOT_READY
    assert refused.sub_code is SubCode.NOT_READY
    assert "insertion_position_mm" in refused.reason
    assert sup.state is State.NEEDLE_INSERTED
    assert sup.permit is None
    record = audit.records[-1]
    assert record.kind == "refusal"
    assert record.snapshot is not None
    assert record.snapshot["insertion_position_mm"] is None


@pytest.mark.hazard("H-14")
def test_a_target_may_be_reset_while_set_and_recalibration_discards_it():
    sup, clock, _ = make()
    drive_to(sup, clock, State.TARGET_SET)
    now = clock()
    again = sup.handle(Event.SET_TARGET, clear(now), target_id="tgt-2")
    assert again.accepted
    assert _target(sup) == "tgt-2"
    assert (
        sup.handle(Event.CALIBRATE, clear(now), calibration_id="clb-2").state_after
        is State.CALIBRATED
    )
    assert _target(sup) is None
    move = sup.request_motion(clear(now), plan_id="p", envelopes=MOVE_ENVELOPES)
    assert (move.accepted, move.sub_code) == (False, SubCode.NO_TARGET)
    sup.handle(Event.SET_TARGET, clear(now), target_id="tgt-3")
    assert sup.handle(Event.TARGETING, clear(now)).state_after is State.CALIBRATED
    assert _target(sup) is None


@pytest.mark.parametrize(
    ("payload", "sub_code", "words"),
    [
        (
            {
                "envelopes": [
                    JointEnvelope(
                        joint="lateral_x", min_position=-60.0, max_position=0.0, max_speed=1.0
                    )
                ]
            },
            SubCode.OUT_OF_RANGE,
            "exceeds its limits [-50, 50] by 10",
        ),
        (
            {"envelopes": [envelope(LATERAL, speed=6.0)]},
            SubCode.OUT_OF_RANGE,
            "speed cap 6 exceeds its maximum 5",
        ),
        (
            {
                "envelopes": [
                    JointEnvelope(joint="elbow", min_position=0.0, max_position=1.0, max_speed=1.0)
                ]
            },
            SubCode.BAD_VALUE,
            "names joint 'elbow'",
        ),
        ({"envelopes": []}, SubCode.BAD_VALUE, "asks to move no joint"),
        ({"plan_id": "", "envelopes": MOVE_ENVELOPES}, SubCode.BAD_VALUE, "needs a plan_id"),
    ],
)
@pytest.mark.hazard("H-05")
def test_a_move_outside_the_limits_is_rejected_not_clamped(payload, sub_code, words):
    sup, clock, _ = make()
    drive_to(sup, clock, State.TARGET_SET)
    d = sup.handle(Event.MOVE, clear(clock()), **{"plan_id": "p", **payload})
    assert (d.accepted, d.code, d.sub_code) == (False, StatusCode.CONFIG_ERROR, sub_code)
    assert words in d.reason
    assert sup.state is State.TARGET_SET
    assert sup.permit is None


@pytest.mark.parametrize(
    ("state", "sub_code"),
    [
        (State.OFF, SubCode.NOT_READY),
        (State.READY, SubCode.NOT_CALIBRATED),
        (State.CALIBRATED, SubCode.NO_TARGET),
        (State.MANUAL, SubCode.MANUAL_MODE),
        (State.MOVING, SubCode.BUSY),
        (State.EMERGENCY_STOP, SubCode.INTERLOCK),
        (State.NEEDLE_INSERTED, SubCode.INTERLOCK),
    ],
)
def test_a_refused_move_names_the_reason_the_console_shows(state, sub_code):
    sup, clock, _ = make()
    force_state(sup, state)
    d = sup.request_motion(clear(clock()), plan_id="p", envelopes=MOVE_ENVELOPES)
    assert (d.accepted, d.code, d.sub_code) == (False, StatusCode.NOT_READY, sub_code)
    assert d.state_after is state
    assert state.value in d.reason


def test_a_rejected_calibration_is_a_configuration_error_naming_the_check():
    sup, clock, _ = make()
    drive_to(sup, clock, State.READY)
    d = sup.handle(
        Event.CALIBRATE,
        clear(clock()),
        calibration_id="clb-9",
        rejected=SubCode.INVALID_MATRIX,
        reason="det R = 0.000, expected 1 +- 0.001",
    )
    assert (d.accepted, d.code, d.sub_code) == (
        False,
        StatusCode.CONFIG_ERROR,
        SubCode.INVALID_MATRIX,
    )
    assert d.reason == "det R = 0.000, expected 1 +- 0.001"
    assert sup.state is State.READY


def test_an_unknown_event_is_an_unknown_instruction():
    sup, clock, audit = make()
    d = sup.handle("JUMP", clear(clock()))  # type: ignore[arg-type]
    assert (d.accepted, d.code, d.sub_code) == (
        False,
        StatusCode.UNKNOWN_INSTRUCTION,
        SubCode.UNKNOWN,
    )
    assert audit.records[-1].payload["event"] == "JUMP"
    assert d.event is None


@pytest.mark.hazard("H-12")
@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
def test_stop_and_emergency_are_accepted_in_every_state(state):
    sup, clock, _ = make()
    force_state(sup, state)
    stop = sup.handle(Event.STOP, clear(clock(), command_authority=False))
    assert stop.accepted
    assert stop.state_after not in MOTION_STATES
    assert stop.stop is StopCategory.CAT2
    again = sup.handle(Event.STOP, clear(clock()))
    assert again.accepted
    assert again.state_after is stop.state_after
    emergency = sup.handle(Event.EMERGENCY, clear(clock(), estop_released=False))
    assert emergency.accepted
    assert emergency.state_after is State.EMERGENCY_STOP
    assert sup.handle(Event.EMERGENCY, clear(clock())).accepted
    assert sup.permit is None


@pytest.mark.hazard("H-02")
def test_the_emergency_stop_latches_until_release_reset_and_re_homing():
    sup, clock, _ = make()
    drive_to(sup, clock, State.MOVING)
    pressed = clear(clock(), estop_released=False)
    d = sup.evaluate(pressed)
    assert d is not None
    assert d.state_after is State.EMERGENCY_STOP
    assert d.stop is StopCategory.CAT0
    for event in Event:
        if event is not Event.RESET:
            sup.handle(event, clear(clock()), **PAYLOADS.get(event, {}))  # type: ignore[arg-type]
            assert sup.state is State.EMERGENCY_STOP, event
    refused = sup.handle(Event.RESET, pressed)
    assert not refused.accepted
    assert "estop_input" in refused.reason
    reset = sup.handle(Event.RESET, clear(clock()))
    assert reset.accepted
    assert reset.state_after is State.OFF
    move = sup.request_motion(clear(clock()), plan_id="p", envelopes=MOVE_ENVELOPES)
    assert not move.accepted
    assert move.sub_code is SubCode.NOT_READY
    assert sup.handle(Event.START_UP, clear(clock())).state_after is State.STARTUP


@pytest.mark.hazard("H-02")
@pytest.mark.parametrize(
    "state", [s for s in State if s is not State.EMERGENCY_STOP], ids=lambda s: s.value
)
def test_the_e_stop_input_latches_the_emergency_stop_from_every_state(state):
    sup, clock, _ = make()
    force_state(sup, state)
    d = sup.evaluate(clear(clock(), estop_released=False))
    assert d is not None
    assert d.state_after is State.EMERGENCY_STOP
    assert sup.permit is None


@pytest.mark.hazard("H-06")
def test_firmware_silence_longer_than_the_timeout_latches_a_fault():
    sup, clock, _ = make()
    drive_to(sup, clock, State.AT_TARGET)
    last = clock()
    clock.advance(0.25)
    assert sup.evaluate(clear(clock(), firmware_heartbeat_at_s=last)) is None
    clock.advance(0.01)
    d = sup.evaluate(clear(clock(), firmware_heartbeat_at_s=last))
    assert d is not None
    assert d.state_after is State.FAULT
    assert (d.code, d.sub_code) == (StatusCode.HARDWARE_FAILURE, SubCode.HARDWARE)
    assert not sup.handle(Event.RESET, clear(clock(), firmware_heartbeat_at_s=last)).accepted
    assert sup.handle(Event.RESET, clear(clock())).state_after is State.OFF


@pytest.mark.hazard("H-06")
def test_console_silence_stops_a_move_but_not_a_robot_at_rest():
    sup, clock, _ = make()
    drive_to(sup, clock, State.MOVING)
    heard = clock()
    for _ in range(19):  # 1.9 s of 0.1 s cycles: silent, but not longer than the 2 s timeout
        clock.advance(0.1)
        assert sup.evaluate(clear(clock(), console_heartbeat_at_s=heard)) is None
    clock.advance(0.2)
    d = sup.evaluate(clear(clock(), console_heartbeat_at_s=heard))
    assert d is not None
    assert d.state_after is State.PROTECTIVE_STOP
    sup2, clock2, _ = make()
    drive_to(sup2, clock2, State.AT_TARGET)
    clock2.advance(60.0)
    assert sup2.evaluate(clear(clock2(), console_heartbeat_at_s=None)) is None


@pytest.mark.hazard("H-10")
def test_a_permit_lapses_when_the_supervisor_stops_extending_it():
    sup, clock, _ = make()
    drive_to(sup, clock, State.MOVING)
    for _ in range(10):
        clock.advance(0.1)
        assert sup.evaluate(clear(clock())) is None
        sup.verifier.check(sup.permit, joint=LATERAL.name, target=0.0)
    permit = sup.permit
    clock.advance(0.2)  # one lease without a cycle: a hung control loop
    with pytest.raises(PermitError, match="expired"):
        sup.verifier.check(permit, joint=LATERAL.name, target=0.0)
    d = sup.evaluate(clear(clock()))
    assert d is not None
    assert d.state_after is State.PROTECTIVE_STOP
    assert "lease lapsed" in d.reason
    assert d.stop is StopCategory.CAT1


@pytest.mark.hazard("H-01")
def test_stop_during_a_move_revokes_the_permit_and_never_resumes():
    sup, clock, _ = make()
    drive_to(sup, clock, State.MOVING)
    permit = sup.permit
    assert permit is not None
    d = sup.handle(Event.STOP, clear(clock()))
    assert d.state_after is State.TARGET_SET
    assert d.permit is None
    assert d.stop is StopCategory.CAT2
    with pytest.raises(PermitError, match="revoked"):
        sup.verifier.check(permit, joint=LATERAL.name, target=0.0)
    assert sup.evaluate(clear(clock())) is None
    assert sup.state is State.TARGET_SET
    again = sup.request_motion(clear(clock()), plan_id="plan-2", envelopes=MOVE_ENVELOPES)
    assert again.accepted
    assert again.permit is not None
    assert again.permit.permit_id != permit.permit_id


@pytest.mark.hazard("H-13")
def test_a_guard_that_raises_latches_a_fault_and_revokes_permits():
    sup, clock, audit = make()
    drive_to(sup, clock, State.TARGET_SET)
    d = sup.handle(Event.MOVE, clear(clock()), plan_id="p", envelopes=[None])  # type: ignore[list-item]
    assert not d.accepted
    assert d.state_after is State.FAULT
    assert (d.code, d.sub_code, d.stop) == (
        StatusCode.HARDWARE_FAILURE,
        SubCode.HARDWARE,
        StopCategory.CAT1,
    )
    assert "AttributeError" in d.reason
    assert "fault" in audit.kinds()
    assert sup.permit is None


class _Interrupting:
    @property
    def joint(self):
        raise KeyboardInterrupt


@pytest.mark.hazard("H-13")
def test_a_keyboard_interrupt_inside_a_guard_is_not_swallowed():
    sup, clock, _ = make()
    drive_to(sup, clock, State.TARGET_SET)
    with pytest.raises(KeyboardInterrupt):
        sup.handle(Event.MOVE, clear(clock()), plan_id="p", envelopes=[_Interrupting()])  # type: ignore[list-item]


@pytest.mark.hazard("H-11")
def test_a_failed_audit_writer_blocks_new_permits_and_pauses_motion():
    sup, clock, audit = make()
    drive_to(sup, clock, State.MOVING)
    audit.fail_next = 1
    d = sup.evaluate(clear(clock(), command_authority=False))  # a harmless change to record
    assert d is None
    assert sup.audit_failures == 1
    assert not _healthy(audit)
    paused = sup.evaluate(clear(clock()))
    assert paused is not None
    assert paused.state_after is State.TARGET_SET
    assert InterlockId.AUDIT_UNAVAILABLE in paused.tripped
    assert paused.stop is StopCategory.CAT2
    # the pause record itself was written, so the writer is healthy again
    assert _healthy(audit)
    assert sup.request_motion(clear(clock()), plan_id="p", envelopes=MOVE_ENVELOPES).accepted


def test_audit_failures_never_raise_out_of_the_supervisor():
    sup, clock, audit = make()
    drive_to(sup, clock, State.TARGET_SET)
    audit.fail_next = 100
    d = sup.request_motion(clear(clock()), plan_id="p", envelopes=MOVE_ENVELOPES)
    # the permit's own record was not durable, so the permit never left the supervisor
    assert d.event is Event.PAUSE
    assert d.state_after is State.TARGET_SET
    assert d.permit is None
    assert "no permit issued" in d.reason
    again = sup.request_motion(clear(clock()), plan_id="p", envelopes=MOVE_ENVELOPES)
    assert not again.accepted
    assert InterlockId.AUDIT_UNAVAILABLE in again.tripped
    assert sup.handle(Event.STOP, clear(clock())).accepted
    assert sup.audit_failures >= 4


def test_every_decision_and_interlock_change_is_audited_with_the_snapshot():
    sup, clock, audit = make()
    snap = clear(clock(), scanner_imaging=True)
    sup.handle(Event.START_UP, snap)
    kinds = audit.kinds()
    assert kinds == ["interlock", "refusal"]
    interlock, refusal = audit.records
    assert interlock.payload["tripped"] == ["scanner_imaging"]
    assert refusal.snapshot is not None
    assert refusal.snapshot["scanner_imaging"] is True
    assert refusal.state == "OFF"
    assert refusal.payload["event"] == "START_UP"
    assert [r.seq for r in audit.records] == [1, 2]


@pytest.mark.parametrize(
    "state",
    [pytest.param(s, id=s.value) for s in State if s in LATCHED_STATES],
)
def test_latched_states_leave_only_through_reset_into_off(state):
    sup, clock, _ = make()
    force_state(sup, state)
    for event in Event:
        if event is Event.RESET:
            continue
        sup.handle(event, clear(clock()), **PAYLOADS.get(event, {}))  # type: ignore[arg-type]
        assert sup.state in LATCHED_STATES
        force_state(sup, state)
    assert sup.handle(Event.RESET, clear(clock())).state_after is State.OFF


@pytest.mark.hazard("H-12")
def test_a_fault_record_names_its_cause_not_only_the_transition():
    sup, clock, audit = make()
    d = sup.handle(
        Event.FAULT, clear(clock()), source="control_loop", reason="HARDWARE_FAILURE on axis x1"
    )
    assert d.state_after is State.FAULT
    (record,) = [r for r in audit.records if r.payload.get("event") == "FAULT"]
    assert record.payload["cause"] == "HARDWARE_FAILURE on axis x1"


@pytest.mark.hazard("H-13")
def test_after_a_fault_from_a_raising_guard_the_next_event_is_judged_afresh():
    sup, clock, _ = make()
    drive_to(sup, clock, State.TARGET_SET)
    faulted = sup.handle(Event.MOVE, clear(clock()), plan_id="p", envelopes=[None])  # type: ignore[list-item]
    assert faulted.state_after is State.FAULT
    reset = sup.handle(Event.RESET, clear(clock()))
    assert (reset.accepted, reset.state_after, reset.code) == (True, State.OFF, StatusCode.OK)
    refused = sup.handle(Event.CALIBRATE, clear(clock()), calibration_id="c")
    assert not refused.accepted
    assert refused.sub_code is not SubCode.HARDWARE
    started = sup.handle(Event.START_UP, clear(clock()))
    assert (started.accepted, started.reason) == (True, "START_UP: OFF -> STARTUP")
