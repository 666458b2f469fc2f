"""Paired-point rigid registration (Arun/Umeyama, no scale), FRE, predicted TRE, outlier check.

``register_points(moving, fixed)`` returns ``T_fixed_from_moving``: the rigid transform mapping the
moving points onto the fixed ones in the least-squares sense, with the reflection fix of Umeyama
(1991). TRE prediction follows Fitzpatrick, West and Maurer (IEEE TMI 1998) for isotropic FLE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

from kinematics.errors import RegistrationError
from kinematics.frames import as_points

if TYPE_CHECKING:
    import numpy.typing as npt

    from kinematics.types import FloatArray, IntArray, Points, Transform

__all__ = [
    "MIN_SPREAD_MM",
    "OutlierReport",
    "RigidRegistration",
    "expected_fre_mm",
    "find_outliers",
    "leave_one_out_residuals_mm",
    "predicted_tre_mm",
    "register_points",
]

MIN_SPREAD_MM: Final = 1e-3
"""Smallest accepted second principal spread (RMS mm) of a point set: less is collinear."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RigidRegistration:
    """Result of a paired-point registration.

    Attributes:
        T_fixed_from_moving: maps moving-frame points onto the fixed frame (mm).
        residuals_mm: (N,) distance of each mapped moving point from its fixed partner.
        fre_mm: fiducial registration error, the RMS of ``residuals_mm``.
    """

    T_fixed_from_moving: Transform
    residuals_mm: FloatArray
    fre_mm: float


def _pair(moving_mm: npt.ArrayLike, fixed_mm: npt.ArrayLike, minimum: int) -> tuple[Points, Points]:
    moving = as_points(moving_mm, name="moving points")
    fixed = as_points(fixed_mm, name="fixed points")
    if moving.shape != fixed.shape:
        raise RegistrationError(
            f"paired points differ in number: {moving.shape[0]} moving, {fixed.shape[0]} fixed"
        )
    if moving.shape[0] < minimum:
        raise RegistrationError(f"need at least {minimum} paired points, got {moving.shape[0]}")
    for label, pts in (("moving", moving), ("fixed", fixed)):
        spread = np.linalg.svd(pts - pts.mean(axis=0), compute_uv=False) / math.sqrt(len(pts))
        if spread[1] < MIN_SPREAD_MM:
            raise RegistrationError(
                f"{label} points are collinear (second principal spread {spread[1]:.3g} mm < "
                f"{MIN_SPREAD_MM} mm); a rigid registration needs 3 non-collinear points"
            )
    return moving, fixed


def _fit(moving: Points, fixed: Points) -> Transform:
    mu_m, mu_f = moving.mean(axis=0), fixed.mean(axis=0)
    cross_cov = (moving - mu_m).T @ (fixed - mu_f)
    u_mat, _, vt_mat = np.linalg.svd(cross_cov)
    v_mat = vt_mat.T
    fix = np.diag([1.0, 1.0, float(np.sign(np.linalg.det(v_mat @ u_mat.T))) or 1.0])
    rot = v_mat @ fix @ u_mat.T
    tf = np.eye(4)
    tf[:3, :3] = rot
    tf[:3, 3] = mu_f - rot @ mu_m
    return tf


def register_points(moving_mm: npt.ArrayLike, fixed_mm: npt.ArrayLike) -> RigidRegistration:
    """Fit ``T_fixed_from_moving`` to paired points (N, 3), closed form, rigid (no scale).

    Raises:
        ValueError: bad shapes or non-finite points.
        RegistrationError: fewer than 3 pairs, unequal counts, or collinear points.
    """
    moving, fixed = _pair(moving_mm, fixed_mm, 3)
    tf = _fit(moving, fixed)
    residuals = np.linalg.norm(moving @ tf[:3, :3].T + tf[:3, 3] - fixed, axis=1)
    return RigidRegistration(
        T_fixed_from_moving=tf,
        residuals_mm=residuals,
        fre_mm=float(np.sqrt(np.mean(residuals**2))),
    )


def expected_fre_mm(n_fiducials: int, fle_mm: float) -> float:
    """Return the expected FRE for N fiducials and RMS FLE: ``sqrt(1 - 2/N) * FLE``.

    Raises:
        ValueError: fewer than 3 fiducials or negative FLE.
    """
    if n_fiducials < 3 or not (math.isfinite(fle_mm) and fle_mm >= 0.0):  # noqa: PLR2004
        raise ValueError(f"need N >= 3 and FLE >= 0 mm, got N={n_fiducials}, FLE={fle_mm} mm")
    return math.sqrt(1.0 - 2.0 / n_fiducials) * fle_mm


def predicted_tre_mm(
    fiducials_mm: npt.ArrayLike, targets_mm: npt.ArrayLike, fle_mm: float
) -> FloatArray:
    """Predict the RMS target registration error at each target (M,), Fitzpatrick 1998.

    ``TRE^2 = FLE^2 / N * (1 + 1/3 * sum_k d_k^2 / f_k^2)``, with ``d_k`` the distance of the target
    from principal axis ``k`` of the fiducials and ``f_k`` the RMS distance of the fiducials from
    that axis. Fiducials and targets must be in the same frame.

    Raises:
        ValueError: bad shapes or a negative FLE.
        RegistrationError: fewer than 3 fiducials or collinear fiducials.
    """
    if not (math.isfinite(fle_mm) and fle_mm >= 0.0):
        raise ValueError(f"FLE must be >= 0 mm, got {fle_mm}")
    fid, _ = _pair(fiducials_mm, fiducials_mm, 3)
    targets = as_points(targets_mm, name="targets")
    centre = fid.mean(axis=0)
    p = fid - centre
    r = targets - centre
    _, _, axes = np.linalg.svd(p)  # rows: principal axes
    along_p = p @ axes.T
    along_r = r @ axes.T
    f2 = np.mean(np.sum(p**2, axis=1)[:, None] - along_p**2, axis=0)  # (3,)
    d2 = np.sum(r**2, axis=1)[:, None] - along_r**2  # (M, 3)
    ratio = np.sum(d2 / f2[None], axis=1)
    return np.asarray(np.sqrt(fle_mm**2 / len(fid) * (1.0 + ratio / 3.0)))


