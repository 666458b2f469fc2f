"""What one campaign scenario did, read from the console, the emulator and the audit log."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from safety import read_audit_log
from tests.support.campaign import AUDIT_SLACK_S, StopPath

if TYPE_CHECKING:
    from pathlib import Path

    from safety import AuditRecord
    from tests.support.campaign import Expected, Scenario

__all__ = ["Outcome", "outcome_rows", "read_audit"]


@dataclass(slots=True, kw_only=True)
class Outcome:
    """What one scenario did (filled by :func:`run_scenario`, judged by the tests).

    Times are emulator seconds.
    """

    scenario: Scenario
    marks: dict[str, float] = field(default_factory=dict)
    setup_error: str = ""
    phase_result: str = ""
    status: Expected | None = None
    status_text: str = ""
    onset_s: float | None = None
    onset_state: str = ""
    stop_s: float | None = None
    moved_after_stop: list[str] = field(default_factory=list)
    moved_after_onset: list[str] = field(default_factory=list)
    refusal: tuple[int | None, int | None] | None = None
    reset_status: tuple[int | None, int | None] | None = None
    reset_text: str = ""
    state_after_fault: str = ""
    state_after_reset: str = ""
    rehomed: bool = False
    firmware_fault: str | None = None
    mono_offset_s: float = 0.0
    #: Host monotonic time (s) the judged procedure ended (a benign run: the console then hangs
    #: up, which the robot rightly records); audit records after it are not the run's.
    audit_until_mono_s: float | None = None
    audit_cause: str = ""
    audit_faults: list[str] = field(default_factory=list)
    audit_torn_tail_bytes: int = 0
    audit_gaps: int = 0
    link_damage: int = 0
    wall_s: float = 0.0

    @property
    def stop_latency_ms(self) -> float | None:
        """Onset to standstill (ms), when both are known."""
        if self.onset_s is None or self.stop_s is None:
            return None
        return max(0.0, (self.stop_s - self.onset_s) * 1000.0)


def read_audit(out: Outcome, path: Path) -> None:
    """Fill the audit fields of ``out`` from the log at ``path``."""
    contents = read_audit_log(path)
    out.audit_torn_tail_bytes = contents.torn_tail_bytes
    out.audit_gaps = len(contents.sequence_gaps)
    pattern = re.compile(out.scenario.cause) if out.scenario.cause else None
    onset_s = out.onset_s if out.onset_s is not None else 0.0
    # host monotonic time of the onset; the emulator may lag the wall clock, never lead it
    from_mono_s = onset_s + out.mono_offset_s - AUDIT_SLACK_S
    for record in contents.records:
        if record.kind == "run_header" or record.mono_s < from_mono_s:
            continue
        if out.audit_until_mono_s is not None and record.mono_s > out.audit_until_mono_s:
            continue
        text = json.dumps(record.payload, sort_keys=True)
        if _is_fault_record(record):
            out.audit_faults.append(_describe(record))
        if pattern is not None and not out.audit_cause and pattern.search(text):
            out.audit_cause = _describe(record)


#: Interlocks that trip in a normal procedure: the needle is measured in after the insertion.
_NORMAL_INTERLOCKS = frozenset({"needle_inserted"})


def _is_fault_record(record: AuditRecord) -> bool:
    event = str(record.payload.get("event", ""))
    tripped = record.payload.get("tripped")
    abnormal = isinstance(tripped, list) and bool(set(map(str, tripped)) - _NORMAL_INTERLOCKS)
    return event in {"FAULT", "TRIP", "HOMING_FAILED", "EMERGENCY"} or abnormal


def _describe(record: AuditRecord) -> str:
    payload = record.payload
    if "tripped" in payload:
        return f"#{record.seq} {record.kind} tripped={payload['tripped']}"
    reason = str(payload.get("reason", ""))[:90]
    return f"#{record.seq} {record.kind} {payload.get('event', '')}: {reason}"


def _fmt(pair: tuple[int | None, int | None] | None) -> str:
    if pair is None:
        return "-"
    return f"{pair[0]}/{pair[1]}"


def outcome_rows(outcomes: list[tuple[Outcome, list[str]]]) -> str:
    """The measured table: one line per scenario with what happened and the failed checks."""
    header = (
        f"{'scenario':34} {'stop ms':>8} {'bound':>5} {'STATUS got':24} {'MOVE':>5} "
        f"{'reset':>5} {'firmware':16} {'wall s':>6}  result"
    )
    lines = [header, "-" * len(header)]
    for out, failures in outcomes:
        sc = out.scenario
        latency = out.stop_latency_ms
        stop = "-" if latency is None else f"{latency:.1f}"
        if sc.stop is StopPath.AT_REST:  # nothing was moving: the check is that nothing moved
            stop = "moved" if out.moved_after_onset else "still"
        bound = "-" if sc.bound_ms is None else str(sc.bound_ms)
        got = out.status.describe() if out.status is not None else out.phase_result[:24]
        tags = sorted({f.split(" ", 1)[0] for f in failures})
        result = "PASS" if not failures else "FAIL " + " ".join(tags)
        lines.append(
            f"{sc.id:34} {stop:>8} {bound:>5} {got[:24]:24} {_fmt(out.refusal):>5} "
            f"{_fmt(out.reset_status):>5} {out.firmware_fault or '-':16} {out.wall_s:6.2f}  "
            f"{result}"
        )
    return "\n".join(lines)
