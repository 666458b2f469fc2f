"""``mrbot console``: an OpenIGTLink BRP console for people (a prompt) and scripts.

``mrbot console`` connects and shows a prompt with the live phase, tip position, last STATUS and
faults; ``--script FILE`` or ``-c "cmd; cmd"`` runs commands and stops at the first failure with
exit code 1 (error STATUS), 2 (bad command), 3 (protocol violation, time-out, lost connection).
Ctrl-C while a command waits sends STOP.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from robot.console import BrpClient, BrpClientConfig, BrpConnectError, BrpError
from robot.console.commands import split_commands
from robot.console.runner import ConsoleRunner, Outcome
from robot.igtl.profile import PROFILES, profile_named

if TYPE_CHECKING:
    import argparse

__all__ = ["register"]

EXIT_INTERRUPTED = 130


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``console`` subcommand."""
    parser = subparsers.add_parser(
        "console",
        help="BRP console: drive the robot over OpenIGTLink (prompt or script)",
        description=(
            "Connect to a robot's OpenIGTLink server and run BRP workphase commands (RAS mm). "
            "Without --script/-c an interactive prompt starts; type 'help'."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="robot address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=18944, help="robot port (default 18944)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--script", type=Path, help="file of commands (one per line or ';')")
    source.add_argument("-c", dest="commands", help='commands, e.g. "start_up; status"')
    parser.add_argument(
        "--action-timeout-s",
        type=float,
        default=120.0,
        help="longest wait for START_UP/STOP/EMERGENCY results (s, default 120)",
    )
    parser.add_argument(
        "--profile",
        choices=tuple(PROFILES),
        default="brp-2021",
        help="the robot's protocol profile (its network.profile; default brp-2021)",
    )
    parser.set_defaults(func=_run)


def _stop_after_interrupt(client: BrpClient, err: Console) -> None:
    err.print("[yellow]interrupted: sending STOP[/yellow]")
    try:
        result = client.stop()
    except BrpError as error:
        err.print(f"[red]STOP not confirmed[/red]: {escape(str(error))}")
    else:
        status = result.status.describe() if result.status else "no STATUS"
        err.print(f"STOP: {escape(status)}")


def _batch(runner: ConsoleRunner, commands: list[str], out: Console) -> int:
    for text in commands:
        out.print(f"> {escape(text)}")
        outcome = runner.run_text(text)
        if outcome is Outcome.QUIT:
            return 0
        if outcome is not Outcome.OK:
            return int(outcome)
    return 0


def _interactive(runner: ConsoleRunner, client: BrpClient, out: Console, err: Console) -> int:
    out.print("mrbot console: type 'help' for commands, 'quit' to leave")
    while True:
        out.print(f"[dim]{escape(runner.prompt_line())}[/dim]")
        try:
            text = out.input("mrbot> ")
        except EOFError:
            return 0
        except KeyboardInterrupt:
            return 0
        if not text.strip():
            continue
        try:
            outcome = runner.run_text(text)
        except KeyboardInterrupt:
            _stop_after_interrupt(client, err)
            continue
        if outcome is Outcome.QUIT:
            return 0
        if not client.view.connected:
            err.print("[red]connection lost[/red]")
            return int(Outcome.PROTOCOL)


def _run(args: argparse.Namespace) -> int:
    out = Console(soft_wrap=True, highlight=False)
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    commands: list[str] | None = None
    if args.script is not None:
        try:
            commands = split_commands(args.script.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            err.print(f"cannot read script {args.script}: {escape(str(error))}")
            return int(Outcome.BAD_COMMAND)
    elif args.commands is not None:
        commands = split_commands(args.commands)
    try:
        config = BrpClientConfig(
            action_timeout_s=args.action_timeout_s, profile=profile_named(args.profile)
        )
    except ValueError as error:
        err.print(escape(str(error)))
        return int(Outcome.BAD_COMMAND)
    try:
        client = BrpClient(args.host, args.port, config=config)
    except ValueError as error:  # e.g. a port outside 1..65535
        err.print(escape(str(error)))
        return int(Outcome.BAD_COMMAND)
    try:
        client.open()
    except BrpConnectError as error:
        err.print(f"[red]{escape(str(error))}[/red]")
        return int(Outcome.PROTOCOL)
    try:
        runner = ConsoleRunner(client, out, err, live=commands is None and sys.stdout.isatty())
        if commands is not None:
            try:
                return _batch(runner, commands, out)
            except KeyboardInterrupt:
                _stop_after_interrupt(client, err)
                return EXIT_INTERRUPTED
        return _interactive(runner, client, out, err)
    finally:
        client.close()
