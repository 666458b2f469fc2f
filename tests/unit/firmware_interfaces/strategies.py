"""Hypothesis strategies that generate every message of the catalog, edge values included."""

from __future__ import annotations

from hypothesis import strategies as st

from firmware_interfaces import (
    MAX_AXES,
    NO_AXIS,
    Ack,
    AxisKind,
    AxisStatus,
    AxisTelemetry,
    Capability,
    ClearFault,
    Disable,
    Enable,
    EStop,
    Fault,
    FaultCode,
    FirmwareState,
    GetParam,
    Heartbeat,
    Hello,
    Home,
    Ident,
    Jog,
    Message,
    MessageType,
    Move,
    Nack,
    NackReason,
    ParamId,
    ParamValue,
    SetParam,
    Stop,
    StopCategory,
    Telemetry,
)

U8 = st.integers(0, 0xFF)
U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFF_FFFF)
U64 = st.integers(0, 0xFFFF_FFFF_FFFF_FFFF)
I32 = st.integers(-(2**31), 2**31 - 1)
AXIS = st.integers(0, MAX_AXES - 1)
AXIS_OR_NONE = st.one_of(AXIS, st.just(NO_AXIS))


def _flags(flag):
    members = list(flag)
    return st.lists(st.sampled_from(members), unique=True).map(
        lambda ms: flag(sum(int(m) for m in ms))
    )


axis_telemetry = st.builds(
    AxisTelemetry,
    commanded_um=I32,
    encoder_um=I32,
    velocity_um_s=I32,
    status=_flags(AxisStatus),
    supply_pressure_hpa=U16,
    limit_switches=st.integers(0, 7),
)


@st.composite
def moves(draw):
    n = draw(st.integers(1, MAX_AXES))
    return Move(
        command_id=draw(U32),
        duration_ms=draw(U32),
        targets_um=tuple(draw(st.lists(I32, min_size=n, max_size=n))),
        max_velocity_um_s=tuple(draw(st.lists(st.integers(0, 2**31 - 1), min_size=n, max_size=n))),
    )


STRATEGIES: dict[MessageType, st.SearchStrategy[Message]] = {
    MessageType.HELLO: st.builds(
        Hello, protocol_major=U8, protocol_minor=U8, max_payload_bytes=U8, nonce=U32
    ),
    MessageType.HEARTBEAT: st.builds(Heartbeat, counter=U32),
    MessageType.ENABLE: st.builds(Enable, axis_mask=U8),
    MessageType.DISABLE: st.builds(Disable, axis_mask=U8),
    MessageType.HOME: st.builds(Home, axis_mask=U8),
    MessageType.MOVE: moves(),
    MessageType.JOG: st.builds(Jog, axis=AXIS, velocity_um_s=I32, duration_ms=U16),
    MessageType.STOP: st.builds(Stop, category=st.sampled_from(StopCategory)),
    MessageType.ESTOP: st.just(EStop()),
    MessageType.CLEAR_FAULT: st.just(ClearFault()),
    MessageType.SET_PARAM: st.builds(
        SetParam, param=st.sampled_from(ParamId), axis=AXIS_OR_NONE, value=I32
    ),
    MessageType.GET_PARAM: st.builds(GetParam, param=st.sampled_from(ParamId), axis=AXIS_OR_NONE),
    MessageType.IDENT: st.builds(
        Ident,
        protocol_major=U8,
        protocol_minor=U8,
        firmware_major=U8,
        firmware_minor=U8,
        firmware_patch=U8,
        nonce=U32,
        capabilities=_flags(Capability),
        watchdog_ms=U16,
        telemetry_period_ms=U16,
        axis_kinds=st.lists(st.sampled_from(AxisKind), min_size=1, max_size=MAX_AXES).map(tuple),
    ),
    MessageType.ACK: st.builds(Ack, ack_seq=U16, command_type=st.sampled_from(MessageType)),
    MessageType.NACK: st.builds(
        Nack,
        nack_seq=U16,
        command_type=st.one_of(
            st.sampled_from(MessageType),
            U8.filter(lambda v: v not in {int(t) for t in MessageType}),
        ),
        reason=st.sampled_from(NackReason),
    ),
    MessageType.TELEMETRY: st.builds(
        Telemetry,
        firmware_time_us=U64,
        estop_input=st.booleans(),
        firmware_state=st.sampled_from(FirmwareState),
        last_command_id=U32,
        axes=st.lists(axis_telemetry, max_size=MAX_AXES).map(tuple),
    ),
    MessageType.PARAM_VALUE: st.builds(
        ParamValue, param=st.sampled_from(ParamId), axis=AXIS_OR_NONE, value=I32
    ),
    MessageType.FAULT: st.builds(
        Fault, code=st.sampled_from(FaultCode), axis=AXIS_OR_NONE, detail=I32
    ),
}

any_message: st.SearchStrategy[Message] = st.one_of(*STRATEGIES.values())
seqs = U16
