# mypy: disable-error-code="comparison-overlap, unreachable"
# (states change through calls mypy cannot see, so its narrowing of `.state` is wrong here)
"""The emulated firmware, driven frame by frame in simulated time."""

from __future__ import annotations

import pytest

from firmware_interfaces import (
    Ack,
    ClearFault,
    Enable,
    EStop,
    Fault,
    FaultCode,
    FirmwareState,
    Frame,
    FrameDecoder,
    GetParam,
    Heartbeat,
    Hello,
    Home,
    Ident,
    Message,
    Move,
    Nack,
    NackReason,
    ParamId,
    ParamValue,
    Telemetry,
    encode_frame,
    encode_raw_frame,
)
from hal.emulator import FaultKind, FaultPlan, FaultSpec
from tests.support.firmware import fast_emulator


class RawHost:
    """Attaches to an emulator and speaks raw frames."""

    def __init__(self, firmware) -> None:
        self.firmware = firmware
        self.decoder = FrameDecoder()
        self.messages: list[Message] = []
        self.closed = False
        self.seq = 0
        firmware.attach(self)

    def send(self, data: bytes) -> None:
        self.messages += [i.message for i in self.decoder.feed(data) if isinstance(i, Frame)]

    def close(self) -> None:
        self.closed = True

    def cmd(self, message, seq=None):
        seq = self.seq if seq is None else seq
        self.seq = seq + 1
        before = len(self.messages)
        self.firmware.receive(encode_frame(message, seq))
        return [m for m in self.messages[before:] if not isinstance(m, Telemetry)]

    def of(self, cls):
        return [m for m in self.messages if isinstance(m, cls)]

    def telemetry(self):
        return self.of(Telemetry)[-1]


def hello(nonce=7):
    return Hello(protocol_major=1, protocol_minor=0, max_payload_bytes=240, nonce=nonce)


def ready(firmware) -> RawHost:
    host = RawHost(firmware)
    host.cmd(hello())
    host.cmd(Enable(axis_mask=0b111))
    host.cmd(Home(axis_mask=0b111))
    for _ in range(100):
        firmware.step(0.01)
        host.cmd(Heartbeat(counter=1))
        if all(a.homed and not a.moving for a in firmware.axes):
            break
    assert all(a.homed for a in firmware.axes)
    host.messages.clear()
    return host


def run(firmware, host, seconds, *, heartbeat_s=0.05):
    """Step simulated time with host heartbeats."""
    end_s = firmware.time_s + seconds
    while firmware.time_s < end_s - 1e-9:
        firmware.step(min(heartbeat_s, end_s - firmware.time_s))
        host.cmd(Heartbeat(counter=1))


def move(targets_um, command_id=1, duration_ms=0):
    return Move(
        command_id=command_id,
        duration_ms=duration_ms,
        targets_um=tuple(targets_um),
        max_velocity_um_s=(0,) * len(targets_um),
    )


def test_hello_is_answered_by_ident_with_the_same_nonce_and_the_axis_kinds():
    host = RawHost(fast_emulator())
    (ident,) = host.cmd(hello(nonce=0xDEADBEEF))
    assert isinstance(ident, Ident)
    assert ident.nonce == 0xDEADBEEF
    assert ident.watchdog_ms == 250
    assert len(ident.axis_kinds) == 3


def test_outputs_start_disabled_and_motion_needs_enable():
    firmware = fast_emulator()
    host = RawHost(firmware)
    host.cmd(hello())
    assert not any(a.enabled for a in firmware.axes)
    (reply,) = host.cmd(move((0, 0, 50_000)))
    assert isinstance(reply, Nack)
    assert reply.reason is NackReason.BAD_STATE


def test_move_beyond_a_soft_limit_is_nacked_outside_limits_and_axes_stop():
    firmware = fast_emulator()
    host = ready(firmware)
    host.cmd(move((10_000, 0, 50_000), command_id=1))
    firmware.step(0.02)
    assert any(a.moving for a in firmware.axes)
    (reply,) = host.cmd(move((30_000, 0, 50_000), command_id=2))
    assert isinstance(reply, Nack)
    assert reply.reason is NackReason.OUTSIDE_LIMITS
    assert not any(a.moving for a in firmware.axes)


def test_synchronised_move_brings_every_axis_to_its_target_together():
    firmware = fast_emulator()
    host = ready(firmware)
    (reply,) = host.cmd(move((10_000, -5_000, 60_000), command_id=5, duration_ms=200))
    assert isinstance(reply, Ack)
    run(firmware, host, 0.1)
    half = [a.encoder_um() for a in firmware.axes]
    run(firmware, host, 0.2)
    final = [a.encoder_um() for a in firmware.axes]
    assert final[0] == pytest.approx(10_000, abs=100)
    assert final[1] == pytest.approx(-5_000, abs=100)
    assert final[2] == pytest.approx(60_000, abs=20)
    # the piezo needs 60 mm / 200 mm/s = 0.3 s, so every axis is a third of the way at 0.1 s
    assert half[0] == pytest.approx(-25_000 + 35_000 / 3, abs=300)
    assert half[1] == pytest.approx(-25_000 + 20_000 / 3, abs=300)
    assert half[2] == pytest.approx(60_000 / 3, abs=300)
    firmware.step(0.01)
    assert host.telemetry().last_command_id == 5


def test_a_repeated_seq_replays_the_cached_reply_without_executing_again():
    firmware = fast_emulator()
    host = ready(firmware)
    first = host.cmd(move((0, 0, 50_000), command_id=9), seq=100)
    again = host.cmd(move((0, 0, 50_000), command_id=9), seq=100)
    assert first == again
    assert firmware.counters.duplicates == 1


