from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from kinematics import (
    KinematicsError,
    NotRigidError,
    T_lps_from_ras,
    T_ras_from_lps,
    check_transform,
    compose,
    from_igtl12,
    invert,
    lps_from_ras_points,
    make_transform,
    ras_from_lps_points,
    rigid_deviation,
    rotation_about_axis,
    rotation_angle_rad,
    to_igtl12,
    transform_from_rotvec,
    transform_points,
    transform_vectors,
)

# OPENIGTLINK.md section 3, G4: 90 deg about S, translation (10, 20, 30) mm, body as hex.
G4_BODY = bytes.fromhex(
    "00000000 3f800000 00000000 bf800000 00000000 00000000 00000000 00000000 3f800000 "
    "41200000 41a00000 41f00000".replace(" ", "")
)


def _g4():
    return make_transform([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], [10, 20, 30])


def test_identity_and_rotations_are_accepted_as_rigid():
    assert np.array_equal(check_transform(np.eye(4)), np.eye(4))
    assert rigid_deviation(_g4()) < 1e-12
    rot = rotation_about_axis([0, 0, 1], math.pi / 2)
    assert np.allclose(rot, _g4()[:3, :3])


@pytest.mark.parametrize(
    ("matrix", "words"),
    [
        (np.ones((4, 4)), "not orthonormal"),
        (np.diag([2.0, 2.0, 2.0, 1.0]), "not orthonormal"),
        (np.diag([-1.0, 1.0, 1.0, 1.0]), "reflection"),
        (np.full((4, 4), np.nan), "non-finite"),
        (np.array([[1, 0.1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]]), "not orthonormal"),
        (np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1.0]]), "bottom row"),
    ],
    ids=["all-ones", "scale", "reflection", "nan", "shear", "bottom-row"],
)
@pytest.mark.hazard("H-08")
def test_non_rigid_matrices_are_rejected_with_the_measured_deviation(matrix, words):
    with pytest.raises(NotRigidError, match=words) as info:
        check_transform(matrix, name="T_scanner_from_robot")
    assert isinstance(info.value, KinematicsError)
    assert info.value.deviation > info.value.tolerance
    assert "T_scanner_from_robot" in str(info.value)


def test_a_scale_error_reports_its_singular_values():
    with pytest.raises(NotRigidError, match=r"singular values 1\.01"):
        check_transform(np.diag([1.01, 1.01, 1.01, 1.0]))


def test_a_rotation_within_tolerance_is_accepted_and_never_orthonormalised():
    nearly = _g4()
    nearly[0, 0] += 1e-8
    out = check_transform(nearly)
    assert out[0, 0] == nearly[0, 0]


def test_wrong_shape_is_a_value_error():
    with pytest.raises(ValueError, match=r"\(4, 4\)"):
        check_transform(np.eye(3))


def test_inverse_composes_to_identity_and_names_chain():
    T_scanner_from_robot = _g4()
    T_robot_from_tip = transform_from_rotvec([0.1, -0.2, 0.3], [1, 2, 3])
    T_scanner_from_tip = compose(T_scanner_from_robot, T_robot_from_tip)
    assert np.allclose(T_scanner_from_tip, T_scanner_from_robot @ T_robot_from_tip)
    assert np.allclose(compose(invert(T_scanner_from_robot), T_scanner_from_robot), np.eye(4))
    p_robot = np.array([[1.0, 2.0, 3.0]])
    assert np.allclose(transform_points(T_scanner_from_robot, p_robot), [[8.0, 21.0, 33.0]])
    assert np.allclose(transform_vectors(T_scanner_from_robot, p_robot), [[-2.0, 1.0, 3.0]])


def test_compose_rejects_a_non_rigid_operand_and_needs_one():
    with pytest.raises(NotRigidError, match="operand 1"):
        compose(np.eye(4), np.diag([1.0, 1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="at least one"):
        compose()


def test_lps_point_maps_to_ras_by_negating_x_and_y_and_back():
    p_lps = np.array([[10.0, -20.0, 30.0]])
    p_ras = ras_from_lps_points(p_lps)
    assert np.array_equal(p_ras, [[-10.0, 20.0, 30.0]])
    assert np.array_equal(lps_from_ras_points(p_ras), p_lps)
    assert np.array_equal(transform_points(T_ras_from_lps(), p_lps), p_ras)
    assert np.array_equal(T_ras_from_lps() @ T_lps_from_ras(), np.eye(4))


@pytest.mark.hazard("H-08")
def test_a_missed_lps_flip_would_mirror_the_target():
    # A patient-left target (LPS x > 0) must be at RAS x < 0.
    assert ras_from_lps_points([50.0, 0.0, 0.0])[0, 0] == -50.0


@pytest.mark.hazard("H-08")
def test_igtl12_matches_the_golden_vector_g4_byte_for_byte():
    values = to_igtl12(_g4())
    packed = struct.pack(">12f", *values)
    assert packed == G4_BODY


def test_igtl12_golden_body_decodes_to_the_transform():
    values = np.array(struct.unpack(">12f", G4_BODY), dtype=np.float64)
    assert np.allclose(from_igtl12(values), _g4(), atol=1e-7)


def test_igtl12_round_trip_through_float32_is_accepted():
    tf = transform_from_rotvec([0.3, -0.5, 0.7], [123.4, -56.7, 89.0])
    values32 = to_igtl12(tf).astype(np.float32).astype(np.float64)
    assert np.allclose(from_igtl12(values32), tf, atol=1e-4)


def test_igtl12_order_is_column_major_rotation_then_translation():
    rot = rotation_about_axis([1, 2, 3], 0.4)
    values = to_igtl12(make_transform(rot, [7, 8, 9]))
    assert np.allclose(values[:3], rot[:, 0])
    assert np.allclose(values[3:6], rot[:, 1])
    assert np.allclose(values[6:9], rot[:, 2])
    assert np.array_equal(values[9:], [7, 8, 9])


def test_igtl12_rejects_a_scaled_body_and_a_wrong_length():
    values = to_igtl12(np.eye(4))
    values[:9] *= 1.1
    with pytest.raises(NotRigidError):
        from_igtl12(values)
    with pytest.raises(ValueError, match="12 values"):
        from_igtl12(np.zeros(11))


def test_rotation_angle_is_recovered_near_zero_and_near_pi():
    for angle in (0.0, 1e-7, 0.5, math.pi - 1e-6, math.pi):
        assert rotation_angle_rad(rotation_about_axis([0.2, 1, -0.3], angle)) == pytest.approx(
            angle, abs=1e-6
        )


def test_rotation_about_a_zero_axis_is_refused():
    with pytest.raises(ValueError, match="non-zero axis"):
        rotation_about_axis([0, 0, 0], 1.0)
