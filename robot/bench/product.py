"""``mrbot bench igtl`` product figures: the deployed server, measured from other processes.

For each link (``emulate``: ``mrbot serve --emulate``; ``pty``/``tcp``: ``mrbot serve --device``
with the emulator in its own process) one server runs with its control loop, and one controlling
console (:mod:`robot.bench.controller`) keeps a placement streaming (MOVE_TO_TARGET after
START_UP, CALIBRATION, TARGETING and ``TGT_``). Meanwhile observer consoles
(:mod:`robot.bench.wire`, in up to four separate processes) send ``CMD_<id> PLANNING`` at a fixed
rate: the server ACKs it on the connection's reader thread and then refuses it (``5`` sub 9: no
authority) with the phase unchanged. Each sample is send -> ``ACK_<id>`` decoded, in ms.

Then the controller cuts moves with STOP (sample: STOP sent -> ``STATUS(STOP, 1)``, sent by the
server at standstill) and with EMERGENCY (sample: CLOCK_MONOTONIC just before the console's send
-> the emulator's CLOCK_MONOTONIC stamp when it decodes the ESTOP frame; an upper bound of the
server's EMERGENCY-received -> ESTOP-decoded, as it includes the console's send and the server's
receive). EMERGENCY figures need the emulator in its own process (``pty``/``tcp``).

Beside each CMD->ACK figure, in the same run and with the same observer plan: pyigtl's own server
answering the same exchange (one console: it serves one client), and the floor: a blocking-socket
echo of the same frames with the same observer plan, run just before each window while the server
runs, so that floor and figure see the same machine (other work on a shared machine moves both).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np

from robot.bench.controller import ControllerPlan, ControllerResult, run_controller
from robot.bench.deploy import Deployment
from robot.bench.result import BenchResult
from robot.bench.wire import ObserverPlan, ObserverResult, echo_server_process, observe_pooled

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from multiprocessing.connection import Connection as Pipe
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event

__all__ = ["CONSOLES", "Load", "machine_line", "match_estops", "run", "run_links"]

_AREA: Final = "igtl"
#: Observer consoles -> each console's command interval (s): 200, 200 and 500 commands/s.
CONSOLES: Final = {1: 0.005, 4: 0.02, 50: 0.1}
_MAX_OBSERVER_PROCESSES: Final = 4
_TARGET_P99_MS: Final = {4: 1.0, 50: 5.0}
_TARGET_FLOOR_RATIO: Final = 10.0
_TARGET_ESTOP_P99_MS: Final = 1.5
_QUANTILES: Final = (50.0, 99.0, 99.9)


@dataclass(frozen=True, slots=True)
class Load:
    """How long and how hard to measure."""

    window_s: float = 5.0
    stop_samples: int = 10
    estop_samples: int = 150

    @staticmethod
    def quick() -> Load:
        """A smoke run: seconds, few samples."""
        return Load(window_s=1.0, stop_samples=2, estop_samples=10)


def machine_line() -> str:
    """Machine, load average and date, for the table's title and the README."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{os.cpu_count()} CPUs ({model}), {python}, load average {load}"


def _plans(port: int, consoles: int, window_s: float, *, reply_prefix: str) -> list[ObserverPlan]:
    interval_s = CONSOLES.get(consoles, 0.1)
    processes = min(consoles, _MAX_OBSERVER_PROCESSES)
    plans = []
    for p in range(processes):
        share = consoles // processes + (1 if p < consoles % processes else 0)
        plans.append(
            ObserverPlan(
                port=port,
                connections=share,
                interval_s=interval_s,
                duration_s=window_s,
                reply_prefix=reply_prefix,
                tag=f"o{p}x",
                seed=p,
            )
        )
    return plans


def _quantiles(samples: Sequence[float]) -> dict[float, float]:
    if not samples:
        return {q: float("nan") for q in _QUANTILES}
    array = np.asarray(samples)
    return {q: float(np.percentile(array, q)) for q in _QUANTILES}


# --- baselines ----------------------------------------------------------------------------------


def _echo_port(pipe: Pipe) -> int:
    if not pipe.poll(30.0):
        raise RuntimeError("the echo server did not start within 30 s")
    return int(pipe.recv())


