"""The ``transitions`` machine built from :data:`safety.table.TABLE`, and its model.

Settings follow SAFETY_BASIS.md 8 for transitions 0.9.3: a separate model class whose triggers
are declared (``model_override=True`` binds exactly those), no ``to_<state>`` shortcuts
(``auto_transitions=False``), refusals are never swallowed (``ignore_invalid_triggers=False``),
every callback gets the event (``send_event=True``), no queue (``queued=False``), and an
``on_exception`` handler supplied by the supervisor. No ``prepare``, ``on_enter`` or ``after``
callbacks: the only callbacks are the guards, wrapped by :class:`RowCondition`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from transitions import Machine

from safety.errors import SupervisorError
from safety.states import State
from safety.table import TABLE, Row

if TYPE_CHECKING:
    from collections.abc import Callable

    from transitions.core import EventData

    from safety.decision import Refusal

__all__ = ["RowCondition", "SupervisorModel", "Verdict", "build_machine"]

logger = logging.getLogger(__name__)


def _unbound(name: str) -> SupervisorError:
    return SupervisorError(f"trigger {name!r} is not bound to this model (binding failed)")


class SupervisorModel:
    """The state holder the machine drives; one declared method per :class:`Event` trigger.

    The class methods are stubs that raise: the machine replaces them with instance attributes
    when it binds (a binding test checks every trigger is bound). Nothing else lives here, so
    no trigger name can clash with a model attribute.
    """

    state: State

    def start_up(self, **_kwargs: object) -> bool:
        """Trigger ``start_up`` (bound by the machine)."""
        raise _unbound("start_up")

    def calibrate(self, **_kwargs: object) -> bool:
        """Trigger ``calibrate`` (bound by the machine)."""
        raise _unbound("calibrate")

    def plan(self, **_kwargs: object) -> bool:
        """Trigger ``plan`` (bound by the machine)."""
        raise _unbound("plan")

    def targeting(self, **_kwargs: object) -> bool:
        """Trigger ``targeting`` (bound by the machine)."""
        raise _unbound("targeting")

    def set_target(self, **_kwargs: object) -> bool:
        """Trigger ``set_target`` (bound by the machine)."""
        raise _unbound("set_target")

    def move(self, **_kwargs: object) -> bool:
        """Trigger ``move`` (bound by the machine)."""
        raise _unbound("move")

    def insert(self, **_kwargs: object) -> bool:
        """Trigger ``insert`` (bound by the machine)."""
        raise _unbound("insert")

    def retract(self, **_kwargs: object) -> bool:
        """Trigger ``retract`` (bound by the machine)."""
        raise _unbound("retract")

    def manual(self, **_kwargs: object) -> bool:
        """Trigger ``manual`` (bound by the machine)."""
        raise _unbound("manual")

    def reset(self, **_kwargs: object) -> bool:
        """Trigger ``reset`` (bound by the machine)."""
        raise _unbound("reset")

    def shutdown(self, **_kwargs: object) -> bool:
        """Trigger ``shutdown`` (bound by the machine)."""
        raise _unbound("shutdown")

    def stop(self, **_kwargs: object) -> bool:
        """Trigger ``stop`` (bound by the machine)."""
        raise _unbound("stop")

    def emergency(self, **_kwargs: object) -> bool:
        """Trigger ``emergency`` (bound by the machine)."""
        raise _unbound("emergency")

    def home_lateral(self, **_kwargs: object) -> bool:
        """Trigger ``home_lateral`` (bound by the machine)."""
        raise _unbound("home_lateral")

    def homing_done(self, **_kwargs: object) -> bool:
        """Trigger ``homing_done`` (bound by the machine)."""
        raise _unbound("homing_done")

    def homing_failed(self, **_kwargs: object) -> bool:
        """Trigger ``homing_failed`` (bound by the machine)."""
        raise _unbound("homing_failed")

    def motion_done(self, **_kwargs: object) -> bool:
        """Trigger ``motion_done`` (bound by the machine)."""
        raise _unbound("motion_done")

    def needle_inserted(self, **_kwargs: object) -> bool:
        """Trigger ``needle_inserted`` (bound by the machine)."""
        raise _unbound("needle_inserted")

    def needle_removed(self, **_kwargs: object) -> bool:
        """Trigger ``needle_removed`` (bound by the machine)."""
        raise _unbound("needle_removed")

    def fault(self, **_kwargs: object) -> bool:
        """Trigger ``fault`` (bound by the machine)."""
        raise _unbound("fault")

    def trip(self, **_kwargs: object) -> bool:
        """Trigger ``trip`` (bound by the machine)."""
        raise _unbound("trip")

    def pause(self, **_kwargs: object) -> bool:
        """Trigger ``pause`` (bound by the machine)."""
        raise _unbound("pause")


@dataclass(slots=True)
class Verdict:
    """Filled by the row conditions during one trigger: the row that fired or the last refusal."""

    row: Row | None = None
    refusal: Refusal | None = None


@dataclass(frozen=True, slots=True)
class RowCondition:
    """Transition condition for one row: runs its guard on the event's :class:`GuardInput`."""

    row: Row

    @property
    def name(self) -> str:
        """The guard's name (``always`` for an unconditional row)."""
        guard = self.row.guard
        return "always" if guard is None else guard.__name__

    def __call__(self, event: EventData) -> bool:
        """Run the guard; record the row (passed) or the refusal (failed) in the verdict."""
        verdict: Verdict = event.kwargs["verdict"]
        guard = self.row.guard
        refusal = None if guard is None else guard(event.kwargs["guard_input"])
        if refusal is None:
            verdict.row = self.row
            return True
        verdict.refusal = refusal
        return False


class _QuietOverrideMachine(Machine):
    """``Machine`` that skips undeclared convenience names (``is_*``, ``may_*``) silently.

    With ``model_override=True``, transitions 0.9.3 logs one WARNING per undeclared name it
    does not bind (about 40 per supervisor). Not binding is what we want (SAFETY_BASIS.md 8), so
    they are skipped at DEBUG level; declared names go through the library's own check. Relies
    on ``Machine._checked_assignment`` of the pinned version (``transitions==0.9.3``).
    """

    def _checked_assignment(
        self, model: object, name: str, func: Callable[..., bool | None]
    ) -> None:
        if self.model_override and getattr(model, name, None) is None:
            logger.debug("not binding undeclared %r to the supervisor model", name)
            return
        super()._checked_assignment(model, name, func)


def build_machine(
    model: SupervisorModel, *, on_exception: Callable[[EventData], None] | None = None
) -> Machine:
    """Build the state machine for ``model`` from :data:`TABLE`, starting in ``OFF``."""
    transitions = [
        {
            "trigger": row.event.value,
            "source": list(row.sources),
            "dest": row.dest,
            "conditions": [RowCondition(row)],
        }
        for row in TABLE
    ]
    return _QuietOverrideMachine(
        model=model,
        states=State,
        initial=State.OFF,
        transitions=transitions,
        auto_transitions=False,
        ignore_invalid_triggers=False,
        send_event=True,
        model_override=True,
        queued=False,
        on_exception=[on_exception] if on_exception is not None else None,
    )
