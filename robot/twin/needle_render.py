"""Synthetic confirmation slices: the phantom with the inserted needle as a signal void.

A confirmation scan images a slab that contains the needle. Each pixel averages ``S x S`` in-plane
sub-samples at ``T`` depths through the slab thickness (partial volume and pixel footprint). At
each sample the phantom gives a tissue signal; inside the needle (a cylinder of its real outer
diameter, from the tip back along the shaft) the signal is zero. Magnitude images get Rician noise
and are stored as uint16 with the full signal at 1000, like `render_zframe`.

Not modelled: susceptibility artefacts (a real titanium or nitinol needle's void is wider than
its diameter and depends on its angle to B0), the bevel, chemical shift, flow, coil shading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

from kinematics.frames import as_points, as_vec3
from robot.twin.zframe_render import RenderedImage, SliceGeometry

if TYPE_CHECKING:
    import numpy.typing as npt

    from kinematics.types import FloatArray, Points, Vec3
    from robot.twin.phantom import BonePhantom

__all__ = ["NeedleSegment", "needle_fraction", "needle_slice", "ras_to_ijk", "render_confirmation"]

Triple = tuple[float, float, float]
_ROWS_PER_CHUNK: Final = 16


def _triple(v: Vec3) -> Triple:
    return (float(v[0]), float(v[1]), float(v[2]))


@dataclass(frozen=True, slots=True, kw_only=True)
class NeedleSegment:
    """The inserted part of a straight needle, scanner RAS mm.

    Attributes:
        tip_ras_mm: the physical tip.
        direction_ras: unit direction of insertion (from the hub towards the tip).
        shaft_length_mm: length of shaft behind the tip that is drawn.
        diameter_mm: outer diameter (14 G = 2.1 mm).
    """

    tip_ras_mm: Triple
    direction_ras: Triple
    shaft_length_mm: float
    diameter_mm: float

    def __post_init__(self) -> None:
        as_vec3(self.tip_ras_mm, name="tip_ras_mm")
        d = as_vec3(self.direction_ras, name="direction_ras")
        if abs(float(np.linalg.norm(d)) - 1.0) > 1e-6:  # noqa: PLR2004 - unit tolerance
            raise ValueError(f"direction_ras must be a unit vector, got norm {np.linalg.norm(d)}")
        for name in ("shaft_length_mm", "diameter_mm"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"needle {name} must be > 0 mm, got {value}")


def needle_fraction(needle: NeedleSegment, points_ras_mm: npt.ArrayLike) -> FloatArray:
    """Return 1.0 for each of N points inside the needle, else 0.0 (N,).

    Raises:
        ValueError: points are not (N, 3) or (3,) and finite.
    """
    pts = as_points(points_ras_mm, name="points_ras_mm")
    d = np.array(needle.direction_ras)
    rel = pts - np.array(needle.tip_ras_mm)
    along = rel @ d
    radial = np.linalg.norm(rel - along[:, None] * d, axis=1)
    inside = (along <= 0.0) & (along >= -needle.shaft_length_mm)
    inside &= radial <= needle.diameter_mm / 2.0
    return np.asarray(inside, dtype=np.float64)


def needle_slice(
    tip_ras_mm: Triple,
    direction_ras: Triple,
    *,
    in_plane_ras: Triple,
    centre_ras_mm: Triple | None = None,
    pixel_mm: float = 0.5,
    matrix: tuple[int, int] = (160, 160),
    thickness_mm: float = 3.0,
) -> SliceGeometry:
    """Return one slice containing the needle axis: columns (j) run along the needle.

    Args:
        tip_ras_mm: a point on the needle axis (the tip).
        direction_ras: needle direction; it becomes the column direction.
        in_plane_ras: a second direction the slice should contain (made orthogonal to the
            needle); it becomes the row direction. For a bone cross-section pass
            ``bone_axis x direction``.
        centre_ras_mm: slice centre; the tip when ``None``.
        pixel_mm: square pixel size.
        matrix: (columns ni, rows nj).
        thickness_mm: slab thickness.

    Raises:
        ValueError: zero or parallel directions, or geometry `SliceGeometry` rejects.
    """
    d = as_vec3(direction_ras, name="direction_ras")
    hint = as_vec3(in_plane_ras, name="in_plane_ras")
    if float(np.linalg.norm(d)) < 1e-9:  # noqa: PLR2004 - zero vector
        raise ValueError("direction_ras must not be the zero vector")
    d = d / np.linalg.norm(d)
    row = hint - (hint @ d) * d
    if float(np.linalg.norm(row)) < 1e-6 * max(float(np.linalg.norm(hint)), 1.0):
        raise ValueError("in_plane_ras must not be parallel to the needle direction")
    row /= np.linalg.norm(row)
    centre = as_vec3(tip_ras_mm if centre_ras_mm is None else centre_ras_mm, name="centre_ras_mm")
    return SliceGeometry(
        centre_ras_mm=_triple(centre),
        row_direction_ras=_triple(row),
        column_direction_ras=_triple(d),
        pixel_mm=pixel_mm,
        thickness_mm=thickness_mm,
        matrix=matrix,
    )


def render_confirmation(
    phantom: BonePhantom,
    needle: NeedleSegment | None,
    geometry: SliceGeometry,
    *,
    snr: float | None,
    seed: int,
    subsamples: int = 4,
    slab_samples: int = 5,
) -> RenderedImage:
    """Render the phantom, and the needle as a signal void, into the slice stack.

    Args:
        phantom: the anatomy.
        needle: the needle in the patient, or ``None`` for a scan before insertion.
        geometry: the slices.
        snr: full-signal over the noise sigma of each complex channel; ``None``: noiseless.
        seed: noise seed (deterministic output).
        subsamples: in-plane sub-samples per pixel side.
        slab_samples: sub-samples through the slab thickness.

    Raises:
        ValueError: a non-positive SNR or sample count.
    """
    if snr is not None and not (math.isfinite(snr) and snr > 0.0):
        raise ValueError(f"snr must be > 0 or None, got {snr}")
    if subsamples < 1 or slab_samples < 1:
        raise ValueError(f"sample counts must be >= 1, got {subsamples} and {slab_samples}")
    affine = geometry.ijk_to_ras()
    row, col, normal = (
        np.array(geometry.row_direction_ras),
        np.array(geometry.column_direction_ras),
        geometry.normal_ras,
    )
    ni, nj = geometry.matrix
    px = geometry.pixel_mm
    in_plane = ((np.arange(subsamples) + 0.5) / subsamples - 0.5) * px
    depth = ((np.arange(slab_samples) + 0.5) / slab_samples - 0.5) * geometry.thickness_mm
    # Offsets of the samples of one pixel from its centre: (S*S*T, 3).
    du, dv, dw = np.meshgrid(in_plane, in_plane, depth, indexing="ij")
    offsets = du.reshape(-1, 1) * row + dv.reshape(-1, 1) * col + dw.reshape(-1, 1) * normal
    volume = np.empty((geometry.n_slices, nj, ni))
    for k in range(geometry.n_slices):
        for j0 in range(0, nj, _ROWS_PER_CHUNK):
            j1 = min(j0 + _ROWS_PER_CHUNK, nj)
            jj, ii = np.mgrid[j0:j1, 0:ni]
            ijk = np.column_stack([ii.ravel(), jj.ravel(), np.full(ii.size, k), np.ones(ii.size)])
            centres = (ijk @ affine.T)[:, :3]
            samples: Points = (centres[:, None, :] + offsets[None, :, :]).reshape(-1, 3)
            signal = phantom.signal_at(samples)
            if needle is not None:
                signal = signal * (1.0 - needle_fraction(needle, samples))
            block = signal.reshape(len(centres), -1).mean(axis=1)
            volume[k, j0:j1, :] = block.reshape(j1 - j0, ni)
    if snr is not None:
        rng = np.random.default_rng(seed)
        sigma = 1000.0 / snr
        volume = np.hypot(
            volume + rng.normal(0.0, sigma, volume.shape), rng.normal(0.0, sigma, volume.shape)
        )
    image = np.clip(np.rint(volume), 0, np.iinfo(np.uint16).max).astype(np.uint16)
    return RenderedImage(image=image, ijk_to_ras=affine)


def ras_to_ijk(ijk_to_ras: npt.ArrayLike, points_ras_mm: npt.ArrayLike) -> Points:
    """Map N RAS points to continuous voxel indices (i, j, k) (N, 3).

    Raises:
        ValueError: a non-invertible or non-affine matrix, or bad points.
    """
    affine = np.asarray(ijk_to_ras, dtype=np.float64)
    if affine.shape != (4, 4) or not np.allclose(affine[3], [0.0, 0.0, 0.0, 1.0]):
        raise ValueError(f"ijk_to_ras must be an affine 4x4, got shape {affine.shape}")
    if abs(float(np.linalg.det(affine[:3, :3]))) < 1e-12:  # noqa: PLR2004 - singular
        raise ValueError("ijk_to_ras is singular")
    pts = as_points(points_ras_mm, name="points_ras_mm")
    return np.asarray(np.linalg.solve(affine[:3, :3], (pts - affine[:3, 3]).T).T)
