"""EmulatedScanner against the real robot: imaging interlock, Z-frame registration, PLANE_0."""

from __future__ import annotations

import numpy as np
import pytest

from kinematics import transform_from_rotvec
from robot.app import RobotApp
from robot.bench.kinematics import zframe_stack_geometry
from robot.console import (
    BrpClient,
    BrpStatusError,
    BrpTimeoutError,
    PhaseResult,
    target_transform,
)
from robot.twin import EmulatedScanner
from tests.support.robot_app import fast_config


def ok(result: PhaseResult) -> bool:
    return result.status is not None and result.status.ok


# a real control loop, emulator and Z-frame detection. Images are rendered before START_UP: the
# renderer holds the GIL long enough to starve the in-process emulator's telemetry past the link
# time-out (a FAULT), which is a property of the test rig, not of the protocol.
pytestmark = pytest.mark.slow


def pose(translation_mm, rotvec_deg=(0.0, 0.0, 0.0)) -> np.ndarray:
    return transform_from_rotvec(np.radians(rotvec_deg), np.asarray(translation_mm, float))


@pytest.fixture
def app():
    with RobotApp(fast_config(), emulate=True, port=0) as robot:
        yield robot


def test_sequences_set_and_clear_the_robots_imaging_interlock(app):
    with EmulatedScanner(*app.address) as scanner:
        assert scanner.start_sequence().ok
        assert app.core is not None
        assert app.core.scanner_imaging is True
        assert scanner.stop_sequence().ok
        assert app.core.scanner_imaging is False


def test_a_rendered_zframe_image_registers_the_robot_near_the_truth(app):
    truth = pose((4.0, -3.0, 2.0), (2.0, -1.0, 3.0))
    with BrpClient(*app.address) as console, EmulatedScanner(*app.address) as scanner:
        image = scanner.zframe_image(truth, zframe_stack_geometry(), seed=1, snr=20.0)
        console.start_up()
        result = scanner.send_image(image)
        assert result.status.ok
        assert result.T_reply is not None
        assert np.linalg.norm(result.T_reply[:3, 3] - truth[:3, 3]) < 0.5
        assert app.registration is not None
        assert ok(console.targeting())  # the console sees the robot calibrated


def test_an_image_of_nothing_is_refused_with_calibration_10(app):
    far_away = pose((0.0, 0.0, 400.0))  # the frame lies outside every slice
    with EmulatedScanner(*app.address) as scanner, pytest.raises(BrpStatusError) as refused:
        scanner.send_zframe_image(far_away, zframe_stack_geometry(), seed=1, snr=20.0)
    assert refused.value.code == 10
    assert "Z-frame" in refused.value.detail


def test_re_alignment_after_a_new_registration_sends_plane_0_to_the_scanner(app):
    geometry = zframe_stack_geometry()
    with BrpClient(*app.address) as console, EmulatedScanner(*app.address) as scanner:
        first = scanner.zframe_image(pose((0.0, 0.0, 0.0)), geometry, seed=1, snr=20.0)
        second = scanner.zframe_image(pose((3.0, 0.0, 0.0)), geometry, seed=2, snr=20.0)
        console.start_up()
        scanner.send_image(first)
        console.targeting()
        console.set_target(target_transform((10.0, 10.0, 20.0)))
        console.move_to_target()
        # re-alignment moves the guide sideways: only with the needle out (issue: safety
        # checked against physical truth); the needle comes out first
        console.retract_needle()
        assert console.auto_align(on=True).ok
        moved = scanner.send_image(second)
        assert moved.status.ok
        try:
            name, plane = scanner.wait_plane(5.0)
        except BrpTimeoutError as err:
            faults = [f.describe() for f in console.view.faults]
            raise AssertionError(f"no PLANE_0; robot faults: {faults}") from err
    assert name == "PLANE_0"
    np.testing.assert_allclose(plane[:3, 3], [10.0, 10.0, 20.0], atol=0.2)  # through the tip
    assert abs(np.linalg.det(plane[:3, :3]) - 1.0) < 1e-5
