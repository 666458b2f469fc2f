"""Flight recorder: the last few seconds of frames both ways, bounded, thread-safe."""

from __future__ import annotations

import collections
import threading
from typing import Final

from hal.events import Direction, RecordedFrame

__all__ = ["FlightRecorder"]

_MAX_ENTRIES: Final = 4096


class FlightRecorder:
    """Keeps frames newer than ``window_s`` (and at most ``max_entries``).

    Args:
        window_s: how much history to keep (s); docs/SERIAL_LINK_BASIS.md section 5 asks for >= 2 s.
        max_entries: hard bound on memory.
    """

    def __init__(self, *, window_s: float = 2.0, max_entries: int = _MAX_ENTRIES) -> None:
        if window_s <= 0 or max_entries < 1:
            raise ValueError(
                f"window_s must be > 0 s and max_entries >= 1, got {window_s}, {max_entries}"
            )
        self._window_s = window_s
        self._lock = threading.Lock()  # guards _entries
        self._entries: collections.deque[RecordedFrame] = collections.deque(maxlen=max_entries)

    def record(self, *, at_s: float, direction: Direction, seq: int, summary: str) -> None:
        """Add one frame and forget frames older than the window."""
        entry = RecordedFrame(at_s=at_s, direction=direction, seq=seq, summary=summary)
        with self._lock:
            self._entries.append(entry)
            horizon = at_s - self._window_s
            while self._entries and self._entries[0].at_s < horizon:
                self._entries.popleft()

    def snapshot(self) -> tuple[RecordedFrame, ...]:
        """All kept frames, oldest first."""
        with self._lock:
            return tuple(self._entries)
