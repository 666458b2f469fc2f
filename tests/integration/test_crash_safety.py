"""Crash safety: SIGKILL the server mid-move; the firmware stops by itself, the log survives.

Three processes: the emulated firmware on a pty (it outlives the server, as a motor controller
does), ``mrbot serve --device <pty> --audit <path>``, and this test as the console (``BrpClient``).
The emulator process prints a JSON line (emulator time, host monotonic time, axes) whenever the
axes change, which is the ground truth read here; so it is this module's own process rather than
``mrbot emulator --pty`` (which serves the same robot configuration but prints no axes), built
from the same robot configuration as the server with the same public ``hal.emulator`` API.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pytest

from robot.console import BrpClient, BrpClientConfig, BrpError, BrpStatusError
from safety import read_audit_log
from tests.support import processes

if TYPE_CHECKING:
    from robot.console import PositionReading

pytestmark = pytest.mark.slow

ROOT: Final = Path(__file__).resolve().parents[2]
WATCHDOG_MS: Final = 250
#: Allowance over the watchdog (ms): the last valid frame came up to one heartbeat (50 ms) before
#: the kill; plus the emulator's 2 ms sampling and process scheduling on two loaded cores.
WATCHDOG_MARGIN_MS: Final = 100
SPEED_MM_S: Final = 100.0  # slow enough that the lateral move outlasts the watchdog
JOINTS: Final = ("front_x_mm", "front_y_mm", "back_x_mm", "back_y_mm", "insertion_mm")
SETTINGS: Final = {
    **{f"joints.{j}.max_step_rate_hz": SPEED_MM_S * 100.0 for j in JOINTS},
    **{f"joints.{j}.max_accel_mm_s2": SPEED_MM_S * 20.0 for j in JOINTS},
    "emulator.homing_speed_mm_s": SPEED_MM_S,
}
CLIENT: Final = BrpClientConfig(ack_timeout_s=3.0, reply_timeout_s=5.0, action_timeout_s=20.0)


def serve_emulator() -> None:
    """Entry point of the emulator process: the robot's firmware on a pty, axes on stdout."""
    from hal import MonotonicClock, to_wire_um
    from hal.emulator import EmulatedFirmware, PtyServer, emulator_config_for
    from robot.config import load_config

    config = load_config(overrides=dict(SETTINGS), environ={})
    homing = min(config.emulator_homing_speed_mm_s, *(a.max_speed for a in config.controller.axes))
    firmware = EmulatedFirmware(
        emulator_config_for(
            config.controller,
            watchdog_ms=WATCHDOG_MS,
            telemetry_period_ms=config.emulator_telemetry_period_ms,
            homing_velocity_um_s=to_wire_um(homing, config.controller.axes[0].kind),
        )
    )
    server = PtyServer(firmware, MonotonicClock(time.monotonic))
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    server.start()
    print(server.url, flush=True)  # noqa: T201 - the protocol with the test
    last = None
    try:
        while not done.wait(0.002):
            fault = firmware.fault_latched
            line = {
                "moving": any(a.moving for a in firmware.axes),
                "pos": [round(a.true_um) for a in firmware.axes],
                "state": firmware.state.name,
                "fault": None if fault is None else fault.name,
            }
            if line != last:
                last = line
                stamp = {"t": firmware.time_s, "mono": time.monotonic()}
                print(json.dumps({**stamp, **line}), flush=True)  # noqa: T201
    finally:
        server.close()


def _states(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if line.startswith("{")]


