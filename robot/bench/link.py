"""``mrbot bench link``: telemetry inter-arrival times as the host sees them, idle and loaded.

The HAL counts the link lost when no telemetry arrived for its link time-out
(:meth:`hal.ControllerConfig.link_timeout_s`). That time-out must exceed the longest gap the host
sees on a healthy link, which on a loaded machine is the telemetry period plus scheduling delay:
the emulator's thread must run to send a frame and the driver's reader thread must run to
timestamp it. This benchmark serves the emulated firmware exactly as ``mrbot serve --emulate``
does (the robot, its control loop and the emulator behind a pseudo-terminal, all in one
process), brings it up with START_UP, idles it, and records the receive time the driver gives
each telemetry frame: first with the machine as it is, then with one CPU-bound process per CPU
beside it (``while True: pass`` children that this benchmark starts, and that end by themselves
after the phase even if it dies). Figures: p50, p99, p99.9 and max of the gaps; the max is
judged against the default robot's link time-out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np

from robot.bench.result import BenchResult

if TYPE_CHECKING:
    from hal import TelemetrySample

__all__ = ["LinkGaps", "cpu_burners", "end_burners", "measure_gaps", "run"]

_AREA: Final = "link"
#: Seconds per phase (idle, loaded): 20 s at 50 Hz is 1,000 gaps; ``--quick`` 4 s.
_PHASE_S: Final = 20.0
_QUICK_PHASE_S: Final = 4.0
#: Settling time after start and after the load starts (s), not measured.
_SETTLE_S: Final = 1.0
#: A CPU-bound child that ends by itself after ``argv[1]`` seconds.
_BURNER: Final = (
    "import sys, time\nend = time.monotonic() + float(sys.argv[1])\n"
    "while time.monotonic() < end:\n    pass\n"
)


class LinkGaps:
    """Telemetry receive times of one phase (s) and their gaps (ms)."""

    def __init__(self, arrivals_s: list[float], period_ms: float) -> None:
        self.period_ms = period_ms
        self.gaps_ms = np.diff(np.asarray(arrivals_s, dtype=np.float64)) * 1000.0

    @property
    def samples(self) -> int:
        """Number of gaps."""
        return int(self.gaps_ms.size)

    def percentile_ms(self, q: float) -> float:
        """The ``q``-th percentile of the gaps (ms)."""
        return float(np.percentile(self.gaps_ms, q))

    @property
    def max_ms(self) -> float:
        """The longest gap (ms)."""
        return float(self.gaps_ms.max())


def cpu_burners(count: int, seconds: float) -> list[subprocess.Popen[bytes]]:
    """Start ``count`` CPU-bound child processes that end by themselves after ``seconds``."""
    return [
        subprocess.Popen(  # noqa: S603 - our own interpreter and program text
            [sys.executable, "-c", _BURNER, f"{seconds:.1f}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def end_burners(processes: list[subprocess.Popen[bytes]]) -> None:
    """Stop the children :func:`cpu_burners` started (idempotent)."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5.0)


