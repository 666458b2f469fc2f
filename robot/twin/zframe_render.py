"""Synthetic MR slices of the Z-frame: partial volume, pixel footprint, Rician noise.

A voxel's value is the fraction of its volume filled by rod liquid: for each of ``S x S``
sub-pixel positions the chord of the slice-normal ray through the slab that lies inside a rod,
divided by the slab thickness, averaged (the pixel footprint). Magnitude images get Rician noise
(complex Gaussian of sigma = signal / SNR, then the modulus) and are stored as uint16 with the
full-voxel signal at `SIGNAL_COUNTS`, as a scanner would.

Arrays are indexed ``[k, j, i]`` (i fastest), and ``ijk_to_ras`` maps ``(i, j, k, 1)`` to RAS mm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

from kinematics.frames import as_vec3, check_transform
from kinematics.zframe_geometry import ZFrameGeometry, default_zframe_geometry

if TYPE_CHECKING:
    import numpy.typing as npt

    from kinematics.types import FloatArray, Transform

__all__ = ["SIGNAL_COUNTS", "RenderedImage", "SliceGeometry", "axial_slices", "render_zframe"]

SIGNAL_COUNTS: Final = 1000.0
"""Stored value of a voxel completely filled with rod liquid."""

_SUBSAMPLES: Final = 8
Triple = tuple[float, float, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class SliceGeometry:
    """Where and how the scanner samples: a stack of parallel slices.

    Attributes:
        centre_ras_mm: centre of the stack.
        row_direction_ras: unit direction of increasing i (along a row).
        column_direction_ras: unit direction of increasing j; orthogonal to the rows.
        pixel_mm: in-plane pixel size (square pixels).
        thickness_mm: slab thickness of each slice.
        matrix: (columns ni, rows nj).
        n_slices: number of slices; they are spaced ``spacing_mm`` apart along i x j.
        spacing_mm: centre-to-centre slice distance; defaults to the thickness.
    """

    centre_ras_mm: Triple
    row_direction_ras: Triple
    column_direction_ras: Triple
    pixel_mm: float
    thickness_mm: float
    matrix: tuple[int, int]
    n_slices: int = 1
    spacing_mm: float | None = None

    def __post_init__(self) -> None:
        as_vec3(self.centre_ras_mm, name="centre_ras_mm")
        row = as_vec3(self.row_direction_ras, name="row_direction_ras")
        col = as_vec3(self.column_direction_ras, name="column_direction_ras")
        if abs(np.linalg.norm(row) - 1.0) > 1e-6 or abs(np.linalg.norm(col) - 1.0) > 1e-6:  # noqa: PLR2004
            raise ValueError("row and column directions must be unit vectors")
        if abs(float(row @ col)) > 1e-6:  # noqa: PLR2004
            raise ValueError(f"row and column directions must be orthogonal (dot {row @ col:.3g})")
        for name in ("pixel_mm", "thickness_mm"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"{name} must be > 0 mm, got {value}")
        if self.spacing_mm is not None and not (
            math.isfinite(self.spacing_mm) and self.spacing_mm > 0
        ):
            raise ValueError(f"spacing_mm must be > 0 mm, got {self.spacing_mm}")
        if min(self.matrix) < 8 or self.n_slices < 1:  # noqa: PLR2004
            raise ValueError(
                f"matrix sizes must be >= 8 and n_slices >= 1, got {self.matrix}, {self.n_slices}"
            )

    @property
    def normal_ras(self) -> FloatArray:
        """Unit slice normal, row x column."""
        return np.cross(np.array(self.row_direction_ras), np.array(self.column_direction_ras))

    def ijk_to_ras(self) -> Transform:
        """Return the 4x4 mapping voxel indices ``(i, j, k, 1)`` to RAS mm (not rigid: spacing)."""
        spacing = self.thickness_mm if self.spacing_mm is None else self.spacing_mm
        ni, nj = self.matrix
        row, col, nrm = (
            np.array(self.row_direction_ras),
            np.array(self.column_direction_ras),
            self.normal_ras,
        )
        affine = np.eye(4)
        affine[:3, 0] = row * self.pixel_mm
        affine[:3, 1] = col * self.pixel_mm
        affine[:3, 2] = nrm * spacing
        affine[:3, 3] = (
            np.array(self.centre_ras_mm)
            - affine[:3, 0] * (ni - 1) / 2.0
            - affine[:3, 1] * (nj - 1) / 2.0
            - affine[:3, 2] * (self.n_slices - 1) / 2.0
        )
        return affine


def axial_slices(
    *,
    centre_ras_mm: Triple = (0.0, 0.0, 0.0),
    pixel_mm: float = 1.0,
    thickness_mm: float = 3.0,
    matrix: int = 256,
    n_slices: int = 1,
    T_scanner_from_tilt: npt.ArrayLike | None = None,
) -> SliceGeometry:
    """Return axial slices as DICOM orders them (rows towards patient left, columns posterior).

    ``T_scanner_from_tilt`` optionally rotates the slice orientation (its translation is ignored).
    """
    row, col = np.array([-1.0, 0.0, 0.0]), np.array([0.0, -1.0, 0.0])
    if T_scanner_from_tilt is not None:
        rot = check_transform(T_scanner_from_tilt, name="T_scanner_from_tilt")[:3, :3]
        row, col = rot @ row, rot @ col
    return SliceGeometry(
        centre_ras_mm=centre_ras_mm,
        row_direction_ras=(float(row[0]), float(row[1]), float(row[2])),
        column_direction_ras=(float(col[0]), float(col[1]), float(col[2])),
        pixel_mm=pixel_mm,
        thickness_mm=thickness_mm,
        matrix=(matrix, matrix),
        n_slices=n_slices,
    )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RenderedImage:
    """A synthetic acquisition: voxels ``[k, j, i]`` and the IJK-to-RAS matrix."""

    image: npt.NDArray[np.uint16]
    ijk_to_ras: Transform


def _chord_fraction(
    points: FloatArray,
    normal: FloatArray,
    half_mm: float,
    a: FloatArray,
    d: FloatArray,
    length_mm: float,
    radius_mm: float,
) -> FloatArray:
    """Fraction of the slab [-h/2, h/2] along ``normal`` from ``points`` inside one rod."""
    rel = points - a
    along = rel @ d
    w = rel - along[:, None] * d
    nd = float(normal @ d)
    m = normal - nd * d
    qa = float(m @ m)
    qb = 2.0 * (w @ m)
    qc = np.einsum("ij,ij->i", w, w) - radius_mm**2
    lo = np.full(len(points), -half_mm)
    hi = np.full(len(points), half_mm)
    if qa < 1e-12:  # noqa: PLR2004 - ray parallel to the rod: inside for all s or none
        hi = np.where(qc <= 0.0, hi, lo)
    else:
        disc = qb**2 - 4.0 * qa * qc
        root = np.sqrt(np.maximum(disc, 0.0))
        lo = np.maximum(lo, (-qb - root) / (2.0 * qa))
        hi = np.where(disc >= 0.0, np.minimum(hi, (-qb + root) / (2.0 * qa)), lo)
    # Finite rod: 0 <= along + s * nd <= length.
    if abs(nd) > 1e-12:  # noqa: PLR2004
        s0, s1 = (-along) / nd, (length_mm - along) / nd
        lo = np.maximum(lo, np.minimum(s0, s1))
        hi = np.minimum(hi, np.maximum(s0, s1))
    else:
        outside = (along < 0.0) | (along > length_mm)
        hi = np.where(outside, lo, hi)
    return np.asarray(np.maximum(hi - lo, 0.0) / (2.0 * half_mm))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _PlacedRods:
    """Rods in scanner RAS: (7, 3) starts, (7, 3) unit directions, (7,) lengths, radius (mm)."""

    starts: FloatArray
    dirs: FloatArray
    lengths: FloatArray
    radius_mm: float


def _pixel_range(coords: FloatArray, margin: float, size: int) -> tuple[int, int]:
    return max(math.floor(coords.min() - margin), 0), min(
        math.ceil(coords.max() + margin), size - 1
    )


def _render_slice(origin: FloatArray, geometry: SliceGeometry, rods: _PlacedRods) -> FloatArray:
    row, col = np.array(geometry.row_direction_ras), np.array(geometry.column_direction_ras)
    normal, radius_mm = geometry.normal_ras, rods.radius_mm
    ni, nj = geometry.matrix
    px, half = geometry.pixel_mm, geometry.thickness_mm / 2.0
    out = np.zeros((nj, ni))
    offsets = (np.arange(_SUBSAMPLES) + 0.5) / _SUBSAMPLES - 0.5
    for a, d, length in zip(rods.starts, rods.dirs, rods.lengths, strict=True):
        # Part of the rod axis within reach of the slab, projected to pixel coordinates.
        dist_a, rate = float((a - origin) @ normal), float(d @ normal)
        reach = half + radius_mm
        if abs(rate) > 1e-9:  # noqa: PLR2004
            t0, t1 = sorted(((-reach - dist_a) / rate, (reach - dist_a) / rate))
            t0, t1 = max(t0, 0.0), min(t1, float(length))
            if t0 > t1:
                continue
        elif abs(dist_a) > reach:
            continue
        else:
            t0, t1 = 0.0, float(length)
        ends = np.array([a + t0 * d, a + t1 * d]) - origin
        ii, jj = ends @ row / px, ends @ col / px
        margin = radius_mm / px / max(abs(rate), 0.05) + 2.0
        i_lo, i_hi = _pixel_range(ii, margin, ni)
        j_lo, j_hi = _pixel_range(jj, margin, nj)
        if i_lo > i_hi or j_lo > j_hi:
            continue
        ci = np.arange(i_lo, i_hi + 1)[None, :, None, None] + offsets[None, None, :, None]
        cj = np.arange(j_lo, j_hi + 1)[:, None, None, None] + offsets[None, None, None, :]
        ci, cj = np.broadcast_arrays(ci, cj)
        pts = origin + (ci.reshape(-1, 1) * row + cj.reshape(-1, 1) * col) * px
        frac = _chord_fraction(pts, normal, half, a, d, float(length), radius_mm)
        block = frac.reshape(ci.shape).mean(axis=(2, 3))
        out[j_lo : j_hi + 1, i_lo : i_hi + 1] += block
    return np.minimum(out, 1.0)


def render_zframe(
    T_scanner_from_zframe: npt.ArrayLike,
    geometry: SliceGeometry,
    *,
    snr: float | None,
    seed: int,
    zframe: ZFrameGeometry | None = None,
) -> RenderedImage:
    """Render the Z-frame at a pose into the given slices.

    Args:
        T_scanner_from_zframe: pose of the Z-frame in scanner RAS (rigid).
        geometry: the slice stack.
        snr: full-voxel signal over the noise sigma of each complex channel; ``None`` renders
            noiselessly.
        seed: seed of the noise generator (deterministic output).
        zframe: frame model; mrbot's default when ``None``.

    Raises:
        NotRigidError: the pose is not rigid.
        ValueError: a non-positive SNR.
    """
    tf = check_transform(T_scanner_from_zframe, name="T_scanner_from_zframe")
    if snr is not None and not (math.isfinite(snr) and snr > 0.0):
        raise ValueError(f"snr must be > 0 or None, got {snr}")
    frame = default_zframe_geometry() if zframe is None else zframe
    rods = _PlacedRods(
        starts=frame.starts_mm() @ tf[:3, :3].T + tf[:3, 3],
        dirs=frame.directions() @ tf[:3, :3].T,
        lengths=frame.lengths_mm(),
        radius_mm=frame.rod_radius_mm,
    )
    affine = geometry.ijk_to_ras()
    ni, nj = geometry.matrix
    volume = np.empty((geometry.n_slices, nj, ni))
    for k in range(geometry.n_slices):
        volume[k] = _render_slice(affine[:3, 3] + k * affine[:3, 2], geometry, rods)
    signal = volume * SIGNAL_COUNTS
    if snr is not None:
        rng = np.random.default_rng(seed)
        sigma = SIGNAL_COUNTS / snr
        signal = np.hypot(
            signal + rng.normal(0.0, sigma, signal.shape), rng.normal(0.0, sigma, signal.shape)
        )
    image = np.clip(np.rint(signal), 0, np.iinfo(np.uint16).max).astype(np.uint16)
    return RenderedImage(image=image, ijk_to_ras=affine)
