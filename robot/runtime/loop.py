"""The control loop: one thread, fixed rate, the only caller of the supervisor and of motion.

Per cycle: :meth:`RobotCore.sense` (HAL read -> snapshot -> faults -> ``evaluate``), the
consumer's priority path, the events queued since the last cycle (commands, poses, scanner
results) handed to the consumer (the workphase layer), :meth:`RobotCore.act` (homing, motion,
stops), the consumer's ``tick`` with the cycle's results (STATUS, positions), then the audit group
commit. Everything else posts to :attr:`ControlLoop.events`.

The priority path: each STOP/EMERGENCY a reader thread received (and, for EMERGENCY, already
passed to the HAL's ``estop()`` before its ACK) since the last cycle enters the core once, here,
before any queued event: one supervisor decision and one audit record per request. Its queued
command, handled in its turn, only answers; had it been handled first (it was queued in this very
cycle), it makes that one entry itself and the priority path skips it.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING, Final, Protocol

from hal import LifecycleState

if TYPE_CHECKING:
    from hal import Clock
    from robot.runtime.core import RobotCore
    from robot.runtime.jobs import JobResult

__all__ = ["ControlLoop", "LoopConsumer", "LoopStats"]

logger = logging.getLogger(__name__)

_JOIN_TIMEOUT_S: Final = 5.0
#: Events handled per cycle at most, so a flood cannot stall the supervisor's evaluation.
_MAX_EVENTS_PER_CYCLE: Final = 64


class LoopConsumer(Protocol):
    """What the control loop hands events and results to (the workphase layer)."""

    def priority(self) -> None:
        """Enter each stop that must not wait behind queued events in the core, once."""
        ...

    def handle(self, event: object) -> None:
        """Handle one queued event (control-loop thread)."""
        ...

    def tick(self, results: list[JobResult]) -> None:
        """End of cycle: report results, stream positions (control-loop thread)."""
        ...


class LoopStats:
    """Counters of the control loop (read from any thread; written by the loop only)."""

    def __init__(self) -> None:
        self.cycles = 0
        self.overruns = 0
        self.errors = 0
        self.max_cycle_s = 0.0


class ControlLoop:
    """Runs :class:`RobotCore` and a consumer at a fixed rate on its own thread.

    Args:
        core: the robot.
        consumer: the workphase layer.
        events: the queue every other thread posts to.
        clock: monotonic clock with ``sleep_until`` (injected; ``robot`` passes the real one).
        rate_hz: cycle rate (Hz).
    """

    def __init__(
        self,
        core: RobotCore,
        consumer: LoopConsumer,
        events: queue.Queue[object],
        *,
        clock: Clock,
        rate_hz: float,
    ) -> None:
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be > 0 Hz, got {rate_hz}")
        self.core = core
        self.consumer = consumer
        self.events = events
        self._clock = clock
        self._period_s = 1.0 / rate_hz
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats = LoopStats()

    def start(self) -> None:
        """Start the loop thread (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="control-loop", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread (after commanding a stop of every axis), join it; idempotent."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(_JOIN_TIMEOUT_S)
        if thread.is_alive():
            logger.error("control loop did not stop within %.1f s", _JOIN_TIMEOUT_S)

    def _run(self) -> None:
        deadline_s = self._clock.now_s()
        while not self._stop.is_set():
            started_s = self._clock.now_s()
            try:
                self.cycle()
            except Exception as err:  # thread top: stop the axes, report, keep supervising
                self.stats.errors += 1
                logger.exception("control cycle failed")
                self._safe_fault(f"control cycle failed: {type(err).__name__}: {err}")
            elapsed_s = self._clock.now_s() - started_s
            self.stats.max_cycle_s = max(self.stats.max_cycle_s, elapsed_s)
            deadline_s += self._period_s
            now_s = self._clock.now_s()
            if now_s > deadline_s:
                self.stats.overruns += 1
                deadline_s = now_s
            self._stop.wait(max(0.0, deadline_s - now_s))
        self._shutdown()

    def _safe_fault(self, reason: str) -> None:
        try:
            self.core.fault(reason)
        except Exception:  # thread top: the fault path itself failed; stop directly
            logger.exception("fault handling failed; stopping the axes directly")
            self.core.driver.stop()

    def cycle(self) -> None:
        """One control cycle (public for tests that drive the loop by hand)."""
        results = self.core.sense()
        self.consumer.priority()
        for _ in range(_MAX_EVENTS_PER_CYCLE):
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
            self.consumer.handle(event)
        results += self.core.act()
        self.consumer.tick(results)
        self.core.commit()
        self.stats.cycles += 1

    def _shutdown(self) -> None:
        """Stop the axes on the way out (the loop no longer renews permits)."""
        if self.core.driver.state is not LifecycleState.UNCONFIGURED:
            self.core.driver.stop()
