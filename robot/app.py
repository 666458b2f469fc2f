"""``RobotApp``: the whole robot in one object (HAL, supervisor, control loop, OpenIGTLink server).

Used by ``mrbot serve`` and ``mrbot demo``::

    with RobotApp(load_config(), emulate=True, port=0) as app:
        host, port = app.address
        ...

``emulate=True`` runs the firmware emulator in real time behind a pseudo-terminal, so the driver
opens a real tty (``realtime=False``: the emulator is linked in-process instead, still stepped in
wall-clock time, without a tty), with ``fault`` (the emulator's fault syntax, e.g.
``startup-failure`` or ``hardware-failure-mid-move``) injected.
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

from hal import (
    ControllerDriver,
    JointKind,
    LifecycleState,
    MonotonicClock,
    TelemetrySample,
    joint_readings_from,
    serial_opener,
)
from hal.emulator import (
    EmulatedFirmware,
    FaultPlan,
    InProcessPort,
    PtyServer,
    RealTimeRunner,
    emulator_config_for,
    parse_fault,
)
from robot.errors import RobotError
from robot.igtl import AckHandler, Authority, IgtlServer
from robot.igtl.profile import profile_named
from robot.records import Recorder, recording_opener
from robot.runtime import ControlLoop, RobotCore
from robot.shutdown import ShutdownGate, ShutdownReport
from robot.workphase import WorkphaseHandler, WorkphaseProtocol, ZFrameWorker
from safety import AuditError, Durability, JsonlAuditLog, State, Supervisor

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

    from hal import TransportOpener
    from hal.emulator import EmulatorConfig, EmulatorServer
    from kinematics import Transform
    from robot.runtime import RobotConfig

__all__ = ["RobotApp"]

logger = logging.getLogger(__name__)

_EVENT_QUEUE_SIZE: Final = 10_000
#: Waited beyond ``safety.stop_timeout_s`` for the standstill after a shutdown STOP: the core
#: escalates to Cat 1 at the bound, and its effect shows a few telemetry periods later.
_SHUTDOWN_MARGIN_S: Final = 0.5


class _RecorderTap:
    """Hands every OpenIGTLink frame in and out to the session recorder (never blocks)."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder

    def received(self, connection_id: int, peer: tuple[str, int], data: bytes) -> None:
        self._recorder.igtl_received(connection_id, peer, data)

    def sent(self, connection_id: int, peer: tuple[str, int], data: bytes) -> None:
        self._recorder.igtl_sent(connection_id, peer, data)


