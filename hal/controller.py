"""The controller driver: lifecycle, handshake, heartbeats, motion with permits, stop and e-stop.

Lifecycle (ros2_control): ``configure`` (open, handshake, read limits; UNCONFIGURED -> INACTIVE),
``activate`` (enable drives; -> ACTIVE), ``deactivate``, ``cleanup``; each returns a
:class:`CallbackReturn` and never raises, the error is kept in :attr:`last_error`. ``read(now)``
returns a frozen :class:`HalStatus` and never raises. Motion (``home``, ``move``, ``jog``) needs
ACTIVE and a valid :class:`~safety.permits.MotionPermit` for every axis that moves (delegated to
:class:`~hal.motion.MotionCommands`), and raise from the :class:`~hal.errors.HalError` tree (a
refused permit is a :class:`~hal.errors.PermitRefusedError`). ``stop`` and ``estop`` may be
called from any thread, are idempotent, never raise, write ahead of any pending request and are
repeated by the heartbeat thread until the firmware acknowledges them and the axes stand still.
"""

from __future__ import annotations

import logging
import math
import queue
import secrets
import threading
from typing import TYPE_CHECKING, Final

from firmware_interfaces import (
    Ack,
    AxisStatus,
    ClearFault,
    Disable,
    Enable,
    EStop,
    FirmwareState,
    Heartbeat,
    MessageType,
    Stop,
    StopCategory,
)
from hal.axes import make_axis
from hal.errors import (
    HalError,
    HandshakeError,
    LifecycleError,
    NackError,
)
from hal.events import FaultEvent, HalFaultKind, LinkCounters, TelemetrySample
from hal.handshake import handshake, read_homing_speeds
from hal.link import Link
from hal.motion import MotionCommands
from hal.readings import joint_readings_from
from hal.status import CallbackReturn, HalStatus, LifecycleState
from hal.stops import StopState

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from firmware_interfaces import AxisTelemetry, Ident, Message
    from hal.axes import Axis
    from hal.clock import Clock
    from hal.config import ControllerConfig
    from hal.readings import JointReadings
    from hal.transport import TransportOpener
    from safety.permits import MotionPermit, PermitVerifier

__all__ = ["ControllerDriver"]

logger = logging.getLogger(__name__)

_JOIN_TIMEOUT_S: Final = 2.0
_STOPPING_FAULTS: Final = frozenset(
    {
        HalFaultKind.TRANSPORT_LOST,
        HalFaultKind.LINK_TIMEOUT,
        HalFaultKind.FIRMWARE_FAULT,
        HalFaultKind.FOLLOWING_ERROR,
        HalFaultKind.PRESSURE_LOW,
        HalFaultKind.LIMIT_HIT,
        HalFaultKind.ESTOP,
        HalFaultKind.READER_DIED,
        HalFaultKind.FRAME_ERRORS,
        HalFaultKind.REQUEST_TIMEOUT,
    }
)


