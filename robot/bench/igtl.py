"""``mrbot bench igtl``: component figures here; the product figures are in ``robot.bench.product``.

Components (a part measured on its own, labelled so in the table). Each sample is one
``STRING(CMD_<id>)`` sent by a blocking client and the wall time until its ``STRING(ACK_<id>)``
is decoded (CRC checked) on loopback, through a bare ``IgtlServer`` with an ``AckHandler`` and an
empty event queue (no control loop). Clients are separate processes; with 4 clients, four
processes run the loop at once and all samples are pooled. The baseline is the same exchange
through pyigtl 0.3.4's ``OpenIGTLinkServer`` and ``OpenIGTLinkClient`` (one client).

:func:`run_robot`, in-process (``RobotApp`` and the emulated firmware behind a pty in this
process; not run by default): the time from a
console sending ``CMD EMERGENCY`` to the ESTOP frame being decoded by the emulator at the far end
of the serial link (the HAL's ``estop()`` runs on the connection's reader thread, before the ACK),
and the rate of ``CURRENT_POSITION`` frames a console receives during a move.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Final

import numpy as np

from hal.emulator import EmulatedFirmware
from robot.app import RobotApp
from robot.bench.result import BenchResult
from robot.config import load_config
from robot.igtl import (
    AckHandler,
    IgtlClient,
    IgtlMessage,
    IgtlServer,
    ServerConfig,
    StringBody,
    TransformBody,
)
from robot.igtl_adapter import PyigtlAckBaseline
from robot.runtime.schema import JOINT_NAMES

if TYPE_CHECKING:
    from collections.abc import Sequence

    from robot.config import RobotConfig
    from robot.igtl import IgtlEvent

__all__ = ["component_ack_ms", "component_estop_ms", "run", "run_ack", "run_robot"]

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


def component_ack_ms(clients: int, samples: int) -> list[float]:
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


def run(
    *,
    quick: bool,
    links: Sequence[str] = ("emulate", "pty"),
    consoles: Sequence[int] | None = None,
    switch_interval_s: float | None = None,
    components: bool = True,
) -> list[BenchResult]:
    """Component CMD to ACK round trips (bare server), then the product figures.

    The product figures (:mod:`robot.bench.product`) start ``mrbot serve`` for each of ``links``.
    :func:`run_robot` (in-process RobotApp) is a component figure, not run by default: the
    product's EMERGENCY -> ESTOP figure replaces it.
    """
    from robot.bench import product  # noqa: PLC0415 - subprocess machinery only when measuring

    rows = run_ack(quick=quick) if components else []
    return rows + product.run(
        quick=quick,
        links=links,
        consoles=tuple(consoles or product.CONSOLES),
        switch_interval_s=switch_interval_s,
    )


def run_ack(*, quick: bool) -> list[BenchResult]:
    """Measure CMD to ACK round trips (1 and 4 clients) and the pyigtl baseline."""
    samples = 300 if quick else 3000
    baseline_samples = 20 if quick else 200
    one = component_ack_ms(1, samples)
    four = component_ack_ms(4, samples // 2)
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
                    kind="component",
                    figure=f"bare IgtlServer+AckHandler CMD->ACK p{q:.0f}, {label}",
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


# --- the robot on the network: EMERGENCY to ESTOP frame, CURRENT_POSITION rate ------------------

_TARGET_ESTOP_P99_MS: Final = 3.0
_TARGET_POSITION_HZ: Final = 20.0


class _EStopClock:
    """Timestamps (``perf_counter_ns``) each ESTOP the emulator acts on: its ``on_estop`` hook.

    The stamp is taken in the emulator's server thread when it decodes the frame read from the
    master side of the pty, i.e. at the far end of the serial link.
    """

    def __init__(self) -> None:
        self.estop_ns: list[int] = []
        self.arrived = threading.Event()

    def __call__(self) -> None:
        self.estop_ns.append(time.perf_counter_ns())
        self.arrived.set()


def _robot_config(rate_hz: float) -> RobotConfig:
    overrides: dict[str, object] = {
        **{f"joints.{j}.max_step_rate_hz": rate_hz for j in JOINT_NAMES},
        "emulator.homing_speed_mm_s": 200.0,
    }
    return load_config(overrides=overrides, environ={})


def _command(client: IgtlClient, command_id: str, phase: str) -> None:
    client.send(IgtlMessage(device_name=f"CMD_{command_id}", body=StringBody(text=phase)))


def _read_until(client: IgtlClient, name: str, type_name: str, timeout_s: float) -> list[float]:
    """Read until ``type_name:name``; returns the arrival times (s) of CURRENT_POSITION frames."""
    deadline = time.monotonic() + timeout_s
    positions: list[float] = []
    while True:
        message = client.receive(timeout_s=max(0.001, deadline - time.monotonic()))
        if message.device_name == "CURRENT_POSITION":
            positions.append(time.monotonic())
        if message.device_name == name and message.message_type == type_name:
            return positions


def _start_up(client: IgtlClient, tag: str) -> None:
    _command(client, f"{tag}S", "START_UP")
    _read_until(client, "START_UP", "STATUS", 30.0)


def component_estop_ms(samples: int) -> list[float]:
    """EMERGENCY sent by a console to the ESTOP frame read by the emulator, in ms."""
    config = _robot_config(20_000.0)
    clock = _EStopClock()
    firmware = EmulatedFirmware(RobotApp.emulator_config(config), on_estop=clock)
    out: list[float] = []
    with RobotApp(config, emulate=True, firmware=firmware) as app, IgtlClient(*app.address) as c:
        _start_up(c, "0")
        for i in range(samples + 5):
            seen = len(clock.estop_ns)
            clock.arrived.clear()
            t0 = time.perf_counter_ns()
            _command(c, f"E{i}", "EMERGENCY")
            _read_until(c, "EMERGENCY", "STATUS", 5.0)  # at rest nothing follows it
            # The STATUS may overtake the frame on a loaded machine: wait for it (bounded).
            if len(clock.estop_ns) <= seen and not clock.arrived.wait(1.0):
                raise RuntimeError(f"EMERGENCY {i}: no ESTOP frame reached the emulator")
            if i >= 5:  # noqa: PLR2004 - warm-up
                out.append((clock.estop_ns[seen] - t0) / 1e6)
    return out


def _position_rate_hz() -> tuple[float, int, float]:
    """CURRENT_POSITION frames per second at a console during a move; (rate, frames, seconds)."""
    config = _robot_config(2_000.0)  # 20 mm/s: a 100 mm lateral move takes seconds
    with RobotApp(config, emulate=True) as app, IgtlClient(*app.address) as c:
        _start_up(c, "0")
        _command(c, "C", "CALIBRATION")
        c.send(IgtlMessage(device_name="CLB_C", body=TransformBody(matrix_ras_mm=np.eye(4))))
        _read_until(c, "CALIBRATION", "STATUS", 5.0)
        _command(c, "T", "TARGETING")
        _read_until(c, "TARGETING", "STATUS", 5.0)
        target = np.eye(4)
        target[:3, 3] = (45.0, 45.0, 20.0)
        c.send(IgtlMessage(device_name="TGT_T", body=TransformBody(matrix_ras_mm=target)))
        _read_until(c, "REACHABLE_TARGET", "TRANSFORM", 5.0)  # the default profile's name
        _command(c, "M", "MOVE_TO_TARGET")
        arrivals = _read_until(c, "MOVE_TO_TARGET", "STATUS", 60.0)
    if len(arrivals) < 3:  # noqa: PLR2004 - need an interval to measure
        raise RuntimeError(f"only {len(arrivals)} CURRENT_POSITION frames during the move")
    span_s = arrivals[-1] - arrivals[0]
    return (len(arrivals) - 1) / span_s, len(arrivals), span_s


def run_robot(*, quick: bool) -> list[BenchResult]:
    """EMERGENCY to ESTOP p50/p99 and the CURRENT_POSITION rate, against RobotApp."""
    samples = 50 if quick else 500
    estop = component_estop_ms(samples)
    results = []
    for q in (50.0, 99.0):
        value = _percentile(estop, q)
        is_p99 = q == 99.0  # noqa: PLR2004
        results.append(
            BenchResult(
                area=_AREA,
                kind="component",
                figure=f"in-process RobotApp: EMERGENCY -> ESTOP at the emulator, p{q:.0f}",
                value=value,
                unit="ms",
                target=f"<= {_TARGET_ESTOP_P99_MS} ms" if is_p99 else None,
                met=value <= _TARGET_ESTOP_P99_MS if is_p99 else None,
                note=(
                    f"{len(estop)} samples; RobotApp with the emulator on a pty (a pty is not "
                    "rate-limited by its baud setting); stamped where the emulator decodes it"
                ),
            )
        )
    rate, frames, span_s = _position_rate_hz()
    results.append(
        BenchResult(
            area=_AREA,
            kind="component",
            figure="in-process RobotApp: CURRENT_POSITION rate during MOVE_TO_TARGET",
            value=rate,
            unit="Hz",
            target=f"{_TARGET_POSITION_HZ:g} Hz +- 10 %",
            met=abs(rate - _TARGET_POSITION_HZ) <= 0.1 * _TARGET_POSITION_HZ,
            note=f"{frames} frames over {span_s:.2f} s of one move (20 mm/s axes)",
        )
    )
    return results
