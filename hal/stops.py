"""What ``stop()`` and ``estop()`` leave pending for the driver's heartbeat and motion commands.

The driver owns one :class:`StopState`; its :attr:`~StopState.lock` is the driver's state lock,
so a lifecycle transition and the stop or fault that causes it are one step. The motion
commands read the stop generation through it, and a move supersedes a pending stop through it.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

    from firmware_interfaces import StopCategory

__all__ = ["StopState"]

_TRACKED_STOP_SEQS: Final = 16  # seqs of the latest repeats of the pending stop (or e-stop)


class StopState:
    """The pending stop and e-stop, the seqs of the frames sent for them, and the generations.

    Every field is read and changed under :attr:`lock`. Generations: a caller notes one before
    a request and acts on the reply only if it is unchanged. ``stop()`` and ``estop()`` bump
    :attr:`stop_generation`; ``estop()`` bumps :attr:`estop_generation`; stopping faults and
    ``estop()`` bump :attr:`fault_generation`.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stop_pending: StopCategory | None = None
        self.stop_seqs: deque[int] = deque(maxlen=_TRACKED_STOP_SEQS)
        self.estop_pending = False
        self.estop_seqs: deque[int] = deque(maxlen=_TRACKED_STOP_SEQS)
        self.stop_generation = 0
        self.estop_generation = 0
        self.fault_generation = 0

    def mark(self) -> int:
        """The stop generation now (noted by a command on entry)."""
        with self.lock:
            return self.stop_generation

    def stopped_since(self, mark: int) -> Callable[[], bool]:
        """A request's abort predicate: true once stop() or estop() was called after ``mark``."""

        def stopped() -> bool:
            with self.lock:
                return self.stop_generation != mark

        return stopped

    def supersede_stop(self, mark: int) -> bool:
        """Drop the pending stop unless a stop came after ``mark``; false if one did.

        A stop issued before a move was asked for is superseded by that move.
        """
        with self.lock:
            if self.stop_generation != mark:
                return False
            self.stop_pending = None
            self.stop_seqs.clear()
            return True
