"""The OpenIGTLink server on real loopback sockets: clients good and bad, at the same time."""

from __future__ import annotations

import array
import fcntl
import logging
import queue
import random
import socket
import struct
import termios
import time
from typing import Any

import numpy as np
import pyigtl
import pytest

from robot import igtl_adapter
from robot.igtl import (
    AckHandler,
    Authority,
    BodyLimits,
    CommandReceived,
    IgtlClient,
    IgtlMessage,
    IgtlPeerClosedError,
    IgtlServer,
    ImageBody,
    PeerDisconnected,
    PoseReceived,
    RawBody,
    ServerConfig,
    StatusBody,
    StringBody,
    TransformBody,
    encode,
)
from tests.support.clock import FakeClock
from tests.support.polling import wait_for

pytestmark = pytest.mark.slow  # integration tests are marked slow (CONVENTIONS.md 8); ~1.5 s

FRAME_TIMEOUT_S = 0.3


@pytest.fixture
def events():
    return queue.Queue()


@pytest.fixture
def make_server(events):
    servers: list[IgtlServer] = []

    def make(now=time.monotonic, **overrides) -> IgtlServer:
        options: dict[str, Any] = {"port": 0, "frame_timeout_s": FRAME_TIMEOUT_S}
        options.update(overrides)
        handler = AckHandler(events, authority=Authority())
        server = IgtlServer(ServerConfig(**options), handler, now=now)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def server(make_server):
    return make_server()


class Connector:
    """Opens clients (ours) and raw sockets to a server; closes them all at teardown."""

    def __init__(self) -> None:
        self.opened: list[IgtlClient | socket.socket] = []

    def __call__(self, server: IgtlServer) -> IgtlClient:
        client = IgtlClient("127.0.0.1", server.port)
        client.open()
        self.opened.append(client)
        return client

    def raw(self, server: IgtlServer) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5.0)
        self.opened.append(sock)
        return sock


@pytest.fixture
def connect():
    connector = Connector()
    yield connector
    for item in connector.opened:
        item.close()


def cmd(command_id: str, text: str = "START_UP") -> IgtlMessage:
    return IgtlMessage(device_name=f"CMD_{command_id}", body=StringBody(text=text))


def assert_round_trip(client: IgtlClient, command_id: str, text: str = "PLANNING") -> None:
    client.send(cmd(command_id, text))
    ack = client.receive(timeout_s=2.0)
    assert (ack.device_name, ack.body) == (f"ACK_{command_id}", StringBody(text=text))


def wait_closed_by_server(sock: socket.socket, timeout_s: float = 3.0) -> None:
    """Read until EOF (or reset); fail if the server keeps the connection open."""
    sock.settimeout(timeout_s)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return
    except TimeoutError:
        pytest.fail(f"server did not close the connection within {timeout_s} s")


def frame_with(
    *,
    version: int = 1,
    kind: bytes = b"STRING",
    name: bytes = b"CMD_1",
    body: bytes = b"",
    crc: int | None = None,
    size: int | None = None,
) -> bytes:
    crc = (igtl_adapter.crc64(body) if body else 0) if crc is None else crc
    size = len(body) if size is None else size
    return struct.pack(">H12s20sQQQ", version, kind, name, 0, size, crc) + body


def test_server_reports_the_port_it_bound(server):
    assert server.port > 0
    assert server.address == ("127.0.0.1", server.port)


def test_command_is_acked_then_posted_in_order(server, connect, events):
    client = connect(server)
    assert_round_trip(client, "0001", "START_UP")
    kinds = [type(events.get(timeout=2.0)).__name__ for _ in range(2)]
    assert kinds == ["PeerConnected", "CommandReceived"]


