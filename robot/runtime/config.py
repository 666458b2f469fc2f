"""Load a robot TOML file into frozen configs, with command line > ``MRBOT_*`` > file > defaults.

:func:`load_config` reads the file with ``tomllib``, checks every key against
:data:`~robot.runtime.schema.SCHEMA` (unknown keys, wrong types and out-of-range values fail
naming the dotted key, value and unit), applies the environment and command-line overrides and
builds each package's own frozen config (HAL axes, supervisor joints, kinematic model, server).
``robot.model`` chooses the kinematic model and with it the key table (the model's geometry and
joints); each joint's keys become one :class:`~robot.runtime.joints.JointDescription`, from
which its HAL axis, supervisor joint and kinematic joint are built.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np

from hal import ControllerConfig, PneumaticStepperConfig
from kinematics import (
    CartesianRcmConfig,
    CartesianRcmRobot,
    ToolKind,
    ToolModel,
    TwoPlaneGuide,
    TwoPlaneGuideConfig,
    transform_from_rotvec,
)
from robot.errors import RobotError
from robot.igtl import ServerConfig, parse_endpoint
from robot.runtime.joints import JointDescription
from robot.runtime.schema import (
    DEFAULT_MODEL,
    MODEL_JOINTS,
    MODELS,
    check_value,
    joint_unit,
    schema_for,
)
from safety import SupervisorConfig

if TYPE_CHECKING:
    from collections.abc import Mapping

    from kinematics import JointSpec, NeedleRobot, Transform
    from robot.runtime.schema import Key

__all__ = [
    "ENV_PREFIX",
    "AuditSettings",
    "ConfigError",
    "ModelConfig",
    "RobotConfig",
    "RuntimeSettings",
    "default_config_text",
    "env_name",
    "load_config",
]

ENV_PREFIX: Final = "MRBOT_"
_DEFAULT_RESOURCE: Final = "default_robot.toml"
#: Keys every robot file must set (the rest default).
_REQUIRED: Final = ("robot.model",)

#: The configuration of one of the kinematic models ``robot.model`` may name.
ModelConfig = TwoPlaneGuideConfig | CartesianRcmConfig


class ConfigError(RobotError, ValueError):
    """A configuration key is unknown, missing, mistyped or out of range.

    Attributes:
        key: the dotted key at fault ("" for the file as a whole).
    """

    def __init__(self, message: str, *, key: str = "") -> None:
        super().__init__(message)
        self.key = key


def env_name(key: str) -> str:
    """The environment variable overriding ``key`` (``network.port`` -> ``MRBOT_NETWORK_PORT``)."""
    return ENV_PREFIX + key.replace(".", "_").upper()


def default_config_text() -> str:
    """The default robot TOML shipped in ``robot/data``."""
    return resources.files("robot.data").joinpath(_DEFAULT_RESOURCE).read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeSettings:
    """Control-loop settings.

    Attributes:
        control_rate_hz: control loop rate (Hz).
        position_period_s: CURRENT_POSITION period while moving (s).
        arrival_tolerance_mm: linear joint within this of its goal counts as arrived (mm).
        arrival_tolerance_rad: rotary joint within this of its goal counts as arrived (rad).
        motion_timeout_factor: a segment overrunning its plan by this factor (+1 s) faults.
        homing_timeout_s: longest homing (s).
        stop_timeout_s: longest wait for standstill after STOP/EMERGENCY (s).
        realign_threshold_mm: registration change at the target that re-aligns (mm).
    """

    control_rate_hz: float
    position_period_s: float
    arrival_tolerance_mm: float
    arrival_tolerance_rad: float
    motion_timeout_factor: float
    homing_timeout_s: float
    stop_timeout_s: float
    realign_threshold_mm: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditSettings:
    """Where ``mrbot serve`` keeps its audit sessions, and for how long.

    Attributes:
        directory: the session folder (``audit.dir``); ``None`` = the platform's user state
            folder + ``mrbot/audit`` (chosen by :mod:`robot.records`).
        keep_sessions: session files kept at server start, the new one included (0 = all).
        max_age_days: session files last written longer ago are deleted at start (0 = never).
    """

    directory: Path | None
    keep_sessions: int
    max_age_days: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RobotConfig:
    """A robot, built from the TOML file and its overrides.

    Attributes:
        values: every dotted key -> its value.
        sources: every dotted key -> where the value came from (``default``, ``file <path>``,
            ``env MRBOT_...``, ``command line``).
        model: the kinematic model (``robot.model``: ``two-plane`` or ``cartesian-rcm``).
        joints: the one description of each joint, in wire order (= kinematic joint order).
        controller: HAL controller and axes (wire order = kinematic joint order).
        supervisor: supervisor joints, lease and time-outs.
        guide: kinematic model configuration (of ``model``).
        server: OpenIGTLink server configuration.
        serial_url: controller URL ("" = none configured).
        baud: serial baud rate.
        T_zframe_from_robot: mount of the robot on the Z-frame (mm).
        runtime: control-loop settings.
        emulator_homing_speed_mm_s: homing speed of the emulated firmware (mm/s).
        emulator_telemetry_period_ms: telemetry period of the emulated firmware (ms).
        audit: audit session folder and retention.
        protocol_profile: the BRP workphase protocol variant (``network.profile``).
    """

    values: Mapping[str, object]
    sources: Mapping[str, str]
    model: str
    joints: tuple[JointDescription, ...]
    controller: ControllerConfig
    supervisor: SupervisorConfig
    guide: ModelConfig
    server: ServerConfig
    serial_url: str
    baud: int
    T_zframe_from_robot: Transform = field(repr=False)
    runtime: RuntimeSettings
    emulator_homing_speed_mm_s: float
    emulator_telemetry_period_ms: int
    audit: AuditSettings
    protocol_profile: str = "brp-2021"

    @property
    def schema(self) -> Mapping[str, Key]:
        """The key table of this robot's model (its keys are those of :attr:`values`)."""
        return schema_for(self.model)

    def robot(self, tool_length_mm: float | None = None) -> NeedleRobot:
        """The kinematic model, optionally with another tool length (mm).

        Raises:
            ValueError: a tool length that is not finite and > 0.
        """
        guide = self.guide
        if tool_length_mm is not None:
            tool = guide.tool
            new_tool = ToolModel(
                kind=tool.kind,
                length_mm=tool_length_mm,
                tip_offset_mm=tool.tip_offset_mm,
                diameter_mm=tool.diameter_mm,
            )
            guide = dataclasses.replace(guide, tool=new_tool)
        return _model_of(guide)


