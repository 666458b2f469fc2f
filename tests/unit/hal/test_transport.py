"""Serial transport over pyserial URLs: loop://, a real pty, errors translated, latency timer."""

from __future__ import annotations

import contextlib
import os
import time
import tty

import pytest
import serial

from hal.errors import TransportError
from hal.transport import SerialTransport, ftdi_latency_timer_ms


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    fds = {"master": master, "slave": slave}
    yield path, fds
    for fd in fds.values():
        if fd is not None:
            with contextlib.suppress(OSError):  # the test may have closed it already
                os.close(fd)


def read_until(transport: SerialTransport, n: int, timeout_s: float = 1.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout_s
    while len(data) < n and time.monotonic() < deadline:
        data += transport.read()
    return data


def test_loop_url_carries_every_byte_value_back():
    transport = SerialTransport("loop://")
    transport.open()
    try:
        payload = bytes(range(256))
        transport.write(payload)
        assert read_until(transport, 256) == payload
    finally:
        transport.close()


def test_read_returns_nothing_after_the_read_timeout_when_the_line_is_quiet():
    transport = SerialTransport("loop://", read_timeout_s=0.005)
    transport.open()
    try:
        assert transport.read() == b""
    finally:
        transport.close()


def test_opening_a_missing_device_raises_a_transport_error_naming_it():
    transport = SerialTransport("/dev/does-not-exist-mrbot")
    with pytest.raises(TransportError, match="/dev/does-not-exist-mrbot") as info:
        transport.open()
    assert isinstance(info.value.__cause__, serial.SerialException)
    assert info.value.url == "/dev/does-not-exist-mrbot"


def test_read_and_write_on_a_closed_transport_raise_and_close_is_idempotent():
    transport = SerialTransport("loop://")
    with pytest.raises(TransportError):
        transport.read()
    with pytest.raises(TransportError):
        transport.write(b"x")
    transport.open()
    transport.close()
    transport.close()
    with pytest.raises(TransportError):
        transport.read()


def test_pty_passes_raw_bytes_both_ways(pty_pair):
    path, fds = pty_pair
    transport = SerialTransport(path)
    transport.open()
    try:
        os.write(fds["master"], b"\x00\x03\x11\x13\xff")
        assert read_until(transport, 5) == b"\x00\x03\x11\x13\xff"
        transport.write(b"\x03\x04")
        assert os.read(fds["master"], 16) == b"\x03\x04"
    finally:
        transport.close()


def test_closing_the_pty_master_is_seen_as_a_disconnect_within_100_ms(pty_pair):
    path, fds = pty_pair
    transport = SerialTransport(path)
    transport.open()
    try:
        os.close(fds["slave"])
        fds["slave"] = None
        start = time.monotonic()
        os.close(fds["master"])
        fds["master"] = None

        def read_until_error() -> None:
            while time.monotonic() - start < 1.0:
                transport.read()

        with pytest.raises(TransportError):
            read_until_error()
        assert time.monotonic() - start < 0.1
    finally:
        transport.close()


def test_a_second_exclusive_open_of_a_pty_fails(pty_pair):
    path, _ = pty_pair
    first = SerialTransport(path)
    first.open()
    try:
        with pytest.raises(TransportError, match="cannot open"):
            SerialTransport(path).open()
    finally:
        first.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": ""}, "URL"),
        ({"url": "loop://", "baudrate": 0}, "baudrate"),
        ({"url": "loop://", "read_timeout_s": 0}, "time-outs"),
    ],
)
def test_bad_arguments_are_rejected_in_the_constructor(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SerialTransport(**kwargs)


def test_ftdi_latency_timer_is_read_from_sysfs(tmp_path):
    (tmp_path / "ttyUSB3").mkdir()
    (tmp_path / "ttyUSB3" / "latency_timer").write_text("16\n")
    assert ftdi_latency_timer_ms("/dev/ttyUSB3", sysfs_root=tmp_path) == 16
    assert ftdi_latency_timer_ms("/dev/ttyUSB4", sysfs_root=tmp_path) is None
    assert ftdi_latency_timer_ms("/dev/ttyACM0", sysfs_root=tmp_path) is None
