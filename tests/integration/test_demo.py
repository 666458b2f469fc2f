"""``mrbot demo`` end to end: real pty, real sockets, the hidden mount pose, the figure."""

from __future__ import annotations

import struct
import zlib

import pytest

from robot.cli.main import main
from robot.demo import DemoOptions, run_demo

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length = struct.unpack(">I", data[8:12])[0]
    assert data[12:16] == b"IHDR"
    crc = struct.unpack(">I", data[16 + length : 20 + length])[0]
    assert zlib.crc32(data[12 : 16 + length]) == crc
    return struct.unpack(">II", data[16:24])


def test_the_whole_placement_registers_and_targets_below_a_millimetre(tmp_path):
    result = run_demo(DemoOptions(seed=3, out_dir=tmp_path))
    assert result.safe_stop is None, (result.safe_stop, result.phases)  # no unplanned stop
    assert result.registration is not None
    assert result.tip is not None
    assert result.registration.at_target_mm < 1.0
    assert result.tip.error_mm < 1.0
    assert result.scenario.hidden_translation_mm > 1.0  # the robot really had something to find
    assert result.succeeded
    assert result.events == ()
    assert [p.name.split(" ")[0] for p in result.phases] == [
        "START_UP",
        "Z-frame",
        "PLANNING",
        "TARGETING",
        "MOVE_TO_TARGET",
        "Confirmation",
        "RETRACT_NEEDLE",
    ]
    assert all("FAILED" not in p.outcome for p in result.phases)
    assert result.plan is not None
    assert result.plan.clearance_mm >= 5.0
    # The joint trace covers homing, the move and the retraction.
    trace = result.trace
    assert len(trace.times_s) > 50
    insertion = trace.positions[:, -1]
    assert insertion.max() > result.plan.depth_from_skin_mm  # guide to skin, then to the target
    assert insertion[-1] == pytest.approx(0.0, abs=0.05)  # retracted at the end
    assert result.figure_path is not None
    assert _png_size(result.figure_path.read_bytes()) == (1815, 616)
    assert result.audit_path is not None
    assert result.audit_path.stat().st_size > 0


def test_a_hardware_failure_mid_move_is_shown_as_a_safe_stop_and_exits_zero(tmp_path, capsys):
    code = main(["demo", "--fault", "hardware-failure-mid-move", "--out", str(tmp_path)])
    raw = capsys.readouterr().out
    out = " ".join(raw.replace("\u2502", " ").split())  # rich wraps cells: unwrap for matching
    assert code == 0, raw
    assert "STATUS(MOVE_TO_TARGET) code 18 sub-code 10 HARDWARE" in out
    assert "SAFE STOP DEMONSTRATED (hardware-failure-mid-move)" in out
    assert "stopped; drift" in out
    assert "transition FAULT -> FAULT: code 18 HARDWARE, stop category 1" in out
    figures = list(tmp_path.glob("mrbot-demo-seed0-hardware-failure-mid-move.png"))
    assert len(figures) == 1
    assert _png_size(figures[0].read_bytes())[0] > 0


def test_a_start_up_failure_stops_before_anything_moves_and_the_figure_says_why(tmp_path):
    result = run_demo(DemoOptions(seed=2, fault="startup-failure", out_dir=tmp_path))
    stop = result.safe_stop
    assert stop is not None
    assert stop.stopped
    assert stop.safe
    assert result.succeeded
    assert "STATUS(START_UP) code 13 sub-code 8 NOT_READY" in stop.console_status
    assert stop.axes_stopped
    assert stop.drift_after_stop_mm == 0.0
    assert result.plan is None  # the story ended before planning
    assert result.registration is None
    assert result.confirmation_scan is None
    assert result.trace.positions.size > 0
    assert float(abs(result.trace.positions - result.trace.positions[0]).max()) == 0.0
    assert result.figure_path is not None
    assert _png_size(result.figure_path.read_bytes()) == (1815, 616)
