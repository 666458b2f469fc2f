"""``mrbot serve``: the robot on the network (OpenIGTLink, BRP workphase protocol).

``mrbot serve --emulate`` runs on the firmware emulator in real time behind a pseudo-terminal,
with the configured (realistic) axis speeds; ``--fault NAME`` injects one of the emulator's faults
(e.g. ``startup-failure``: START_UP answers 13; ``hardware-failure-mid-move``: the first move
fails part way with 18). ``mrbot serve --device URL [--baud N]`` drives real hardware.
The first line on standard output is ``listening on HOST:PORT``; connections are logged.
``--emulate --speed F`` runs the emulated axes, homing and the homing time-out F times faster (as
``mrbot demo --speed``); the first line then ends ``(emulated axes at Fx real speed)`` and the
audit log's run header records ``speed_factor``.
``--connect HOST:PORT`` (repeatable) also connects out to a console's OpenIGTLink server (the 2021
ProstateBRP module's default role) and connects again after a loss, with a backoff from
``network.reconnect_min_s`` doubling up to ``network.reconnect_max_s``; such a connection is
served exactly as an accepted one.
``--profile brp-2021|brp-2013`` picks the variant of the BRP workphase protocol the consoles
speak (``network.profile``, default ``brp-2021``: the 2021 ProstateBRP Slicer module;
``brp-2013``: the June 2013 protocol and its CommunicationTest suite); docs/WORKPHASES.md lists
what differs. The status line on standard error names the profile.

SIGINT or SIGTERM stops the robot through the supervisor's STOP (an audited decision), waits for
standstill within ``safety.stop_timeout_s``, writes a ``shutdown`` record, commits the audit log
(fsync), then exits: 0 stopped at standstill with the shutdown on disk; 3 the axes did not report
standstill within the bound or the shutdown record could not be committed. 1 the robot could not
start; 2 a bad option or configuration.
Without ``--audit PATH`` the audit trail goes to a new session file in ``audit.dir`` (default:
the user state folder + mrbot/audit; ``mrbot log`` reads the latest), and old sessions are pruned
per ``audit.keep_sessions`` and ``audit.max_age_days``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Final

from hal import HalError
from hal.emulator import FAULT_NAMES
from robot.app import RobotApp
from robot.config import ConfigError, load_config
from robot.errors import RobotError
from robot.igtl.profile import PROFILES
from robot.records import (
    Recorder,
    new_audit_session,
    prune_audit_sessions,
    recording_path,
    retention_report,
)
from robot.runtime.speed import check_speed_factor, speed_overrides
from safety import AuditError

if TYPE_CHECKING:
    from types import FrameType

    from robot.runtime.config import AuditSettings

__all__ = [
    "EXIT_BAD_CONFIG",
    "EXIT_OK",
    "EXIT_SHUTDOWN_UNCONFIRMED",
    "EXIT_START_FAILED",
    "add_settings_option",
    "parse_setting",
    "register",
]

_POLL_S: Final = 0.2
#: ``--record`` without a path: name the file after the audit session.
_RECORD_DEFAULT: Final = object()
#: Exit codes of ``mrbot serve``.
EXIT_OK: Final = 0
EXIT_START_FAILED: Final = 1
EXIT_BAD_CONFIG: Final = 2
EXIT_SHUTDOWN_UNCONFIRMED: Final = 3
#: Loggers raised to INFO so that every connection (and a recording's counts) is logged without
#: ``-v``.
_CONNECTION_LOGGERS: Final = (
    "robot.workphase.handler",
    "robot.app",
    "robot.records.recorder",
    "robot.igtl.dialer",
)


def parse_setting(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` from the command line; the value is read as TOML (``3``, ``true``, ``"x"``).

    Raises:
        argparse.ArgumentTypeError: no ``=`` or a value that is not TOML.
    """
    import tomllib  # noqa: PLC0415 - only for --set

    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value  # a bare word is a string (e.g. --set network.host=0.0.0.0)
    return key.strip(), parsed


def add_settings_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """Add the repeatable ``--set KEY=VALUE`` (into ``args.settings``): serve, emulator, config."""
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        type=parse_setting,
        metavar="KEY=VALUE",
        help=help_text,
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser(
        "serve",
        help="run the robot's OpenIGTLink server (real hardware or --emulate)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--emulate", action="store_true", help="use the firmware emulator")
    source.add_argument("--device", metavar="URL", help="controller URL (/dev/ttyUSB0, socket://)")
    parser.add_argument("--baud", type=int, help="serial baud rate (default serial.baud)")
    parser.add_argument("--config", type=Path, help="robot TOML (default: the shipped robot)")
    parser.add_argument("--host", help="bind address (default network.host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port (default network.port, 18944)")
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="CIDR",
        help="peer network allowed to connect (repeatable; needed for a non-loopback --host)",
    )
    parser.add_argument(
        "--connect",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="also connect out to a console's OpenIGTLink server and keep the connection up "
        "(repeatable; the 2021 ProstateBRP module listens on 18936; network.connect)",
    )
    parser.add_argument(
        "--profile",
        choices=tuple(PROFILES),
        help="BRP workphase protocol variant: brp-2021 (the 2021 ProstateBRP module, default) "
        "or brp-2013 (the 2013 protocol and its test suite); network.profile",
    )
    parser.add_argument(
        "--audit",
        type=Path,
        metavar="PATH",
        help="audit log file (default: a new session file in audit.dir, see mrbot log --list)",
    )
    parser.add_argument(
        "--record",
        nargs="?",
        const=_RECORD_DEFAULT,
        type=Path,
        metavar="PATH",
        help="record the session to an MCAP file (default: recordings/<session>.mcap beside "
        "the audit folder; see docs/RECORDING.md)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="with --emulate: axes, homing and the homing time-out FACTOR times faster than the "
        "configured robot (1-50, default 1; as mrbot demo --speed)",
    )
    parser.add_argument(
        "--fault",
        metavar="NAME",
        help=f"emulator fault (with --emulate): {', '.join(FAULT_NAMES)}",
    )
    add_settings_option(parser, "override a configuration key (see mrbot config show)")
    parser.set_defaults(func=run)


