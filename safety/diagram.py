"""Generated documentation: the Mermaid state diagram from a fresh machine, the interlock table."""

from __future__ import annotations

from safety.interlocks import INTERLOCKS
from safety.machine import RowCondition, SupervisorModel, build_machine
from safety.states import State

__all__ = ["generate_mermaid", "interlock_table_markdown"]


def generate_mermaid() -> str:
    """Mermaid ``stateDiagram-v2`` text of every transition of a fresh supervisor machine.

    Edges are read from the built ``transitions.Machine`` (its events and their transitions),
    so the diagram shows what the machine does. Internal transitions (state unchanged) are drawn
    as self-loops marked ``(internal)``; guards appear in brackets.
    """
    machine = build_machine(SupervisorModel())
    edges: dict[tuple[str, str], list[str]] = {}
    for trigger, event in machine.events.items():
        for source, transitions in event.transitions.items():
            for transition in transitions:
                dest = transition.dest if transition.dest is not None else source
                label = trigger
                names = [
                    c.func.name for c in transition.conditions if isinstance(c.func, RowCondition)
                ]
                if names:
                    label += f" [{', '.join(names)}]"
                if transition.dest is None:
                    label += " (internal)"
                edges.setdefault((source, dest), []).append(label)
    order = {s.name: n for n, s in enumerate(State)}
    lines = ["stateDiagram-v2", f"    [*] --> {State.OFF.name}"]
    for (source, dest), labels in sorted(
        edges.items(), key=lambda kv: (order[kv[0][0]], order[kv[0][1]])
    ):
        lines.append(f"    {source} --> {dest}: {'<br/>'.join(labels)}")
    return "\n".join(lines) + "\n"


def interlock_table_markdown() -> str:
    """Markdown table of :data:`safety.interlocks.INTERLOCKS`, one row per interlock."""
    order = {s: n for n, s in enumerate(State)}
    lines = [
        (
            "| Interlock | Source | Trips when | Stop | Latches | Reacts in "
            "| Blocks permits for | Reset |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for i in INTERLOCKS:
        stop = "-" if i.stop is None else f"Cat {int(i.stop)}"
        latch = "no (Cat 2 pause)" if i.latch is None else i.latch.name
        if i.stop is None:
            latch = "no (refuses commands)"
        states = sorted(i.applies_in, key=order.__getitem__)
        if len(states) == len(State):
            applies = "every state"
        elif not states:
            applies = "-"
        else:
            applies = ", ".join(s.name for s in states)
        lines.append(
            f"| `{i.id.value}` | {i.source} | {i.condition} | {stop} | {latch} | {applies} "
            f"| {i.scope.value} | {i.reset} |"
        )
    return "\n".join(lines) + "\n"
