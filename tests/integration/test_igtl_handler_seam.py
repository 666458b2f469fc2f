"""The MessageHandler seam on a real server: call order, once-only disconnect, handler faults."""

from __future__ import annotations

import logging
import threading

import pytest

from robot.igtl import (
    Connection,
    IgtlClient,
    IgtlConnectionClosedError,
    IgtlMessage,
    IgtlPeerClosedError,
    IgtlServer,
    ServerConfig,
    StatusBody,
    StringBody,
)
from tests.support.polling import wait_for

pytestmark = pytest.mark.slow  # integration tests are marked slow (CONVENTIONS.md 8); ~0.2 s


class RecordingHandler:
    """Records every call with its thread; raises on a STRING whose text is ``RAISE``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[tuple[str, int, str]] = []
        self.threads: set[str] = set()
        self.conns: dict[int, Connection] = {}

    def _record(self, what: str, conn: Connection, detail: str) -> None:
        with self.lock:
            self.calls.append((what, conn.id, detail))
            self.threads.add(threading.current_thread().name)
            self.conns[conn.id] = conn

    def on_connect(self, conn: Connection) -> None:
        self._record("connect", conn, "")

    def on_message(self, conn: Connection, message: IgtlMessage) -> None:
        self._record("message", conn, message.device_name)
        if isinstance(message.body, StringBody) and message.body.text == "RAISE":
            raise RuntimeError("handler bug")

    def on_disconnect(self, conn: Connection, reason: str) -> None:
        self._record("disconnect", conn, reason)

    def of(self, conn_id: int) -> list[tuple[str, str]]:
        with self.lock:
            return [(what, detail) for what, cid, detail in self.calls if cid == conn_id]


@pytest.fixture
def handler():
    return RecordingHandler()


@pytest.fixture
def server(handler):
    with IgtlServer(ServerConfig(port=0), handler) as srv:
        yield srv


def status(name: str) -> IgtlMessage:
    return IgtlMessage(device_name=name, body=StatusBody(code=1))


def test_calls_come_in_order_on_the_connection_reader_thread(server, handler):
    with IgtlClient("127.0.0.1", server.port) as client:
        for name in ("A", "B", "C"):
            client.send(status(name))
        wait_for(lambda: len(handler.of(1)) == 4, timeout_s=2.0, what="three messages")
    wait_for(lambda: len(handler.of(1)) == 5, timeout_s=2.0, what="disconnect")
    assert handler.of(1) == [
        ("connect", ""),
        ("message", "A"),
        ("message", "B"),
        ("message", "C"),
        ("disconnect", "EOF from peer"),
    ]
    assert handler.threads == {"igtl-conn1-reader"}


def test_handler_fault_closes_only_that_connection_and_is_logged(server, handler, caplog):
    with (
        IgtlClient("127.0.0.1", server.port) as faulty,
        IgtlClient("127.0.0.1", server.port) as good,
        caplog.at_level(logging.ERROR, logger="robot.igtl"),
    ):
        faulty.send(IgtlMessage(device_name="x", body=StringBody(text="RAISE")))
        with pytest.raises(IgtlPeerClosedError):
            faulty.receive(timeout_s=2.0)
        good.send(status("still-served"))
        wait_for(lambda: ("message", "still-served") in handler.of(2), timeout_s=2.0, what="good")
    # the peer sees EOF before on_disconnect runs on the reader thread: wait for it
    wait_for(lambda: any(w == "disconnect" for w, _ in handler.of(1)), timeout_s=2.0, what="gone")
    disconnects = [d for what, d in handler.of(1) if what == "disconnect"]
    assert disconnects == ["fault: RuntimeError: handler bug"]
    assert any("fault" in r.getMessage() for r in caplog.records)


def test_sending_on_a_closed_connection_raises_a_typed_error(server, handler):
    with IgtlClient("127.0.0.1", server.port):
        wait_for(lambda: len(handler.of(1)) == 1, timeout_s=2.0, what="connect")
    wait_for(lambda: len(handler.of(1)) == 2, timeout_s=2.0, what="disconnect")
    conn = handler.conns[1]
    assert not conn.is_open
    with pytest.raises(IgtlConnectionClosedError, match="EOF from peer"):
        conn.send(status("late"))


def test_disconnect_is_reported_once_when_server_and_peer_close_together(server, handler):
    clients = [IgtlClient("127.0.0.1", server.port) for _ in range(5)]
    for client in clients:
        client.open()
    wait_for(lambda: server.stats().open == 5, timeout_s=2.0, what="five connected")
    for client in clients[:3]:
        client.close()
    server.close()
    for client in clients[3:]:
        client.close()
    with handler.lock:
        disconnects = [cid for what, cid, _ in handler.calls if what == "disconnect"]
    assert sorted(disconnects) == [1, 2, 3, 4, 5]


def test_slicer_style_v2_status_on_connect_is_delivered_with_its_metadata(server, handler):
    hello = IgtlMessage(
        device_name="",
        body=StatusBody(code=1, error_name="", message=""),
        header_version=2,
        metadata=(("STREAM_ID_FROM", "1"),),
    )
    with IgtlClient("127.0.0.1", server.port) as client:
        client.send(hello)
        wait_for(lambda: ("message", "") in handler.of(1), timeout_s=2.0, what="v2 STATUS")
    assert server.stats().traffic.decode_errors == 0