def test_transform_echo_is_bit_exact_on_the_wire(server, connect, events):
    client = connect(server)
    content = bytes.fromhex("3f8000013f7fffff00000001") + bytes(24) + bytes.fromhex("41200000" * 3)
    client.send(
        IgtlMessage(device_name="CLB_77", body=RawBody(type_name="TRANSFORM", content=content))
    )
    ack = client.receive(timeout_s=2.0)
    assert ack.device_name == "ACK_77"
    assert ack.content == content
    wait_for(lambda: events.qsize() >= 2, timeout_s=2.0, what="pose event")
    events.get_nowait()
    assert isinstance(events.get_nowait(), PoseReceived)


def test_pyigtl_client_gets_acks_and_the_transform_echo(server):
    client = pyigtl.OpenIGTLinkClient(host="127.0.0.1", port=server.port, start_now=False)
    client.start()
    try:
        wait_for(client.is_connected, timeout_s=5.0, what="pyigtl client connected")
        client.send_message(pyigtl.StringMessage("TARGETING", device_name="CMD_0003"), wait=True)
        ack = client.wait_for_message("ACK_0003", timeout=5)
        assert ack is not None
        assert ack.string == "TARGETING"
        matrix = np.array([[0, -1, 0, 10], [1, 0, 0, 20], [0, 0, 1, 30], [0, 0, 0, 1]], float)
        client.send_message(pyigtl.TransformMessage(matrix, device_name="TGT_0004"), wait=True)
        echo = client.wait_for_message("ACK_0004", timeout=5)
        assert echo is not None
        np.testing.assert_array_equal(echo.matrix, matrix)
    finally:
        client.stop()


def test_burst_of_commands_gets_every_ack_in_order(server, connect):
    client = connect(server)
    client.send_bytes(b"".join(encode(cmd(f"{i:04d}", "PLANNING")) for i in range(500)))
    names = [client.receive(timeout_s=2.0).device_name for _ in range(500)]
    assert names == [f"ACK_{i:04d}" for i in range(500)]


def test_bad_crc_is_dropped_counted_and_the_connection_kept(server, connect):
    client = connect(server)
    frame = bytearray(encode(cmd("0001")))
    frame[57] ^= 0xFF
    client.send_bytes(bytes(frame))
    reply = client.receive(timeout_s=2.0)
    assert reply.device_name == "ACK_0001"
    assert isinstance(reply.body, StatusBody)
    assert (reply.body.code, reply.body.subcode, reply.body.error_name) == (9, 11, "BAD_VALUE")
    assert "CRC-64" in reply.body.message
    assert_round_trip(client, "0002")
    assert server.stats().traffic.crc_errors == 1


def test_unknown_type_is_skipped_by_exactly_its_body_size(server, connect):
    client = connect(server)
    client.send_bytes(frame_with(kind=b"TDATA", name=b"tracker", body=bytes(range(256)) * 4))
    client.send_bytes(frame_with(kind=b"NOBODY", name=b"x"))
    for name, kind in (("ACK_tracker", "TDATA"), ("ACK_x", "NOBODY")):
        reply = client.receive(timeout_s=2.0)
        assert reply.device_name == name
        assert isinstance(reply.body, StatusBody)
        assert (reply.body.code, reply.body.subcode) == (12, 12)
        assert f"TYPE {kind!r} is not decoded here" in reply.body.message
    assert_round_trip(client, "0001")
    assert server.stats().traffic.unknown_types == 2


def test_device_name_without_nul_terminator_is_served(server, connect):
    client = connect(server)
    assert_round_trip(client, "1234567890123456")  # CMD_ + 16 = 20 bytes, no NUL


def test_header_v2_with_garbage_metadata_is_dropped_and_the_stream_continues(server, connect):
    client = connect(server)
    content = igtl_adapter.pack_string("START_UP")
    garbage = struct.pack(">HHII", 12, 0x5000, 0xFFFF, 9) + content + b"\x13\x37" * 5
    client.send_bytes(frame_with(version=2, body=garbage))
    reply = client.receive(timeout_s=2.0)
    assert reply.device_name == "ACK_1"
    assert isinstance(reply.body, StatusBody)
    assert (reply.body.code, reply.body.subcode) == (12, 11)
    assert_round_trip(client, "0002")
    assert server.stats().traffic.decode_errors == 1