def _model_of(guide: ModelConfig) -> NeedleRobot:
    """The kinematic model a model configuration describes."""
    if isinstance(guide, CartesianRcmConfig):
        return CartesianRcmRobot(guide)
    return TwoPlaneGuide(guide)


def _flatten(table: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            out.update(_flatten(value, key + "."))
        else:
            out[key] = value
    return out


def _parse_bool(text: str) -> bool:
    if text.lower() not in {"true", "false"}:
        raise ValueError(f"expected true or false, got {text!r}")
    return text.lower() == "true"


def _parse_env(schema: Mapping[str, Key], key: str, text: str) -> object:
    kind = schema[key].kind
    name = env_name(key)
    try:
        if kind == "float":
            return float(text)
        if kind == "int":
            return int(text)
        if kind == "bool":
            return _parse_bool(text)
        if kind == "str_list":
            return [part.strip() for part in text.split(",") if part.strip()]
        if kind == "vec3":
            return [float(part) for part in text.split(",")]
    except ValueError as err:
        raise ConfigError(f"{name}={text!r} (key {key}): {err}", key=key) from err
    return text


def _read_file(path: Path | None) -> tuple[dict[str, object], str]:
    if path is None:
        text, origin = default_config_text(), "file (default robot)"
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"cannot read the robot configuration {path}: {err}") from err
        origin = f"file {path}"
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{origin}: not valid TOML: {err}") from err
    return _flatten(table), origin


def load_config(
    path: Path | None = None,
    *,
    overrides: Mapping[str, object] | None = None,
    environ: Mapping[str, str] | None = None,
) -> RobotConfig:
    """Load a robot: defaults, then the file, then ``MRBOT_*`` variables, then ``overrides``.

    Args:
        path: the robot TOML; ``None`` = the shipped default robot.
        overrides: dotted key -> value from the command line.
        environ: environment (default ``os.environ``).

    Raises:
        ConfigError: an unknown, missing or bad key (named with its value and unit), or values
            that do not fit together.
    """
    env = os.environ if environ is None else environ
    file_values, origin = _read_file(path)
    missing = [k for k in _REQUIRED if k not in file_values]
    if missing:
        raise ConfigError(f"{origin}: missing required key {missing[0]}", key=missing[0])
    schema = schema_for(_model(file_values, origin, env, overrides or {}))
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for key, spec in schema.items():
        values[key], sources[key] = spec.default, "default"
    for key, value in file_values.items():
        if key not in schema:
            raise ConfigError(f"{origin}: unknown key {key} = {value!r}", key=key)
        values[key], sources[key] = value, origin
    known_env = {env_name(k): k for k in schema}
    for name, text in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        env_key = known_env.get(name)
        if env_key is None:
            continue  # other MRBOT_* variables (MRBOT_HW_PORT, ...) are not configuration keys
        values[env_key], sources[env_key] = _parse_env(schema, env_key, text), f"env {name}"
    for key, value in (overrides or {}).items():
        if key not in schema:
            raise ConfigError(f"command line: unknown key {key} = {value!r}", key=key)
        values[key], sources[key] = value, "command line"
    for key, value in list(values.items()):
        try:
            values[key] = check_value(schema[key], value)
        except (ValueError, TypeError) as err:
            raise ConfigError(f"{sources[key]}: {err}", key=key) from err
    return _build(values, sources)


