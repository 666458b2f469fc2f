"""``mrbot bench igtl``: CMD to ACK round trip through our server, beside pyigtl's own comm layer.

Each sample is one ``STRING(CMD_<id>)`` sent by a blocking client and the wall time until its
``STRING(ACK_<id>)`` is decoded (CRC checked) on loopback. Clients are separate processes (as
consoles are); with 4 clients, four processes run the loop at once and all samples are pooled.
The baseline is the same exchange through pyigtl 0.3.4's ``OpenIGTLinkServer`` and
``OpenIGTLinkClient`` (one client: it serves no more).
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Final

import numpy as np

from robot.bench.result import BenchResult
from robot.igtl import AckHandler, IgtlClient, IgtlMessage, IgtlServer, ServerConfig, StringBody
from robot.igtl_adapter import PyigtlAckBaseline

if TYPE_CHECKING:
    from robot.igtl import IgtlEvent

__all__ = ["run"]

_AREA: Final = "igtl"
_TARGET_P99_MS: Final = 2.0
_TARGET_RATIO: Final = 5.0
_WARMUP: Final = 20


def _ours_ms(port: int, samples: int, client_index: int) -> list[float]:
    """Round trips of one client, in ms."""
    out: list[float] = []
    with IgtlClient("127.0.0.1", port) as client:
        for i in range(_WARMUP + samples):
            command_id = f"{client_index}-{i}"
            message = IgtlMessage(device_name=f"CMD_{command_id}", body=StringBody(text="PLANNING"))
            t0 = time.perf_counter_ns()
            client.send(message)
            ack = client.receive(timeout_s=1.0)
            elapsed_ms = (time.perf_counter_ns() - t0) / 1e6
            if ack.device_name != f"ACK_{command_id}":
                raise RuntimeError(f"expected ACK_{command_id}, got {ack.device_name}")
            if i >= _WARMUP:
                out.append(elapsed_ms)
    return out


def _ours(clients: int, samples: int) -> list[float]:
    """Pooled round trips of ``clients`` client processes against our server, in ms.

    Clients run in their own processes, as consoles do, so their Python work does not compete
    with the server for this process's GIL.
    """
    events: queue.Queue[IgtlEvent] = queue.Queue()
    context = multiprocessing.get_context("spawn")
    with (
        IgtlServer(ServerConfig(port=0), AckHandler(events)) as server,
        ProcessPoolExecutor(max_workers=clients, mp_context=context) as pool,
    ):
        futures = [pool.submit(_ours_ms, server.port, samples, i) for i in range(clients)]
        return [sample for future in futures for sample in future.result(timeout=120.0)]


def _pyigtl(samples: int) -> list[float]:
    """Round trips through pyigtl's own server and client, in ms."""
    baseline = PyigtlAckBaseline()
    baseline.start()
    try:
        out: list[float] = []
        for i in range(samples + 2):
            t0 = time.perf_counter_ns()
            baseline.exchange(f"{i:04d}", "PLANNING")
            if i >= 2:  # noqa: PLR2004 - two warm-up exchanges
                out.append((time.perf_counter_ns() - t0) / 1e6)
        return out
    finally:
        baseline.close()


def _percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q))


def run(*, quick: bool) -> list[BenchResult]:
    """Measure CMD to ACK round trips (1 and 4 clients) and the pyigtl baseline."""
    samples = 300 if quick else 3000
    baseline_samples = 20 if quick else 200
    one = _ours(1, samples)
    four = _ours(4, samples // 2)
    note_baseline = f"pyigtl 0.3.4 comm layer, {baseline_samples} samples"
    try:
        base: list[float] | None = _pyigtl(baseline_samples)
    except ValueError as err:  # pyigtl's server installs signal handlers: main thread only
        base, note_baseline = None, f"pyigtl baseline not run: {err}"
    results: list[BenchResult] = []
    for label, pooled, n_clients in (("1 client", one, 1), ("4 clients", four, 4)):
        for q in (50.0, 99.0):
            value = _percentile(pooled, q)
            base_value = _percentile(base, q) if base is not None and n_clients == 1 else None
            ratio = None if base_value is None else base_value / value
            is_p99 = q == 99.0  # noqa: PLR2004
            if is_p99 and ratio is not None:
                target: str | None = f"<= {_TARGET_P99_MS} ms and >= {_TARGET_RATIO:.0f}x pyigtl"
                met: bool | None = value <= _TARGET_P99_MS and ratio >= _TARGET_RATIO
            elif is_p99:
                target, met = f"<= {_TARGET_P99_MS} ms", value <= _TARGET_P99_MS
            else:
                target, met = None, None
            note = f"{len(pooled)} samples, loopback"
            if n_clients == 1:
                note += f"; baseline: {note_baseline}"
            else:
                note += "; no baseline: pyigtl serves one client"
            results.append(
                BenchResult(
                    area=_AREA,
                    figure=f"CMD->ACK round trip p{q:.0f}, {label}",
                    value=value,
                    unit="ms",
                    target=target,
                    met=met,
                    baseline=base_value,
                    baseline_name="pyigtl" if base_value is not None else None,
                    ratio=ratio,
                    note=note,
                )
            )
    return results
