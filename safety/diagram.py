"""Mermaid state diagram generated from a freshly built state machine (not from the docs)."""

from __future__ import annotations

from safety.machine import RowCondition, SupervisorModel, build_machine
from safety.states import State

__all__ = ["generate_mermaid"]


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
                    c.func.name
                    for c in transition.conditions
                    if isinstance(c.func, RowCondition) and c.func.row.guard is not None
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