def _model(
    file_values: Mapping[str, object],
    origin: str,
    env: Mapping[str, str],
    overrides: Mapping[str, object],
) -> str:
    """The model the robot names: command line, then ``MRBOT_ROBOT_MODEL``, then the file."""
    key = "robot.model"
    if key in overrides:
        model, source = overrides[key], "command line"
    elif env_name(key) in env:
        model, source = env[env_name(key)], f"env {env_name(key)}"
    else:
        model, source = file_values.get(key, DEFAULT_MODEL), origin
    if not isinstance(model, str) or model not in MODELS:
        raise ConfigError(f"{source}: {key} = {model!r}: expected one of {list(MODELS)}", key=key)
    return model


def _f(values: Mapping[str, object], key: str) -> float:
    value = values[key]
    assert isinstance(value, float)  # noqa: S101 - canonical form from check_value
    return value


def _build(values: dict[str, object], sources: dict[str, str]) -> RobotConfig:
    try:
        return _build_unchecked(values, sources)
    except ConfigError:
        raise
    except (ValueError, TypeError) as err:
        raise ConfigError(f"the configuration does not fit together: {err}") from err


def _joint(values: Mapping[str, object], name: str, *, insertion: bool) -> JointDescription:
    """The one description of joint ``name`` from its ``joints.<name>.*`` keys."""
    u = joint_unit(name)
    p = f"joints.{name}."
    lo, hi = _f(values, f"{p}min_{u}"), _f(values, f"{p}max_{u}")
    if lo >= hi:
        raise ConfigError(
            f"{p}min_{u} = {lo} {u} must be below {p}max_{u} = {hi} {u}", key=f"{p}min_{u}"
        )
    return JointDescription(
        name=name,
        axis=str(values[p + "axis"]),
        lower=lo,
        upper=hi,
        step=_f(values, f"{p}step_{u}"),
        max_step_rate_hz=_f(values, p + "max_step_rate_hz"),
        piezo_max_speed=_f(values, f"{p}piezo_max_speed_{u}_s"),
        max_acceleration=_f(values, f"{p}max_accel_{u}_s2"),
        following_error_limit=_f(values, f"{p}following_error_limit_{u}"),
        imaging_safe=bool(values[p + "imaging_safe"]),
        insertion=insertion,
    )


def _model_config(
    model: str, values: Mapping[str, object], joints: tuple[JointSpec, ...], tool: ToolModel
) -> ModelConfig:
    """The kinematic model's configuration: its geometry keys, its joints, the tool."""
    if model == "cartesian-rcm":
        return CartesianRcmConfig(
            joints=joints,
            default_pivot_z_mm=_f(values, "robot.default_pivot_z_mm"),
            holder_length_mm=_f(values, "robot.holder_length_mm"),
            tool=tool,
        )
    return TwoPlaneGuideConfig(
        front_plane_z_mm=_f(values, "robot.front_plane_z_mm"),
        back_plane_z_mm=_f(values, "robot.back_plane_z_mm"),
        joints=joints,
        max_angulation_rad=math.radians(_f(values, "robot.max_angulation_deg")),
        hub_clearance_mm=_f(values, "robot.hub_clearance_mm"),
        tool=tool,
    )


