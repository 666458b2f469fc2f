"""Which reaction a control cycle owes to the tripped interlocks (pure function)."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from safety.states import MOTION_STATES, Event, State

if TYPE_CHECKING:
    from collections.abc import Sequence

    from safety.config import JointConfig
    from safety.interlocks import Interlock, MotionKind

__all__ = ["reaction"]

_LATCH_RANK: Final = MappingProxyType(
    {State.PROTECTIVE_STOP: 1, State.FAULT: 2, State.EMERGENCY_STOP: 3}
)
_LATCH_EVENT: Final = MappingProxyType(
    {
        State.PROTECTIVE_STOP: Event.TRIP,
        State.FAULT: Event.FAULT,
        State.EMERGENCY_STOP: Event.EMERGENCY,
    }
)


def reaction(
    tripped: Sequence[Interlock],
    state: State,
    kind: MotionKind,
    joints: Sequence[JointConfig],
) -> tuple[Event, Interlock] | None:
    """The event to fire for ``tripped`` in ``state``, and the interlock that causes it.

    The most severe latch wins (EMERGENCY_STOP over FAULT over PROTECTIVE_STOP) and only when it
    is more severe than the current state; in a motion state an interlock counts only when it
    blocks the current motion (``kind`` on ``joints``). Without a latch, a motion state pauses
    (Category 2) for the first non-latching interlock that blocks it. ``None``: nothing to do.
    """
    moving = state in MOTION_STATES
    cause: Interlock | None = None
    rank = _LATCH_RANK.get(state, 0)
    for i in tripped:
        if i.latch is None or state not in i.applies_in:
            continue
        if moving and not i.blocks(kind, joints):
            continue
        if _LATCH_RANK[i.latch] > rank:
            cause, rank = i, _LATCH_RANK[i.latch]
    if cause is not None and cause.latch is not None:
        return _LATCH_EVENT[cause.latch], cause
    if moving:
        for i in tripped:
            if i.latch is None and state in i.applies_in and i.blocks(kind, joints):
                return Event.PAUSE, i
    return None
