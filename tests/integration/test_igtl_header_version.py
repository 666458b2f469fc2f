"""Replies in the header version the peer speaks, and Slicer's connect-time dummy STATUS.

A peer that has sent header v2 gets v2 (as PLUS does); a v1 peer gets v1 (a protocol-2 library
cannot skip v2 frames). Slicer's OpenIGTLinkIF sends, at every connect, a v2 STATUS with an
empty name and metadata dummy=dummy: it is consumed, counted, and never answered.
"""

from __future__ import annotations

import struct

import numpy as np
import pyigtl
import pytest

from robot import igtl_adapter
from robot.igtl import (
    IgtlClient,
    IgtlMessage,
    MessageReceived,
    PeerConnected,
    StatusBody,
    StringBody,
    TransformBody,
)
from robot.igtl.header import pack_v2_body
from tests.support.polling import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def clients(server):
    opened: list[IgtlClient] = []

    def make() -> IgtlClient:
        client = IgtlClient("127.0.0.1", server.port)
        client.open()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


def cmd(command_id: str, version: int) -> IgtlMessage:
    return IgtlMessage(
        device_name=f"CMD_{command_id}", body=StringBody(text="PLANNING"), header_version=version
    )


def slicer_dummy_status() -> bytes:
    """The bytes OpenIGTLinkIO sends at connect: v2 STATUS, empty name, metadata dummy=dummy."""
    content = igtl_adapter.pack_status(igtl_adapter.StatusFields(1, 0, "", ""))
    body = pack_v2_body(content, message_id=0, metadata=(("dummy", "dummy"),))
    crc = igtl_adapter.crc64(body)
    return struct.pack(">H12s20sQQQ", 2, b"STATUS", b"", 0, len(body), crc) + body


def test_v2_peer_gets_v2_replies_and_a_v1_peer_v1(server, clients):
    old, new = clients(), clients()
    old.send(cmd("0001", 1))
    new.send(cmd("0002", 2))
    assert old.receive(timeout_s=2.0).header_version == 1
    ack = new.receive(timeout_s=2.0)
    assert (ack.device_name, ack.header_version, ack.metadata) == ("ACK_0002", 2, ())
    position = IgtlMessage(
        device_name="CURRENT_POSITION", body=TransformBody(matrix_ras_mm=np.eye(4))
    )
    assert server.broadcast(position) == 2
    assert old.receive(timeout_s=2.0).header_version == 1
    assert new.receive(timeout_s=2.0).header_version == 2


def test_peer_keeps_v2_replies_after_it_sends_a_v1_frame(server, clients):
    client = clients()
    client.send(cmd("0001", 2))
    assert client.receive(timeout_s=2.0).header_version == 2
    client.send(cmd("0002", 1))
    assert client.receive(timeout_s=2.0).header_version == 2  # the highest seen, as PLUS


def test_error_status_for_a_bad_v2_frame_goes_out_in_v2(server, clients):
    client = clients()
    content = struct.pack(">HH", 4, 4) + b"STOP"  # encoding 4: refused
    body = pack_v2_body(content, message_id=0, metadata=())
    crc = igtl_adapter.crc64(body)
    client.send_bytes(
        struct.pack(">H12s20sQQQ", 2, b"STRING", b"CMD_0003", 0, len(body), crc) + body
    )
    reply = client.receive(timeout_s=2.0)
    assert (reply.device_name, reply.header_version) == ("ACK_0003", 2)


def test_v2_ack_with_empty_metadata_is_read_by_pyigtl(server, clients):
    client = clients()
    client.send(cmd("0004", 2))
    client.receive(timeout_s=2.0)
    client.send(cmd("0005", 2))
    client.socket.settimeout(2.0)
    frame = b""
    while len(frame) < 58 or len(frame) < 58 + int.from_bytes(frame[42:50], "big"):
        frame += client.socket.recv(65536)
    fields = pyigtl.MessageBase.parse_header(frame[:58])
    assert fields["header_version"] == 2
    parsed = pyigtl.StringMessage()
    parsed.unpack(fields, frame[58:])
    assert (parsed.string, parsed.metadata) == ("PLANNING", {})
    # our extended header: 12 B, META_HEADER_SIZE 2 (INDEX_COUNT 0), META_SIZE 0
    assert frame[58:66] == bytes.fromhex("000c000200000000")


def test_slicer_dummy_status_is_consumed_counted_unanswered_and_switches_to_v2(
    server, clients, events
):
    client = clients()
    client.send_bytes(slicer_dummy_status())
    client.send(cmd("0006", 1))
    ack = client.receive(timeout_s=2.0)  # the first thing back: nothing answered the dummy
    assert (ack.device_name, ack.header_version) == ("ACK_0006", 2)
    assert server.stats().traffic.dummy_statuses == 1
    wait_for(lambda: events.qsize() >= 2, timeout_s=2.0, what="events posted")
    posted = list(events.queue)
    assert [type(e) for e in posted][:1] == [PeerConnected]
    assert not any(
        isinstance(e, MessageReceived) and isinstance(e.message.body, StatusBody) for e in posted
    )


def test_status_with_an_empty_name_but_no_dummy_metadata_is_delivered(server, clients, events):
    client = clients()
    client.send(IgtlMessage(device_name="", body=StatusBody(code=1), header_version=2))
    wait_for(
        lambda: any(isinstance(e, MessageReceived) for e in list(events.queue)),
        timeout_s=2.0,
        what="delivered",
    )
    assert server.stats().traffic.dummy_statuses == 0
