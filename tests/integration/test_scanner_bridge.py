"""Scanner bridge: Z-frame IMAGEs register the robot, SCANNER strings set the imaging interlock,
AUTO_ALIGN re-aligns on a changed registration and answers with TRANSFORM(PLANE_0)."""


# mypy: disable-error-code="comparison-overlap, unreachable, union-attr"

from __future__ import annotations

import functools

import numpy as np
import pytest

from kinematics import transform_from_rotvec
from robot.app import RobotApp
from robot.bench.kinematics import zframe_stack_geometry
from robot.igtl import IgtlMessage, ImageBody, StatusBody, TransformBody
from robot.twin import render_zframe
from safety import State
from tests.support.robot_app import Console, fast_config, matrix, set_target, start_up, targeting

pytestmark = pytest.mark.slow


@functools.cache
def rendered(translation_mm: tuple[float, ...], rotvec_deg: tuple[float, ...], seed: int):
    """A rendered Z-frame stack (cached: rendering holds the GIL for a while, and the robot in
    this same process must not be starved of it mid-test, as a separate scanner would not)."""
    return render_zframe(
        pose(translation_mm, rotvec_deg), zframe_stack_geometry(), snr=20.0, seed=seed
    )


def zframe_image(
    translation_mm=(0.0, 0.0, 0.0), rotvec_deg=(0.0, 0.0, 0.0), *, name="ZFRAME_1", seed=1
) -> IgtlMessage:
    image = rendered(tuple(translation_mm), tuple(rotvec_deg), seed)
    return IgtlMessage(
        device_name=name, body=ImageBody(voxels=image.image, ijk_to_ras=image.ijk_to_ras)
    )


@pytest.fixture(scope="module", autouse=True)
def _prerendered():
    for args in [
        ((4.0, -3.0, 2.0), (2.0, -1.0, 3.0), 1),
        ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 1),
        ((3.0, 0.0, 0.0), (0.0, 0.0, 0.0), 2),
    ]:
        rendered(*args)


def pose(translation_mm, rotvec_deg=(0.0, 0.0, 0.0)) -> np.ndarray:
    return transform_from_rotvec(np.radians(rotvec_deg), np.asarray(translation_mm, float))


@pytest.fixture
def app():
    with RobotApp(fast_config(), emulate=True) as robot:
        yield robot


def test_scanner_sequence_strings_set_the_imaging_interlock(app):
    with Console(app.address) as scanner:
        scanner.string("SCANNER", "START_SEQUENCE")
        assert scanner.status("SCANNER").code == 1
        assert app.core is not None
        assert app.core.scanner_imaging is True
        scanner.string("SCANNER", "STOP_SEQUENCE")
        assert scanner.status("SCANNER").code == 1
        assert app.core.scanner_imaging is False
        scanner.string("SCANNER", "SCAN_SOMETHING")
        assert scanner.status("SCANNER").code == 10


def test_a_zframe_image_calibrates_the_robot_and_every_client_hears_it(app):
    truth = pose((4.0, -3.0, 2.0), (2.0, -1.0, 3.0))
    with Console(app.address) as console, Console(app.address) as scanner:
        assert start_up(console).code == 1
        scanner.client.send(zframe_image((4.0, -3.0, 2.0), (2.0, -1.0, 3.0)))
        for client in (console, scanner):
            verdict = client.status("CALIBRATION")
            assert verdict.code == 1, verdict
            (calibration,) = client.expect("TRANSFORM:CALIBRATION")
            assert isinstance(calibration.body, TransformBody)
            found = calibration.body.matrix_ras_mm
            assert np.linalg.norm(found[:3, 3] - truth[:3, 3]) < 0.5
        assert app.registration is not None
        assert np.linalg.norm(app.registration[:3, 3] - truth[:3, 3]) < 0.5
        assert app.state is State.CALIBRATED


def test_an_image_without_a_zframe_gets_calibration_10_with_the_reason(app):
    with Console(app.address) as console:
        assert start_up(console).code == 1
        blank = np.zeros((3, 64, 64), dtype=np.uint16)
        console.client.send(
            IgtlMessage(device_name="ZFRAME", body=ImageBody(voxels=blank, ijk_to_ras=np.eye(4)))
        )
        verdict = console.status("CALIBRATION")
        assert verdict.code == 10
        assert "Z-frame" in verdict.message
        assert app.registration is None


