"""Hypothesis state machine over events, interlock inputs and clock advances (fake clock)."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from safety.errors import PermitError
from safety.interlocks import InterlockSnapshot
from safety.permits import JointEnvelope, MotionPermit
from safety.states import LATCHED_STATES, MOTION_STATES, Event, State
from tests.unit.safety.helpers import CONFIG, PAYLOADS, make

_JOINTS = {j.name: j for j in CONFIG.joints}
_FLAGS = (
    "estop_pressed",
    "emergency",
    "needle",
    "out_of_limits",
    "overspeed",
    "following_error",
    "limit_switch",
    "pressure_low",
    "console_silent",
    "firmware_silent",
    "uncalibrated",
    "no_authority",
)
_envelopes = st.lists(
    st.builds(
        JointEnvelope,
        joint=st.sampled_from([*_JOINTS, "elbow"]),
        min_position=st.floats(-60, 0),
        max_position=st.floats(0, 130),
        max_speed=st.floats(0.1, 12),
    ),
    max_size=3,
)


class SupervisorMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.sup, self.clock, self.audit = make()
        self.flags = dict.fromkeys(_FLAGS, False)
        self.scanner: bool | None = False
        self.depth_mm: float | None = 60.0
        self.console_at = self.clock()
        self.firmware_at = self.clock()
        self.permits: list[MotionPermit] = []
        self.last_state = self.sup.state

    def snapshot(self) -> InterlockSnapshot:
        f = self.flags
        return InterlockSnapshot(
            estop_released=not f["estop_pressed"],
            emergency_requested=f["emergency"],
            scanner_imaging=self.scanner,
            needle_inserted=f["needle"],
            joints_within_limits=not f["out_of_limits"],
            velocity_within_limit=not f["overspeed"],
            following_error_ok=not f["following_error"],
            limit_switch_hit=f["limit_switch"],
            supply_pressure_kpa=100.0 if f["pressure_low"] else 600.0,
            console_heartbeat_at_s=self.console_at,
            firmware_heartbeat_at_s=self.firmware_at,
            calibration_valid=not f["uncalibrated"],
            command_authority=not f["no_authority"],
            insertion_position_mm=self.depth_mm,
        )

    def _blocked(self, snap: InterlockSnapshot, state: State, permit: MotionPermit) -> list[str]:
        """Oracle over raw inputs: what must not be true while ``permit`` moves in ``state``."""
        now = self.clock()
        joints = [_JOINTS[name] for name in permit.joints]
        reasons = []
        if not snap.estop_released or snap.emergency_requested:
            reasons.append("estop")
        if now - (snap.firmware_heartbeat_at_s or -1e9) > CONFIG.firmware_timeout_s:
            reasons.append("firmware")
        if now - (snap.console_heartbeat_at_s or -1e9) > CONFIG.console_timeout_s:
            reasons.append("console")
        if not (
            snap.joints_within_limits and snap.velocity_within_limit and snap.following_error_ok
        ):
            reasons.append("limits/velocity/following")
        if snap.limit_switch_hit or (snap.supply_pressure_kpa or 0.0) < 400.0:
            reasons.append("switch/pressure")
        if snap.scanner_imaging is not False and any(not j.imaging_safe for j in joints):
            reasons.append("imaging")
        # with the needle in (sensor, measured beyond the band, or unknown), nothing that covers
        # a lateral axis may move; a permit that covers one keeps the insertion axis in the band
        depth = snap.insertion_position_mm
        needle_in = snap.needle_inserted or depth is None or depth > CONFIG.retracted_band_mm
        lateral = any(not j.insertion for j in joints)
        if needle_in and lateral:
            reasons.append("needle")
        if lateral and any(
            _JOINTS[e.joint].insertion and e.max_position > CONFIG.retracted_band_mm
            for e in permit.envelopes
        ):
            reasons.append("lateral permit reaches beyond the retracted band")
        if not snap.calibration_valid and state in {State.MOVING, State.INSERTING}:
            reasons.append("calibration")
        return reasons

    def _note(self, decision) -> None:
        before, after = decision.state_before, decision.state_after
        if before is State.EMERGENCY_STOP and after is not State.EMERGENCY_STOP:
            assert decision.event is Event.RESET, decision
            assert after is State.OFF, decision
        if before in LATCHED_STATES and after not in LATCHED_STATES:
            assert decision.event is Event.RESET, decision
        if decision.event in {Event.STOP, Event.EMERGENCY}:
            assert decision.accepted, decision
            assert after not in MOTION_STATES, decision
        if not decision.accepted:
            assert after is before
        if decision.permit is not None:
            self.permits.append(decision.permit)
        if after in MOTION_STATES and before is not after:
            assert decision.permit is not None
            assert not self._blocked(self.snapshot(), after, decision.permit), decision
            if after is State.RETRACTING:  # never deeper than the measured insertion
                assert self.depth_mm is not None, decision
                limit_mm = self.depth_mm + CONFIG.retraction_tolerance_mm
                assert all(e.max_position <= limit_mm for e in decision.permit.envelopes)

    @rule(flag=st.sampled_from(_FLAGS))
    def toggle(self, flag):
        self.flags[flag] = not self.flags[flag]

    @rule(scanner=st.sampled_from([False, True, None]))
    def scanner_changes(self, scanner):
        self.scanner = scanner

    @rule(depth_mm=st.sampled_from([None, 0.0, 30.0, 60.0, 120.0]))
    def needle_depth_changes(self, depth_mm):
        self.depth_mm = depth_mm

    @rule(dt_s=st.floats(0.0, 0.3))
    def time_passes(self, dt_s):
        self.clock.advance(dt_s)
        if not self.flags["console_silent"]:
            self.console_at = self.clock()
        if not self.flags["firmware_silent"]:
            self.firmware_at = self.clock()

    @rule()
    def control_cycle(self):
        decision = self.sup.evaluate(self.snapshot())
        if decision is not None:
            self._note(decision)
        state, permit = self.sup.state, self.sup.permit
        if self.flags["estop_pressed"] or self.flags["emergency"]:
            assert state is State.EMERGENCY_STOP  # latched within this cycle, from any state
        if state in MOTION_STATES and permit is not None:
            # an interlock that blocks this motion has stopped it within this cycle
            assert not self._blocked(self.snapshot(), state, permit)
            self.permits.append(permit)

    @rule(event=st.sampled_from(list(Event)))
    def send(self, event):
        self._note(self.sup.handle(event, self.snapshot(), **PAYLOADS.get(event, {})))  # type: ignore[arg-type]

    @rule(event=st.sampled_from([Event.MOVE, Event.INSERT, Event.RETRACT]), envelopes=_envelopes)
    def ask_for_motion(self, event, envelopes):
        envelopes = [e for e in envelopes if e.min_position <= e.max_position]
        self._note(self.sup.handle(event, self.snapshot(), plan_id="p", envelopes=envelopes))

    @precondition(lambda self: self.sup.state not in MOTION_STATES)
    @rule()
    def happy_path_to_target(self):
        for event in (
            Event.START_UP,
            Event.HOME_LATERAL,
            Event.HOMING_DONE,
            Event.CALIBRATE,
            Event.SET_TARGET,
            Event.MOVE,
        ):
            self._note(self.sup.handle(event, self.snapshot(), **PAYLOADS.get(event, {})))  # type: ignore[arg-type]

    @invariant()
    def no_live_permit_outside_motion_and_old_permits_are_dead(self):
        current = self.sup.permit
        if self.sup.state not in MOTION_STATES:
            assert current is None
        for permit in self.permits:
            if current is not None and permit.permit_id == current.permit_id:
                continue
            with pytest.raises(PermitError):
                self.sup.verifier.check_alive(permit)


TestSupervisorStateful = pytest.mark.hazard("H-01", "H-02", "H-04", "H-10")(
    SupervisorMachine.TestCase
)
