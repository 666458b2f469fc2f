"""``mrbot emulator --pty`` and ``mrbot serve --device <pty>``: the pair works out of the box.

Both processes read the shipped robot configuration, so the emulated firmware has the axes that
``serve`` expects and START_UP homes (before, the emulator served a second default robot that
hal defined, and serve refused it at START_UP: "firmware axes ... do not match").
"""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING, Final

import pytest

from robot.console import BrpClient, BrpClientConfig
from tests.support import processes

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow

CLIENT: Final = BrpClientConfig(ack_timeout_s=3.0, reply_timeout_s=5.0, action_timeout_s=60.0)


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MRBOT_")}
    return processes.spawn(args, env=env, stderr=subprocess.DEVNULL)


def test_serve_on_the_pty_of_mrbot_emulator_starts_up_with_the_shipped_robot(tmp_path: Path):
    emulator = server = None
    try:
        emulator = _spawn("emulator", "--pty")
        device = processes.Lines(emulator).until(
            lambda s: s.startswith("/dev/"), timeout_s=30.0, what="pty path"
        )
        server = _spawn(
            "serve", "--device", device, "--port", "0", "--audit", str(tmp_path / "audit.jsonl")
        )
        with BrpClient(*processes.address_of(server), config=CLIENT) as console:
            result = console.start_up()
        assert result.status is not None
        assert (result.status.code, result.status.sub_code) == (1, 0), result.status
    finally:
        processes.end(server)
        processes.end(emulator)
