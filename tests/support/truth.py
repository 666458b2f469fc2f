"""Judging the robot by physical truth: the emulator's true axis positions, tick by tick.

The host's own view (supervisor state, telemetry) is never the judge here: the samples come
from :meth:`hal.emulator.EmulatedFirmware.record_truth`, what the axes really did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hal import JointKind

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from hal import ControllerConfig
    from hal.emulator import TruthSample

_UM_PER_MM = 1000.0
_UM_PER_RAD = 1_000_000.0


def joint_values(sample: TruthSample, controller: ControllerConfig) -> np.ndarray:
    """The true joint vector of ``sample`` in joint units (mm, rad), wire order."""
    return np.array(
        [
            p / (_UM_PER_RAD if axis.kind is JointKind.ROTARY else _UM_PER_MM)
            for p, axis in zip(sample.positions_um, controller.axes, strict=True)
        ]
    )


@dataclass(slots=True)
class LateralWatch:
    """Lateral travel of the guide while the physical tip is past the retracted band.

    Feed samples in time order (several batches are fine); :attr:`worst_mm` is the largest
    displacement of any lateral axis from where it stood when the tip went past the band, over
    every inserted spell seen so far.

    Attributes:
        insertion_index: the insertion axis.
        band_mm: the retracted band (mm): the tip counts as in beyond it.
        worst_mm: largest lateral travel while inserted (mm).
        inserted_samples: samples seen with the tip past the band.
        deepest_mm: deepest physical insertion seen (mm).
    """

    insertion_index: int
    band_mm: float
    worst_mm: float = 0.0
    inserted_samples: int = 0
    deepest_mm: float = float("-inf")
    _reference: tuple[float, ...] | None = None

    def feed(self, samples: Iterable[TruthSample]) -> None:
        for sample in samples:
            positions = sample.positions_um
            depth_mm = positions[self.insertion_index] / _UM_PER_MM
            self.deepest_mm = max(self.deepest_mm, depth_mm)
            lateral = tuple(p for i, p in enumerate(positions) if i != self.insertion_index)
            if depth_mm <= self.band_mm:
                self._reference = None
                continue
            self.inserted_samples += 1
            if self._reference is None:
                self._reference = lateral
                continue
            travel_mm = max(abs(a - b) for a, b in zip(lateral, self._reference, strict=True))
            self.worst_mm = max(self.worst_mm, travel_mm / _UM_PER_MM)


def at_standstill(samples: Sequence[TruthSample]) -> bool:
    """Whether the last samples show every axis still (no trajectory, no travel)."""
    if not samples:
        return False
    last = samples[-1]
    return not any(last.moving)


def travel_mm(samples: Sequence[TruthSample], index: int) -> float:
    """How far axis ``index`` travelled over ``samples`` (max - min, mm)."""
    if not samples:
        return 0.0
    values = [s.positions_um[index] for s in samples]
    return (max(values) - min(values)) / _UM_PER_MM