class ControllerDriver:
    """Drives one motor controller over one link.

    Args:
        config: axes and timing.
        opener: opens the transport (serial URL, pty, TCP, in-process emulator).
        clock: injected monotonic clock (timestamps, liveness).
        verifier: checks motion permits; only the supervisor can issue them.
        on_fault: optional callback for every fault event (called from a driver thread).
        nonce: source of handshake nonces (default: ``secrets``).
        heartbeat_thread: run the heartbeat thread; if false, the owner calls
            :meth:`heartbeat_once` every heartbeat period (control loop, simulated time).
    """

    def __init__(
        self,
        config: ControllerConfig,
        opener: TransportOpener,
        clock: Clock,
        verifier: PermitVerifier,
        *,
        on_fault: Callable[[FaultEvent], None] | None = None,
        nonce: Callable[[], int] | None = None,
        heartbeat_thread: bool = True,
    ) -> None:
        self.config = config
        self._clock = clock
        self._on_fault_cb = on_fault
        self._heartbeat_thread = heartbeat_thread
        self._nonce = nonce or (lambda: secrets.randbits(32))
        self.faults: queue.Queue[FaultEvent] = queue.Queue(maxsize=config.fault_queue_size)
        self.link = Link(
            opener,
            clock,
            on_fault=self._on_fault,
            on_telemetry=self._on_telemetry,
            recorder_s=config.recorder_s,
            axis_names=tuple(a.name for a in config.axes),
        )
        self.link.set_reply_hook(self._on_reply)
        self.axes: Mapping[str, Axis] = {a.name: make_axis(a, self) for a in config.axes}
        # The stop state's lock is the driver's: it also guards _state, _findings,
        # _link_timed_out, _configured_at_s and dropped_faults.
        self._stops = StopState()
        self._lock = self._stops.lock
        self._state = LifecycleState.UNCONFIGURED
        self._findings: set[tuple[str, HalFaultKind]] = set()
        self._link_timed_out = False
        self._configured_at_s: float | None = None
        self._motion = MotionCommands(
            config, self.axes, self.link, verifier, self._stops, lambda: self.state
        )
        self._heartbeat_counter = 0
        self._heartbeat: threading.Thread | None = None
        self._heartbeat_stop = threading.Event()
        self.ident: Ident | None = None
        self.last_error: BaseException | None = None
        self.dropped_faults = 0

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def stop_pending(self) -> bool:
        """A stop or e-stop is still repeated: the firmware has not yet confirmed it at rest.

        Enabling the axes before it clears would be undone by the next repeat.
        """
        with self._lock:
            return self._stops.estop_pending or self._stops.stop_pending is not None

    @property
    def pending_stop(self) -> StopCategory | None:
        """The stop category still repeated until the firmware confirms it at rest, if any."""
        with self._lock:
            return self._stops.stop_pending

    @property
    def estop_pending(self) -> bool:
        """An e-stop is still repeated until the firmware acknowledges it."""
        with self._lock:
            return self._stops.estop_pending

    @property
    def homing_speeds(self) -> dict[str, float]:
        """Homing speed per axis (mm/s or rad/s), read from the firmware at configure."""
        return self._motion.homing_speeds

    @property
    def state(self) -> LifecycleState:
        """Current lifecycle state."""
        with self._lock:
            return self._state

    def _set_state(self, state: LifecycleState) -> None:
        with self._lock:
            if self._state is not state:
                logger.info("controller %s -> %s", self._state.value, state.value)
            self._state = state

    def _all_mask(self) -> int:
        return (1 << len(self.config.axes)) - 1

    def _fail(self, err: BaseException) -> CallbackReturn:
        self.last_error = err
        logger.error("lifecycle transition failed: %s", err)
        refused = isinstance(err, HandshakeError | NackError | LifecycleError)
        return CallbackReturn.FAILURE if refused else CallbackReturn.ERROR

    def configure(self) -> CallbackReturn:
        """Open the link, handshake, compare limits, start heartbeats (-> INACTIVE)."""
        if self.state is not LifecycleState.UNCONFIGURED:
            return self._fail(
                LifecycleError(
                    operation="configure", state=self.state.value, allowed="unconfigured"
                )
            )
        try:
            self.link.open()
            self.ident = handshake(self.link, self.config, nonce=self._nonce() & 0xFFFF_FFFF)
            homing_speeds = read_homing_speeds(self.link, self.config)
        except HalError as err:
            self._shutdown()
            return self._fail(err)
        self._motion.reset(homing_speeds)  # the next move starts after the firmware's last id
        with self._lock:
            self._findings.clear()
            self._link_timed_out = False
            self._configured_at_s = self._clock.now_s()
        self._start_heartbeat()
        self._set_state(LifecycleState.INACTIVE)
        self.last_error = None
        return CallbackReturn.SUCCESS

    def activate(self) -> CallbackReturn:
        """Enable every axis (-> ACTIVE). A latched firmware fault must be cleared first."""
        if self.state is not LifecycleState.INACTIVE:
            return self._fail(
                LifecycleError(operation="activate", state=self.state.value, allowed="inactive")
            )
        with self._lock:
            faults_before = self._stops.fault_generation
        try:
            self.link.request(
                Enable(axis_mask=self._all_mask()),
                timeout_s=self.config.ack_timeout_s,
                retries=self.config.retries,
            )
        except HalError as err:
            return self._fail(err)
        finally:
            self._motion.fence_telemetry()  # enabling sets each axis's setpoint to where it is
        with self._lock:
            interrupted = self._stops.fault_generation != faults_before
            if not interrupted:
                self._findings.clear()
                logger.info("controller %s -> %s", self._state.value, LifecycleState.ACTIVE.value)
                self._state = LifecycleState.ACTIVE
        if interrupted:
            # The ENABLE may have been executed after the fault's stop: disable again.
            self.stop(StopCategory.CAT1)
            return self._fail(
                HalError(
                    "a fault or e-stop arrived while activate() waited for the ENABLE "
                    "acknowledgement; axes stopped (Cat 1), controller stays inactive"
                )
            )
        return CallbackReturn.SUCCESS

    def deactivate(self) -> CallbackReturn:
        """Stop (Cat 2) and disable every axis (-> INACTIVE)."""
        if self.state is not LifecycleState.ACTIVE:
            return self._fail(
                LifecycleError(operation="deactivate", state=self.state.value, allowed="active")
            )
        self._set_state(LifecycleState.INACTIVE)
        try:
            self.link.request(
                Stop(category=StopCategory.CAT2),
                timeout_s=self.config.ack_timeout_s,
                retries=self.config.retries,
            )
            self.link.request(
                Disable(axis_mask=self._all_mask()),
                timeout_s=self.config.ack_timeout_s,
                retries=self.config.retries,
            )
        except HalError as err:
            return self._fail(err)
        return CallbackReturn.SUCCESS

    def cleanup(self) -> CallbackReturn:
        """Stop heartbeats and close the link (-> UNCONFIGURED)."""
        if self.state is LifecycleState.ACTIVE:
            self.stop(StopCategory.CAT1)
        self._shutdown()
        return CallbackReturn.SUCCESS

    def reconnect(self, *, attempts: int = 1, backoff_s: float = 0.1) -> CallbackReturn:
        """Close and reopen the link, then handshake again (-> INACTIVE).

        Tries up to ``attempts`` times, waiting ``backoff_s``, then twice as long, between tries
        (real time). Returns the last attempt's result; the firmware state is re-read by the
        handshake and the next telemetry before any command is accepted.
        """
        if attempts < 1 or not (math.isfinite(backoff_s) and backoff_s >= 0):
            return self._fail(ValueError(f"attempts {attempts} must be >= 1, backoff_s >= 0 s"))
        result = CallbackReturn.ERROR
        for attempt in range(attempts):
            if attempt:
                self._backoff(backoff_s * 2 ** (attempt - 1))
            self._shutdown()
            result = self.configure()
            if result is CallbackReturn.SUCCESS:
                break
            logger.warning(
                "reconnect attempt %d of %d failed: %s", attempt + 1, attempts, self.last_error
            )
        return result

    def _backoff(self, seconds: float) -> None:
        """Wait between reconnect attempts (real time; a seam for tests)."""
        threading.Event().wait(seconds)

    def close(self) -> None:
        """Stop every thread and close the link; idempotent, never raises."""
        self.cleanup()

    def __enter__(self) -> ControllerDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _shutdown(self) -> None:
        self._stop_heartbeat()
        self.link.close()
        with self._lock:
            self._configured_at_s = None
        self._set_state(LifecycleState.UNCONFIGURED)

    # --- threads ------------------------------------------------------------------------------

    def _start_heartbeat(self) -> None:
        if not self._heartbeat_thread:
            return
        self._heartbeat_stop.clear()
        self._heartbeat = threading.Thread(
            target=self._heartbeat_loop, name="hal-heartbeat", daemon=True
        )
        self._heartbeat.start()

    def _stop_heartbeat(self) -> None:
        thread, self._heartbeat = self._heartbeat, None
        self._heartbeat_stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(_JOIN_TIMEOUT_S)
            if thread.is_alive():
                logger.error("heartbeat thread did not stop within %.1f s", _JOIN_TIMEOUT_S)

    def _heartbeat_loop(self) -> None:
        period_s = 1.0 / self.config.heartbeat_hz
        try:
            while not self._heartbeat_stop.wait(period_s):
                self.heartbeat_once()
        except Exception as err:  # thread top: report to the owner, never die silently
            logger.exception("heartbeat thread died")
            self.link.emit(HalFaultKind.READER_DIED, f"heartbeat thread died: {err!r}")

    def heartbeat_once(self) -> None:
        """One heartbeat cycle: HEARTBEAT frame, link liveness, repeat pending stops."""
        if not self.link.is_up:
            return
        self._heartbeat_counter = (self._heartbeat_counter + 1) & 0xFFFF_FFFF
        try:
            self.link.send(Heartbeat(counter=self._heartbeat_counter))
            self.link.count("heartbeats_sent")
        except HalError as err:
            logger.warning("heartbeat not sent: %s", err)
        self._check_liveness()
        estop, category = self._stops.pending()
        if estop:
            self._send_estop(repeat=True)
        elif category is not None:
            self._send_stop(category, repeat=True)

    def _telemetry_period_s(self) -> float:
        return (self.ident.telemetry_period_ms if self.ident else 10) / 1000.0

    def _check_liveness(self) -> None:
        """Emit LINK_TIMEOUT once when telemetry stops, or never starts after configure.

        Before the first telemetry the age counts from the end of configure: that is the grace
        period, as long as the usual limit.
        """
        sample = self.link.latest
        now_s = self._clock.now_s()
        limit_s = self.config.link_timeout_s(self._telemetry_period_s())
        with self._lock:
            since_s = sample.received_at_s if sample is not None else self._configured_at_s
            if since_s is None:
                return
            age_s = now_s - since_s
            newly = age_s > limit_s and not self._link_timed_out
            if age_s <= limit_s:
                self._link_timed_out = False
            elif newly:
                self._link_timed_out = True
        if newly:
            what = "no telemetry for" if sample is not None else "no telemetry since configure,"
            self.link.emit(
                HalFaultKind.LINK_TIMEOUT,
                f"{what} {age_s * 1000:.0f} ms (limit {limit_s * 1000:.0f} ms)",
            )

    # --- faults and telemetry (reader thread) -------------------------------------------------

    def _on_fault(self, event: FaultEvent) -> None:
        logger.error("fault: %s: %s", event.kind.value, event.detail)
        while True:
            try:
                self.faults.put_nowait(event)
                break
            except queue.Full:
                try:
                    self.faults.get_nowait()
                except queue.Empty:
                    continue
                with self._lock:
                    self.dropped_faults += 1
        if event.kind in _STOPPING_FAULTS:
            with self._lock:
                self._stops.fault_generation += 1  # fails an activate() waiting for its ENABLE ACK
            if self.state is LifecycleState.ACTIVE:
                self._set_state(LifecycleState.INACTIVE)
            if event.kind is not HalFaultKind.TRANSPORT_LOST:
                self.stop(StopCategory.CAT1)
        if self._on_fault_cb is not None:
            try:
                self._on_fault_cb(event)
            except Exception:  # a faulty callback must not kill the reader thread
                logger.exception("on_fault callback raised; fault %s still queued", event.kind)

    def _on_reply(self, message: Message) -> None:
        """Clear a pending stop or e-stop on the ACK of a frame sent for it (not any ACK).

        The ACK of a weaker or older stop, or of the Cat 2 stop of :meth:`deactivate`, carries
        a seq that is not among the frames sent for the pending one, so it clears nothing.
        """
        if not isinstance(message, Ack):
            return
        if message.command_type is MessageType.ESTOP:
            self._stops.estop_acknowledged(message.ack_seq)
        elif message.command_type is MessageType.STOP:
            sample = self.link.latest
            still = sample is None or not any(
                a.status & AxisStatus.MOVING for a in sample.telemetry.axes
            )
            if still:
                self._stops.stop_acknowledged(message.ack_seq)

    def _on_telemetry(self, sample: TelemetrySample) -> None:
        telemetry = sample.telemetry
        if telemetry.estop_input:
            self._finding("-", HalFaultKind.ESTOP, "e-stop input open", active=True)
        else:
            self._finding("-", HalFaultKind.ESTOP, "", active=False)
        homing = telemetry.firmware_state is FirmwareState.HOMING
        for axis, record in zip(self.axes.values(), telemetry.axes, strict=False):
            check = axis.check(record)
            error = abs(record.commanded_um - record.encoder_um)
            self._finding(
                axis.name,
                HalFaultKind.FOLLOWING_ERROR,
                f"following error {error} um",
                active=check.following_error,
            )
            self._finding(
                axis.name,
                HalFaultKind.PRESSURE_LOW,
                f"supply pressure {record.supply_pressure_hpa} hPa",
                active=check.pressure_low,
            )
            self._finding(
                axis.name,
                HalFaultKind.LIMIT_HIT,
                f"limit switches {record.limit_switches:#04b}",
                active=check.limit_hit and not homing,
            )

    def _finding(self, axis: str, kind: HalFaultKind, detail: str, *, active: bool) -> None:
        key = (axis, kind)
        with self._lock:
            new = active and key not in self._findings
            if active:
                self._findings.add(key)
            else:
                self._findings.discard(key)
        if new:
            self.link.emit(
                kind,
                f"axis {axis}: {detail}" if axis != "-" else detail,
                axis=None if axis == "-" else axis,
            )

    # --- motion (see hal.motion) --------------------------------------------------------------

    def home(self, names: tuple[str, ...] | None = None, *, permit: MotionPermit | None) -> None:
        """Home the named axes (default: all); see :meth:`MotionCommands.home`."""
        self._motion.home(names, permit=permit)

    def move(
        self,
        targets: Mapping[str, float],
        *,
        permit: MotionPermit | None,
        duration_s: float = 0.0,
        speeds: Mapping[str, float] | None = None,
        imaging: bool = False,
    ) -> int:
        """Synchronised absolute move; returns the command id. See :meth:`MotionCommands.move`."""
        return self._motion.move(
            targets, permit=permit, duration_s=duration_s, speeds=speeds, imaging=imaging
        )

    def jog(
        self, name: str, velocity: float, duration_s: float, *, permit: MotionPermit | None
    ) -> None:
        """Jog one axis (hold-to-run); see :meth:`MotionCommands.jog`."""
        self._motion.jog(name, velocity, duration_s, permit=permit)

    # --- stop ---------------------------------------------------------------------------------

    def stop(self, category: StopCategory = StopCategory.CAT1) -> bool:
        """Stop every axis now; any thread, idempotent, never raises. True if the frame went out.

        A stronger stop (lower category) pending wins over a weaker one; a category that is not
        a :class:`StopCategory` is treated as CAT1 (logged), never refused.
        """
        try:
            category = StopCategory(category)
        except ValueError:
            logger.error("stop(%r): not a stop category; stopping in CAT1", category)  # noqa: TRY400
            category = StopCategory.CAT1
        current = self._stops.request_stop(category)
        self.link.count("stops_sent")
        return self._send_stop(current)

    def _send_stop(self, category: StopCategory, *, repeat: bool = False) -> bool:
        """Write a Stop frame, noting its seq first if it is for the pending category.

        A ``repeat`` (the heartbeat's) is written only if the stop is still pending when the
        write lock is held: a repeat of a stop acknowledged meanwhile could otherwise reach the
        firmware after the Enable that followed the acknowledgement, and disable the drives
        again (START_UP then had its homing refused with BAD_STATE under load).
        """
        seq = self.link.reserve_seq()
        self._stops.track_stop_frame(category, seq)
        unless = (lambda: self._stops.pending()[1] is not category) if repeat else None
        return self.link.send_urgent(Stop(category=category), seq=seq, unless=unless)

    def _send_estop(self, *, repeat: bool = False) -> bool:
        seq = self.link.reserve_seq()
        self._stops.track_estop_frame(seq)
        unless = (lambda: not self._stops.pending()[0]) if repeat else None
        return self.link.send_urgent(EStop(), seq=seq, unless=unless)

    def estop(self) -> bool:
        """Emergency stop; any thread, idempotent, never raises. True if the frame went out."""
        with self._lock:
            self._stops.estop_pending = True
            self._stops.stop_generation += 1
            self._stops.estop_generation += 1
            self._stops.fault_generation += 1
            if self._state is LifecycleState.ACTIVE:
                logger.info("controller %s -> %s", self._state.value, "inactive (e-stop)")
                self._state = LifecycleState.INACTIVE
        self.link.count("estops_sent")
        return self._send_estop()

    def clear_fault(self) -> None:
        """Ask the firmware to clear its latched fault or e-stop (never automatic).

        A stop, e-stop or fault that arrives while the request waits for its ACK stays pending
        (and is repeated): only what was pending before the request was sent is cleared.

        Raises:
            NackError: the cause is still present (e.g. e-stop input open).
            HalError: link errors.
        """
        with self._lock:
            before = (
                self._stops.stop_generation,
                self._stops.estop_generation,
                self._stops.fault_generation,
            )
        self.link.request(
            ClearFault(), timeout_s=self.config.ack_timeout_s, retries=self.config.retries
        )
        with self._lock:
            if self._stops.estop_generation == before[1]:
                self._stops.estop_pending = False
                self._stops.estop_seqs.clear()
            if self._stops.stop_generation == before[0]:
                self._stops.stop_pending = None
                self._stops.stop_seqs.clear()
            if self._stops.fault_generation == before[2]:
                self._findings.clear()

    # --- state --------------------------------------------------------------------------------

    def axis_telemetry(self, name: str) -> AxisTelemetry | None:
        """Latest telemetry record of one axis."""
        sample = self.link.latest
        if sample is None:
            return None
        index = self.config.axis_index(name)
        axes = sample.telemetry.axes
        return axes[index] if index < len(axes) else None

    def telemetry_age_s(self) -> float:
        """Seconds since the latest telemetry (inf if none)."""
        sample = self.link.latest
        return math.inf if sample is None else self._clock.now_s() - sample.received_at_s

    def counters(self) -> LinkCounters:
        """Health counters of the link."""
        return self.link.counters(refused_motions=self._motion.refused_motions)

    def read(self, now_s: float) -> HalStatus:
        """Status for one control cycle; never raises."""
        sample = self.link.latest
        age_s = math.inf if sample is None else max(0.0, now_s - sample.received_at_s)
        comm_timeout = age_s > self.config.link_timeout_s(self._telemetry_period_s())
        findings = {"following_error": False, "pressure_low": False, "limit_hit": False}
        estop = firmware_fault = False
        if sample is not None:
            telemetry = sample.telemetry
            estop = telemetry.estop_input or telemetry.firmware_state is FirmwareState.ESTOP
            firmware_fault = telemetry.firmware_state is FirmwareState.FAULT
            for axis, record in zip(self.axes.values(), telemetry.axes, strict=False):
                check = axis.check(record)
                findings["following_error"] |= check.following_error
                findings["pressure_low"] |= check.pressure_low
                findings["limit_hit"] |= (
                    check.limit_hit and telemetry.firmware_state is not FirmwareState.HOMING
                )
        link_down = not self.link.is_up
        ok = not (link_down or comm_timeout or estop or firmware_fault or any(findings.values()))
        return HalStatus(
            ok=ok,
            state=self.state,
            link_down=link_down,
            comm_timeout=comm_timeout,
            estop_open=estop,
            firmware_fault=firmware_fault,
            telemetry_age_s=age_s,
            counters=self.counters(),
            duration_s=max(0.0, self._clock.now_s() - now_s),
            **findings,
        )

    @property
    def link_up(self) -> bool:
        """The link to the controller is open and not lost (no telemetry is read here)."""
        return self.link.is_up

    def joint_readings(self) -> JointReadings | None:
        """The latest telemetry in joint units; ``None`` before telemetry (or with other axes)."""
        sample = self.link.latest
        if sample is None or len(sample.telemetry.axes) != len(self.config.axes):
            return None
        return joint_readings_from(sample, self.config.axes)
