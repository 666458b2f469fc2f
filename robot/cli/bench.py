"""``mrbot bench [AREA ...] [--json] [--quick]``: run benchmarks and print one table."""

from __future__ import annotations

import dataclasses
import json
import platform
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from robot.bench import AREAS, BenchResult, run_area

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``bench`` subcommand."""
    parser = subparsers.add_parser(
        "bench",
        help="run the benchmarks and print figures beside their baselines",
        description="Run benchmarks. Without AREA, every area runs: " + ", ".join(AREAS) + ".",
    )
    parser.add_argument("areas", nargs="*", metavar="AREA", help="areas to run (default: all)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--quick", action="store_true", help="fewer samples (smoke run)")
    parser.set_defaults(func=_run)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    magnitude = abs(value)
    if magnitude >= 1000:  # noqa: PLR2004 - formatting threshold
        return f"{value:,.0f}"
    if magnitude >= 10:  # noqa: PLR2004 - formatting threshold
        return f"{value:.1f}"
    return f"{value:.3g}"


def render_table(results: Sequence[BenchResult], console: Console) -> None:
    """Print results as one table."""
    table = Table(
        title=f"mrbot bench on {platform.node()} ({platform.processor() or platform.machine()})"
    )
    for column in ("area", "figure", "value", "unit", "target", "met", "baseline", "ratio", "note"):
        table.add_column(column)
    for r in results:
        met = "-" if r.met is None else ("yes" if r.met else "NO")
        baseline = "-" if r.baseline is None else f"{_fmt(r.baseline)} ({r.baseline_name})"
        ratio = "-" if r.ratio is None else f"{r.ratio:,.1f}x"
        table.add_row(
            r.area, r.figure, _fmt(r.value), r.unit, r.target or "-", met, baseline, ratio, r.note
        )
    console.print(table)


def _run(args: argparse.Namespace) -> int:
    areas: list[str] = list(args.areas) or list(AREAS)
    unknown = [a for a in areas if a not in AREAS]
    if unknown:
        print(f"mrbot bench: unknown area(s) {', '.join(unknown)}; known: {', '.join(AREAS)}")
        return 2
    results: list[BenchResult] = []
    for area in areas:
        results.extend(run_area(area, quick=args.quick))
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in results], indent=2))
    else:
        render_table(results, Console(width=200))
    return 0
