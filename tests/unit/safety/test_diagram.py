from __future__ import annotations

import re
from pathlib import Path

from safety.diagram import generate_mermaid
from safety.states import WORKPHASE_OF_STATE, State
from safety.table import TABLE

DOC = Path(__file__).resolve().parents[3] / "docs" / "STATE_MACHINE.md"


def _mermaid_block(text: str) -> str:
    match = re.search(r"```mermaid\n(.*?)```", text, re.DOTALL)
    assert match, "docs/STATE_MACHINE.md has no mermaid block"
    return match.group(1)


def test_the_committed_diagram_equals_the_one_generated_from_the_machine():
    assert _mermaid_block(DOC.read_text()) == generate_mermaid(), (
        "docs/STATE_MACHINE.md is stale; regenerate it (see the command in the file)"
    )


def test_the_diagram_has_an_edge_for_every_row_and_source_of_the_table():
    edges = {}
    for line in generate_mermaid().splitlines()[2:]:
        pair, labels = line.strip().split(": ", 1)
        source, dest = pair.split(" --> ")
        edges[(source, dest)] = [label.split(" ")[0] for label in labels.split("<br/>")]
    expected = 0
    for row in TABLE:
        for source_state in row.sources:
            dest_name = (row.dest or source_state).name
            assert row.event.value in edges[(source_state.name, dest_name)], (row, source_state)
            expected += 1
    assert sum(len(v) for v in edges.values()) == expected


def test_the_documented_workphase_of_each_state_matches_the_code():
    text = DOC.read_text()
    for state in State:
        assert f"| `{state.value}` | `{WORKPHASE_OF_STATE[state].value}` |" in text


def test_the_committed_interlock_table_equals_the_one_generated_from_the_code():
    from safety.diagram import interlock_table_markdown

    match = re.search(
        r"<!-- interlocks:begin -->\n(.*?)<!-- interlocks:end -->", DOC.read_text(), re.DOTALL
    )
    assert match, "docs/STATE_MACHINE.md has no interlock table"
    assert match.group(1) == interlock_table_markdown()
