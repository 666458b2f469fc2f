"""Tables of the shipped default robot for the docs, generated from the configuration schema.

``tests/test_docs.py`` fails when the block between ``<!-- default-robot:begin -->`` and
``<!-- default-robot:end -->`` in docs/HARDWARE.md differs from :func:`default_robot_markdown`.
Regenerate it with:

    python -c "import tests.support.docs_tables as d; print(d.default_robot_markdown(), end='')"
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hal.emulator.config import emulator_config_for
from robot.config import load_config
from robot.runtime.schema import JOINT_NAMES

if TYPE_CHECKING:
    from robot.runtime.config import RobotConfig

__all__ = ["default_robot", "default_robot_markdown", "emulator_watchdog_ms", "number"]


def default_robot() -> RobotConfig:
    """The shipped default robot, as ``mrbot config show`` prints it (no environment)."""
    return load_config(None, environ={})


def emulator_watchdog_ms(config: RobotConfig) -> int:
    """The firmware watchdog of the emulator built for ``config`` (ms)."""
    return emulator_config_for(config.controller).watchdog_ms


def number(config: RobotConfig, key: str) -> float:
    """The numeric value of a dotted key of ``config``."""
    value = config.values[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{key} = {value!r} is not a number")
    return float(value)


def _num(value: float) -> str:
    return f"{value:g}"


def _joint_row(config: RobotConfig, index: int, name: str) -> str:
    p = f"joints.{name}."
    axis = str(config.values[p + "axis"])
    if axis == "pneumatic":
        step_mm, rate_hz = number(config, p + "step_mm"), number(config, p + "max_step_rate_hz")
        speed = step_mm * rate_hz
        step, rate = _num(step_mm), _num(rate_hz)
    else:
        speed = number(config, p + "piezo_max_speed_mm_s")
        step, rate = "-", "-"
    cells = [
        f"`{name}`",
        str(index),
        axis,
        f"{_num(number(config, p + 'min_mm'))} .. {_num(number(config, p + 'max_mm'))}",
        step,
        rate,
        _num(speed),
        _num(number(config, p + "max_accel_mm_s2")),
        _num(number(config, p + "following_error_limit_mm")),
        "yes" if config.values[p + "imaging_safe"] else "no",
    ]
    return "| " + " | ".join(cells) + " |"


def default_robot_markdown() -> str:
    """The default robot's joints and link timing as Markdown (two tables)."""
    config = default_robot()
    c = config.controller
    lines = [
        (
            "| joint | wire axis | axis type | soft limits (mm) | step (mm) | max step rate (Hz) "
            "| max speed (mm/s) | max accel (mm/s^2) | following-error limit (mm) | imaging-safe |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_joint_row(config, i, name) for i, name in enumerate(JOINT_NAMES)]
    period_ms = int(number(config, "emulator.telemetry_period_ms"))
    link_periods = int(number(config, "serial.link_timeout_periods"))
    baud = int(number(config, "serial.baud"))
    timing = [
        ("serial baud rate (`serial.baud`)", f"{baud:,} baud 8N1"),
        (
            "emulated telemetry (`emulator.telemetry_period_ms`)",
            f"{period_ms} ms ({_num(1000 / period_ms)} Hz)",
        ),
        (
            "link lost after (`serial.link_timeout_periods`)",
            f"{link_periods} telemetry periods ({link_periods * period_ms} ms at that rate)",
        ),
        (
            "ACK time-out per request, retries (idempotent only)",
            f"{_num(c.ack_timeout_s * 1000)} ms, {c.retries}",
        ),
        ("host heartbeat", f"{_num(c.heartbeat_hz)} Hz"),
        ("firmware watchdog (emulator)", f"{emulator_watchdog_ms(config)} ms"),
        ("flight recorder", f"{_num(c.recorder_s)} s"),
        (
            "control loop (`runtime.control_rate_hz`)",
            f"{_num(number(config, 'runtime.control_rate_hz'))} Hz",
        ),
        (
            "CURRENT_POSITION while moving (`runtime.position_rate_hz`)",
            f"{_num(number(config, 'runtime.position_rate_hz'))} Hz",
        ),
    ]
    lines += ["", "| setting | default |", "|---|---|"]
    lines += [f"| {what} | {value} |" for what, value in timing]
    return "\n".join(lines) + "\n"
