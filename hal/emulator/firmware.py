"""The emulated motor-controller firmware: the real wire protocol over simulated physics.

Sans-I/O core: :meth:`EmulatedFirmware.receive` takes bytes from the host and handles every
complete frame at once (replies go out through the attached connection); :meth:`step` /
:meth:`advance_to` move simulated time (physics, telemetry, watchdog, timed faults). Servers
(in-process, pty, TCP) call these from their own thread; every public method is thread-safe.

What it does: HELLO/IDENT with nonce, ACK/NACK with reasons, duplicate-seq replay of the cached
reply, duplicate MOVE ids ignored, enable/disable/home/move/jog/stop/e-stop/clear-fault,
parameters, soft limits (MOVE beyond -> NACK OUTSIDE_LIMITS), limit switches, e-stop input,
watchdog (no valid frame for ``watchdog_ms`` -> axes stop and disable, FAULT WATCHDOG),
following-error and low-pressure faults, and the fault plan (see :mod:`hal.emulator.faults`).

Not modelled: baud-rate pacing and USB latency (inject ``delay``), real pneumatic dynamics and
hose delay, air purge on e-stop, temperature, brakes, the imaging (scanner) state, the
duplicate/reorder/split/CRC-burst/stop-answering faults of docs/SERIAL_LINK_BASIS.md section 7
(only the nine faults in ``FAULT_NAMES``), parameter storage across restarts, more than one host
connection at a time.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from firmware_interfaces import (
    NO_AXIS,
    AxisStatus,
    AxisTelemetry,
    Fault,
    FaultCode,
    FirmwareState,
    Frame,
    FrameDecoder,
    FrameFault,
    LimitSwitch,
    Nack,
    NackReason,
    Telemetry,
    encode_frame,
)
from firmware_interfaces import FaultKind as DecodeFaultKind
from hal.config import JointKind, from_wire_um
from hal.emulator.faults import FaultKind, FaultPlan
from hal.emulator.handlers import CommandHandlers, EmulatorState
from hal.emulator.injector import FaultInjector, InjectorStats
from hal.emulator.physics import AxisModel, PiezoModel, PneumaticModel, PneumaticModelConfig

if TYPE_CHECKING:
    from collections.abc import Callable

    from firmware_interfaces import Message
    from hal.emulator.config import EmulatorConfig

__all__ = ["Connection", "EmulatedFirmware", "FirmwareCounters", "TruthSample"]

logger = logging.getLogger(__name__)

_US_PER_S: Final = 1_000_000
_SEQ_MODULO: Final = 1 << 16
_NACKABLE: Final = {
    DecodeFaultKind.UNKNOWN_TYPE: NackReason.UNKNOWN_TYPE,
    DecodeFaultKind.BAD_LENGTH: NackReason.BAD_LENGTH,
    DecodeFaultKind.BAD_PAYLOAD: NackReason.BAD_PAYLOAD,
}


class Connection(Protocol):
    """Where the firmware's bytes go (one host connection)."""

    def send(self, data: bytes) -> None:
        """Deliver ``data`` to the host; may drop it when the host does not keep up."""
        ...

    def close(self) -> None:
        """Drop the connection (the host sees a disconnect)."""
        ...


class FirmwareCounters:
    """What the firmware counted (tests and the CLI read these)."""

    def __init__(self) -> None:
        self.frames_rx = 0
        self.frames_tx = 0
        self.frames_written = 0
        self.frame_faults = 0
        self.duplicates = 0
        self.seq_gaps = 0
        self.nacks = 0
        self.faults_sent = 0
        self.telemetry_sent = 0


@dataclass(frozen=True, slots=True)
class TruthSample:
    """The emulated axes' physical state at one physics tick.

    Attributes:
        time_s: firmware time (s).
        positions_um: true position per axis (um; the encoder may differ).
        moving: per axis, a trajectory is being followed.
        enabled: per axis, the drive is powered.
    """

    time_s: float
    positions_um: tuple[float, ...]
    moving: tuple[bool, ...]
    enabled: tuple[bool, ...]


