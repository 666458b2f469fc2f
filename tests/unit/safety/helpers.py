"""Builders shared by the safety tests: a config, snapshots, and a way to force a state."""

from __future__ import annotations

from safety.audit_memory import MemoryAuditSink
from safety.config import JointConfig, SupervisorConfig
from safety.decision import Memory
from safety.interlocks import MotionKind
from safety.permits import JointEnvelope
from safety.states import MOTION_STATES, Event, State
from safety.supervisor import Supervisor
from tests.support.clock import FakeClock
from tests.support.interlocks import all_clear

LATERAL = JointConfig(
    name="lateral_x", min_position=-50.0, max_position=50.0, max_speed=5.0, homing_speed=2.0
)
IMAGING_SAFE = JointConfig(
    name="rotate_z",
    min_position=-1.0,
    max_position=1.0,
    max_speed=0.5,
    homing_speed=0.2,
    imaging_safe=True,
)
INSERTION = JointConfig(
    name="insert",
    min_position=0.0,
    max_position=120.0,
    max_speed=10.0,
    homing_speed=2.0,
    lateral=False,
    insertion=True,
)
CONFIG = SupervisorConfig(
    joints=(LATERAL, IMAGING_SAFE, INSERTION),
    lease_s=0.2,
    console_timeout_s=2.0,
    firmware_timeout_s=0.25,
    min_supply_pressure_kpa=400.0,
    imaging_interlock_required=True,
)


def envelope(joint: JointConfig, *, speed: float | None = None) -> JointEnvelope:
    return JointEnvelope(
        joint=joint.name,
        min_position=joint.min_position,
        max_position=joint.max_position,
        max_speed=joint.max_speed if speed is None else speed,
    )


MOVE_ENVELOPES = (envelope(LATERAL), envelope(IMAGING_SAFE))
RETRACT_ENVELOPES = (envelope(INSERTION),)
#: A measured insertion depth (mm) and a retraction from it (never deeper).
DEPTH_MM = 60.0
RETRACT_FROM_DEPTH = (
    JointEnvelope(
        joint=INSERTION.name, min_position=0.0, max_position=DEPTH_MM, max_speed=INSERTION.max_speed
    ),
)

#: A valid payload for each event that needs one (RETRACT: with the needle at DEPTH_MM).
PAYLOADS: dict[Event, dict[str, object]] = {
    Event.MOVE: {"plan_id": "plan-1", "envelopes": MOVE_ENVELOPES},
    Event.RETRACT: {"plan_id": "retract-1", "envelopes": RETRACT_FROM_DEPTH},
    Event.INSERT: {"plan_id": "insert-1", "envelopes": RETRACT_FROM_DEPTH},
    Event.CALIBRATE: {"calibration_id": "clb-1"},
    Event.SET_TARGET: {"target_id": "tgt-1", "target_depth_mm": DEPTH_MM},
}


#: The all-clear snapshot (tests/support/interlocks.py), under the name these tests use.
clear = all_clear


def make(config: SupervisorConfig = CONFIG) -> tuple[Supervisor, FakeClock, MemoryAuditSink]:
    clock = FakeClock()
    audit = MemoryAuditSink(now=clock)
    return Supervisor(config, now=clock, audit=audit), clock, audit


_MEMORY = {
    State.CALIBRATED: Memory(calibration_id="clb-0"),
    **{
        state: Memory(calibration_id="clb-0", target_id="tgt-0", target_depth_mm=DEPTH_MM)
        for state in (
            State.TARGET_SET,
            State.MOVING,
            State.AT_TARGET,
            State.INSERTING,
            State.NEEDLE_INSERTED,
            State.RETRACTING,
        )
    },
}


def force_state(sup: Supervisor, state: State) -> None:
    """Put ``sup`` into ``state`` with consistent memory and permit.

    The one place the tests reach inside the supervisor: the exhaustive check runs millions of
    cases and cannot replay an event path to every state for each; the supervisor deliberately
    has no public way to be put into a state.
    """
    sup._machine.set_state(state)
    sup._memory = _MEMORY.get(state, Memory())
    sup._lease.withdraw()
    if state in MOTION_STATES:
        kind, envelopes = {
            State.STARTUP: (MotionKind.HOMING, sup._lease.homing_envelopes((INSERTION,))),
            State.HOMING_LATERAL: (
                MotionKind.HOMING,
                sup._lease.homing_envelopes((LATERAL, IMAGING_SAFE)),
            ),
            State.MOVING: (MotionKind.TARGET, MOVE_ENVELOPES),
            State.INSERTING: (MotionKind.TARGET, RETRACT_FROM_DEPTH),
            State.RETRACTING: (MotionKind.RETRACTION, RETRACT_ENVELOPES),
        }[state]
        sup._lease.grant(kind, plan_id="forced", envelopes=envelopes)


#: START_UP's two homing stages: the insertion axis, then the others.
_HOMED = (Event.START_UP, Event.HOME_LATERAL, Event.HOMING_DONE)


def drive_to(sup: Supervisor, clock: FakeClock, state: State) -> None:
    """Reach ``state`` through real events from OFF (no set_state)."""
    now = clock()
    path = {
        State.OFF: [],
        State.STARTUP: [Event.START_UP],
        State.HOMING_LATERAL: [Event.START_UP, Event.HOME_LATERAL],
        State.READY: [*_HOMED],
        State.CALIBRATED: [*_HOMED, Event.CALIBRATE],
        State.TARGET_SET: [*_HOMED, Event.CALIBRATE, Event.SET_TARGET],
        State.MOVING: [
            *_HOMED,
            Event.CALIBRATE,
            Event.SET_TARGET,
            Event.MOVE,
        ],
        State.AT_TARGET: [
            *_HOMED,
            Event.CALIBRATE,
            Event.SET_TARGET,
            Event.MOVE,
            Event.MOTION_DONE,
        ],
    }[state]
    for event in path:
        decision = sup.handle(event, clear(now), **PAYLOADS.get(event, {}))  # type: ignore[arg-type]
        assert decision.accepted, decision
    assert sup.state is state
