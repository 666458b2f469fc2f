"""One EMERGENCY (or STOP) from a console is one event: one HAL stop, one decision, one record.

A real client over TCP sends the request to the served robot on the emulated firmware. The
test counts, on the robot's own driver and supervisor, every ``estop()`` call, every supervisor
decision on that event, and every audit record of it, and checks the order: the HAL's
``estop()`` on the connection's reader thread first (the latency path), then exactly one entry
into the core on the control loop. The replies on the wire stay those of OPENIGTLINK.md 4.4.
"""

# mypy: disable-error-code="comparison-overlap, unreachable"

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest

from robot.app import RobotApp
from robot.shutdown import SHUTDOWN_SOURCE
from safety import Event, State
from safety.audit_read import read_audit_log
from tests.support.polling import wait_for
from tests.support.robot_app import Console, fast_config, matrix, ready_to_move, start_up

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow

_LOOP_THREAD = "control-loop"


class Counted:
    """What happened to the driver and the supervisor, in order, with the thread it ran on."""

    def __init__(self, app: RobotApp, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        driver, supervisor = app.driver, app.supervisor
        assert driver is not None
        assert supervisor is not None
        estop, handle = driver.estop, supervisor.handle

        def counted_estop() -> None:
            self._note("estop")
            estop()

        def counted_handle(event: Event, *args: object, **kwargs: object):
            self._note(f"decision {event.name}")
            return handle(event, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(driver, "estop", counted_estop)
        monkeypatch.setattr(supervisor, "handle", counted_handle)

    def _note(self, what: str) -> None:
        with self._lock:
            self.calls.append((what, threading.current_thread().name))

    def of(self, what: str) -> list[str]:
        """The threads on which ``what`` happened, in order."""
        with self._lock:
            return [thread for name, thread in self.calls if name == what]

    def order(self) -> list[str]:
        with self._lock:
            return [name for name, _ in self.calls]


def _records(path: Path, event: str) -> list[tuple[str, str, str]]:
    """(kind, from, to) of every audit record of ``event`` but the shutdown's own STOP."""
    out = []
    for record in read_audit_log(path).records:
        payload = record.payload
        if payload.get("event") == event and payload.get("source") != SHUTDOWN_SOURCE:
            out.append((record.kind, str(payload["from"]), str(payload["to"])))
    return out


def test_one_emergency_is_one_estop_one_decision_and_one_audit_record(tmp_path, monkeypatch):
    audit = tmp_path / "audit.jsonl"
    with (
        RobotApp(fast_config(), emulate=True, audit_path=audit) as app,
        Console(app.address) as console,
    ):
        assert start_up(console).code == 1
        assert app.state is State.READY
        counted = Counted(app, monkeypatch)
        command_id = console.command("EMERGENCY")
        console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
        assert console.status("EMERGENCY").code == 1
        assert app.state is State.EMERGENCY_STOP
        estops = counted.of("estop")
        decisions = counted.of("decision EMERGENCY")
        order = counted.order()
    records = _records(audit, "EMERGENCY")
    assert len(estops) == 1, estops
    assert estops[0] != _LOOP_THREAD  # on the connection's reader thread
    assert decisions == [_LOOP_THREAD]
    assert order.index("estop") < order.index("decision EMERGENCY")
    assert records == [("transition", "READY", "EMERGENCY_STOP")]


def test_one_stop_during_a_move_is_one_decision_and_one_audit_record(tmp_path, monkeypatch):
    audit = tmp_path / "audit.jsonl"
    with (
        RobotApp(fast_config(), emulate=True, audit_path=audit) as app,
        Console(app.address) as console,
    ):
        ready_to_move(console, matrix((45.0, -45.0, 45.0)))
        console.command("MOVE_TO_TARGET")
        console.until("CURRENT_POSITION")
        assert app.state is State.MOVING
        counted = Counted(app, monkeypatch)
        command_id = console.command("STOP")
        console.until(f"ACK_{command_id}")
        assert console.status("STOP").code == 1
        estops = counted.of("estop")
        decisions = counted.of("decision STOP")
    records = _records(audit, "STOP")
    assert estops == []  # a STOP is a Cat 2 stop, never the HAL's estop()
    assert decisions == [_LOOP_THREAD]
    assert records == [("transition", "MOVING", "TARGET_SET")]


def test_an_emergency_behind_a_flood_is_still_one_event(tmp_path, monkeypatch):
    audit = tmp_path / "audit.jsonl"
    with (
        RobotApp(fast_config(), emulate=True, audit_path=audit) as app,
        Console(app.address) as console,
        Console(app.address) as observer,
    ):
        assert start_up(console).code == 1
        counted = Counted(app, monkeypatch)
        for _ in range(300):
            observer.string("ALPHA", "1")
        command_id = observer.command("EMERGENCY")
        wait_for(lambda: app.state is State.EMERGENCY_STOP, timeout_s=2.0, what="priority stop")
        observer.until(f"ACK_{command_id}")
        assert observer.status("EMERGENCY").code == 1
        estops = counted.of("estop")
        decisions = counted.of("decision EMERGENCY")
    assert len(estops) == 1, estops
    assert decisions == [_LOOP_THREAD]
    assert _records(audit, "EMERGENCY") == [("transition", "READY", "EMERGENCY_STOP")]
