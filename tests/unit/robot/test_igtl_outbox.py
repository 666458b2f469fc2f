"""The outbox: direct sends when idle, ordered queueing when the peer lags, bounded, timed out."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from robot.igtl.outbox import Outbox, OutboxClosedError, OutboxOverflowError, OutboxTimeoutError


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    yield a, b
    a.close()
    b.close()


def make(sock, **kwargs):
    options: dict[str, Any] = {
        "max_pending_frames": 1000,
        "max_pending_bytes": 10_000_000,
        "send_timeout_s": 2.0,
    }
    options.update(kwargs)
    return Outbox(sock, now=time.monotonic, **options)


def frames(count: int, size: int) -> list[bytes]:
    return [i.to_bytes(4, "big") * (size // 4) for i in range(count)]


def read_exactly(sock: socket.socket, total: int) -> bytes:
    sock.settimeout(5.0)
    data = bytearray()
    while len(data) < total:
        chunk = sock.recv(65536)
        assert chunk, "EOF before all bytes arrived"
        data += chunk
    return bytes(data)


def test_small_frame_goes_out_directly_when_nothing_is_queued(pair):
    a, b = pair
    outbox = make(a)
    assert outbox.submit(b"hello") is True
    assert read_exactly(b, 5) == b"hello"


def test_frames_queued_behind_a_slow_reader_arrive_complete_and_in_order(pair):
    a, b = pair
    outbox = make(a)
    writer = threading.Thread(target=outbox.run_writer, name="test-outbox-writer")
    writer.start()
    try:
        sent = frames(200, 1024)
        direct = [outbox.submit(f) for f in sent]
        assert not all(direct), "the kernel buffer should have filled"
        assert read_exactly(b, len(sent) * 1024) == b"".join(sent)
    finally:
        outbox.close()
        writer.join(5.0)
    assert outbox.pending_bytes() == 0


def test_queue_overflow_raises_instead_of_dropping(pair):
    a, _ = pair
    outbox = make(a, max_pending_frames=5)
    submitted = 0

    def submit_until_refused() -> None:
        nonlocal submitted
        for frame in frames(10_000, 1024):
            outbox.submit(frame)
            submitted += 1

    with pytest.raises(OutboxOverflowError, match="limits 5 frames"):
        submit_until_refused()
    assert submitted < 10_000


def test_writer_gives_up_on_a_peer_that_takes_nothing(pair):
    a, _ = pair
    outbox = make(a, send_timeout_s=0.05)
    for frame in frames(200, 1024):
        outbox.submit(frame)
    with pytest.raises(OutboxTimeoutError, match="took no bytes"):
        outbox.run_writer()


def test_closed_outbox_refuses_frames(pair):
    a, _ = pair
    outbox = make(a)
    outbox.close()
    with pytest.raises(OutboxClosedError):
        outbox.submit(b"x")
