"""Ground truth of the campaign: the emulated firmware's axes, sampled every millisecond."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hal.emulator import EmulatedFirmware

__all__ = ["GroundTruth", "Sample", "moved_between", "stop_instant"]


@dataclass(frozen=True, slots=True)
class Sample:
    """The emulated firmware at one instant."""

    t_s: float
    moving: bool
    positions_um: tuple[int, ...]
    state: str
    fault: str | None


class GroundTruth:
    """Samples the emulated axes every millisecond on its own thread (start/close)."""

    def __init__(self, firmware: EmulatedFirmware, *, period_s: float = 0.001) -> None:
        self._firmware = firmware
        self._period_s = period_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # guards _samples
        self._samples: list[Sample] = []

    def sample(self) -> Sample:
        """Read the firmware now."""
        fw = self._firmware
        t_s = fw.time_s
        axes = fw.axes
        fault = fw.fault_latched
        return Sample(
            t_s=t_s,
            moving=any(a.moving for a in axes),
            positions_um=tuple(round(a.true_um) for a in axes),
            state=fw.state.name,
            fault=None if fault is None else fault.name,
        )

    def start(self) -> None:
        """Start sampling."""
        self._thread = threading.Thread(target=self._run, name="campaign-ground-truth")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._period_s):
            s = self.sample()
            with self._lock:
                self._samples.append(s)

    def close(self) -> None:
        """Stop and join the sampler (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    @property
    def samples(self) -> tuple[Sample, ...]:
        """Every sample so far, in time order."""
        with self._lock:
            return tuple(self._samples)

    @property
    def now_s(self) -> float:
        """Emulator time now (s)."""
        return self._firmware.time_s


def stop_instant(samples: tuple[Sample, ...], onset_s: float, until_s: float) -> float | None:
    """First sample time at or after ``onset_s`` from which the axes stay still until ``until_s``.

    Still: no trajectory and the same positions as every later sample of the window. ``None``
    when the axes still moved at the last sample before ``until_s``.
    """
    window = [s for s in samples if onset_s <= s.t_s <= until_s]
    if not window:
        return None
    last = window[-1]
    if last.moving:
        return None
    instant = last.t_s
    for s in reversed(window):
        if s.moving or s.positions_um != last.positions_um:
            break
        instant = s.t_s
    return instant


def moved_between(samples: tuple[Sample, ...], start_s: float, end_s: float) -> list[str]:
    """Motion seen in ``[start_s, end_s]``: descriptions of samples that moved or changed."""
    window = [s for s in samples if start_s <= s.t_s <= end_s]
    out: list[str] = []
    for before, after in itertools.pairwise(window):
        if after.moving or after.positions_um != before.positions_um:
            out.append(f"t={after.t_s:.3f} s moving={after.moving} {after.positions_um}")
    return out