@contextlib.contextmanager
def echo_floor() -> Iterator[int]:
    """A blocking-socket echo server in its own process; yields its port."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=echo_server_process, args=(child,), daemon=True)
    process.start()
    try:
        yield _echo_port(parent)
    finally:
        parent.close()
        process.join(10.0)
        if process.is_alive():
            process.terminate()


def _pyigtl_process(pipe: Pipe) -> None:
    from robot.igtl_adapter import PyigtlAckServer  # noqa: PLC0415 - in the child only

    server = PyigtlAckServer()
    pipe.send(server.port)
    try:
        pipe.recv()
    except EOFError:
        pass
    finally:
        server.close()


def pyigtl_baseline(window_s: float) -> ObserverResult:
    """One console against pyigtl's own server (it serves one client)."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_pyigtl_process, args=(child,), daemon=True)
    process.start()
    try:
        port = _echo_port(parent)
        return observe_pooled(_plans(port, 1, window_s, reply_prefix="ACK_"))
    finally:
        parent.send("stop")
        parent.close()
        process.join(15.0)
        if process.is_alive():
            process.terminate()


# --- the product -------------------------------------------------------------------------------


@dataclass(slots=True)
class LinkFigures:
    """What one deployment measured."""

    link: str
    acks: dict[int, ObserverResult] = field(default_factory=dict)
    floors: dict[int, ObserverResult] = field(default_factory=dict)
    windows: dict[int, tuple[float, float]] = field(default_factory=dict)
    controller: ControllerResult = field(default_factory=ControllerResult)
    estop_ms: list[float] = field(default_factory=list)
    estop_missing: int = 0


def _controller_entry(
    plan: ControllerPlan, ready: Event, done: Event, out: Queue[ControllerResult]
) -> None:
    out.put(run_controller(plan, ready, done))


def match_estops(sent_ns: Sequence[int], stamps: Sequence[int]) -> tuple[list[float], int]:
    """For each send, the first emulator stamp after it and before the next send (ms)."""
    out: list[float] = []
    missing = 0
    for i, t0 in enumerate(sent_ns):
        t1 = sent_ns[i + 1] if i + 1 < len(sent_ns) else None
        hits = [s for s in stamps if s >= t0 and (t1 is None or s < t1)]
        if hits:
            out.append((hits[0] - t0) / 1e6)
        else:
            missing += 1
    return out, missing


def measure_link(
    link: str,
    consoles: Sequence[int],
    load: Load,
    echo_port: int,
    *,
    extra_serve_args: tuple[str, ...] = (),
    switch_interval_s: float | None = None,
) -> LinkFigures:
    """Start the deployment, stream placements, measure CMD->ACK, then STOP and EMERGENCY.

    Before each CMD->ACK window, the same observer plan runs against the echo floor at
    ``echo_port``, with the server running: the floor sees the machine as the window does.
    """
    figures = LinkFigures(link=link)
    context = multiprocessing.get_context("spawn")
    with Deployment(
        link, extra_serve_args=extra_serve_args, switch_interval_s=switch_interval_s
    ) as deployment:
        ready, done = context.Event(), context.Event()
        out: Queue[ControllerResult] = context.Queue()
        plan = ControllerPlan(
            port=deployment.port,
            stop_samples=load.stop_samples,
            estop_samples=load.estop_samples if deployment.stamps_estop else 0,
        )
        process = context.Process(target=_controller_entry, args=(plan, ready, done, out))
        process.start()
        try:
            if not ready.wait(120.0):
                raise RuntimeError(f"{link}: the controlling console did not start a move")
            for n in consoles:
                figures.floors[n] = observe_pooled(
                    _plans(echo_port, n, load.window_s, reply_prefix="CMD_")
                )
                start_s = time.monotonic()
                figures.acks[n] = observe_pooled(
                    _plans(deployment.port, n, load.window_s, reply_prefix="ACK_")
                )
                figures.windows[n] = (start_s, time.monotonic())
            done.set()
            figures.controller = out.get(timeout=300.0)
        finally:
            done.set()
            process.join(30.0)
            if process.is_alive():
                process.terminate()
        if deployment.stamps_estop and figures.controller.estop_sent_ns:
            stamps = deployment.wait_estops(len(figures.controller.estop_sent_ns), 5.0)
            figures.estop_ms, figures.estop_missing = match_estops(
                figures.controller.estop_sent_ns, stamps
            )
    return figures


