"""``mrbot bench hal``: request round trip and e-stop latency over a real pseudo-terminal.

The emulator serves the default needle guide on a pty with telemetry streaming at 200 Hz; the
driver opens the pty with pyserial as it would a USB adapter. Figures:

* request round trip: ``GetParam`` written -> matching ``ParamValue`` decoded by the driver.
* e-stop latency: ``driver.estop()`` called -> the ESTOP frame decoded on the emulator side
  (a raw decoder wrapped around the emulator's input timestamps its arrival with the
  system-wide monotonic clock).

The emulator runs in its own process, as firmware runs on its own board, so the two do not
share a GIL. A pty does no baud-rate pacing, so the wire time of the frame at the configured
baud rate is printed beside it as the physical floor of a real UART.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from typing import TYPE_CHECKING, Final

import numpy as np

from firmware_interfaces import EStop, Frame, FrameDecoder, GetParam, ParamId, encode_frame
from hal import CallbackReturn, ControllerConfig, ControllerDriver, MonotonicClock
from hal.emulator import EmulatedFirmware, PtyServer, emulator_config_for
from hal.transport import DEFAULT_BAUDRATE, serial_opener
from robot.bench.result import BenchResult
from robot.config import load_config
from safety.permits import PermitAuthority

if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import Connection
    from multiprocessing.synchronize import Event as EventType

__all__ = ["run"]

_AREA: Final = "hal"
_TELEMETRY_MS: Final = 5  # 200 Hz
_TARGET_ESTOP_P99_MS: Final = 2.0
_BITS_PER_BYTE: Final = 10  # 8N1: start + 8 data + stop
_WARMUP: Final = 20


def _percentiles(samples_ms: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.asarray(samples_ms), [50, 99])
    return float(p50), float(p99)


def _wrap_receive(firmware: EmulatedFirmware, on_estop: Callable[[float], None]) -> None:
    """Timestamp every ESTOP frame as it reaches the emulator (its own reader thread)."""
    decoder = FrameDecoder()
    receive = firmware.receive

    def timed_receive(data: bytes) -> None:
        arrived_s = time.perf_counter()
        for item in decoder.feed(data):
            if isinstance(item, Frame) and isinstance(item.message, EStop):
                on_estop(arrived_s)
        receive(data)

    firmware.receive = timed_receive  # type: ignore[method-assign]  # bench instrumentation


def _round_trips_ms(driver: ControllerDriver, samples: int) -> list[float]:
    out: list[float] = []
    request = GetParam(param=ParamId.WATCHDOG_MS, axis=0xFF)
    for i in range(_WARMUP + samples):
        t0 = time.perf_counter()
        driver.link.request(request, timeout_s=0.5, retries=0)
        if i >= _WARMUP:
            out.append((time.perf_counter() - t0) * 1000.0)
    return out


def _shipped_controller() -> ControllerConfig:
    """The HAL view of the shipped robot: the benchmark drives the robot users run."""
    return load_config(environ={}).controller


def _serve(events: Connection, stop: EventType, telemetry_ms: int) -> None:
    """Child process: serve the emulator on a pty, report its path and each ESTOP arrival."""
    firmware = EmulatedFirmware(
        emulator_config_for(_shipped_controller(), telemetry_period_ms=telemetry_ms)
    )
    _wrap_receive(firmware, lambda at_s: events.send(("estop", at_s)))
    with PtyServer(firmware, MonotonicClock(time.monotonic)) as server:
        events.send(("url", server.url))
        stop.wait(600.0)


def _estop_ms(driver: ControllerDriver, events: Connection, samples: int) -> list[float]:
    pause = threading.Event()
    out: list[float] = []
    for i in range(_WARMUP + samples):
        while events.poll():
            events.recv()  # repeats of the previous ESTOP sent by the heartbeat thread
        pause.wait(0.002 + 0.001 * (i % 5))  # vary the phase against the telemetry stream
        t0 = time.perf_counter()
        driver.estop()
        if not events.poll(1.0):
            raise RuntimeError("ESTOP frame did not arrive within 1 s")
        _, arrived_s = events.recv()
        if i >= _WARMUP:
            out.append((arrived_s - t0) * 1000.0)
        deadline = time.perf_counter() + 1.0
        while driver.estop_pending and time.perf_counter() < deadline:
            pause.wait(0.0005)  # wait for the ACK so heartbeats stop repeating the ESTOP
    return out


def run(*, quick: bool) -> list[BenchResult]:
    """Measure over a pty; ``quick`` takes 100 samples per figure instead of 1,000."""
    samples = 100 if quick else 1000
    clock = MonotonicClock(time.monotonic)
    authority = PermitAuthority(time.monotonic)
    context = multiprocessing.get_context("spawn")
    events, child_events = context.Pipe(duplex=False)
    stop = context.Event()
    child = context.Process(
        target=_serve, args=(child_events, stop, _TELEMETRY_MS), name="mrbot-bench-emulator"
    )
    child.start()
    try:
        deadline = time.perf_counter() + 30.0
        while not events.poll(0.05):
            if not child.is_alive() or time.perf_counter() > deadline:
                raise RuntimeError(f"emulator process failed to start (exit {child.exitcode})")
        _, url = events.recv()
        driver = ControllerDriver(
            _shipped_controller(), serial_opener(url), clock, authority.verifier
        )
        with driver:
            if driver.configure() is not CallbackReturn.SUCCESS:
                raise RuntimeError(f"driver did not configure: {driver.last_error}")
            rtt_p50, rtt_p99 = _percentiles(_round_trips_ms(driver, samples))
            estop_p50, estop_p99 = _percentiles(_estop_ms(driver, events, samples))
            telemetry = driver.counters().telemetry_rx
    finally:
        stop.set()
        child.join(5.0)
        if child.is_alive():
            child.terminate()
            child.join(5.0)
    frame_bytes = len(encode_frame(EStop(), 0))
    floor_ms = frame_bytes * _BITS_PER_BYTE / DEFAULT_BAUDRATE * 1000.0
    note = (
        f"pty to an emulator process, telemetry 200 Hz ({telemetry} frames received), "
        f"{samples} samples, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
        "a pty has no baud pacing"
    )
    floor = f"wire time of {frame_bytes} B at {DEFAULT_BAUDRATE:,} baud 8N1"
    met = estop_p99 <= _TARGET_ESTOP_P99_MS
    return [
        BenchResult(
            area=_AREA,
            figure="request round trip p50 (GetParam)",
            value=rtt_p50,
            unit="ms",
            note=note,
        ),
        BenchResult(
            area=_AREA,
            figure="request round trip p99 (GetParam)",
            value=rtt_p99,
            unit="ms",
            note=note,
        ),
        BenchResult(
            area=_AREA,
            figure="estop() to ESTOP frame at firmware p50",
            value=estop_p50,
            unit="ms",
            baseline=floor_ms,
            baseline_name=floor,
            note=note,
        ),
        BenchResult(
            area=_AREA,
            figure="estop() to ESTOP frame at firmware p99",
            value=estop_p99,
            unit="ms",
            target=f"<= {_TARGET_ESTOP_P99_MS:g} ms",
            met=met,
            baseline=floor_ms,
            baseline_name=floor,
            note=note,
        ),
    ]
