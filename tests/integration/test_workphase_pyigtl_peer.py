"""The workphase protocol with pyigtl as an independent peer.

Every request is packed by pyigtl's own message classes, and every STRING and TRANSFORM reply is
unpacked by pyigtl. STATUS, which pyigtl does not implement, is parsed here by hand from the
spec's layout. None of mrbot's codec is used on the client side, so a bug that our encoder and
decoder share (and so hide from each other) shows up here.
"""

from __future__ import annotations

import socket
import struct
import time

import numpy as np
import pyigtl
import pytest

from robot.app import RobotApp
from tests.support.robot_app import fast_config

HEADER = struct.Struct(">H12s20sQQQ")  # version, type, device name, timestamp, body size, CRC
STATUS_FIXED = struct.Struct(">Hq20s")  # code, sub-code, error name


class PyigtlPeer:
    """A blocking client: pyigtl packs requests and unpacks STRING and TRANSFORM replies."""

    def __init__(self, address: tuple[str, int]) -> None:
        self._sock = socket.create_connection(address, timeout=5.0)

    def close(self) -> None:
        self._sock.close()

    def send(self, message: pyigtl.MessageBase) -> None:
        self._sock.sendall(message.pack())

    def _exact(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = self._sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("robot closed the connection")
            data += chunk
        return bytes(data)

    def receive(self) -> tuple[str, str, object]:
        """Next message as (type, device name, content) in arrival order."""
        header = self._exact(HEADER.size)
        _, type_raw, name_raw, _, body_size, _ = HEADER.unpack(header)
        body = self._exact(body_size)
        kind = type_raw.rstrip(b"\0").decode()
        name = name_raw.rstrip(b"\0").decode()
        if kind == "STATUS":
            code, sub_code, error_name = STATUS_FIXED.unpack_from(body)
            text = body[STATUS_FIXED.size :].split(b"\0", 1)[0].decode()
            return kind, name, (code, sub_code, error_name.rstrip(b"\0").decode(), text)
        fields = pyigtl.MessageBase.parse_header(header)
        message = pyigtl.MessageBase.create_message(fields["message_type"])
        message.unpack(fields, body)
        if kind == "STRING":
            return kind, name, message.string
        if kind == "TRANSFORM":
            return kind, name, np.array(message.matrix, dtype=np.float64)
        return kind, name, None

    def until(
        self, kind: str, name: str, *, timeout_s: float = 10.0
    ) -> list[tuple[str, str, object]]:
        """Messages up to and including the first ``kind:name``; fails after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        seen: list[tuple[str, str, object]] = []
        while time.monotonic() < deadline:
            message = self.receive()
            seen.append(message)
            if message[0] == kind and message[1] == name:
                return seen
        raise AssertionError(f"no {kind}:{name} within {timeout_s} s; got {seen}")

    def command(self, command_id: str, phase: str) -> list[tuple[str, str, object]]:
        self.send(pyigtl.StringMessage(phase, device_name=f"CMD_{command_id}"))
        ack = self.receive()
        assert ack[:2] == ("STRING", f"ACK_{command_id}")
        assert ack[2] == phase
        current = self.receive()
        assert current[:2] == ("STATUS", "CURRENT_STATUS")
        return [ack, current]


@pytest.fixture
def peer():
    with RobotApp(fast_config(), emulate=True) as app:  # the default profile, brp-2021
        client = PyigtlPeer(app.address)
        try:
            yield client
        finally:
            client.close()


def _status(message: tuple[str, str, object], name: str) -> tuple[int, int, str, str]:
    assert message[:2] == ("STATUS", name), message
    assert isinstance(message[2], tuple)
    return message[2]


def test_a_pyigtl_client_drives_start_up_to_arrival_in_the_spec_order(peer):
    peer.command("0001", "START_UP")
    assert _status(peer.receive(), "START_UP")[0] == 1

    assert peer.command("0002", "CALIBRATION")[1][2][2] == "CALIBRATION"
    assert _status(peer.receive(), "CALIBRATION")[0] == 1  # the phase (brp-2021)
    calibration = np.eye(4)
    peer.send(pyigtl.TransformMessage(calibration, device_name="CLB_0003"))
    echo = peer.receive()
    assert echo[:2] == ("TRANSFORM", "ACK_0003")
    np.testing.assert_array_equal(echo[2], calibration)
    assert _status(peer.receive(), "CALIBRATION")[0] == 1

    peer.command("0004", "TARGETING")
    assert _status(peer.receive(), "TARGETING")[0] == 1
    target = np.eye(4)
    target[:3, 3] = (12.0, -8.0, -40.0)
    peer.send(pyigtl.TransformMessage(target, device_name="TGT_0005"))
    assert peer.receive()[:2] == ("TRANSFORM", "ACK_0005")
    assert _status(peer.receive(), "TARGET")[0] == 1
    reported = peer.receive()
    assert reported[:2] == ("TRANSFORM", "REACHABLE_TARGET")
    assert isinstance(reported[2], np.ndarray)

    peer.command("0006", "MOVE_TO_TARGET")
    streamed = peer.until("STATUS", "MOVE_TO_TARGET", timeout_s=20.0)
    assert {m[:2] for m in streamed[:-1]} <= {("TRANSFORM", "CURRENT_POSITION")}
    assert _status(streamed[-1], "MOVE_TO_TARGET")[0] == 1
    final = peer.receive()
    assert final[:2] == ("TRANSFORM", "CURRENT_POSITION")
    assert isinstance(final[2], np.ndarray)
    assert np.linalg.norm(final[2][:3, 3] - reported[2][:3, 3]) <= 0.1


def test_a_pyigtl_client_gets_configuration_error_for_a_matrix_that_is_not_rigid(peer):
    peer.command("0001", "START_UP")
    assert _status(peer.receive(), "START_UP")[0] == 1
    peer.command("0002", "CALIBRATION")
    assert _status(peer.receive(), "CALIBRATION")[0] == 1  # the phase (brp-2021)
    peer.send(pyigtl.TransformMessage(np.ones((4, 4)), device_name="CLB_0003"))
    assert peer.receive()[:2] == ("TRANSFORM", "ACK_0003")
    code, sub_code, _, text = _status(peer.receive(), "CALIBRATION")
    assert (code, sub_code) == (10, 1)
    assert text
