from __future__ import annotations

import ast
import dataclasses
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from transitions import Machine
from transitions.core import MachineError

import safety
from safety import guards
from safety.decision import GuardInput, Memory, Refusal, Request
from safety.machine import (
    RowCondition,
    RowFired,
    SupervisorModel,
    build_machine,
    keep_error,
    start_event,
)
from safety.states import WORKPHASE_OF_STATE, Event, State
from safety.table import TABLE, Row, rows_by_source
from tests.unit.safety.helpers import CONFIG, make

SAFETY_DIR = Path(safety.__file__).parent


def _binding_names() -> set[str]:
    """The names transitions 0.9.3 binds on a model with these states and triggers."""
    names = {"trigger", "may_trigger"}
    names |= {e.value for e in Event} | {f"may_{e.value}" for e in Event}
    names |= {f"is_{s.name}" for s in State}
    return names


def test_the_model_is_plain_and_the_library_binds_every_trigger_itself():
    assert not {n for n in dir(SupervisorModel) if not n.startswith("__")} & _binding_names()
    model = SupervisorModel()
    assert set(vars(model)) == {"row", "refusal", "error"}
    machine = build_machine(model)
    assert {row.event.value for row in TABLE} == {e.value for e in Event}
    for event in Event:
        bound = vars(model)[event.value]
        assert bound.func == machine.events[event.value].trigger, event
        assert bound.args == (model,), event
    assert _binding_names() <= set(vars(model))


def test_the_machine_is_a_plain_machine_with_the_safe_settings():
    model = SupervisorModel()
    machine = build_machine(model)
    assert type(machine) is Machine  # no subclass, so no library method is overridden
    assert not any(name.startswith("to_") for name in vars(model))
    assert machine.auto_transitions is False
    assert machine.ignore_invalid_triggers is False
    assert machine.send_event is True
    assert machine.has_queue is False
    assert machine.model_override is False
    assert machine.prepare_event == [start_event]
    assert machine.on_exception == [keep_error]
    assert not machine.before_state_change
    assert not machine.after_state_change
    assert not machine.finalize_event
    for state in machine.states.values():
        assert not state.on_enter
        assert not state.on_exit


def test_each_row_and_source_is_one_machine_transition_in_table_order():
    machine = build_machine(SupervisorModel())
    index = rows_by_source()
    seen = set()
    for name, event in machine.events.items():
        for source, transitions in event.transitions.items():
            rows = index[(State[source], Event(name))]
            assert len(transitions) == len(rows), (name, source)
            for transition, row in zip(transitions, rows, strict=True):
                assert transition.source == source
                assert transition.dest == (None if row.dest is None else row.dest.name)
                assert [c.func for c in transition.conditions] == (
                    [] if row.guard is None else [RowCondition(row, row.guard)]
                )
                assert all(c.target for c in transition.conditions)
                assert transition.after == [RowFired(row)]
                assert not transition.before
                assert not transition.prepare
                seen.add((State[source], Event(name)))
    assert seen == set(index)


def _guard_input(state: State, request: Request | None = None) -> GuardInput:
    return GuardInput(
        state=state, tripped=(), memory=Memory(), request=request or Request(), config=CONFIG
    )


def _outcome(model: SupervisorModel) -> tuple[Row | None, Refusal | None, BaseException | None]:
    return model.row, model.refusal, model.error


def test_after_a_trigger_the_model_holds_the_row_that_fired():
    model = SupervisorModel()
    machine = build_machine(model)
    fired = machine.events["start_up"].trigger(model, guard_input=_guard_input(State.OFF))
    assert fired is True
    assert model.state is State.STARTUP
    assert model.row is rows_by_source()[(State.OFF, Event.START_UP)][0]
    assert (model.refusal, model.error) == (None, None)


def test_the_rows_of_a_state_and_event_are_tried_in_table_order():
    model = SupervisorModel()
    machine = build_machine(model)
    machine.set_state(State.NEEDLE_INSERTED)
    gi = dataclasses.replace(_guard_input(State.NEEDLE_INSERTED), memory=Memory(calibration_id="c"))
    assert machine.events["needle_removed"].trigger(model, guard_input=gi)
    first, second, _ = rows_by_source()[(State.NEEDLE_INSERTED, Event.NEEDLE_REMOVED)]
    assert model.row is second
    assert model.state is State.CALIBRATED
    assert first.guard is not None
    assert model.refusal == first.guard(gi)  # the first row's guard refused


