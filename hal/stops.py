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

    def pending(self) -> tuple[bool, StopCategory | None]:
        """What the heartbeat repeats: whether an e-stop is pending, and the pending stop."""
        with self.lock:
            return self.estop_pending, self.stop_pending

    def request_stop(self, category: StopCategory) -> StopCategory:
        """A stop was asked for; returns the category now pending.

        Withdraws any motion request not yet (re)sent. The stronger of ``category`` and the
        pending one is pending; only an ACK of a frame sent for it clears it.
        """
        with self.lock:
            self.stop_generation += 1
            current = self.stop_pending
            if current is None or category < current:
                self.stop_pending = category
                self.stop_seqs.clear()
                current = category
            return current

    def track_stop_frame(self, category: StopCategory, seq: int) -> None:
        """A Stop frame of ``category`` goes out as ``seq``: noted if it is the pending one."""
        with self.lock:
            if self.stop_pending is category:
                self.stop_seqs.append(seq)

    def track_estop_frame(self, seq: int) -> None:
        """An EStop frame goes out as ``seq``: noted while the e-stop is pending."""
        with self.lock:
            if self.estop_pending:
                self.estop_seqs.append(seq)

    def estop_acknowledged(self, seq: int) -> None:
        """The firmware acknowledged the frame ``seq``: clears the e-stop if it was sent for it."""
        with self.lock:
            if self.estop_pending and seq in self.estop_seqs:
                self.estop_pending = False
                self.estop_seqs.clear()

    def stop_acknowledged(self, seq: int) -> None:
        """The firmware acknowledged the frame ``seq`` at rest: clears the stop it was sent for.

        The ACK of a weaker or older stop carries a seq not among the pending one's frames.
        """
        with self.lock:
            if self.stop_pending is not None and seq in self.stop_seqs:
                self.stop_pending = None
                self.stop_seqs.clear()

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
