"""The injected clock: monotonic seconds plus a way to wait until a deadline."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Clock", "MonotonicClock"]


class Clock(Protocol):
    """Monotonic time source. ``robot`` supplies the real one; tests a fake one."""

    def now_s(self) -> float:
        """Monotonic seconds."""
        ...

    def sleep_until(self, deadline_s: float) -> None:
        """Return once ``now_s() >= deadline_s`` (or at once if it already is)."""
        ...


class MonotonicClock:
    """A :class:`Clock` over a real monotonic function (``robot`` passes ``time.monotonic``).

    Waiting uses ``threading.Event().wait`` so no ``time.sleep`` is involved.
    """

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._never = threading.Event()

    def now_s(self) -> float:
        """Monotonic seconds from the wrapped function."""
        return self._now()

    def sleep_until(self, deadline_s: float) -> None:
        """Block the calling thread until ``deadline_s``."""
        while True:
            remaining_s = deadline_s - self._now()
            if remaining_s <= 0:
                return
            self._never.wait(remaining_s)
