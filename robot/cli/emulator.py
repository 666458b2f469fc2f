"""``mrbot emulator``: serve the firmware emulator on a pseudo-terminal or a TCP port.

The emulated firmware has the axes of the robot configuration (``--config``, default the shipped
robot; ``--set KEY=VALUE`` as for ``mrbot serve``), so ``mrbot serve --device <path>`` with the
same configuration drives it.

Prints the device path (``--pty``) or the ``socket://`` URL (``--tcp``) on the first line of
standard output, then serves until Ctrl-C or SIGTERM. Faults are injected with ``--fault``
(repeatable), e.g. ``--fault drop-frames:probability=0.1`` or ``--fault disconnect@30``; names:
drop-frames, corrupt-bytes, delay, disconnect, stuck-encoder, pressure-loss, startup-failure,
hardware-failure-mid-move, limit-hit.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from hal import MonotonicClock, TransportError
from hal.emulator import (
    FAULT_NAMES,
    EmulatedFirmware,
    EmulatorServer,
    FaultPlan,
    PtyServer,
    TcpServer,
    parse_fault,
)
from robot.app import RobotApp
from robot.cli.serve import add_settings_option
from robot.config import ConfigError, load_config

if TYPE_CHECKING:
    from types import FrameType

__all__ = ["register"]

_POLL_S: Final = 0.2


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    try:
        return host, int(port)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"port must be an integer, got {port!r}") from err


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``emulator`` subcommand."""
    parser = subparsers.add_parser(
        "emulator",
        help="serve the firmware emulator on a pty or TCP port",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal")
    where.add_argument(
        "--tcp", type=_host_port, metavar="HOST:PORT", help="serve on TCP (port 0: pick one)"
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[@AT_S][:key=value,...]",
        help=f"inject a fault; names: {', '.join(FAULT_NAMES)}",
    )
    parser.add_argument(
        "--config", type=Path, help="robot TOML whose axes to emulate (default: the shipped robot)"
    )
    add_settings_option(parser, "override a configuration key, as for mrbot serve")
    parser.add_argument("--seed", type=int, default=0, help="seed of random faults and noise")
    parser.add_argument(
        "--telemetry-hz",
        type=float,
        help="telemetry rate, Hz (default: the configuration's emulator.telemetry_period_ms)",
    )
    parser.add_argument(
        "--watchdog-ms", type=int, default=250, help="firmware watchdog, ms (default 250)"
    )
    parser.add_argument(
        "--hose-length-m",
        type=float,
        default=5.0,
        help="pneumatic hose length, m (default 5, as calibrated; longer steps slower)",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    hz = args.telemetry_hz
    if hz is not None and not 1.0 <= hz <= 1000.0:  # noqa: PLR2004 - 1 ms .. 1 s period
        print(f"mrbot emulator: --telemetry-hz must be in [1, 1000] Hz, got {hz}", file=sys.stderr)
        return 2
    try:
        faults = tuple(parse_fault(text) for text in args.fault)
        robot = load_config(args.config, overrides=dict(args.settings))
        config = RobotApp.emulator_config(
            robot,
            telemetry_period_ms=None if hz is None else round(1000.0 / hz),
            hose_length_m=args.hose_length_m,
            watchdog_ms=args.watchdog_ms,
        )
    except (ConfigError, ValueError) as err:
        print(f"mrbot emulator: {err}", file=sys.stderr)
        return 2
    firmware = EmulatedFirmware(config, fault_plan=FaultPlan(faults=faults, seed=args.seed))
    clock = MonotonicClock(time.monotonic)
    server: EmulatorServer
    if args.pty:
        server = PtyServer(firmware, clock)
    else:
        host, port = args.tcp
        server = TcpServer(firmware, clock, host=host, port=port)
    done = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        done.set()

    previous = signal.signal(signal.SIGTERM, _on_signal)
    try:
        server.start()
    except TransportError as err:
        print(f"mrbot emulator: {err}", file=sys.stderr)
        signal.signal(signal.SIGTERM, previous)
        return 1
    try:
        print(server.url, flush=True)
        print(
            f"emulator: {len(config.axes)} axes, telemetry every {config.telemetry_period_ms} ms, "
            f"watchdog "
            f"{args.watchdog_ms} ms, faults: {', '.join(args.fault) or 'none'}; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        while not done.wait(_POLL_S):
            if server.error is not None:
                print(f"mrbot emulator: server failed: {server.error!r}", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        signal.signal(signal.SIGTERM, previous)
    counters = firmware.counters
    print(
        f"emulator: stopped; frames rx {counters.frames_rx}, tx {counters.frames_tx}, "
        f"bad {counters.frame_faults}, faults sent {counters.faults_sent}",
        file=sys.stderr,
    )
    return 0
