"""The safety supervisor: gates every motion through the transition table and the interlocks.

One control-loop thread owns it and calls :meth:`Supervisor.handle` for each event and
:meth:`Supervisor.evaluate` once per cycle. It never raises on a refused or failed event: every
answer is a :class:`~safety.decision.Decision` with an OpenIGTLink code, sub-code and reason, and
every decision, permit, interlock change and fault goes to the audit sink. STOP and EMERGENCY are
accepted in every state. A guard that raises latches FAULT (``on_exception``), never silently.

Each event is fired through the machine of :mod:`safety.machine` (the library's own event
object); afterwards its model holds the outcome: the row that fired, the refusal of the last guard
tried, or the error.

Permits: entering a motion state (STARTUP homing, MOVING, RETRACTING) grants a permit through the
supervisor's :class:`~safety.lease.MotionLease`, and only once its ``permit_issued`` record is
durable: the sink's ``append()`` returned and, for a sink with group commit (a
:class:`~safety.audit_types.CommittingAuditSink` such as ``JsonlAuditLog`` in ``GROUP`` mode),
``commit()`` returned a durable sequence number covering it. :meth:`evaluate` renews the lease
each cycle while the blocking interlocks are clear; every exit from a motion state revokes all
permits (epoch bump).

The needle's state comes from measurement: it counts as inserted while the snapshot's
``insertion_position_mm`` is beyond ``SupervisorConfig.retracted_band_mm`` or unknown
(:func:`~safety.interlocks.needle_in`). :meth:`Supervisor.evaluate` moves an idle state to
NEEDLE_INSERTED when the needle goes in and back out of it when the needle is measured out, so
the state follows the axis, whatever moved it. Every permit obeys one rule, checked where
permits are granted whatever the row (:func:`~safety.guards.permit_problem`): a permit that covers
a lateral axis is issued only while the needle is measured out and never lets the insertion axis
beyond the retracted band. So a MOVE aligns (MOVING) and then inserts the insertion axis alone
(INSERTING); START_UP homes the insertion axis alone first (STARTUP, which retracts it) and the
other axes only once the needle is out (HOMING_LATERAL). With the needle in, only a RETRACT of the
insertion axis alone may move, never deeper than measured plus
``SupervisorConfig.retraction_tolerance_mm``; RETRACT is refused (and audited) while that
position is unknown (START_UP then retracts by homing). Other commands are refused with the
measured depth and the way out; a running lateral motion trips a protective stop.
"""

from __future__ import annotations

import logging
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from safety.audit_types import CommittingAuditSink
from safety.decision import Decision, GuardInput, Memory, Refusal, Request
from safety.errors import AuditError
from safety.guards import homing_stages, permit_problem
from safety.interlocks import (
    InterlockId,
    MotionKind,
    TripContext,
    needle_in,
    needle_text,
    tripped_interlocks,
)
from safety.lease import MotionLease
from safety.machine import SupervisorModel, build_machine
from safety.outcomes import Outcome, accepted_outcome, refusal_without_row
from safety.reactions import reaction
from safety.records import decision_record, interlock_change, permit_issued, permit_revoked
from safety.states import (
    COMMAND_EVENTS,
    EVENT_NAME,
    MOTION_STATES,
    STATE_NAME,
    WORKPHASE_OF_STATE,
    Event,
    State,
    StatusCode,
    StopCategory,
    SubCode,
)
from safety.table import apply_effect, rows_by_source

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from transitions import Machine
    from transitions.core import Event as MachineEvent

    from safety.audit_types import AuditSink
    from safety.config import SupervisorConfig
    from safety.interlocks import Interlock, InterlockSnapshot
    from safety.permits import JointEnvelope, MotionPermit, PermitVerifier
    from safety.states import Workphase

__all__ = ["Supervisor"]

logger = logging.getLogger(__name__)

