"""Bright rod cross-sections in one Z-frame slice: threshold, label, sub-pixel centroids, shape.

The intensity-weighted centroid of a partial-volume rod cross-section lies where the rod axis
crosses the slice's mid-plane (the rod-slab intersection is centrally symmetric about that point),
so centroids in pixel coordinates map through IJK-to-RAS to points on the rod axes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
from scipy import ndimage

from kinematics.errors import ZFrameDetectionError

if TYPE_CHECKING:
    from kinematics.types import FloatArray

__all__ = ["Blob", "BlobSettings", "find_blobs"]

_MAD_TO_SIGMA: Final = 1.4826


@dataclass(frozen=True, slots=True, kw_only=True)
class BlobSettings:
    """Thresholds of the blob finder.

    Attributes:
        rod_radius_mm: radius of the rods' bright core.
        min_contrast_sigma: smallest accepted (peak - background) in noise sigmas.
        threshold_fraction: blob mask level between background (0) and the brightest peak (1).
        max_blob_length_mm: longest accepted blob; longer ones are streaks from a slice nearly
            parallel to a rod.
        centroid_margin_px: pixels added around a blob mask for its weighted centroid.
    """

    rod_radius_mm: float
    min_contrast_sigma: float = 8.0
    threshold_fraction: float = 0.4
    max_blob_length_mm: float = 22.0
    centroid_margin_px: int = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Blob:
    """One bright cross-section.

    Attributes:
        centroid_ij: intensity-weighted centroid in pixel coordinates (i, j).
        area_mm2: area above the threshold.
        length_mm: major-axis length of the thresholded shape.
        signal_mm2: background-subtracted intensity summed over the blob, times the pixel area
            (image units x mm^2); for a rod crossing the whole slab it is proportional to
            ``pi r^2 / |cos(angle between rod and slice normal)|``.
    """

    centroid_ij: tuple[float, float]
    area_mm2: float
    length_mm: float
    signal_mm2: float


def _noise_sigma(image: FloatArray, background: float) -> float:
    mad = float(np.median(np.abs(image - background)))
    sigma = _MAD_TO_SIGMA * mad
    if sigma <= 0.0:  # mostly constant background (noiseless render): fall back to the spread
        sigma = float(np.std(image))
    return sigma


def find_blobs(image: FloatArray, pixel_mm: float, settings: BlobSettings) -> list[Blob]:
    """Return the rod-sized bright blobs of one slice (j rows, i columns).

    Raises:
        ZFrameDetectionError: constant image (``constant_image``), no bright structure
            (``no_signal``), a blob cut by the image edge (``field_of_view``), or a streak
            (``slice_orientation``).
    """
    if float(np.ptp(image)) == 0.0:
        raise ZFrameDetectionError("constant_image", f"every pixel has the value {image.flat[0]}")
    background = float(np.median(image))
    sigma = _noise_sigma(image, background)
    smooth = ndimage.gaussian_filter(image, sigma=max(0.5 * settings.rod_radius_mm / pixel_mm, 0.7))
    peak = float(smooth.max())
    contrast = (peak - background) / sigma if sigma > 0.0 else math.inf
    if contrast < settings.min_contrast_sigma:
        raise ZFrameDetectionError(
            "no_signal",
            f"brightest structure is {contrast:.1f} noise sigmas above background; at least "
            f"{settings.min_contrast_sigma:.1f} needed: no fiducial rods in this slice",
        )
    mask = smooth > background + settings.threshold_fraction * (peak - background)
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    min_area_px = max(2.0, 0.25 * math.pi * (settings.rod_radius_mm / pixel_mm) ** 2)
    width = 2 * settings.centroid_margin_px + 1
    grown = ndimage.grey_dilation(labels.astype(np.int64), size=(width, width))
    weights = np.clip(image - background, 0.0, None)
    nj, ni = image.shape
    blobs = []
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        component = labels[box] == index
        area_px = float(component.sum())
        if area_px < min_area_px:
            continue  # a speck of noise, not a rod
        js, is_ = box
        if js.start == 0 or is_.start == 0 or js.stop == nj or is_.stop == ni:
            raise ZFrameDetectionError(
                "field_of_view",
                f"a bright blob at pixels i={is_.start}..{is_.stop - 1}, "
                f"j={js.start}..{js.stop - 1} "
                "touches the image edge: the Z-frame is partly outside the field of view",
            )
        jj, ii = np.nonzero(component)
        cov = np.cov(np.vstack([ii, jj])) if len(ii) > 1 else np.zeros((2, 2))
        length_mm = 4.0 * math.sqrt(max(float(np.linalg.eigvalsh(cov)[-1]), 0.0)) * pixel_mm
        if length_mm > settings.max_blob_length_mm:
            raise ZFrameDetectionError(
                "slice_orientation",
                f"a bright streak {length_mm:.1f} mm long (rod cross-sections are at most "
                f"{settings.max_blob_length_mm:.1f} mm): the slice is nearly parallel to a rod",
            )
        m = settings.centroid_margin_px
        j0, j1 = max(js.start - m, 0), min(js.stop + m, nj)
        i0, i1 = max(is_.start - m, 0), min(is_.stop + m, ni)
        own = grown[j0:j1, i0:i1] == index
        w = weights[j0:j1, i0:i1] * own
        total = float(w.sum())
        gj, gi = np.mgrid[j0:j1, i0:i1]
        blobs.append(
            Blob(
                centroid_ij=(float((w * gi).sum() / total), float((w * gj).sum() / total)),
                area_mm2=area_px * pixel_mm**2,
                length_mm=length_mm,
                signal_mm2=total * pixel_mm**2,
            )
        )
    return blobs
