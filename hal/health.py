"""Rate trips on link health (SERIAL_LINK_BASIS.md 5): too many bad frames in a sliding window."""

from __future__ import annotations

import collections
from typing import Final

__all__ = ["BadFrameRate"]

_MAX_SAMPLES: Final = 8192


class BadFrameRate:
    """Trips when more than ``limit`` of the frames in the last ``window_s`` were bad.

    Not thread-safe: one reader thread feeds it.

    Args:
        window_s: sliding window (s).
        limit: tripping fraction of bad frames (0.05 = 5 %).
        min_frames: frames needed in the window before a rate means anything.
    """

    def __init__(self, *, window_s: float = 1.0, limit: float = 0.05, min_frames: int = 20) -> None:
        if not (window_s > 0 and 0 < limit < 1 and min_frames >= 1):
            raise ValueError(
                f"need window_s > 0 s, 0 < limit < 1, min_frames >= 1; "
                f"got {window_s}, {limit}, {min_frames}"
            )
        self._window_s = window_s
        self._limit = limit
        self._min_frames = min_frames
        self._samples: collections.deque[tuple[float, bool]] = collections.deque(
            maxlen=_MAX_SAMPLES
        )
        self._bad = 0
        self.tripped = False

    def add(self, at_s: float, *, bad: bool) -> bool:
        """Record one frame; returns True exactly when the rate crosses the limit (edge)."""
        self._samples.append((at_s, bad))
        self._bad += bad
        horizon = at_s - self._window_s
        while self._samples and self._samples[0][0] < horizon:
            _, old_bad = self._samples.popleft()
            self._bad -= old_bad
        total = len(self._samples)
        over = total >= self._min_frames and self._bad > self._limit * total
        edge = over and not self.tripped
        self.tripped = over
        return edge

    @property
    def fraction(self) -> float:
        """Bad fraction in the current window (0 when empty)."""
        return self._bad / len(self._samples) if self._samples else 0.0