def leave_one_out_residuals_mm(moving_mm: npt.ArrayLike, fixed_mm: npt.ArrayLike) -> FloatArray:
    """Return (N,): residual of each pair when the registration is fitted without it.

    Raises:
        RegistrationError: fewer than 4 pairs, or a subset that is collinear.
    """
    moving, fixed = _pair(moving_mm, fixed_mm, 4)
    out = np.empty(len(moving))
    for i in range(len(moving)):  # N is a handful of fiducials; N fits of 3x3 SVDs.
        keep = np.arange(len(moving)) != i
        sub_m, sub_f = _pair(moving[keep], fixed[keep], 3)
        tf = _fit(sub_m, sub_f)
        out[i] = float(np.linalg.norm(tf[:3, :3] @ moving[i] + tf[:3, 3] - fixed[i]))
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class OutlierReport:
    """Leave-one-out check of every fiducial.

    Attributes:
        loo_residuals_mm: (N,) residual of each fiducial left out of a fit to the others
            (outliers already found are left out of every fit).
        expected_mm: (N,) RMS residual expected for a good fiducial, ``sqrt(FLE^2 + TRE_i^2)``.
        outliers: indices of rejected fiducials, in the order they were found (worst first).
        factor: the threshold factor used.
    """

    loo_residuals_mm: FloatArray
    expected_mm: FloatArray
    outliers: IntArray
    factor: float


def _loo_scores(
    moving: Points, fixed: Points, kept: IntArray, fle_mm: float
) -> tuple[FloatArray, FloatArray]:
    loo = np.full(len(moving), np.nan)
    expected = np.full(len(moving), np.nan)
    for i in range(len(moving)):
        others = kept[kept != i]
        sub_m, sub_f = _pair(moving[others], fixed[others], 3)
        tf = _fit(sub_m, sub_f)
        loo[i] = float(np.linalg.norm(tf[:3, :3] @ moving[i] + tf[:3, 3] - fixed[i]))
        tre = predicted_tre_mm(sub_m, moving[i], fle_mm)[0]
        expected[i] = math.sqrt(fle_mm**2 + tre**2)
    return loo, expected


_MIN_TO_ISOLATE: Final = 4
"""With this many fiducials left, leaving one out leaves a fit without redundancy."""


def _not_isolated(
    worst: int,
    loo: FloatArray,
    expected: FloatArray,
    factor: float,
    remaining: int,
    rejected: list[int],
) -> str:
    already = f" after rejecting fiducials {rejected}" if rejected else ""
    return (
        f"an outlier is evident among the {remaining} remaining fiducials{already} but cannot "
        f"be isolated: the worst leave-one-out residual (fiducial {worst}) is "
        f"{loo[worst]:.2f} mm, {loo[worst] / expected[worst]:.1f} times the expected "
        f"{expected[worst]:.2f} mm (factor {factor:g}), and with {remaining} fiducials each fit "
        f"of 3 may contain the bad one, so which fiducial is wrong is unknown; re-localise the "
        f"fiducials or use more"
    )


def find_outliers(
    moving_mm: npt.ArrayLike, fixed_mm: npt.ArrayLike, *, fle_mm: float, factor: float = 3.0
) -> OutlierReport:
    """Find fiducials whose leave-one-out residual is implausible for the given FLE.

    The worst fiducial above ``factor`` times its expected residual is rejected and the check is
    repeated on the rest (a bad fiducial also spoils the fits that leave out a good one), while
    more than 4 fiducials remain. With 4 left, each fit uses 3 points and has no redundancy, so
    a bad fiducial spoils every fit and cannot be told apart: a score above ``factor`` then
    raises instead of reporting no outlier.

    Args:
        moving_mm: (N, 3) fiducials in the moving frame, N >= 4.
        fixed_mm: (N, 3) the same fiducials in the fixed frame.
        fle_mm: RMS fiducial localisation error expected for a good fiducial (> 0).
        factor: how many times the expected RMS residual counts as an outlier.

    Raises:
        ValueError: non-positive FLE or factor.
        RegistrationError: fewer than 4 pairs, degenerate subsets, or an outlier is evident
            among the last 4 fiducials but cannot be isolated (re-localise them or add more).
    """
    if not (math.isfinite(fle_mm) and fle_mm > 0.0 and math.isfinite(factor) and factor > 0.0):
        raise ValueError(f"fle_mm and factor must be > 0, got {fle_mm} mm and {factor}")
    moving, fixed = _pair(moving_mm, fixed_mm, 4)
    kept = np.arange(len(moving), dtype=np.int64)
    rejected: list[int] = []
    while True:
        loo, expected = _loo_scores(moving, fixed, kept, fle_mm)
        score = np.where(np.isin(np.arange(len(moving)), kept), loo / expected, -np.inf)
        worst = int(np.argmax(score))
        if score[worst] <= factor:
            break
        if len(kept) <= _MIN_TO_ISOLATE:
            detail = _not_isolated(worst, loo, expected, factor, len(kept), rejected)
            raise RegistrationError(detail)
        rejected.append(worst)
        kept = kept[kept != worst]
    return OutlierReport(
        loo_residuals_mm=loo,
        expected_mm=expected,
        outliers=np.array(rejected, dtype=np.int64),
        factor=factor,
    )
