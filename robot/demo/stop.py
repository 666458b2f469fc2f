"""Judge a stop: what the console heard, whether the axes came to rest, what the audit log says."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

import numpy as np

from robot.console import BrpInterruptedError
from robot.demo.result import ACCURACY_LIMIT_MM, SafeStopOutcome
from safety import read_audit_log

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from kinematics.types import FloatArray
    from robot.console import BrpClient, BrpError
    from robot.demo.metrics import TipAccuracy
    from safety import AuditRecord

__all__ = [
    "Observation",
    "StandstillReport",
    "audit_stop_lines",
    "judge_stop",
    "observe",
    "wait_for_standstill",
]

_STILL_MM: Final = 0.002  # a joint moving less than this between polls counts as still
_STILL_FOR_S: Final = 0.25
_POLL_S: Final = 0.01
_STOP_STATES: Final = frozenset({"FAULT", "ESTOP", "EMERGENCY", "STOPPED", "STOPPING"})


class _Positions(Protocol):
    def read_now(self) -> FloatArray: ...


class StandstillReport:
    """Whether the axes came to rest, and how far they travelled after the reference moment.

    Attributes:
        still: every joint moved less than 2 um per poll for 0.25 s before the deadline.
        drift_mm: largest joint travel from the reference positions to the last reading.
        waited_s: how long the check took.
    """

    __slots__ = ("drift_mm", "still", "waited_s")

    def __init__(self, *, still: bool, drift_mm: float, waited_s: float) -> None:
        self.still = still
        self.drift_mm = drift_mm
        self.waited_s = waited_s


def wait_for_standstill(
    sampler: _Positions,
    now: Callable[[], float],
    *,
    timeout_s: float = 3.0,
    pause: Callable[[float], object] | None = None,
) -> StandstillReport:
    """Poll the true joint positions until they rest for 0.25 s, or ``timeout_s`` passes.

    Args:
        sampler: source of the true joint positions.
        now: monotonic seconds.
        timeout_s: longest wait.
        pause: waits between polls (default: an event wait of 10 ms).
    """
    wait = pause or threading.Event().wait
    start_s = now()
    reference = sampler.read_now()
    last = reference
    still_since = start_s
    while True:
        wait(_POLL_S)
        current = sampler.read_now()
        t = now()
        if float(np.max(np.abs(current - last))) >= _STILL_MM:
            still_since = t
        last = current
        if t - still_since >= _STILL_FOR_S or t - start_s >= timeout_s:
            break
    return StandstillReport(
        still=t - still_since >= _STILL_FOR_S,
        drift_mm=float(np.max(np.abs(last - reference))),
        waited_s=t - start_s,
    )


def _names(value: object) -> list[str]:
    return [str(x) for x in value] if isinstance(value, list) else []


def _describe(record: AuditRecord) -> str | None:
    p = record.payload
    if record.kind == "interlock":
        tripped = _names(p.get("tripped"))
        if not tripped:
            return None
        return (
            f"#{record.seq} interlock tripped: {', '.join(tripped)} "
            f"(active: {', '.join(_names(p.get('active')))})"
        )
    stop = p.get("stop")
    to_state = str(p.get("to", ""))
    if record.kind == "refusal" or stop is not None or to_state in _STOP_STATES:
        detail = p.get("reason", "")
        stop_text = f", stop category {stop}" if stop is not None else ""
        return (
            f"#{record.seq} {record.kind} {p.get('event', '')} -> {to_state}: "
            f"code {p.get('code', '-')} {p.get('sub_code', '')}{stop_text} ({detail})"
        )
    if any(word in record.kind for word in ("fault", "stop", "estop", "emergency")):
        return f"#{record.seq} {record.kind}: {p}"
    return None


def audit_stop_lines(path: Path, *, limit: int = 4) -> tuple[str, ...]:
    """The last ``limit`` audit records about refusals, faults, stops and tripped interlocks.

    The first interlock record of a run (everything tripped while the robot is OFF) is skipped.

    Raises:
        AuditError: the log cannot be read or a complete line is corrupt.
    """
    records = list(read_audit_log(path).records)
    first = next((r for r in records if r.kind == "interlock"), None)
    lines = [line for r in records if r is not first and (line := _describe(r)) is not None]
    return tuple(lines[-limit:])


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """What the demo saw right after a fault showed (or after a story that rode through it)."""

    step: str
    console_status: str
    console_told: bool
    drift_mm: float
    still: bool


def observe(
    step: str,
    error: BrpError | None,
    console: BrpClient,
    sampler: _Positions,
    now: Callable[[], float],
) -> Observation:
    """Wait for the axes to rest and note what the console received.

    Args:
        step: the step the story stopped in ("" when it completed).
        error: what the console raised, or ``None`` when the story completed.
        console: the operator's client (its view holds every error STATUS).
        sampler: true joint positions.
        now: monotonic seconds.
    """
    rest = wait_for_standstill(sampler, now)
    faults = console.view.faults
    if error is not None:
        told = (error.code is not None and error.code != 1) or isinstance(
            error, BrpInterruptedError
        )
        text = str(error)
    elif faults:
        told, text = True, faults[-1].describe()
    else:
        told, text = False, "no error STATUS"
    return Observation(
        step=step, console_status=text, console_told=told, drift_mm=rest.drift_mm, still=rest.still
    )


def judge_stop(
    fault: str, seen: Observation, audit: tuple[str, ...], tip: TipAccuracy | None
) -> SafeStopOutcome:
    """Decide whether the robot handled the fault safely (see `SafeStopOutcome.safe`).

    Args:
        fault: the injected fault ("" for none).
        seen: what `observe` saw.
        audit: audit lines about the stop.
        tip: the true tip when the story completed, else ``None``.
    """
    if not seen.step:  # the story completed: the fault was ridden through
        accurate = tip is not None and tip.error_mm < ACCURACY_LIMIT_MM
        safe = seen.still and accurate
        detail = (
            "no stop was needed: the robot completed the placement despite the fault"
            + (f" (tip {tip.error_mm:.2f} mm)" if tip is not None else "")
            + ("" if accurate else ", but NOT within the accuracy limit")
        )
    else:
        safe = seen.console_told and seen.still
        cause = "the fault" if fault else "an unplanned stop (no fault injected)"
        findings = [
            "console informed" if seen.console_told else "the console got NO error STATUS",
            f"axes at rest ({seen.drift_mm:.3f} mm of travel after the console was told)"
            if seen.still
            else "the axes did NOT come to rest within 3 s",
            f"{len(audit)} audit records" if audit else "but the audit log recorded nothing",
        ]
        detail = f"{cause} ended the story in {seen.step}; " + ", ".join(findings)
    return SafeStopOutcome(
        fault=fault,
        stopped=bool(seen.step),
        console_status=seen.console_status,
        axes_stopped=seen.still,
        drift_after_stop_mm=seen.drift_mm,
        audit_records=audit,
        safe=safe,
        detail=detail,
    )