def _dialing(endpoints: tuple[tuple[str, int], ...]) -> str:
    """The status line's note of the consoles' servers ``serve`` connects out to."""
    if not endpoints:
        return ""
    return f"connecting out to {', '.join(f'{h}:{p}' for h, p in endpoints)}; "


def _apply_audit_retention(settings: AuditSettings, current: Path) -> None:
    """Delete old audit sessions (audit.keep_sessions, audit.max_age_days); report, never fail."""
    try:
        lines = retention_report(prune_audit_sessions(settings, current=current))
    except (AuditError, ValueError) as err:
        lines = [f"audit retention not applied: {err}"]
    for line in lines:
        print(f"mrbot serve: {line}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; returns the exit code."""
    overrides: dict[str, object] = dict(args.settings)
    if args.baud is not None:
        overrides["serial.baud"] = args.baud
    if args.port is not None:
        overrides["network.port"] = args.port
    if args.host is not None:
        overrides["network.host"] = args.host
    if args.allow:
        overrides["network.allow"] = list(args.allow)
    if args.connect:
        overrides["network.connect"] = list(args.connect)
    if args.profile is not None:
        overrides["network.profile"] = args.profile
    if args.fault and not args.emulate:
        print("mrbot serve: --fault needs --emulate", file=sys.stderr)
        return EXIT_BAD_CONFIG
    if args.speed != 1.0 and not args.emulate:
        print("mrbot serve: --speed needs --emulate", file=sys.stderr)
        return EXIT_BAD_CONFIG
    try:
        check_speed_factor(args.speed)
        config = load_config(args.config, overrides=overrides)
        if args.speed != 1.0:
            sped_up = speed_overrides(config.values, args.speed)
            config = load_config(args.config, overrides={**overrides, **sped_up})
        # One audit session file per run in the session folder, never a temporary folder.
        audit_path = new_audit_session(config.audit) if args.audit is None else args.audit
        record = args.record
        if record is _RECORD_DEFAULT:
            record = recording_path(config.audit, audit_path)
        app = RobotApp(
            config,
            device_url=args.device,
            emulate=args.emulate,
            fault=args.fault,
            port=None,
            audit_path=audit_path,
            recorder=None if record is None else Recorder(record),
            speed_factor=args.speed,
        )
    except (ConfigError, ValueError, AuditError, OSError) as err:
        print(f"mrbot serve: {err}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    for name in _CONNECTION_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    done = threading.Event()
    received: list[str] = []

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        name = signal.Signals(signum).name
        received.append(name)
        print(f"mrbot serve: {name}: stopping the axes and shutting down", file=sys.stderr)
        done.set()

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            app.start()
        except (RobotError, HalError, OSError, AuditError) as err:
            print(f"mrbot serve: {err}", file=sys.stderr)
            return EXIT_START_FAILED
        if args.audit is None:
            _apply_audit_retention(config.audit, app.audit_path)
        host, port = app.address
        speed = "" if args.speed == 1.0 else f" (emulated axes at {args.speed:g}x real speed)"
        print(f"listening on {host}:{port}{speed}", flush=True)
        print(
            f"mrbot serve: {'emulated firmware' if args.emulate else 'controller'}"
            f"{' with fault ' + args.fault if args.fault else ''}; audit log {app.audit_path}; "
            f"{'recording ' + str(app.recorder.path) + '; ' if app.recorder else ''}"
            f"{_dialing(config.server.connect_to)}"
            f"protocol profile {config.protocol_profile}; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        while not done.wait(_POLL_S):
            pass
        first = received[0] if received else None
        report = app.shutdown(f"signal {first}", signal_name=first)
    finally:
        app.close()  # after shutdown() a no-op; on an error on the way it still stops the axes
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not report.clean:
        print(
            f"mrbot serve: shutdown NOT confirmed: standstill {report.standstill} within "
            f"{report.stop_bound_s:g} s, shutdown record durable {report.durable}",
            file=sys.stderr,
        )
        return EXIT_SHUTDOWN_UNCONFIRMED
    after = report.standstill_after_s or 0.0
    print(
        f"mrbot serve: stopped at standstill {after:.3f} s after STOP; shutdown recorded in "
        f"{app.audit_path if app.audit is not None else 'the audit log'}",
        file=sys.stderr,
    )
    return EXIT_OK
