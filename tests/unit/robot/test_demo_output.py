"""The demo's report and figure, from results assembled offline (robot.demo.report, .figure)."""

from __future__ import annotations

import io
import math
import struct
import zlib

import numpy as np
import pytest
from rich.console import Console

from kinematics import Target, TwoPlaneGuide, default_two_plane_config, detect_zframe, plan
from robot.demo.figure import write_figure
from robot.demo.metrics import registration_accuracy, tip_accuracy
from robot.demo.report import render_report, verdict
from robot.demo.result import (
    DemoResult,
    JointTrace,
    PhaseTiming,
    SafeStopOutcome,
    ScanImage,
)
from robot.demo.scenario import make_scenario
from robot.twin import (
    EntryPlan,
    NeedleSegment,
    needle_slice,
    plan_entry,
    render_confirmation,
    render_zframe,
)


def _result(*, tip_offset_mm: float = 0.0, safe_stop: SafeStopOutcome | None = None) -> DemoResult:
    """A result computed from the scenario without the robot: detector, IK, FK, renderer."""
    robot = TwoPlaneGuide(default_two_plane_config())
    scenario = make_scenario(5, np.eye(4))
    zframe = render_zframe(
        scenario.T_scanner_from_zframe_true, scenario.zframe_scan, snr=20.0, seed=5
    )
    found = detect_zframe(zframe.image, zframe.ijk_to_ras)
    registered = found.T_scanner_from_zframe
    path = plan_entry(
        scenario.phantom, approach_ras=tuple(registered[:3, 2]), max_angle_rad=math.radians(20)
    )
    assert isinstance(path, EntryPlan)
    goal = plan(
        robot,
        Target.from_arrays(path.target_ras_mm, entry_ras_mm=path.skin_entry_ras_mm),
        registered,
    )
    joints = np.array(goal.joint_values)  # type: ignore[union-attr]
    joints[robot.insertion_index] += tip_offset_mm
    truth = scenario.T_scanner_from_robot_true
    tip = tip_accuracy(robot, joints, truth, path.target_ras_mm)
    geometry = needle_slice(
        tip.tip_ras_mm,
        tip.direction_ras,
        in_plane_ras=tuple(np.cross(scenario.phantom.bone_axis_ras, tip.direction_ras)),
        matrix=(64, 64),
    )
    needle = NeedleSegment(
        tip_ras_mm=tip.tip_ras_mm,
        direction_ras=tip.direction_ras,
        shaft_length_mm=80.0,
        diameter_mm=2.1,
    )
    confirmation = render_confirmation(
        scenario.phantom, needle, geometry, snr=25.0, seed=1, subsamples=2, slab_samples=2
    )
    times = np.linspace(0.0, 4.0, 50)
    return DemoResult(
        scenario=scenario,
        speed_factor=10.0,
        plan=path,
        registration=registration_accuracy(registered, truth, path.target_ras_mm),
        tip=tip,
        phases=(PhaseTiming(name="START_UP", duration_s=0.8, outcome="STATUS(START_UP) 1 OK"),),
        events=() if safe_stop is None else ("MOVE_TO_TARGET 18/10 HARDWARE",),
        safe_stop=safe_stop,
        trace=JointTrace(
            names=tuple(j.name for j in robot.joints),
            times_s=times,
            positions=np.outer(np.minimum(times / 3.0, 1.0), joints),
            marks=(("START_UP", 0.0), ("MOVE_TO_TARGET", 1.0)),
        ),
        zframe_scan=ScanImage(image=zframe, points_ras_mm=found.points_ras_mm),
        confirmation_scan=ScanImage(image=confirmation, points_ras_mm=np.zeros((0, 3))),
    )


@pytest.fixture(scope="module")
def accurate():
    return _result()


def _printed(result: DemoResult) -> str:
    out = io.StringIO()
    render_report(result, Console(file=out, width=140, color_system=None))
    return out.getvalue()


def test_an_accurate_run_reports_both_errors_below_a_millimetre(accurate):
    assert accurate.accurate
    assert accurate.succeeded
    text = _printed(accurate)
    assert f"{accurate.registration.at_target_mm:.3f} mm" in text
    assert f"{accurate.tip.error_mm:.3f} mm" in text
    assert "PLACEMENT OK" in text
    assert "10x real speed" in text
    assert "Stops, faults and refusals: none" in text


