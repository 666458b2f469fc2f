"""``mrbot kinematics`` through ``robot.cli.main.main``: ik, render-zframe, register."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kinematics import transform_from_rotvec
from robot.cli.main import main


def test_ik_prints_joint_values_for_a_reachable_target(capsys):
    assert main(["kinematics", "ik", "--target", "10", "20", "30"]) == 0
    out = capsys.readouterr().out
    assert "reachable (two-plane, needle)" in out
    assert "front_x_mm = 10.000" in out
    assert "insertion_mm = 90.000" in out


def test_ik_with_an_entry_point_on_the_rcm_robot(capsys):
    code = main(
        [
            "kinematics",
            "ik",
            "--robot",
            "rcm",
            "--target",
            "0",
            "0",
            "10",
            "--entry",
            "5",
            "0",
            "-50",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "pivot_z_mm = -50.000" in out
    assert "deg)" in out


def test_ik_exits_1_and_says_why_a_target_is_unreachable(capsys):
    assert main(["kinematics", "ik", "--target", "100", "0", "0"]) == 1
    out = capsys.readouterr().out
    assert "unreachable (JOINT_LIMIT)" in out
    assert "front_x_mm would be 100.0 mm, 40.0 mm beyond its upper limit of 60.0 mm" in out


def test_ik_applies_the_registration_file(tmp_path, capsys):
    T_scanner_from_robot = transform_from_rotvec([0, 0, 0], [100.0, 0.0, 0.0])
    reg = tmp_path / "reg.json"
    reg.write_text(json.dumps({"T_scanner_from_robot": T_scanner_from_robot.tolist()}))
    assert main(["kinematics", "ik", "--target", "110", "0", "0", "--registration", str(reg)]) == 0
    assert "front_x_mm = 10.000" in capsys.readouterr().out


def test_ik_refuses_a_non_rigid_registration_with_exit_2(tmp_path, capsys):
    reg = tmp_path / "reg.json"
    reg.write_text(json.dumps({"T_scanner_from_robot": np.diag([2.0, 2, 2, 1]).tolist()}))
    assert main(["kinematics", "ik", "--target", "0", "0", "0", "--registration", str(reg)]) == 2
    assert "not a rigid transform" in capsys.readouterr().out


def test_ik_refuses_a_registration_file_without_the_matrix(tmp_path, capsys):
    reg = tmp_path / "reg.json"
    reg.write_text("{}")
    assert main(["kinematics", "ik", "--target", "0", "0", "0", "--registration", str(reg)]) == 2
    assert "no 'T_scanner_from_robot' entry" in capsys.readouterr().out


def test_render_then_register_recovers_the_pose(tmp_path, capsys):
    image = tmp_path / "zframe.npy"
    code = main(
        [
            "kinematics",
            "render-zframe",
            str(image),
            "--translation-mm",
            "4",
            "-3",
            "2",
            "--rotation-deg",
            "3",
            "-4",
            "20",
            "--matrix",
            "160",
            "--slices",
            "3",
            "--spacing-mm",
            "8",
            "--seed",
            "1",
        ]
    )
    assert code == 0
    sidecar = json.loads(image.with_suffix(".json").read_text())
    assert np.load(image).shape == (3, 160, 160)
    assert np.asarray(sidecar["ijk_to_ras"]).shape == (4, 4)
    capsys.readouterr()
    result = tmp_path / "pose.json"
    assert main(["kinematics", "register", str(image), "--output", str(result)]) == 0
    out = capsys.readouterr().out
    assert "rms_residual_mm" in out
    assert "predicted_tre_mm at 150 mm" in out
    found = np.asarray(json.loads(result.read_text())["T_scanner_from_zframe"])
    truth = np.asarray(sidecar["T_scanner_from_zframe_truth"])
    assert np.linalg.norm(found[:3, 3] - truth[:3, 3]) < 0.3


def test_register_with_a_mount_feeds_ik_end_to_end(tmp_path, capsys):
    image = tmp_path / "zf.npy"
    args = ["kinematics", "render-zframe", str(image), "--translation-mm", "0", "0", "100"]
    assert main([*args, "--centre-mm", "0", "0", "100", "--matrix", "160"]) == 0
    mount = tmp_path / "mount.json"
    T_zframe_from_robot = transform_from_rotvec([0, 0, 0], [0.0, 0.0, -90.0])
    mount.write_text(json.dumps({"T_zframe_from_robot": T_zframe_from_robot.tolist()}))
    reg = tmp_path / "reg.json"
    register = ["kinematics", "register", str(image), "--mount", str(mount), "--output", str(reg)]
    assert main(register) == 0
    T_scanner_from_robot = np.asarray(json.loads(reg.read_text())["T_scanner_from_robot"])
    assert np.allclose(T_scanner_from_robot[:3, 3], [0.0, 0.0, 10.0], atol=0.3)
    capsys.readouterr()
    # Robot origin sits at S = 10 mm: a target at S = 40 mm is 30 mm along its insertion axis.
    assert main(["kinematics", "ik", "--target", "0", "0", "40", "--registration", str(reg)]) == 0
    out = capsys.readouterr().out
    assert "insertion_mm = 90.0" in out


def test_register_exits_1_with_the_reason_for_an_empty_image(tmp_path, capsys):
    image = tmp_path / "empty.npy"
    np.save(image, np.zeros((64, 64), dtype=np.uint16))
    image.with_suffix(".json").write_text(json.dumps({"ijk_to_ras": np.eye(4).tolist()}))
    assert main(["kinematics", "register", str(image)]) == 1
    assert "no Z-frame pose (constant_image)" in capsys.readouterr().out


def test_register_exits_2_when_the_sidecar_is_missing(tmp_path, capsys):
    image = tmp_path / "lonely.npy"
    np.save(image, np.zeros((64, 64), dtype=np.uint16))
    assert main(["kinematics", "register", str(image)]) == 2
    assert "cannot load" in capsys.readouterr().out


def test_render_refuses_a_non_npy_output(tmp_path, capsys):
    assert main(["kinematics", "render-zframe", str(tmp_path / "x.png")]) == 2
    assert ".npy" in capsys.readouterr().out


def test_kinematics_needs_an_action():
    with pytest.raises(SystemExit):
        main(["kinematics"])
