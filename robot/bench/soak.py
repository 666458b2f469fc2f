"""``mrbot bench soak [--seconds N]``: repeated placements against ``mrbot serve``, bounded.

One ``mrbot serve --emulate`` subprocess (shipped axis speeds; faster homing) and, in this
process, :class:`robot.console.BrpClient` (the library of ``mrbot console``): START_UP, an identity
CALIBRATION, then placements (TARGETING, ``TGT_``, MOVE_TO_TARGET, alternating between two
targets) until the time is up. Every placement also connects a second console that asks
GET_STATUS and disconnects (connection churn: a reader thread and a socket each time).

The server's RSS, thread count and open file descriptors (``/proc/<pid>/status`` and
``/proc/<pid>/fd``) are read after the first placement (the start: imports and caches are warm)
and after the last.
Pass: RSS grew by at most :data:`RSS_GROWTH_BOUND_KIB` and threads and descriptors did not grow,
and no placement failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from robot.bench.controller import CLIENT, place_once
from robot.bench.deploy import Deployment, ProcessSample, sample_process
from robot.bench.result import BenchResult
from robot.console import BrpClient, BrpError

__all__ = ["RSS_GROWTH_BOUND_KIB", "SoakReport", "run", "soak"]

#: Stated growth bound of the server's resident memory over a soak.
RSS_GROWTH_BOUND_KIB: Final = 8 * 1024
DEFAULT_SECONDS: Final = 600.0
_AREA: Final = "soak"
_MAX_FAILURES: Final = 10


@dataclass(slots=True)
class SoakReport:
    """What a soak saw."""

    seconds: float = 0.0
    placements: int = 0
    churned_connections: int = 0
    start: ProcessSample | None = None
    end: ProcessSample | None = None
    peak_rss_kib: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Within the bound, nothing failed."""
        if self.start is None or self.end is None or self.failures:
            return False
        return (
            self.end.rss_kib - self.start.rss_kib <= RSS_GROWTH_BOUND_KIB
            and self.end.threads <= self.start.threads
            and self.end.open_fds <= self.start.open_fds
        )

    def verdict(self) -> str:
        """One pass/fail line."""
        if self.start is None or self.end is None:
            return f"FAIL: no placement completed ({'; '.join(self.failures[:2])})"
        word = "PASS" if self.passed else "FAIL"
        return (
            f"{word}: {self.placements} placements + {self.churned_connections} console "
            f"connections in {self.seconds:.0f} s; server RSS {self.start.rss_kib} -> "
            f"{self.end.rss_kib} KiB ({self.end.rss_kib - self.start.rss_kib:+d}, bound "
            f"+{RSS_GROWTH_BOUND_KIB}; peak {self.peak_rss_kib}), threads {self.start.threads} -> "
            f"{self.end.threads}, open fds {self.start.open_fds} -> {self.end.open_fds} "
            f"(bound: no growth); failures {len(self.failures)}"
        )


def _churn(port: int) -> None:
    with BrpClient("127.0.0.1", port, config=CLIENT) as observer:
        observer.get_status()


def _recover(client: BrpClient, index: int, report: SoakReport) -> bool:
    """START_UP and calibrate again after a failed placement (a few tries); False if hopeless."""
    for attempt in range(3):
        try:
            client.start_up()
            client.calibration(np.eye(4))
        except BrpError as err:
            report.failures.append(f"recovery {attempt + 1} after placement {index}: {err}")
        else:
            return True
    return False


def soak(seconds: float, *, link: str = "emulate", progress: bool = False) -> SoakReport:
    """Place repeatedly for ``seconds`` (at least one placement); returns the report."""
    report = SoakReport()
    t0 = time.monotonic()
    with (
        Deployment(link) as deployment,
        BrpClient("127.0.0.1", deployment.port, config=CLIENT) as client,
    ):
        pid = deployment.server_pid
        try:
            client.start_up()
            client.calibration(np.eye(4))
        except BrpError as err:
            report.failures.append(f"START_UP: {err} [serve: {deployment.stderr_tail(3)}]")
            report.seconds = time.monotonic() - t0
            return report
        index = 0
        while report.start is None or time.monotonic() - t0 < seconds:
            try:
                place_once(client, index)
                _churn(deployment.port)
            except BrpError as err:
                report.failures.append(
                    f"placement {index}: {err} [serve: {deployment.stderr_tail(3)}]"
                )
                if len(report.failures) > _MAX_FAILURES:
                    break
                if not _recover(client, index, report):
                    break
            else:
                report.placements += 1
                report.churned_connections += 1
            index += 1
            sample = sample_process(pid)
            report.peak_rss_kib = max(report.peak_rss_kib, sample.rss_kib)
            if report.start is None and report.placements:
                report.start = sample
            report.end = sample
            if progress:
                print(  # noqa: T201 - progress of a long run
                    f"soak {time.monotonic() - t0:6.0f} s: placement {index}, rss "
                    f"{sample.rss_kib} KiB, threads {sample.threads}, fds {sample.open_fds}",
                    flush=True,
                )
    report.seconds = time.monotonic() - t0
    return report


def run(*, quick: bool, seconds: float | None = None, link: str = "emulate") -> list[BenchResult]:
    """The soak as table rows (``quick``: 30 s unless ``seconds`` is given)."""
    if seconds is None:
        seconds = 30.0 if quick else DEFAULT_SECONDS
    report = soak(seconds, link=link)
    rows = [
        BenchResult(
            area=_AREA,
            kind="product",
            figure=f"soak: repeated placements through BrpClient against mrbot serve ({link})",
            value=float(report.placements),
            unit="placements",
            target=f"RSS +<= {RSS_GROWTH_BOUND_KIB} KiB, threads and fds not growing",
            met=report.passed,
            note=report.verdict(),
        )
    ]
    rows.extend(
        BenchResult(
            area=_AREA, kind="product", figure="soak failure", value=float(i), unit="#", note=f
        )
        for i, f in enumerate(report.failures)
    )
    if report.start is not None and report.end is not None:
        for name, a, b, unit in (
            ("server RSS", report.start.rss_kib, report.end.rss_kib, "KiB"),
            ("server threads", report.start.threads, report.end.threads, "threads"),
            ("server open fds", report.start.open_fds, report.end.open_fds, "fds"),
        ):
            rows.append(
                BenchResult(
                    area=_AREA,
                    kind="product",
                    figure=f"{name} growth over the soak",
                    value=float(b - a),
                    unit=unit,
                    note=f"{a} -> {b}",
                )
            )
    return rows
