"""The messages of the wire protocol: frozen value objects, checked when built.

Units: values are fixed-point integers with the unit in the name. ``um`` is a micro-joint-unit:
micrometres on a linear axis, microradians on a rotary axis (the axis kind in IDENT says which);
``um_s`` is that per second. ``ms``/``us`` are milliseconds/microseconds, ``hpa`` hectopascal.
Per-axis tuples hold one entry per axis, in axis order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from firmware_interfaces.checks import validate
from firmware_interfaces.enums import (
    AxisKind,
    AxisStatus,
    Capability,
    Direction,
    FaultCode,
    FirmwareState,
    MessageType,
    NackReason,
    ParamId,
    StopCategory,
)
from firmware_interfaces.fields import (
    I32,
    U8,
    U16,
    U32,
    U64,
    axis_index,
    boolean,
    column,
    enum_field,
    flag_field,
    integer,
    records,
)

__all__ = [
    "Ack",
    "AxisTelemetry",
    "ClearFault",
    "Disable",
    "EStop",
    "Enable",
    "Fault",
    "GetParam",
    "Heartbeat",
    "Hello",
    "Home",
    "Ident",
    "Jog",
    "Message",
    "Move",
    "Nack",
    "ParamValue",
    "SetParam",
    "Stop",
    "Telemetry",
]

_H2F = Direction.HOST_TO_FIRMWARE
_F2H = Direction.FIRMWARE_TO_HOST
_MASK_DOC = "bit i selects axis i"


class Message:
    """Base of every message: checks its fields against their wire descriptions when built."""

    __slots__ = ()
    TYPE: ClassVar[MessageType]
    DIRECTION: ClassVar[Direction]
    MIN_AXES: ClassVar[int] = 0

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Hello(Message):
    """Opens the handshake; the firmware answers IDENT with the same nonce."""

    TYPE: ClassVar[MessageType] = MessageType.HELLO
    DIRECTION: ClassVar[Direction] = _H2F
    protocol_major: int = field(metadata=integer(U8, unit="", doc="host's protocol major"))
    protocol_minor: int = field(metadata=integer(U8, unit="", doc="host's protocol minor"))
    max_payload_bytes: int = field(
        metadata=integer(U8, unit="bytes", doc="largest payload the host accepts")
    )
    nonce: int = field(
        metadata=integer(U32, unit="", doc="random; echoed by IDENT to pair reply and request")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Ident(Message):
    """Firmware identity and configuration, the answer to HELLO."""

    TYPE: ClassVar[MessageType] = MessageType.IDENT
    DIRECTION: ClassVar[Direction] = _F2H
    MIN_AXES: ClassVar[int] = 1
    protocol_major: int = field(metadata=integer(U8, unit="", doc="firmware's protocol major"))
    protocol_minor: int = field(metadata=integer(U8, unit="", doc="firmware's protocol minor"))
    firmware_major: int = field(metadata=integer(U8, unit="", doc="firmware release major"))
    firmware_minor: int = field(metadata=integer(U8, unit="", doc="firmware release minor"))
    firmware_patch: int = field(metadata=integer(U8, unit="", doc="firmware release patch"))
    nonce: int = field(metadata=integer(U32, unit="", doc="the nonce of the HELLO answered"))
    capabilities: Capability = field(
        metadata=flag_field(U16, Capability, doc="features of this build")
    )
    watchdog_ms: int = field(
        metadata=integer(U16, unit="ms", doc="heartbeat watchdog period (0 = disarmed)")
    )
    telemetry_period_ms: int = field(metadata=integer(U16, unit="ms", doc="TELEMETRY period"))
    axis_kinds: tuple[AxisKind, ...] = field(
        metadata=column(U8, unit="", doc="actuator and joint type of each axis", enum=AxisKind)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Heartbeat(Message):
    """Keeps the firmware watchdog from stopping the axes; never acknowledged."""

    TYPE: ClassVar[MessageType] = MessageType.HEARTBEAT
    DIRECTION: ClassVar[Direction] = _H2F
    counter: int = field(
        metadata=integer(U32, unit="", doc="incremented by one per heartbeat, wraps")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Enable(Message):
    """Enables the drives/valves of the selected axes (they hold position)."""

    TYPE: ClassVar[MessageType] = MessageType.ENABLE
    DIRECTION: ClassVar[Direction] = _H2F
    axis_mask: int = field(metadata=integer(U8, unit="bits", doc=_MASK_DOC))


@dataclass(frozen=True, slots=True, kw_only=True)
class Disable(Message):
    """Disables the drives/valves of the selected axes."""

    TYPE: ClassVar[MessageType] = MessageType.DISABLE
    DIRECTION: ClassVar[Direction] = _H2F
    axis_mask: int = field(metadata=integer(U8, unit="bits", doc=_MASK_DOC))


@dataclass(frozen=True, slots=True, kw_only=True)
class Home(Message):
    """Homes the selected axes (establishes their position reference)."""

    TYPE: ClassVar[MessageType] = MessageType.HOME
    DIRECTION: ClassVar[Direction] = _H2F
    axis_mask: int = field(metadata=integer(U8, unit="bits", doc=_MASK_DOC))


@dataclass(frozen=True, slots=True, kw_only=True)
class Move(Message):
    """Synchronised absolute move: every listed axis arrives at its target after duration_ms."""

    TYPE: ClassVar[MessageType] = MessageType.MOVE
    DIRECTION: ClassVar[Direction] = _H2F
    MIN_AXES: ClassVar[int] = 1
    command_id: int = field(
        metadata=integer(U32, unit="", doc="unique per move; a repeated id is not re-executed")
    )
    duration_ms: int = field(
        metadata=integer(U32, unit="ms", doc="time for all axes to arrive together")
    )
    targets_um: tuple[int, ...] = field(
        metadata=column(I32, unit="um", doc="absolute target of each axis")
    )
    max_velocity_um_s: tuple[int, ...] = field(
        metadata=column(I32, unit="um/s", doc="speed cap of each axis (>= 0)", lo=0)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Jog(Message):
    """Hold-to-run jog of one axis; stops when duration_ms passes unless renewed by another JOG."""

    TYPE: ClassVar[MessageType] = MessageType.JOG
    DIRECTION: ClassVar[Direction] = _H2F
    axis: int = field(metadata=axis_index(doc="axis to jog"))
    velocity_um_s: int = field(metadata=integer(I32, unit="um/s", doc="signed jog velocity"))
    duration_ms: int = field(
        metadata=integer(U16, unit="ms", doc="jog expires this long after receipt")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Stop(Message):
    """Stops all axes in the given category; always accepted."""

    TYPE: ClassVar[MessageType] = MessageType.STOP
    DIRECTION: ClassVar[Direction] = _H2F
    category: StopCategory = field(
        metadata=enum_field(U8, StopCategory, doc="IEC 60204-1 stop category")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class EStop(Message):
    """Emergency stop: outputs off (pneumatic axes purge air); latched until CLEAR_FAULT."""

    TYPE: ClassVar[MessageType] = MessageType.ESTOP
    DIRECTION: ClassVar[Direction] = _H2F


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearFault(Message):
    """Clears a latched fault or e-stop once its cause is gone."""

    TYPE: ClassVar[MessageType] = MessageType.CLEAR_FAULT
    DIRECTION: ClassVar[Direction] = _H2F


@dataclass(frozen=True, slots=True, kw_only=True)
class SetParam(Message):
    """Writes one firmware parameter; answered by ACK or NACK."""

    TYPE: ClassVar[MessageType] = MessageType.SET_PARAM
    DIRECTION: ClassVar[Direction] = _H2F
    param: ParamId = field(
        metadata=enum_field(U8, ParamId, doc="parameter (its unit: see ParamId)")
    )
    axis: int = field(
        metadata=axis_index(doc="axis, or 0xFF for a global parameter", no_axis_allowed=True)
    )
    value: int = field(
        metadata=integer(I32, unit="param", doc="new value, in the parameter's unit")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class GetParam(Message):
    """Reads one firmware parameter; answered by PARAM_VALUE or NACK."""

    TYPE: ClassVar[MessageType] = MessageType.GET_PARAM
    DIRECTION: ClassVar[Direction] = _H2F
    param: ParamId = field(metadata=enum_field(U8, ParamId, doc="parameter"))
    axis: int = field(
        metadata=axis_index(doc="axis, or 0xFF for a global parameter", no_axis_allowed=True)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamValue(Message):
    """The value of one firmware parameter, the answer to GET_PARAM."""

    TYPE: ClassVar[MessageType] = MessageType.PARAM_VALUE
    DIRECTION: ClassVar[Direction] = _F2H
    param: ParamId = field(metadata=enum_field(U8, ParamId, doc="parameter"))
    axis: int = field(
        metadata=axis_index(doc="axis, or 0xFF for a global parameter", no_axis_allowed=True)
    )
    value: int = field(
        metadata=integer(I32, unit="param", doc="current value, in the parameter's unit")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class AxisTelemetry:
    """State of one axis inside TELEMETRY."""

    commanded_um: int = field(
        metadata=integer(I32, unit="um", doc="setpoint the firmware is tracking")
    )
    encoder_um: int = field(metadata=integer(I32, unit="um", doc="measured position"))
    velocity_um_s: int = field(metadata=integer(I32, unit="um/s", doc="measured velocity"))
    status: AxisStatus = field(metadata=flag_field(U16, AxisStatus, doc="status bits"))
    supply_pressure_hpa: int = field(
        metadata=integer(U16, unit="hPa", doc="supply pressure (0 on non-pneumatic axes)")
    )
    limit_switches: int = field(
        metadata=integer(
            U8, unit="bits", doc="raw switches: bit0 min, bit1 max, bit2 home", hi=0x07
        )
    )

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Telemetry(Message):
    """Periodic state report of the firmware and every axis."""

    TYPE: ClassVar[MessageType] = MessageType.TELEMETRY
    DIRECTION: ClassVar[Direction] = _F2H
    firmware_time_us: int = field(metadata=integer(U64, unit="us", doc="firmware monotonic clock"))
    estop_input: bool = field(metadata=boolean(doc="e-stop circuit open (True = stop requested)"))
    firmware_state: FirmwareState = field(
        metadata=enum_field(U8, FirmwareState, doc="firmware state machine")
    )
    last_command_id: int = field(
        metadata=integer(U32, unit="", doc="command_id of the last MOVE accepted")
    )
    axes: tuple[AxisTelemetry, ...] = field(
        metadata=records(AxisTelemetry, doc="one record per axis")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Ack(Message):
    """A command was accepted."""

    TYPE: ClassVar[MessageType] = MessageType.ACK
    DIRECTION: ClassVar[Direction] = _F2H
    ack_seq: int = field(metadata=integer(U16, unit="", doc="seq of the command acknowledged"))
    command_type: MessageType = field(
        metadata=enum_field(U8, MessageType, doc="type of that command")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Nack(Message):
    """A well-formed command was refused (corrupted frames are never NACKed).

    ``command_type`` is a ``MessageType`` when known, else the raw type byte (UNKNOWN_TYPE).
    """

    TYPE: ClassVar[MessageType] = MessageType.NACK
    DIRECTION: ClassVar[Direction] = _F2H
    nack_seq: int = field(metadata=integer(U16, unit="", doc="seq of the command refused"))
    command_type: MessageType | int = field(
        metadata=enum_field(
            U8, MessageType, doc="type byte of that command (may be unknown)", open_=True
        )
    )
    reason: NackReason = field(metadata=enum_field(U8, NackReason, doc="why it was refused"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault(Message):
    """The firmware stopped something on its own."""

    TYPE: ClassVar[MessageType] = MessageType.FAULT
    DIRECTION: ClassVar[Direction] = _F2H
    code: FaultCode = field(metadata=enum_field(U8, FaultCode, doc="what happened"))
    axis: int = field(
        metadata=axis_index(doc="axis concerned, or 0xFF for none", no_axis_allowed=True)
    )
    detail: int = field(
        metadata=integer(I32, unit="code", doc="code-specific value (see FaultCode)")
    )
