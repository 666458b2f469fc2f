"""``mrbot demo``: one MR-guided needle placement, end to end, on emulated hardware.

Starts the robot server with the firmware emulator on a pseudo-terminal, an emulated scanner and
an operator console, all over the real protocols. The robot registers itself from a Z-frame image
rendered at a mount pose it is not told, the console plans a needle path to the nidus of an
osteoid osteoma in a bone phantom (avoiding a nerve bundle), targets, moves and inserts; a
confirmation image is rendered with the needle in it. Prints a report (accuracy against the hidden
truth, time per phase, stops and faults) and writes a PNG figure.

Exit status: 0 when the placement is within 1 mm (or, with --fault, when the stop was shown to be
safe); 1 when it is not; 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from rich.console import Console

from hal.emulator import FAULT_NAMES, parse_fault

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["register"]

_DEFAULT_SPEED: Final = 10.0


def _fault(text: str) -> str:
    try:
        parse_fault(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err
    return text


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="run one whole MR-guided needle placement on emulated hardware",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the hidden mount pose, phantom and noise"
    )
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument(
        "--realtime", action="store_true", help="emulated axes at the real robot's speed"
    )
    speed.add_argument(
        "--speed",
        type=float,
        default=_DEFAULT_SPEED,
        metavar="FACTOR",
        help=f"emulated axes this many times faster than real (1-50, default {_DEFAULT_SPEED:g})",
    )
    parser.add_argument(
        "--fault",
        type=_fault,
        default=None,
        metavar="NAME[@AT_S][:key=value,...]",
        help=f"inject an emulator fault and show the safe stop; names: {', '.join(FAULT_NAMES)}",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("mrbot-demo-out"),
        metavar="DIR",
        help="folder for the figure and the audit log (default ./mrbot-demo-out)",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from robot.demo import DemoError, DemoOptions, render_report, run_demo  # noqa: PLC0415 - matplotlib loads only for the demo

    console = Console()
    try:
        options = DemoOptions(
            seed=args.seed,
            speed_factor=1.0 if args.realtime else args.speed,
            fault=args.fault,
            out_dir=args.out,
        )
    except ValueError as err:
        print(f"mrbot demo: {err}", file=sys.stderr)
        return 2
    console.print(
        f"[bold]mrbot demo[/bold], seed {options.seed}, axes at {options.speed_factor:g}x "
        f"real speed" + (f", fault {options.fault}" if options.fault else "")
    )
    try:
        result = run_demo(options, progress=console.print)
    except DemoError as err:
        console.print(f"[bold red]demo failed: {err}[/bold red]")
        return 1
    render_report(result, console)
    if result.audit_path is not None:
        console.print(f"Audit log: {result.audit_path}")
    return 0 if result.succeeded else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mrbot demo`` alone (for tests); returns the exit code."""
    parser = argparse.ArgumentParser(prog="mrbot")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["demo", *(argv or [])])
    return int(args.func(args))
