"""Never silent on a request: raw bytes from a real socket client, each answered.

Slicer's text-node STRING (encoding 1) is read as text; every frame the transport cannot deliver
gets an error STATUS naming why, on the connection that sent it, and that connection stays open.
"""

from __future__ import annotations

import socket
import struct
from typing import TYPE_CHECKING

import numpy as np
import pytest

from robot import igtl_adapter
from robot.igtl import (
    CommandReceived,
    IgtlClient,
    IgtlMessage,
    IgtlPeerClosedError,
    IgtlServer,
    StatusBody,
    StringBody,
)
from tests.support.polling import wait_for

if TYPE_CHECKING:
    import queue

pytestmark = pytest.mark.slow


@pytest.fixture
def client(server):
    client = IgtlClient("127.0.0.1", server.port)
    client.open()
    yield client
    client.close()


def raw_frame(kind: bytes, name: bytes, body: bytes, *, version: int = 1) -> bytes:
    crc = igtl_adapter.crc64(body) if body else 0
    return struct.pack(">H12s20sQQQ", version, kind, name, 0, len(body), crc) + body


def string_content(encoding: int, raw: bytes, length: int | None = None) -> bytes:
    return struct.pack(">HH", encoding, len(raw) if length is None else length) + raw


def expect_status(client: IgtlClient, name: str, code: int, sub_code: int, *reasons: str) -> None:
    reply = client.receive(timeout_s=2.0)
    assert reply.device_name == name
    assert isinstance(reply.body, StatusBody)
    assert (reply.body.code, reply.body.subcode) == (code, sub_code)
    for reason in reasons:
        assert reason in reply.body.message


def assert_still_served(client: IgtlClient, server: IgtlServer, command_id: str = "9999") -> None:
    client.send(IgtlMessage(device_name=f"CMD_{command_id}", body=StringBody(text="PLANNING")))
    assert client.receive(timeout_s=2.0).device_name == f"ACK_{command_id}"
    assert server.stats().closed == 0


def commands(events: queue.Queue[object]) -> list[CommandReceived]:
    return [e for e in list(events.queue) if isinstance(e, CommandReceived)]


def test_slicer_text_node_string_with_encoding_1_is_a_command(server, client, events):
    content = string_content(1, b"START_UP")
    client.send_bytes(raw_frame(b"STRING", b"CMD_0001", content))
    ack = client.receive(timeout_s=2.0)
    assert (ack.device_name, ack.content) == ("ACK_0001", content)  # echoed as received
    wait_for(lambda: len(commands(events)) == 1, timeout_s=2.0, what="command posted")
    (command,) = commands(events)
    assert (command.command_id, command.text) == ("0001", "START_UP")


def test_slicer_v2_text_node_string_with_encoding_1_is_a_command(server, client, events):
    content = string_content(1, b"PLANNING")
    ext = struct.pack(">HHII", 12, 2, 0, 0)
    client.send_bytes(raw_frame(b"STRING", b"CMD_0002", ext + content + b"\0\0", version=2))
    assert client.receive(timeout_s=2.0).device_name == "ACK_0002"
    wait_for(lambda: len(commands(events)) == 1, timeout_s=2.0, what="command posted")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (string_content(3, b"ST\xc3\x84RT"), "not valid ascii (encoding 3): byte 0xc3 at 2"),
        (string_content(1, b"\xffSTOP"), "not valid ascii (encoding 1): byte 0xff at 0"),
        (string_content(106, b"STOP\xff"), "not valid utf-8 (encoding 106)"),
        (string_content(4, b"STOP"), "encoding 4 is not read as text"),
        (string_content(0, b"STOP"), "encoding 0 is not read as text"),
        (string_content(3, b"STOP", length=5), "LENGTH 5 B disagrees with 4 B"),
        (b"\x00", "needs at least 4"),
    ],
)
def test_undecodable_string_command_gets_an_error_status_naming_why(
    server, client, events, content, reason
):
    client.send_bytes(raw_frame(b"STRING", b"CMD_0003", content))
    expect_status(client, "ACK_0003", 12, 11, "STRING(CMD_0003) dropped", reason)
    assert_still_served(client, server)
    assert server.stats().traffic.decode_errors == 1
    wait_for(lambda: len(commands(events)) >= 1, timeout_s=2.0, what="command posted")
    assert [c.command_id for c in commands(events)] == ["9999"]


def test_transform_request_of_the_wrong_size_gets_an_error_status(server, client):
    client.send_bytes(raw_frame(b"TRANSFORM", b"TGT_0004", bytes(40)))
    expect_status(client, "ACK_0004", 12, 11, "TRANSFORM content is 40 B, must be 48 B")
    assert_still_served(client, server)


def test_transform_request_with_an_empty_id_gets_an_error_status(server, client):
    content = igtl_adapter.pack_transform(np.eye(4))
    client.send_bytes(raw_frame(b"TRANSFORM", b"TGT_", content))
    expect_status(client, "ACK_TGT_", 12, 11, "has no valid <id>")
    assert_still_served(client, server)


def test_unprintable_device_name_gets_an_error_status_with_the_name_shown(server, client):
    client.send_bytes(raw_frame(b"STRING", b"CMD_\x0100", string_content(3, b"STOP")))
    expect_status(client, "ACK_CMD_?00", 12, 11, "not printable ASCII")
    assert_still_served(client, server)


def test_status_without_its_nul_gets_an_error_status(server, client):
    content = struct.pack(">Hq20s", 1, 0, b"OK") + b"done"
    client.send_bytes(raw_frame(b"STATUS", b"SCANNER", content))
    expect_status(client, "ACK_SCANNER", 12, 11, "not NUL-terminated")
    assert_still_served(client, server)


def test_bad_crc_on_a_command_gets_a_checksum_status(server, client):
    frame = bytearray(raw_frame(b"STRING", b"CMD_0005", string_content(3, b"STOP")))
    frame[-1] ^= 0x01
    client.send_bytes(bytes(frame))
    expect_status(client, "ACK_0005", 9, 11, "CRC-64")
    assert_still_served(client, server)


def test_unknown_type_request_gets_an_unknown_instruction_status(server, client):
    client.send_bytes(raw_frame(b"GET_CAPABIL", b"", b""))  # a query: answered by workphase
    client.send_bytes(raw_frame(b"POINT", b"CMD_0006", bytes(136)))
    expect_status(client, "ACK_0006", 12, 12, "TYPE 'POINT' is not decoded here")
    assert_still_served(client, server)


def test_header_of_an_unknown_version_gets_a_status_before_the_close(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5.0)
    reader = IgtlClient.from_socket(sock)  # read the reply with our client's deframer
    try:
        sock.sendall(raw_frame(b"STRING", b"CMD_0007", b"", version=3))
        reply = reader.receive(timeout_s=2.0)
        assert reply.device_name == "ACK_0007"
        assert isinstance(reply.body, StatusBody)
        assert "header version 3" in reply.body.message
        assert "connection closed" in reply.body.message
        with pytest.raises(IgtlPeerClosedError):
            reader.receive(timeout_s=2.0)
    finally:
        sock.close()
