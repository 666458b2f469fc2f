"""The ACK handler, the authority helper and the server configuration, without sockets."""

from __future__ import annotations

import ipaddress
import queue

import numpy as np
import pytest

from robot.igtl import (
    AckHandler,
    Authority,
    CommandReceived,
    ConnectionId,
    IgtlConnectionClosedError,
    IgtlMessage,
    MessageReceived,
    PeerConnected,
    PeerDisconnected,
    PoseKind,
    PoseReceived,
    RawBody,
    ServerConfig,
    StatusBody,
    StringBody,
    TransformBody,
    Workphase,
    decode_frame,
    encode,
    parse_command_id,
)
from tests.support.clock import FakeClock


class RecordingConnection:
    """Records what a handler sends; does not model sockets, queues or threads."""

    def __init__(self, connection_id: int = 1, *, fail_sends: bool = False) -> None:
        self.id = ConnectionId(connection_id)
        self.peer = ("127.0.0.1", 40000 + connection_id)
        self.is_open = True
        self.sent: list[bytes] = []
        self.closed_reason: str | None = None
        self._fail = fail_sends

    def send(self, message: IgtlMessage) -> None:
        if self._fail:
            raise IgtlConnectionClosedError("gone", connection_id=self.id)
        self.sent.append(encode(message))

    def close(self, reason: str) -> None:
        self.is_open = False
        self.closed_reason = reason


def received(message: IgtlMessage) -> IgtlMessage:
    """The message as the server would deliver it (decoded from the wire, content kept)."""
    return decode_frame(encode(message))


def make(events=None, **kwargs):
    clock = FakeClock(50.0)
    events = queue.Queue() if events is None else events
    return AckHandler(events, now=clock, **kwargs), events


def test_cmd_string_is_acked_with_the_same_text_before_the_event_is_posted():
    handler, events = make()
    conn = RecordingConnection()
    handler.on_message(
        conn, received(IgtlMessage(device_name="CMD_0001", body=StringBody(text="START_UP")))
    )
    ack = decode_frame(conn.sent[0])
    assert (ack.device_name, ack.body) == ("ACK_0001", StringBody(text="START_UP"))
    event = events.get_nowait()
    assert isinstance(event, CommandReceived)
    assert (event.command_id, event.phase, event.received_s) == ("0001", Workphase.START_UP, 50.0)


def test_unknown_phase_text_is_still_acked_and_posted_without_a_phase():
    handler, events = make()
    conn = RecordingConnection()
    handler.on_message(
        conn, received(IgtlMessage(device_name="CMD_42", body=StringBody(text="DANCE")))
    )
    assert decode_frame(conn.sent[0]).body == StringBody(text="DANCE")
    event = events.get_nowait()
    assert isinstance(event, CommandReceived)
    assert event.phase is None


@pytest.mark.parametrize("kind", list(PoseKind))
def test_pose_transform_is_echoed_with_the_same_48_content_bytes(kind):
    handler, events = make()
    conn = RecordingConnection()
    matrix = np.array([[0.1, -1, 0, 10.3], [1, 0.1, 0, 20.7], [0, 0, 1, 1e-7], [0, 0, 0, 1]])
    request = received(
        IgtlMessage(device_name=f"{kind.value}_0006", body=TransformBody(matrix_ras_mm=matrix))
    )
    handler.on_message(conn, request)
    frame = conn.sent[0]
    assert frame[2:14] == b"TRANSFORM\0\0\0"
    assert frame[14:34] == b"ACK_0006".ljust(20, b"\0")
    assert frame[58:] == request.content
    event = events.get_nowait()
    assert isinstance(event, PoseReceived)
    assert event.kind is kind


def test_echo_of_a_nan_payload_is_bit_exact():
    handler, _ = make()
    conn = RecordingConnection()
    content = bytes.fromhex("7fa00001") + bytes(44)  # signalling NaN with a payload
    frame = encode(
        IgtlMessage(device_name="CLB_1", body=RawBody(type_name="TRANSFORM", content=content))
    )
    handler.on_message(conn, decode_frame(frame))
    assert conn.sent[0][58:] == content


@pytest.mark.parametrize(
    "message",
    [
        IgtlMessage(device_name="CMD_", body=StringBody(text="STOP")),
        IgtlMessage(device_name="TGT_", body=TransformBody(matrix_ras_mm=np.eye(4))),
    ],
)
def test_request_with_empty_id_is_not_acked_but_counted_and_posted(message):
    handler, events = make()
    conn = RecordingConnection()
    message = received(message)
    handler.on_message(conn, message)
    assert [m for m in map(decode_frame, conn.sent) if m.device_name != "ACK_TGT_"] == []
    assert handler.rejected == 1
    assert isinstance(events.get_nowait(), MessageReceived)


@pytest.mark.parametrize(("name", "reply_name"), [("TGT_", "ACK_TGT_"), ("NPOS_", "ACK_NPOS_")])
def test_pose_with_invalid_id_is_answered_with_a_status_naming_why(name, reply_name):
    # a STRING CMD_ with a bad id is answered by the workphase layer (STATUS 12); a TRANSFORM
    # got nothing at all
    handler, _ = make()
    conn = RecordingConnection()
    pose = IgtlMessage(device_name=name, body=TransformBody(matrix_ras_mm=np.eye(4)))
    handler.on_message(conn, received(pose))
    (reply,) = map(decode_frame, conn.sent)
    assert reply.device_name == reply_name
    assert isinstance(reply.body, StatusBody)
    assert (reply.body.code, reply.body.subcode, reply.body.error_name) == (12, 11, "BAD_VALUE")
    assert "has no valid <id>" in reply.body.message