class RobotApp:
    """The robot on the network.

    Args:
        config: the robot.
        device_url: controller URL (overrides ``serial.url``); ignored with ``emulate``.
        emulate: run the firmware emulator instead of real hardware.
        fault: an emulator fault (``NAME[@AT_S][:key=value,...]``); needs ``emulate``.
        host: bind address (default ``network.host``).
        port: TCP port (0 = any free port; ``None`` = ``network.port``).
        allow: peer networks (CIDR) allowed to connect; required for a non-loopback ``host``.
        audit_path: audit log file (default: a new file in a fresh temporary folder, for tests
            and benchmarks; ``mrbot serve`` passes a kept session file, see robot.records).
        realtime: emulator behind a pty (True) or linked in-process (False).
        firmware: a prepared emulator to serve instead of building one from ``config`` (with
            ``emulate``; e.g. a benchmark's emulator that timestamps e-stop frames).
        recorder: an MCAP session recorder (not yet started): started first, fed every audit
            record and every byte of the controller link, closed last (docs/RECORDING.md).
        speed_factor: how many times faster than the configured robot the emulated axes run,
            for the audit header; ``config`` must already be sped up
            (:func:`robot.runtime.speed.speed_overrides`). Needs ``emulate``.
    """

    def __init__(
        self,
        config: RobotConfig,
        *,
        device_url: str | None = None,
        emulate: bool = False,
        fault: str | None = None,
        host: str | None = None,
        port: int | None = 0,
        allow: Iterable[str] = (),
        audit_path: Path | None = None,
        realtime: bool = True,
        firmware: EmulatedFirmware | None = None,
        recorder: Recorder | None = None,
        speed_factor: float = 1.0,
    ) -> None:
        if (fault is not None or firmware is not None) and not emulate:
            raise ValueError("fault injection and a prepared emulator need emulate=True")
        if speed_factor != 1.0 and not emulate:
            raise ValueError("a speed factor needs emulate=True (real axes run at their speed)")
        self.speed_factor = speed_factor
        self._fault_plan = FaultPlan(faults=(parse_fault(fault),)) if fault else FaultPlan()
        networks = tuple(ipaddress.ip_network(a, strict=False) for a in allow)
        server = config.server
        self._server_config = replace(
            server,
            host=server.host if host is None else host,
            port=server.port if port is None else port,
            allowed_peers=networks or server.allowed_peers,
        )
        self.config = config
        self._device_url = device_url
        self._emulate = emulate
        self._realtime = realtime
        self._audit_path = audit_path
        self.recorder = recorder
        self._clock = MonotonicClock(time.monotonic)
        self.emulator: EmulatedFirmware | None = firmware
        self._emulator_server: EmulatorServer | None = None
        self._runner: RealTimeRunner | None = None
        self.audit: JsonlAuditLog | None = None
        self.driver: ControllerDriver | None = None
        self.supervisor: Supervisor | None = None
        self.server: IgtlServer | None = None
        self.core: RobotCore | None = None
        self.protocol: WorkphaseProtocol | None = None
        self.loop: ControlLoop | None = None
        self._worker: ZFrameWorker | None = None
        self._gate: ShutdownGate | None = None
        self._loop_running = False
        self.shutdown_report: ShutdownReport | None = None
        self.authority = Authority()

    # --- what a demo measures -----------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        """Host and port the OpenIGTLink server listens on.

        Raises:
            RobotError: not started.
        """
        if self.server is None:
            raise RobotError("RobotApp.address before start()")
        return self.server.address

    @property
    def audit_path(self) -> Path:
        """The audit log file.

        Raises:
            RobotError: not started.
        """
        if self.audit is None:
            raise RobotError("RobotApp.audit_path before start()")
        return self.audit.path

    @property
    def registration(self) -> Transform | None:
        """The calibration in use, ``T_scanner_from_robot`` (mm), or ``None``."""
        return None if self.core is None else self.core.T_scanner_from_robot

    @property
    def shutdown_gate(self) -> ShutdownGate | None:
        """The gate that stops the robot and refuses motion on shutdown (``None`` before start)."""
        return self._gate

    @property
    def state(self) -> State:
        """Supervisor state (``OFF`` before start)."""
        return State.OFF if self.supervisor is None else self.supervisor.state

    # --- lifecycle ----------------------------------------------------------------------------

    @staticmethod
    def emulator_config(
        config: RobotConfig,
        *,
        telemetry_period_ms: int | None = None,
        watchdog_ms: int = 250,
        hose_length_m: float = 5.0,
    ) -> EmulatorConfig:
        """The emulated firmware for ``config``: its axes; homing no faster than the slowest.

        The homing speed is one wire number for every axis: no faster than the slowest linear
        axis (mm/s), and each axis, rotary ones too, no faster than its own top speed.

        Args:
            config: the robot (``mrbot serve`` and ``mrbot emulator`` use the same one).
            telemetry_period_ms: default ``emulator.telemetry_period_ms`` of ``config``.
            watchdog_ms: firmware watchdog.
            hose_length_m: emulated pneumatic hose (longer than calibrated steps slower).

        Raises:
            ValueError: a bad hose length.
        """
        slowest_mm_s = min(
            (a.max_speed for a in config.controller.axes if a.kind is JointKind.LINEAR),
            default=config.emulator_homing_speed_mm_s,
        )
        homing_mm_s = min(config.emulator_homing_speed_mm_s, slowest_mm_s)
        period_ms = config.emulator_telemetry_period_ms
        return emulator_config_for(
            config.controller,
            homing_speed=homing_mm_s,
            telemetry_period_ms=period_ms if telemetry_period_ms is None else telemetry_period_ms,
            watchdog_ms=watchdog_ms,
            hose_length_m=hose_length_m,
        )

    def _opener(self) -> TransportOpener:
        cfg = self.config
        if not self._emulate:
            url = self._device_url or cfg.serial_url
            if not url:
                raise RobotError("no controller: give a device URL or serial.url, or emulate")
            return serial_opener(url, baudrate=cfg.baud)
        if self.emulator is None:
            self.emulator = EmulatedFirmware(self.emulator_config(cfg), fault_plan=self._fault_plan)
        if self._realtime:
            pty = PtyServer(self.emulator, self._clock)
            pty.start()
            self._emulator_server = pty
            logger.info("emulated firmware on %s", pty.url)
            return serial_opener(pty.url, baudrate=cfg.baud)
        self._runner = RealTimeRunner(self.emulator, self._clock)
        self._runner.start()
        return InProcessPort(self.emulator)

    def start(self) -> None:
        """Start the emulator (if any), audit log, control loop and server.

        Raises:
            RobotError: no controller configured, or already started.
            OSError: the address cannot be bound or the audit log not opened.
            hal.HalError: the emulator cannot be opened.
        """
        if self.server is not None:
            raise RobotError("RobotApp.start() called twice")
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        cfg, clock = self.config, self._clock
        self.shutdown_report = None  # a restarted app shuts down again
        path = self._audit_path
        if path is None:
            path = Path(tempfile.mkdtemp(prefix="mrbot-")) / "audit.jsonl"
        recorder = self.recorder
        if recorder is not None:
            recorder.start()
        self.audit = JsonlAuditLog(
            path,
            now=clock.now_s,
            durability=Durability.GROUP,
            header_extra={
                "emulated": self._emulate,
                "fault": str(self._fault_plan.faults),
                "speed_factor": self.speed_factor,
            },
            observer=None if recorder is None else recorder.audit_record,
        )
        self.audit.open()
        self.supervisor = Supervisor(cfg.supervisor, now=clock.now_s, audit=self.audit)
        opener = self._opener()
        if recorder is not None:
            opener = recording_opener(opener, recorder)
        self.driver = ControllerDriver(cfg.controller, opener, clock, self.supervisor.verifier)
        events: queue.Queue[object] = queue.Queue(maxsize=_EVENT_QUEUE_SIZE)
        ack = AckHandler(
            events,  # type: ignore[arg-type]  # the loop's queue also carries worker results
            authority=self.authority,
            now=clock.now_s,
        )
        handler = WorkphaseHandler(ack, emergency_stop=self._emergency_stop)
        recorder = self.recorder
        self.server = IgtlServer(
            self._server_config,
            handler,
            now=clock.now_s,
            tap=None if recorder is None else _RecorderTap(recorder),
        )
        self.core = RobotCore(
            cfg,
            self.driver,
            self.supervisor,
            now=clock.now_s,
            commit=self.audit.commit,
            console_alive=self._console_alive,
        )
        self._worker = ZFrameWorker(events.put, now=clock.now_s)
        self.protocol = WorkphaseProtocol(
            self.core,
            connections=self.server.connections,
            handler=handler,
            authority=self.authority,
            worker=self._worker,
            now=clock.now_s,
            profile=profile_named(cfg.protocol_profile),
        )
        self._gate = ShutdownGate(self.protocol, self.core, now=clock.now_s)
        self.loop = ControlLoop(
            self.core, self._gate, events, clock=clock, rate_hz=cfg.runtime.control_rate_hz
        )
        self._worker.start()
        self.loop.start()
        self._loop_running = True
        self.server.start()
        logger.info("robot listening on %s:%d", *self.server.address)

    def _emergency_stop(self) -> None:
        driver = self.driver
        if driver is not None:
            driver.estop()

    def _console_alive(self) -> bool:
        holder = self.authority.holder
        if holder is None or self.server is None:
            return False
        conn = self.server.connection(holder)
        return conn is not None and conn.is_open

    def shutdown(self, cause: str = "close", *, signal_name: str | None = None) -> ShutdownReport:
        """Stop the robot for good and record it; then :meth:`close` (idempotent).

        On the control loop: the supervisor's STOP (an audited decision, the HAL's Cat 2 stop),
        then no command that could move again. Here: wait (polling, with a deadline) for
        standstill within ``safety.stop_timeout_s`` (plus the Cat 1 escalation's margin), close
        the server, loop and worker, append a ``shutdown`` record (cause, signal, standstill,
        the emulated axes when emulating) and commit the audit log (fsync) before anything else
        closes.

        Returns:
            What was achieved; :attr:`ShutdownReport.clean` when stopped and durable.
        """
        if self.shutdown_report is not None:
            return self.shutdown_report
        bound_s = self.config.runtime.stop_timeout_s
        gate = self._gate
        if gate is not None and self._loop_running:
            gate.request()
            if not gate.wait_standstill(bound_s + _SHUTDOWN_MARGIN_S, now=time.monotonic):
                logger.error(
                    "shutdown: axes not at standstill %.2f s after STOP; closing anyway",
                    bound_s + _SHUTDOWN_MARGIN_S,
                )
            report = gate.report(cause, stop_bound_s=bound_s)
        else:
            report = ShutdownReport(
                cause=cause,
                stop_decision=None,
                standstill=False,
                standstill_after_s=None,
                stop_bound_s=bound_s,
            )
        self._close_network_and_loop()
        report = replace(report, durable=self._record_shutdown(report, signal_name))
        self.shutdown_report = report
        self.close()
        return report

    def _record_shutdown(self, report: ShutdownReport, signal_name: str | None) -> bool:
        """Append and commit the ``shutdown`` record (the loop is closed: one writer again)."""
        audit = self.audit
        if audit is None:
            return False
        payload: dict[str, object] = {
            "cause": report.cause,
            "signal": signal_name,
            "stop_decision": report.stop_decision,
            "standstill": report.standstill,
            "standstill_after_s": report.standstill_after_s,
            "stop_bound_s": report.stop_bound_s,
        }
        if self.core is not None:
            payload["hal_moving"] = self.core.readings.moving
        if self.emulator is not None:
            sample = TelemetrySample(
                received_at_s=self._clock.now_s(), telemetry=self.emulator.telemetry()
            )
            emulated = joint_readings_from(sample, self.config.controller.axes)
            payload["emulator_axes"] = [
                {"velocity": axis.velocity, "moving": axis.moving} for axis in emulated.axes
            ]
        try:
            seq = audit.append("shutdown", state=self.state.value, payload=payload)
            durable = audit.commit() >= seq
        except AuditError as err:
            logger.error("shutdown record not durable: %s", err)  # noqa: TRY400 - message suffices
            return False
        return durable

    def _close_network_and_loop(self) -> None:
        for part in (self.server, self.loop, self._worker):
            if part is not None:
                part.close()
        self._loop_running = False

    def close(self) -> None:
        """Stop the axes, then close the loop, server, worker, driver, emulator and audit log.

        A started robot is first shut down through :meth:`shutdown` (STOP, standstill, the
        ``shutdown`` record committed).
        """
        if self.shutdown_report is None and self.loop is not None:
            self.shutdown()
            return
        if self.driver is not None and self.driver.state is not LifecycleState.UNCONFIGURED:
            self.driver.stop()
        self._close_network_and_loop()
        if self.driver is not None:
            self.driver.close()
        if self._emulator_server is not None:
            self._emulator_server.close()
        if self._runner is not None:
            self._runner.close()
        if self.audit is not None:
            self.audit.close()
        if self.recorder is not None:
            self.recorder.close()  # logs what it wrote and dropped
        self.server = None
        self.loop = None
        self._worker = None
        self._emulator_server = None
        self._runner = None

    def __enter__(self) -> RobotApp:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
