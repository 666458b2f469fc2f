"""The supervisor's transition table: one tuple of rows, the single source of the state machine.

Rows are tried in order for a (state, event) pair; the first whose guard passes fires. A row
with ``dest=None`` is an internal transition (accepted, state unchanged). Every source state is
listed explicitly (no ``'*'``): STOP and EMERGENCY rows cover every state, which the tests check.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from safety import guards
from safety.decision import Memory
from safety.states import LATCHED_STATES, MOTION_STATES, Event, State, StopCategory

if TYPE_CHECKING:
    from collections.abc import Callable

    from safety.decision import GuardInput, Refusal, Request

__all__ = ["TABLE", "Effect", "Row", "apply_effect", "rows_by_source"]


class Effect(enum.Enum):
    """What an accepted row does to the supervisor's memory (calibration and target)."""

    NONE = "none"
    FORGET_ALL = "forget calibration and target"
    SET_CALIBRATION = "accept calibration, forget target"
    FORGET_TARGET = "forget target"
    SET_TARGET = "accept target"


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One transition: on ``event`` from any of ``sources`` to ``dest`` if ``guard`` allows.

    Attributes:
        event: the trigger.
        sources: states this row applies in.
        dest: target state; ``None`` for an internal transition.
        guard: pure guard, ``None`` for an unconditional row.
        stop: stop the control loop must command when the row fires.
        effect: memory update when the row fires.
    """

    event: Event
    sources: tuple[State, ...]
    dest: State | None
    guard: Callable[[GuardInput], Refusal | None] | None = None
    stop: StopCategory | None = None
    effect: Effect = Effect.NONE


_IDLE: Final = (State.READY, State.CALIBRATED, State.TARGET_SET, State.AT_TARGET, State.MANUAL)
_TARGETABLE: Final = (State.CALIBRATED, State.TARGET_SET, State.AT_TARGET)
_ALL: Final = tuple(State)
_NOT_LATCHED: Final = tuple(s for s in State if s not in LATCHED_STATES)

_NOT_RETRACTING_IDLE: Final = (State.READY, State.CALIBRATED, State.TARGET_SET, State.AT_TARGET)

TABLE: Final[tuple[Row, ...]] = (
    # start-up and homing: the insertion axis alone first (it homes towards the retracted end),
    # then the other axes once the needle is measured out
    Row(
        event=Event.START_UP,
        sources=(State.OFF, *_IDLE, State.NEEDLE_INSERTED),
        dest=State.STARTUP,
        guard=guards.homing_allowed,
        effect=Effect.FORGET_ALL,
    ),
    Row(
        event=Event.HOME_LATERAL,
        sources=(State.STARTUP,),
        dest=State.HOMING_LATERAL,
        guard=guards.lateral_homing_allowed,
    ),
    Row(event=Event.HOMING_DONE, sources=(State.HOMING_LATERAL,), dest=State.READY),
    Row(
        event=Event.HOMING_DONE,
        sources=(State.STARTUP,),
        dest=State.READY,
        guard=guards.homing_covered_every_joint,
    ),
    Row(
        event=Event.HOMING_FAILED,
        sources=(State.STARTUP, State.HOMING_LATERAL),
        dest=State.FAULT,
        stop=StopCategory.CAT1,
    ),
    # registration and targeting
    Row(
        event=Event.CALIBRATE,
        sources=(State.READY, *_TARGETABLE, State.MANUAL),
        dest=State.CALIBRATED,
        guard=guards.calibration_accepted,
        effect=Effect.SET_CALIBRATION,
    ),
    Row(event=Event.PLAN, sources=(State.READY, *_TARGETABLE), dest=None),
    Row(event=Event.PLAN, sources=(State.MANUAL,), dest=State.READY, effect=Effect.FORGET_ALL),
    Row(
        event=Event.TARGETING,
        sources=_TARGETABLE,
        dest=State.CALIBRATED,
        effect=Effect.FORGET_TARGET,
    ),
    Row(
        event=Event.TARGETING,
        sources=(State.MANUAL,),
        dest=State.CALIBRATED,
        guard=guards.has_calibration,
        effect=Effect.FORGET_TARGET,
    ),
    Row(
        event=Event.SET_TARGET,
        sources=_TARGETABLE,
        dest=State.TARGET_SET,
        guard=guards.target_accepted,
        effect=Effect.SET_TARGET,
    ),
    # motion to the target: align with the needle out, then insert the insertion axis alone
    Row(
        event=Event.MOVE,
        sources=(State.TARGET_SET, State.AT_TARGET),
        dest=State.MOVING,
        guard=guards.move_allowed,
    ),
    Row(event=Event.MOTION_DONE, sources=(State.MOVING,), dest=State.AT_TARGET),
    Row(
        event=Event.INSERT,
        sources=(State.AT_TARGET,),
        dest=State.INSERTING,
        guard=guards.insert_allowed,
    ),
    Row(
        event=Event.MOTION_DONE,
        sources=(State.INSERTING,),
        dest=State.NEEDLE_INSERTED,
        guard=guards.needle_is_in,
    ),
    Row(event=Event.MOTION_DONE, sources=(State.INSERTING,), dest=State.AT_TARGET),
    # needle: NEEDLE_INSERTED and NEEDLE_REMOVED come from the measured insertion axis
    # (Supervisor.evaluate), never from a console
    Row(event=Event.NEEDLE_INSERTED, sources=_IDLE, dest=State.NEEDLE_INSERTED),
    Row(
        event=Event.NEEDLE_INSERTED,
        sources=(State.NEEDLE_INSERTED, State.RETRACTING, State.INSERTING, State.STARTUP),
        dest=None,
    ),
    Row(
        event=Event.NEEDLE_INSERTED,
        sources=(State.HOMING_LATERAL, State.MOVING),
        dest=State.PROTECTIVE_STOP,
        stop=StopCategory.CAT1,
    ),
    Row(
        event=Event.RETRACT,
        sources=(State.NEEDLE_INSERTED, *_NOT_RETRACTING_IDLE),
        dest=State.RETRACTING,
        guard=guards.retract_allowed,
    ),
    Row(event=Event.MOTION_DONE, sources=(State.RETRACTING,), dest=State.NEEDLE_INSERTED),
    Row(
        event=Event.NEEDLE_REMOVED,
        sources=(State.NEEDLE_INSERTED,),
        dest=State.TARGET_SET,
        guard=guards.needle_out_with_target,
    ),
    Row(
        event=Event.NEEDLE_REMOVED,
        sources=(State.NEEDLE_INSERTED,),
        dest=State.CALIBRATED,
        guard=guards.needle_out_with_calibration,
    ),
    Row(
        event=Event.NEEDLE_REMOVED,
        sources=(State.NEEDLE_INSERTED,),
        dest=State.READY,
        guard=guards.needle_out_without_calibration,
        effect=Effect.FORGET_ALL,
    ),
    # manual mode and shutdown
    Row(
        event=Event.MANUAL,
        sources=(State.READY, *_TARGETABLE),
        dest=State.MANUAL,
        effect=Effect.FORGET_TARGET,
    ),
    Row(event=Event.MANUAL, sources=(State.MANUAL,), dest=None),
    Row(event=Event.SHUTDOWN, sources=(State.OFF,), dest=None),
    Row(event=Event.SHUTDOWN, sources=_IDLE, dest=State.OFF, effect=Effect.FORGET_ALL),
    # stops: accepted in every state
    *(
        Row(event=event, sources=(State.MOVING,), dest=State.TARGET_SET, stop=StopCategory.CAT2)
        for event in (Event.STOP, Event.PAUSE)
    ),
    *(
        Row(
            event=event,
            sources=(State.INSERTING, State.RETRACTING),
            dest=State.NEEDLE_INSERTED,
            stop=StopCategory.CAT2,
        )
        for event in (Event.STOP, Event.PAUSE)
    ),
    *(
        Row(
            event=event,
            sources=(State.STARTUP, State.HOMING_LATERAL),
            dest=State.OFF,
            stop=StopCategory.CAT2,
            effect=Effect.FORGET_ALL,
        )
        for event in (Event.STOP, Event.PAUSE)
    ),
    Row(
        event=Event.STOP,
        sources=tuple(s for s in _ALL if s not in MOTION_STATES),
        dest=None,
        stop=StopCategory.CAT2,
    ),
    Row(
        event=Event.TRIP,
        sources=tuple(s for s in _NOT_LATCHED if s is not State.OFF),
        dest=State.PROTECTIVE_STOP,
        stop=StopCategory.CAT1,
    ),
    Row(event=Event.TRIP, sources=(State.OFF, *LATCHED_STATES), dest=None),
    Row(
        event=Event.FAULT,
        sources=tuple(s for s in _ALL if s not in {State.FAULT, State.EMERGENCY_STOP}),
        dest=State.FAULT,
        stop=StopCategory.CAT1,
        effect=Effect.FORGET_ALL,
    ),
    Row(event=Event.FAULT, sources=(State.FAULT, State.EMERGENCY_STOP), dest=None),
    Row(
        event=Event.EMERGENCY,
        sources=tuple(s for s in _ALL if s is not State.EMERGENCY_STOP),
        dest=State.EMERGENCY_STOP,
        stop=StopCategory.CAT1,
        effect=Effect.FORGET_ALL,
    ),
    Row(
        event=Event.EMERGENCY,
        sources=(State.EMERGENCY_STOP,),
        dest=None,
        stop=StopCategory.CAT1,
    ),
    # leaving a latched state
    Row(
        event=Event.RESET,
        sources=tuple(sorted(LATCHED_STATES, key=lambda s: s.value)),
        dest=State.OFF,
        guard=guards.reset_allowed,
        effect=Effect.FORGET_ALL,
    ),
)


def rows_by_source() -> dict[tuple[State, Event], tuple[Row, ...]]:
    """Index of the table: (state, event) -> rows in table order."""
    index: dict[tuple[State, Event], list[Row]] = {}
    for row in TABLE:
        for source in row.sources:
            index.setdefault((source, row.event), []).append(row)
    return {key: tuple(rows) for key, rows in index.items()}


def apply_effect(effect: Effect, memory: Memory, request: Request) -> Memory:
    """The supervisor's memory after a row with ``effect`` fired for ``request``."""
    if effect is Effect.FORGET_ALL:
        return Memory()
    if effect is Effect.SET_CALIBRATION:
        return Memory(calibration_id=request.calibration_id)
    if effect is Effect.FORGET_TARGET:
        return Memory(calibration_id=memory.calibration_id)
    if effect is Effect.SET_TARGET:
        return Memory(
            calibration_id=memory.calibration_id,
            target_id=request.target_id,
            target_depth_mm=request.target_depth_mm,
        )
    return memory
