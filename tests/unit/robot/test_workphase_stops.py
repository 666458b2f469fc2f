"""One STOP/EMERGENCY, one core entry: the handler's stop requests and the priority path.

The handler calls the HAL's ``estop()`` on the reader thread before the ACK; the request then
enters the core exactly once, on the priority path or from its queued command, whichever comes
first; the other only answers.
"""

# mypy: disable-error-code="arg-type"

from __future__ import annotations

import queue
from types import SimpleNamespace

from robot.igtl import (
    AckHandler,
    Authority,
    CommandReceived,
    IgtlMessage,
    StatusBody,
    StringBody,
)
from robot.runtime import JobKind
from robot.workphase import WorkphaseHandler, WorkphaseProtocol
from safety import State, Workphase
from tests.support.fake_connection import FakeConnection


class FakeCore:
    """The core commands a stop may call, recorded in order (each is one supervisor decision)."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []
        self.busy = False
        self.state = State.READY
        self.motion = None
        self.config = SimpleNamespace(runtime=SimpleNamespace(position_period_s=0.1))

    def emergency(self, source: str, *, hal_stopped: bool = False, report: bool = True) -> None:
        self.calls.append(("emergency", source, hal_stopped, report))

    def stop(self, source: str, *, report: bool = True) -> None:
        self.calls.append(("stop", source, report))

    def await_standstill(self, kind: JobKind) -> None:
        self.calls.append(("await_standstill", kind))

    def current_pose(self) -> None:
        return None

    def accept_pending_target(self) -> None:
        return None


class Rig:
    """A handler (with a counting estop) in front of the ACK handler, and the protocol."""

    def __init__(self) -> None:
        self.events: queue.Queue[object] = queue.Queue()
        self.order: list[str] = []
        self.handler = WorkphaseHandler(
            AckHandler(self.events, authority=Authority()), emergency_stop=self._estop
        )
        self.core = FakeCore()
        self.conn = FakeConnection(1)
        self.handler.on_connect(self.conn)
        self.events.get_nowait()  # PeerConnected
        self.protocol = WorkphaseProtocol(
            self.core,
            connections=lambda: (self.conn,),
            handler=self.handler,
            authority=Authority(),
            worker=SimpleNamespace(),
            now=lambda: 0.0,
        )

    def _estop(self) -> None:
        self.order.append(f"estop after {len(self.conn.sent)} sent")

    def command(self, text: str, command_id: str) -> CommandReceived:
        message = IgtlMessage(device_name=f"CMD_{command_id}", body=StringBody(text=text))
        self.handler.on_message(self.conn, message)
        event = self.events.get_nowait()
        assert isinstance(event, CommandReceived)
        return event


def test_emergency_calls_estop_on_the_reader_before_the_ack_and_queues_one_request():
    rig = Rig()
    event = rig.command("EMERGENCY", "7")
    assert rig.order == ["estop after 0 sent"]  # before the ACK
    assert rig.conn.sent[-1].device_name == "ACK_7"
    (request,) = rig.handler.take_stop_requests()
    assert (request.kind, request.source, request.command_id) == (Workphase.EMERGENCY, "conn1", "7")
    assert request.hal_stopped
    assert request.queued
    assert request.message is event.message
    assert rig.handler.take_stop_requests() == []


def test_the_priority_path_enters_the_core_once_and_the_queued_command_only_answers():
    rig = Rig()
    event = rig.command("EMERGENCY", "1")
    rig.protocol.priority()
    assert rig.core.calls == [("emergency", "conn1", True, False)]
    rig.protocol.handle(event)
    assert rig.core.calls == [
        ("emergency", "conn1", True, False),
        ("await_standstill", JobKind.EMERGENCY),
    ]
    current = rig.conn.sent[-1]
    assert current.device_name == "CURRENT_STATUS"
    assert isinstance(current.body, StatusBody)
    assert current.body.error_name == "EMERGENCY"
    rig.protocol.priority()
    assert len(rig.core.calls) == 2  # nothing left to enter


def test_a_command_handled_before_the_priority_path_enters_the_core_itself_once():
    rig = Rig()
    event = rig.command("STOP", "2")
    rig.protocol.handle(event)
    rig.protocol.priority()
    assert rig.core.calls == [("stop", "conn1", True)]


def test_stops_enter_the_core_in_arrival_order_each_once():
    rig = Rig()
    stop = rig.command("STOP", "1")
    emergency = rig.command("EMERGENCY", "2")
    again = rig.command("EMERGENCY", "3")
    rig.protocol.priority()
    for event in (stop, emergency, again):
        rig.protocol.handle(event)
    assert rig.core.calls == [
        ("stop", "conn1", False),
        ("emergency", "conn1", True, False),
        ("emergency", "conn1", True, False),
        ("await_standstill", JobKind.STOP),
        ("await_standstill", JobKind.EMERGENCY),
        ("await_standstill", JobKind.EMERGENCY),
    ]
    assert rig.order == ["estop after 1 sent", "estop after 2 sent"]


def test_a_request_is_not_taken_before_its_command_is_acked_and_queued():
    taken: list[object] = []
    rig = Rig()

    class Watching(queue.Queue[object]):
        def put_nowait(self, item: object) -> None:
            taken.extend(rig.handler.take_stop_requests())  # the loop, mid-post
            super().put_nowait(item)

    rig.events = Watching()
    rig.handler = WorkphaseHandler(
        AckHandler(rig.events, authority=Authority()), emergency_stop=lambda: None
    )
    rig.handler.on_message(
        rig.conn, IgtlMessage(device_name="CMD_9", body=StringBody(text="EMERGENCY"))
    )
    assert taken == []
    assert len(rig.handler.take_stop_requests()) == 1


def test_a_command_not_from_the_handler_enters_the_core_with_the_hal_not_yet_stopped():
    rig = Rig()
    message = IgtlMessage(device_name="CMD_5", body=StringBody(text="EMERGENCY"))
    event = CommandReceived(
        conn=rig.conn,
        command_id="5",
        text="EMERGENCY",
        phase=Workphase.EMERGENCY,
        has_authority=True,
        message=message,
        received_s=0.0,
    )
    rig.protocol.handle(event)
    assert rig.core.calls == [("emergency", "conn1", False, True)]


def test_a_raising_estop_leaves_the_request_marked_not_stopped():
    events: queue.Queue[object] = queue.Queue()

    def broken() -> None:
        raise OSError("port gone")

    handler = WorkphaseHandler(AckHandler(events, authority=Authority()), emergency_stop=broken)
    conn = FakeConnection(3)
    handler.on_message(conn, IgtlMessage(device_name="CMD_1", body=StringBody(text="EMERGENCY")))
    (request,) = handler.take_stop_requests()
    assert not request.hal_stopped
    assert conn.sent[-1].device_name == "ACK_1"  # the ACK went out anyway


def test_a_stop_with_a_malformed_id_is_acted_on_but_awaits_no_command():
    rig = Rig()
    rig.handler.on_message(
        rig.conn, IgtlMessage(device_name="CMD_", body=StringBody(text="EMERGENCY"))
    )
    assert rig.order == ["estop after 0 sent"]
    assert not isinstance(rig.events.get_nowait(), CommandReceived)
    rig.protocol.priority()
    assert rig.core.calls == [("emergency", "conn1", True, False)]
    rig.protocol.priority()
    assert len(rig.core.calls) == 1
