"""The demo figure: Z-frame localiser with fiducials, confirmation scan, joint trajectories.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no global state).
Image panels are in millimetres from the slice centre, along the slice's row and column.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Final

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from robot.demo.report import verdict
from robot.twin import ras_to_ijk

if TYPE_CHECKING:
    from pathlib import Path

    from matplotlib.axes import Axes

    from kinematics.types import FloatArray, Points
    from robot.demo.result import DemoResult, ScanImage
    from robot.twin import EntryPlan

__all__ = ["write_figure"]

_DPI: Final = 110
_PLANNED: Final = "#2ca02c"
_ACHIEVED: Final = "#d62728"
_STOP_MARK: Final = "STOP"


def _slice_mm(scan: ScanImage, points_ras_mm: Points, k: int) -> tuple[FloatArray, FloatArray]:
    """Row/column millimetres from the centre of slice k, and the distance from the slice (mm)."""
    affine = scan.image.ijk_to_ras
    _, nj, ni = scan.image.image.shape
    ijk = ras_to_ijk(affine, points_ras_mm)
    pixel_mm = float(np.linalg.norm(affine[:3, 0]))
    spacing_mm = float(np.linalg.norm(affine[:3, 2]))
    xy = np.column_stack(
        [(ijk[:, 0] - (ni - 1) / 2.0) * pixel_mm, (ijk[:, 1] - (nj - 1) / 2.0) * pixel_mm]
    )
    return xy, (ijk[:, 2] - k) * spacing_mm


def _show(ax: Axes, scan: ScanImage, k: int) -> None:
    affine = scan.image.ijk_to_ras
    _, nj, ni = scan.image.image.shape
    pixel_mm = float(np.linalg.norm(affine[:3, 0]))
    half_i, half_j = ni * pixel_mm / 2.0, nj * pixel_mm / 2.0
    ax.imshow(
        scan.image.image[k],
        cmap="gray",
        extent=(-half_i, half_i, half_j, -half_j),
        interpolation="nearest",
    )
    ax.set_xlabel("mm along the slice rows")
    ax.set_ylabel("mm along the slice columns")


def _zframe_panel(ax: Axes, result: DemoResult) -> None:
    scan = result.zframe_scan
    if scan is None:
        ax.set_title("Z-frame localiser: not acquired")
        ax.set_axis_off()
        return
    k = scan.image.image.shape[0] // 2
    _show(ax, scan, k)
    if len(scan.points_ras_mm):
        xy, off = _slice_mm(scan, scan.points_ras_mm, k)
        near = np.abs(off) < 1e-3 + float(np.linalg.norm(scan.image.ijk_to_ras[:3, 2])) / 2.0
        ax.plot(xy[near, 0], xy[near, 1], "+", color="#ff7f0e", markersize=12, mew=1.5)
        count = int(np.count_nonzero(near))
        ax.set_title(
            f"Z-frame localiser, slice {k + 1}/{scan.image.image.shape[0]}: "
            f"{count} fiducials detected"
        )
    else:
        ax.set_title("Z-frame localiser: no fiducials detected")
    reg = result.registration
    if reg is not None:
        ax.text(
            0.02,
            0.98,
            f"registration error at target {reg.at_target_mm:.2f} mm, {reg.rotation_deg:.2f} deg",
            transform=ax.transAxes,
            va="top",
            color="white",
            fontsize=8,
        )


def _planned_path(ax: Axes, scan: ScanImage, plan: EntryPlan) -> None:
    planned, _ = _slice_mm(scan, np.array([plan.skin_entry_ras_mm, plan.target_ras_mm]), 0)
    ax.plot(
        planned[:, 0], planned[:, 1], "--", color=_PLANNED, lw=0.9, alpha=0.8, label="planned path"
    )


def _confirmation_panel(ax: Axes, result: DemoResult) -> None:
    scan = result.confirmation_scan
    if scan is None:
        ax.set_title("Confirmation scan: not acquired")
        ax.set_axis_off()
        stop = result.safe_stop
        if stop is not None:
            lines = [
                "The story stopped before the confirmation scan.",
                "",
                "Console received:",
                *textwrap.wrap(stop.console_status, 60),
                "",
                (
                    f"Axes: {'at rest' if stop.axes_stopped else 'MOVING'}, "
                    f"{stop.drift_after_stop_mm:.3f} mm of travel after the stop"
                ),
                "",
                "Audit log:",
                *(w for line in stop.audit_records for w in textwrap.wrap(line, 60)),
            ]
            ax.text(
                0.0,
                1.0,
                "\n".join(lines),
                transform=ax.transAxes,
                va="top",
                fontsize=8,
                family="monospace",
            )
        return
    _show(ax, scan, 0)
    plan = result.plan
    phantom = result.scenario.phantom
    target = np.asarray(phantom.nidus_centre_ras_mm)
    if plan is not None:
        _planned_path(ax, scan, plan)
    centre, _ = _slice_mm(scan, target[None], 0)
    ax.add_patch(
        Circle(
            (float(centre[0, 0]), float(centre[0, 1])),
            phantom.nidus_diameter_mm / 2.0,
            fill=False,
            color="#ffdd57",
            lw=1.0,
            label="nidus",
        )
    )
    bundle_foot = np.asarray(phantom.bundle_point_ras_mm)
    axis = np.asarray(phantom.bone_axis_ras)
    offset = (target - bundle_foot) @ axis
    bundle, _ = _slice_mm(scan, np.array([bundle_foot + offset * axis]), 0)
    ax.add_patch(
        Circle(
            (float(bundle[0, 0]), float(bundle[0, 1])),
            phantom.bundle_radius_mm,
            fill=False,
            color="#17becf",
            lw=1.0,
            ls=":",
            label="nerve bundle (forbidden)",
        )
    )
    tip = result.tip
    if tip is not None:
        d = np.asarray(tip.direction_ras)
        depth = phantom.skin_radius_mm if plan is None else plan.depth_from_skin_mm
        shaft = np.array([np.asarray(tip.tip_ras_mm) - d * depth, tip.tip_ras_mm])
        achieved, _ = _slice_mm(scan, shaft, 0)
        ax.plot(
            achieved[:, 0],
            achieved[:, 1],
            "-",
            color=_ACHIEVED,
            lw=1.0,
            alpha=0.8,
            label="achieved needle (truth)",
        )
        ax.plot(achieved[1, 0], achieved[1, 1], "x", color=_ACHIEVED, markersize=8)
        ax.set_title(f"Confirmation scan along the needle: tip error {tip.error_mm:.2f} mm")
    else:
        ax.set_title("Confirmation scan: no completed insertion")
    ax.legend(loc="lower right", fontsize=7, framealpha=0.6)


def _joint_panel(ax: Axes, result: DemoResult) -> None:
    trace = result.trace
    for index, name in enumerate(trace.names):
        ax.plot(trace.times_s, trace.positions[:, index], lw=1.2, label=name)
    for index, (label, t) in enumerate(trace.marks):
        stopped = label == _STOP_MARK
        ax.axvline(t, color="#d62728" if stopped else "#888888", lw=1.2 if stopped else 0.7, ls=":")
        ax.text(
            t,
            0.97 - 0.06 * (index % 4),  # staggered: short phases sit close together
            f" {label}",
            transform=ax.get_xaxis_transform(),
            va="top",
            fontsize=7,
            color="#444444",
        )
    stop = result.safe_stop
    if stop is not None:
        ax.set_title(f"True joint positions (emulator), fault {stop.fault}")
    else:
        ax.set_title("True joint positions (emulator)")
    ax.set_xlabel("s since the demo started")
    ax.set_ylabel("mm")
    ax.grid(visible=True, alpha=0.3)
    if trace.names:
        ax.legend(loc="center right", fontsize=7)


def write_figure(result: DemoResult, path: Path) -> Path:
    """Write the three-panel PNG and return its path.

    Raises:
        OSError: the file cannot be written.
    """
    fig = Figure(figsize=(16.5, 5.6), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3, width_ratios=(1.0, 1.0, 1.25))
    _zframe_panel(axes[0], result)
    _confirmation_panel(axes[1], result)
    _joint_panel(axes[2], result)
    headline = verdict(result).split(":", 1)[0]
    fig.suptitle(f"mrbot demo, seed {result.scenario.seed}: {headline}", fontsize=11)
    fig.savefig(path, format="png")
    return path