def _link_label(link: str) -> str:
    return {
        "emulate": "serve --emulate",
        "pty": "serve --device pty, emulator process",
        "tcp": "serve --device socket://, emulator process",
    }[link]


def _ack_rows(figures: LinkFigures, pyigtl: ObserverResult | None) -> list[BenchResult]:
    rows: list[BenchResult] = []
    label = _link_label(figures.link)
    for n, result in figures.acks.items():
        ours = _quantiles(result.samples_ms)
        base = _quantiles(pyigtl.samples_ms) if pyigtl is not None and n == 1 else None
        low = _quantiles(figures.floors[n].samples_ms) if n in figures.floors else None
        for q in _QUANTILES:
            value = ours[q]
            target: str | None = None
            met: bool | None = None
            if q == 99.0 and n in _TARGET_P99_MS:  # noqa: PLR2004
                target = f"<= {_TARGET_P99_MS[n]:g} ms"
                met = value <= _TARGET_P99_MS[n]
            if q == 50.0 and low is not None:  # noqa: PLR2004
                target = f"<= {_TARGET_FLOOR_RATIO:g}x floor"
                met = value <= _TARGET_FLOOR_RATIO * low[q]
            base_value = None if base is None else base[q]
            note = (
                f"{len(result.samples_ms)} samples, {n} observer console(s) x "
                f"{1 / CONSOLES.get(n, 0.1):g} cmd/s while 1 console streams MOVE_TO_TARGET"
            )
            if result.lost or result.errors:
                note += f"; LOST {result.lost}, errors {result.errors[:1]}"
            if low is not None:
                note += f"; {value / low[q]:.1f}x floor"
            start_s, end_s = figures.windows.get(n, (0.0, 0.0))
            failed = [m for t, m in figures.controller.failures if start_s <= t <= end_s + 0.5]
            if failed:
                note += f"; MOVE FAILED {len(failed)}x in this window: {failed[0][:120]}"
            rows.append(
                BenchResult(
                    area=_AREA,
                    kind="product",
                    figure=f"CMD->ACK p{q:g}, {n} console(s), {label}",
                    value=value,
                    unit="ms",
                    target=target,
                    met=met,
                    baseline=base_value,
                    baseline_name="pyigtl server" if base_value is not None else None,
                    ratio=None if base_value is None else base_value / value,
                    floor=None if low is None else low[q],
                    note=note,
                )
            )
    return rows