def test_when_no_row_fires_the_model_holds_the_refusal_of_the_last_guard_tried():
    model = SupervisorModel()
    machine = build_machine(model)
    machine.set_state(State.READY)
    gi = _guard_input(State.READY, Request(calibration_id=None))
    fired = machine.events["calibrate"].trigger(model, guard_input=gi)
    assert fired is False
    assert model.state is State.READY
    assert model.row is None
    assert model.refusal == guards.calibration_accepted(gi)
    assert model.refusal is not None


def test_each_event_starts_with_an_empty_outcome():
    model = SupervisorModel()
    machine = build_machine(model)
    machine.set_state(State.READY)
    refused = _guard_input(State.READY, Request(calibration_id=None))
    assert machine.events["calibrate"].trigger(model, guard_input=refused) is False
    assert _outcome(model) == (None, guards.calibration_accepted(refused), None)
    assert machine.events["manual"].trigger(model, guard_input=_guard_input(State.READY))
    assert _outcome(model) == (rows_by_source()[(State.READY, Event.MANUAL)][0], None, None)
    assert machine.events["move"].trigger(model, guard_input=None) is False  # no row in MANUAL
    assert isinstance(_outcome(model)[2], MachineError)
    assert machine.events["stop"].trigger(model, guard_input=None)
    assert _outcome(model) == (
        rows_by_source()[(State.MANUAL, Event.STOP)][0],
        None,
        None,
    )


def test_an_event_without_a_row_is_kept_as_a_machine_error_and_the_state_is_unchanged():
    model = SupervisorModel()
    machine = build_machine(model)
    assert machine.events["move"].trigger(model, guard_input=None) is False
    assert isinstance(model.error, MachineError)
    assert model.state is State.OFF


def test_a_keyboard_interrupt_in_a_condition_is_raised_again():
    model = SupervisorModel()
    machine = build_machine(model)

    class _Interrupting:
        def __getattr__(self, name: str) -> object:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        machine.events["start_up"].trigger(model, guard_input=_Interrupting())
    assert isinstance(model.error, KeyboardInterrupt)
    assert model.state is State.OFF


def test_the_machine_refuses_to_drive_another_model():
    class Other:
        state: State

    other = Other()
    machine = Machine(
        model=other,
        states=State,
        initial=State.OFF,
        transitions=[],
        auto_transitions=False,
        send_event=True,
        prepare_event=[start_event],
    )
    machine.add_transition("go", State.OFF.name, State.READY.name)
    with pytest.raises(TypeError, match="SupervisorModel"):
        machine.events["go"].trigger(other)


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


def test_building_a_supervisor_logs_no_warning(caplog):
    with caplog.at_level("WARNING"):
        make()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_model_name_that_clashes_with_a_trigger_is_logged_as_a_warning(caplog):
    class Clashing(SupervisorModel):
        def move(self) -> None:
            """Would shadow the ``move`` trigger."""

    with caplog.at_level("WARNING"):
        build_machine(Clashing())
    assert any("move" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_importing_safety_and_building_a_supervisor_logs_no_warning():
    code = (
        "import logging, sys\n"
        "logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format='%(message)s')\n"
        "import safety\n"
        "from tests.unit.safety.helpers import make\n"
        "make()\n"
        "safety.generate_mermaid()\n"
        "print('built')\n"
    )
    root = SAFETY_DIR.parent
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "built\n", "")


@pytest.mark.parametrize(
    "field", ["supply_pressure_kpa", "console_heartbeat_at_s", "firmware_heartbeat_at_s"]
)
def test_a_snapshot_with_a_non_finite_reading_is_rejected(field):
    from tests.unit.safety.helpers import clear

    with pytest.raises(ValueError, match=f"{field} must be finite"):
        clear(1000.0, **{field: float("nan")})
