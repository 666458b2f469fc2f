"""A fake monotonic clock for tests: time moves only when a test advances it."""

from __future__ import annotations


class FakeClock:
    """Monotonic seconds that advance only through :meth:`advance` or :meth:`sleep_until`.

    Usable as ``now: Callable[[], float]`` (call it) or as a clock object (``now_s()``).
    Does not model: wall time, or other threads waiting on it.
    """

    def __init__(self, start_s: float = 1000.0) -> None:
        self._now_s = start_s

    def __call__(self) -> float:
        return self._now_s

    def now_s(self) -> float:
        return self._now_s

    def advance(self, dt_s: float) -> float:
        if dt_s < 0:
            raise ValueError(f"a monotonic clock cannot go back ({dt_s} s)")
        self._now_s += dt_s
        return self._now_s

    def sleep_until(self, deadline_s: float) -> None:
        self._now_s = max(self._now_s, deadline_s)
