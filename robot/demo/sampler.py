"""Sample the emulated axes' true positions over the run (the ground truth for the figure).

The emulator keeps each axis's physical position, which no encoder reports
(``EmulatedFirmware.true_positions``, in joint units); the sampler reads it on its own thread at
a fixed period, so homing and moves are recorded whatever the console is doing. Values are read
axis by axis without the emulator's lock: a sample may mix two consecutive physics steps (1 ms
apart), which the plot cannot show and the accuracy figures do not use (they read the axes at
standstill, see `JointSampler.read_now`).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Final

import numpy as np

from hal import JointKind
from robot.demo.errors import DemoError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from hal.emulator import EmulatedFirmware
    from kinematics.types import FloatArray

__all__ = ["JointSampler"]

logger = logging.getLogger(__name__)

_JOIN_TIMEOUT_S: Final = 2.0


class JointSampler:
    """One thread recording the emulator's true joint positions.

    Args:
        firmware: the emulated firmware (its axes in joint order).
        kinds: per axis, linear (mm) or rotary (rad), as the emulated axes are.
        now: monotonic seconds.
        period_s: sampling period.
    """

    def __init__(
        self,
        firmware: EmulatedFirmware,
        kinds: Sequence[JointKind],
        *,
        now: Callable[[], float],
        period_s: float = 0.01,
    ) -> None:
        if len(kinds) != len(firmware.axes):
            raise ValueError(f"{len(kinds)} joint kinds for {len(firmware.axes)} emulated axes")
        if tuple(k is JointKind.ROTARY for k in kinds) != firmware.config.rotary:
            raise ValueError(
                f"joint kinds {[k.value for k in kinds]} differ from the emulated axes' "
                f"(rotary: {list(firmware.config.rotary)})"
            )
        if not 0.0 < period_s <= 1.0:
            raise ValueError(f"period_s must be in (0, 1] s, got {period_s}")
        self._firmware = firmware
        self._kinds = tuple(kinds)
        self._now = now
        self._period_s = period_s
        self._lock = threading.Lock()  # guards _times and _rows
        self._times: list[float] = []
        self._rows: list[FloatArray] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def read_now(self) -> FloatArray:
        """The true joint positions now (mm, rad), in joint order."""
        return np.array(self._firmware.true_positions(), dtype=np.float64)

    def start(self) -> None:
        """Start sampling (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="demo-joint-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                row = self.read_now()
                with self._lock:
                    self._times.append(self._now())
                    self._rows.append(row)
                self._stop.wait(self._period_s)
        except Exception as err:  # thread top: report to the owner, never die silently
            logger.exception("joint sampler died")
            self.error = err

    def close(self) -> None:
        """Stop and join the thread (idempotent).

        Raises:
            DemoError: the thread did not stop in time.
        """
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(_JOIN_TIMEOUT_S)
        if thread.is_alive():
            raise DemoError(f"joint sampler did not stop within {_JOIN_TIMEOUT_S} s")

    def samples(self) -> tuple[FloatArray, FloatArray]:
        """Times (N,) in the ``now`` clock and positions (N, n) recorded so far."""
        with self._lock:
            times = np.array(self._times, dtype=np.float64)
            rows = np.vstack(self._rows) if self._rows else np.zeros((0, len(self._kinds)))
        return times, rows
