"""The ``transitions`` machine built from :data:`safety.table.TABLE`, and the model it drives.

One machine transition per row and source state, in table order, so the library itself tries
the rows of a (state, event) pair in order and runs the first whose conditions pass. Each row
brings its own callbacks, all receiving the event (``send_event=True``):

- a condition, :class:`RowCondition`, for a row with a guard: true when the guard allows; when
  it refuses, the condition keeps the refusal on the model;
- an ``after`` callback, :class:`RowFired`, that records on the model the row whose transition
  ran.

The machine-wide callbacks are :func:`start_event` (``prepare_event``: each event starts with
an empty outcome on the model) and :func:`keep_error` (``on_exception``: the error is kept on
the model, and a ``BaseException`` that is not an ``Exception`` is raised again). So after a
trigger the model holds the whole outcome of that event: the row that fired, or the refusal of
the last guard tried, or the error.

The model is a plain class: ``transitions`` adds the trigger methods and its convenience names
itself (default ``model_override=False``; no name of the model clashes with them, which a test
checks by the absence of binding warnings). The supervisor fires events through the machine's
own :class:`transitions.core.Event` objects. Other settings follow SAFETY_BASIS.md 8 for
transitions 0.9.3: no ``to_<state>`` shortcuts (``auto_transitions=False``), refusals are never
swallowed (``ignore_invalid_triggers=False``), no queue (``queued=False``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from transitions import Machine

from safety.states import State
from safety.table import TABLE, Row

if TYPE_CHECKING:
    from collections.abc import Callable

    from transitions.core import EventData

    from safety.decision import GuardInput, Refusal

__all__ = [
    "RowCondition",
    "RowFired",
    "SupervisorModel",
    "build_machine",
    "keep_error",
    "start_event",
]


class SupervisorModel:
    """What the machine drives: the state, and the outcome of the latest event.

    Attributes:
        state: the current state (set by the machine).
        row: the row whose transition ran in the latest event (set by :class:`RowFired`).
        refusal: the refusal of the last guard that refused in the latest event (set by
            :class:`RowCondition`); when no row fired, it is that of the event's last row.
        error: what the latest event raised (set by :func:`keep_error`), or ``None``.
    """

    state: State

    def __init__(self) -> None:
        self.row: Row | None = None
        self.refusal: Refusal | None = None
        self.error: BaseException | None = None


def _model(event: EventData) -> SupervisorModel:
    model = event.model
    if not isinstance(model, SupervisorModel):
        raise TypeError(f"the supervisor machine drives a SupervisorModel, not {model!r}")
    return model


@dataclass(frozen=True, slots=True)
class RowCondition:
    """Condition of one row's transitions: its guard on the event's ``guard_input``."""

    row: Row
    guard: Callable[[GuardInput], Refusal | None]

    @property
    def name(self) -> str:
        """The guard's name (shown in the diagram)."""
        return self.guard.__name__

    def __call__(self, event: EventData) -> bool:
        """True when the guard allows; else keep its refusal on the model and return False."""
        refusal = self.guard(event.kwargs["guard_input"])
        if refusal is None:
            return True
        _model(event).refusal = refusal
        return False


@dataclass(frozen=True, slots=True)
class RowFired:
    """``after`` callback of one row's transitions: record the row on the model."""

    row: Row

    def __call__(self, event: EventData) -> None:
        """Record that this row's transition ran."""
        _model(event).row = self.row


def start_event(event: EventData) -> None:
    """``prepare_event`` callback: the event starts with no row, refusal or error recorded."""
    model = _model(event)
    model.row = None
    model.refusal = None
    model.error = None


def keep_error(event: EventData) -> None:
    """``on_exception`` callback: keep the error on the model; re-raise non-``Exception`` ones.

    The library calls it for every ``BaseException`` a trigger raises (the trigger then returns
    False); ``KeyboardInterrupt`` and ``SystemExit`` must still end the program.
    """
    error: BaseException | None = event.error
    _model(event).error = error
    if error is not None and not isinstance(error, Exception):
        raise error


def _transition(row: Row) -> dict[str, Any]:
    return {
        "trigger": row.event.value,
        "source": list(row.sources),
        "dest": row.dest,
        "conditions": [] if row.guard is None else [RowCondition(row, row.guard)],
        "after": [RowFired(row)],
    }


def build_machine(model: SupervisorModel) -> Machine:
    """Build the state machine for ``model`` from :data:`TABLE`, starting in ``OFF``."""
    return Machine(
        model=model,
        states=State,
        initial=State.OFF,
        transitions=[_transition(row) for row in TABLE],
        auto_transitions=False,
        ignore_invalid_triggers=False,
        send_event=True,
        queued=False,
        prepare_event=[start_event],
        on_exception=[keep_error],
    )