def test_other_messages_are_posted_without_reply():
    handler, events = make()
    conn = RecordingConnection()
    handler.on_message(conn, received(IgtlMessage(device_name="CMD_1", body=StatusBody(code=1))))
    handler.on_message(
        conn,
        received(IgtlMessage(device_name="TARGET_1", body=TransformBody(matrix_ras_mm=np.eye(4)))),
    )
    assert conn.sent == []
    assert [type(events.get_nowait()) for _ in range(2)] == [MessageReceived, MessageReceived]


def test_first_workphase_command_takes_authority_and_disconnect_releases_it():
    authority = Authority()
    handler, events = make(authority=authority)
    first, second = RecordingConnection(1), RecordingConnection(2)
    handler.on_message(
        first, received(IgtlMessage(device_name="CMD_1", body=StringBody(text="START_UP")))
    )
    handler.on_message(
        second, received(IgtlMessage(device_name="CMD_2", body=StringBody(text="PLANNING")))
    )
    assert [events.get_nowait().has_authority for _ in range(2)] == [True, False]
    assert len(second.sent) == 1  # the refused client is still ACKed
    handler.on_disconnect(first, "EOF from peer")
    event = events.get_nowait()
    assert isinstance(event, PeerDisconnected)
    assert event.had_authority
    assert authority.holder is None


def test_unknown_text_does_not_take_authority():
    authority = Authority()
    handler, _ = make(authority=authority)
    handler.on_message(
        RecordingConnection(),
        received(IgtlMessage(device_name="CMD_1", body=StringBody(text="HELLO"))),
    )
    assert authority.holder is None


def test_emergency_calls_the_stop_before_the_ack():
    order: list[str] = []
    conn = RecordingConnection()

    def estop() -> None:
        order.append(f"estop with {len(conn.sent)} sent")

    handler, _ = make(emergency_stop=estop)
    handler.on_message(
        conn, received(IgtlMessage(device_name="CMD_9", body=StringBody(text="EMERGENCY")))
    )
    assert order == ["estop with 0 sent"]
    assert len(conn.sent) == 1


def test_command_is_posted_even_when_the_ack_cannot_be_sent():
    handler, events = make()
    handler.on_message(
        RecordingConnection(fail_sends=True),
        received(IgtlMessage(device_name="CMD_1", body=StringBody(text="STOP"))),
    )
    assert events.get_nowait().phase is Workphase.STOP


def test_full_event_queue_closes_the_connection():
    handler, _ = make(events=queue.Queue(maxsize=1))
    conn = RecordingConnection()
    handler.on_connect(conn)
    handler.on_message(
        conn, received(IgtlMessage(device_name="CMD_1", body=StringBody(text="STOP")))
    )
    assert conn.closed_reason == "workphase event queue full"


def test_connect_posts_peer_connected():
    handler, events = make()
    handler.on_connect(RecordingConnection())
    assert isinstance(events.get_nowait(), PeerConnected)


def test_command_id_rules():
    assert parse_command_id("CMD_0001", "CMD_") == "0001"
    assert parse_command_id("CMD_123456789012", "CMD_") == "123456789012"
    assert parse_command_id("CMD_", "CMD_") is None
    assert parse_command_id("CMD_12345678901234567", "CMD_") is None
    assert parse_command_id("ACK_1", "CMD_") is None


def test_authority_is_held_by_one_connection_until_released():
    authority = Authority()
    assert authority.claim(ConnectionId(3))
    assert not authority.claim(ConnectionId(4))
    assert not authority.release(ConnectionId(4), "not the holder")
    assert authority.release(ConnectionId(3), "explicit release")
    assert authority.claim(ConnectionId(4))
    assert authority.holds(ConnectionId(4))


def test_binding_all_interfaces_without_an_allow_list_raises():
    with pytest.raises(ValueError, match="allowed_peers"):
        ServerConfig(host="0.0.0.0")  # noqa: S104 - the point of the test


def test_allow_list_admits_only_its_networks():
    config = ServerConfig(
        host="0.0.0.0",  # noqa: S104 - allowed with a list
        allowed_peers=(ipaddress.ip_network("10.1.0.0/16"),),
    )
    assert config.peer_allowed("10.1.2.3")
    assert config.peer_allowed("::ffff:10.1.2.3")
    assert not config.peer_allowed("10.2.0.1")
    assert ServerConfig().peer_allowed("127.0.0.1")


def test_host_names_are_refused_in_favour_of_ip_literals():
    with pytest.raises(ValueError, match="IP literal"):
        ServerConfig(host="localhost")


def test_authority_is_claimed_before_the_ack_goes_out():
    # Otherwise a second console's reader may claim between the first one's ACK and its claim,
    # and the console that was ACKed first would not hold authority.
    authority = Authority()
    handler, _ = make(authority=authority)
    holders_at_send = []

    class Watching(RecordingConnection):
        def send(self, message: IgtlMessage) -> None:
            holders_at_send.append(authority.holder)
            super().send(message)

    handler.on_message(
        Watching(7), received(IgtlMessage(device_name="CMD_0001", body=StringBody(text="PLANNING")))
    )
    assert holders_at_send == [ConnectionId(7)]
