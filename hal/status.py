"""Lifecycle values and the frozen status a cycle call returns."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hal.events import LinkCounters

__all__ = ["CallbackReturn", "HalStatus", "LifecycleState"]


class LifecycleState(enum.Enum):
    """Driver lifecycle, as ros2_control: no comms; comms and readable state; accepting motion."""

    UNCONFIGURED = "unconfigured"
    INACTIVE = "inactive"
    ACTIVE = "active"


class CallbackReturn(enum.Enum):
    """Result of a lifecycle transition; details in ``ControllerDriver.last_error``."""

    SUCCESS = "success"
    """The transition happened."""
    FAILURE = "failure"
    """Refused for a reason the firmware or configuration gave (version, NACK, state)."""
    ERROR = "error"
    """Failed on an error of the link (transport, time-out)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HalStatus:
    """What one ``read(now_s)`` found. ``ok`` is true only when no flag is set.

    Attributes:
        ok: no fault flag set and fresh telemetry.
        state: lifecycle state.
        link_down: the transport is closed or lost.
        comm_timeout: no telemetry for the link time-out (``ControllerConfig.link_timeout_s``),
            or none yet.
        following_error: an axis exceeds its following-error limit.
        pressure_low: a pneumatic axis has supply pressure below its minimum.
        limit_hit: a limit switch is pressed.
        estop_open: the firmware's e-stop input is open or its e-stop is latched.
        firmware_fault: the firmware reports the FAULT state.
        telemetry_age_s: seconds since the latest telemetry (inf if none).
        counters: link health counters.
        duration_s: how long the call took (s, injected clock).
    """

    ok: bool
    state: LifecycleState
    link_down: bool
    comm_timeout: bool
    following_error: bool
    pressure_low: bool
    limit_hit: bool
    estop_open: bool
    firmware_fault: bool
    telemetry_age_s: float
    counters: LinkCounters
    duration_s: float