def test_header_v2_command_with_metadata_is_acked_in_v2(server, connect):
    client = connect(server)
    message = IgtlMessage(
        device_name="CMD_0005",
        body=StringBody(text="STOP"),
        header_version=2,
        metadata=(("STREAM_ID_TO", "1"),),
    )
    client.send(message)
    ack = client.receive(timeout_s=2.0)
    assert (ack.device_name, ack.header_version, ack.metadata, ack.body) == (
        "ACK_0005",
        2,
        (),
        StringBody(text="STOP"),
    )


def test_huge_declared_body_closes_only_that_connection_with_one_log_line(server, connect, caplog):
    good, bad = connect(server), connect.raw(server)
    with caplog.at_level(logging.INFO, logger="robot.igtl"):
        bad.sendall(frame_with(kind=b"IMAGE", name=b"MR", size=4 << 30))
        wait_closed_by_server(bad)
        wait_for(lambda: server.stats().closed == 1, timeout_s=2.0, what="bad connection closed")
    lines = [r for r in caplog.records if "exceeds" in r.getMessage()]
    assert len(lines) == 1
    assert "4294967296 B exceeds the 67108864 B limit" in lines[0].getMessage()
    assert_round_trip(good, "0001")


def test_random_bytes_close_the_sender_while_a_good_client_is_served(server, connect):
    good = connect(server)
    rng = random.Random(1234)
    for round_ in range(5):
        bad = connect.raw(server)
        bad.sendall(bytes(rng.randrange(256) for _ in range(4096)))
        assert_round_trip(good, f"{round_:04d}")
        wait_closed_by_server(bad, timeout_s=FRAME_TIMEOUT_S + 3.0)
    assert_round_trip(good, "9999")


def test_truncated_header_then_eof_is_detected(server, connect, events):
    good, bad = connect(server), connect.raw(server)
    bad.sendall(encode(cmd("0001"))[:30])
    bad.close()
    wait_for(lambda: server.stats().closed == 1, timeout_s=2.0, what="truncated peer closed")
    assert_round_trip(good, "0002")


def test_client_sending_half_a_message_and_stalling_is_cut_after_the_frame_timeout(server, connect):
    good, stalled = connect(server), connect.raw(server)
    frame = encode(cmd("0001"))
    stalled.sendall(frame[: len(frame) - 4])
    assert_round_trip(good, "0002")  # served while the stalled frame is pending
    wait_closed_by_server(stalled, timeout_s=FRAME_TIMEOUT_S + 3.0)
    assert_round_trip(good, "0003")


def test_client_that_never_reads_is_disconnected_without_holding_up_the_others(
    make_server, connect
):
    server = make_server(max_pending_bytes=1 << 20)
    good, stalled = connect(server), connect.raw(server)
    wait_for(lambda: server.stats().open == 2, timeout_s=2.0, what="both connected")
    text = "x" * 32_000
    for i in range(400):  # 12.8 MB: more than the kernel buffers plus the 1 MiB queue
        message = IgtlMessage(device_name="CURRENT_STATUS", body=StringBody(text=f"{i}{text}"))
        server.broadcast(message)
        assert good.receive(timeout_s=2.0).body == message.body
    wait_for(lambda: server.stats().open == 1, timeout_s=2.0, what="stalled client dropped")
    assert server.stats().closed == 1
    assert stalled.fileno() >= 0


def test_eof_and_reset_are_detected_at_once(server, connect, events):
    polite, rude = connect.raw(server), connect.raw(server)
    wait_for(lambda: server.stats().open == 2, timeout_s=2.0, what="both connected")
    polite.close()
    rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    rude.close()
    wait_for(lambda: server.stats().closed == 2, timeout_s=2.0, what="both disconnects seen")
    reasons = []
    while not events.empty():
        event = events.get_nowait()
        if isinstance(event, PeerDisconnected):
            reasons.append(event.reason)
    assert len(reasons) == 2
    assert any("EOF" in r for r in reasons)


