"""docs/HAZARDS.md lists real, hazard-marked tests for every hazard."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "HAZARDS.md"
_ROW = re.compile(r"^\| (H-\d\d) \|(.*)\|\s*$")


def _hazards() -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for line in DOC.read_text().splitlines():
        match = _ROW.match(line)
        if match:
            cells = [c.strip() for c in match.group(2).split(" | ")]
            table[match.group(1)] = re.findall(r"`([^`]+::[^`]+)`", cells[-1])
    return table


def _hazard_marks(obj) -> set[str]:
    ids: set[str] = set()
    for mark in getattr(obj, "pytestmark", []):
        if mark.name == "hazard":
            ids.update(mark.args)
        if mark.name == "parametrize":
            for value in mark.args[1]:
                for param_mark in getattr(value, "marks", ()):
                    if param_mark.name == "hazard":
                        ids.update(param_mark.args)
    return ids


def _resolve(node_id: str):
    path, *names = node_id.split("::")
    assert (ROOT / path).is_file(), f"{node_id}: no file {path}"
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    holder, marks = module, set()
    for name in names:
        obj = getattr(holder, name.split("[")[0], None)
        assert obj is not None, f"{node_id}: no test {name} in {path}"
        marks |= _hazard_marks(obj)
        holder = obj
    return holder, marks


def test_the_hazard_table_lists_every_hazard_with_at_least_one_test():
    hazards = _hazards()
    assert len(hazards) >= 14
    assert [h for h, tests in hazards.items() if not tests] == []


@pytest.mark.parametrize(
    ("hazard", "node_id"), [(h, t) for h, ts in _hazards().items() for t in ts]
)
def test_each_listed_test_exists_and_is_marked_with_its_hazard(hazard, node_id):
    test, marks = _resolve(node_id)
    assert callable(test)
    assert hazard in marks, f"{node_id} lacks @pytest.mark.hazard({hazard!r}); has {sorted(marks)}"


def test_every_hazard_mark_in_the_safety_tests_names_a_documented_hazard():
    documented = set(_hazards())
    modules = [
        "tests.unit.safety.test_supervisor",
        "tests.unit.safety.test_permits",
        "tests.unit.safety.test_audit",
        "tests.unit.safety.test_machine",
        "tests.property.test_supervisor_exhaustive",
        "tests.property.test_supervisor_stateful",
        "tests.property.test_safety_interlocks",
        "tests.unit.safety.test_lease",
        "tests.integration.test_audit_crash",
    ]
    for name in modules:
        module = importlib.import_module(name)
        for attr in vars(module).values():
            unknown = _hazard_marks(attr) - documented
            assert not unknown, f"{name}.{getattr(attr, '__name__', attr)} marks unknown {unknown}"