def test_pneumatic_axis_speed_is_limited_by_step_rate_and_hose_length():
    firmware = fast_emulator()
    ready(firmware).cmd(move((25_000, 0, 0), command_id=3))
    firmware.step(0.1)
    axis = firmware.axes[0]
    travelled = axis.encoder_um() - (-25_000)
    assert travelled == pytest.approx(axis.max_velocity_um_s * 0.1, rel=0.05)
    assert axis.max_velocity_um_s == pytest.approx(2000 * 100)


def test_watchdog_stops_and_disables_axes_and_sends_a_fault_when_the_host_goes_quiet():
    firmware = fast_emulator()
    host = ready(firmware)
    host.cmd(move((25_000, 25_000, 100_000), command_id=4))
    firmware.step(0.24)
    assert firmware.state is FirmwareState.MOVING
    firmware.step(0.02)
    (fault,) = host.of(Fault)
    assert fault.code is FaultCode.WATCHDOG
    assert firmware.state is FirmwareState.FAULT
    assert not any(a.enabled or a.moving for a in firmware.axes)
    assert host.cmd(Enable(axis_mask=1))[0].reason is NackReason.FAULT_ACTIVE


def test_estop_latches_until_cleared_and_clear_is_refused_while_the_input_is_open():
    firmware = fast_emulator()
    host = ready(firmware)
    firmware.press_estop()
    assert firmware.state is FirmwareState.ESTOP
    assert host.cmd(ClearFault())[0].reason is NackReason.ESTOP_ACTIVE
    firmware.release_estop()
    assert isinstance(host.cmd(ClearFault())[0], Ack)
    assert isinstance(host.cmd(Enable(axis_mask=1))[0], Ack)


def test_host_estop_frame_stops_everything_and_is_acknowledged():
    firmware = fast_emulator()
    host = ready(firmware)
    host.cmd(move((25_000, 25_000, 100_000), command_id=4))
    firmware.step(0.01)
    (reply,) = host.cmd(EStop())
    assert isinstance(reply, Ack)
    assert not any(a.moving or a.enabled for a in firmware.axes)


def test_unknown_message_type_with_a_good_crc_is_nacked_unknown_type():
    firmware = fast_emulator()
    host = RawHost(firmware)
    host.cmd(hello())
    raw = bytearray(encode_raw_frame(ClearFault(), 42))
    raw[1] = 0x7E  # no such type
    import zlib

    from cobs import cobs

    body = bytes(raw[:-4])
    wire = cobs.encode(body + zlib.crc32(body).to_bytes(4, "little")) + b"\x00"
    firmware.receive(wire)
    nacks = host.of(Nack)
    assert nacks[-1].reason is NackReason.UNKNOWN_TYPE
    assert nacks[-1].nack_seq == 42


def test_garbage_and_oversized_input_is_dropped_and_counted_without_a_reply():
    firmware = fast_emulator()
    host = RawHost(firmware)
    firmware.receive(b"\x13\x37garbage\x00" + b"\x55" * 1000 + b"\x00")
    assert firmware.counters.frame_faults >= 2
    assert host.messages == []
    (ident,) = host.cmd(hello())
    assert isinstance(ident, Ident)


def test_parameters_can_be_read_per_axis_and_globally():
    host = RawHost(fast_emulator())
    host.cmd(hello())
    (value,) = host.cmd(GetParam(param=ParamId.SOFT_LIMIT_MAX_UM, axis=2))
    assert isinstance(value, ParamValue)
    assert value.value == 100_000
    (value,) = host.cmd(GetParam(param=ParamId.WATCHDOG_MS, axis=0xFF))
    assert value.value == 250
    assert host.cmd(GetParam(param=ParamId.WATCHDOG_MS, axis=7))[0].reason is NackReason.BAD_AXIS


def test_startup_failure_answers_hello_with_a_fault_and_a_nack_and_refuses_commands():
    plan = FaultPlan(faults=(FaultSpec(kind=FaultKind.STARTUP_FAILURE),))
    host = RawHost(fast_emulator(plan))
    replies = host.cmd(hello())
    assert [type(r).__name__ for r in replies] == ["Fault", "Nack"]
    assert replies[0].code is FaultCode.STARTUP_FAILURE
    assert replies[1].reason is NackReason.FAULT_ACTIVE
    assert host.cmd(Enable(axis_mask=1))[0].reason is NackReason.FAULT_ACTIVE


def test_pressure_loss_loses_steps_and_faults_the_moving_axis():
    plan = FaultPlan(faults=(FaultSpec(kind=FaultKind.PRESSURE_LOSS, at_s=0.0, axis=0),))
    firmware = fast_emulator(plan)
    host = RawHost(firmware)
    host.cmd(hello())
    firmware.step(0.001)
    host.cmd(Enable(axis_mask=0b111))
    host.cmd(Home(axis_mask=0b111))
    firmware.step(0.005)
    (fault,) = host.of(Fault)
    assert fault.code is FaultCode.PRESSURE_LOW
    assert fault.axis == 0
    assert fault.detail == 1000


def test_enabling_holds_inside_the_soft_limits_when_the_encoder_reads_past_one():
    firmware = fast_emulator()
    host = RawHost(firmware)
    host.cmd(hello())
    axis = firmware.axes[2]
    axis.true_um = axis.soft_min_um - 3.0  # resting 3 um below the lower soft limit
    host.cmd(Enable(axis_mask=0b111))
    assert axis.commanded_um == axis.soft_min_um