def test_fifty_clients_at_once_each_get_their_own_ack(make_server, connect):
    server = make_server(max_connections=64)
    clients = [connect(server) for _ in range(50)]
    for i, client in enumerate(clients):
        client.send(cmd(f"{i:04d}", "PLANNING"))
    for i, client in enumerate(clients):
        ack = client.receive(timeout_s=5.0)
        assert ack.device_name == f"ACK_{i:04d}"
    assert server.stats().open == 50


def test_connect_disconnect_loop_leaves_no_connection_behind(server, connect):
    good = connect(server)
    for _ in range(100):
        socket.create_connection(("127.0.0.1", server.port), timeout=5.0).close()
    wait_for(lambda: server.stats().closed == 100, timeout_s=5.0, what="100 closes")
    assert server.stats().open == 1
    assert_round_trip(good, "0001")


def test_connections_over_the_limit_are_refused(make_server, connect):
    server = make_server(max_connections=2)
    kept = [connect.raw(server), connect.raw(server)]
    wait_for(lambda: server.stats().open == 2, timeout_s=2.0, what="two connected")
    wait_closed_by_server(connect.raw(server))
    assert all(sock.fileno() >= 0 for sock in kept)
    assert server.stats().refused == 1
    assert server.stats().open == 2


def test_peer_outside_the_allow_list_is_refused(make_server, connect):
    import ipaddress

    server = make_server(allowed_peers=(ipaddress.ip_network("10.0.0.0/8"),))
    wait_closed_by_server(connect.raw(server))
    assert server.stats().refused == 1
    assert server.stats().accepted == 0


def test_transform_longer_than_48_bytes_closes_the_connection(make_server, connect):
    server = make_server(limits=BodyLimits(transform_bytes=48))
    bad = connect.raw(server)
    bad.sendall(frame_with(kind=b"TRANSFORM", name=b"TGT_1", body=bytes(52)))
    wait_closed_by_server(bad)


def test_server_close_disconnects_clients_and_joins_every_thread(make_server, connect):
    server = make_server()
    clients = [connect(server) for _ in range(3)]
    assert_round_trip(clients[0], "0001")
    server.close()
    for client in clients:
        with pytest.raises(IgtlPeerClosedError):
            client.receive(timeout_s=2.0)


def test_commands_from_two_consoles_carry_their_authority(server, connect, events):
    first, second = connect(server), connect(server)
    assert_round_trip(first, "0001", "START_UP")
    assert_round_trip(second, "0002", "MOVE_TO_TARGET")
    commands: list[tuple[str, bool]] = []
    while len(commands) < 2:
        event = events.get(timeout=2.0)
        if isinstance(event, CommandReceived):
            commands.append((event.command_id, event.has_authority))
    assert commands == [("0001", True), ("0002", False)]


def test_broadcast_reaches_every_open_connection(server, connect):
    clients = [connect(server) for _ in range(4)]
    wait_for(lambda: server.stats().open == 4, timeout_s=2.0, what="four connected")
    position = IgtlMessage(
        device_name="CURRENT_POSITION", body=TransformBody(matrix_ras_mm=np.eye(4))
    )
    assert server.broadcast(position) == 4
    for client in clients:
        assert client.receive(timeout_s=2.0) == position


def test_server_configured_for_header_v2_answers_in_v2(make_server, connect):
    server = make_server(header_version=2)
    client = connect(server)
    client.send(cmd("0001"))
    ack = client.receive(timeout_s=2.0)
    assert (ack.device_name, ack.header_version, ack.metadata) == ("ACK_0001", 2, ())


def test_metadata_cannot_go_out_on_a_v1_server(server, connect):
    connect(server)
    wait_for(lambda: server.stats().open == 1, timeout_s=2.0, what="connected")
    message = IgtlMessage(
        device_name="CURRENT_STATUS",
        body=StringBody(text="x"),
        header_version=2,
        metadata=(("k", "v"),),
    )
    with pytest.raises(ValueError, match="need header version 2"):
        server.broadcast(message)


