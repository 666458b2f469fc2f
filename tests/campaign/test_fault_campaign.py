"""The fault campaign (docs/FAULT_CAMPAIGN.md): every emulator fault in every phase it can strike.

Each scenario runs the robot end to end over its OpenIGTLink socket with ``BrpClient`` and checks
(a) the axes stop within the bound of the scenario's stop path, (b) the console receives the STATUS
of OPENIGTLINK.md 4.4, (c) the audit log names the cause, (d) MOVE_TO_TARGET is refused with the
axes still until the documented reset (START_UP), which re-homes where the cause is gone. The
measured table is printed at the end of the session.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.campaign.outcome import Outcome
from tests.campaign.runner import run_scenario
from tests.campaign.truth import Sample, moved_between, stop_instant
from tests.support.campaign import (
    BOUNDS_MS,
    SCENARIOS,
    Expected,
    Phase,
    Reset,
    Scenario,
    StopPath,
    table_markdown,
)

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "docs" / "FAULT_CAMPAIGN.md"
_TABLE = re.compile(r"<!-- campaign:begin -->\n(.*?)<!-- campaign:end -->", re.DOTALL)
#: How far past the end of the cut action the onset may be seen (s): one sampling gap.
_EDGE_S = 0.01
#: Runs of one scenario before a fault that keeps missing its phase fails the test. The fault
#: fires at a fixed emulator time; on a loaded machine START_UP or a move may start late, and the
#: scenario then tests another phase than its name says. That precondition is re-tried; no
#: outcome check (stop bound, STATUS, audit, reset) ever is.
PHASE_ATTEMPTS = 3


def exercised_phase(out: Outcome) -> list[str]:
    """The fault struck in the scenario's phase (else the scenario tested something else)."""
    sc, marks, onset = out.scenario, out.marks, out.onset_s
    if sc.phase is Phase.WHOLE_RUN or sc.fault == "startup-failure":
        return []
    if onset is None:
        return ["no onset recorded"]
    problems = []
    if sc.phase is Phase.START_UP and not out.onset_state.startswith("HOMING"):
        problems.append(f"fault at {onset:.3f} s struck in {out.onset_state}, not while homing")
    if sc.phase in {Phase.MOVE, Phase.RETRACT} or sc.fault.startswith("stuck-encoder"):
        inside = marks["action"] <= onset <= marks["action_end"] + _EDGE_S
        shown = "moving" in out.onset_state or "tripped between samples" in out.onset_state
        if not shown or not inside:
            problems.append(
                f"fault at {onset:.3f} s ({out.onset_state}) outside the action "
                f"{marks['action']:.3f}..{marks['action_end']:.3f} s"
            )
    elif sc.phase in {Phase.IDLE, Phase.TARGETING, Phase.INSERTED}:
        reached = marks.get("inserted", marks.get("ready", onset))
        if "moving" in out.onset_state or reached > onset:
            problems.append(f"fault at {onset:.3f} s but the phase began at {reached:.3f} s")
    return [f"phase: {p}" for p in problems]


def stop_checks(out: Outcome) -> list[str]:
    """(a) the axes stood still within the bound, and nothing moved after the stop."""
    sc = out.scenario
    if sc.stop is StopPath.NONE:
        return []
    problems = []
    if sc.stop is StopPath.AT_REST:
        if out.moved_after_onset:
            problems.append(f"moved after the fault at rest: {out.moved_after_onset[:3]}")
    else:
        latency = out.stop_latency_ms
        if latency is None:
            problems.append("the axes never stood still before the reset")
        elif latency > BOUNDS_MS[sc.stop]:
            problems.append(
                f"stopped {latency:.1f} ms after the onset, bound {BOUNDS_MS[sc.stop]} ms "
                f"({sc.stop.value})"
            )
    if out.moved_after_stop:
        problems.append(f"moved after the stop, before the reset: {out.moved_after_stop[:3]}")
    if sc.firmware_fault is not None and out.firmware_fault != sc.firmware_fault:
        problems.append(
            f"firmware latched {out.firmware_fault}, expected {sc.firmware_fault} "
            "(its own watchdog)"
        )
    return [f"(a) {p}" for p in problems]


def status_checks(out: Outcome) -> list[str]:
    """(b) the console received the STATUS of OPENIGTLINK.md 4.4."""
    sc = out.scenario
    if sc.status is None:
        if out.phase_result != "completed":
            return [f"(b) the benign run did not complete: {out.phase_result}"]
        return []
    if out.status != sc.status:
        got = out.status.describe() if out.status is not None else out.phase_result
        return [
            f"(b) console got {got} ({out.status_text[:80]!r}), expected {sc.status.describe()}"
        ]
    return []


def audit_checks(out: Outcome) -> list[str]:
    """(c) the audit log is whole and names the cause (a benign run records no fault)."""
    sc = out.scenario
    problems = []
    if out.audit_torn_tail_bytes or out.audit_gaps:
        problems.append(
            f"audit log damaged: torn tail {out.audit_torn_tail_bytes} B, {out.audit_gaps} gaps"
        )
    if sc.stop is StopPath.NONE:
        if out.audit_faults:
            problems.append(f"the benign run recorded faults: {out.audit_faults[:3]}")
    elif not out.audit_cause:
        problems.append(
            f"no audit record after the onset matches {sc.cause!r}; fault records: "
            f"{out.audit_faults[:3]}"
        )
    return [f"(c) {p}" for p in problems]


