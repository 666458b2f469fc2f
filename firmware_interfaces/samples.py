"""One realistic example of every message type, for golden vectors, self-tests and benchmarks."""

from __future__ import annotations

from firmware_interfaces.constants import NO_AXIS, PROTOCOL_VERSION_MAJOR, PROTOCOL_VERSION_MINOR
from firmware_interfaces.enums import (
    AxisKind,
    AxisStatus,
    Capability,
    FaultCode,
    FirmwareState,
    LimitSwitch,
    MessageType,
    NackReason,
    ParamId,
    StopCategory,
)
from firmware_interfaces.messages import (
    Ack,
    AxisTelemetry,
    ClearFault,
    Disable,
    Enable,
    EStop,
    Fault,
    GetParam,
    Heartbeat,
    Hello,
    Home,
    Ident,
    Jog,
    Message,
    Move,
    Nack,
    ParamValue,
    SetParam,
    Stop,
    Telemetry,
)

__all__ = ["sample_messages", "sample_telemetry"]


def sample_telemetry(axis_count: int = 4) -> Telemetry:
    """A TELEMETRY of a robot in motion: pneumatic axes first, piezo axes after.

    Raises:
        MessageValueError: ``axis_count`` is outside 0..MAX_AXES.
    """
    moving = AxisStatus.ENABLED | AxisStatus.HOMED | AxisStatus.MOVING
    axes = tuple(
        AxisTelemetry(
            commanded_um=12_500 * (i + 1) - 40_000,
            encoder_um=12_500 * (i + 1) - 40_000 - 37 * (i + 1),
            velocity_um_s=-2_000 + 1_500 * i,
            status=moving if i % 2 == 0 else moving | AxisStatus.IN_POSITION,
            supply_pressure_hpa=6_200 - 15 * i if i < 2 else 0,  # noqa: PLR2004 - two pneumatic
            limit_switches=int(LimitSwitch.HOME) if i == 0 else 0,
        )
        for i in range(axis_count)
    )
    return Telemetry(
        firmware_time_us=1_234_567_890_123,
        estop_input=False,
        firmware_state=FirmwareState.MOVING,
        last_command_id=4_711,
        axes=axes,
    )


def sample_messages() -> dict[MessageType, Message]:
    """One message of every type, keyed by type, in ``MessageType`` order."""
    messages: list[Message] = [
        Hello(
            protocol_major=PROTOCOL_VERSION_MAJOR,
            protocol_minor=PROTOCOL_VERSION_MINOR,
            max_payload_bytes=240,
            nonce=0xDEADBEEF,
        ),
        Heartbeat(counter=1_000_001),
        Enable(axis_mask=0b0000_1111),
        Disable(axis_mask=0b0000_0100),
        Home(axis_mask=0b0000_0011),
        Move(
            command_id=4_711,
            duration_ms=2_500,
            targets_um=(15_000, -7_500, 1_570_796, 0),
            max_velocity_um_s=(10_000, 10_000, 785_398, 5_000),
        ),
        Jog(axis=2, velocity_um_s=-1_250, duration_ms=200),
        Stop(category=StopCategory.CAT1),
        EStop(),
        ClearFault(),
        SetParam(param=ParamId.SOFT_LIMIT_MAX_UM, axis=1, value=85_000),
        GetParam(param=ParamId.WATCHDOG_MS, axis=NO_AXIS),
        Ident(
            protocol_major=PROTOCOL_VERSION_MAJOR,
            protocol_minor=PROTOCOL_VERSION_MINOR,
            firmware_major=2,
            firmware_minor=3,
            firmware_patch=14,
            nonce=0xDEADBEEF,
            capabilities=Capability.ENCODERS
            | Capability.LIMIT_SWITCHES
            | Capability.PRESSURE_SENSORS
            | Capability.ESTOP_INPUT
            | Capability.WATCHDOG
            | Capability.HOMING,
            watchdog_ms=250,
            telemetry_period_ms=10,
            axis_kinds=(
                AxisKind.PNEUMATIC_STEPPER_LINEAR,
                AxisKind.PNEUMATIC_STEPPER_LINEAR,
                AxisKind.PIEZO_ROTARY,
                AxisKind.PIEZO_LINEAR,
            ),
        ),
        Ack(ack_seq=41, command_type=MessageType.MOVE),
        Nack(nack_seq=42, command_type=MessageType.MOVE, reason=NackReason.NOT_HOMED),
        sample_telemetry(),
        ParamValue(param=ParamId.WATCHDOG_MS, axis=NO_AXIS, value=250),
        Fault(code=FaultCode.FOLLOWING_ERROR, axis=1, detail=-1_850),
    ]
    by_type = {m.TYPE: m for m in messages}
    return {t: by_type[t] for t in MessageType}
