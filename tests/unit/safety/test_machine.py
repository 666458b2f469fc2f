from __future__ import annotations

import ast
from pathlib import Path

import pytest

import safety
from safety.machine import SupervisorModel, build_machine
from safety.states import WORKPHASE_OF_STATE, Event, State
from safety.table import TABLE, rows_by_source
from tests.unit.safety.helpers import make

SAFETY_DIR = Path(safety.__file__).parent


def test_every_trigger_is_bound_to_the_model_instance_and_the_class_stub_raises():
    model = SupervisorModel()
    build_machine(model)
    for event in Event:
        assert event.value in vars(model), f"trigger {event.value} not bound"
        with pytest.raises(safety.SupervisorError, match="not bound"):
            getattr(SupervisorModel, event.value)(SupervisorModel())
    assert {row.event.value for row in TABLE} == {e.value for e in Event}


def test_the_machine_has_no_guard_free_shortcuts_or_swallowed_refusals():
    model = SupervisorModel()
    machine = build_machine(model)
    assert not any(name.startswith("to_") for name in vars(model))
    assert machine.auto_transitions is False
    assert machine.ignore_invalid_triggers is False
    assert machine.send_event is True
    assert machine.has_queue is False
    assert machine.model_override is True
    assert not machine.prepare_event
    assert not machine.before_state_change
    assert not machine.after_state_change


def test_an_event_without_a_row_raises_from_the_bare_machine():
    from transitions.core import MachineError

    model = SupervisorModel()
    build_machine(model)
    with pytest.raises(MachineError):
        model.move(guard_input=None, verdict=None)


def test_no_module_in_safety_calls_set_state():
    offenders = []
    for path in sorted(SAFETY_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "set_state":
                offenders.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Constant) and node.value == "set_state":
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


@pytest.mark.hazard("H-12")
def test_no_row_uses_a_wildcard_source_and_stops_cover_every_state():
    index = rows_by_source()
    for row in TABLE:
        assert all(isinstance(s, State) for s in row.sources), row
    for state in State:
        assert (state, Event.STOP) in index, state
        assert (state, Event.EMERGENCY) in index, state
        for event in (Event.STOP, Event.EMERGENCY):
            assert all(r.guard is None for r in index[(state, event)]), (state, event)


def test_every_state_maps_to_a_workphase():
    assert set(WORKPHASE_OF_STATE) == set(State)


def test_safety_imports_no_serial_socket_or_other_project_package():
    banned = {"serial", "socket", "hal", "robot", "kinematics", "firmware_interfaces", "pyigtl"}
    for path in sorted(SAFETY_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in banned, f"{path.name} imports {name}"


def test_guards_are_pure_and_give_the_same_answer_twice():
    sup, clock, _ = make()
    from tests.unit.safety.helpers import clear, drive_to

    drive_to(sup, clock, State.TARGET_SET)
    snap = clear(clock(), scanner_imaging=True)
    first = sup.request_motion(snap, plan_id="p", envelopes=[])
    second = sup.request_motion(snap, plan_id="p", envelopes=[])
    assert (first.code, first.sub_code, first.reason) == (
        second.code,
        second.sub_code,
        second.reason,
    )


def test_building_the_machine_logs_no_warning(caplog):
    with caplog.at_level("WARNING"):
        build_machine(SupervisorModel())
    assert caplog.records == []


@pytest.mark.parametrize(
    "field", ["supply_pressure_kpa", "console_heartbeat_at_s", "firmware_heartbeat_at_s"]
)
def test_a_snapshot_with_a_non_finite_reading_is_rejected(field):
    from tests.unit.safety.helpers import clear

    with pytest.raises(ValueError, match=f"{field} must be finite"):
        clear(1000.0, **{field: float("nan")})