def reset_checks(out: Outcome) -> list[str]:
    """(d) MOVE_TO_TARGET refused until the reset; the reset re-homes or is refused."""
    sc = out.scenario
    if sc.reset is Reset.NOT_NEEDED:
        return []
    problems = []
    if out.refusal != sc.refusal:
        problems.append(
            f"MOVE_TO_TARGET after the fault answered {out.refusal}, expected {sc.refusal}"
        )
    if sc.reset is Reset.RECOVERS:
        if out.reset_status != (1, 0) or not out.rehomed or out.state_after_reset != "READY":
            problems.append(
                f"START_UP did not restore operation: {out.reset_status} {out.reset_text[:90]!r}, "
                f"state {out.state_after_reset}, re-homed {out.rehomed}"
            )
    elif out.reset_status != sc.reset_refusal:
        problems.append(
            f"START_UP while the cause persists answered {out.reset_status} "
            f"({out.reset_text[:80]!r}), expected {sc.reset_refusal}"
        )
    return [f"(d) {p}" for p in problems]


def benign_checks(out: Outcome) -> list[str]:
    """A benign rate of damage really damaged frames, and the robot ended at the target."""
    sc = out.scenario
    if sc.stop is not StopPath.NONE:
        return []
    problems = []
    wanted = 20 if sc.fault.startswith("delay") else 1
    if out.link_damage < wanted:
        problems.append(f"no measurable damage ({out.link_damage} < {wanted}): not a fault run")
    if out.state_after_fault != "NEEDLE_INSERTED":  # the placement inserts: measured in
        problems.append(f"state {out.state_after_fault} after the run, expected NEEDLE_INSERTED")
    return [f"(benign) {p}" for p in problems]


def judge(out: Outcome) -> list[str]:
    """Every failed check of one outcome (empty: the scenario passed)."""
    return [
        *exercised_phase(out),
        *stop_checks(out),
        *status_checks(out),
        *audit_checks(out),
        *reset_checks(out),
        *benign_checks(out),
    ]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_fault_stops_the_axes_reports_audits_and_holds_until_reset(
    scenario: Scenario, tmp_path: Path, campaign_report: list[tuple[Outcome, list[str]]]
) -> None:
    missed: list[str] = []
    out = Outcome(scenario=scenario)
    for attempt in range(1, PHASE_ATTEMPTS + 1):
        try:
            out = run_scenario(scenario, tmp_path / f"audit-{attempt}.jsonl")
        except AssertionError as err:
            campaign_report.append((Outcome(scenario=scenario, setup_error=str(err)), [str(err)]))
            raise
        # Only a fault that missed its phase (a timing precondition, not a safety outcome) is
        # run again; every other check is judged on the attempt that hit the phase.
        phase_problems = exercised_phase(out)
        if not phase_problems:
            break
        missed.extend(f"attempt {attempt}: {p}" for p in phase_problems)
    failures = judge(out)
    if failures and missed:
        failures = [*failures, *missed]
    campaign_report.append((out, failures))
    assert not failures, f"{scenario.id}:\n  " + "\n  ".join(failures)


def test_every_scenario_id_is_unique_and_every_fault_is_exercised() -> None:
    ids = [s.id for s in SCENARIOS]
    assert len(ids) == len(set(ids))
    from hal.emulator import FAULT_NAMES

    exercised = {s.fault.partition("@")[0].partition(":")[0] for s in SCENARIOS}
    assert exercised == set(FAULT_NAMES)


def test_the_scenario_table_in_the_doc_matches_the_campaign() -> None:
    match = _TABLE.search(DOC.read_text(encoding="utf-8"))
    assert match is not None, f"{DOC} has no <!-- campaign:begin/end --> table"
    assert match.group(1) == table_markdown(), (
        "docs/FAULT_CAMPAIGN.md is out of date; regenerate the table with "
        '`python -c "from tests.support.campaign import table_markdown; '
        "print(table_markdown(), end='')\"`"
    )


def _sample(t_s: float, pos: int, *, moving: bool = False) -> Sample:
    return Sample(t_s=t_s, moving=moving, positions_um=(pos,), state="MOVING", fault=None)


def test_stop_instant_is_when_the_axes_last_became_still() -> None:
    samples = (
        _sample(0.0, 0, moving=True),
        _sample(0.1, 5, moving=True),
        _sample(0.2, 7),
        _sample(0.3, 7),
    )
    assert stop_instant(samples, 0.05, 0.3) == pytest.approx(0.2)
    assert stop_instant((*samples, _sample(0.4, 9)), 0.05, 0.4) == pytest.approx(0.4)
    assert stop_instant((*samples, _sample(0.4, 9, moving=True)), 0.05, 0.4) is None
    assert moved_between(samples, 0.2, 0.3) == []
    assert moved_between((*samples, _sample(0.35, 8)), 0.2, 0.4)


def test_the_judge_fails_an_outcome_that_moved_after_the_stop_or_missed_the_status() -> None:
    scenario = next(s for s in SCENARIOS if s.id == "hardware-failure-mid-move/move")
    out = Outcome(
        scenario=scenario,
        marks={"action": 0.6, "action_end": 0.8},
        onset_s=0.75,
        onset_state="MOVING moving",
        stop_s=0.9,
        moved_after_stop=["t=0.95 s moving=True (1,)"],
        status=Expected(device="MOVE_TO_TARGET", code=13, sub_code=7),
        refusal=(1, 0),
        reset_status=(1, 0),
        rehomed=True,
        state_after_reset="READY",
        audit_cause="",
    )
    failures = judge(out)
    assert any(f.startswith("(a) stopped 150.0 ms") for f in failures), failures
    assert any(f.startswith("(a) moved after the stop") for f in failures), failures
    assert any(f.startswith("(b)") for f in failures), failures
    assert any(f.startswith("(c)") for f in failures), failures
    assert any(f.startswith("(d) MOVE_TO_TARGET") for f in failures), failures
