"""EmulatedScanner against a scripted robot, and its Z-frame IMAGE through our codec."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from kinematics import transform_from_rotvec
from robot.console import BrpClientConfig, BrpStatusError, BrpTimeoutError
from robot.igtl import HEADER_SIZE, IgtlMessage, ImageBody, StringBody, decode_frame, encode
from robot.twin import EmulatedScanner, SliceGeometry, axial_slices, render_zframe
from tests.support.fake_robot import FakeRobot, status, transform

FAST = BrpClientConfig(ack_timeout_s=0.3, reply_timeout_s=0.3, action_timeout_s=2.0)
# Dyadic numbers: exact in float32, so the IMAGE header round trip must be bit-exact.
GEOMETRY = SliceGeometry(
    centre_ras_mm=(0.5, -10.25, 30.0),
    row_direction_ras=(-1.0, 0.0, 0.0),
    column_direction_ras=(0.0, -1.0, 0.0),
    pixel_mm=0.5,
    thickness_mm=2.0,
    matrix=(64, 48),
    n_slices=3,
)


@pytest.fixture
def robot():
    with FakeRobot() as fake:
        yield fake


@pytest.fixture
def scanner(robot):
    with EmulatedScanner("127.0.0.1", robot.port, config=FAST) as emulated:
        yield emulated


def test_image_position_field_is_the_volume_centre_and_ijk_to_ras_survives_exactly():
    rendered = render_zframe(np.eye(4), GEOMETRY, snr=None, seed=0)
    frame = encode(EmulatedScanner(port=1).zframe_image(np.eye(4), GEOMETRY, seed=0, snr=None))
    head = struct.unpack_from(">HBBBBHHH12f", frame, HEADER_SIZE)
    assert head[4] == 1  # O = RAS
    assert head[5:8] == (64, 48, 3)  # RI RJ RK: i fastest
    np.testing.assert_array_equal(head[8:11], [-0.5, 0.0, 0.0])  # i direction times spacing
    np.testing.assert_array_equal(head[14:17], [0.0, 0.0, 2.0])  # k: normal times spacing
    assert head[17:20] == (0.5, -10.25, 30.0)  # PX PY PZ = centre, not the first voxel
    decoded = decode_frame(frame)
    assert isinstance(decoded.body, ImageBody)
    np.testing.assert_array_equal(decoded.body.ijk_to_ras, rendered.ijk_to_ras)
    np.testing.assert_array_equal(decoded.body.voxels, rendered.image)
    assert decoded.device_name == "ZFRAME"


def test_oblique_geometry_survives_within_float32_rounding():
    tilt = transform_from_rotvec([0.1, -0.2, 0.3], [0.0, 0.0, 0.0])
    geometry = axial_slices(
        centre_ras_mm=(3.3, 7.7, -12.1),
        pixel_mm=0.7,
        matrix=32,
        n_slices=2,
        T_scanner_from_tilt=tilt,
    )
    frame = encode(EmulatedScanner(port=1).zframe_image(np.eye(4), geometry, seed=1, snr=None))
    decoded = decode_frame(frame).body
    assert isinstance(decoded, ImageBody)
    np.testing.assert_allclose(decoded.ijk_to_ras, geometry.ijk_to_ras(), atol=2e-5)


def test_sequences_expect_status_scanner_ok(robot, scanner):
    robot.expect("SCANNER").reply(status("SCANNER", 1))
    robot.expect("SCANNER").reply(status("SCANNER", 13, 6, "BUSY", "moving"))
    assert scanner.start_sequence().ok
    with pytest.raises(BrpStatusError) as caught:
        scanner.stop_sequence()
    assert caught.value.code == 13
    assert [m.body.text for m in robot.received] == ["START_SEQUENCE", "STOP_SEQUENCE"]


def test_zframe_image_returns_the_robots_calibration(robot, scanner):
    calibration = np.eye(4)
    calibration[:3, 3] = (1.0, 2.0, 3.0)
    robot.expect("IMAGE:ZFRAME").reply(
        status("CALIBRATION", 1), transform("CALIBRATION", calibration)
    )
    result = scanner.send_zframe_image(np.eye(4), GEOMETRY, seed=3, snr=40.0)
    np.testing.assert_array_equal(result.T_reply, calibration)
    sent = robot.received[0].body
    assert isinstance(sent, ImageBody)
    np.testing.assert_array_equal(sent.ijk_to_ras, GEOMETRY.ijk_to_ras())
    assert sent.voxels.dtype == np.uint16


def test_zframe_not_found_raises_calibration_10(robot, scanner):
    robot.expect("IMAGE:ZFRAME").reply(
        status("CALIBRATION", 10, 1, "INVALID_MATRIX", "Z-frame not found (rods): 5 of 7 seen")
    )
    with pytest.raises(BrpStatusError) as caught:
        scanner.send_zframe_image(np.eye(4), GEOMETRY, seed=3)
    assert (caught.value.code, caught.value.sub_code) == (10, 1)


def test_scan_planes_arrive_unsolicited_and_other_messages_are_skipped(robot, scanner):
    plane = transform_from_rotvec([0.0, 0.5, 0.0], [1.0, 2.0, 3.0])
    robot.expect("SCANNER").reply(
        status("SCANNER", 1),
        status("CURRENT_STATUS", 1, 0, "TARGETING"),
        transform("PLANE_0", plane),
    )
    scanner.start_sequence()
    name, pose = scanner.wait_plane(2.0)
    assert name == "PLANE_0"
    np.testing.assert_allclose(pose, plane, atol=1e-6)
    with pytest.raises(BrpTimeoutError, match="PLANE"):
        scanner.wait_plane(0.05)


def test_image_name_must_start_with_zframe():
    with pytest.raises(ValueError, match="ZFRAME"):
        EmulatedScanner(port=1, image_name="MR Image")


def test_send_image_refuses_anything_but_a_zframe_image(scanner):
    other = IgtlMessage(device_name="ZFRAME", body=StringBody(text="not an image"))
    with pytest.raises(ValueError, match="not a ZFRAME"):
        scanner.send_image(other)
