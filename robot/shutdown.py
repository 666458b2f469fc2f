"""Shutting the robot down: a STOP through the supervisor, standstill, then no more motion.

:class:`ShutdownGate` sits between the control loop and the workphase layer. Until
:meth:`ShutdownGate.request` it passes everything through. After it, on the control-loop thread,
it commands STOP through :meth:`RobotCore.stop` (the supervisor's STOP event: an audited
decision, the HAL's Cat 2 stop, ``STATUS(STOP)`` to every console at standstill) and from then
on refuses every command that could start motion, so a command queued behind the signal cannot
move the robot again. :meth:`ShutdownGate.wait_standstill` waits (polling with a deadline) for
the axes to report standstill.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from robot.igtl import CommandReceived, PeerConnected, PeerDisconnected, Workphase
from robot.workphase import replies
from safety import StatusCode, SubCode

if TYPE_CHECKING:
    from collections.abc import Callable

    from robot.runtime import JobResult, LoopConsumer, RobotCore
    from robot.workphase import WorkphaseProtocol
    from safety import Decision

__all__ = ["SHUTDOWN_SOURCE", "ShutdownGate", "ShutdownReport"]

logger = logging.getLogger(__name__)

#: The ``source`` of the shutdown's STOP decision in the audit log.
SHUTDOWN_SOURCE: Final = "shutdown"
_POLL_S: Final = 0.02
_STOPS: Final = frozenset({Workphase.STOP, Workphase.EMERGENCY})


@dataclass(frozen=True, slots=True, kw_only=True)
class ShutdownReport:
    """What the shutdown achieved.

    Attributes:
        cause: why (``signal SIGINT``, ``close``).
        stop_decision: the supervisor's STOP decision (``from``/``to``/``stop``), or None when
            the control loop never took the request.
        standstill: the axes reported standstill within the bound.
        standstill_after_s: from the STOP command to the first standstill cycle (s), or None.
        stop_bound_s: the documented stop bound waited for (``safety.stop_timeout_s``).
        durable: the shutdown record was committed (fsync'd) to the audit log.
    """

    cause: str
    stop_decision: dict[str, object] | None
    standstill: bool
    standstill_after_s: float | None
    stop_bound_s: float
    durable: bool = False

    @property
    def clean(self) -> bool:
        """Stopped at standstill, and the shutdown record is on disk."""
        return self.standstill and self.durable


class ShutdownGate:
    """A :class:`~robot.runtime.LoopConsumer` wrapping the workphase layer for a safe shutdown.

    Args:
        inner: the workphase layer.
        core: the robot (control-loop thread only, as always).
        now: the control loop's monotonic clock (s).
    """

    def __init__(
        self, inner: WorkphaseProtocol, core: RobotCore, *, now: Callable[[], float]
    ) -> None:
        self._inner: LoopConsumer = inner
        self._protocol = inner
        self._core = core
        self._now = now
        self._requested = threading.Event()
        self._standstill = threading.Event()
        # Written by the control-loop thread before _standstill is set; read after it.
        self._decision: Decision | None = None
        self._stop_commanded_s: float | None = None
        self._standstill_after_s: float | None = None

    @property
    def requested(self) -> bool:
        """Whether a shutdown was requested."""
        return self._requested.is_set()

    def request(self) -> None:
        """Ask the control loop to stop the robot for good (any thread; idempotent)."""
        self._requested.set()

    def wait_standstill(self, timeout_s: float, *, now: Callable[[], float]) -> bool:
        """Poll until the loop saw standstill after the shutdown STOP, or ``timeout_s`` passes."""
        deadline_s = now() + timeout_s
        while not self._standstill.is_set():
            left_s = deadline_s - now()
            if left_s <= 0:
                return False
            self._standstill.wait(min(left_s, _POLL_S))
        return True

    def report(self, cause: str, *, stop_bound_s: float) -> ShutdownReport:
        """The outcome so far (after :meth:`wait_standstill`)."""
        decision = self._decision
        summary: dict[str, object] | None = None
        if decision is not None:
            summary = {
                "from": decision.state_before.value,
                "to": decision.state_after.value,
                "accepted": decision.accepted,
                "stop": None if decision.stop is None else int(decision.stop),
            }
        standstill = self._standstill.is_set()
        return ShutdownReport(
            cause=cause,
            stop_decision=summary,
            standstill=standstill,
            standstill_after_s=self._standstill_after_s if standstill else None,
            stop_bound_s=stop_bound_s,
        )

    # --- LoopConsumer (control-loop thread) -----------------------------------------------------

    def priority(self) -> None:
        """The workphase layer's priority stops, then the shutdown STOP once requested."""
        self._inner.priority()
        if self._requested.is_set() and self._decision is None:
            logger.warning("shutdown: commanding STOP through the supervisor")
            self._stop_commanded_s = self._now()
            self._decision = self._core.stop(SHUTDOWN_SOURCE)

    def handle(self, event: object) -> None:
        """Pass an event on; after the shutdown STOP only stops and connection news pass."""
        if self._decision is None or isinstance(event, PeerConnected | PeerDisconnected):
            self._inner.handle(event)
            return
        if isinstance(event, CommandReceived):
            if event.phase in _STOPS:
                self._inner.handle(event)
                return
            conn = event.conn
            self._protocol.send(conn, replies.current_status(self._protocol.phase.value))
            self._protocol.send(
                conn,
                replies.status(
                    event.phase.value if event.phase is not None else f"ACK_{event.command_id}",
                    StatusCode.NOT_READY,
                    SubCode.NOT_READY,
                    "refused: the robot server is shutting down",
                ),
            )
            return
        logger.warning(
            "shutdown: %s refused (the robot server is shutting down; the connection closes)",
            type(event).__name__,
        )

    def tick(self, results: list[JobResult]) -> None:
        """The workphase layer's end of cycle; then note the first standstill after the STOP."""
        self._inner.tick(results)
        started_s = self._stop_commanded_s
        if started_s is None or self._standstill.is_set():
            return
        if not self._core.readings.moving and self._core.stopping is None:
            self._standstill_after_s = self._now() - started_s
            logger.warning("shutdown: standstill %.3f s after STOP", self._standstill_after_s)
            self._standstill.set()