def _controller_rows(figures: LinkFigures) -> list[BenchResult]:
    floor_one = figures.floors[min(figures.floors)] if figures.floors else None
    rows: list[BenchResult] = []
    label = _link_label(figures.link)
    c = figures.controller
    if c.errors:
        rows.append(
            BenchResult(
                area=_AREA,
                kind="product",
                figure=f"controlling console, {label}",
                value=float("nan"),
                unit="-",
                met=False,
                note=f"FAILED: {'; '.join(c.errors)}",
            )
        )
    if c.failures:
        rows.append(
            BenchResult(
                area=_AREA,
                kind="product",
                figure=f"streaming moves that failed under load, {label}",
                value=float(len(c.failures)),
                unit="moves",
                target="0",
                met=False,
                note="; ".join(m[:160] for _, m in c.failures[:2]),
            )
        )
    if c.position_span_s > 0:
        rate = c.positions / c.position_span_s
        rows.append(
            BenchResult(
                area=_AREA,
                kind="product",
                figure=f"CURRENT_POSITION rate during MOVE_TO_TARGET, {label}",
                value=rate,
                unit="Hz",
                target="20 Hz +- 10 %",
                met=abs(rate - 20.0) <= 2.0,  # noqa: PLR2004
                note=(
                    f"{c.positions} intervals over {c.position_span_s:.1f} s of moves "
                    f"({c.moves_completed} whole), under the observers' load"
                ),
            )
        )
    if c.stop_ms:
        stop = _quantiles(c.stop_ms)
        rows.append(
            BenchResult(
                area=_AREA,
                kind="product",
                figure=f"STOP -> STATUS(STOP, 1) at standstill, p50, {label}",
                value=stop[50.0],
                unit="ms",
                note=(
                    f"{len(c.stop_ms)} moves cut 0.3 s in; max {max(c.stop_ms):.1f} ms; "
                    "includes the axes' deceleration and the standstill check"
                ),
            )
        )
    floor_q = None if floor_one is None else _quantiles(floor_one.samples_ms)
    if figures.estop_ms:
        estop = _quantiles(figures.estop_ms)
        for q in (50.0, 99.0):
            is_p99 = q == 99.0  # noqa: PLR2004
            note = (
                f"{len(figures.estop_ms)} samples (1st cut a streaming move, the rest latched, "
                f"control loop running); upper bound: console send -> ESTOP decoded in the "
                f"emulator process, both CLOCK_MONOTONIC; max {max(figures.estop_ms):.2f} ms"
            )
            if figures.estop_missing:
                note += f"; {figures.estop_missing} without an ESTOP frame"
            if c.cut_by_other_console:
                note += f"; the streaming console's BrpClient saw: {c.cut_by_other_console[:160]}"
            rows.append(
                BenchResult(
                    area=_AREA,
                    kind="product",
                    figure=f"EMERGENCY -> ESTOP frame at the emulator p{q:g}, {label}",
                    value=estop[q],
                    unit="ms",
                    target=f"<= {_TARGET_ESTOP_P99_MS:g} ms" if is_p99 else None,
                    met=(estop[q] <= _TARGET_ESTOP_P99_MS) if is_p99 else None,
                    floor=None if floor_q is None else floor_q[q],
                    note=note + "; floor: one socket echo round trip (fewest consoles)",
                )
            )
    if c.estop_ack_ms:
        ack = _quantiles(c.estop_ack_ms)
        rows.append(
            BenchResult(
                area=_AREA,
                kind="product",
                figure=f"EMERGENCY -> ACK p99 (estop() runs before the ACK), {label}",
                value=ack[99.0],
                unit="ms",
                note=f"{len(c.estop_ack_ms)} samples; p50 {ack[50.0]:.3f} ms",
            )
        )
    return rows


def run_links(
    links: Sequence[str],
    load: Load,
    consoles: Sequence[int] = tuple(CONSOLES),
    *,
    extra_serve_args: tuple[str, ...] = (),
    switch_interval_s: float | None = None,
) -> list[BenchResult]:
    """The pyigtl baseline, then each deployment (with its floors); one row per figure."""
    pyigtl: ObserverResult | None
    try:
        pyigtl = pyigtl_baseline(load.window_s)
    except (RuntimeError, OSError):
        pyigtl = None
    rows: list[BenchResult] = []
    with echo_floor() as echo_port:
        for link in links:
            figures = measure_link(
                link,
                consoles,
                load,
                echo_port,
                extra_serve_args=extra_serve_args,
                switch_interval_s=switch_interval_s,
            )
            rows += _ack_rows(figures, pyigtl)
            rows += _controller_rows(figures)
            for n, result in figures.floors.items():
                q = _quantiles(result.samples_ms)
                rows.append(
                    BenchResult(
                        area=_AREA,
                        kind="floor",
                        figure=f"blocking-socket echo p50, {n} console(s), before the "
                        f"{_link_label(figures.link)} window",
                        value=q[50.0],
                        unit="ms",
                        note=(
                            f"p99 {q[99.0]:.3f} ms, p99.9 {q[99.9]:.3f} ms; "
                            f"{len(result.samples_ms)} samples; same plan, the server running"
                        ),
                    )
                )
    if pyigtl is not None:
        q = _quantiles(pyigtl.samples_ms)
        rows.append(
            BenchResult(
                area=_AREA,
                kind="baseline",
                figure="pyigtl OpenIGTLinkServer CMD->ACK p50, 1 console",
                value=q[50.0],
                unit="ms",
                note=f"p99 {q[99.0]:.3f} ms, p99.9 {q[99.9]:.3f} ms; {len(pyigtl.samples_ms)} "
                "samples; its responder polls every 0.5 ms",
            )
        )
    return rows


def run(
    *,
    quick: bool,
    links: Sequence[str] = ("emulate", "pty"),
    consoles: Sequence[int] = tuple(CONSOLES),
    switch_interval_s: float | None = None,
) -> list[BenchResult]:
    """The product figures for ``links``."""
    load = Load.quick() if quick else Load()
    return run_links(links, load, consoles, switch_interval_s=switch_interval_s)
