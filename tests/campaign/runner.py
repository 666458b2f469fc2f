"""Runs one campaign scenario end to end and records what happened (asserts nothing itself).

:func:`run_scenario` starts :class:`~robot.app.RobotApp` (``emulate=True``, emulator linked
in-process and stepped in real time, Z-frame worker replaced by an inert stub) behind its real
OpenIGTLink socket, drives it with :class:`~robot.console.BrpClient` into the scenario's phase,
samples the firmware with :class:`~tests.campaign.truth.GroundTruth`, and records the STATUS,
the stop, the refused MOVE_TO_TARGET, the reset and the audit log in an
:class:`~tests.campaign.outcome.Outcome`.
"""

from __future__ import annotations

import contextlib
import gc
import time
from typing import TYPE_CHECKING
from unittest import mock

import numpy as np

from robot.app import RobotApp
from robot.console import BrpClient, BrpError, BrpStatusError
from tests.campaign.outcome import Outcome, read_audit
from tests.campaign.truth import GroundTruth, moved_between, stop_instant
from tests.support.campaign import (
    CLIENT_CONFIG,
    LEAD_S,
    SCHEDULING_MS,
    WATCHDOG_MS,
    Expected,
    InertZFrameWorker,
    Phase,
    Scenario,
    campaign_config,
    target_matrix,
)
from tests.support.polling import wait_for

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

__all__ = ["SetupMissedPhaseError", "campaign_robot", "run_scenario"]


def _error_of(err: BrpError) -> Expected:
    return Expected(device=err.device_name, code=err.code or 0, sub_code=err.sub_code or 0)


@contextlib.contextmanager
def campaign_robot(fault: str | None, audit_path: Path) -> Iterator[RobotApp]:
    """A started fast ``RobotApp`` on the in-process emulator with ``fault``; closed on exit."""
    with mock.patch("robot.app.ZFrameWorker", InertZFrameWorker):
        app = RobotApp(
            campaign_config(), emulate=True, fault=fault, realtime=False, audit_path=audit_path
        )
        app.start()
    try:
        yield app
    finally:
        app.close()


class SetupMissedPhaseError(AssertionError):
    """The robot was not in the scenario's phase when the fault fired (machine too slow)."""


