"""Entry point of the ``mrbot`` command: builds the parser from the subcommand modules."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["main"]

# Each module in robot.cli named here exposes ``register(subparsers)``; it adds its parser and sets
# ``func`` (args -> exit code) as a default. Order is the order shown by ``mrbot --help``.
SUBCOMMANDS: tuple[str, ...] = (
    "bench",
    "config",
    "console",
    "demo",
    "emulator",
    "kinematics",
    "log",
    "protocol",
    "serve",
)


class _Subcommand(Protocol):
    def register(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...


def build_parser() -> argparse.ArgumentParser:
    """Build the full ``mrbot`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="mrbot",
        description="Driver stack for MR-guided needle-positioning robots.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = cast("_Subcommand", importlib.import_module(f"robot.cli.{name}"))
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mrbot``; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    func = cast("Callable[[argparse.Namespace], int]", args.func)
    try:
        return func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