class EmulatedFirmware:
    """Firmware in Python, stepped in simulated time.

    Args:
        config: axes and firmware parameters.
        fault_plan: faults to inject (deterministic for a given seed).
        on_estop: called (under the firmware's lock) when the firmware enters ESTOP, on an
            ESTOP frame or the e-stop input, before it halts the axes.
    """

    def __init__(
        self,
        config: EmulatorConfig,
        *,
        fault_plan: FaultPlan | None = None,
        on_estop: Callable[[], None] | None = None,
    ) -> None:
        plan = fault_plan or FaultPlan()
        self.config = config
        self.plan = plan
        self._lock = threading.RLock()  # guards every attribute below, the state (_fw) included
        self._rng = random.Random(plan.seed)  # noqa: S311 - simulation noise, not cryptography
        axes: tuple[AxisModel, ...] = tuple(
            PneumaticModel(a, self._rng)
            if isinstance(a, PneumaticModelConfig)
            else PiezoModel(a, self._rng)
            for a in config.axes
        )
        self._fw = EmulatorState(
            config, axes, startup_fails=bool(plan.of(FaultKind.STARTUP_FAILURE)), on_estop=on_estop
        )
        self._handlers = CommandHandlers(self._fw, send=self.send, reply=self.reply)
        self._injector = FaultInjector(plan)
        self._decoder = FrameDecoder()
        self._connection: Connection | None = None
        self._outbox: list[tuple[float, bytes]] = []
        self.counters = FirmwareCounters()
        self._tx_seq = 0
        self._last_rx_seq: int | None = None
        self._last_rx_frame: Frame | None = None
        self._last_reply: list[Message] = []
        self._last_valid_rx_s = 0.0
        self._next_telemetry_s = 0.0
        self._fired: set[int] = set()
        self._truth: deque[TruthSample] | None = None

    # --- state --------------------------------------------------------------------------------

    @property
    def axes(self) -> tuple[AxisModel, ...]:
        """The physics model of each axis."""
        return self._fw.axes

    @property
    def state(self) -> FirmwareState:
        """The firmware state reported in telemetry."""
        return self._fw.state

    @property
    def time_s(self) -> float:
        """Firmware time (s)."""
        return self._fw.time_s

    @property
    def fault_latched(self) -> FaultCode | None:
        """The latched fault, until CLEAR_FAULT."""
        return self._fw.fault_latched

    @property
    def last_command_id(self) -> int:
        """Id of the last MOVE accepted (a repeat of it is ignored)."""
        return self._fw.last_command_id

    @last_command_id.setter
    def last_command_id(self, command_id: int) -> None:
        with self._lock:
            self._fw.last_command_id = command_id

    @property
    def last_valid_rx_s(self) -> float:
        """Firmware time (s) of the last valid frame from the host (the watchdog's origin)."""
        return self._last_valid_rx_s

    @property
    def injector_stats(self) -> InjectorStats:
        """What the fault injector dropped, corrupted and delayed."""
        return self._injector.stats

    # --- connection ---------------------------------------------------------------------------

    def attach(self, connection: Connection) -> None:
        """Serve a new host connection (replacing any previous one)."""
        with self._lock:
            old, self._connection = self._connection, connection
            self._decoder = FrameDecoder()
            self._outbox.clear()
            self._last_rx_seq = None
            self._last_rx_frame = None
            self._last_reply = []
        if old is not None and old is not connection:
            old.close()

    def detach(self) -> None:
        """Forget the current connection and close it (the host sees a disconnect)."""
        with self._lock:
            old, self._connection = self._connection, None
            self._outbox.clear()
        if old is not None:
            old.close()

    def connection_is(self, connection: Connection) -> bool:
        """Whether ``connection`` is the one being served."""
        with self._lock:
            return self._connection is connection

    @property
    def connected(self) -> bool:
        """Whether a host connection is attached."""
        with self._lock:
            return self._connection is not None

    # --- physical inputs ----------------------------------------------------------------------

    def press_estop(self) -> None:
        """Press the hardware e-stop: Cat 0 stop, latch, FAULT ESTOP."""
        with self._lock:
            self._fw.estop_input = True
            self._fw.enter_estop()
            self.send_fault(FaultCode.ESTOP, None, 0)

    def release_estop(self) -> None:
        """Release the hardware e-stop (the latch stays until CLEAR_FAULT)."""
        with self._lock:
            self._fw.estop_input = False

    def fail_drive(self, axis: int) -> None:
        """The drive of ``axis`` fails now: it stops following (CLEAR_FAULT repairs it)."""
        with self._lock:
            self._fw.axes[axis].hardware_failed = True

    # --- host to firmware ---------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Handle bytes from the host: every complete frame is acted on and answered now."""
        with self._lock:
            data = self._injector.incoming(data, self._fw.time_s)
            for item in self._decoder.feed(data):
                if isinstance(item, FrameFault):
                    self._on_frame_fault(item)
                    continue
                self._on_frame(item)

    def _on_frame_fault(self, fault: FrameFault) -> None:
        """Count a bad frame; NACK it only when its CRC held (so its seq can be trusted)."""
        self.counters.frame_faults += 1
        logger.debug("emulator dropped a frame: %s %s", fault.kind, fault.detail)
        reason = _NACKABLE.get(fault.kind)
        if reason is None or fault.seq is None or fault.type_id is None:
            return
        self._last_valid_rx_s = self._fw.time_s
        self.reply(Nack(nack_seq=fault.seq, command_type=fault.type_id, reason=reason))

    def _on_frame(self, frame: Frame) -> None:
        self.counters.frames_rx += 1
        self._last_valid_rx_s = self._fw.time_s
        if self._last_rx_seq is not None:
            expected = (self._last_rx_seq + 1) % _SEQ_MODULO
            if frame.seq == self._last_rx_seq and frame == self._last_rx_frame:
                self.counters.duplicates += 1
                for reply in self._last_reply:
                    self.send(reply)
                return
            if frame.seq != expected:
                self.counters.seq_gaps += 1
        self._last_rx_seq = frame.seq
        self._last_rx_frame = frame
        self._last_reply = []
        self._handlers.handle(frame)

    # --- firmware to host ---------------------------------------------------------------------

    def send(self, message: Message) -> None:
        """Encode and send one message through the fault injector."""
        data = encode_frame(message, self._tx_seq, leading_delimiter=self.counters.frames_tx == 0)
        self._tx_seq = (self._tx_seq + 1) % _SEQ_MODULO
        self.counters.frames_tx += 1
        released = self._injector.outgoing(data, self._fw.time_s)
        if released is None:
            return
        release_s, wire = released
        if release_s > self._fw.time_s:
            self._outbox.append((release_s, wire))
        else:
            self._write(wire)

    def reply(self, message: Message) -> None:
        """Send a reply to the current command and cache it for a repeated seq."""
        self._last_reply.append(message)
        if isinstance(message, Nack):
            self.counters.nacks += 1
        self.send(message)

    def write_raw(self, wire: bytes) -> None:
        """Put ``wire`` on the line as it is, past the fault injector (line noise)."""
        with self._lock:
            self._write(wire)

    def _write(self, wire: bytes) -> None:
        if self._connection is not None:
            self.counters.frames_written += 1
            self._connection.send(wire)

    # --- time ---------------------------------------------------------------------------------

    def step(self, dt_s: float) -> None:
        """Advance simulated time by ``dt_s`` seconds.

        Raises:
            ValueError: ``dt_s`` is negative or not finite.
        """
        if not (math.isfinite(dt_s) and dt_s >= 0):
            raise ValueError(f"dt_s must be finite and >= 0 s, got {dt_s}")
        with self._lock:
            self.advance_to(self._fw.time_s + dt_s)

    def advance_to(self, t_s: float) -> None:
        """Advance simulated time to ``t_s`` (no-op if it is not later)."""
        with self._lock:
            period_s = self.config.physics_period_s
            while self._fw.time_s < t_s:
                dt_s = min(period_s, t_s - self._fw.time_s)
                self._fw.time_s += dt_s
                self._tick(dt_s)

    # --- ground truth -------------------------------------------------------------------------

    def record_truth(self, max_samples: int = 200_000) -> None:
        """Keep the physical state of every physics tick (for tests that judge by physics).

        The samples are what the axes really did (true positions, not the encoder reading the
        host sees), so a test can judge the host's behaviour by physical truth.
        """
        with self._lock:
            self._truth = deque(maxlen=max_samples)

    def take_truth(self) -> list[TruthSample]:
        """The ground-truth samples recorded since the last call (oldest first)."""
        with self._lock:
            if self._truth is None:
                return []
            out = list(self._truth)
            self._truth.clear()
            return out

    def truth_now(self) -> TruthSample:
        """The physical state now."""
        with self._lock:
            return self._truth_sample()

    def true_positions(self) -> tuple[float, ...]:
        """The physical position per axis now, in joint units (mm, or rad for a rotary axis).

        Rounded to the wire's micro-unit, as an encoder without error would report it. Read axis
        by axis without the lock, for a sampler on another thread that must not hold up the
        physics: the values may mix two consecutive physics steps.
        """
        return tuple(
            from_wire_um(round(axis.true_um), JointKind.ROTARY if rotary else JointKind.LINEAR)
            for axis, rotary in zip(self.axes, self.config.rotary, strict=True)
        )

    def _truth_sample(self) -> TruthSample:
        return TruthSample(
            time_s=self._fw.time_s,
            positions_um=tuple(a.true_um for a in self._fw.axes),
            moving=tuple(a.moving for a in self._fw.axes),
            enabled=tuple(a.enabled for a in self._fw.axes),
        )

    def _tick(self, dt_s: float) -> None:
        for axis in self._fw.axes:
            axis.step(self._fw.time_s, dt_s)
        if self._truth is not None:
            self._truth.append(self._truth_sample())
        self._timed_faults()
        self._supervise()
        if self._outbox:
            due = [w for w in self._outbox if w[0] <= self._fw.time_s]
            self._outbox = [w for w in self._outbox if w[0] > self._fw.time_s]
            for _, wire in due:
                self._write(wire)
        if self._fw.session_open and self._fw.time_s >= self._next_telemetry_s:
            self._next_telemetry_s = self._fw.time_s + self._fw.telemetry_period_ms / 1000.0
            self.counters.telemetry_sent += 1
            self.send(self.telemetry())
        motion = {FirmwareState.MOVING, FirmwareState.HOMING, FirmwareState.JOGGING}
        if self._fw.state in motion and not any(a.moving for a in self._fw.axes):
            self._fw.state = FirmwareState.ENABLED
            self._fw.move_started_s = None

    def _timed_faults(self) -> None:
        for index, spec in enumerate(self.plan.faults):
            if index in self._fired or self._fw.time_s < spec.at_s:
                continue
            axis = self._fw.axes[min(spec.axis, len(self._fw.axes) - 1)]
            if spec.kind is FaultKind.DISCONNECT:
                logger.info("emulator: injected disconnect at %.3f s", self._fw.time_s)
                self.detach()
            elif spec.kind is FaultKind.STUCK_ENCODER:
                axis.encoder_stuck_at_um = float(axis.encoder_um())
            elif spec.kind is FaultKind.PRESSURE_LOSS:
                axis.supply_pressure_hpa = spec.pressure_hpa
            elif spec.kind is FaultKind.HARDWARE_FAILURE_MID_MOVE:
                if self._fw.move_started_s is None:
                    continue  # fires at the first move in progress after at_s
                axis.hardware_failed = True
                self._fault_stop(FaultCode.HARDWARE_FAILURE, spec.axis, 0)
            elif spec.kind is FaultKind.LIMIT_HIT:
                if self._fw.move_started_s is None:
                    continue
                axis.true_um = axis.upper_switch_um
            else:
                continue  # lasting faults are applied by the injector / at start-up
            self._fired.add(index)

    def _supervise(self) -> None:
        if (
            self._fw.session_open
            and self._fw.state not in {FirmwareState.FAULT, FirmwareState.ESTOP}
            and any(a.enabled for a in self._fw.axes)
            and (self._fw.time_s - self._last_valid_rx_s) * 1000.0 > self._fw.watchdog_ms
        ):
            elapsed_ms = round((self._fw.time_s - self._last_valid_rx_s) * 1000.0)
            logger.warning("emulator: watchdog tripped, %d ms without a valid frame", elapsed_ms)
            self._fault_stop(FaultCode.WATCHDOG, None, elapsed_ms)
            return
        for index, axis in enumerate(self._fw.axes):
            if not axis.enabled:
                continue
            switch_hit = axis.upper_switch or (axis.lower_switch and not axis.homing)
            if axis.moving and switch_hit:
                self._fault_stop(FaultCode.LIMIT_HIT, index, round(axis.true_um))
                return
            if isinstance(axis, PneumaticModel) and axis.moving and self._pressure_low(axis):
                self._fault_stop(FaultCode.PRESSURE_LOW, index, axis.supply_pressure_hpa)
                return
            error_um = axis.following_error_um()
            if error_um > axis.following_error_limit_um:
                self._fault_stop(FaultCode.FOLLOWING_ERROR, index, round(error_um))
                return

    @staticmethod
    def _pressure_low(axis: PneumaticModel) -> bool:
        return axis.supply_pressure_hpa < axis.config.min_pressure_hpa

    # --- stopping -----------------------------------------------------------------------------

    def _fault_stop(self, code: FaultCode, axis: int | None, detail: int) -> None:
        self._fw.halt_all(disable=True)
        self._fw.state = FirmwareState.FAULT
        self._fw.fault_latched = code
        self.send_fault(code, axis, detail)

    # --- reports ------------------------------------------------------------------------------

    def axis_status(self, index: int) -> AxisStatus:
        """Status bits of one axis."""
        axis = self._fw.axes[index]
        status = AxisStatus(0)
        flags = {
            AxisStatus.ENABLED: axis.enabled,
            AxisStatus.HOMED: axis.homed,
            AxisStatus.MOVING: axis.moving,
            AxisStatus.IN_POSITION: not axis.moving and axis.following_error_um() <= 50,  # noqa: PLR2004
            AxisStatus.FAULT: axis.hardware_failed,
            AxisStatus.PRESSURE_LOW: isinstance(axis, PneumaticModel) and self._pressure_low(axis),
            AxisStatus.LIMIT_MIN: axis.lower_switch,
            AxisStatus.LIMIT_MAX: axis.upper_switch,
            AxisStatus.FOLLOWING_ERROR: axis.following_error_um() > axis.following_error_limit_um,
        }
        for flag, on in flags.items():
            if on:
                status |= flag
        return status

    def telemetry(self) -> Telemetry:
        """The current TELEMETRY message."""
        records = []
        for index, axis in enumerate(self._fw.axes):
            switches = (LimitSwitch.MIN if axis.lower_switch else LimitSwitch(0)) | (
                LimitSwitch.MAX if axis.upper_switch else LimitSwitch(0)
            )
            records.append(
                AxisTelemetry(
                    commanded_um=round(axis.commanded_um),
                    encoder_um=axis.encoder_um(),
                    velocity_um_s=round(axis.velocity_um_s),
                    status=self.axis_status(index),
                    supply_pressure_hpa=axis.supply_pressure_hpa,
                    limit_switches=int(switches),
                )
            )
        return Telemetry(
            firmware_time_us=round(self._fw.time_s * _US_PER_S),
            estop_input=self._fw.estop_input,
            firmware_state=self._fw.state,
            last_command_id=self._fw.last_command_id,
            axes=tuple(records),
        )

    def send_fault(self, code: FaultCode, axis: int | None, detail: int) -> None:
        """Send a FAULT message."""
        self.counters.faults_sent += 1
        self.send(Fault(code=code, axis=NO_AXIS if axis is None else axis, detail=detail))
