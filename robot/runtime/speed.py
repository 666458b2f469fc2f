"""Time-scaled emulation: the emulated robot's motion and its time-outs sped up together.

``mrbot demo --speed F`` and ``mrbot serve --emulate --speed F`` run the emulated axes F times
faster than the configured robot: speeds (step rates, homing speed) scale by F and accelerations
by F squared, so every move keeps its shape and takes 1/F of the time; the homing time-out, a
bound on travel time, scales by 1/F with it. What does not scale, on purpose: the stop time-out
and the link and heartbeat time-outs (bounds on the host and the link, not on travel; faster axes
only stop sooner), and the console's time-outs.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Final

from robot.runtime.schema import joint_unit

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["MAX_SPEED_FACTOR", "MIN_SPEED_FACTOR", "check_speed_factor", "speed_overrides"]

MIN_SPEED_FACTOR: Final = 1.0
MAX_SPEED_FACTOR: Final = 50.0
_RATE: Final = re.compile(r"^joints\.(?P<name>[^.]+)\.max_step_rate_hz$")


def check_speed_factor(factor: float) -> float:
    """``factor`` if it is a finite number in [1, 50].

    Raises:
        ValueError: otherwise, naming the range.
    """
    if not (math.isfinite(factor) and MIN_SPEED_FACTOR <= factor <= MAX_SPEED_FACTOR):
        raise ValueError(
            f"speed factor must be in [{MIN_SPEED_FACTOR:g}, {MAX_SPEED_FACTOR:g}], got {factor}"
        )
    return factor


def speed_overrides(values: Mapping[str, object], factor: float) -> dict[str, object]:
    """Configuration overrides that run the robot of ``values`` ``factor`` times faster.

    ``values`` are a loaded configuration's (``RobotConfig.values``); every configured joint is
    scaled. Apply the result on top of the overrides that produced ``values``.

    Raises:
        ValueError: ``factor`` outside [1, 50].
    """
    check_speed_factor(factor)
    overrides: dict[str, object] = {}
    for key, value in values.items():
        match = _RATE.match(key)
        if match is None:
            continue
        accel = f"joints.{match['name']}.max_accel_{joint_unit(match['name'])}_s2"
        overrides[key] = float(str(value)) * factor
        overrides[accel] = float(str(values[accel])) * factor**2
    overrides["emulator.homing_speed_mm_s"] = (
        float(str(values["emulator.homing_speed_mm_s"])) * factor
    )
    overrides["safety.homing_timeout_s"] = float(str(values["safety.homing_timeout_s"])) / factor
    return overrides