def measure_gaps(
    *, phase_s: float, load_processes: int, settle_s: float = _SETTLE_S
) -> tuple[LinkGaps, LinkGaps, float]:
    """Idle, then loaded: the telemetry gaps the driver of an emulated ``RobotApp`` sees.

    Returns:
        The idle and the loaded gaps, and the default robot's link time-out (ms).

    Args:
        phase_s: how long each phase records (s).
        load_processes: CPU-bound processes beside the robot in the loaded phase.
        settle_s: unrecorded time before each phase (s).

    Raises:
        RuntimeError: the robot did not start, or no telemetry arrived.
    """
    from robot.app import RobotApp  # noqa: PLC0415 - the whole robot, only for this bench
    from robot.config import load_config  # noqa: PLC0415
    from robot.console import BrpClient  # noqa: PLC0415
    from robot.runtime.schema import JOINT_NAMES  # noqa: PLC0415

    # Fast axes only so that START_UP (which brings the controller up) homes in a second; the
    # telemetry period is the default robot's.
    fast = {f"joints.{j}.max_step_rate_hz": 20_000.0 for j in JOINT_NAMES}
    config = load_config(overrides={**fast, "emulator.homing_speed_mm_s": 200.0}, environ={})
    period_ms = float(config.emulator_telemetry_period_ms)
    lock = threading.Lock()
    arrivals: list[float] = []
    recording = False
    folder = Path(tempfile.mkdtemp(prefix="mrbot-bench-link-"))
    app = RobotApp(config, emulate=True, port=0, audit_path=folder / "audit.jsonl")
    app.start()
    try:
        driver = app.driver
        if driver is None:
            raise RuntimeError("the robot has no driver after start()")
        link = driver.link
        deliver = link._on_telemetry  # noqa: SLF001 - bench instrumentation
        if deliver is None:
            raise RuntimeError("the driver's link has no telemetry callback")

        def timed(sample: TelemetrySample) -> None:
            if recording:
                with lock:
                    arrivals.append(sample.received_at_s)
            deliver(sample)

        link._on_telemetry = timed  # noqa: SLF001 - bench instrumentation
        with BrpClient(*app.address) as client:
            client.start_up()  # the controller configured and homed, then idle as in the trial
        phases: list[LinkGaps] = []
        wait = threading.Event()
        for load in (0, load_processes):
            burners = cpu_burners(load, settle_s + phase_s + 2.0) if load else []
            try:
                wait.wait(settle_s)
                recording = True
                wait.wait(phase_s)
                recording = False
            finally:
                end_burners(burners)
            with lock:
                taken, arrivals[:] = list(arrivals), []
            if len(taken) < 2:  # noqa: PLR2004 - a gap needs two arrivals
                raise RuntimeError(f"only {len(taken)} telemetry frames in {phase_s:g} s")
            phases.append(LinkGaps(taken, period_ms))
    finally:
        app.close()
    limit_ms = config.controller.link_timeout_s(period_ms / 1000.0) * 1000.0
    return phases[0], phases[1], limit_ms


def run(*, quick: bool) -> list[BenchResult]:
    """Measure; ``quick`` records 4 s per phase instead of 20 s."""
    phase_s = _QUICK_PHASE_S if quick else _PHASE_S
    cpus = os.cpu_count() or 1
    load_before = os.getloadavg()[0]
    started_s = time.monotonic()
    idle, loaded, limit_ms = measure_gaps(phase_s=phase_s, load_processes=cpus)
    took_s = time.monotonic() - started_s
    results: list[BenchResult] = []
    for name, gaps in (("idle", idle), (f"{cpus} CPU-bound processes", loaded)):
        note = (
            f"{gaps.samples} gaps, telemetry every {gaps.period_ms:g} ms, emulator in-process as "
            f"in mrbot serve --emulate; load average {load_before:.1f} before, {cpus} CPUs; "
            f"{took_s:.0f} s in all"
        )
        for label, value in (
            ("p50", gaps.percentile_ms(50)),
            ("p99", gaps.percentile_ms(99)),
            ("p99.9", gaps.percentile_ms(99.9)),
        ):
            results.append(
                BenchResult(
                    area=_AREA,
                    figure=f"telemetry gap {label}, {name}",
                    value=value,
                    unit="ms",
                    baseline=gaps.period_ms,
                    baseline_name="telemetry period",
                    note=note,
                )
            )
        results.append(
            BenchResult(
                area=_AREA,
                figure=f"telemetry gap max, {name}",
                value=gaps.max_ms,
                unit="ms",
                target=f"< link time-out {limit_ms:g} ms",
                met=gaps.max_ms < limit_ms,
                baseline=gaps.period_ms,
                baseline_name="telemetry period",
                note=note,
            )
        )
    return results