def _serve(device: str, audit: Path) -> tuple[subprocess.Popen[str], tuple[str, int]]:
    sets = [item for k, v in SETTINGS.items() for item in ("--set", f"{k}={v}")]
    proc = processes.spawn(
        ["serve", "--device", device, "--audit", str(audit), "--port", "0", *sets],
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    return proc, processes.address_of(proc)


def _target() -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = (20.0, 20.0, 30.0)
    return m


def test_sigkill_mid_move_the_firmware_watchdog_stops_the_axes_and_a_restart_needs_homing(
    tmp_path: Path,
) -> None:
    audit = tmp_path / "audit.jsonl"
    emulator = server = restarted = None
    try:
        emulator = subprocess.Popen(
            [sys.executable, "-c", f"from {__name__} import serve_emulator; serve_emulator()"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        truth = processes.Lines(emulator)
        device = truth.until(lambda s: s.startswith("/dev/"), timeout_s=30, what="pty path")
        server, address = _serve(device, audit)
        with BrpClient(*address, config=CLIENT) as console:
            console.start_up()
            console.calibration(np.eye(4))
            console.targeting()
            console.set_target(_target())
            seen: list[tuple[float, float, float]] = []
            killed_at: list[float] = []

            def kill_once_moving(reading: PositionReading) -> None:
                if reading.tip_ras_mm not in seen:
                    seen.append(reading.tip_ras_mm)
                if len(seen) >= 3 and not killed_at:  # positions confirm motion
                    killed_at.append(time.monotonic())
                    os.kill(server.pid, signal.SIGKILL)

            with pytest.raises(BrpError) as cut:
                console.move_to_target(on_position=kill_once_moving)
            assert killed_at, f"the move ended before it was seen moving: {cut.value}"
            assert not isinstance(cut.value, BrpStatusError), cut.value
        assert server.wait(5.0) == -signal.SIGKILL

        # the firmware stops by its own watchdog
        stopped = truth.until(
            lambda s: '"fault": "WATCHDOG"' in s, timeout_s=3.0, what="watchdog stop"
        )
        stop = json.loads(stopped)
        assert not stop["moving"]
        history = _states(truth.lines)
        before_kill = [s for s in history if float(s["mono"]) <= killed_at[0]]
        assert before_kill, "no emulator output before the kill"
        assert before_kill[-1]["moving"], "the axes were not moving at the kill"
        latency_ms = (float(stop["mono"]) - killed_at[0]) * 1000.0
        assert 0.0 < latency_ms <= WATCHDOG_MS + WATCHDOG_MARGIN_MS, latency_ms
        # nothing moves afterwards (no host is connected)
        deadline_mono = float(stop["mono"]) + 0.3
        while time.monotonic() < deadline_mono:
            truth.pump(deadline_mono - time.monotonic())
        after = [s for s in _states(truth.lines) if float(s["mono"]) >= float(stop["mono"])]
        assert all(not s["moving"] and s["pos"] == stop["pos"] for s in after), after[-3:]

        # the audit log is intact: every complete line parses; a torn tail is reported
        first = read_audit_log(audit)
        assert first.sequence_gaps == ()
        kinds = [r.kind for r in first.records]
        assert kinds[0] == "run_header"
        assert any(
            r.kind == "permit_issued" and "move" in str(r.payload.get("plan_id"))
            for r in first.records
        ), kinds

        # a restarted server requires homing before any motion
        restarted, address = _serve(device, audit)
        problems: list[str] = []  # checked at the end, so that START_UP is still verified
        with BrpClient(*address, config=CLIENT) as console:
            try:
                console.move_to_target()
            except BrpStatusError as err:
                if (err.code, err.sub_code) != (13, 8):
                    problems.append(f"MOVE_TO_TARGET before START_UP answered {err}")
            except BrpError as err:  # e.g. the 4.4 CURRENT_POSITION after the 13 never came
                problems.append(f"MOVE_TO_TARGET before START_UP: {err}")
            else:
                problems.append("MOVE_TO_TARGET before START_UP was accepted")
        moved = [s for s in _states(truth.lines) if s["moving"] and s["mono"] > stop["mono"]]
        assert not moved, f"the restarted server moved before START_UP: {moved[:2]}"
        homing_from = len(truth.lines)
        with BrpClient(*address, config=CLIENT) as console:
            try:
                try:
                    console.start_up()
                except BrpStatusError as err:
                    # The server may read this connection's START_UP before the previous
                    # connection's close (two reader threads): authority is still held then,
                    # and the refusal says that nobody holds it by the time it is sent.
                    if (err.code, err.sub_code) != (5, 9) or "nobody holds it now" not in str(err):
                        raise
                    console.start_up()
            except BrpError as err:
                problems.append(f"START_UP after the restart (documented reset) failed: {err}")
        truth.pump(0.05)
        rehoming = _states(truth.lines[homing_from:])
        if not problems:
            assert any(s["moving"] for s in rehoming), "START_UP did not re-home"
            assert rehoming[-1]["fault"] is None
            assert not rehoming[-1]["moving"]
        again = read_audit_log(audit)
        assert again.records[: len(first.records)] == first.records
        assert [r.kind for r in again.records].count("run_header") == 2
        assert not problems, problems
    finally:
        processes.end(server)
        processes.end(restarted)
        processes.end(emulator)
