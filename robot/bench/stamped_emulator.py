"""``python -m robot.bench.stamped_emulator pty|tcp [KEY=VALUE ...]``: an ESTOP-stamping emulator.

What ``mrbot emulator --pty`` (or ``--tcp 127.0.0.1:0``) serves, built the same way (the shipped
robot configuration with the given overrides, :meth:`RobotApp.emulator_config`, the same
:class:`~hal.emulator.PtyServer` / :class:`~hal.emulator.TcpServer` on the real monotonic clock),
with one difference: the firmware prints ``ESTOP <ns>`` on standard output, ``ns`` being
``time.monotonic_ns()`` (CLOCK_MONOTONIC, comparable across processes on one machine), when it
acts on an ESTOP frame it decoded from the link. The first line is the URL to open. It serves
until standard input closes (the benchmark holds it open), then prints its frame counters.
"""

from __future__ import annotations

import sys
import time

from hal import MonotonicClock
from hal.emulator import EmulatedFirmware, EmulatorServer, PtyServer, TcpServer
from robot.app import RobotApp
from robot.config import load_config

__all__ = ["ESTOP_PREFIX", "main", "print_estop_stamp"]

ESTOP_PREFIX = "ESTOP "


def print_estop_stamp() -> None:
    """The firmware's ``on_estop`` hook: print a CLOCK_MONOTONIC stamp as it enters ESTOP."""
    print(f"{ESTOP_PREFIX}{time.monotonic_ns()}", flush=True)  # noqa: T201 - the stamp channel


def main(argv: list[str]) -> int:
    """Serve until standard input closes; returns the exit code."""
    if not argv or argv[0] not in {"pty", "tcp"}:
        print("usage: python -m robot.bench.stamped_emulator pty|tcp [KEY=VALUE ...]")  # noqa: T201
        return 2
    overrides: dict[str, object] = {}
    for text in argv[1:]:
        key, _, value = text.partition("=")
        overrides[key] = float(value)
    config = RobotApp.emulator_config(load_config(overrides=overrides, environ={}))
    firmware = EmulatedFirmware(config, on_estop=print_estop_stamp)
    clock = MonotonicClock(time.monotonic)
    server: EmulatorServer
    if argv[0] == "pty":
        server = PtyServer(firmware, clock)
    else:
        server = TcpServer(firmware, clock, host="127.0.0.1", port=0)
    server.start()
    try:
        print(server.url, flush=True)  # noqa: T201 - the URL channel
        sys.stdin.read()
    finally:
        server.close()
    counters = firmware.counters
    print(f"frames rx {counters.frames_rx} tx {counters.frames_tx}", file=sys.stderr)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
