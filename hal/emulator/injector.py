"""Frame-level fault injection between the emulated firmware and its connection.

Works on whole frames (split at the 0x00 delimiter): drop (both directions), corrupt one byte
(both directions), delay (firmware to host). Decisions come from one seeded ``random.Random``,
so a plan with a seed replays the same damage for the same traffic.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Final

from hal.emulator.faults import FaultKind, FaultPlan

if TYPE_CHECKING:
    from hal.emulator.faults import FaultSpec

__all__ = ["FaultInjector", "InjectorStats"]

_DELIMITER: Final = 0
_MAX_PENDING_BYTES: Final = 4096


class InjectorStats:
    """Counters of the damage done (read by tests and the CLI)."""

    def __init__(self) -> None:
        self.dropped_tx = 0
        self.dropped_rx = 0
        self.corrupted_tx = 0
        self.corrupted_rx = 0
        self.delayed_tx = 0


class FaultInjector:
    """Applies the lasting frame faults of a plan at emulator time ``t_s``."""

    def __init__(self, plan: FaultPlan) -> None:
        self._drop = plan.of(FaultKind.DROP_FRAMES)
        self._corrupt = plan.of(FaultKind.CORRUPT_BYTES)
        self._delay = plan.of(FaultKind.DELAY)
        self._rng = random.Random(plan.seed)  # noqa: S311 - fault injection, not cryptography
        self._rx_partial = bytearray()
        self.stats = InjectorStats()

    def _hit(self, specs: tuple[FaultSpec, ...], t_s: float) -> bool:
        return any(s.active(t_s) and self._rng.random() < s.probability for s in specs)

    def _corrupt_frame(self, frame: bytes) -> bytes:
        damaged = bytearray(frame)
        index = self._rng.randrange(max(1, len(frame) - 1))  # keep the delimiter
        damaged[index] ^= 1 << self._rng.randrange(8)
        return bytes(damaged)

    def outgoing(self, frame: bytes, t_s: float) -> tuple[float, bytes] | None:
        """Damage one outgoing frame; returns ``(release_time_s, bytes)``, ``None`` if dropped."""
        if self._hit(self._drop, t_s):
            self.stats.dropped_tx += 1
            return None
        if self._hit(self._corrupt, t_s):
            self.stats.corrupted_tx += 1
            frame = self._corrupt_frame(frame)
        delay_s = max((s.delay_s for s in self._delay if s.active(t_s)), default=0.0)
        if delay_s > 0:
            self.stats.delayed_tx += 1
        return t_s + delay_s, frame

    def incoming(self, data: bytes, t_s: float) -> bytes:
        """Damage incoming bytes frame by frame; a trailing partial frame waits for its end."""
        if not (self._drop or self._corrupt):
            return data
        self._rx_partial += data
        out = bytearray()
        while True:
            end = self._rx_partial.find(_DELIMITER)
            if end < 0:
                break
            frame = bytes(self._rx_partial[: end + 1])
            del self._rx_partial[: end + 1]
            if self._hit(self._drop, t_s):
                self.stats.dropped_rx += 1
                continue
            if len(frame) > 1 and self._hit(self._corrupt, t_s):
                self.stats.corrupted_rx += 1
                frame = self._corrupt_frame(frame)
            out += frame
        if len(self._rx_partial) > _MAX_PENDING_BYTES:
            out += self._rx_partial  # garbage without delimiter: pass on, the decoder drops it
            self._rx_partial.clear()
        return bytes(out)
