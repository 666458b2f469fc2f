"""Console command parsing and the target/calibration transforms it builds (RAS mm)."""

from __future__ import annotations

import numpy as np
import pytest

from kinematics import check_transform
from robot.console import calibration_from_text, target_transform
from robot.console.commands import parse_command, split_commands


def test_scripts_split_on_semicolons_and_lines_and_drop_comments():
    text = "start_up; status  # ask\n\n# a comment line\ntarget 1 2 3 ;move"
    assert split_commands(text) == ["start_up", "status", "target 1 2 3", "move"]


def test_target_without_entry_is_the_identity_orientation_at_the_point():
    pose = parse_command("target 10 -20.5 30").matrix
    expected = np.eye(4)
    expected[:3, 3] = (10.0, -20.5, 30.0)
    np.testing.assert_array_equal(pose, expected)


@pytest.mark.parametrize(
    ("entry", "target"),
    [
        ((0.0, 0.0, 100.0), (0.0, 0.0, 0.0)),
        ((-50.0, 0.0, 0.0), (10.0, 0.0, 0.0)),
        ((3.0, -40.0, 70.0), (12.5, 8.0, -5.0)),
    ],
)
def test_target_with_entry_points_the_needle_axis_from_entry_to_target(entry, target):
    pose = target_transform(target, entry)
    check_transform(pose)
    direction = np.subtract(target, entry) / np.linalg.norm(np.subtract(target, entry))
    np.testing.assert_allclose(pose[:3, 2], direction, atol=1e-12)
    np.testing.assert_array_equal(pose[:3, 3], target)
    assert np.linalg.det(pose[:3, :3]) == pytest.approx(1.0)


def test_target_with_entry_on_the_target_is_refused():
    with pytest.raises(ValueError, match=r"0\.500 mm apart"):
        target_transform((0, 0, 0), (0, 0, 0.5))


def test_target_entry_option_parses_after_the_point():
    pose = parse_command("target 0 0 0 --entry 0 0 80").matrix
    assert pose is not None
    np.testing.assert_allclose(pose[:3, 2], [0.0, 0.0, -1.0])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("fly", "unknown command"),
        ("target 1 2", "X Y Z"),
        ("target 1 2 x", "target"),
        ("target 1 2 3 --entry 1 2", "--entry needs"),
        ("move now", "no arguments"),
        ("calibrate", "identity"),
        ("calibrate 1 2 3", "12 or 16"),
        ("needle_length", "one number"),
        ("auto_align maybe", "on or off"),
        ("start_up 'unclosed", "cannot split"),
    ],
)
def test_bad_commands_say_what_is_wrong(text, match):
    with pytest.raises(ValueError, match=match):
        parse_command(text)


def test_calibration_from_twelve_numbers_uses_the_openigtlink_column_order():
    matrix = calibration_from_text("0 1 0 -1 0 0 0 0 1 10 20 30")
    expected = np.array([[0.0, -1, 0, 10], [1, 0, 0, 20], [0, 0, 1, 30], [0, 0, 0, 1]])
    np.testing.assert_array_equal(matrix, expected)


def test_calibration_from_a_file_of_sixteen_numbers_is_row_major(tmp_path):
    path = tmp_path / "clb.txt"
    path.write_text("1 0 0 5\n0 1 0 6\n0 0 1 7\n0 0 0 1\n", encoding="ascii")
    matrix = parse_command(f"calibrate {path}").matrix
    assert matrix is not None
    np.testing.assert_array_equal(matrix[:3, 3], [5.0, 6.0, 7.0])
    assert calibration_from_text("IDENTITY").tolist() == np.eye(4).tolist()


def test_calibration_file_that_is_missing_or_has_a_bad_last_row_is_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        calibration_from_text(str(tmp_path / "missing.txt"))
    bad = tmp_path / "bad.txt"
    bad.write_text(" ".join(["1"] * 16), encoding="ascii")
    with pytest.raises(ValueError, match="last row"):
        calibration_from_text(str(bad))


def test_flags_and_numbers_parse():
    assert parse_command("auto_align ON").flag is True
    assert parse_command("needle_length 150.5").number == 150.5
