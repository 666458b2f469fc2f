"""Enumerations carried on the wire; each member's meaning is documented in ``enum_docs``."""

from __future__ import annotations

from enum import IntEnum, IntFlag, unique

__all__ = [
    "AxisKind",
    "AxisStatus",
    "Capability",
    "Direction",
    "FaultCode",
    "FirmwareState",
    "LimitSwitch",
    "MessageType",
    "NackReason",
    "ParamId",
    "StopCategory",
]


@unique
class Direction(IntEnum):
    """Who sends a message."""

    HOST_TO_FIRMWARE = 1
    FIRMWARE_TO_HOST = 2


@unique
class MessageType(IntEnum):
    """The frame's type byte. Host commands are below 0x80, firmware reports at 0x80 and above."""

    HELLO = 0x01
    HEARTBEAT = 0x02
    ENABLE = 0x10
    DISABLE = 0x11
    HOME = 0x12
    MOVE = 0x13
    JOG = 0x14
    STOP = 0x15
    ESTOP = 0x16
    CLEAR_FAULT = 0x17
    SET_PARAM = 0x20
    GET_PARAM = 0x21
    IDENT = 0x81
    ACK = 0x82
    NACK = 0x83
    TELEMETRY = 0x84
    PARAM_VALUE = 0x85
    FAULT = 0x86


@unique
class AxisKind(IntEnum):
    """Actuator and joint type of one axis; fixes whether "um" means micrometres or microradians."""

    PNEUMATIC_STEPPER_LINEAR = 1
    PNEUMATIC_STEPPER_ROTARY = 2
    PIEZO_LINEAR = 3
    PIEZO_ROTARY = 4


class Capability(IntFlag):
    """Features a firmware build reports in IDENT."""

    ENCODERS = 1 << 0
    LIMIT_SWITCHES = 1 << 1
    PRESSURE_SENSORS = 1 << 2
    ESTOP_INPUT = 1 << 3
    WATCHDOG = 1 << 4
    HOMING = 1 << 5
    JOG = 1 << 6
    PARAM_STORAGE = 1 << 7


@unique
class StopCategory(IntEnum):
    """Stop categories of IEC 60204-1."""

    CAT0 = 0
    CAT1 = 1
    CAT2 = 2


@unique
class ParamId(IntEnum):
    """Firmware parameters readable with GET_PARAM and writable with SET_PARAM."""

    SOFT_LIMIT_MIN_UM = 1
    SOFT_LIMIT_MAX_UM = 2
    MAX_VELOCITY_UM_S = 3
    MAX_ACCELERATION_UM_S2 = 4
    FOLLOWING_ERROR_THRESHOLD_UM = 5
    IN_POSITION_TOLERANCE_UM = 6
    HOMING_VELOCITY_UM_S = 7
    MIN_SUPPLY_PRESSURE_HPA = 8
    WATCHDOG_MS = 9
    TELEMETRY_PERIOD_MS = 10


@unique
class FirmwareState(IntEnum):
    """State of the firmware's own state machine, reported in every TELEMETRY."""

    BOOT = 0
    IDLE = 1
    ENABLED = 2
    MOVING = 3
    HOMING = 4
    JOGGING = 5
    STOPPED = 6
    ESTOP = 7
    FAULT = 8


class AxisStatus(IntFlag):
    """Per-axis status bits in TELEMETRY (u16; bits 11-15 reserved, sent as 0)."""

    ENABLED = 1 << 0
    HOMED = 1 << 1
    MOVING = 1 << 2
    IN_POSITION = 1 << 3
    FAULT = 1 << 4
    FOLLOWING_ERROR = 1 << 5
    PRESSURE_LOW = 1 << 6
    LIMIT_MIN = 1 << 7
    LIMIT_MAX = 1 << 8
    ENCODER_STUCK = 1 << 9
    SOFT_LIMIT = 1 << 10


class LimitSwitch(IntFlag):
    """Bits of ``AxisTelemetry.limit_switches``: raw switch inputs; bits 3-7 reserved, sent as 0."""

    MIN = 1 << 0
    MAX = 1 << 1
    HOME = 1 << 2


@unique
class NackReason(IntEnum):
    """Why the firmware refused a well-formed command."""

    UNKNOWN_TYPE = 1
    BAD_LENGTH = 2
    BAD_STATE = 3
    OUTSIDE_LIMITS = 4
    INVALID_VALUE = 5
    BUSY = 6
    NOT_HOMED = 7
    ESTOP_ACTIVE = 8
    FAULT_ACTIVE = 9
    BAD_AXIS = 10
    UNSUPPORTED = 11
    BAD_PAYLOAD = 12


@unique
class FaultCode(IntEnum):
    """Why the firmware stopped something on its own (FAULT message)."""

    WATCHDOG = 1
    FOLLOWING_ERROR = 2
    PRESSURE_LOW = 3
    LIMIT_HIT = 4
    ENCODER_STUCK = 5
    HARDWARE_FAILURE = 6
    STARTUP_FAILURE = 7
    ESTOP = 8
    COMMAND_REJECTED = 9
    SOFT_LIMIT = 10
    COMMS_ERRORS = 11
