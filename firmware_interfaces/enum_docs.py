"""What every wire enumeration member means; the C header and PROTOCOL.md print these."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

from firmware_interfaces.enums import (
    AxisKind,
    AxisStatus,
    Capability,
    FaultCode,
    FirmwareState,
    LimitSwitch,
    NackReason,
    ParamId,
    StopCategory,
)
from firmware_interfaces.errors import FaultKind

if TYPE_CHECKING:
    from collections.abc import Mapping
    from enum import IntEnum, IntFlag

__all__ = ["ENUM_DOCS", "FAULT_KIND_DOCS", "PARAM_UNITS"]

_AXIS_KIND: dict[int, str] = {
    AxisKind.PNEUMATIC_STEPPER_LINEAR: "pneumatic stepper on a linear joint; um = micrometres",
    AxisKind.PNEUMATIC_STEPPER_ROTARY: "pneumatic stepper on a rotary joint; um = microradians",
    AxisKind.PIEZO_LINEAR: "piezo (ultrasonic) motor on a linear joint; um = micrometres",
    AxisKind.PIEZO_ROTARY: "piezo (ultrasonic) motor on a rotary joint; um = microradians",
}
_CAPABILITY: dict[int, str] = {
    Capability.ENCODERS: "every axis has a position encoder (encoder_um is measured)",
    Capability.LIMIT_SWITCHES: "limit switch inputs are wired (limit_switches is measured)",
    Capability.PRESSURE_SENSORS: "supply pressure is measured (supply_pressure_hpa)",
    Capability.ESTOP_INPUT: "a hardware e-stop input is wired (estop_input is measured)",
    Capability.WATCHDOG: "the heartbeat watchdog is armed (stops axes when HEARTBEATs stop)",
    Capability.HOMING: "HOME is supported",
    Capability.JOG: "JOG is supported",
    Capability.PARAM_STORAGE: "SET_PARAM values survive a power cycle",
}
_STOP: dict[int, str] = {
    StopCategory.CAT0: "remove power/air at once (uncontrolled stop)",
    StopCategory.CAT1: "controlled stop, then remove power/air",
    StopCategory.CAT2: "controlled stop, power/air stays on and the axes hold",
}
_PARAM: dict[int, str] = {
    ParamId.SOFT_LIMIT_MIN_UM: "lowest target accepted, per axis (um)",
    ParamId.SOFT_LIMIT_MAX_UM: "highest target accepted, per axis (um)",
    ParamId.MAX_VELOCITY_UM_S: "speed cap, per axis (um/s)",
    ParamId.MAX_ACCELERATION_UM_S2: "acceleration cap, per axis (um/s^2)",
    ParamId.FOLLOWING_ERROR_THRESHOLD_UM: "|commanded - encoder| that trips FOLLOWING_ERROR (um)",
    ParamId.IN_POSITION_TOLERANCE_UM: "|target - encoder| that counts as IN_POSITION (um)",
    ParamId.HOMING_VELOCITY_UM_S: "speed while homing, per axis (um/s)",
    ParamId.MIN_SUPPLY_PRESSURE_HPA: "supply pressure below which PRESSURE_LOW trips (hPa)",
    ParamId.WATCHDOG_MS: "heartbeat watchdog period, global, axis = 0xFF (ms)",
    ParamId.TELEMETRY_PERIOD_MS: "TELEMETRY period, global, axis = 0xFF (ms)",
}
_STATE: dict[int, str] = {
    FirmwareState.BOOT: "starting up; outputs off; only HELLO is answered",
    FirmwareState.IDLE: "handshake done; axes disabled",
    FirmwareState.ENABLED: "at least one axis enabled and holding",
    FirmwareState.MOVING: "executing a MOVE",
    FirmwareState.HOMING: "executing a HOME",
    FirmwareState.JOGGING: "executing a JOG (expires unless renewed)",
    FirmwareState.STOPPED: "stopped by STOP; CLEAR_FAULT or ENABLE to continue",
    FirmwareState.ESTOP: "e-stop input open or ESTOP received; outputs off",
    FirmwareState.FAULT: "a FAULT stopped the axes; CLEAR_FAULT after the cause is gone",
}
_AXIS_STATUS: dict[int, str] = {
    AxisStatus.ENABLED: "drive/valves enabled",
    AxisStatus.HOMED: "position reference established since power-up",
    AxisStatus.MOVING: "axis is moving",
    AxisStatus.IN_POSITION: "within the in-position tolerance of its target",
    AxisStatus.FAULT: "axis faulted (see the FAULT message)",
    AxisStatus.FOLLOWING_ERROR: "following error above threshold",
    AxisStatus.PRESSURE_LOW: "supply pressure below the minimum (pneumatic axes)",
    AxisStatus.LIMIT_MIN: "minimum limit switch active",
    AxisStatus.LIMIT_MAX: "maximum limit switch active",
    AxisStatus.ENCODER_STUCK: "commanded motion without encoder change",
    AxisStatus.SOFT_LIMIT: "target or position at a soft limit",
}
_LIMIT: dict[int, str] = {
    LimitSwitch.MIN: "minimum-end switch closed",
    LimitSwitch.MAX: "maximum-end switch closed",
    LimitSwitch.HOME: "home switch closed",
}
_NACK: dict[int, str] = {
    NackReason.UNKNOWN_TYPE: "type byte not known to this firmware",
    NackReason.BAD_LENGTH: "len does not match the type's layout",
    NackReason.BAD_STATE: "command not allowed in the current firmware state",
    NackReason.OUTSIDE_LIMITS: "a target or value lies outside the configured limits",
    NackReason.INVALID_VALUE: "a value is out of range for its field",
    NackReason.BUSY: "another command is still being executed",
    NackReason.NOT_HOMED: "motion needs a homed axis",
    NackReason.ESTOP_ACTIVE: "e-stop is active",
    NackReason.FAULT_ACTIVE: "a fault is latched; CLEAR_FAULT first",
    NackReason.BAD_AXIS: "axis index or mask names an axis that does not exist",
    NackReason.UNSUPPORTED: "the firmware lacks the capability (see IDENT)",
    NackReason.BAD_PAYLOAD: "payload holds an invalid enum, flag or count",
}
_FAULT: dict[int, str] = {
    FaultCode.WATCHDOG: "no HEARTBEAT within the watchdog period; axes stopped",
    FaultCode.FOLLOWING_ERROR: "following error above threshold; detail = error in um",
    FaultCode.PRESSURE_LOW: "supply pressure below minimum; detail = pressure in hPa",
    FaultCode.LIMIT_HIT: "a limit switch closed during motion; detail = LimitSwitch bits",
    FaultCode.ENCODER_STUCK: "encoder did not follow commanded motion; detail = commanded um",
    FaultCode.HARDWARE_FAILURE: "driver or sensor failure; detail = board-specific code",
    FaultCode.STARTUP_FAILURE: "self-test failed at boot; detail = board-specific code",
    FaultCode.ESTOP: "e-stop input opened; detail = 0",
    FaultCode.COMMAND_REJECTED: "a command was refused; detail = NackReason",
    FaultCode.SOFT_LIMIT: "a soft limit was reached; detail = position in um",
    FaultCode.COMMS_ERRORS: "too many bad frames received; detail = count in the last second",
}

ENUM_DOCS: Mapping[type[IntEnum] | type[IntFlag], Mapping[int, str]] = MappingProxyType(
    {
        AxisKind: MappingProxyType(_AXIS_KIND),
        Capability: MappingProxyType(_CAPABILITY),
        StopCategory: MappingProxyType(_STOP),
        ParamId: MappingProxyType(_PARAM),
        FirmwareState: MappingProxyType(_STATE),
        AxisStatus: MappingProxyType(_AXIS_STATUS),
        LimitSwitch: MappingProxyType(_LIMIT),
        NackReason: MappingProxyType(_NACK),
        FaultCode: MappingProxyType(_FAULT),
    }
)
"""Enumeration -> member value -> meaning (MessageType is documented by the catalog)."""

PARAM_UNITS: Mapping[ParamId, str] = MappingProxyType(
    {
        ParamId.SOFT_LIMIT_MIN_UM: "um",
        ParamId.SOFT_LIMIT_MAX_UM: "um",
        ParamId.MAX_VELOCITY_UM_S: "um/s",
        ParamId.MAX_ACCELERATION_UM_S2: "um/s^2",
        ParamId.FOLLOWING_ERROR_THRESHOLD_UM: "um",
        ParamId.IN_POSITION_TOLERANCE_UM: "um",
        ParamId.HOMING_VELOCITY_UM_S: "um/s",
        ParamId.MIN_SUPPLY_PRESSURE_HPA: "hPa",
        ParamId.WATCHDOG_MS: "ms",
        ParamId.TELEMETRY_PERIOD_MS: "ms",
    }
)
"""Unit of the i32 ``value`` of SET_PARAM/PARAM_VALUE for each parameter."""

FAULT_KIND_DOCS: Mapping[FaultKind, str] = MappingProxyType(
    {
        FaultKind.OVERSIZE: "more bytes than the largest frame arrived without a 0x00 delimiter",
        FaultKind.COBS: "the bytes between two delimiters are not valid COBS",
        FaultKind.SHORT: "the decoded frame is shorter than header plus CRC (9 bytes)",
        FaultKind.CRC: "the CRC-32 over version..payload does not match the CRC field",
        FaultKind.BAD_VERSION: "the version byte is not this side's protocol major",
        FaultKind.BAD_LENGTH: "the len byte disagrees with the frame size or the type's layout",
        FaultKind.UNKNOWN_TYPE: "the type byte names no message in the catalog",
        FaultKind.BAD_PAYLOAD: "the payload holds values no message may hold (enum, flag, bool, "
        "axis count, range)",
    }
)
"""Decoder fault kind -> meaning."""
