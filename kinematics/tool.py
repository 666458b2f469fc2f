"""The tool carried by the guide: a needle or a bone drill, with its length and tip offset."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

__all__ = ["ToolKind", "ToolModel", "default_bone_drill", "default_needle"]


class ToolKind(enum.Enum):
    """What the guide carries."""

    NEEDLE = "needle"
    BONE_DRILL = "bone_drill"


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolModel:
    """A straight tool advanced along the needle axis.

    Attributes:
        kind: needle or bone drill.
        length_mm: shaft length from the hub stop to the physical tip.
        tip_offset_mm: signed distance along the tool axis from the physical tip to the point that
            is placed on the target (negative: behind the tip, e.g. the centre of a biopsy notch or
            an ablation zone; zero: the tip itself).
        diameter_mm: outer diameter, for display and collision margins.
    """

    kind: ToolKind
    length_mm: float
    tip_offset_mm: float = 0.0
    diameter_mm: float = 2.1

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ToolKind):
            raise TypeError(f"tool kind must be a ToolKind, got {self.kind!r}")
        for name in ("length_mm", "tip_offset_mm", "diameter_mm"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"tool {name} must be finite, got {getattr(self, name)}")
        if self.length_mm <= 0.0:
            raise ValueError(f"tool length_mm must be > 0 mm, got {self.length_mm} mm")
        if self.diameter_mm <= 0.0:
            raise ValueError(f"tool diameter_mm must be > 0 mm, got {self.diameter_mm} mm")
        if abs(self.tip_offset_mm) >= self.length_mm:
            raise ValueError(
                f"tool tip_offset_mm {self.tip_offset_mm} mm must be shorter than the tool "
                f"({self.length_mm} mm)"
            )


def default_needle() -> ToolModel:
    """Return a 220 mm, 14 G (2.1 mm) bone-biopsy needle aimed with its tip."""
    return ToolModel(kind=ToolKind.NEEDLE, length_mm=220.0, tip_offset_mm=0.0, diameter_mm=2.1)


def default_bone_drill() -> ToolModel:
    """Return a 200 mm, 3 mm MR-compatible drill aimed 1.5 mm behind its cutting point."""
    return ToolModel(kind=ToolKind.BONE_DRILL, length_mm=200.0, tip_offset_mm=-1.5, diameter_mm=3.0)
