"""The robot configuration schema: every key with its type, unit, default, range and meaning.

One table per robot model (:func:`schema_for`; :data:`SCHEMA` is the default robot's) drives
loading, the ``MRBOT_*`` environment overrides, ``mrbot config show`` and the generated
docs/CONFIGURATION.md. ``robot.model`` chooses the model: ``two-plane`` (the default) or
``cartesian-rcm``. Joint keys are ``joints.<joint>.<key>`` for each joint of the model, named
once in :mod:`kinematics` (:data:`MODEL_JOINTS`); a joint's keys carry its unit (``min_mm`` for a
linear joint, ``min_rad`` for a rotary one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from hal import LINK_TIMEOUT_FLOOR_S, LINK_TIMEOUT_PERIODS
from kinematics import RCM_JOINT_NAMES, TWO_PLANE_JOINT_NAMES, joint_kind
from robot.runtime.joints import AXIS_TYPES

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "DEFAULT_MODEL",
    "JOINT_NAMES",
    "MODELS",
    "MODEL_JOINTS",
    "SCHEMA",
    "Key",
    "ValueType",
    "check_value",
    "joint_unit",
    "model_keys",
    "render_key_tables",
    "render_markdown",
    "schema_for",
]

ValueType = type[float] | type[int] | type[str] | type[bool] | type[list[str]] | type[list[float]]

#: The model of the default robot.
DEFAULT_MODEL: Final = "two-plane"
#: Model name (``robot.model``) -> its joints in wire order, as the kinematic model names them.
MODEL_JOINTS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"two-plane": TWO_PLANE_JOINT_NAMES, "cartesian-rcm": RCM_JOINT_NAMES}
)
#: The models ``robot.model`` may name.
MODELS: Final = tuple(MODEL_JOINTS)
#: The joints of the default robot (two-plane guide).
JOINT_NAMES: Final = MODEL_JOINTS[DEFAULT_MODEL]


def joint_unit(name: str) -> str:
    """The unit a joint name carries: ``mm`` (linear) or ``rad`` (rotary)."""
    return joint_kind(name).value


@dataclass(frozen=True, slots=True, kw_only=True)
class Key:
    """One configuration key.

    Attributes:
        name: dotted key (``network.port``).
        kind: ``float``, ``int``, ``str``, ``bool``, ``str_list`` or ``vec3`` (3 floats).
        default: the built-in default.
        unit: unit of the value (``mm``, ``s``, ``Hz``, ``-`` for none).
        doc: one sentence.
        low: smallest allowed value (numbers), inclusive.
        high: largest allowed value (numbers), inclusive.
        choices: allowed strings.
    """

    name: str
    kind: str
    default: object
    unit: str
    doc: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class _UnitDefaults:
    """Per joint unit: defaults and ranges of the step, speed, acceleration and error keys."""

    step: float
    step_range: tuple[float, float]
    piezo_speed: float
    speed_range: tuple[float, float]
    accel: float
    accel_range: tuple[float, float]
    following_error: float
    error_range: tuple[float, float]


_UNIT_DEFAULTS: Final = MappingProxyType(
    {
        "mm": _UnitDefaults(
            step=0.01,
            step_range=(1e-4, 5.0),
            piezo_speed=10.0,
            speed_range=(1e-3, 10_000.0),
            accel=40.0,
            accel_range=(1e-3, 1e6),
            following_error=0.5,
            error_range=(1e-3, 50.0),
        ),
        "rad": _UnitDefaults(
            step=1e-4,
            step_range=(1e-6, 0.1),
            piezo_speed=0.1,
            speed_range=(1e-5, 100.0),
            accel=0.5,
            accel_range=(1e-5, 1e4),
            following_error=0.01,
            error_range=(1e-5, 1.0),
        ),
    }
)


def _joint_keys(name: str, low: float, high: float) -> list[Key]:
    u = joint_unit(name)
    d = _UNIT_DEFAULTS[u]
    p = f"joints.{name}"
    return [
        Key(
            name=f"{p}.axis",
            kind="str",
            default="pneumatic",
            unit="-",
            doc="axis type: pneumatic stepper (open loop, encoder check) or piezo (closed loop)",
            choices=AXIS_TYPES,
        ),
        Key(name=f"{p}.min_{u}", kind="float", default=low, unit=u, doc="lower soft limit"),
        Key(name=f"{p}.max_{u}", kind="float", default=high, unit=u, doc="upper soft limit"),
        Key(
            name=f"{p}.step_{u}",
            kind="float",
            default=d.step,
            unit=u,
            doc="pneumatic step size (travel per step)",
            low=d.step_range[0],
            high=d.step_range[1],
        ),
        Key(
            name=f"{p}.max_step_rate_hz",
            kind="float",
            default=1000.0,
            unit="Hz",
            doc=f"step rate with the installed hose; max speed = step_{u} * max_step_rate_hz",
            low=1.0,
            high=100_000.0,
        ),
        Key(
            name=f"{p}.piezo_max_speed_{u}_s",
            kind="float",
            default=d.piezo_speed,
            unit=f"{u}/s",
            doc=f"speed limit of a piezo axis (a pneumatic axis: step_{u} * max_step_rate_hz)",
            low=d.speed_range[0],
            high=d.speed_range[1],
        ),
        Key(
            name=f"{p}.max_accel_{u}_s2",
            kind="float",
            default=d.accel,
            unit=f"{u}/s^2",
            doc="acceleration used by the trajectory planner",
            low=d.accel_range[0],
            high=d.accel_range[1],
        ),
        Key(
            name=f"{p}.following_error_limit_{u}",
            kind="float",
            default=d.following_error,
            unit=u,
            doc="largest allowed |commanded - encoder|",
            low=d.error_range[0],
            high=d.error_range[1],
        ),
        Key(
            name=f"{p}.imaging_safe",
            kind="bool",
            default=True,
            unit="-",
            doc="may move while the scanner images (pneumatic: SNR unaffected; piezo: only with "
            "an SNR measurement on file)",
        ),
    ]


#: Default soft limits per model and joint (joint unit).
_DEFAULT_LIMITS: Final[Mapping[str, tuple[tuple[float, float], ...]]] = MappingProxyType(
    {
        "two-plane": ((-60.0, 60.0),) * 4 + ((0.0, 150.0),),
        "cartesian-rcm": (
            (-60.0, 60.0),
            (-60.0, 60.0),
            (-100.0, -40.0),
            (-0.5, 0.5),
            (-0.5, 0.5),
            (0.0, 150.0),
        ),
    }
)


def _model_key(model: str) -> Key:
    """``robot.model``; in the table of ``model`` its default is that model."""
    return Key(
        name="robot.model",
        kind="str",
        default=model,
        unit="-",
        doc="kinematic model: two-plane guide or Cartesian stage with a remote centre of motion",
        choices=MODELS,
    )


#: The geometry keys of each model (``robot.*`` besides ``robot.model``).
_GEOMETRY_KEYS: Final[Mapping[str, tuple[Key, ...]]] = MappingProxyType(
    {
        "two-plane": (
            Key(
                name="robot.front_plane_z_mm",
                kind="float",
                default=-60.0,
                unit="mm",
                doc="robot z of the front stage plane",
                low=-1000.0,
                high=1000.0,
            ),
            Key(
                name="robot.back_plane_z_mm",
                kind="float",
                default=-110.0,
                unit="mm",
                doc="robot z of the back stage plane (below the front plane)",
                low=-1000.0,
                high=1000.0,
            ),
            Key(
                name="robot.max_angulation_deg",
                kind="float",
                default=25.0,
                unit="deg",
                doc="largest needle tilt from +z",
                low=0.1,
                high=89.0,
            ),
            Key(
                name="robot.hub_clearance_mm",
                kind="float",
                default=10.0,
                unit="mm",
                doc="tool length kept behind the back stage",
                low=0.0,
                high=500.0,
            ),
        ),
        "cartesian-rcm": (
            Key(
                name="robot.default_pivot_z_mm",
                kind="float",
                default=-60.0,
                unit="mm",
                doc="pivot height used for a target without an entry point (within the "
                "pivot_z_mm limits)",
                low=-1000.0,
                high=1000.0,
            ),
            Key(
                name="robot.holder_length_mm",
                kind="float",
                default=60.0,
                unit="mm",
                doc="tool length kept behind the pivot (holder, hub, carriage)",
                low=0.0,
                high=500.0,
            ),
        ),
    }
)


def model_keys(model: str) -> tuple[Key, ...]:
    """The keys that belong to ``model``: its geometry and its joints, in wire order.

    Raises:
        ValueError: an unknown model.
    """
    if model not in MODEL_JOINTS:
        raise ValueError(f"robot.model = {model!r}: expected one of {list(MODELS)}")
    return (*_GEOMETRY_KEYS[model], *_model_joint_keys(model))


def _model_joint_keys(model: str) -> tuple[Key, ...]:
    limits = zip(MODEL_JOINTS[model], _DEFAULT_LIMITS[model], strict=True)
    return tuple(k for name, (low, high) in limits for k in _joint_keys(name, low, high))


_TOOL_KEYS: Final[tuple[Key, ...]] = (
    Key(
        name="tool.kind",
        kind="str",
        default="needle",
        unit="-",
        doc="tool carried",
        choices=("needle", "bone_drill"),
    ),
    Key(
        name="tool.length_mm",
        kind="float",
        default=220.0,
        unit="mm",
        doc="tool length (NEEDLE_LENGTH overrides it at run time)",
        low=1.0,
        high=1000.0,
    ),
    Key(
        name="tool.tip_offset_mm",
        kind="float",
        default=0.0,
        unit="mm",
        doc="aimed point minus physical tip, along the tool",
        low=-100.0,
        high=100.0,
    ),
)

_OTHER_KEYS: Final[tuple[Key, ...]] = (
    Key(
        name="serial.url",
        kind="str",
        default="",
        unit="-",
        doc="pyserial URL of the controller (/dev/ttyUSB0, socket://host:port); empty = none",
    ),
    Key(
        name="serial.baud",
        kind="int",
        default=1_000_000,
        unit="baud",
        doc="serial baud rate",
        low=1200,
        high=4_000_000,
    ),
    Key(
        name="serial.link_timeout_periods",
        kind="int",
        default=LINK_TIMEOUT_PERIODS,
        unit="periods",
        doc=(
            "link lost after max(this many telemetry periods, serial.link_timeout_floor_s) "
            "without telemetry"
        ),
        low=1,
        high=100,
    ),
    Key(
        name="serial.link_timeout_floor_s",
        kind="float",
        default=LINK_TIMEOUT_FLOOR_S,
        unit="s",
        doc="shortest link time-out, covering host scheduling delay (docs/HARDWARE.md)",
        low=0.0,
        high=5.0,
    ),
    Key(
        name="network.host",
        kind="str",
        default="127.0.0.1",
        unit="-",
        doc="IP literal the OpenIGTLink server binds; non-loopback needs network.allow",
    ),
    Key(
        name="network.port",
        kind="int",
        default=18944,
        unit="-",
        doc="TCP port (0 = any free port)",
        low=0,
        high=65535,
    ),
    Key(
        name="network.allow",
        kind="str_list",
        default=[],
        unit="-",
        doc="peer networks allowed to connect (CIDR); empty = loopback only",
    ),
    Key(
        name="network.connect",
        kind="str_list",
        default=[],
        unit="-",
        doc="consoles' OpenIGTLink servers (HOST:PORT) the robot connects out to and keeps up",
    ),
    Key(
        name="network.profile",
        kind="str",
        default="brp-2021",
        unit="-",
        doc="BRP workphase protocol variant the consoles speak (docs/WORKPHASES.md, profiles)",
        choices=("brp-2021", "brp-2013"),
    ),
    Key(
        name="network.reconnect_min_s",
        kind="float",
        default=0.1,
        unit="s",
        doc="first wait before connecting out again after a loss or a failed attempt",
        low=0.01,
        high=60.0,
    ),
    Key(
        name="network.reconnect_max_s",
        kind="float",
        default=5.0,
        unit="s",
        doc="longest wait between attempts to connect out (the wait doubles up to it)",
        low=0.01,
        high=600.0,
    ),
    Key(
        name="safety.lease_s",
        kind="float",
        default=0.2,
        unit="s",
        doc="motion permit lease, renewed every control cycle",
        low=0.01,
        high=10.0,
    ),
    Key(
        name="safety.console_timeout_s",
        kind="float",
        default=2.0,
        unit="s",
        doc="controlling console gone this long during motion: protective stop",
        low=0.01,
        high=60.0,
    ),
    Key(
        name="safety.firmware_timeout_s",
        kind="float",
        default=0.25,
        unit="s",
        doc="telemetry silence that trips the firmware-heartbeat interlock",
        low=0.01,
        high=10.0,
    ),
    Key(
        name="safety.min_supply_pressure_kpa",
        kind="float",
        default=300.0,
        unit="kPa",
        doc="lowest acceptable supply pressure of the pneumatic axes",
        low=1.0,
        high=2000.0,
    ),
    Key(
        name="safety.retracted_band_mm",
        kind="float",
        default=1.0,
        unit="mm",
        doc="the needle counts as out while the measured insertion axis is at or below this "
        "position (beyond it, or unknown, it counts as inserted: only a retraction may move)",
        low=0.0,
        high=20.0,
    ),
    Key(
        name="safety.imaging_interlock_required",
        kind="bool",
        default=True,
        unit="-",
        doc="an unknown scanner state counts as imaging (SR-04)",
    ),
    Key(
        name="safety.homing_timeout_s",
        kind="float",
        default=60.0,
        unit="s",
        doc="START_UP fails when homing takes longer",
        low=0.1,
        high=600.0,
    ),
    Key(
        name="safety.stop_timeout_s",
        kind="float",
        default=2.0,
        unit="s",
        doc="a STOP not at standstill by then escalates to Cat 1 and answers 18",
        low=0.05,
        high=30.0,
    ),
    Key(
        name="zframe.mount_translation_mm",
        kind="vec3",
        default=[0.0, 0.0, 0.0],
        unit="mm",
        doc="translation of T_zframe_from_robot (robot origin in Z-frame coordinates)",
    ),
    Key(
        name="zframe.mount_rotvec_deg",
        kind="vec3",
        default=[0.0, 0.0, 0.0],
        unit="deg",
        doc="rotation vector of T_zframe_from_robot",
    ),
    Key(
        name="zframe.realign_threshold_mm",
        kind="float",
        default=0.5,
        unit="mm",
        doc="registration change (at the target) that triggers automatic re-alignment",
        low=0.0,
        high=100.0,
    ),
    Key(
        name="runtime.control_rate_hz",
        kind="float",
        default=100.0,
        unit="Hz",
        doc="control loop rate",
        low=10.0,
        high=1000.0,
    ),
    Key(
        name="runtime.position_rate_hz",
        kind="float",
        default=20.0,
        unit="Hz",
        doc="CURRENT_POSITION rate while moving",
        low=1.0,
        high=100.0,
    ),
    Key(
        name="runtime.arrival_tolerance_mm",
        kind="float",
        default=0.05,
        unit="mm",
        doc="measured joint within this of its goal counts as arrived",
        low=1e-3,
        high=5.0,
    ),
    Key(
        name="runtime.arrival_tolerance_rad",
        kind="float",
        default=0.001,
        unit="rad",
        doc="measured rotary joint within this of its goal counts as arrived (0.1 mm at "
        "100 mm from its axis)",
        low=1e-5,
        high=0.1,
    ),
    Key(
        name="runtime.motion_timeout_factor",
        kind="float",
        default=3.0,
        unit="-",
        doc="a move segment taking longer than this times its planned duration (+1 s) faults",
        low=1.1,
        high=100.0,
    ),
    Key(
        name="audit.dir",
        kind="str",
        default="",
        unit="-",
        doc="absolute folder of the audit sessions (one file per server run); "
        "empty = the user state folder + mrbot/audit",
    ),
    Key(
        name="audit.keep_sessions",
        kind="int",
        default=0,
        unit="sessions",
        doc="at server start, delete all but the newest N session files (0 = keep all)",
        low=0,
        high=1_000_000,
    ),
    Key(
        name="audit.max_age_days",
        kind="float",
        default=0.0,
        unit="days",
        doc="at server start, delete session files last written longer ago (0 = keep all)",
        low=0.0,
        high=36_500.0,
    ),
    Key(
        name="emulator.homing_speed_mm_s",
        kind="float",
        default=20.0,
        unit="mm/s",
        doc="homing speed of the emulated firmware",
        low=0.1,
        high=10_000.0,
    ),
    Key(
        name="emulator.telemetry_period_ms",
        kind="int",
        default=20,
        unit="ms",
        doc="telemetry period of the emulated firmware",
        low=1,
        high=100,
    ),
)

_SCHEMAS: Final[Mapping[str, Mapping[str, Key]]] = MappingProxyType(
    {
        model: MappingProxyType(
            {
                k.name: k
                for k in (
                    _model_key(model),
                    *_GEOMETRY_KEYS[model],
                    *_TOOL_KEYS,
                    *_model_joint_keys(model),
                    *_OTHER_KEYS,
                )
            }
        )
        for model in MODELS
    }
)


def schema_for(model: str) -> Mapping[str, Key]:
    """Dotted key -> its description, for a robot of ``model`` (read-only).

    Raises:
        ValueError: an unknown model.
    """
    if model not in _SCHEMAS:
        raise ValueError(f"robot.model = {model!r}: expected one of {list(MODELS)}")
    return _SCHEMAS[model]


SCHEMA: Final[Mapping[str, Key]] = schema_for(DEFAULT_MODEL)
"""Dotted key -> its description for the default robot (read-only)."""


def _number(key: Key, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{key.name} = {value!r}: expected a number ({key.unit})")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{key.name} = {value!r} {key.unit}: must be finite")
    if key.low is not None and number < key.low:
        raise ValueError(f"{key.name} = {value!r} {key.unit}: below the minimum {key.low:g}")
    if key.high is not None and number > key.high:
        raise ValueError(f"{key.name} = {value!r} {key.unit}: above the maximum {key.high:g}")
    return number


def check_value(key: Key, value: object) -> object:
    """Check ``value`` against ``key``; return it in canonical form.

    Raises:
        ValueError: wrong type or out of range; the message names the key, value and unit.
    """
    if key.kind == "float":
        return _number(key, value)
    if key.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{key.name} = {value!r}: expected an integer ({key.unit})")
        return int(_number(key, value))
    if key.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{key.name} = {value!r}: expected true or false")
        return value
    if key.kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"{key.name} = {value!r}: expected a string")
        if key.choices and value not in key.choices:
            raise ValueError(f"{key.name} = {value!r}: expected one of {list(key.choices)}")
        return value
    if key.kind == "str_list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{key.name} = {value!r}: expected a list of strings")
        return list(value)
    if key.kind == "vec3":
        if not isinstance(value, list) or len(value) != 3:  # noqa: PLR2004 - a 3-vector
            raise ValueError(f"{key.name} = {value!r}: expected 3 numbers ({key.unit})")
        return [_number(key, v) for v in value]
    raise ValueError(f"{key.name}: unknown kind {key.kind!r}")


def render_markdown(keys: Iterable[Key] | None = None) -> str:
    """A key table of docs/CONFIGURATION.md: ``keys`` (default: all of :data:`SCHEMA`)."""
    lines = ["| key | unit | default | range | meaning |", "|---|---|---|---|---|"]
    for key in SCHEMA.values() if keys is None else keys:
        if key.choices:
            allowed = ", ".join(key.choices)
        elif key.low is not None or key.high is not None:
            lo = "" if key.low is None else f"{key.low:g}"
            hi = "" if key.high is None else f"{key.high:g}"
            allowed = f"{lo} .. {hi}"
        else:
            allowed = ""
        default = "`" + repr(key.default).replace("'", '"') + "`"
        lines.append(f"| `{key.name}` | {key.unit} | {default} | {allowed} | {key.doc} |")
    return "\n".join(lines) + "\n"


def render_key_tables() -> str:
    """Every key table of docs/CONFIGURATION.md: the default robot's, then each other model's."""
    others = (
        f"\n### Keys of the `{model}` model\n"
        f'A `{model}` robot file (`robot.model = "{model}"`) has the `robot.model`, `tool.*` '
        "and all later keys of the table above; its geometry and joints are these:\n\n"
        + render_markdown(model_keys(model))
        for model in MODELS
        if model != DEFAULT_MODEL
    )
    return "".join((render_markdown(), *others))
