"""``mrbot emulator --pty`` and ``mrbot serve --device <pty>``: the pair works out of the box.

Both processes read the shipped robot configuration, so the emulated firmware has the axes that
``serve`` expects and START_UP homes (before, the emulator served ``hal.DEFAULT_NEEDLE_GUIDE``
and serve refused it at START_UP: "firmware axes ... do not match").
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

import pytest

from robot.console import BrpClient, BrpClientConfig

pytestmark = pytest.mark.slow

MRBOT: Final = str(Path(sys.executable).with_name("mrbot"))
CLIENT: Final = BrpClientConfig(ack_timeout_s=3.0, reply_timeout_s=5.0, action_timeout_s=60.0)


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MRBOT_")}
    return subprocess.Popen(
        [MRBOT, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )


def _first_line(proc: subprocess.Popen[bytes], prefix: str, *, timeout_s: float) -> str:
    """Poll ``proc``'s stdout for a line starting with ``prefix`` (deadline, no thread)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buffer = b""
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([fd], [], [], left)
        if not readable:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buffer += chunk
        *complete, _ = buffer.split(b"\n")  # only whole lines
        for line in complete:
            text = line.decode(errors="replace").strip()
            if text.startswith(prefix):
                return text
    raise AssertionError(f"no line starting {prefix!r} within {timeout_s} s: {buffer[-300:]!r}")


def _end(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5.0)
    if proc.stdout is not None:
        proc.stdout.close()


def test_serve_on_the_pty_of_mrbot_emulator_starts_up_with_the_shipped_robot(tmp_path: Path):
    emulator = server = None
    try:
        emulator = _spawn("emulator", "--pty")
        device = _first_line(emulator, "/dev/", timeout_s=30.0)
        server = _spawn(
            "serve", "--device", device, "--port", "0", "--audit", str(tmp_path / "audit.jsonl")
        )
        line = _first_line(server, "listening on", timeout_s=30.0)
        host, _, port = line.split()[-1].rpartition(":")
        with BrpClient(host, int(port), config=CLIENT) as console:
            result = console.start_up()
        assert result.status is not None
        assert (result.status.code, result.status.sub_code) == (1, 0), result.status
    finally:
        _end(server)
        _end(emulator)
