"""Command handling of the emulated firmware: one method per host message type.

A base class of :class:`~hal.emulator.firmware.EmulatedFirmware`; it declares the state it works
on and the primitives (send, reply, stop) the firmware class provides.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

from firmware_interfaces import (
    PROTOCOL_VERSION_MAJOR,
    PROTOCOL_VERSION_MINOR,
    AxisKind,
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
    MessageType,
    Move,
    NackReason,
    ParamId,
    ParamValue,
    SetParam,
    Stop,
    StopCategory,
)
from hal.emulator.physics import AxisModel, PiezoModel, PneumaticModel

if TYPE_CHECKING:
    from firmware_interfaces import Capability, Frame, Message
    from hal.emulator.config import EmulatorConfig

__all__ = ["CommandHandlers"]

_NO_AXIS: Final = 0xFF
_MOTION_STATES: Final = frozenset(
    {FirmwareState.MOVING, FirmwareState.HOMING, FirmwareState.JOGGING}
)


class CommandHandlers:
    """Acts on each host command; the subclass supplies state and I/O."""

    config: EmulatorConfig
    axes: tuple[AxisModel, ...]
    state: FirmwareState
    time_s: float
    estop_input: bool
    estop_latched: bool
    fault_latched: FaultCode | None
    session_open: bool
    watchdog_ms: int
    telemetry_period_ms: int
    last_command_id: int

    def send(self, message: Message) -> None:
        """Send one message (provided by the firmware class)."""
        raise NotImplementedError

    def reply(self, message: Message) -> None:
        """Send and cache a reply (provided by the firmware class)."""
        raise NotImplementedError

    def ack(self, seq: int, command_type: MessageType) -> None:
        """ACK (provided by the firmware class)."""
        raise NotImplementedError

    def nack(self, seq: int, command_type: MessageType | int, reason: NackReason) -> None:
        """NACK (provided by the firmware class)."""
        raise NotImplementedError

    def halt_all(self, *, disable: bool) -> None:
        """Stop all axes (provided by the firmware class)."""
        raise NotImplementedError

    def capabilities(self) -> Capability:
        """IDENT capabilities (provided by the firmware class)."""
        raise NotImplementedError

    def mark_move_started(self) -> None:
        """Note a move in progress (provided by the firmware class)."""
        raise NotImplementedError

    def _enter_estop(self) -> None:
        raise NotImplementedError

    # --- dispatch -----------------------------------------------------------------------------

    def handle(self, frame: Frame) -> None:
        """Act on one valid frame and answer it."""
        message = frame.message
        seq = frame.seq
        kind = type(message).TYPE
        if isinstance(message, Heartbeat):
            return  # the frame itself kicked the watchdog; never acknowledged
        if isinstance(message, Hello):
            self._hello(message, seq)
            return
        if self.fault_latched is FaultCode.STARTUP_FAILURE:
            self.nack(seq, kind, NackReason.FAULT_ACTIVE)
            return
        if isinstance(message, Stop):
            self._stop(message.category)
            self.ack(seq, kind)
        elif isinstance(message, EStop):
            self._enter_estop()
            self.ack(seq, kind)
        elif isinstance(message, ClearFault):
            self._clear_fault(seq, kind)
        elif isinstance(message, GetParam):
            self._get_param(message, seq, kind)
        elif isinstance(message, SetParam):
            self._set_param(message, seq, kind)
        elif isinstance(message, Enable | Disable | Home | Move | Jog):
            refusal = self._motion_refusal(getattr(message, "axis_mask", None))
            if refusal is not None:
                self.nack(seq, kind, refusal)
            elif isinstance(message, Enable):
                self._enable(message.axis_mask, seq, kind)
            elif isinstance(message, Disable):
                self._disable(message.axis_mask, seq, kind)
            elif isinstance(message, Home):
                self._home(message.axis_mask, seq, kind)
            elif isinstance(message, Move):
                self._move(message, seq, kind)
            else:
                self._jog(message, seq, kind)
        else:  # a firmware-to-host message sent by the host
            self.nack(seq, kind, NackReason.UNSUPPORTED)

    # --- handshake and parameters -------------------------------------------------------------

    def _hello(self, hello: Hello, seq: int) -> None:
        major, minor = self.config.protocol_version or (
            PROTOCOL_VERSION_MAJOR,
            PROTOCOL_VERSION_MINOR,
        )
        self.session_open = True
        if self.fault_latched is FaultCode.STARTUP_FAILURE:
            self.send(Fault(code=FaultCode.STARTUP_FAILURE, axis=_NO_AXIS, detail=0))
            self.nack(seq, MessageType.HELLO, NackReason.FAULT_ACTIVE)
            return
        fw_major, fw_minor, fw_patch = self.config.firmware_version
        self.reply(
            Ident(
                protocol_major=major,
                protocol_minor=minor,
                firmware_major=fw_major,
                firmware_minor=fw_minor,
                firmware_patch=fw_patch,
                nonce=hello.nonce,
                capabilities=self.capabilities(),
                watchdog_ms=self.watchdog_ms,
                telemetry_period_ms=self.telemetry_period_ms,
                axis_kinds=tuple(self._axis_kind(i) for i in range(len(self.axes))),
            )
        )

    def _axis_kind(self, index: int) -> AxisKind:
        rotary = self.config.rotary[index]
        if isinstance(self.axes[index], PiezoModel):
            return AxisKind.PIEZO_ROTARY if rotary else AxisKind.PIEZO_LINEAR
        return AxisKind.PNEUMATIC_STEPPER_ROTARY if rotary else AxisKind.PNEUMATIC_STEPPER_LINEAR

    def _param(self, param: ParamId, axis: AxisModel) -> int | None:
        values: dict[ParamId, float] = {
            ParamId.SOFT_LIMIT_MIN_UM: axis.soft_min_um,
            ParamId.SOFT_LIMIT_MAX_UM: axis.soft_max_um,
            ParamId.FOLLOWING_ERROR_THRESHOLD_UM: axis.following_error_limit_um,
            ParamId.HOMING_VELOCITY_UM_S: self.config.homing_velocity_um_s,
        }
        if isinstance(axis, PneumaticModel):
            values[ParamId.MAX_VELOCITY_UM_S] = axis.max_velocity_um_s
            values[ParamId.MIN_SUPPLY_PRESSURE_HPA] = axis.config.min_pressure_hpa
        elif isinstance(axis, PiezoModel):
            values[ParamId.MAX_VELOCITY_UM_S] = axis.max_velocity_um_s
        value = values.get(param)
        return None if value is None else round(value)

    def _get_param(self, message: GetParam, seq: int, kind: MessageType) -> None:
        value: int | None
        if message.axis == _NO_AXIS:
            value = {
                ParamId.WATCHDOG_MS: self.watchdog_ms,
                ParamId.TELEMETRY_PERIOD_MS: self.telemetry_period_ms,
            }.get(message.param)
        elif message.axis >= len(self.axes):
            self.nack(seq, kind, NackReason.BAD_AXIS)
            return
        else:
            value = self._param(message.param, self.axes[message.axis])
        if value is None:
            self.nack(seq, kind, NackReason.UNSUPPORTED)
            return
        self.reply(ParamValue(param=message.param, axis=message.axis, value=value))

    def _set_param(self, message: SetParam, seq: int, kind: MessageType) -> None:
        value = message.value
        if message.axis == _NO_AXIS and message.param is ParamId.WATCHDOG_MS:
            if not 10 <= value <= 10_000:  # noqa: PLR2004 - 0 (off) is refused on purpose
                self.nack(seq, kind, NackReason.INVALID_VALUE)
                return
            self.watchdog_ms = value
        elif message.axis == _NO_AXIS and message.param is ParamId.TELEMETRY_PERIOD_MS:
            if not 1 <= value <= 1000:  # noqa: PLR2004 - 1 ms .. 1 s
                self.nack(seq, kind, NackReason.INVALID_VALUE)
                return
            self.telemetry_period_ms = value
        elif message.axis != _NO_AXIS and message.axis >= len(self.axes):
            self.nack(seq, kind, NackReason.BAD_AXIS)
            return
        else:
            self.nack(seq, kind, NackReason.UNSUPPORTED)  # limits are fixed in this build
            return
        self.ack(seq, kind)

    # --- stopping and faults ------------------------------------------------------------------

    def _stop(self, category: StopCategory) -> None:
        self.halt_all(disable=category is not StopCategory.CAT2)
        if self.state in _MOTION_STATES or self.state is FirmwareState.ENABLED:
            self.state = (
                FirmwareState.STOPPED if category is StopCategory.CAT2 else FirmwareState.IDLE
            )

    def _clear_fault(self, seq: int, kind: MessageType) -> None:
        if self.estop_input:
            self.nack(seq, kind, NackReason.ESTOP_ACTIVE)
            return
        for axis in self.axes:
            axis.hardware_failed = False
        self.estop_latched = False
        self.fault_latched = None
        self.state = FirmwareState.IDLE
        self.ack(seq, kind)

    def _motion_refusal(self, axis_mask: int | None) -> NackReason | None:
        if self.estop_latched or self.estop_input:
            return NackReason.ESTOP_ACTIVE
        if self.fault_latched is not None:
            return NackReason.FAULT_ACTIVE
        if axis_mask is not None and axis_mask >> len(self.axes):
            return NackReason.BAD_AXIS
        return None

    # --- motion -------------------------------------------------------------------------------

    def _selected(self, mask: int) -> list[AxisModel]:
        return [a for i, a in enumerate(self.axes) if mask >> i & 1]

    def _enable(self, mask: int, seq: int, kind: MessageType) -> None:
        for axis in self._selected(mask):
            axis.enabled = True
            # Hold where the encoder says, but inside the soft limits: encoder noise at a limit
            # must not leave a setpoint that a MOVE holding this axis would be refused for.
            position_um = float(axis.encoder_um())
            axis.commanded_um = min(axis.soft_max_um, max(axis.soft_min_um, position_um))
        if self.state in {FirmwareState.IDLE, FirmwareState.STOPPED}:
            self.state = FirmwareState.ENABLED
        self.ack(seq, kind)

    def _disable(self, mask: int, seq: int, kind: MessageType) -> None:
        for axis in self._selected(mask):
            axis.halt()
            axis.enabled = False
        if not any(a.enabled for a in self.axes):
            self.state = FirmwareState.IDLE
        self.ack(seq, kind)

    def _home(self, mask: int, seq: int, kind: MessageType) -> None:
        selected = self._selected(mask)
        if not all(a.enabled for a in selected):
            self.nack(seq, kind, NackReason.BAD_STATE)
            return
        for axis in selected:
            speed = min(float(self.config.homing_velocity_um_s), axis.max_velocity_um_s)
            axis.start_homing(self.time_s, speed)
        self.state = FirmwareState.HOMING
        self.ack(seq, kind)

    def _move(self, move: Move, seq: int, kind: MessageType) -> None:
        n_axes = len(self.axes)
        if len(move.targets_um) != n_axes or len(move.max_velocity_um_s) != n_axes:
            self.nack(seq, kind, NackReason.BAD_AXIS)
            return
        if move.command_id == self.last_command_id and move.command_id != 0:
            self.ack(seq, kind)  # duplicate id: already executing or done
            return
        if self.state in _MOTION_STATES - {FirmwareState.MOVING}:
            self.nack(seq, kind, NackReason.BUSY)
            return
        for axis, target in zip(self.axes, move.targets_um, strict=True):
            if not axis.soft_min_um <= target <= axis.soft_max_um:
                self.halt_all(disable=False)
                self.nack(seq, kind, NackReason.OUTSIDE_LIMITS)
                return
        if not all(a.enabled for a in self.axes):
            self.nack(seq, kind, NackReason.BAD_STATE)
            return
        if self.config.require_homing and not all(a.homed for a in self.axes):
            self.nack(seq, kind, NackReason.NOT_HOMED)
            return
        duration_s = move.duration_ms / 1000.0
        for axis, target, cap in zip(
            self.axes, move.targets_um, move.max_velocity_um_s, strict=True
        ):
            speed = min(float(cap), axis.max_velocity_um_s) if cap > 0 else axis.max_velocity_um_s
            distance = abs(target - axis.commanded_um)
            if distance > 0:
                duration_s = max(duration_s, distance / max(speed, 1.0))
        for axis, target in zip(self.axes, move.targets_um, strict=True):
            axis.start(float(target), self.time_s, self.time_s + duration_s)
        self.last_command_id = move.command_id
        self.state = FirmwareState.MOVING
        self.mark_move_started()
        self.ack(seq, kind)

    def _jog(self, jog: Jog, seq: int, kind: MessageType) -> None:
        if jog.axis >= len(self.axes):
            self.nack(seq, kind, NackReason.BAD_AXIS)
            return
        axis = self.axes[jog.axis]
        if not axis.enabled:
            self.nack(seq, kind, NackReason.BAD_STATE)
            return
        velocity = max(-axis.max_velocity_um_s, min(axis.max_velocity_um_s, jog.velocity_um_s))
        target = axis.commanded_um + velocity * jog.duration_ms / 1000.0
        target = max(axis.soft_min_um, min(axis.soft_max_um, target))
        if math.isclose(target, axis.commanded_um):
            self.ack(seq, kind)
            return
        axis.start(target, self.time_s, self.time_s + jog.duration_ms / 1000.0)
        self.state = FirmwareState.JOGGING
        self.mark_move_started()
        self.ack(seq, kind)
