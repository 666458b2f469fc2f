"""The demo report: a few rich tables a newcomer can read in ten seconds."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.table import Table

from robot.demo.result import ACCURACY_LIMIT_MM

if TYPE_CHECKING:
    from rich.console import Console

    from robot.demo.result import DemoResult

__all__ = ["render_report", "verdict"]


def _mm(value: float) -> str:
    return f"{value:.3f} mm"


def _check(value: float) -> str:
    return "[green]yes[/green]" if value < ACCURACY_LIMIT_MM else "[red]NO[/red]"


def verdict(result: DemoResult) -> str:
    """One line: what the run demonstrated."""
    stop = result.safe_stop
    if stop is not None and stop.fault:
        if not stop.stopped:
            word = "FAULT TOLERATED" if stop.safe else "FAULT NOT TOLERATED"
        else:
            word = "SAFE STOP DEMONSTRATED" if stop.safe else "UNSAFE: the stop was not shown safe"
        return f"{word} ({stop.fault}): {stop.detail}"
    if stop is not None and not result.accurate:
        safety = "the stop was safe" if stop.safe else "the stop was NOT shown safe"
        return f"PLACEMENT NOT COMPLETED, {safety}: {stop.detail}"
    if result.accurate:
        return (
            "PLACEMENT OK: registration and needle tip within "
            f"{ACCURACY_LIMIT_MM:g} mm of the hidden truth"
        )
    return f"PLACEMENT NOT ACCURATE: an error is {ACCURACY_LIMIT_MM:g} mm or more"


def _accuracy_table(result: DemoResult) -> Table:
    table = Table(title="Accuracy against the hidden ground truth")
    for column in ("quantity", "value", f"< {ACCURACY_LIMIT_MM:g} mm"):
        table.add_column(column)
    s = result.scenario
    table.add_row(
        "hidden mount offset (unknown to the robot)",
        f"{s.hidden_translation_mm:.1f} mm, {s.hidden_rotation_deg:.1f} deg",
        "",
    )
    reg = result.registration
    if reg is None:
        table.add_row("registration", "not reached", "")
    else:
        table.add_row(
            "registration error at the target", _mm(reg.at_target_mm), _check(reg.at_target_mm)
        )
        table.add_row("registration rotation error", f"{reg.rotation_deg:.3f} deg", "")
    tip = result.tip
    if tip is None:
        table.add_row("needle tip error", "no completed insertion", "")
    else:
        table.add_row("needle tip error at the target", _mm(tip.error_mm), _check(tip.error_mm))
        table.add_row(
            "  across / along the needle", f"{tip.lateral_mm:.3f} / {tip.depth_mm:+.3f} mm", ""
        )
    return table


def _plan_table(result: DemoResult) -> Table:
    plan = result.plan
    table = Table(title="Plan (osteoid osteoma, bone phantom)")
    table.add_column("item")
    table.add_column("value")
    phantom = result.scenario.phantom
    t = phantom.nidus_centre_ras_mm
    table.add_row(
        "target: nidus centre",
        f"R {t[0]:.1f}  A {t[1]:.1f}  S {t[2]:.1f} mm, nidus {phantom.nidus_diameter_mm:.1f} mm",
    )
    if plan is None:
        table.add_row("path", "not planned: the story stopped before planning")
        return table
    e = plan.skin_entry_ras_mm
    table.add_row("skin entry", f"R {e[0]:.1f}  A {e[1]:.1f}  S {e[2]:.1f} mm")
    table.add_row(
        "path",
        f"{plan.depth_from_skin_mm:.1f} mm from skin, "
        f"{math.degrees(plan.obliquity_rad):.1f} deg from the cortex normal, "
        f"{math.degrees(plan.angle_from_approach_rad):.1f} deg from the insertion axis",
    )
    table.add_row(
        "nerve bundle clearance",
        f"{plan.clearance_mm:.1f} mm (most perpendicular path: "
        f"{plan.perpendicular_clearance_mm:.1f} mm)",
    )
    return table


def _phase_table(result: DemoResult) -> Table:
    table = Table(title=f"Phases (emulated axes at {result.speed_factor:g}x real speed)")
    for column in ("phase", "time", "outcome"):
        table.add_column(column)
    for phase in result.phases:
        table.add_row(phase.name, f"{phase.duration_s:.2f} s", phase.outcome)
    return table


def _stop_table(result: DemoResult) -> Table | None:
    stop = result.safe_stop
    if stop is None:
        return None
    title = f"Injected fault: {stop.fault}" if stop.fault else "Unplanned stop (no fault injected)"
    table = Table(title=title)
    table.add_column("check")
    table.add_column("finding")
    table.add_row("console received", stop.console_status)
    table.add_row(
        "axes",
        f"{'stopped' if stop.axes_stopped else 'MOVING'}; drift {stop.drift_after_stop_mm:.3f} mm",
    )
    for line in stop.audit_records or ("(no audit record)",):
        table.add_row("audit log", line)
    return table


def render_report(result: DemoResult, console: Console) -> None:
    """Print the report tables, events, the figure path and the verdict."""
    console.print(_plan_table(result))
    console.print(_accuracy_table(result))
    console.print(_phase_table(result))
    stop = _stop_table(result)
    if stop is not None:
        console.print(stop)
    if result.events:
        console.print("[bold]Stops, faults and refusals:[/bold]")
        for event in result.events:
            console.print(f"  - {event}")
    else:
        console.print("Stops, faults and refusals: none")
    if result.figure_path is not None:
        console.print(f"Figure: {result.figure_path}")
    colour = "green" if result.succeeded else "red"
    console.print(f"[bold {colour}]{verdict(result)}[/bold {colour}]")
