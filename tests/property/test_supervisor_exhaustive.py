"""Exhaustive check of the real supervisor: every state x every event x every interlock vector.

The interlock vector enumerates the boolean inputs of the snapshot (each either clear or
tripped). The expected blocking set is computed here from the raw snapshot fields, independently
of ``safety.interlocks``, so a wrong trip function or a wrong guard both fail the test.
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from safety.errors import PermitError
from safety.interlocks import InterlockSnapshot
from safety.states import COMMAND_EVENTS, LATCHED_STATES, MOTION_STATES, Event, State
from safety.supervisor import Supervisor
from tests.support.clock import FakeClock
from tests.unit.safety.helpers import (
    CONFIG,
    DEPTH_MM,
    INSERTION,
    LATERAL,
    PAYLOADS,
    RETRACT_ENVELOPES,
    envelope,
    force_state,
)

# name -> (field, clear value, tripped value); heartbeats are timestamps relative to now.
_NOW = 1000.0
_STALE = _NOW - 10.0
DIMENSIONS: tuple[tuple[str, str, object, object], ...] = (
    ("estop", "estop_released", True, False),
    ("emergency", "emergency_requested", False, True),
    ("imaging", "scanner_imaging", False, True),
    # the measured insertion axis: inside the retracted band (out) or at DEPTH_MM (in)
    ("needle", "insertion_position_mm", 0.0, DEPTH_MM),
    ("limits", "joints_within_limits", True, False),
    ("velocity", "velocity_within_limit", True, False),
    ("following", "following_error_ok", True, False),
    ("limit_switch", "limit_switch_hit", False, True),
    ("pressure", "supply_pressure_kpa", 600.0, 100.0),
    ("console", "console_heartbeat_at_s", _NOW, _STALE),
    ("firmware", "firmware_heartbeat_at_s", _NOW, _STALE),
    ("calibration", "calibration_valid", True, False),
    ("authority", "command_authority", True, False),
)
_JOINTS = {j.name: j for j in CONFIG.joints}

#: Every event with its valid payload, plus the requests the needle rules must refuse or stop:
#: an alignment (MOVE) that would insert, one that moves a lateral axis and inserts, an INSERT
#: that would move a lateral axis or go deeper than the target, and a RETRACT deeper than the
#: measured DEPTH_MM.
REQUESTS: tuple[tuple[Event, dict[str, object]], ...] = (
    *((e, PAYLOADS.get(e, {})) for e in Event),
    (Event.MOVE, {"plan_id": "deeper", "envelopes": (envelope(INSERTION),)}),
    (Event.MOVE, {"plan_id": "sideways-in", "envelopes": (envelope(LATERAL), envelope(INSERTION))}),
    (Event.INSERT, {"plan_id": "insert-sideways", "envelopes": (envelope(LATERAL),)}),
    (Event.INSERT, {"plan_id": "insert-deeper", "envelopes": RETRACT_ENVELOPES}),
    (Event.RETRACT, {"plan_id": "retract-deeper", "envelopes": RETRACT_ENVELOPES}),
)


def _snapshot(bits: tuple[bool, ...]) -> InterlockSnapshot:
    fields = {
        field: (bad if bit else ok)
        for (_, field, ok, bad), bit in zip(DIMENSIONS, bits, strict=False)
    }
    return InterlockSnapshot(**fields, needle_inserted=False)  # type: ignore[arg-type]


def _blocking(tripped: set[str], state: State, request: dict[str, object]) -> set[str]:
    """Oracle: the tripped inputs that must prevent entering motion state ``state``."""
    if state is State.STARTUP:  # the insertion axis alone homes first
        joints = [INSERTION]
    elif state is State.HOMING_LATERAL:
        joints = [j for j in _JOINTS.values() if not j.insertion]
    else:
        joints = [_JOINTS[e.joint] for e in request["envelopes"]]  # type: ignore[attr-defined]
    always = {
        "estop",
        "emergency",
        "limits",
        "velocity",
        "following",
        "limit_switch",
        "pressure",
        "console",
        "firmware",
    }
    blocking = tripped & always
    if "imaging" in tripped and any(not j.imaging_safe for j in joints):
        blocking.add("imaging")
    # with the needle in, nothing that covers a lateral axis may move
    if "needle" in tripped and any(not j.insertion for j in joints):
        blocking.add("needle")
    if "calibration" in tripped and state in {State.MOVING, State.INSERTING}:
        blocking.add("calibration")
    return blocking


_RESET_NEEDS_CLEAR = {
    "estop",
    "emergency",
    "firmware",
    "limits",
    "velocity",
    "following",
    "limit_switch",
    "pressure",
    "authority",
}


def check_cases(states, vectors, entered=None) -> int:
    """Run every request in every state for every interlock vector; return the number of cases.

    ``entered`` (a set), when given, collects the motion states some case entered.
    """
    # millions of records: count them instead of keeping them
    clock = FakeClock()
    sup = Supervisor(CONFIG, now=clock, audit=_CountingSink())
    clock.sleep_until(_NOW)
    cases = 0
    for state in states:
        for bits in vectors:
            snapshot = _snapshot(bits)
            tripped = {name for (name, *_), bit in zip(DIMENSIONS, bits, strict=False) if bit}
            force_state(sup, state)
            for event, request in REQUESTS:
                before_permit = sup.permit
                before_memory = sup.memory
                decision = sup.handle(event, snapshot, **request)  # type: ignore[arg-type]
                cases += 1
                after = sup.state
                assert decision.state_before is state
                assert decision.state_after is after
                if not decision.accepted:
                    # refused: nothing changes
                    assert after is state, decision
                    assert sup.permit is before_permit
                    assert sup.memory == before_memory
                    assert decision.code != 1
                    continue
                # (a) no entry into a motion state with a blocking interlock tripped
                if after in MOTION_STATES and after is not state:
                    assert not _blocking(tripped, after, request), (state, event, tripped, decision)
                    if event in COMMAND_EVENTS:  # INSERT, HOME_LATERAL continue a command
                        assert "authority" not in tripped, decision
                    assert sup.permit is not None
                    sup.verifier.check_alive(sup.permit)
                    if entered is not None:
                        entered.add(after)
                    depth = snapshot.insertion_position_mm
                    assert depth is not None
                    if after is State.RETRACTING:  # never deeper than the measured insertion
                        for env in sup.permit.envelopes:
                            assert env.max_position <= depth + CONFIG.retraction_tolerance_mm
                    # no permit covers a lateral axis with the needle in, and none that does
                    # lets the insertion axis beyond the retracted band
                    names = {e.joint for e in sup.permit.envelopes}
                    if any(not _JOINTS[n].insertion for n in names):
                        assert "needle" not in tripped, decision
                        for env in sup.permit.envelopes:
                            if _JOINTS[env.joint].insertion:
                                assert env.max_position <= CONFIG.retracted_band_mm, decision
                    if after is State.INSERTING:  # the insertion axis alone, never past target
                        assert names == {INSERTION.name}, decision
                        for env in sup.permit.envelopes:
                            assert env.max_position <= DEPTH_MM + CONFIG.retraction_tolerance_mm
                # (b) STOP and EMERGENCY always accepted and end in a stopped state
                if event in {Event.STOP, Event.EMERGENCY}:
                    assert after not in MOTION_STATES, decision
                    assert decision.stop is not None
                if event is Event.EMERGENCY:
                    assert after is State.EMERGENCY_STOP
                # (c) only RESET with the e-stop released leaves EMERGENCY_STOP, into OFF
                if state is State.EMERGENCY_STOP and after is not State.EMERGENCY_STOP:
                    assert event is Event.RESET, decision
                    assert after is State.OFF
                    assert not tripped & _RESET_NEEDS_CLEAR
                # latched states are left only by RESET
                if state in LATCHED_STATES and after not in LATCHED_STATES:
                    assert event is Event.RESET, decision
                # (d) no live permit outside motion states
                if after not in MOTION_STATES:
                    assert sup.permit is None
                    if before_permit is not None:
                        with pytest.raises(PermitError):
                            sup.verifier.check_alive(before_permit)
                if (
                    after is not state
                    or sup.memory != before_memory
                    or sup.permit is not before_permit
                ):
                    force_state(sup, state)
    return cases


@pytest.mark.slow
@pytest.mark.hazard("H-01", "H-02", "H-03", "H-04", "H-05", "H-08", "H-12", "H-16")
def test_every_state_event_and_interlock_vector_keeps_the_safety_invariants():
    vectors = list(itertools.product((False, True), repeat=len(DIMENSIONS)))
    entered: set[State] = set()
    cases = check_cases(list(State), vectors, entered)
    print(  # noqa: T201 - the count of cases checked is part of the evidence (pytest -s)
        f"exhaustive supervisor check: {cases:,} cases = {len(State)} states x "
        f"{len(REQUESTS)} requests ({len(Event)} events) x {len(vectors):,} interlock vectors "
        f"({len(DIMENSIONS)} inputs)"
    )
    assert cases == len(State) * len(REQUESTS) * 2 ** len(DIMENSIONS)
    assert entered == MOTION_STATES  # the entry checks are not vacuous


class _CountingSink:
    """Counts records instead of keeping them; ``healthy`` is set by the test."""

    def __init__(self) -> None:
        self.count = 0
        self.healthy = True

    def append(self, kind, *, state, payload, snapshot=None) -> int:
        self.count += 1
        return self.count


@pytest.mark.hazard("H-03", "H-11")
@pytest.mark.parametrize("scanner", [False, True, None], ids=["idle", "imaging", "unknown"])
@pytest.mark.parametrize("audit_ok", [True, False], ids=["audit_ok", "audit_failed"])
def test_unknown_scanner_state_and_audit_failure_block_motion_entry_in_every_state(
    scanner, audit_ok
):
    sink = _CountingSink()
    sink.healthy = audit_ok
    clock = FakeClock()
    sup = Supervisor(CONFIG, now=clock, audit=sink)
    clock.sleep_until(_NOW)
    snapshot = dataclasses.replace(_snapshot((False,) * len(DIMENSIONS)), scanner_imaging=scanner)
    cases = entries = 0
    for state in State:
        for event in Event:
            force_state(sup, state)
            decision = sup.handle(event, snapshot, **PAYLOADS.get(event, {}))  # type: ignore[arg-type]
            cases += 1
            entered = decision.state_after in MOTION_STATES and decision.state_after is not state
            if entered:
                entries += 1
                # every permit of PAYLOADS and homing covers an axis that is not imaging-safe
                assert scanner is False, decision
                assert audit_ok, decision
            if event in {Event.STOP, Event.EMERGENCY}:
                assert decision.accepted
    assert cases == len(State) * len(Event)
    assert (entries > 0) == (scanner is False and audit_ok)  # the check is not vacuous
