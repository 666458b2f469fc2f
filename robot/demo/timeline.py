"""Phase timings of the story on one monotonic clock, and marks for the joint plot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from robot.demo.result import PhaseTiming

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Timeline"]


class Timeline:
    """Phase timings and marks on one monotonic clock, from the demo's start.

    Args:
        now: monotonic seconds.
        progress: receives one line per phase start and end.
    """

    def __init__(self, now: Callable[[], float], progress: Callable[[str], None]) -> None:
        self._now = now
        self._progress = progress
        self.origin_s = now()
        self.phases: list[PhaseTiming] = []
        self.marks: list[tuple[str, float]] = []
        self._open: tuple[str, float] | None = None

    @property
    def current(self) -> str:
        """The phase in progress ("" between phases)."""
        return "" if self._open is None else self._open[0]

    def begin(self, name: str, tag: str) -> None:
        """Start phase ``name`` (``tag`` labels it on the plot) and announce it."""
        start = self._now()
        self._open = (name, start)
        self.marks.append((tag, start - self.origin_s))
        self._progress(f"{name} ...")

    def mark(self, tag: str) -> None:
        """A mark without a phase (the moment a stop was seen)."""
        self.marks.append((tag, self._now() - self.origin_s))

    def end(self, outcome: str) -> None:
        """Close the phase in progress with ``outcome`` (no-op between phases)."""
        if self._open is None:
            return
        name, start = self._open
        self._open = None
        timing = PhaseTiming(name=name, duration_s=self._now() - start, outcome=outcome)
        self.phases.append(timing)
        self._progress(f"  {outcome} ({timing.duration_s:.2f} s)")
