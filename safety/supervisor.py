"""The safety supervisor: gates every motion through the transition table and the interlocks.

One control-loop thread owns it and calls :meth:`Supervisor.handle` for each event and
:meth:`Supervisor.evaluate` once per cycle. It never raises on a refused or failed event: every
answer is a :class:`~safety.decision.Decision` with an OpenIGTLink code, sub-code and reason, and
every decision, permit, interlock change and fault goes to the audit sink. STOP and EMERGENCY are
accepted in every state. A guard that raises latches FAULT (``on_exception``), never silently.

Permits: entering a motion state (STARTUP homing, MOVING, RETRACTING) issues a
:class:`~safety.permits.MotionPermit` through the supervisor's own
:class:`~safety.permits.PermitAuthority`; :meth:`evaluate` extends its lease each cycle while the
blocking interlocks are clear; every exit from a motion state revokes all permits (epoch bump).
"""

from __future__ import annotations

import logging
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from safety.decision import Decision, GuardInput, Memory, Refusal, Request
from safety.errors import AuditError, PermitError
from safety.interlocks import (
    InterlockId,
    MotionKind,
    TripContext,
    tripped_interlocks,
)
from safety.machine import SupervisorModel, Verdict, build_machine
from safety.permits import JointEnvelope, MotionPermit, PermitAuthority, PermitVerifier
from safety.states import (
    COMMAND_EVENTS,
    LATCHED_STATES,
    MOTION_STATES,
    Event,
    State,
    StatusCode,
    StopCategory,
    SubCode,
)
from safety.table import Effect, rows_by_source

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from transitions import Machine
    from transitions.core import EventData

    from safety.audit import AuditSink
    from safety.config import JointConfig, SupervisorConfig
    from safety.interlocks import Interlock, InterlockSnapshot

__all__ = ["Supervisor"]

logger = logging.getLogger(__name__)

