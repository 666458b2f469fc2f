"""The robot configuration: schema, validation naming the key, precedence, generated docs."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from hal import JointKind as HalJointKind
from hal import PiezoConfig
from kinematics import CartesianRcmRobot, JointKind
from robot.cli.main import main
from robot.config import (
    SCHEMA,
    ConfigError,
    default_config_text,
    load_config,
    render_key_tables,
    render_markdown,
)
from robot.runtime.schema import JOINT_NAMES, MODEL_JOINTS, model_keys, schema_for

ROOT = Path(__file__).resolve().parents[3]


def flatten(table, prefix=""):
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_the_default_robot_file_sets_every_key_to_its_schema_default():
    values = flatten(tomllib.loads(default_config_text()))
    assert set(values) == set(SCHEMA)
    for key, spec in SCHEMA.items():
        assert values[key] == spec.default, key


def test_the_committed_configuration_doc_holds_the_generated_key_table():
    text = (ROOT / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8")
    assert render_markdown() in text


def test_the_default_robot_builds_every_package_config():
    config = load_config(environ={})
    assert [a.name for a in config.controller.axes] == list(JOINT_NAMES)
    assert [j.name for j in config.supervisor.joints] == list(JOINT_NAMES)
    assert [j.name for j in config.guide.joints] == list(JOINT_NAMES)
    assert config.server.host == "127.0.0.1"
    assert config.server.port == 18944
    assert config.controller.axes[0].max_speed == pytest.approx(10.0)
    assert all(config.sources[k] == "file (default robot)" for k in SCHEMA)


def test_an_unknown_key_in_a_file_fails_naming_it(tmp_path):
    path = tmp_path / "robot.toml"
    path.write_text('[robot]\nmodel = "two-plane"\n[network]\nprot = 1\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key network\.prot = 1") as info:
        load_config(path, environ={})
    assert info.value.key == "network.prot"


def test_a_file_that_cannot_be_read_fails_naming_it(tmp_path):
    with pytest.raises(ConfigError, match=r"cannot read the robot configuration .*absent\.toml"):
        load_config(tmp_path / "absent.toml", environ={})


def test_a_file_that_is_not_toml_fails(tmp_path):
    path = tmp_path / "robot.toml"
    path.write_text("[robot\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, environ={})


def test_a_file_must_name_its_model(tmp_path):
    path = tmp_path / "robot.toml"
    path.write_text("[network]\nport = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"missing required key robot\.model"):
        load_config(path, environ={})


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("network.port", 70000, r"network\.port = 70000 -: above the maximum 65535"),
        ("safety.lease_s", 0.0, r"safety\.lease_s = 0\.0 s: below the minimum 0\.01"),
        ("joints.insertion_mm.step_mm", "fine", r"joints\.insertion_mm\.step_mm = 'fine'"),
        ("safety.imaging_interlock_required", 1, "expected true or false"),
        ("tool.kind", "laser", "expected one of"),
        ("zframe.mount_translation_mm", [1.0, 2.0], "expected 3 numbers"),
    ],
)
def test_a_bad_value_fails_naming_the_key_value_and_unit(key, value, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_config(overrides={key: value}, environ={})
    assert info.value.key == key


def test_values_that_do_not_fit_together_fail():
    with pytest.raises(ConfigError, match="min_mm"):
        load_config(overrides={"joints.front_x_mm.min_mm": 70.0}, environ={})
    with pytest.raises(ConfigError, match=r"network\.host"):
        load_config(overrides={"network.host": "0.0.0.0"}, environ={})  # noqa: S104
    config = load_config(
        overrides={"network.host": "0.0.0.0", "network.allow": ["10.0.0.0/24"]},  # noqa: S104
        environ={},
    )
    assert len(config.server.allowed_peers) == 1


def test_precedence_is_command_line_then_environment_then_file_then_defaults(tmp_path):
    path = tmp_path / "robot.toml"
    path.write_text(
        '[robot]\nmodel = "two-plane"\n[network]\nport = 2000\n[safety]\nlease_s = 0.5\n',
        encoding="utf-8",
    )
    env = {"MRBOT_NETWORK_PORT": "3000", "MRBOT_SAFETY_IMAGING_INTERLOCK_REQUIRED": "false"}
    config = load_config(path, overrides={"network.port": 4000}, environ=env)
    assert config.values["network.port"] == 4000
    assert config.sources["network.port"] == "command line"
    assert config.values["safety.imaging_interlock_required"] is False
    assert config.sources["safety.imaging_interlock_required"].startswith("env MRBOT_SAFETY_")
    assert config.supervisor.lease_s == 0.5
    assert config.sources["safety.lease_s"] == f"file {path}"
    assert config.sources["runtime.control_rate_hz"] == "default"
    without_cli = load_config(path, environ=env)
    assert without_cli.server.port == 3000


def test_a_bad_environment_value_fails_naming_the_variable():
    with pytest.raises(ConfigError, match="MRBOT_NETWORK_PORT='x'"):
        load_config(environ={"MRBOT_NETWORK_PORT": "x"})


def test_config_show_prints_every_key_with_its_source(capsys):
    assert main(["config", "show", "--set", "network.port=1234"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == len(SCHEMA)
    line = next(x for x in out.splitlines() if x.startswith("network.port"))
    assert "1234" in line
    assert "[command line" in line


def test_config_show_reports_a_bad_key_with_exit_code_2(capsys):
    assert main(["config", "show", "--set", "network.prot=1"]) == 2
    assert "network.prot" in capsys.readouterr().err


def test_an_axis_can_be_a_piezo_with_its_own_speed_limit():
    config = load_config(
        overrides={
            "joints.insertion_mm.axis": "piezo",
            "joints.insertion_mm.piezo_max_speed_mm_s": 5.0,
            "joints.insertion_mm.imaging_safe": False,
        },
        environ={},
    )
    axis = config.controller.axes[-1]
    assert isinstance(axis, PiezoConfig)
    assert axis.max_speed == 5.0
    joint = config.supervisor.joints[-1]
    assert (joint.max_speed, joint.imaging_safe, joint.insertion) == (5.0, False, True)
    assert config.guide.joints[-1].max_velocity == 5.0


RCM_FILE = ROOT / "robot" / "data" / "cartesian_rcm.toml"


def test_the_shipped_rcm_robot_file_sets_every_key_of_its_model_to_its_default_but_one():
    values = flatten(tomllib.loads(RCM_FILE.read_text(encoding="utf-8")))
    schema = schema_for("cartesian-rcm")
    assert set(values) == set(schema)
    # the emulator homes the tilts slowly (the file says why): a longer homing time-out
    assert values["safety.homing_timeout_s"] == 120.0
    for key, spec in schema.items():
        if key != "safety.homing_timeout_s":
            assert values[key] == spec.default, key


def test_the_rcm_robot_builds_its_joints_once_for_the_hal_safety_and_kinematics():
    config = load_config(RCM_FILE, environ={})
    names = list(MODEL_JOINTS["cartesian-rcm"])
    assert config.model == "cartesian-rcm"
    assert isinstance(config.robot(), CartesianRcmRobot)
    assert [j.name for j in config.joints] == names
    assert [a.name for a in config.controller.axes] == names
    assert [j.name for j in config.supervisor.joints] == names
    assert [j.name for j in config.robot().joints] == names
    tilt = config.controller.axes[names.index("tilt_a_rad")]
    assert tilt.kind is HalJointKind.ROTARY
    assert tilt.max_speed == pytest.approx(0.1)  # 1e-4 rad x 1000 Hz
    assert config.robot().joints[3].kind is JointKind.REVOLUTE
    assert [j.insertion for j in config.supervisor.joints] == [False] * 5 + [True]
    assert config.robot(100.0).tool.length_mm == 100.0


def test_a_key_of_another_model_fails_as_unknown(tmp_path):
    path = tmp_path / "robot.toml"
    path.write_text(
        '[robot]\nmodel = "cartesian-rcm"\nfront_plane_z_mm = -60.0\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"unknown key robot\.front_plane_z_mm") as info:
        load_config(path, environ={})
    assert info.value.key == "robot.front_plane_z_mm"


def test_an_unknown_model_fails_naming_the_key():
    with pytest.raises(ConfigError, match=r"robot\.model = 'scara'") as info:
        load_config(overrides={"robot.model": "scara"}, environ={})
    assert info.value.key == "robot.model"


def test_a_rotary_joint_limit_that_does_not_fit_fails_in_its_unit():
    with pytest.raises(ConfigError, match=r"min_rad = 0\.6 rad") as info:
        load_config(RCM_FILE, overrides={"joints.tilt_b_rad.min_rad": 0.6}, environ={})
    assert info.value.key == "joints.tilt_b_rad.min_rad"


def test_the_configuration_doc_holds_every_model_key_table():
    text = (ROOT / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8")
    assert render_key_tables() in text
    assert render_markdown(model_keys("cartesian-rcm")) in text


def test_config_show_prints_the_keys_of_the_files_model(capsys):
    assert main(["config", "show", "--config", str(RCM_FILE)]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == len(schema_for("cartesian-rcm"))
    assert any(line.startswith("joints.tilt_a_rad.min_rad") for line in out.splitlines())
