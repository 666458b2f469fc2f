"""Command handling of the emulated firmware: its state, and one method per host message type.

:class:`EmulatorState` is what the firmware knows (axes, state, latches, session, parameters);
:class:`~hal.emulator.firmware.EmulatedFirmware` owns one and hands it, with its two outputs
(send, reply), to :class:`CommandHandlers`, which acts on each host command.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

from firmware_interfaces import (
    PROTOCOL_VERSION_MAJOR,
    PROTOCOL_VERSION_MINOR,
    Ack,
    AxisKind,
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
    MessageType,
    Move,
    Nack,
    NackReason,
    ParamId,
    ParamValue,
    SetParam,
    Stop,
    StopCategory,
)
from hal.emulator.physics import AxisModel, PiezoModel, PneumaticModel

if TYPE_CHECKING:
    from collections.abc import Callable

    from firmware_interfaces import Frame, Message
    from hal.emulator.config import EmulatorConfig

__all__ = ["CAPABILITIES", "CommandHandlers", "EmulatorState"]

_NO_AXIS: Final = 0xFF
_MOTION_STATES: Final = frozenset(
    {FirmwareState.MOVING, FirmwareState.HOMING, FirmwareState.JOGGING}
)

CAPABILITIES: Final = (
    Capability.ENCODERS
    | Capability.LIMIT_SWITCHES
    | Capability.PRESSURE_SENSORS
    | Capability.ESTOP_INPUT
    | Capability.WATCHDOG
    | Capability.HOMING
    | Capability.JOG
)
"""Features the emulated firmware reports in IDENT."""


class EmulatorState:
    """What the emulated firmware knows; the firmware guards it with its lock.

    Args:
        config: axes and firmware parameters.
        axes: one physics model per axis.
        startup_fails: the fault plan fails the start-up (state BOOT, STARTUP_FAILURE latched).
        on_estop: called when the firmware enters ESTOP (ESTOP frame or e-stop input), before
            the axes are halted.
    """

    def __init__(
        self,
        config: EmulatorConfig,
        axes: tuple[AxisModel, ...],
        *,
        startup_fails: bool,
        on_estop: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.axes = axes
        self.time_s = 0.0
        self.state = FirmwareState.BOOT if startup_fails else FirmwareState.IDLE
        self.estop_input = False
        self.estop_latched = False
        self.fault_latched: FaultCode | None = FaultCode.STARTUP_FAILURE if startup_fails else None
        self.session_open = False
        self.watchdog_ms = config.watchdog_ms
        self.telemetry_period_ms = config.telemetry_period_ms
        self.last_command_id = 0
        self.move_started_s: float | None = None
        self._on_estop = on_estop

    def halt_all(self, *, disable: bool) -> None:
        """Stop every axis now (and disable them: Cat 0/1)."""
        for axis in self.axes:
            axis.halt()
            if disable:
                axis.enabled = False
        self.move_started_s = None

    def enter_estop(self) -> None:
        """Cat 0 stop, e-stop latched, state ESTOP."""
        if self._on_estop is not None:
            self._on_estop()
        self.halt_all(disable=True)
        self.estop_latched = True
        self.state = FirmwareState.ESTOP

    def mark_move_started(self) -> None:
        """Record that a move is in progress (for mid-move faults)."""
        self.move_started_s = self.time_s


class CommandHandlers:
    """Acts on each host command: changes ``state`` and answers through ``reply``.

    Args:
        state: the firmware's state.
        send: sends a message that is not a reply (the FAULT of a failed start-up).
        reply: sends a reply to the current command (cached for a repeated seq).
    """

    def __init__(
        self,
        state: EmulatorState,
        *,
        send: Callable[[Message], None],
        reply: Callable[[Message], None],
    ) -> None:
        self._fw = state
        self._send = send
        self._reply = reply

    def _ack(self, seq: int, command_type: MessageType) -> None:
        self._reply(Ack(ack_seq=seq, command_type=command_type))

    def _nack(self, seq: int, command_type: MessageType | int, reason: NackReason) -> None:
        self._reply(Nack(nack_seq=seq, command_type=command_type, reason=reason))

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
        if self._fw.fault_latched is FaultCode.STARTUP_FAILURE:
            self._nack(seq, kind, NackReason.FAULT_ACTIVE)
            return
        if isinstance(message, Stop):
            self._stop(message.category)
            self._ack(seq, kind)
        elif isinstance(message, EStop):
            self._fw.enter_estop()
            self._ack(seq, kind)
        elif isinstance(message, ClearFault):
            self._clear_fault(seq, kind)
        elif isinstance(message, GetParam):
            self._get_param(message, seq, kind)
        elif isinstance(message, SetParam):
            self._set_param(message, seq, kind)
        elif isinstance(message, Enable | Disable | Home | Move | Jog):
            refusal = self._motion_refusal(getattr(message, "axis_mask", None))
            if refusal is not None:
                self._nack(seq, kind, refusal)
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
            self._nack(seq, kind, NackReason.UNSUPPORTED)

    # --- handshake and parameters -------------------------------------------------------------

    def _hello(self, hello: Hello, seq: int) -> None:
        major, minor = self._fw.config.protocol_version or (
            PROTOCOL_VERSION_MAJOR,
            PROTOCOL_VERSION_MINOR,
        )
        self._fw.session_open = True
        if self._fw.fault_latched is FaultCode.STARTUP_FAILURE:
            self._send(Fault(code=FaultCode.STARTUP_FAILURE, axis=_NO_AXIS, detail=0))
            self._nack(seq, MessageType.HELLO, NackReason.FAULT_ACTIVE)
            return
        fw_major, fw_minor, fw_patch = self._fw.config.firmware_version
        self._reply(
            Ident(
                protocol_major=major,
                protocol_minor=minor,
                firmware_major=fw_major,
                firmware_minor=fw_minor,
                firmware_patch=fw_patch,
                nonce=hello.nonce,
                capabilities=CAPABILITIES,
                watchdog_ms=self._fw.watchdog_ms,
                telemetry_period_ms=self._fw.telemetry_period_ms,
                axis_kinds=tuple(self._axis_kind(i) for i in range(len(self._fw.axes))),
            )
        )

    def _axis_kind(self, index: int) -> AxisKind:
        rotary = self._fw.config.rotary[index]
        if isinstance(self._fw.axes[index], PiezoModel):
            return AxisKind.PIEZO_ROTARY if rotary else AxisKind.PIEZO_LINEAR
        return AxisKind.PNEUMATIC_STEPPER_ROTARY if rotary else AxisKind.PNEUMATIC_STEPPER_LINEAR

    def _param(self, param: ParamId, axis: AxisModel) -> int | None:
        values: dict[ParamId, float] = {
            ParamId.SOFT_LIMIT_MIN_UM: axis.soft_min_um,
            ParamId.SOFT_LIMIT_MAX_UM: axis.soft_max_um,
            ParamId.FOLLOWING_ERROR_THRESHOLD_UM: axis.following_error_limit_um,
            ParamId.HOMING_VELOCITY_UM_S: self._fw.config.homing_velocity_um_s,
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
                ParamId.WATCHDOG_MS: self._fw.watchdog_ms,
                ParamId.TELEMETRY_PERIOD_MS: self._fw.telemetry_period_ms,
            }.get(message.param)
        elif message.axis >= len(self._fw.axes):
            self._nack(seq, kind, NackReason.BAD_AXIS)
            return
        else:
            value = self._param(message.param, self._fw.axes[message.axis])
        if value is None:
            self._nack(seq, kind, NackReason.UNSUPPORTED)
            return
        self._reply(ParamValue(param=message.param, axis=message.axis, value=value))

    def _set_param(self, message: SetParam, seq: int, kind: MessageType) -> None:
        value = message.value
        if message.axis == _NO_AXIS and message.param is ParamId.WATCHDOG_MS:
            if not 10 <= value <= 10_000:  # noqa: PLR2004 - 0 (off) is refused on purpose
                self._nack(seq, kind, NackReason.INVALID_VALUE)
                return
            self._fw.watchdog_ms = value
        elif message.axis == _NO_AXIS and message.param is ParamId.TELEMETRY_PERIOD_MS:
            if not 1 <= value <= 1000:  # noqa: PLR2004 - 1 ms .. 1 s
                self._nack(seq, kind, NackReason.INVALID_VALUE)
                return
            self._fw.telemetry_period_ms = value
        elif message.axis != _NO_AXIS and message.axis >= len(self._fw.axes):
            self._nack(seq, kind, NackReason.BAD_AXIS)
            return
        else:
            self._nack(seq, kind, NackReason.UNSUPPORTED)  # limits are fixed in this build
            return
        self._ack(seq, kind)

    # --- stopping and faults ------------------------------------------------------------------

    def _stop(self, category: StopCategory) -> None:
        self._fw.halt_all(disable=category is not StopCategory.CAT2)
        if self._fw.state in _MOTION_STATES or self._fw.state is FirmwareState.ENABLED:
            self._fw.state = (
                FirmwareState.STOPPED if category is StopCategory.CAT2 else FirmwareState.IDLE
            )

    def _clear_fault(self, seq: int, kind: MessageType) -> None:
        if self._fw.estop_input:
            self._nack(seq, kind, NackReason.ESTOP_ACTIVE)
            return
        for axis in self._fw.axes:
            axis.hardware_failed = False
        self._fw.estop_latched = False
        self._fw.fault_latched = None
        self._fw.state = FirmwareState.IDLE
        self._ack(seq, kind)

    def _motion_refusal(self, axis_mask: int | None) -> NackReason | None:
        if self._fw.estop_latched or self._fw.estop_input:
            return NackReason.ESTOP_ACTIVE
        if self._fw.fault_latched is not None:
            return NackReason.FAULT_ACTIVE
        if axis_mask is not None and axis_mask >> len(self._fw.axes):
            return NackReason.BAD_AXIS
        return None

    # --- motion -------------------------------------------------------------------------------

    def _selected(self, mask: int) -> list[AxisModel]:
        return [a for i, a in enumerate(self._fw.axes) if mask >> i & 1]

    def _enable(self, mask: int, seq: int, kind: MessageType) -> None:
        for axis in self._selected(mask):
            axis.enabled = True
            # Hold where the encoder says, but inside the soft limits: encoder noise at a limit
            # must not leave a setpoint that a MOVE holding this axis would be refused for.
            position_um = float(axis.encoder_um())
            axis.commanded_um = min(axis.soft_max_um, max(axis.soft_min_um, position_um))
        if self._fw.state in {FirmwareState.IDLE, FirmwareState.STOPPED}:
            self._fw.state = FirmwareState.ENABLED
        self._ack(seq, kind)

    def _disable(self, mask: int, seq: int, kind: MessageType) -> None:
        for axis in self._selected(mask):
            axis.halt()
            axis.enabled = False
        if not any(a.enabled for a in self._fw.axes):
            self._fw.state = FirmwareState.IDLE
        self._ack(seq, kind)

    def _home(self, mask: int, seq: int, kind: MessageType) -> None:
        selected = self._selected(mask)
        if not all(a.enabled for a in selected):
            self._nack(seq, kind, NackReason.BAD_STATE)
            return
        for axis in selected:
            speed = min(float(self._fw.config.homing_velocity_um_s), axis.max_velocity_um_s)
            axis.start_homing(self._fw.time_s, speed)
        self._fw.state = FirmwareState.HOMING
        self._ack(seq, kind)

    def _move(self, move: Move, seq: int, kind: MessageType) -> None:
        n_axes = len(self._fw.axes)
        if len(move.targets_um) != n_axes or len(move.max_velocity_um_s) != n_axes:
            self._nack(seq, kind, NackReason.BAD_AXIS)
            return
        if move.command_id == self._fw.last_command_id and move.command_id != 0:
            self._ack(seq, kind)  # duplicate id: already executing or done
            return
        if self._fw.state in _MOTION_STATES - {FirmwareState.MOVING}:
            self._nack(seq, kind, NackReason.BUSY)
            return
        for axis, target in zip(self._fw.axes, move.targets_um, strict=True):
            if not axis.soft_min_um <= target <= axis.soft_max_um:
                self._fw.halt_all(disable=False)
                self._nack(seq, kind, NackReason.OUTSIDE_LIMITS)
                return
        if not all(a.enabled for a in self._fw.axes):
            self._nack(seq, kind, NackReason.BAD_STATE)
            return
        if self._fw.config.require_homing and not all(a.homed for a in self._fw.axes):
            self._nack(seq, kind, NackReason.NOT_HOMED)
            return
        duration_s = move.duration_ms / 1000.0
        for axis, target, cap in zip(
            self._fw.axes, move.targets_um, move.max_velocity_um_s, strict=True
        ):
            speed = min(float(cap), axis.max_velocity_um_s) if cap > 0 else axis.max_velocity_um_s
            distance = abs(target - axis.commanded_um)
            if distance > 0:
                duration_s = max(duration_s, distance / max(speed, 1.0))
        for axis, target in zip(self._fw.axes, move.targets_um, strict=True):
            axis.start(float(target), self._fw.time_s, self._fw.time_s + duration_s)
        self._fw.last_command_id = move.command_id
        self._fw.state = FirmwareState.MOVING
        self._fw.mark_move_started()
        self._ack(seq, kind)

    def _jog(self, jog: Jog, seq: int, kind: MessageType) -> None:
        if jog.axis >= len(self._fw.axes):
            self._nack(seq, kind, NackReason.BAD_AXIS)
            return
        axis = self._fw.axes[jog.axis]
        if not axis.enabled:
            self._nack(seq, kind, NackReason.BAD_STATE)
            return
        velocity = max(-axis.max_velocity_um_s, min(axis.max_velocity_um_s, jog.velocity_um_s))
        target = axis.commanded_um + velocity * jog.duration_ms / 1000.0
        target = max(axis.soft_min_um, min(axis.soft_max_um, target))
        if math.isclose(target, axis.commanded_um):
            self._ack(seq, kind)
            return
        axis.start(target, self._fw.time_s, self._fw.time_s + jog.duration_ms / 1000.0)
        self._fw.state = FirmwareState.JOGGING
        self._fw.mark_move_started()
        self._ack(seq, kind)
