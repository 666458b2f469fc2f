"""Exception tree of ``kinematics``: every error this package raises on bad geometry or images."""

from __future__ import annotations

__all__ = [
    "KinematicsError",
    "NotRigidError",
    "RegistrationError",
    "ZFrameDetectionError",
]


class KinematicsError(Exception):
    """Base of every error raised by ``kinematics`` for geometry it cannot accept."""


class NotRigidError(KinematicsError, ValueError):
    """A 4x4 matrix is not a rigid transform.

    Attributes:
        deviation: the measured deviation from rigid (Frobenius norm of ``R^T R - I``, or
            ``inf`` for non-finite input, or the bottom-row error); unitless.
        tolerance: the tolerance it was checked against.
        reason: what is wrong, in words.
    """

    def __init__(self, reason: str, *, deviation: float, tolerance: float) -> None:
        super().__init__(
            f"not a rigid transform: {reason} (deviation {deviation:.3g}, "
            f"tolerance {tolerance:.3g})"
        )
        self.reason = reason
        self.deviation = deviation
        self.tolerance = tolerance


class RegistrationError(KinematicsError):
    """Paired points do not determine a rigid registration (too few, collinear, mismatched)."""


class ZFrameDetectionError(KinematicsError):
    """A Z-frame image does not support a pose.

    Attributes:
        reason: a short machine-readable reason (``blob_count``, ``field_of_view``, ...).
        detail: the human-readable explanation with values and units.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"Z-frame detection failed ({reason}): {detail}")
        self.reason = reason
        self.detail = detail
