"""Z-frame pose from one slice or a small stack: identify the 7 rods, solve, refine, check.

Per slice: find 7 blobs, order them around their centroid, try every cyclic labelling (both
directions) whose faces are collinear with the diagonal blob between its parallel partners; the
diagonal fraction on each face gives that blob's point in Z-frame coordinates, three such points
give an initial pose (paired-point registration), and a least-squares fit of all blob points to
their rod axes refines it. The default frame is symmetric under a 180 degree turn about its y axis,
so the image alone fixes the pose only up to that turn: the labelling whose frame z axis points
along ``z_axis_hint_ras`` wins. Slices of a stack are fitted jointly; a stack slice that does not
show the frame cleanly is skipped and reported. Any doubt raises `ZFrameDetectionError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

from kinematics.errors import RegistrationError, ZFrameDetectionError
from kinematics.frames import as_vec3
from kinematics.registration import predicted_tre_mm, register_points
from kinematics.zframe_blobs import BlobSettings, find_blobs
from kinematics.zframe_geometry import ZFrameGeometry, default_zframe_geometry

if TYPE_CHECKING:
    import numpy.typing as npt

    from kinematics.types import FloatArray, IntArray, Points, Transform

__all__ = ["DetectorSettings", "ZFrameDetection", "detect_zframe"]

_N_RODS: Final = 7
_MAX_SLICES: Final = 16
_MIN_HINT_COSINE: Final = 0.5  # the frame z axis must be within 60 degrees of the hint
Triple = tuple[float, float, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectorSettings:
    """Acceptance limits of the detector.

    Attributes:
        zframe: the frame model.
        z_axis_hint_ras: expected direction of the frame's z axis in scanner RAS; picks one of the
            two mirror-symmetric poses and must be within 60 degrees of the result.
        max_rms_residual_mm: largest accepted RMS distance of blob points from their rod axes.
        max_residual_mm: largest accepted single distance.
        max_tilt_rad: largest accepted angle between the slice normal and the frame z axis.
        min_diagonal_fraction: a diagonal blob closer than this fraction of the face width to a
            parallel rod (slice near the frame's end, blobs may merge) is not used.
        max_collinearity_mm: largest off-line distance of a face's middle blob.
        min_contrast_sigma: see `BlobSettings`.
        max_blob_length_mm: see `BlobSettings`.
        max_signal_deviation: largest accepted relative deviation of a blob's tilt-corrected
            signal from the slice median (see `_check_blob_signals`).
    """

    zframe: ZFrameGeometry = field(default_factory=default_zframe_geometry)
    z_axis_hint_ras: Triple = (0.0, 0.0, 1.0)
    max_rms_residual_mm: float = 0.5
    max_residual_mm: float = 1.0
    max_tilt_rad: float = math.radians(30.0)
    min_diagonal_fraction: float = 0.15
    max_collinearity_mm: float = 3.0
    min_contrast_sigma: float = 8.0
    max_blob_length_mm: float = 22.0
    max_signal_deviation: float = 0.25

    def __post_init__(self) -> None:
        hint = as_vec3(self.z_axis_hint_ras, name="z_axis_hint_ras")
        if float(np.linalg.norm(hint)) < 1e-9:  # noqa: PLR2004 - zero vector
            raise ValueError("z_axis_hint_ras must not be the zero vector")
        positive = (
            self.max_rms_residual_mm,
            self.max_residual_mm,
            self.max_tilt_rad,
            self.max_collinearity_mm,
            self.min_contrast_sigma,
            self.max_blob_length_mm,
            self.max_signal_deviation,
        )
        if not all(math.isfinite(v) and v > 0.0 for v in positive):
            raise ValueError(f"detector limits must be finite and > 0, got {positive}")
        if not 0.0 <= self.min_diagonal_fraction < 0.5:  # noqa: PLR2004
            raise ValueError(
                f"min_diagonal_fraction must be in [0, 0.5), got {self.min_diagonal_fraction}"
            )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ZFrameDetection:
    """A detected Z-frame pose and the evidence for it.

    Attributes:
        T_scanner_from_zframe: pose of the frame in scanner RAS.
        points_ras_mm: (P, 3) blob centroids used, scanner RAS (7 per used slice).
        rod_index: (P,) the rod (0-6) each point was assigned to.
        residuals_mm: (P,) distance of each point from its rod axis under the pose.
        rms_residual_mm: RMS of ``residuals_mm``.
        slices_used: indices k of the slices used.
        slices_skipped: (k, reason) of stack slices that were not used.
        tilt_rad: angle between the slice normal and the frame z axis.
        points_zframe_mm: (P, 3) the foot of each point on its rod axis, Z-frame coordinates.
        fle_estimate_mm: RMS 3-D localisation error estimated from the residuals, which see only
            the two components across each rod: ``rms_residual_mm * sqrt(3 / 2)`` (approx.).
    """

    T_scanner_from_zframe: Transform
    points_ras_mm: Points
    rod_index: IntArray
    residuals_mm: FloatArray
    rms_residual_mm: float
    slices_used: tuple[int, ...]
    slices_skipped: tuple[tuple[int, str], ...]
    tilt_rad: float
    points_zframe_mm: Points
    fle_estimate_mm: float

    def predicted_tre_mm(self, target_ras_mm: npt.ArrayLike) -> float:
        """Predict the RMS registration error at a target (Fitzpatrick 1998, see registration).

        Raises:
            ValueError: the target is not a finite 3-vector.
        """
        target = as_vec3(target_ras_mm, name="target_ras_mm")
        tf = self.T_scanner_from_zframe
        target_zframe = (target - tf[:3, 3]) @ tf[:3, :3]
        return float(
            predicted_tre_mm(self.points_zframe_mm, target_zframe, self.fle_estimate_mm)[0]
        )


def _validate(image: npt.ArrayLike, ijk_to_ras: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    arr = np.asarray(image)
    if arr.dtype.kind not in "iuf":
        raise ZFrameDetectionError(
            "dtype", f"image dtype {arr.dtype} is not a real-valued integer or float type"
        )
    if arr.ndim == 2:  # noqa: PLR2004
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] > _MAX_SLICES or min(arr.shape[1:]) < 16:  # noqa: PLR2004
        raise ZFrameDetectionError(
            "shape",
            f"image shape {np.shape(image)} is not one slice (j, i) or a stack (k <= "
            f"{_MAX_SLICES}, j, i) of at least 16 x 16 pixels",
        )
    data = arr.astype(np.float64)
    if not np.all(np.isfinite(data)):
        raise ZFrameDetectionError("non_finite", "image contains NaN or infinite values")
    affine = np.asarray(ijk_to_ras, dtype=np.float64)
    if (
        affine.shape != (4, 4)
        or not np.all(np.isfinite(affine))
        or not np.allclose(affine[3], [0, 0, 0, 1])
    ):
        raise ZFrameDetectionError(
            "ijk_to_ras", f"IJK-to-RAS must be a finite affine 4x4, got {affine.tolist()}"
        )
    col_i, col_j, col_k = affine[:3, 0], affine[:3, 1], affine[:3, 2]
    ni, nj = np.linalg.norm(col_i), np.linalg.norm(col_j)
    if (
        min(ni, nj, np.linalg.norm(col_k)) <= 0.0
        or abs(ni - nj) > 1e-4 * ni
        or abs(col_i @ col_j) > 1e-4 * ni * nj
    ):
        raise ZFrameDetectionError(
            "ijk_to_ras", "IJK-to-RAS must have square pixels with orthogonal i and j directions"
        )
    return data, affine


def _rod_distances(
    tf: Transform, points: Points, rods: IntArray, frame: ZFrameGeometry
) -> FloatArray:
    q = (points - tf[:3, 3]) @ tf[:3, :3]
    w = q - frame.starts_mm()[rods]
    d = frame.directions()[rods]
    return np.asarray(w - np.einsum("ij,ij->i", w, d)[:, None] * d)


def _refine(tf0: Transform, points: Points, rods: IntArray, frame: ZFrameGeometry) -> Transform:
    def pose(x: FloatArray) -> Transform:
        tf = np.eye(4)
        tf[:3, :3] = Rotation.from_rotvec(x[:3]).as_matrix() @ tf0[:3, :3]
        tf[:3, 3] = tf0[:3, 3] + x[3:]
        return tf

    def residuals(x: FloatArray) -> FloatArray:
        return _rod_distances(pose(x), points, rods, frame).ravel()

    fit = least_squares(residuals, np.zeros(6), method="lm", xtol=1e-12, ftol=1e-12)
    return pose(fit.x)


def _labellings(uv: FloatArray) -> list[IntArray]:
    angles = np.arctan2(*(uv - uv.mean(axis=0)).T[::-1])
    ring = np.argsort(angles)
    steps = np.arange(_N_RODS)
    return [ring[(start + sign * steps) % _N_RODS] for start in range(_N_RODS) for sign in (1, -1)]


def _solve_slice(
    points: Points, normal: FloatArray, s: DetectorSettings
) -> tuple[Transform, IntArray, FloatArray]:
    """Return (pose, rod of each point, per-face diagonal fraction) for one slice's 7 points."""
    frame = s.zframe
    hint = np.asarray(s.z_axis_hint_ras) / np.linalg.norm(s.z_axis_hint_ras)
    basis_u = np.cross(normal, [1.0, 0.0, 0.0] if abs(normal[0]) < 0.9 else [0.0, 1.0, 0.0])  # noqa: PLR2004
    basis_u /= np.linalg.norm(basis_u)
    uv = np.column_stack([points @ basis_u, points @ np.cross(normal, basis_u)])
    best: tuple[float, Transform, IntArray, FloatArray] | None = None
    twin_only = False
    for order in _labellings(uv):
        p = points[order]  # p[r] is the point of rod r under this labelling
        fractions, diag_frame = [], []
        ok = True
        for a, dg, c in frame.faces:
            span = p[c] - p[a]
            frac = float((p[dg] - p[a]) @ span / (span @ span))
            off = float(np.linalg.norm(np.cross(span, p[dg] - p[a])) / np.linalg.norm(span))
            if not (0.0 < frac < 1.0) or off > s.max_collinearity_mm:
                ok = False
                break
            fractions.append(frac)
            rod = frame.rods[dg]
            diag_frame.append(
                np.array(rod.start_mm) + frac * (np.array(rod.end_mm) - np.array(rod.start_mm))
            )
        if not ok:
            continue
        try:
            tf0 = register_points(
                np.array(diag_frame), p[[f[1] for f in frame.faces]]
            ).T_fixed_from_moving
        except RegistrationError:
            continue
        if float(tf0[:3, 2] @ hint) < _MIN_HINT_COSINE:
            twin_only = True  # the mirror-symmetric twin, or too far from the hint to tell
            continue
        rods = np.empty(_N_RODS, dtype=np.int64)
        rods[order] = np.arange(_N_RODS)
        tf = _refine(tf0, points, rods, frame)
        rms = float(np.sqrt(np.mean(np.sum(_rod_distances(tf, points, rods, frame) ** 2, axis=1))))
        if best is None or rms < best[0]:
            best = (rms, tf, rods, np.array(fractions))
    if best is None and twin_only:
        raise ZFrameDetectionError(
            "orientation_hint",
            "the blobs fit the frame only with its z axis more than 60 deg from z_axis_hint_ras: "
            "the mirror-symmetric poses cannot be told apart; check the hint",
        )
    if best is None:
        raise ZFrameDetectionError(
            "geometry",
            "no assignment of the 7 blobs to the rods puts each diagonal blob between its two "
            f"parallel partners within {s.max_collinearity_mm} mm: not the configured Z-frame",
        )
    return best[1], best[2], best[3]


def _slice_points(
    image: FloatArray, affine: FloatArray, k: int, s: DetectorSettings
) -> tuple[Points, Transform, IntArray]:
    pixel_mm = float(np.linalg.norm(affine[:3, 0]))
    settings = BlobSettings(
        rod_radius_mm=s.zframe.rod_radius_mm,
        min_contrast_sigma=s.min_contrast_sigma,
        max_blob_length_mm=s.max_blob_length_mm,
    )
    blobs = find_blobs(image, pixel_mm, settings)
    if len(blobs) != _N_RODS:
        raise ZFrameDetectionError(
            "blob_count",
            f"found {len(blobs)} rod-sized bright blobs, expected {_N_RODS}: "
            + (
                "a rod is outside the field of view or slab, or two blobs merged"
                if len(blobs) < _N_RODS
                else "a bright structure other than a rod is in the slice"
            ),
        )
    ij = np.array([b.centroid_ij for b in blobs])
    ijk1 = np.column_stack([ij, np.full(len(ij), float(k)), np.ones(len(ij))])
    points = (ijk1 @ affine.T)[:, :3]
    normal = np.cross(affine[:3, 0], affine[:3, 1])
    normal /= np.linalg.norm(normal)
    tf, rods, fractions = _solve_slice(points, normal, s)
    low = float(np.min(np.minimum(fractions, 1.0 - fractions)))
    if low < s.min_diagonal_fraction:
        raise ZFrameDetectionError(
            "frame_end",
            f"a diagonal blob sits at {low:.2f} of the face width from a parallel rod (minimum "
            f"{s.min_diagonal_fraction:.2f}): the slice is too near the end of the frame",
        )
    _check_blob_signals(np.array([b.signal_mm2 for b in blobs]), rods, tf, normal, s)
    return points, tf, rods


def _check_blob_signals(
    signal_mm2: FloatArray, rods: IntArray, tf: Transform, normal: FloatArray, s: DetectorSettings
) -> None:
    """Refuse a slice whose blobs do not carry the signal their rods' tilt predicts.

    A rod crossing the slab at angle theta to the slice normal puts ``pi r^2 / cos(theta)`` of
    full-intensity area into the image; a blob partly hidden, merged with another structure, or
    not a rod at all breaks that proportion (and would bias its centroid).
    """
    cosines = np.abs(s.zframe.directions()[rods] @ tf[:3, :3].T @ normal)
    normalised = signal_mm2 * cosines
    reference = float(np.median(normalised))
    deviation = normalised / reference - 1.0
    worst = int(np.argmax(np.abs(deviation)))
    if abs(float(deviation[worst])) > s.max_signal_deviation:
        share = 100.0 * (1.0 + float(deviation[worst]))
        raise ZFrameDetectionError(
            "blob_signal",
            f"the blob of rod {int(rods[worst]) + 1} carries {share:.0f} % of the signal its tilt "
            f"predicts (tolerance +-{100.0 * s.max_signal_deviation:.0f} %): it is partly "
            "hidden, merged with another structure, or not a rod",
        )


def detect_zframe(
    image: npt.ArrayLike, ijk_to_ras: npt.ArrayLike, settings: DetectorSettings | None = None
) -> ZFrameDetection:
    """Detect the Z-frame pose in scanner RAS from one slice ``(j, i)`` or a stack ``(k, j, i)``.

    Raises:
        ZFrameDetectionError: the image does not support a pose; ``reason`` says why
            (``dtype``, ``shape``, ``non_finite``, ``ijk_to_ras``, ``constant_image``,
            ``no_signal``, ``field_of_view``, ``slice_orientation``, ``blob_count``,
            ``geometry``, ``frame_end``, ``blob_signal``, ``residual``, ``orientation_hint``,
            ``rod_extent``,
            or ``no_usable_slice`` for a stack).
    """
    s = DetectorSettings() if settings is None else settings
    data, affine = _validate(image, ijk_to_ras)
    found: list[tuple[int, Points, Transform, IntArray]] = []
    skipped: list[tuple[int, str]] = []
    errors: list[ZFrameDetectionError] = []
    for k in range(data.shape[0]):
        try:
            points, tf, rods = _slice_points(data[k], affine, k, s)
        except ZFrameDetectionError as err:
            if data.shape[0] == 1:
                raise
            skipped.append((k, err.reason))
            errors.append(err)
            continue
        found.append((k, points, tf, rods))
    if not found:
        detail = "; ".join(
            f"slice {k}: {e.detail}" for (k, _), e in zip(skipped, errors, strict=True)
        )
        raise ZFrameDetectionError("no_usable_slice", detail)
    points = np.vstack([f[1] for f in found])
    rods = np.concatenate([f[3] for f in found])
    tf = _refine(found[len(found) // 2][2], points, rods, s.zframe)
    return _checked(tf, points, rods, affine, s, tuple(f[0] for f in found), tuple(skipped))


def _checked(
    tf: Transform,
    points: Points,
    rods: IntArray,
    affine: FloatArray,
    s: DetectorSettings,
    used: tuple[int, ...],
    skipped: tuple[tuple[int, str], ...],
) -> ZFrameDetection:
    frame = s.zframe
    residuals = np.linalg.norm(_rod_distances(tf, points, rods, frame), axis=1)
    rms = float(np.sqrt(np.mean(residuals**2)))
    if rms > s.max_rms_residual_mm or float(residuals.max()) > s.max_residual_mm:
        raise ZFrameDetectionError(
            "residual",
            f"blob points lie {rms:.2f} mm RMS (worst {residuals.max():.2f} mm) from their rod "
            f"axes; limits {s.max_rms_residual_mm} mm RMS, {s.max_residual_mm} mm: a bright "
            "structure is not a rod or the frame model is wrong",
        )
    z_axis = tf[:3, 2]
    hint = np.asarray(s.z_axis_hint_ras) / np.linalg.norm(s.z_axis_hint_ras)
    if float(z_axis @ hint) < _MIN_HINT_COSINE:
        angle = math.degrees(math.acos(float(np.clip(z_axis @ hint, -1.0, 1.0))))
        raise ZFrameDetectionError(
            "orientation_hint",
            f"frame z axis is {angle:.1f} deg from the expected direction; over 60 deg the "
            "mirror-symmetric poses cannot be told apart",
        )
    normal = np.cross(affine[:3, 0], affine[:3, 1])
    normal /= np.linalg.norm(normal)
    tilt = math.acos(min(abs(float(normal @ z_axis)), 1.0))
    if tilt > s.max_tilt_rad:
        raise ZFrameDetectionError(
            "slice_orientation",
            f"slice normal is {math.degrees(tilt):.1f} deg from the rods (limit "
            f"{math.degrees(s.max_tilt_rad):.1f} deg)",
        )
    q = (points - tf[:3, 3]) @ tf[:3, :3]
    along = np.einsum("ij,ij->i", q - frame.starts_mm()[rods], frame.directions()[rods])
    margin = frame.rod_radius_mm
    if np.any(along < -margin) or np.any(along > frame.lengths_mm()[rods] + margin):
        raise ZFrameDetectionError(
            "rod_extent",
            "a blob lies beyond the end of its rod: the slice misses part of the frame",
        )
    feet = frame.starts_mm()[rods] + along[:, None] * frame.directions()[rods]
    return ZFrameDetection(
        T_scanner_from_zframe=tf,
        points_ras_mm=points,
        rod_index=rods,
        residuals_mm=residuals,
        rms_residual_mm=rms,
        slices_used=used,
        slices_skipped=skipped,
        tilt_rad=tilt,
        points_zframe_mm=feet,
        fle_estimate_mm=rms * math.sqrt(1.5),
    )
