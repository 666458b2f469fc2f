"""``mrbot kinematics``: inverse kinematics, Z-frame rendering and Z-frame registration from files.

``ik`` plans one target (scanner RAS mm) and prints the joint values or why it is unreachable
(exit 1). ``render-zframe`` writes a synthetic Z-frame acquisition as ``.npy`` voxels ``[k, j, i]``
plus a ``.json`` sidecar holding the IJK-to-RAS matrix. ``register`` reads such a pair (or any
image with a sidecar) and prints the Z-frame pose with residuals, or the reason it cannot (exit 1).
Degrees appear only here, at the display boundary.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
from scipy.spatial.transform import Rotation

from kinematics import (
    CartesianRcmRobot,
    JointGoal,
    KinematicsError,
    Target,
    TwoPlaneGuide,
    ZFrameDetectionError,
    check_transform,
    compose,
    default_bone_drill,
    default_needle,
    default_rcm_config,
    default_two_plane_config,
    detect_zframe,
    make_transform,
    plan,
    rotation_angle_rad,
)
from robot.twin import SliceGeometry, render_zframe

if TYPE_CHECKING:
    import argparse

    from kinematics import NeedleRobot

__all__ = ["register", "sidecar_path"]

EXIT_OK: Final = 0
EXIT_REFUSED: Final = 1
EXIT_BAD_INPUT: Final = 2
_TRE_LEVER_MM: Final = 150.0  # typical bone-target distance from the frame (DOMAIN_NUMBERS.md 4)


def sidecar_path(image_path: Path) -> Path:
    """Return the sidecar of an image file: same name with ``.json``."""
    return image_path.with_suffix(".json")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``kinematics`` subcommand and its ``ik``, ``render-zframe``, ``register`` actions."""
    parser = subparsers.add_parser(
        "kinematics", help="IK, Z-frame rendering and Z-frame registration from the command line"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    ik = actions.add_parser("ik", help="plan one target; exit 1 if unreachable")
    ik.add_argument(
        "--target",
        nargs=3,
        type=float,
        required=True,
        metavar=("R", "A", "S"),
        help="target in scanner RAS mm",
    )
    way = ik.add_mutually_exclusive_group()
    way.add_argument(
        "--entry",
        nargs=3,
        type=float,
        metavar=("R", "A", "S"),
        help="skin entry point in scanner RAS mm",
    )
    way.add_argument(
        "--direction",
        nargs=3,
        type=float,
        metavar=("R", "A", "S"),
        help="needle direction in scanner RAS",
    )
    ik.add_argument(
        "--registration",
        type=Path,
        help="JSON file with T_scanner_from_robot (4x4); identity if omitted",
    )
    ik.add_argument("--robot", choices=("two-plane", "rcm"), default="two-plane")
    ik.add_argument("--tool", choices=("needle", "bone-drill"), default="needle")
    ik.set_defaults(func=_ik)

    render = actions.add_parser("render-zframe", help="write a synthetic Z-frame image + sidecar")
    render.add_argument(
        "output", type=Path, help="output .npy path; the sidecar is .json beside it"
    )
    render.add_argument(
        "--translation-mm",
        nargs=3,
        type=float,
        default=(0.0, 0.0, 0.0),
        metavar=("R", "A", "S"),
        help="Z-frame centre in scanner RAS mm",
    )
    render.add_argument(
        "--rotation-deg",
        nargs=3,
        type=float,
        default=(0.0, 0.0, 0.0),
        metavar=("X", "Y", "Z"),
        help="x-y-z Euler angles of the frame, degrees",
    )
    render.add_argument(
        "--centre-mm",
        nargs=3,
        type=float,
        default=(0.0, 0.0, 0.0),
        metavar=("R", "A", "S"),
        help="centre of the axial slice stack, RAS mm",
    )
    render.add_argument("--pixel-mm", type=float, default=1.0)
    render.add_argument("--thickness-mm", type=float, default=3.0)
    render.add_argument("--matrix", type=int, default=256)
    render.add_argument("--slices", type=int, default=1)
    render.add_argument("--spacing-mm", type=float, default=None)
    render.add_argument("--snr", type=float, default=20.0, help="0 renders without noise")
    render.add_argument("--seed", type=int, default=0)
    render.set_defaults(func=_render)

    reg = actions.add_parser("register", help="detect the Z-frame pose in an image; exit 1 if not")
    reg.add_argument("image", type=Path, help=".npy voxels [k, j, i] or [j, i]")
    reg.add_argument("--sidecar", type=Path, help="JSON with ijk_to_ras (default: IMAGE.json)")
    reg.add_argument("--output", type=Path, help="write T_scanner_from_zframe and residuals here")
    reg.add_argument(
        "--mount",
        type=Path,
        help="JSON with T_zframe_from_robot (the robot's mounting on the frame); the output then "
        "also holds T_scanner_from_robot, ready for 'ik --registration'",
    )
    reg.set_defaults(func=_register)


def _robot(name: str, tool_name: str) -> NeedleRobot:
    tool = default_needle() if tool_name == "needle" else default_bone_drill()
    if name == "rcm":
        return CartesianRcmRobot(default_rcm_config(tool))
    return TwoPlaneGuide(default_two_plane_config(tool))


def _read_matrix(path: Path, key: str) -> np.ndarray:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read {path}: {err}") from err
    if not isinstance(data, dict) or key not in data:
        raise ValueError(f"{path} has no {key!r} entry")
    matrix = np.asarray(data[key], dtype=np.float64)
    if matrix.shape != (4, 4):
        raise ValueError(f"{path}: {key} must be a 4x4 list of lists, got shape {matrix.shape}")
    return matrix


def _ik(args: argparse.Namespace) -> int:
    try:
        T_scanner_from_robot = (
            np.eye(4)
            if args.registration is None
            else check_transform(
                _read_matrix(args.registration, "T_scanner_from_robot"), name="T_scanner_from_robot"
            )
        )
        target = Target.from_arrays(args.target, args.entry, args.direction)
    except (ValueError, KinematicsError) as err:
        print(f"mrbot kinematics ik: {err}")
        return EXIT_BAD_INPUT
    result = plan(_robot(args.robot, args.tool), target, T_scanner_from_robot)
    if isinstance(result, JointGoal):
        print(f"reachable ({args.robot}, {args.tool})")
        print(result.describe())
        r, a, s = result.tip_ras_mm
        print(f"tip_ras_mm = {r:.3f} {a:.3f} {s:.3f}")
        print(
            f"target_distance_from_robot_origin_mm = "
            f"{result.target_distance_from_robot_origin_mm:.1f}"
        )
        return EXIT_OK
    print(f"unreachable ({result.code.name}): {result.reason}")
    return EXIT_REFUSED


def _render(args: argparse.Namespace) -> int:
    try:
        rotation = Rotation.from_euler("xyz", args.rotation_deg, degrees=True).as_matrix()
        T_scanner_from_zframe = make_transform(rotation, args.translation_mm)
        geometry = SliceGeometry(
            centre_ras_mm=tuple(args.centre_mm),
            row_direction_ras=(-1.0, 0.0, 0.0),
            column_direction_ras=(0.0, -1.0, 0.0),
            pixel_mm=args.pixel_mm,
            thickness_mm=args.thickness_mm,
            matrix=(args.matrix, args.matrix),
            n_slices=args.slices,
            spacing_mm=args.spacing_mm,
        )
        rendered = render_zframe(
            T_scanner_from_zframe, geometry, snr=args.snr if args.snr > 0 else None, seed=args.seed
        )
    except (ValueError, KinematicsError) as err:
        print(f"mrbot kinematics render-zframe: {err}")
        return EXIT_BAD_INPUT
    output: Path = args.output
    if output.suffix != ".npy":
        print(f"mrbot kinematics render-zframe: output must end in .npy, got {output}")
        return EXIT_BAD_INPUT
    np.save(output, rendered.image, allow_pickle=False)
    sidecar = sidecar_path(output)
    sidecar.write_text(
        json.dumps(
            {
                "ijk_to_ras": rendered.ijk_to_ras.tolist(),
                "T_scanner_from_zframe_truth": T_scanner_from_zframe.tolist(),
                "axes": "voxels [k, j, i]; ijk_to_ras maps (i, j, k, 1) to RAS mm",
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    print(f"wrote {output} {rendered.image.shape} {rendered.image.dtype} and {sidecar}")
    return EXIT_OK


def _register(args: argparse.Namespace) -> int:
    image_path: Path = args.image
    sidecar = args.sidecar or sidecar_path(image_path)
    try:
        image = np.load(image_path, allow_pickle=False)
        ijk_to_ras = _read_matrix(sidecar, "ijk_to_ras")
        T_zframe_from_robot = (
            None
            if args.mount is None
            else check_transform(
                _read_matrix(args.mount, "T_zframe_from_robot"), name="T_zframe_from_robot"
            )
        )
    except (OSError, ValueError) as err:
        print(f"mrbot kinematics register: cannot load {image_path} / {sidecar}: {err}")
        return EXIT_BAD_INPUT
    try:
        found = detect_zframe(image, ijk_to_ras)
    except ZFrameDetectionError as err:
        print(f"no Z-frame pose ({err.reason}): {err.detail}")
        return EXIT_REFUSED
    tf = found.T_scanner_from_zframe
    print("T_scanner_from_zframe =")
    for row in tf:
        print("  " + " ".join(f"{v:10.4f}" for v in row))
    r, a, s = tf[:3, 3]
    print(f"translation_ras_mm = {r:.3f} {a:.3f} {s:.3f}")
    print(f"rotation_deg = {math.degrees(rotation_angle_rad(tf[:3, :3])):.3f}")
    print(
        f"rms_residual_mm = {found.rms_residual_mm:.3f} (max {found.residuals_mm.max():.3f}, "
        f"{len(found.residuals_mm)} points)"
    )
    print(f"slice_tilt_deg = {math.degrees(found.tilt_rad):.2f}")
    lever_ras_mm = tf[:3, 3] + _TRE_LEVER_MM * tf[:3, 2]
    print(
        f"predicted_tre_mm at {_TRE_LEVER_MM:.0f} mm along the frame z axis = "
        f"{found.predicted_tre_mm(lever_ras_mm):.3f} (FLE estimate "
        f"{found.fle_estimate_mm:.3f} mm; approx.)"
    )
    print(f"slices_used = {list(found.slices_used)}")
    if found.slices_skipped:
        print("slices_skipped = " + ", ".join(f"{k} ({why})" for k, why in found.slices_skipped))
    if args.output is not None:
        record: dict[str, object] = {
            "T_scanner_from_zframe": tf.tolist(),
            "residuals_mm": found.residuals_mm.tolist(),
            "rms_residual_mm": found.rms_residual_mm,
            "fle_estimate_mm": found.fle_estimate_mm,
        }
        if T_zframe_from_robot is not None:
            record["T_zframe_from_robot"] = T_zframe_from_robot.tolist()
            record["T_scanner_from_robot"] = compose(tf, T_zframe_from_robot).tolist()
        args.output.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return EXIT_OK