_LATCH_RANK: Final = {State.PROTECTIVE_STOP: 1, State.FAULT: 2, State.EMERGENCY_STOP: 3}
_LATCH_EVENT: Final = {
    State.PROTECTIVE_STOP: Event.TRIP,
    State.FAULT: Event.FAULT,
    State.EMERGENCY_STOP: Event.EMERGENCY,
}
_STATE_TEXT: Final = MappingProxyType({s: s.value for s in State})
_EVENT_TEXT: Final = MappingProxyType({e: e.name for e in Event})
_SUB_TEXT: Final = MappingProxyType({c: c.name for c in SubCode})
_MOTION_KIND: Final = {
    State.STARTUP: MotionKind.HOMING,
    State.MOVING: MotionKind.TARGET,
    State.RETRACTING: MotionKind.RETRACTION,
}


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
        self._authority = PermitAuthority(now)
        self._model = SupervisorModel()
        self._machine: Machine = build_machine(self._model, on_exception=self._on_exception)
        self._triggers: Mapping[Event, Callable[..., bool]] = {
            e: vars(self._model)[e.value] for e in Event
        }
        self._index = rows_by_source()
        self._memory = Memory()
        self._permit: MotionPermit | None = None
        self._motion_kind = MotionKind.TARGET
        self._motion_joints: tuple[JointConfig, ...] = ()
        self._last_tripped: tuple[Interlock, ...] = ()
        self._error: BaseException | None = None
        self.audit_failures = 0

    @property
    def state(self) -> State:
        """Current state."""
        return self._model.state

    @property
    def memory(self) -> Memory:
        """Accepted calibration and target."""
        return self._memory

    @property
    def verifier(self) -> PermitVerifier:
        """The permit verifier to hand to the HAL."""
        return self._authority.verifier

    @property
    def permit(self) -> MotionPermit | None:
        """The permit of the current motion (its latest lease), or ``None``."""
        return self._permit

    # ---------------------------------------------------------------- events
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
            rejected: the robot's matrix or reach check failed with this sub-code.
            reason: free text for the audit log.
        """
        request = Request(
            source=source,
            plan_id=plan_id,
            envelopes=tuple(envelopes),
            calibration_id=calibration_id,
            target_id=target_id,
            rejected=rejected,
            reason=reason,
        )
        return self._handle(event, snapshot, request)

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
        """Run once per control cycle: trip interlocks, latch stops, extend or end the lease.

        Returns:
            The decision when the cycle changed something (a stop), else ``None``.
        """
        now_s = self._now()
        tripped = self._tripped(snapshot, now_s)
        state = self._model.state
        moving = state in MOTION_STATES
        latch: Interlock | None = None
        for i in tripped:
            if i.latch is None or state not in i.applies_in:
                continue
            if moving and not i.blocks(self._motion_kind, self._motion_joints):
                continue
            rank = _LATCH_RANK[i.latch]
            if rank > _LATCH_RANK.get(state, 0) and (
                latch is None or rank > _LATCH_RANK[latch.latch]  # type: ignore[index]
            ):
                latch = i
        if latch is not None and latch.latch is not None:
            return self._react(_LATCH_EVENT[latch.latch], latch, tripped, snapshot)
        if not moving:
            return None
        for i in tripped:
            if (
                i.latch is None
                and state in i.applies_in
                and i.blocks(self._motion_kind, self._motion_joints)
            ):
                return self._react(Event.PAUSE, i, tripped, snapshot)
        return self._renew_lease(now_s, tripped, snapshot)

    # ---------------------------------------------------------------- internals
    def _tripped(self, snapshot: InterlockSnapshot, now_s: float) -> tuple[Interlock, ...]:
        context = TripContext(now_s=now_s, config=self._config, audit_ok=self._audit.healthy)
        tripped = tripped_interlocks(snapshot, context)
        if tripped != self._last_tripped:
            new = {i.id.value for i in tripped}
            old = {i.id.value for i in self._last_tripped}
            self._record(
                "interlock",
                {
                    "tripped": sorted(new - old),
                    "cleared": sorted(old - new),
                    "active": sorted(new),
                },
                snapshot,
            )
            self._last_tripped = tripped
        return tripped

    def _renew_lease(
        self, now_s: float, tripped: tuple[Interlock, ...], snapshot: InterlockSnapshot
    ) -> Decision | None:
        permit = self._permit
        try:
            if permit is None:
                problem = f"no permit in motion state {_STATE_TEXT[self.state]}"
            else:
                self._permit = self._authority.extend(permit, self._config.lease_s)
                return None
        except PermitError as err:
            problem = err.reason
        late = "" if permit is None else f" ({now_s - permit.expires_at_s:.3f} s past expiry)"
        self._record("permit_lapsed", {"reason": problem}, snapshot)
        return self._fire(
            Event.TRIP,
            snapshot,
            Request(source="supervisor", reason=problem),
            tripped,
            outcome=(
                StatusCode.NOT_READY,
                SubCode.INTERLOCK,
                f"permit lease lapsed{late}: control cycle too late; {problem}",
                StopCategory.CAT1,
            ),
        )

    def _react(
        self,
        event: Event,
        cause: Interlock,
        tripped: tuple[Interlock, ...],
        snapshot: InterlockSnapshot,
    ) -> Decision:
        code = StatusCode.HARDWARE_FAILURE if event is Event.FAULT else StatusCode.NOT_READY
        reason = f"interlock {cause.id.value} tripped ({cause.condition}) in {self.state.value}"
        return self._fire(
            event,
            snapshot,
            Request(source="interlock", reason=reason),
            tripped,
            outcome=(code, cause.sub_code, reason, cause.stop),
        )

    def _handle(self, event: object, snapshot: InterlockSnapshot, request: Request) -> Decision:
        state = self._model.state
        if not isinstance(event, Event):
            return self._refuse(
                event,
                state,
                Refusal(
                    code=StatusCode.UNKNOWN_INSTRUCTION,
                    sub_code=SubCode.UNKNOWN,
                    reason=f"unknown event {event!r}",
                ),
                (),
                request,
                snapshot,
            )
        tripped = self._tripped(snapshot, self._now())
        return self._fire(event, snapshot, request, tripped)

    def _fire(
        self,
        event: Event,
        snapshot: InterlockSnapshot,
        request: Request,
        tripped: tuple[Interlock, ...],
        outcome: tuple[StatusCode, SubCode, str, StopCategory | None] | None = None,
    ) -> Decision:
        state = self._model.state
        if event in COMMAND_EVENTS:
            for i in tripped:
                if i.id is InterlockId.COMMAND_AUTHORITY:
                    refusal = Refusal(
                        code=StatusCode.ACCESS_DENIED,
                        sub_code=SubCode.NOT_IN_CONTROL,
                        reason=f"{event.name} refused: the sender does not hold command authority",
                    )
                    return self._refuse(event, state, refusal, tripped, request, snapshot)
        if (state, event) not in self._index:
            refusal = _no_row_refusal(state, event)
            return self._refuse(event, state, refusal, tripped, request, snapshot)
        verdict = Verdict()
        guard_input = GuardInput(
            state=state,
            tripped=tripped,
            memory=self._memory,
            request=request,
            config=self._config,
        )
        self._error = None
        fired = self._triggers[event](guard_input=guard_input, verdict=verdict)
        error = self._take_error()
        if error is not None:
            return self._fault_from_error(event, state, error, tripped, snapshot)
        row = verdict.row
        if not fired or row is None:
            refusal = verdict.refusal or Refusal(
                code=StatusCode.NOT_READY,
                sub_code=SubCode.UNKNOWN,
                reason=f"{event.name} did not fire in {state.value}",
            )
            return self._refuse(event, state, refusal, tripped, request, snapshot)
        after = self._model.state
        self._apply(row.effect, request)
        permit_problem = self._update_permit(state, after, request, snapshot)
        if permit_problem is not None:
            return self._fault_from_error(event, state, permit_problem, tripped, snapshot)
        if after in MOTION_STATES and self._permit is None:
            return self._fire(
                Event.PAUSE,
                snapshot,
                Request(source="supervisor"),
                tripped,
                outcome=(
                    StatusCode.NOT_READY,
                    SubCode.INTERLOCK,
                    (
                        f"{_EVENT_TEXT[event]} accepted but no permit issued: "
                        "its audit record was not durable (audit_unavailable)"
                    ),
                    StopCategory.CAT2,
                ),
            )
        if outcome is None:
            outcome = _accepted_outcome(event, state, after, row.stop)
        code, sub_code, reason, stop = outcome
        decision = Decision(
            event=event,
            accepted=True,
            state_before=state,
            state_after=after,
            code=code,
            sub_code=sub_code,
            reason=reason,
            permit=self._permit,
            stop=stop if stop is not None else row.stop,
            tripped=tuple(i.id for i in tripped),
        )
        self._record_decision(decision, request, snapshot)
        return decision

    def _apply(self, effect: Effect, request: Request) -> None:
        memory = self._memory
        if effect is Effect.FORGET_ALL:
            self._memory = Memory()
        elif effect is Effect.SET_CALIBRATION:
            self._memory = Memory(calibration_id=request.calibration_id)
        elif effect is Effect.FORGET_TARGET:
            self._memory = Memory(calibration_id=memory.calibration_id)
        elif effect is Effect.SET_TARGET:
            self._memory = Memory(calibration_id=memory.calibration_id, target_id=request.target_id)

    def _update_permit(
        self, before: State, after: State, request: Request, snapshot: InterlockSnapshot
    ) -> Exception | None:
        if after is before:
            return None
        if before in MOTION_STATES or self._permit is not None:
            self._authority.revoke_all()
            old, self._permit = self._permit, None
            self._record(
                "permit_revoked",
                {
                    "permit_id": None if old is None else old.permit_id,
                    "epoch": self._authority.epoch,
                    "leaving": before.value,
                },
                snapshot,
            )
        if after not in MOTION_STATES:
            return None
        kind = _MOTION_KIND[after]
        if kind is MotionKind.HOMING:
            plan_id = "homing"
            envelopes: tuple[JointEnvelope, ...] = tuple(
                JointEnvelope(
                    joint=j.name,
                    min_position=j.min_position,
                    max_position=j.max_position,
                    max_speed=j.homing_speed,
                )
                for j in self._config.joints
            )
        else:
            plan_id = request.plan_id or ""
            envelopes = request.envelopes
        try:
            permit = self._authority.issue(
                plan_id=plan_id, envelopes=envelopes, lease_s=self._config.lease_s
            )
        except ValueError as err:
            return err
        self._motion_kind = kind
        self._motion_joints = tuple(j for j in self._config.joints if j.name in permit.joints)
        durable = self._record(
            "permit_issued",
            {
                "permit_id": permit.permit_id,
                "plan_id": permit.plan_id,
                "kind": kind.value,
                "envelopes": [
                    [e.joint, e.min_position, e.max_position, e.max_speed] for e in permit.envelopes
                ],
                "expires_at_s": permit.expires_at_s,
                "epoch": permit.epoch,
            },
            snapshot,
        )
        if durable:
            self._permit = permit
        else:  # no permit leaves the supervisor unless its record is durable
            self._authority.revoke_all()
        return None

    def _take_error(self) -> BaseException | None:
        error, self._error = self._error, None
        return error

    def _on_exception(self, event_data: EventData) -> None:
        """``on_exception`` handler: keep the error for :meth:`_fire`; re-raise non-Exceptions."""
        error = event_data.error
        self._error = error
        if error is not None and not isinstance(error, Exception):
            raise error

    def _fault_from_error(
        self,
        event: Event,
        before: State,
        error: BaseException,
        tripped: tuple[Interlock, ...],
        snapshot: InterlockSnapshot,
    ) -> Decision:
        logger.error("supervisor fault on %s in %s: %r", event.name, before.value, error)
        self._authority.revoke_all()
        self._permit = None
        self._record(
            "fault",
            {"event": event.name, "error": type(error).__name__, "message": str(error)},
            snapshot,
        )
        self._error = None
        if self._model.state not in {State.FAULT, State.EMERGENCY_STOP}:
            # The FAULT rows are unconditional; they cannot refuse.
            self._triggers[Event.FAULT](
                guard_input=GuardInput(
                    state=self._model.state,
                    tripped=tripped,
                    memory=self._memory,
                    request=Request(source="supervisor"),
                    config=self._config,
                ),
                verdict=Verdict(),
            )
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
        event: object,
        state: State,
        refusal: Refusal,
        tripped: tuple[Interlock, ...],
        request: Request,
        snapshot: InterlockSnapshot,
    ) -> Decision:
        decision = Decision(
            event=event if isinstance(event, Event) else Event.FAULT,
            accepted=False,
            state_before=state,
            state_after=state,
            code=refusal.code,
            sub_code=refusal.sub_code,
            reason=refusal.reason,
            permit=self._permit,
            stop=None,
            tripped=tuple(i.id for i in tripped),
        )
        self._record_decision(
            decision, request, snapshot, raw_event=None if isinstance(event, Event) else event
        )
        return decision

    def _record_decision(
        self,
        decision: Decision,
        request: Request,
        snapshot: InterlockSnapshot,
        raw_event: object = None,
    ) -> None:
        if not decision.accepted:
            kind = "refusal"
        elif decision.state_after is decision.state_before:
            kind = "accepted"
        else:
            kind = "transition"
        payload: dict[str, object] = {
            "event": _EVENT_TEXT[decision.event] if raw_event is None else str(raw_event),
            "from": _STATE_TEXT[decision.state_before],
            "to": _STATE_TEXT[decision.state_after],
            "code": int(decision.code),
            "sub_code": _SUB_TEXT[decision.sub_code],
            "reason": decision.reason,
            "stop": None if decision.stop is None else int(decision.stop),
            "source": request.source,
        }
        if request.plan_id is not None:
            payload["plan_id"] = request.plan_id
        if request.calibration_id is not None:
            payload["calibration_id"] = request.calibration_id
        if request.target_id is not None:
            payload["target_id"] = request.target_id
        self._record(kind, payload, snapshot)

    def _record(
        self, kind: str, payload: Mapping[str, object], snapshot: InterlockSnapshot | None
    ) -> bool:
        """Append one audit record; False (logged and counted, never raised) when it failed."""
        try:
            self._audit.append(
                kind, state=_STATE_TEXT[self._model.state], payload=payload, snapshot=snapshot
            )
        except AuditError as err:
            self.audit_failures += 1
            logger.error("audit record %s lost: %s", kind, err)  # noqa: TRY400 - message suffices
            return False
        return True


def _accepted_outcome(
    event: Event, before: State, after: State, stop: StopCategory | None
) -> tuple[StatusCode, SubCode, str, StopCategory | None]:
    text = f"{_EVENT_TEXT[event]}: {_STATE_TEXT[before]} -> {_STATE_TEXT[after]}"
    if after is State.FAULT and before is not State.FAULT:
        return StatusCode.HARDWARE_FAILURE, SubCode.HARDWARE, text, stop
    if event in {Event.TRIP, Event.PAUSE} or (
        after is State.PROTECTIVE_STOP and before is not State.PROTECTIVE_STOP
    ):
        return StatusCode.NOT_READY, SubCode.INTERLOCK, text, stop
    return StatusCode.OK, SubCode.OK, text, stop


def _no_row_refusal(state: State, event: Event) -> Refusal:
    """The refusal for an event that has no row in this state."""
    where = f"{_EVENT_TEXT[event]} is not accepted in {_STATE_TEXT[state]}"
    if state in LATCHED_STATES:
        return Refusal(
            code=StatusCode.NOT_READY,
            sub_code=SubCode.INTERLOCK,
            reason=f"{where}: latched; RESET (then START_UP) first",
        )
    if state in MOTION_STATES and event in COMMAND_EVENTS:
        return Refusal(
            code=StatusCode.NOT_READY,
            sub_code=SubCode.BUSY,
            reason=f"{where}: motion in progress; STOP first",
        )
    if state is State.MANUAL and event in {Event.MOVE, Event.SET_TARGET, Event.RETRACT}:
        return Refusal(
            code=StatusCode.NOT_READY,
            sub_code=SubCode.MANUAL_MODE,
            reason=f"{where}: manual mode; leave it with PLAN, CALIBRATE or TARGETING",
        )
    if state in {State.OFF, State.STARTUP}:
        return Refusal(
            code=StatusCode.NOT_READY,
            sub_code=SubCode.NOT_READY,
            reason=f"{where}: START_UP (homing) has not completed",
        )
    if event in {Event.MOVE, Event.SET_TARGET, Event.TARGETING} and state is State.READY:
        return Refusal(
            code=StatusCode.NOT_READY,
            sub_code=SubCode.NOT_CALIBRATED,
            reason=f"{where}: no calibration accepted",
        )
    if event is Event.MOVE and state is State.CALIBRATED:
        return Refusal(
            code=StatusCode.NOT_READY, sub_code=SubCode.NO_TARGET, reason=f"{where}: no target set"
        )
    if state is State.NEEDLE_INSERTED:
        return Refusal(
            code=StatusCode.NOT_READY,
            sub_code=SubCode.INTERLOCK,
            reason=f"{where}: needle inserted; only RETRACT, NEEDLE_REMOVED and stops",
        )
    return Refusal(code=StatusCode.NOT_READY, sub_code=SubCode.NOT_READY, reason=where)
