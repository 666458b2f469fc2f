"""``mrbot bench [AREA ...] [--json] [--quick]``: run benchmarks and print one table.

``mrbot bench igtl`` measures components (a bare server in-process) and the product: ``mrbot
serve`` in a subprocess for each ``--link`` (default ``emulate`` and ``pty``), measured from
other processes. ``mrbot bench soak [--seconds N]`` places the needle repeatedly against
``mrbot serve`` and checks the server's memory, threads and descriptors (not run by default).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from robot.bench import AREAS, BenchResult, run_area

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

__all__ = ["default_areas", "register", "render_markdown", "render_table"]

#: Areas run on their own only (not part of a bare ``mrbot bench``).
_OPT_IN = ("soak",)
_LINKS = ("emulate", "pty", "tcp")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``bench`` subcommand."""
    parser = subparsers.add_parser(
        "bench",
        help="run the benchmarks and print figures beside their baselines",
        description=(
            "Run benchmarks. Without AREA, every area runs: "
            + ", ".join(a for a in AREAS if a not in _OPT_IN)
            + f". Opt-in: {', '.join(_OPT_IN)}."
        ),
    )
    parser.add_argument("areas", nargs="*", metavar="AREA", help="areas to run (default: all)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON instead of a table")
    output.add_argument(
        "--markdown", action="store_true", help="print a Markdown table (the README's)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer samples (smoke run)")
    parser.add_argument(
        "--link",
        action="append",
        choices=_LINKS,
        help="how serve reaches the controller: igtl product figures (repeatable; "
        "default emulate and pty); soak: the first (default emulate)",
    )
    parser.add_argument(
        "--consoles",
        type=int,
        action="append",
        choices=(1, 4, 50),
        help="igtl: observer console counts to measure (repeatable; default 1, 4 and 50)",
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        metavar="S",
        help="igtl experiment: run the server with sys.setswitchinterval(S)",
    )
    parser.add_argument("--no-components", action="store_true", help="igtl: product figures only")
    parser.add_argument("--seconds", type=float, help="soak length, s (default 600; --quick: 30)")
    parser.set_defaults(func=_run)


def _fmt(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    magnitude = abs(value)
    if magnitude >= 1000:  # noqa: PLR2004 - formatting threshold
        return f"{value:,.0f}"
    if magnitude >= 10:  # noqa: PLR2004 - formatting threshold
        return f"{value:.1f}"
    return f"{value:.3g}"


def _title() -> str:
    from robot.bench.product import machine_line  # noqa: PLC0415

    now = datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"mrbot bench, {now}, {machine_line()}"


def render_table(results: Sequence[BenchResult], console: Console) -> None:
    """Print results as one table."""
    table = Table(title=_title())
    columns = ("area", "kind", "figure", "value", "unit", "target", "met", "baseline", "ratio")
    for column in (*columns, "floor", "note"):
        table.add_column(column)
    for r in results:
        met = "-" if r.met is None else ("yes" if r.met else "NO")
        baseline = "-" if r.baseline is None else f"{_fmt(r.baseline)} ({r.baseline_name})"
        ratio = "-" if r.ratio is None else f"{r.ratio:,.1f}x"
        table.add_row(
            r.area,
            r.kind or "-",
            r.figure,
            _fmt(r.value),
            r.unit,
            r.target or "-",
            met,
            baseline,
            ratio,
            _fmt(r.floor),
            r.note,
        )
    console.print(table)


def render_markdown(results: Sequence[BenchResult]) -> str:
    """The results as a Markdown table, headed by the machine, load and date."""
    lines = [
        f"{_title()}",
        "",
        "| kind | figure | value | target | met | pyigtl | floor | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        met = "-" if r.met is None else ("yes" if r.met else "**no**")
        note = r.note.replace("|", "/")
        lines.append(
            f"| {r.kind or '-'} | {r.figure} | {_fmt(r.value)} {r.unit} | {r.target or '-'} | "
            f"{met} | {_fmt(r.baseline)} | {_fmt(r.floor)} | {note} |"
        )
    return "\n".join(lines)


def _run_one(area: str, args: argparse.Namespace) -> list[BenchResult]:
    if area == "igtl":
        from robot.bench import igtl  # noqa: PLC0415

        return igtl.run(
            quick=args.quick,
            links=tuple(args.link or ("emulate", "pty")),
            consoles=args.consoles,
            switch_interval_s=args.switch_interval,
            components=not args.no_components,
        )
    if area == "soak":
        from robot.bench import soak  # noqa: PLC0415

        links = args.link or ["emulate"]
        return soak.run(quick=args.quick, seconds=args.seconds, link=links[0])
    return run_area(area, quick=args.quick)


def default_areas() -> list[str]:
    """The areas a bare ``mrbot bench`` runs (all but the opt-in ones)."""
    return [a for a in AREAS if a not in _OPT_IN]


def _run(args: argparse.Namespace) -> int:
    areas: list[str] = list(args.areas) or default_areas()
    unknown = [a for a in areas if a not in AREAS]
    if unknown:
        print(f"mrbot bench: unknown area(s) {', '.join(unknown)}; known: {', '.join(AREAS)}")
        return 2
    if args.seconds is not None and not args.seconds > 0:
        print(f"mrbot bench: --seconds must be > 0, got {args.seconds}")
        return 2
    results: list[BenchResult] = []
    for area in areas:
        results.extend(_run_one(area, args))
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in results], indent=2))
    elif args.markdown:
        print(render_markdown(results))
    else:
        render_table(results, Console(width=240))
    soak_rows = [r for r in results if r.area == "soak" and r.met is not None]
    return 1 if any(r.met is False for r in soak_rows) else 0
