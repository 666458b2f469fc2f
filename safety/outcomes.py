"""What the console is told: the code, sub-code and sentence of an accepted or refused event."""

from __future__ import annotations

from safety.decision import Refusal
from safety.states import (
    COMMAND_EVENTS,
    EVENT_NAME,
    LATCHED_STATES,
    MOTION_STATES,
    STATE_NAME,
    Event,
    State,
    StatusCode,
    StopCategory,
    SubCode,
)

__all__ = ["Outcome", "accepted_outcome", "refusal_without_row"]

#: (code, sub-code, reason, stop) of an accepted decision.
Outcome = tuple[StatusCode, SubCode, str, StopCategory | None]


def accepted_outcome(
    event: Event, before: State, after: State, stop: StopCategory | None
) -> Outcome:
    """Code and reason of an accepted event: 18 when it faulted, 13 when an interlock stopped."""
    text = f"{EVENT_NAME[event]}: {STATE_NAME[before]} -> {STATE_NAME[after]}"
    if after is State.FAULT and before is not State.FAULT:
        return StatusCode.HARDWARE_FAILURE, SubCode.HARDWARE, text, stop
    if event in {Event.TRIP, Event.PAUSE} or (
        after is State.PROTECTIVE_STOP and before is not State.PROTECTIVE_STOP
    ):
        return StatusCode.NOT_READY, SubCode.INTERLOCK, text, stop
    return StatusCode.OK, SubCode.OK, text, stop


def refusal_without_row(state: State, event: Event) -> Refusal:
    """The refusal for an event that has no row in this state (OPENIGTLINK.md 4.4-4.5)."""
    where = f"{EVENT_NAME[event]} is not accepted in {STATE_NAME[state]}"
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
    if state in {State.OFF, State.STARTUP, State.HOMING_LATERAL}:
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
            reason=f"{where}: the needle is inserted; only RETRACT_NEEDLE (or START_UP, which "
            "retracts it first) and stops",
        )
    return Refusal(code=StatusCode.NOT_READY, sub_code=SubCode.NOT_READY, reason=where)
