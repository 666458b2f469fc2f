"""Z-frame fiducial geometry as a configuration value, and mrbot's default 7-rod frame.

Rods are straight segments in Z-frame coordinates (mm). They are listed in the cyclic order in
which a slice across the frame meets them; each face is three consecutive rods ``(parallel,
diagonal, parallel)`` and the diagonal runs from a point on the first parallel rod's line to a
point on the second's. See docs/DOMAIN_NUMBERS.md section 5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kinematics.frames import as_vec3

__all__ = ["Rod", "ZFrameGeometry", "default_zframe_geometry"]

Triple = tuple[float, float, float]
_N_RODS = 7
_FACES = ((0, 1, 2), (2, 3, 4), (4, 5, 6))
_ON_LINE_TOLERANCE_MM = 1e-6


@dataclass(frozen=True, slots=True, kw_only=True)
class Rod:
    """One liquid-filled rod: a straight segment between two points in Z-frame mm."""

    start_mm: Triple
    end_mm: Triple

    def __post_init__(self) -> None:
        a = as_vec3(self.start_mm, name="rod start_mm")
        b = as_vec3(self.end_mm, name="rod end_mm")
        if float(np.linalg.norm(b - a)) < 1.0:
            raise ValueError(f"rod from {self.start_mm} to {self.end_mm} is shorter than 1 mm")


def _distance_to_line(p: np.ndarray, a: np.ndarray, d: np.ndarray) -> float:
    w = p - a
    return float(np.linalg.norm(w - (w @ d) * d))


@dataclass(frozen=True, slots=True, kw_only=True)
class ZFrameGeometry:
    """A 7-rod Z-frame.

    Attributes:
        name: model name for logs.
        rods: seven rods in slice order: P D P D P D P (P parallel to the frame z axis).
        rod_radius_mm: radius of the bright liquid core of every rod.
    """

    name: str
    rods: tuple[Rod, ...]
    rod_radius_mm: float

    def __post_init__(self) -> None:
        if len(self.rods) != _N_RODS:
            raise ValueError(f"a Z-frame has {_N_RODS} rods, got {len(self.rods)}")
        if not (math.isfinite(self.rod_radius_mm) and self.rod_radius_mm > 0.0):
            raise ValueError(f"rod_radius_mm must be > 0 mm, got {self.rod_radius_mm}")
        starts, dirs = self.starts_mm(), self.directions()
        z = np.array([0.0, 0.0, 1.0])
        for index in (0, 2, 4, 6):
            if abs(float(dirs[index] @ z)) < 1.0 - 1e-9:
                raise ValueError(f"rod {index + 1} must be parallel to the frame z axis")
        for first, diagonal, last in _FACES:
            for end, rod in (
                (self.rods[diagonal].start_mm, first),
                (self.rods[diagonal].end_mm, last),
            ):
                gap = _distance_to_line(np.array(end), starts[rod], dirs[rod])
                if gap > _ON_LINE_TOLERANCE_MM:
                    raise ValueError(
                        f"diagonal rod {diagonal + 1} must end on the line of rod {rod + 1} "
                        f"(off by {gap:.3g} mm)"
                    )
            if abs(float(dirs[diagonal] @ z)) > math.cos(math.radians(10.0)):
                raise ValueError(f"rod {diagonal + 1} is within 10 degrees of the z axis")

    @property
    def faces(self) -> tuple[tuple[int, int, int], ...]:
        """Rod indices of the three faces: (parallel, diagonal, parallel)."""
        return _FACES

    def starts_mm(self) -> np.ndarray:
        """Return (7, 3) rod start points."""
        return np.array([r.start_mm for r in self.rods], dtype=np.float64)

    def ends_mm(self) -> np.ndarray:
        """Return (7, 3) rod end points."""
        return np.array([r.end_mm for r in self.rods], dtype=np.float64)

    def lengths_mm(self) -> np.ndarray:
        """Return (7,) rod lengths."""
        return np.asarray(np.linalg.norm(self.ends_mm() - self.starts_mm(), axis=1))

    def directions(self) -> np.ndarray:
        """Return (7, 3) unit directions start -> end."""
        return np.asarray((self.ends_mm() - self.starts_mm()) / self.lengths_mm()[:, None])


def default_zframe_geometry() -> ZFrameGeometry:
    """Return mrbot's default Z-frame (DOMAIN_NUMBERS.md 5): 60 mm cube, 2.0 mm rod radius."""
    h = 30.0
    table = (
        ((-h, -h, -h), (-h, -h, h)),
        ((-h, -h, -h), (-h, h, h)),
        ((-h, h, -h), (-h, h, h)),
        ((-h, h, -h), (h, h, h)),
        ((h, h, -h), (h, h, h)),
        ((h, h, -h), (h, -h, h)),
        ((h, -h, -h), (h, -h, h)),
    )
    return ZFrameGeometry(
        name="mrbot-z7-60mm",
        rods=tuple(Rod(start_mm=a, end_mm=b) for a, b in table),
        rod_radius_mm=2.0,
    )