class _Runner:
    """Drives one scenario; records into an :class:`Outcome` (asserts nothing itself)."""

    def __init__(
        self, scenario: Scenario, app: RobotApp, truth: GroundTruth, console: BrpClient
    ) -> None:
        self.sc = scenario
        self.app = app
        self.truth = truth
        self.console = console
        self.out = Outcome(scenario=scenario)
        assert app.emulator is not None
        self.fw = app.emulator
        self.out.mono_offset_s = time.monotonic() - self.fw.time_s

    # -- helpers ------------------------------------------------------------------------------

    def mark(self, name: str) -> None:
        now_s = self.truth.now_s
        self.out.marks[name] = now_s
        # host clock minus emulator clock: the smallest reading has the least lag in it
        self.out.mono_offset_s = min(self.out.mono_offset_s, time.monotonic() - now_s)

    def wait_emulator(self, t_s: float, what: str) -> None:
        wait_for(
            lambda: self.truth.now_s >= t_s,
            timeout_s=max(0.0, t_s - self.truth.now_s) + 5.0,
            what=f"emulator time {t_s:.3f} s ({what})",
        )

    def before(self, deadline_s: float, what: str) -> None:
        now_s = self.truth.now_s
        if now_s > deadline_s:
            raise SetupMissedPhaseError(
                f"{self.sc.id}: {what} at emulator time {now_s:.3f} s, after {deadline_s:.3f} s "
                "(the machine is too slow for this scenario's timing)"
            )

    def ready_to_move(self) -> None:
        self.console.start_up()
        self.mark("homed")
        self.console.calibration(np.eye(4))
        self.console.targeting()
        self.console.set_target(target_matrix())
        self.mark("ready")

    def action(self, run: Callable[[], object]) -> None:
        """Run the action the fault cuts; record its STATUS (or that it completed)."""
        self.mark("action")
        try:
            run()
        except BrpStatusError as err:
            self.out.status = _error_of(err)
            self.out.status_text = err.detail
            self.out.phase_result = "error STATUS"
        except BrpError as err:
            self.out.phase_result = f"{type(err).__name__}: {err}"
        else:
            self.out.phase_result = "completed"
        self.mark("action_end")

    def await_unsolicited_fault(self, already: int) -> None:
        """Wait for a fault STATUS outside any request (a fault at rest)."""

        def arrived() -> bool:
            return len(self.console.view.faults) > already

        try:
            wait_for(arrived, timeout_s=3.0, what="a fault STATUS")
        except AssertionError as err:
            self.out.phase_result = f"no fault STATUS: {err}"
            return
        reply = self.console.view.faults[already]
        self.out.status = Expected(
            device=reply.device_name, code=reply.code, sub_code=reply.sub_code
        )
        self.out.status_text = reply.message
        self.out.phase_result = "unsolicited STATUS"

    # -- phases -------------------------------------------------------------------------------

    def run(self) -> Outcome:
        sc, console = self.sc, self.console
        at_s = sc.at_s
        lead_s = LEAD_S.get(sc.phase, 0.0)
        if sc.phase is Phase.WHOLE_RUN:
            self.benign_run()
            return self.out
        if sc.phase is Phase.START_UP:
            self.wait_emulator(at_s - lead_s, "START_UP before the fault")
            self.action(console.start_up)
        elif sc.phase is Phase.IDLE:
            console.start_up()
            self.mark("ready")
            self.before(at_s - 0.05, "START_UP finished")
            if sc.fault.startswith("stuck-encoder"):  # latent until the next motion
                self.wait_emulator(at_s + 0.02, "the encoder stuck")
                console.calibration(np.eye(4))
                console.targeting()
                console.set_target(target_matrix())
                self.action(console.move_to_target)
            else:
                self.await_unsolicited_fault(len(console.view.faults))
        elif sc.phase is Phase.TARGETING:
            self.ready_to_move()
            self.before(at_s - 0.05, "target accepted")
            self.await_unsolicited_fault(len(console.view.faults))
        elif sc.phase is Phase.MOVE:
            self.ready_to_move()
            self.before(at_s - lead_s, "target accepted")
            self.wait_emulator(at_s - lead_s, "MOVE_TO_TARGET before the fault")
            self.action(console.move_to_target)
        elif sc.phase is Phase.INSERTED:
            self.ready_to_move()
            console.move_to_target()
            self.mark("inserted")
            self.before(at_s - 0.05, "needle at the target")
            self.await_unsolicited_fault(len(console.view.faults))
        elif sc.phase is Phase.RETRACT:
            self.ready_to_move()
            console.move_to_target()
            self.mark("inserted")
            self.before(at_s - lead_s, "needle at the target")
            self.wait_emulator(at_s - lead_s, "RETRACT_NEEDLE before the fault")
            self.action(console.retract_needle)
        self.after_fault()
        return self.out

    def benign_run(self) -> None:
        lags_ms: list[float] = []

        def lag() -> None:
            latest = self.app.driver.link.latest if self.app.driver is not None else None
            if latest is not None:
                lags_ms.append(
                    (self.truth.now_s - latest.telemetry.firmware_time_us / 1e6) * 1000.0
                )

        self.ready_to_move()
        self.out.onset_s = self.out.marks["homed"]  # audit: no fault record from here on
        lag()
        self.action(lambda: self.console.move_to_target(on_position=lambda _: lag()))
        if self.out.phase_result == "completed":
            self.action(lambda: self.console.retract_needle(on_position=lambda _: lag()))
        self.out.state_after_fault = self.app.state.value
        # the procedure ends here; the console hanging up afterwards is not part of it
        self.out.audit_until_mono_s = time.monotonic()
        fw_counters = self.fw.counters
        host = self.app.driver.counters() if self.app.driver is not None else None
        name = self.sc.fault.partition(":")[0]
        if name == "drop-frames":
            self.out.link_damage = fw_counters.seq_gaps + (host.seq_gaps if host else 0)
        elif name == "corrupt-bytes":
            host_bad = sum(host.frame_faults.values()) if host else 0
            self.out.link_damage = fw_counters.frame_faults + host_bad
        else:
            self.out.link_damage = round(sorted(lags_ms)[len(lags_ms) // 2]) if lags_ms else 0

    def find_onset(self) -> None:
        sc = self.sc
        samples = self.truth.samples
        name = sc.fault.partition("@")[0].partition(":")[0]
        onset = sc.at_s
        if name in {"hardware-failure-mid-move", "limit-hit"}:
            latched = [s.t_s for s in samples if s.fault is not None]
            if latched:
                before = [s.t_s for s in samples if s.t_s < latched[0]]
                onset = before[-1] if before else latched[0]
        elif name == "stuck-encoder":  # only motion shows a stuck encoder
            shown = [s for s in samples if s.t_s >= sc.at_s and (s.moving or s.fault)]
            if shown and shown[0].moving:
                onset = shown[0].t_s
            elif shown:  # motion began and tripped between two samples
                before = [s.t_s for s in samples if s.t_s < shown[0].t_s]
                onset = before[-1] if before else shown[0].t_s
        self.out.onset_s = onset
        near = [s for s in samples if s.t_s <= onset] or list(samples[:1])
        if near:
            s = near[-1]
            self.out.onset_state = f"{s.state}{' moving' if s.moving else ''}"
            after = [a for a in samples if a.t_s > s.t_s]
            if not s.moving and after and after[0].fault is not None:
                self.out.onset_state += f" (then {after[0].fault}: tripped between samples)"

    def after_fault(self) -> None:
        sc, console = self.sc, self.console
        try:
            wait_for(lambda: not self.truth.sample().moving, timeout_s=2.0, what="axes still")
        except AssertionError as err:
            self.out.moved_after_stop.append(str(err))
        self.mark("still")
        self.find_onset()
        self.out.state_after_fault = self.app.state.value
        # (d) a move is refused, and nothing moves, until the documented reset
        self.mark("refusal")
        try:
            console.move_to_target()
        except BrpStatusError as err:
            self.out.refusal = (err.code, err.sub_code)
        except BrpError as err:
            self.out.refusal = (None, None)
            self.out.reset_text = f"MOVE_TO_TARGET after the fault: {type(err).__name__}: {err}"
        else:
            self.out.refusal = (1, 0)
        if sc.clears_at_s:
            self.wait_emulator(sc.clears_at_s + 0.05, "the link damage to end")
        if sc.firmware_fault is not None and self.out.onset_s is not None:
            watchdog_s = (WATCHDOG_MS + SCHEDULING_MS) / 1000.0
            self.wait_emulator(self.out.onset_s + watchdog_s, "the firmware watchdog")
        # one more control cycle's worth of samples after the refusal
        self.wait_emulator(self.truth.now_s + 0.03, "samples after the refusal")
        self.mark("reset")
        samples = self.truth.samples
        self.out.firmware_fault = samples[-1].fault if samples else None
        onset = self.out.onset_s if self.out.onset_s is not None else 0.0
        self.out.stop_s = stop_instant(samples, onset, self.out.marks["reset"])
        if self.out.stop_s is not None:
            self.out.moved_after_stop += moved_between(
                samples, self.out.stop_s, self.out.marks["reset"]
            )
        self.out.moved_after_onset = moved_between(samples, onset, self.out.marks["reset"])
        try:
            result = console.start_up()
        except BrpStatusError as err:
            self.out.reset_status = (err.code, err.sub_code)
            self.out.reset_text = err.detail
        except BrpError as err:
            self.out.reset_status = (None, None)
            self.out.reset_text = f"{type(err).__name__}: {err}"
        else:
            status = result.status
            self.out.reset_status = (
                (status.code, status.sub_code) if status is not None else (None, None)
            )
        self.out.state_after_reset = self.app.state.value
        reset_s = self.out.marks["reset"]
        self.out.rehomed = self.out.reset_status == (1, 0) and any(
            s.moving for s in self.truth.samples if s.t_s >= reset_s
        )


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """Keep earlier tests' objects out of the garbage collector while a scenario runs.

    The robot, its emulator and the console are threads of this process; a full collection of
    everything a long test session allocated before paused them all for over 100 ms, and the
    HAL rightly declared the link lost (START_UP 13/8 in a scenario that was not about the link).
    The heap is collected once, frozen (``gc.freeze``) and unfrozen after the scenario; objects
    the scenario allocates are still collected.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def run_scenario(scenario: Scenario, audit_path: Path) -> Outcome:
    """Run ``scenario`` end to end; the audit log goes to ``audit_path``."""
    with _heap_frozen():
        return _run_scenario(scenario, audit_path)


def _run_scenario(scenario: Scenario, audit_path: Path) -> Outcome:
    wall0 = time.monotonic()
    with campaign_robot(scenario.fault, audit_path) as app:
        assert app.emulator is not None
        truth = GroundTruth(app.emulator)
        truth.start()
        try:
            with BrpClient(*app.address, config=CLIENT_CONFIG) as console:
                out = _Runner(scenario, app, truth, console).run()
        finally:
            truth.close()
    read_audit(out, audit_path)
    out.wall_s = time.monotonic() - wall0
    return out
