"""RobotCore against the in-process emulator in simulated time (FakeClock, no wall-clock waits).

The test steps the emulator and the clock together and runs one control cycle per step, as the
control loop would; only the driver's reader thread is real.
"""


# mypy: disable-error-code="comparison-overlap, unreachable"

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from hal import ControllerDriver
from hal.emulator import EmulatedFirmware, FaultKind, FaultPlan, FaultSpec, InProcessPort
from robot.app import RobotApp
from robot.runtime import JobKind, JobResult, RobotCore
from safety import MemoryAuditSink, State, Supervisor
from tests.support.clock import FakeClock
from tests.support.polling import wait_for
from tests.support.robot_app import fast_config, matrix

CYCLE_S = 0.01


class SimRobot:
    """A RobotCore, its supervisor and driver on an in-process emulator, in simulated time."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self.config = fast_config()
        self.clock = FakeClock()
        self.audit = MemoryAuditSink(now=self.clock)
        self.supervisor = Supervisor(self.config.supervisor, now=self.clock, audit=self.audit)
        self.firmware = EmulatedFirmware(
            RobotApp.emulator_config(self.config), fault_plan=plan or FaultPlan()
        )
        self.driver = ControllerDriver(
            self.config.controller,
            InProcessPort(self.firmware),
            self.clock,
            self.supervisor.verifier,
            heartbeat_thread=False,
        )
        self.console = True
        self.commits = 0
        self.core = RobotCore(
            self.config,
            self.driver,
            self.supervisor,
            now=self.clock,
            commit=self._commit,
            console_alive=lambda: self.console,
        )
        self.results: list[JobResult] = []
        self._since_heartbeat_s = 0.0

    def _commit(self) -> None:
        self.commits += 1

    def _drain(self) -> None:
        if not (self.firmware.connected and self.driver.link.is_up):
            return
        deadline = time.monotonic() + 1.0
        pause = threading.Event()
        while time.monotonic() < deadline:
            counters = self.driver.counters()
            read = counters.frames_rx + sum(counters.frame_faults.values())
            if read >= self.firmware.counters.frames_written:
                return
            pause.wait(0.0002)

    def cycle(self) -> list[JobResult]:
        """Advance 10 ms of simulated time, then one control cycle."""
        self.firmware.step(CYCLE_S)
        self.clock.advance(CYCLE_S)
        self._drain()
        self._since_heartbeat_s += CYCLE_S
        if self._since_heartbeat_s >= 0.05 - 1e-9 and self.driver.link.is_up:
            self._since_heartbeat_s = 0.0
            self.driver.heartbeat_once()
        out = self.core.sense() + self.core.act()
        self.core.commit()
        self.results += out
        return out

    def until(self, kind: JobKind, *, limit_s: float = 10.0) -> JobResult:
        for _ in range(round(limit_s / CYCLE_S)):
            for result in self.cycle():
                if result.kind is kind:
                    return result
        raise AssertionError(f"no {kind} result within {limit_s} s simulated; {self.results}")

    def start_up(self) -> JobResult:
        self.core.sense()
        self.core.start_up("test")
        return self.until(JobKind.START_UP)

    def target(self, translation_mm) -> None:
        requested = matrix(translation_mm)
        assert self.core.targets.calibrate(np.eye(4), "c", "test").accepted
        assert self.core.targets.accept_target(requested, "t", "test").accepted

    def close(self) -> None:
        self.driver.close()
        self.firmware.detach()


@pytest.fixture
def make():
    robots: list[SimRobot] = []

    def _make(plan: FaultPlan | None = None) -> SimRobot:
        robot = SimRobot(plan)
        robots.append(robot)
        return robot

    yield _make
    for robot in robots:
        robot.close()


def test_a_fresh_robot_is_off_and_refuses_motion_until_homed(make):
    robot = make()
    robot.core.sense()
    assert robot.supervisor.state is State.OFF
    refusal = robot.core.move_to_target("test")
    assert refusal is not None
    assert refusal.code == 13
    result = robot.start_up()
    assert result.ok, result
    assert robot.supervisor.state is State.READY
    assert all(a.homed for a in robot.firmware.axes)
    assert robot.commits > 0


def test_a_move_plans_retract_lateral_insert_and_arrives_at_the_reported_pose(make):
    robot = make()
    assert robot.start_up().ok
    robot.target((20.0, -10.0, 30.0))
    assert robot.core.move_to_target("test") is None
    assert robot.core.motion is not None
    names = [s.name for s in robot.core.motion.segments]
    assert names == ["lateral"]  # at home the needle is retracted already; align first
    assert [s.name for s in robot.core.motion.insert] == ["insert"]  # then insert, alone
    result = robot.until(JobKind.MOVE)
    assert result.ok, result
    assert robot.supervisor.state is State.NEEDLE_INSERTED  # measured: the needle is in
    pose = robot.core.current_pose()
    assert pose is not None
    assert robot.core.target is not None
    reached = robot.core.target.T_scanner_from_reached
    assert np.linalg.norm(pose[:3, 3] - reached[:3, 3]) <= 0.1


@pytest.mark.hazard("H-04", "H-15")
def test_a_second_move_with_the_needle_in_is_refused_until_the_needle_is_retracted(make):
    robot = make()
    assert robot.start_up().ok
    robot.target((0.0, 0.0, 30.0))
    assert robot.core.move_to_target("test") is None
    assert robot.until(JobKind.MOVE).ok
    robot.cycle()
    assert robot.supervisor.state is State.NEEDLE_INSERTED
    refused = robot.core.move_to_target("test")
    assert refused is not None
    assert "RETRACT_NEEDLE" in refused.reason
    assert "mm" in refused.reason
    assert robot.core.motion is None
    assert robot.core.retract_needle("test") is None
    assert robot.until(JobKind.RETRACT).ok
    robot.cycle()  # the supervisor follows the measured needle out, the target kept
    assert robot.supervisor.state is State.TARGET_SET
    robot.target((15.0, 0.0, 30.0))
    assert robot.core.move_to_target("test") is None
    assert robot.core.motion is not None
    assert [s.name for s in robot.core.motion.segments] == ["lateral"]
    assert [s.name for s in robot.core.motion.insert] == ["insert"]
    assert robot.until(JobKind.MOVE).ok


def test_a_hardware_failure_mid_move_ends_the_move_with_18_and_stops_the_axes(make):
    robot = make(FaultPlan(faults=(FaultSpec(kind=FaultKind.HARDWARE_FAILURE_MID_MOVE),)))
    assert robot.start_up().ok
    robot.target((40.0, 40.0, 40.0))
    assert robot.core.move_to_target("test") is None
    result = robot.until(JobKind.MOVE)
    assert (result.code, result.sub_code) == (18, 10)
    assert robot.supervisor.state is State.FAULT
    for _ in range(30):
        robot.cycle()
    assert not any(a.moving for a in robot.firmware.axes)


def test_losing_the_console_during_a_move_is_a_protective_stop(make):
    robot = make()
    assert robot.start_up().ok
    robot.target((40.0, -40.0, 40.0))
    assert robot.core.move_to_target("test") is None
    robot.cycle()
    robot.console = False
    for _ in range(round(robot.config.supervisor.console_timeout_s / CYCLE_S) + 5):
        robot.cycle()
    moves = [r for r in robot.results if r.kind is JobKind.MOVE]
    assert moves
    assert moves[0].code == 13
    assert robot.supervisor.state is State.PROTECTIVE_STOP


def test_stop_during_a_move_reports_at_standstill_and_no_move_result(make):
    robot = make()
    assert robot.start_up().ok
    robot.target((40.0, 40.0, 40.0))
    assert robot.core.move_to_target("test") is None
    for _ in range(5):
        robot.cycle()
    robot.core.stop("test")
    result = robot.until(JobKind.STOP)
    assert result.ok
    assert not any(r.kind is JobKind.MOVE for r in robot.results)
    assert robot.supervisor.state is State.TARGET_SET
    assert not any(a.moving for a in robot.firmware.axes)


def test_after_an_emergency_start_up_clears_the_latch_and_homes_again(make):
    robot = make()
    assert robot.start_up().ok
    robot.driver.estop()
    robot.core.emergency("test")
    assert robot.until(JobKind.EMERGENCY).ok
    assert robot.supervisor.state is State.EMERGENCY_STOP
    result = robot.start_up()
    assert result.ok, result
    assert robot.supervisor.state is State.READY


def _run_for(robot: SimRobot, seconds: float) -> None:
    for _ in range(round(seconds / CYCLE_S)):
        robot.cycle()


def test_start_up_after_a_lost_link_reconnects_clears_the_watchdog_latch_and_homes(make):
    robot = make(FaultPlan(faults=(FaultSpec(kind=FaultKind.DISCONNECT, at_s=1.0),)))
    assert robot.start_up().ok
    _run_for(robot, max(0.0, 1.0 - robot.firmware.time_s) + 0.4)  # past the firmware watchdog
    wait_for(lambda: not robot.driver.link.is_up, timeout_s=5.0, what="the link seen lost")
    robot.cycle()
    assert robot.supervisor.state is State.FAULT
    assert robot.firmware.fault_latched is not None
    assert robot.firmware.fault_latched.name == "WATCHDOG"
    result = robot.start_up()
    assert result.ok, result
    assert robot.supervisor.state is State.READY
    assert robot.firmware.fault_latched is None


def test_start_up_on_a_fresh_core_clears_a_firmware_latched_before_it_connected(make):
    robot = make()
    robot.firmware.press_estop()  # latched before this core connected (a crashed server)
    robot.firmware.release_estop()
    result = robot.start_up()
    assert result.ok, result
    assert robot.supervisor.state is State.READY


def test_start_up_while_the_cause_persists_answers_13_8_naming_and_auditing_it(make):
    plan = FaultPlan(faults=(FaultSpec(kind=FaultKind.PRESSURE_LOSS, at_s=1.0, axis=0),))
    robot = make(plan)
    assert robot.start_up().ok
    _run_for(robot, max(0.0, 1.0 - robot.firmware.time_s) + 0.1)
    assert robot.supervisor.state is State.PROTECTIVE_STOP
    before = len(robot.audit.records)
    result = robot.start_up()
    assert (result.code, result.sub_code) == (13, 8)
    assert "supply_pressure_low" in result.reason
    assert robot.supervisor.state is State.PROTECTIVE_STOP
    causes = [str(r.payload) for r in robot.audit.records[before:]]
    assert any("supply_pressure_low" in c for c in causes), causes


def test_a_failed_start_up_is_audited_with_its_cause(make):
    robot = make(FaultPlan(faults=(FaultSpec(kind=FaultKind.STARTUP_FAILURE),)))
    result = robot.start_up()
    assert (result.code, result.sub_code) == (13, 8)
    assert "STARTUP_FAILURE" in result.reason
    assert robot.supervisor.state is State.OFF
    assert any("STARTUP_FAILURE" in str(r.payload.get("cause")) for r in robot.audit.records)


def test_every_supervisor_stop_category_maps_to_the_same_wire_category_and_back():
    from firmware_interfaces import StopCategory as WireStop
    from robot.runtime.core import WIRE_STOP
    from safety import StopCategory

    assert set(WIRE_STOP) == set(StopCategory)
    assert set(WIRE_STOP.values()) == set(WireStop)
    for category, wire in WIRE_STOP.items():
        assert (category.name, int(category)) == (wire.name, int(wire))