def test_auto_align_re_plans_the_same_target_after_a_new_registration_and_sends_plane_0(app):
    with Console(app.address) as console, Console(app.address) as scanner:
        assert start_up(console).code == 1
        scanner.client.send(zframe_image((0.0, 0.0, 0.0)))
        assert console.status("CALIBRATION").code == 1
        console.expect("TRANSFORM:CALIBRATION")
        assert targeting(console).code == 1
        verdict, _ = set_target(console, matrix((10.0, 10.0, 20.0)))
        assert verdict.code == 1
        console.command("MOVE_TO_TARGET")
        assert console.status("MOVE_TO_TARGET").code == 1
        console.string("AUTO_ALIGN", "ON")
        assert console.status("AUTO_ALIGN").code == 1
        first = app.registration
        # with the needle in, a new registration (which would re-align sideways) is refused
        # with the measured depth and the way out, and nothing moves
        scanner.client.send(zframe_image((3.0, 0.0, 0.0), name="ZFRAME_2", seed=2))
        refused = console.status("CALIBRATION")
        assert (refused.code, refused.subcode) == (13, 7), refused
        assert "RETRACT_NEEDLE" in refused.message
        assert " mm" in refused.message
        assert app.registration is not None
        assert first is not None
        assert np.allclose(app.registration, first)
        console.string("RETRACT_NEEDLE", "")
        assert console.status("ACK_RETRACT_NEEDLE").code == 1
        assert console.status("RETRACT_NEEDLE").code == 1
        scanner.client.send(zframe_image((3.0, 0.0, 0.0), name="ZFRAME_3", seed=2))
        assert console.status("CALIBRATION").code == 1
        assert console.status("TARGET").code == 1
        moved = console.status("MOVE_TO_TARGET")
        assert moved.code == 1, moved
        final, _ = console.until("CURRENT_POSITION")
        plane, _ = console.until("PLANE_0")
        assert isinstance(plane.body, TransformBody)
        assert isinstance(final.body, TransformBody)
        # the robot moved so that the needle still ends on the same scanner-RAS target
        assert np.linalg.norm(final.body.matrix_ras_mm[:3, 3] - [10.0, 10.0, 20.0]) <= 0.2
        needle = final.body.matrix_ras_mm[:3, 2]
        assert abs(float(np.dot(plane.body.matrix_ras_mm[:3, 2], needle))) < 1e-3
        assert first is not None
        assert app.registration is not None
        assert abs(app.registration[0, 3] - first[0, 3]) > 2.0


def test_auto_align_that_the_supervisor_blocks_says_what_blocks_it():
    config = fast_config(**{f"joints__{j}__imaging_safe": False for j in ("front_x_mm",)})
    with (
        RobotApp(config, emulate=True) as app,
        Console(app.address) as console,
        Console(app.address) as scanner,
    ):
        assert start_up(console).code == 13  # scanner state unknown: a piezo may not home
        scanner.string("SCANNER", "STOP_SEQUENCE")
        assert scanner.status("SCANNER").code == 1
        assert start_up(console).code == 1
        scanner.client.send(zframe_image((0.0, 0.0, 0.0)))
        assert console.status("CALIBRATION").code == 1
        console.expect("TRANSFORM:CALIBRATION")
        assert targeting(console).code == 1
        verdict, _ = set_target(console, matrix((10.0, 0.0, 20.0)))
        assert verdict.code == 1
        console.string("AUTO_ALIGN", "ON")
        assert console.status("AUTO_ALIGN").code == 1
        scanner.string("SCANNER", "START_SEQUENCE")
        assert scanner.status("SCANNER").code == 1
        scanner.client.send(zframe_image((3.0, 0.0, 0.0), name="ZFRAME_2", seed=2))
        blocked = console.status("AUTO_ALIGN")
        assert isinstance(blocked, StatusBody)
        assert blocked.code == 13
        assert "scanner_imaging" in blocked.message
