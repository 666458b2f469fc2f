"""Judging a stop: standstill from true joint positions, audit lines, the joint sampler."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hal import JointKind
from hal.emulator import EmulatedFirmware, emulator_config_for
from robot.demo.metrics import TipAccuracy
from robot.demo.sampler import JointSampler
from robot.demo.stop import Observation, audit_stop_lines, judge_stop, wait_for_standstill
from robot.demo.timeline import Timeline
from safety import AuditError
from tests.support.clock import FakeClock
from tests.support.hal_config import shipped_controller
from tests.support.polling import wait_for


class _Script:
    """Joint readings from a list, one per call (the last one repeats)."""

    def __init__(self, rows):
        self.rows = [np.asarray(r, dtype=float) for r in rows]
        self.calls = 0

    def read_now(self):
        row = self.rows[min(self.calls, len(self.rows) - 1)]
        self.calls += 1
        return row


def _clock_and_pause():
    clock = FakeClock()
    return clock, clock.advance


def test_axes_that_stop_after_a_little_travel_count_as_still_with_that_drift():
    clock, pause = _clock_and_pause()
    positions = _Script([[0.0, 0.0], [0.3, 0.0], [0.5, 0.1], [0.5, 0.1]])
    report = wait_for_standstill(positions, clock.now_s, pause=pause)
    assert report.still
    assert report.drift_mm == pytest.approx(0.5)
    assert 0.25 <= report.waited_s < 0.3


def test_axes_still_moving_at_the_deadline_are_reported_moving():
    clock, pause = _clock_and_pause()
    positions = _Script([[0.01 * k, 0.0] for k in range(1000)])
    report = wait_for_standstill(positions, clock.now_s, timeout_s=1.0, pause=pause)
    assert not report.still
    assert report.waited_s == pytest.approx(1.0, abs=0.02)
    assert report.drift_mm > 0.9


def _write_audit(path, records):
    lines: list[str] = []
    for seq, (kind, state, payload) in enumerate(records, start=1):
        lines.append(
            json.dumps(
                {
                    "seq": seq,
                    "kind": kind,
                    "mono_s": float(seq),
                    "wall_utc": "2026-11-27T00:00:00+00:00",
                    "state": state,
                    "payload": payload,
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_audit_lines_keep_faults_refusals_and_new_trips_but_not_the_power_on_baseline(tmp_path):
    path = tmp_path / "audit.jsonl"
    _write_audit(
        path,
        [
            ("run_header", "-", {"software": "mrbot"}),
            ("interlock", "OFF", {"tripped": ["scanner_imaging"], "active": ["scanner_imaging"]}),
            ("permit_issued", "MOVING", {"permit_id": 2}),
            ("permit_revoked", "FAULT", {"permit_id": 2, "leaving": "MOVING"}),
            (
                "transition",
                "FAULT",
                {"event": "FAULT", "to": "FAULT", "code": 18, "sub_code": "HARDWARE", "stop": 1},
            ),
            (
                "interlock",
                "FAULT",
                {"tripped": ["limit_switch_hit"], "active": ["limit_switch_hit"]},
            ),
            ("interlock", "FAULT", {"tripped": [], "cleared": ["x"], "active": []}),
            (
                "refusal",
                "FAULT",
                {"event": "CALIBRATE", "to": "FAULT", "code": 13, "reason": "latched"},
            ),
        ],
    )
    lines = audit_stop_lines(path)
    assert len(lines) == 3
    assert lines[0].startswith("#5 transition FAULT -> FAULT: code 18 HARDWARE, stop category 1")
    assert lines[1] == "#6 interlock tripped: limit_switch_hit (active: limit_switch_hit)"
    assert lines[2].startswith("#8 refusal CALIBRATE -> FAULT: code 13")
    assert audit_stop_lines(path, limit=1) == lines[-1:]


def test_a_corrupt_audit_line_is_an_error_not_an_empty_answer(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_text('{"seq": 1}\n', encoding="utf-8")
    with pytest.raises(AuditError, match="corrupt"):
        audit_stop_lines(path)


@pytest.fixture
def firmware():
    return EmulatedFirmware(emulator_config_for(shipped_controller()))


def test_the_sampler_reads_the_true_positions_in_joint_units(firmware):
    kinds = [JointKind.LINEAR] * len(firmware.axes)
    sampler = JointSampler(firmware, kinds, now=FakeClock().now_s)
    firmware.axes[4].true_um = 12_345.0
    np.testing.assert_allclose(sampler.read_now(), [0.0, 0.0, 0.0, 0.0, 12.345])


def test_the_sampler_records_on_its_thread_until_closed(firmware):
    kinds = [JointKind.LINEAR] * len(firmware.axes)
    clock = FakeClock()
    sampler = JointSampler(firmware, kinds, now=clock.now_s, period_s=0.001)
    sampler.start()
    try:
        wait_for(lambda: len(sampler.samples()[0]) >= 3, what="three samples")
    finally:
        sampler.close()
    times, rows = sampler.samples()
    assert rows.shape == (len(times), 5)
    count = len(times)
    assert len(sampler.samples()[0]) == count  # nothing recorded after close
    assert sampler.error is None


def test_the_sampler_refuses_a_kind_list_that_does_not_match_the_axes(firmware):
    with pytest.raises(ValueError, match="joint kinds"):
        JointSampler(firmware, [JointKind.LINEAR], now=FakeClock().now_s)


def _seen(*, step="MOVE_TO_TARGET", told=True, still=True):
    return Observation(
        step=step,
        console_status="STATUS(MOVE_TO_TARGET) code 18" if told else "no error STATUS",
        console_told=told,
        drift_mm=0.01,
        still=still,
    )


def _tip(error_mm):
    return TipAccuracy(
        tip_ras_mm=(0.0, 0.0, 0.0),
        direction_ras=(0.0, 0.0, 1.0),
        error_mm=error_mm,
        lateral_mm=error_mm,
        depth_mm=0.0,
    )


def test_a_stop_the_console_heard_with_axes_at_rest_is_safe():
    outcome = judge_stop("limit-hit", _seen(), ("#18 transition",), None)
    assert outcome.safe
    assert outcome.stopped
    assert "console informed" in outcome.detail
    assert "1 audit records" in outcome.detail


@pytest.mark.parametrize(
    ("seen", "missing"),
    [
        (_seen(still=False), "the axes did NOT come to rest"),
        (_seen(told=False), "the console got NO error STATUS"),
    ],
)
def test_a_stop_with_moving_axes_or_a_silent_console_is_unsafe(seen, missing):
    outcome = judge_stop("limit-hit", seen, ("#18 transition",), None)
    assert not outcome.safe
    assert missing in outcome.detail


def test_a_stop_without_audit_records_stays_safe_but_says_the_log_is_silent():
    outcome = judge_stop("startup-failure", _seen(step="START_UP"), (), None)
    assert outcome.safe
    assert "the audit log recorded nothing" in outcome.detail


def test_a_fault_ridden_through_is_safe_only_if_the_tip_is_within_the_limit():
    assert judge_stop("delay", _seen(step=""), (), _tip(0.2)).safe
    late = judge_stop("delay", _seen(step=""), (), _tip(1.5))
    assert not late.safe
    assert not late.stopped
    assert "NOT within the accuracy limit" in late.detail


def test_a_stop_without_an_injected_fault_is_called_unplanned():
    outcome = judge_stop("", _seen(), ("#18",), None)
    assert outcome.detail.startswith("an unplanned stop (no fault injected) ended the story")


def test_the_timeline_times_each_phase_and_marks_it_from_the_start():
    clock = FakeClock()
    lines: list[str] = []
    timeline = Timeline(clock.now_s, lines.append)
    clock.advance(0.5)
    timeline.begin("START_UP (homing)", "START_UP")
    assert timeline.current == "START_UP (homing)"
    clock.advance(1.25)
    timeline.end("OK")
    timeline.end("ignored: no phase open")
    timeline.mark("STOP")
    assert timeline.current == ""
    assert [(p.name, p.duration_s, p.outcome) for p in timeline.phases] == [
        ("START_UP (homing)", 1.25, "OK")
    ]
    assert timeline.marks == [("START_UP", 0.5), ("STOP", 1.75)]
    assert lines == ["START_UP (homing) ...", "  OK (1.25 s)"]


def test_the_sampler_refuses_kinds_that_differ_from_the_emulated_axes(firmware):
    kinds = [JointKind.LINEAR] * (len(firmware.axes) - 1) + [JointKind.ROTARY]
    with pytest.raises(ValueError, match="joint kinds"):
        JointSampler(firmware, kinds, now=FakeClock().now_s)
