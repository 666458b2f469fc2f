"""The virtual patient and scanner: bone phantom, synthetic MR images and an emulated scanner.

Nothing here drives the robot: the phantom and the renderers make the images a real scanner
would, and `EmulatedScanner` sends them to the robot as an OpenIGTLink client. The demo, the
benchmarks, ``mrbot kinematics render-zframe`` and the tests use them; the robot's own math,
registration and Z-frame detection stay in `kinematics`.
"""

from robot.twin.needle_render import (
    NeedleSegment,
    needle_fraction,
    needle_slice,
    ras_to_ijk,
    render_confirmation,
)
from robot.twin.phantom import (
    TISSUE_SIGNAL,
    BonePhantom,
    EntryPlan,
    NoSafeEntry,
    Tissue,
    make_bone_phantom,
    plan_entry,
)
from robot.twin.scanner import EmulatedScanner
from robot.twin.zframe_render import RenderedImage, SliceGeometry, axial_slices, render_zframe

__all__ = [
    "TISSUE_SIGNAL",
    "BonePhantom",
    "EmulatedScanner",
    "EntryPlan",
    "NeedleSegment",
    "NoSafeEntry",
    "RenderedImage",
    "SliceGeometry",
    "Tissue",
    "axial_slices",
    "make_bone_phantom",
    "needle_fraction",
    "needle_slice",
    "plan_entry",
    "ras_to_ijk",
    "render_confirmation",
    "render_zframe",
]
