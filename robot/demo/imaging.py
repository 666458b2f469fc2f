"""The scanner's two acquisitions in the story: what the operator sees on the console.

The localiser is rendered as the emulated scanner renders the IMAGE it sends to the robot; the
demo runs the same detector on it to draw the fiducials (the robot keeps its points to itself).
The confirmation scan is one oblique slice through the reported needle pose, cut across the bone
so that cortex, nidus, nerve bundle and needle are all in view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np

from kinematics import detect_zframe
from robot.demo.result import ScanImage
from robot.twin import NeedleSegment, needle_slice, render_confirmation, render_zframe

if TYPE_CHECKING:
    from kinematics import Transform
    from robot.demo.metrics import TipAccuracy
    from robot.twin import BonePhantom, SliceGeometry

__all__ = ["confirmation_scan", "localiser_scan"]

_CONFIRMATION_SNR: Final = 25.0
_PIXEL_MM: Final = 0.5
_MATRIX: Final = (128, 128)
_SHOW_BEHIND_TIP_MM: Final = 15.0  # the slice centre sits this far back along the needle


def localiser_scan(
    T_scanner_from_zframe: Transform, geometry: SliceGeometry, *, seed: int, snr: float
) -> ScanImage:
    """The Z-frame localiser exactly as the emulated scanner renders it, with our fiducials.

    `robot.twin.render_zframe` is deterministic for a seed, so these are the pixels the scanner
    sends; the demo renders and detects them before the robot starts, keeping that work out of
    the robot's time-critical threads (one process hosts everything here).

    Raises:
        ZFrameDetectionError: the detector refuses the image.
    """
    image = render_zframe(T_scanner_from_zframe, geometry, snr=snr, seed=seed)
    found = detect_zframe(image.image, image.ijk_to_ras)
    return ScanImage(image=image, points_ras_mm=found.points_ras_mm)


def confirmation_scan(
    phantom: BonePhantom,
    *,
    plane_tip_ras_mm: tuple[float, float, float],
    plane_direction_ras: tuple[float, float, float],
    needle: TipAccuracy | None,
    inserted_mm: float,
    diameter_mm: float,
    seed: int,
) -> ScanImage:
    """Render the slice the robot's reported needle pose defines, with the true needle in it.

    Args:
        phantom: the anatomy.
        plane_tip_ras_mm: reported tip (``CURRENT_POSITION``), centre of the scan plane.
        plane_direction_ras: reported needle direction (unit).
        needle: the true tip and direction, or ``None`` when no needle is in the patient.
        inserted_mm: true length of needle beyond the guide.
        diameter_mm: needle outer diameter.
        seed: noise seed.

    Raises:
        ValueError: degenerate directions.
    """
    direction = np.asarray(plane_direction_ras, dtype=np.float64)
    across = np.cross(np.asarray(phantom.bone_axis_ras), direction)
    centre = np.asarray(plane_tip_ras_mm) - direction * _SHOW_BEHIND_TIP_MM
    geometry = needle_slice(
        plane_tip_ras_mm,
        plane_direction_ras,
        in_plane_ras=(float(across[0]), float(across[1]), float(across[2])),
        centre_ras_mm=(float(centre[0]), float(centre[1]), float(centre[2])),
        pixel_mm=_PIXEL_MM,
        matrix=_MATRIX,
    )
    segment = None
    if needle is not None and inserted_mm > 0.0:
        segment = NeedleSegment(
            tip_ras_mm=needle.tip_ras_mm,
            direction_ras=needle.direction_ras,
            shaft_length_mm=inserted_mm,
            diameter_mm=diameter_mm,
        )
    image = render_confirmation(
        phantom, segment, geometry, snr=_CONFIRMATION_SNR, seed=seed, subsamples=3, slab_samples=3
    )
    return ScanImage(image=image, points_ras_mm=np.zeros((0, 3)))