def test_a_tip_1_2_mm_too_deep_is_reported_as_not_accurate():
    result = _result(tip_offset_mm=1.2)
    assert result.tip is not None
    assert result.tip.depth_mm == pytest.approx(1.2, abs=0.1)
    assert not result.succeeded
    text = _printed(result)
    assert "NO" in text
    assert "PLACEMENT NOT ACCURATE" in text


def _stop(*, safe: bool) -> SafeStopOutcome:
    return SafeStopOutcome(
        fault="hardware-failure-mid-move",
        stopped=True,
        console_status="MOVE_TO_TARGET 18/10 HARDWARE: axis 2 failed",
        axes_stopped=safe,
        drift_after_stop_mm=0.0 if safe else 3.2,
        audit_records=("fault HARDWARE axis 2", "stop CAT1"),
        safe=safe,
        detail="the move stopped at once",
    )


def test_a_safe_stop_is_a_success_and_the_report_shows_what_the_console_and_audit_saw():
    result = _result(safe_stop=_stop(safe=True))
    assert result.succeeded
    text = _printed(result)
    assert "SAFE STOP DEMONSTRATED" in text
    assert "MOVE_TO_TARGET 18/10 HARDWARE: axis 2 failed" in text
    assert "stop CAT1" in text
    assert "MOVE_TO_TARGET 18/10 HARDWARE" in text.split("Stops, faults and refusals:")[1]


def test_a_fault_the_robot_rode_through_is_reported_as_tolerated_when_the_tip_is_accurate():
    tolerated = SafeStopOutcome(
        fault="drop-frames:probability=0.05",
        stopped=False,
        console_status="no error STATUS",
        axes_stopped=True,
        drift_after_stop_mm=0.0,
        audit_records=(),
        safe=True,
        detail="no stop was needed",
    )
    result = _result(safe_stop=tolerated)
    assert result.succeeded
    assert verdict(result).startswith("FAULT TOLERATED")


def test_an_unplanned_stop_without_a_fault_fails_the_run_even_when_it_was_safe():
    unplanned = SafeStopOutcome(
        fault="",
        stopped=True,
        console_status="STATUS(MOVE_TO_TARGET) code 18 sub-code 10 HARDWARE: link_timeout",
        axes_stopped=True,
        drift_after_stop_mm=0.0,
        audit_records=("#18 transition MOVE -> FAULT",),
        safe=True,
        detail="an unplanned stop ended the story in MOVE_TO_TARGET",
    )
    result = DemoResult(
        scenario=_result().scenario,
        speed_factor=10.0,
        plan=None,
        registration=None,
        tip=None,
        phases=(),
        events=(),
        safe_stop=unplanned,
        trace=JointTrace(names=(), times_s=np.zeros(0), positions=np.zeros((0, 0)), marks=()),
        zframe_scan=None,
        confirmation_scan=None,
    )
    assert not result.succeeded
    assert verdict(result).startswith("PLACEMENT NOT COMPLETED, the stop was safe")
    text = _printed(result)
    assert "Unplanned stop (no fault injected)" in text
    assert "not planned: the story stopped before planning" in text


def test_an_unsafe_stop_fails_the_run_and_says_the_axes_kept_moving():
    result = _result(safe_stop=_stop(safe=False))
    assert not result.succeeded
    assert verdict(result).startswith("UNSAFE")
    assert "MOVING" in _printed(result)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR"
    assert (
        zlib.crc32(data[12 : 16 + length])
        == struct.unpack(">I", data[16 + length : 20 + length])[0]
    )
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_figure_is_a_valid_png_with_three_panels(accurate, tmp_path):
    path = write_figure(accurate, tmp_path / "demo.png")
    width, height = _png_size(path.read_bytes())
    assert (width, height) == (1815, 616)  # 16.5 x 5.6 in at 110 dpi
    assert path.stat().st_size > 50_000  # images, not an empty canvas


def test_the_figure_is_written_even_without_a_confirmation_scan(accurate, tmp_path):
    bare = DemoResult(
        scenario=accurate.scenario,
        speed_factor=1.0,
        plan=accurate.plan,
        registration=None,
        tip=None,
        phases=(),
        events=(),
        safe_stop=_stop(safe=True),
        trace=JointTrace(names=(), times_s=np.zeros(0), positions=np.zeros((0, 0)), marks=()),
        zframe_scan=None,
        confirmation_scan=None,
    )
    path = write_figure(bare, tmp_path / "bare.png")
    assert _png_size(path.read_bytes())[0] > 0