def test_image_within_its_limit_is_delivered_and_one_over_closes(make_server, connect, events):
    server = make_server(limits=BodyLimits(image_bytes=72 + 64 * 64 * 8))
    voxels = np.arange(64 * 64 * 8, dtype=np.uint8).reshape(8, 64, 64)
    image = IgtlMessage(device_name="ZFRAME", body=ImageBody(voxels=voxels, ijk_to_ras=np.eye(4)))
    client = connect(server)
    client.send(image)
    wait_for(lambda: server.stats().traffic.frames_in == 1, timeout_s=2.0, what="image in")
    big = IgtlMessage(
        device_name="ZFRAME",
        body=ImageBody(voxels=np.zeros((9, 64, 64), np.uint8), ijk_to_ras=np.eye(4)),
    )
    client.send(big)
    replies = []

    def drain() -> None:
        while True:
            replies.append(client.receive(timeout_s=2.0).device_name)

    with pytest.raises(IgtlPeerClosedError):  # the STATUS naming the limit may go out first
        drain()
    assert replies in ([], ["ACK_ZFRAME"])
    delivered = [e for e in list(events.queue) if getattr(e, "message", None) is not None]
    assert delivered[0].message.body == image.body


def test_accepted_sockets_get_nodelay_keepalive_and_user_timeout(server, connect):
    connect(server)
    wait_for(lambda: server.stats().open == 1, timeout_s=2.0, what="connected")
    sock = server.connections()[0].socket
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 2000


def unread_bytes(sock: socket.socket) -> int:
    """Bytes waiting in the kernel's receive queue of ``sock`` (FIONREAD)."""
    count = array.array("i", [0])
    fcntl.ioctl(sock.fileno(), termios.FIONREAD, count)
    return count[0]


def test_slow_frame_with_short_pauses_is_served_and_a_long_pause_cuts_it(make_server, connect):
    clock = FakeClock()
    server = make_server(now=clock, frame_timeout_s=0.2)
    slow = connect(server)
    wait_for(lambda: server.stats().open == 1, timeout_s=2.0, what="slow peer connected")
    server_side = server.connections()[0].socket
    frame = encode(cmd("0001"))
    for start in range(0, len(frame) - 10, 10):  # 7 pieces, 0.15 s apart: 0.9 s in all
        slow.send_bytes(frame[start : start + 10])
        wait_for(lambda: unread_bytes(server_side) == 0, timeout_s=2.0, what="piece read")
        clock.advance(0.15)
    slow.send_bytes(frame[60:])
    assert slow.receive(timeout_s=2.0).device_name == "ACK_0001"
    stalled = connect.raw(server)
    stalled.sendall(frame[:10])
    wait_for(lambda: server.stats().open == 2, timeout_s=2.0, what="stalled peer connected")
    clock.advance(0.21)
    wait_closed_by_server(stalled)


def test_header_v2_with_meta_header_size_one_is_dropped_counted_logged_and_kept(
    server, connect, caplog
):
    client = connect(server)
    content = igtl_adapter.pack_string("MOVE_TO_TARGET")
    body = struct.pack(">HHII", 12, 1, 0, 0) + content
    with caplog.at_level(logging.WARNING, logger="robot.igtl"):
        client.send_bytes(frame_with(version=2, name=b"CMD_0001", body=body))
        reply = client.receive(timeout_s=2.0)
        assert_round_trip(client, "0002")
    assert reply.device_name == "ACK_0001"
    assert isinstance(reply.body, StatusBody)
    assert "META_HEADER_SIZE 1 B" in reply.body.message
    assert server.stats().traffic.decode_errors == 1
    assert server.stats().closed == 0
    assert any("META_HEADER_SIZE 1 B" in record.getMessage() for record in caplog.records)