_MOTION_KIND: Final = MappingProxyType(
    {
        State.STARTUP: MotionKind.HOMING,
        State.HOMING_LATERAL: MotionKind.HOMING,
        State.MOVING: MotionKind.TARGET,
        State.INSERTING: MotionKind.TARGET,
        State.RETRACTING: MotionKind.RETRACTION,
    }
)
#: Idle states that follow the measured needle into NEEDLE_INSERTED (Supervisor.evaluate).
_FOLLOWS_NEEDLE: Final = frozenset(
    {State.READY, State.CALIBRATED, State.TARGET_SET, State.AT_TARGET, State.MANUAL}
)
#: The homing stage whose permit a motion state's entry grants.
_HOMING_STAGE: Final = MappingProxyType({State.STARTUP: 0, State.HOMING_LATERAL: 1})


class Supervisor:
    """The supervisor state machine with its interlocks, permits and audit trail.

    Args:
        config: joints, lease and time-outs.
        now: monotonic clock in seconds (injected; tests use ``FakeClock``).
        audit: where every decision is recorded.
    """

    def __init__(
        self, config: SupervisorConfig, *, now: Callable[[], float], audit: AuditSink
    ) -> None:
        self._config = config
        self._now = now
        self._audit = audit
        self._commit: Callable[[], int] | None = (
            audit.commit if isinstance(audit, CommittingAuditSink) else None
        )
        self._lease = MotionLease(config, now)
        self._model = SupervisorModel()
        self._machine: Machine = build_machine(self._model)
        self._events: Mapping[Event, MachineEvent] = {
            e: self._machine.events[e.value] for e in Event
        }
        self._index = rows_by_source()
        self._memory = Memory()
        self._last_tripped: tuple[Interlock, ...] = ()
        self._audit_failures = 0

    @property
    def state(self) -> State:
        """Current state."""
        return self._model.state

    @property
    def workphase(self) -> Workphase:
        """The OpenIGTLink workphase of the current state (what ``CURRENT_STATUS`` names)."""
        return WORKPHASE_OF_STATE[self._model.state]

    @property
    def memory(self) -> Memory:
        """Accepted calibration and target."""
        return self._memory

    @property
    def verifier(self) -> PermitVerifier:
        """The permit verifier to hand to the HAL."""
        return self._lease.verifier

    @property
    def permit(self) -> MotionPermit | None:
        """The permit of the current motion (its latest lease), or ``None``."""
        return self._lease.permit

    @property
    def audit_failures(self) -> int:
        """Audit records lost so far (each logged at ERROR)."""
        return self._audit_failures

    def handle(
        self,
        event: Event,
        snapshot: InterlockSnapshot,
        *,
        source: str = "",
        plan_id: str | None = None,
        envelopes: Iterable[JointEnvelope] = (),
        calibration_id: str | None = None,
        target_id: str | None = None,
        target_depth_mm: float | None = None,
        rejected: SubCode | None = None,
        reason: str = "",
    ) -> Decision:
        """Handle one event with this cycle's snapshot; never raises for a refused event.

        Args:
            event: what happened or what is asked.
            snapshot: the interlock inputs of this cycle (with ``command_authority`` of the
                event's sender).
            source: sender, for the audit log.
            plan_id: plan a MOVE or RETRACT permit is bound to.
            envelopes: joints and envelopes a MOVE or RETRACT asks for (joint units).
            calibration_id: the registration a CALIBRATE accepts.
            target_id: the target a SET_TARGET accepts.
            target_depth_mm: the insertion depth (mm) of the target a SET_TARGET accepts.
            rejected: the robot's matrix or reach check failed with this sub-code.
            reason: free text for the audit log.
        """
        request = Request(
            source=source,
            plan_id=plan_id,
            envelopes=tuple(envelopes),
            calibration_id=calibration_id,
            target_id=target_id,
            target_depth_mm=target_depth_mm,
            rejected=rejected,
            reason=reason,
        )
        tripped = self._tripped(snapshot)
        candidate: object = event  # callers may pass anything; only Event members are known
        if not isinstance(candidate, Event):
            refusal = Refusal(
                code=StatusCode.UNKNOWN_INSTRUCTION,
                sub_code=SubCode.UNKNOWN,
                reason=f"unknown event {event!r}",
            )
            return self._refuse(None, refusal, tripped, request, snapshot, raw_event=candidate)
        return self._fire(candidate, snapshot, request, tripped)

    def request_motion(
        self,
        snapshot: InterlockSnapshot,
        *,
        plan_id: str,
        envelopes: Iterable[JointEnvelope],
        source: str = "",
    ) -> Decision:
        """Ask to move to the target along plan ``plan_id`` (the MOVE event).

        The decision carries a permit only when the move was accepted, which needs every
        interlock that blocks these joints to be clear.
        """
        return self.handle(
            Event.MOVE, snapshot, source=source, plan_id=plan_id, envelopes=envelopes
        )

    def evaluate(self, snapshot: InterlockSnapshot) -> Decision | None:
        """Run once per control cycle: trip interlocks, latch stops, renew or end the lease.

        Returns:
            The decision when the cycle changed something (a stop), else ``None``.
        """
        tripped = self._tripped(snapshot)
        state = self._model.state
        lease = self._lease
        owed = reaction(tripped, state, lease.kind, lease.joints)
        if owed is not None:
            return self._react(owed[0], owed[1], tripped, snapshot)
        if state not in MOTION_STATES:
            return self._follow_needle(state, snapshot, tripped)
        late_s = self._now() - lease.permit.expires_at_s if lease.permit is not None else 0.0
        problem = lease.renew()
        if problem is None:
            return None
        self._record("permit_lapsed", {"reason": problem, "late_s": late_s}, snapshot)
        return self._fire(
            Event.TRIP,
            snapshot,
            Request(source="supervisor", reason=problem),
            tripped,
            (
                StatusCode.NOT_READY,
                SubCode.INTERLOCK,
                f"permit lease lapsed, control cycle {late_s:.3f} s late: {problem}",
                StopCategory.CAT1,
            ),
        )

    def _follow_needle(
        self, state: State, snapshot: InterlockSnapshot, tripped: tuple[Interlock, ...]
    ) -> Decision | None:
        """Move an idle state into NEEDLE_INSERTED, or out of it, as the measured axis says."""
        inserted = needle_in(snapshot, self._config)
        if inserted and state in _FOLLOWS_NEEDLE:
            event = Event.NEEDLE_INSERTED
        elif not inserted and state is State.NEEDLE_INSERTED:
            event = Event.NEEDLE_REMOVED
        else:
            return None
        request = Request(source="measurement", reason=needle_text(snapshot, self._config))
        decision = self._fire(event, snapshot, request, tripped)
        return decision if decision.stop is not None else None

    def _tripped(self, snapshot: InterlockSnapshot) -> tuple[Interlock, ...]:
        context = TripContext(now_s=self._now(), config=self._config, audit_ok=self._audit.healthy)
        tripped = tripped_interlocks(snapshot, context)
        if tripped != self._last_tripped:
            self._record("interlock", interlock_change(tripped, self._last_tripped), snapshot)
            self._last_tripped = tripped
        return tripped

    def _react(
        self,
        event: Event,
        cause: Interlock,
        tripped: tuple[Interlock, ...],
        snapshot: InterlockSnapshot,
    ) -> Decision:
        code = StatusCode.HARDWARE_FAILURE if event is Event.FAULT else StatusCode.NOT_READY
        reason = (
            f"interlock {cause.id.value} tripped ({cause.condition}) "
            f"in {STATE_NAME[self._model.state]}"
        )
        request = Request(source="interlock", reason=reason)
        return self._fire(
            event, snapshot, request, tripped, (code, cause.sub_code, reason, cause.stop)
        )

    def _fire(
        self,
        event: Event,
        snapshot: InterlockSnapshot,
        request: Request,
        tripped: tuple[Interlock, ...],
        outcome: Outcome | None = None,
    ) -> Decision:
        state = self._model.state
        if event in COMMAND_EVENTS and any(i.id is InterlockId.COMMAND_AUTHORITY for i in tripped):
            refusal = Refusal(
                code=StatusCode.ACCESS_DENIED,
                sub_code=SubCode.NOT_IN_CONTROL,
                reason=f"{EVENT_NAME[event]} refused: the sender does not hold command authority",
            )
            return self._refuse(event, refusal, tripped, request, snapshot)
        inserted = needle_in(snapshot, self._config)
        if (state, event) not in self._index:
            refusal = refusal_without_row(state, event)
            if inserted and state is State.NEEDLE_INSERTED and event in COMMAND_EVENTS:
                refusal = Refusal(
                    code=refusal.code,
                    sub_code=refusal.sub_code,
                    reason=(
                        f"{EVENT_NAME[event]} refused: {needle_text(snapshot, self._config)} "
                        f"(interlock {InterlockId.NEEDLE_INSERTED.value}); only the needle may "
                        "move, back out: RETRACT_NEEDLE (START_UP also retracts it first)"
                    ),
                )
            return self._refuse(event, refusal, tripped, request, snapshot)
        guard_input = GuardInput(
            state=state,
            tripped=tripped,
            memory=self._memory,
            request=request,
            config=self._config,
            insertion_position_mm=snapshot.insertion_position_mm,
            needle_in=inserted,
            needle_text=needle_text(snapshot, self._config),
        )
        model = self._model
        fired = self._events[event].trigger(model, guard_input=guard_input)
        if model.error is not None:
            return self._fault(event, state, model.error, tripped, snapshot)
        row = model.row
        if not fired or row is None:
            refusal = model.refusal or Refusal(
                code=StatusCode.NOT_READY,
                sub_code=SubCode.UNKNOWN,
                reason=f"{EVENT_NAME[event]} did not fire in {STATE_NAME[state]}",
            )
            return self._refuse(event, refusal, tripped, request, snapshot)
        after = self._model.state
        self._memory = apply_effect(row.effect, self._memory, request)
        try:
            granted = self._move_permit(state, after, request, snapshot)
        except ValueError as err:  # the authority refused what the guard let through: a bug
            return self._fault(event, state, err, tripped, snapshot)
        if not granted:
            outcome = (
                StatusCode.NOT_READY,
                SubCode.INTERLOCK,
                (
                    f"{EVENT_NAME[event]} accepted but no permit issued: its audit record was "
                    "not stored (audit_unavailable)"
                ),
                StopCategory.CAT2,
            )
            return self._fire(Event.PAUSE, snapshot, Request(source="supervisor"), tripped, outcome)
        code, sub_code, reason, stop = outcome or accepted_outcome(event, state, after, row.stop)
        decision = Decision(
            event=event,
            accepted=True,
            state_before=state,
            state_after=after,
            code=code,
            sub_code=sub_code,
            reason=reason,
            permit=self._lease.permit,
            stop=stop if stop is not None else row.stop,
            tripped=tuple(i.id for i in tripped),
        )
        self._record_decision(decision, request, snapshot)
        return decision

    def _move_permit(
        self, before: State, after: State, request: Request, snapshot: InterlockSnapshot
    ) -> bool:
        """Withdraw on leaving motion, grant on entering it; False if the grant was not stored.

        Raises:
            ValueError: the permit authority refused the plan (a guard let a bad plan through).
        """
        lease = self._lease
        if after is before:
            return True
        if before in MOTION_STATES or lease.permit is not None:
            old = lease.withdraw()
            revoked = permit_revoked(old, lease.epoch, STATE_NAME[before])
            self._record("permit_revoked", revoked, snapshot)
        if after not in MOTION_STATES:
            return True
        kind = _MOTION_KIND[after]
        if kind is MotionKind.HOMING:
            stage = homing_stages(self._config)[_HOMING_STAGE[after]]
            plan_id = "homing" if after is State.STARTUP else "homing-lateral"
            envelopes = lease.homing_envelopes(stage)
        else:
            plan_id, envelopes = request.plan_id or "", request.envelopes
        # The rule every permit obeys, whichever row granted it (the guards refuse first, with
        # their reasons; this is the last line): no lateral permit with the needle in.
        problem = permit_problem(
            envelopes, self._config, needle_in=needle_in(snapshot, self._config)
        )
        if problem is not None:
            raise ValueError(f"permit for {plan_id!r} refused: {problem}")
        permit = lease.grant(kind, plan_id=plan_id, envelopes=envelopes)
        if self._record("permit_issued", permit_issued(permit, kind), snapshot, durable=True):
            return True
        lease.withdraw()  # no permit leaves the supervisor unless its record was stored
        return False

    def _fault(
        self,
        event: Event,
        before: State,
        error: BaseException,
        tripped: tuple[Interlock, ...],
        snapshot: InterlockSnapshot,
    ) -> Decision:
        """Latch FAULT after an internal error: permits revoked, Cat 1 stop, fault recorded."""
        logger.error("supervisor fault on %s in %s: %r", event.name, before.value, error)
        self._lease.withdraw()
        payload = {"event": event.name, "error": type(error).__name__, "message": str(error)}
        self._record("fault", payload, snapshot)
        if self._model.state not in {State.FAULT, State.EMERGENCY_STOP}:
            guard_input = GuardInput(
                state=self._model.state,
                tripped=tripped,
                memory=self._memory,
                request=Request(source="supervisor"),
                config=self._config,
            )
            # The FAULT rows are unconditional; a second error here stays on the model, unread.
            self._events[Event.FAULT].trigger(self._model, guard_input=guard_input)
            self._memory = Memory()
        decision = Decision(
            event=event,
            accepted=False,
            state_before=before,
            state_after=self._model.state,
            code=StatusCode.HARDWARE_FAILURE,
            sub_code=SubCode.HARDWARE,
            reason=f"internal fault while handling {event.name}: {type(error).__name__}: {error}",
            permit=None,
            stop=StopCategory.CAT1,
            tripped=tuple(i.id for i in tripped),
        )
        self._record_decision(decision, Request(source="supervisor"), snapshot)
        return decision

    def _refuse(
        self,
        event: Event | None,
        refusal: Refusal,
        tripped: tuple[Interlock, ...],
        request: Request,
        snapshot: InterlockSnapshot,
        raw_event: object = None,
    ) -> Decision:
        state = self._model.state
        decision = Decision(
            event=event,
            accepted=False,
            state_before=state,
            state_after=state,
            code=refusal.code,
            sub_code=refusal.sub_code,
            reason=refusal.reason,
            permit=self._lease.permit,
            stop=None,
            tripped=tuple(i.id for i in tripped),
        )
        self._record_decision(decision, request, snapshot, raw_event=raw_event)
        return decision

    def _record_decision(
        self,
        decision: Decision,
        request: Request,
        snapshot: InterlockSnapshot,
        raw_event: object = None,
    ) -> None:
        kind, payload = decision_record(decision, request, raw_event)
        self._record(kind, payload, snapshot)

    def _record(
        self,
        kind: str,
        payload: Mapping[str, object],
        snapshot: InterlockSnapshot | None,
        *,
        durable: bool = False,
    ) -> bool:
        """Append one audit record; False (logged and counted, never raised) when it failed.

        With ``durable``, a sink with group commit is committed too, and the record counts as
        stored only when the durable sequence number covers it.
        """
        try:
            seq = self._audit.append(
                kind, state=STATE_NAME[self._model.state], payload=payload, snapshot=snapshot
            )
            durable_seq = self._commit() if durable and self._commit is not None else seq
        except AuditError as err:
            self._audit_failures += 1
            logger.error("audit record %s lost: %s", kind, err)  # noqa: TRY400 - message suffices
            return False
        if durable_seq < seq:
            self._audit_failures += 1
            logger.error(
                "audit record %s (seq %d) not durable: durable up to %d", kind, seq, durable_seq
            )
            return False
        return True
