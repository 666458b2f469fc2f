"""A controlling Slicer-like console speaking header v2, against the running robot (RobotApp on
the emulator): a malformed v2 frame mid-move is answered and dropped, and the connection, and
with it the move, survive (losing the controlling connection mid-move is a protective stop)."""

from __future__ import annotations

import dataclasses
import struct

import pytest

from robot import igtl_adapter
from robot.app import RobotApp
from robot.igtl import IgtlClient, IgtlMessage, StatusBody
from safety import State
from tests.support.robot_app import Console, fast_config, matrix, ready_to_move

pytestmark = pytest.mark.slow


class SlicerConsole(Console):
    """Sends every message in header v2 with Slicer-like metadata, after the connect-time dummy."""

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address)
        client = self.client

        def send_v2(message: IgtlMessage) -> None:
            v2 = dataclasses.replace(
                message, header_version=2, metadata=(("MRMLNodeName", message.device_name),)
            )
            IgtlClient.send(client, v2)

        client.send = send_v2  # type: ignore[method-assign]
        client.send(
            IgtlMessage(
                device_name="",
                body=StatusBody(code=1),
                header_version=2,
                metadata=(("dummy", "dummy"),),
            )
        )


def v2_frame_with_meta_header_size_one(name: bytes) -> bytes:
    body = struct.pack(">HHII", 12, 1, 0, 0) + igtl_adapter.pack_string("STOP")
    crc = igtl_adapter.crc64(body)
    return struct.pack(">H12s20sQQQ", 2, b"STRING", name, 0, len(body), crc) + body


def test_malformed_v2_frame_from_the_controlling_slicer_mid_move_keeps_its_connection():
    with RobotApp(fast_config(), emulate=True) as app, SlicerConsole(app.address) as slicer:
        ready_to_move(slicer, matrix((40.0, 40.0, 40.0)))
        slicer.command("MOVE_TO_TARGET")
        slicer.until("CURRENT_POSITION")
        slicer.client.send_bytes(v2_frame_with_meta_header_size_one(b"CMD_9001"))
        refusal, _ = slicer.until("ACK_9001", type_name="STATUS")
        assert isinstance(refusal.body, StatusBody)
        assert "META_HEADER_SIZE 1 B" in refusal.body.message
        assert slicer.status("MOVE_TO_TARGET").code == 1  # the move went on to its end
        assert app.state is State.NEEDLE_INSERTED  # measured: the needle is in
        assert all(m.header_version == 2 for m in slicer.seen)  # answered in its version
