"""``mrbot bench demo``: how long the whole twin takes and how accurate it is, over seeds.

Each seed runs `robot.demo.run_demo` once at the default speed (axes 10x real) in a temporary
folder: real pty, real sockets, the Z-frame registration, the move and the confirmation scan.
Figures: wall time of one whole demo (target: under 30 s, the issue's promise), and the worst
registration error at the target and worst needle-tip error over the seeds (target: below 1 mm).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Final

import numpy as np

from robot.bench.result import BenchResult
from robot.demo import ACCURACY_LIMIT_MM, DemoOptions, run_demo

__all__ = ["run"]

_AREA: Final = "demo"
_TARGET_WALL_S: Final = 30.0


def run(*, quick: bool) -> list[BenchResult]:
    """Run the demo for 1 seed (``quick``) or 5 seeds and report time and accuracy."""
    seeds = range(1) if quick else range(5)
    walls: list[float] = []
    registration: list[float] = []
    tips: list[float] = []
    incomplete = 0
    with tempfile.TemporaryDirectory(prefix="mrbot-bench-demo-") as folder:
        for seed in seeds:
            start = time.perf_counter()
            result = run_demo(DemoOptions(seed=seed, out_dir=Path(folder) / str(seed)))
            walls.append(time.perf_counter() - start)
            if result.registration is None or result.tip is None:
                incomplete += 1
                continue
            registration.append(result.registration.at_target_mm)
            tips.append(result.tip.error_mm)
    load = os.getloadavg()[0]
    note = f"{len(walls)} seeds, {incomplete} stopped early; 1-min load {load:.1f}"
    worst_reg = max(registration, default=float("nan"))
    worst_tip = max(tips, default=float("nan"))
    return [
        BenchResult(
            area=_AREA,
            figure="whole demo, wall time (median)",
            value=float(np.median(walls)),
            unit="s",
            target=f"< {_TARGET_WALL_S:g} s",
            met=max(walls) < _TARGET_WALL_S,
            note=f"{note}; max {max(walls):.1f} s",
        ),
        BenchResult(
            area=_AREA,
            figure="registration error at the target (worst seed)",
            value=worst_reg,
            unit="mm",
            target=f"< {ACCURACY_LIMIT_MM:g} mm",
            met=bool(registration) and worst_reg < ACCURACY_LIMIT_MM and not incomplete,
            note=note,
        ),
        BenchResult(
            area=_AREA,
            figure="needle tip error (worst seed)",
            value=worst_tip,
            unit="mm",
            target=f"< {ACCURACY_LIMIT_MM:g} mm",
            met=bool(tips) and worst_tip < ACCURACY_LIMIT_MM and not incomplete,
            note=note,
        ),
    ]
