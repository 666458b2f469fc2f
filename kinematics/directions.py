"""Needle directions for batches of targets: given directly, from entry points, or the default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np

from kinematics.frames import as_points

if TYPE_CHECKING:
    from kinematics.types import Points

__all__ = ["MIN_ENTRY_TO_TARGET_MM", "resolve_directions"]

MIN_ENTRY_TO_TARGET_MM: Final = 1.0
"""An entry point closer than this to its target does not define a direction."""


def resolve_directions(
    targets_mm: Points,
    directions: Points | None,
    entries_mm: Points | None,
) -> tuple[Points, Points, Points | None]:
    """Return (targets (N, 3), unit directions (N, 3), entries (N, 3) or None).

    Without directions or entries the needle runs along the robot insertion axis ``+z``.

    Raises:
        ValueError: shapes differ, both directions and entries given, a zero direction, or an
            entry closer than `MIN_ENTRY_TO_TARGET_MM` to its target.
    """
    t = as_points(targets_mm, name="targets")
    n = t.shape[0]
    if directions is not None and entries_mm is not None:
        raise ValueError("give either needle directions or entry points, not both")
    if entries_mm is not None:
        e = as_points(entries_mm, name="entries")
        if e.shape != t.shape:
            raise ValueError(f"entries shape {e.shape} differs from targets shape {t.shape}")
        d = t - e
        length = np.linalg.norm(d, axis=1)
        if np.any(length < MIN_ENTRY_TO_TARGET_MM):
            worst = float(length.min())
            raise ValueError(
                f"an entry point is {worst:.3f} mm from its target; at least "
                f"{MIN_ENTRY_TO_TARGET_MM} mm is needed to define the needle direction"
            )
        return t, d / length[:, None], e
    if directions is None:
        return t, np.tile(np.array([0.0, 0.0, 1.0]), (n, 1)), None
    d = as_points(directions, name="directions")
    if d.shape != t.shape:
        raise ValueError(f"directions shape {d.shape} differs from targets shape {t.shape}")
    length = np.linalg.norm(d, axis=1)
    if np.any(length < 1e-12):  # noqa: PLR2004 - a zero vector has no direction
        raise ValueError("a needle direction is the zero vector")
    return t, d / length[:, None], None