def _build_unchecked(values: dict[str, object], sources: dict[str, str]) -> RobotConfig:
    model = str(values["robot.model"])
    names = MODEL_JOINTS[model]
    tool = ToolModel(
        kind=ToolKind(values["tool.kind"]),
        length_mm=_f(values, "tool.length_mm"),
        tip_offset_mm=_f(values, "tool.tip_offset_mm"),
    )
    # The model says which joint inserts; the joints' kinematic views do not depend on it.
    lateral = tuple(_joint(values, name, insertion=False) for name in names)
    guide = _model_config(model, values, tuple(j.kinematic_joint() for j in lateral), tool)
    insertion_index = _model_of(guide).insertion_index
    joints = tuple(
        dataclasses.replace(j, insertion=i == insertion_index) for i, j in enumerate(lateral)
    )
    pressure_kpa = _f(values, "safety.min_supply_pressure_kpa")
    controller = ControllerConfig(
        axes=tuple(j.hal_axis(min_supply_pressure_kpa=pressure_kpa) for j in joints),
        link_timeout_periods=int(str(values["serial.link_timeout_periods"])),
        link_timeout_floor_s=_f(values, "serial.link_timeout_floor_s"),
    )
    supervisor = SupervisorConfig(
        joints=tuple(j.supervisor_joint() for j in joints),
        lease_s=_f(values, "safety.lease_s"),
        console_timeout_s=_f(values, "safety.console_timeout_s"),
        firmware_timeout_s=_f(values, "safety.firmware_timeout_s"),
        min_supply_pressure_kpa=(
            pressure_kpa
            if any(isinstance(a, PneumaticStepperConfig) for a in controller.axes)
            else None  # no pneumatic axis: nothing to measure, the interlock never trips
        ),
        imaging_interlock_required=bool(values["safety.imaging_interlock_required"]),
        retracted_band_mm=_f(values, "safety.retracted_band_mm"),
    )
    allow = values["network.allow"]
    assert isinstance(allow, list)  # noqa: S101 - canonical form from check_value
    try:
        networks = tuple(ipaddress.ip_network(a, strict=False) for a in allow)
    except ValueError as err:
        raise ConfigError(f"network.allow = {allow!r}: {err}", key="network.allow") from err
    dial = values["network.connect"]
    assert isinstance(dial, list)  # noqa: S101 - canonical form from check_value
    try:
        connect_to = tuple(parse_endpoint(str(endpoint)) for endpoint in dial)
    except ValueError as err:
        raise ConfigError(f"network.connect = {dial!r}: {err}", key="network.connect") from err
    reconnect_min_s = _f(values, "network.reconnect_min_s")
    reconnect_max_s = _f(values, "network.reconnect_max_s")
    if reconnect_max_s < reconnect_min_s:
        raise ConfigError(
            f"network.reconnect_max_s = {reconnect_max_s} is below network.reconnect_min_s = "
            f"{reconnect_min_s}",
            key="network.reconnect_max_s",
        )
    try:
        server = ServerConfig(
            host=str(values["network.host"]),
            port=int(str(values["network.port"])),
            allowed_peers=networks,
            connect_to=connect_to,
            reconnect_min_s=reconnect_min_s,
            reconnect_max_s=reconnect_max_s,
        )
    except ValueError as err:
        raise ConfigError(
            f"network.host = {values['network.host']!r}: {err}", key="network.host"
        ) from err
    rotvec = np.radians(np.asarray(values["zframe.mount_rotvec_deg"], dtype=np.float64))
    mount = transform_from_rotvec(
        rotvec, np.asarray(values["zframe.mount_translation_mm"], dtype=np.float64)
    )
    runtime = RuntimeSettings(
        control_rate_hz=_f(values, "runtime.control_rate_hz"),
        position_period_s=1.0 / _f(values, "runtime.position_rate_hz"),
        arrival_tolerance_mm=_f(values, "runtime.arrival_tolerance_mm"),
        arrival_tolerance_rad=_f(values, "runtime.arrival_tolerance_rad"),
        motion_timeout_factor=_f(values, "runtime.motion_timeout_factor"),
        homing_timeout_s=_f(values, "safety.homing_timeout_s"),
        stop_timeout_s=_f(values, "safety.stop_timeout_s"),
        realign_threshold_mm=_f(values, "zframe.realign_threshold_mm"),
    )
    return RobotConfig(
        values=dict(values),
        sources=dict(sources),
        model=model,
        joints=joints,
        controller=controller,
        supervisor=supervisor,
        guide=guide,
        server=server,
        serial_url=str(values["serial.url"]),
        baud=int(str(values["serial.baud"])),
        T_zframe_from_robot=mount,
        runtime=runtime,
        emulator_homing_speed_mm_s=_f(values, "emulator.homing_speed_mm_s"),
        emulator_telemetry_period_ms=int(str(values["emulator.telemetry_period_ms"])),
        audit=_audit_settings(values),
        protocol_profile=str(values["network.profile"]),
    )


def _audit_settings(values: Mapping[str, object]) -> AuditSettings:
    text = str(values["audit.dir"])
    directory = Path(text).expanduser() if text else None
    if directory is not None and not directory.is_absolute():
        raise ConfigError(
            f"audit.dir = {text!r}: must be an absolute folder (e.g. /var/lib/mrbot/audit)",
            key="audit.dir",
        )
    return AuditSettings(
        directory=directory,
        keep_sessions=int(str(values["audit.keep_sessions"])),
        max_age_days=_f(values, "audit.max_age_days"),
    )
