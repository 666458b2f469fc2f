"""Time-outs of the BRP console client (seconds), and the protocol profile it expects."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from robot.igtl.profile import PROFILES, Profile

__all__ = ["BrpClientConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BrpClientConfig:
    """How long the client waits; every value in seconds, finite and > 0.

    Attributes:
        connect_timeout_s: TCP connect.
        ack_timeout_s: the first reply (ACK) of any request; the robot promises <= 100 ms.
        reply_timeout_s: each further reply of a prompt exchange (CURRENT_STATUS, TARGET...).
        action_timeout_s: the phase STATUS of an action (START_UP homing, STOP at standstill,
            Z-frame registration).
        move_silence_s: the longest gap between messages during a move (positions at 20 Hz).
        move_timeout_s: the longest whole move.
        send_timeout_s: TCP user time-out for unacknowledged sent data.
        profile: the robot's protocol profile (``network.profile``): whether PLANNING and
            CALIBRATION are confirmed by a phase STATUS (brp-2021) or not (brp-2013).
    """

    connect_timeout_s: float = 2.0
    ack_timeout_s: float = 1.0
    reply_timeout_s: float = 2.0
    action_timeout_s: float = 120.0
    move_silence_s: float = 2.0
    move_timeout_s: float = 600.0
    send_timeout_s: float = 5.0
    profile: Profile = field(default=PROFILES["brp-2021"])

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            if name == "profile":
                continue
            value = getattr(self, name)
            if not (isinstance(value, float | int) and math.isfinite(value) and value > 0):
                raise ValueError(f"BrpClientConfig.{name} = {value!r} s must be finite and > 0")
