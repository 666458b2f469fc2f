"""Benchmarks of ``safety``: one supervisor decision, one control cycle, one durable audit append.

Figures, not tests. Decisions use an in-memory audit sink (:class:`safety.MemoryAuditSink`), so
they measure the supervisor alone (state machine, guards, interlock table, permit signing and the
audit record built in memory); the cost of durability is measured separately as the fsync'd
append of :class:`safety.JsonlAuditLog` on this disk (a temporary file in the system temp folder).
Baseline: a bare ``transitions.Machine`` trigger with no guards, settings as the supervisor's.
Each sample times one call with ``time.perf_counter_ns``.
"""

from __future__ import annotations

import enum
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from transitions import Machine

from robot.bench.result import BenchResult
from safety import (
    Durability,
    Event,
    InterlockSnapshot,
    JointConfig,
    JointEnvelope,
    JsonlAuditLog,
    MemoryAuditSink,
    State,
    Supervisor,
    SupervisorConfig,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["decision_results", "run"]

_AREA: Final = "safety"
_TARGET_US: Final = 50.0
_GROUP: Final = 10  # records per group commit
_KEEP_RECORDS: Final = 50_000  # the in-memory sink is cleared past this many records


class _ManualClock:
    """Monotonic seconds moved by the benchmark (so leases never lapse between samples)."""

    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def _config() -> SupervisorConfig:
    return SupervisorConfig(
        joints=(
            JointConfig(
                name="x", min_position=-50.0, max_position=50.0, max_speed=5.0, homing_speed=2.0
            ),
            JointConfig(
                name="y", min_position=-50.0, max_position=50.0, max_speed=5.0, homing_speed=2.0
            ),
            JointConfig(
                name="insert",
                min_position=0.0,
                max_position=120.0,
                max_speed=10.0,
                homing_speed=2.0,
                lateral=False,
                insertion=True,
            ),
        ),
        min_supply_pressure_kpa=400.0,
    )


def _snapshot(now_s: float, **changes: object) -> InterlockSnapshot:
    values: dict[str, object] = {
        "estop_released": True,
        "emergency_requested": False,
        "scanner_imaging": False,
        "needle_inserted": False,
        "joints_within_limits": True,
        "velocity_within_limit": True,
        "following_error_ok": True,
        "limit_switch_hit": False,
        "supply_pressure_kpa": 600.0,
        "console_heartbeat_at_s": now_s,
        "firmware_heartbeat_at_s": now_s,
        "calibration_valid": True,
        "command_authority": True,
        "insertion_position_mm": 0.0,  # measured: the needle out
    }
    values.update(changes)
    return InterlockSnapshot(**values)  # type: ignore[arg-type]


def _us(samples_ns: list[int]) -> tuple[float, float]:
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * len(ordered)))]
    return statistics.median(ordered) / 1000.0, p99 / 1000.0


def _timed(call: Callable[..., object], *args: object, **kwargs: object) -> int:
    """Nanoseconds taken by one ``call(*args, **kwargs)``."""
    start = time.perf_counter_ns()
    call(*args, **kwargs)
    return time.perf_counter_ns() - start


class _S(enum.Enum):
    A = "A"
    B = "B"


class _BareModel:
    state: _S


def _bare_trigger_us(n: int) -> float:
    model = _BareModel()
    Machine(
        model=model,
        states=_S,
        initial=_S.A,
        transitions=[
            {"trigger": "go", "source": _S.A, "dest": _S.B},
            {"trigger": "back", "source": _S.B, "dest": _S.A},
        ],
        auto_transitions=False,
        send_event=True,
        queued=False,
        ignore_invalid_triggers=False,
    )
    go, back = vars(model)["go"], vars(model)["back"]
    samples = []
    for _ in range(n):
        samples.append(_timed(go))
        back()
    return _us(samples)[0]


def decision_results(n: int) -> list[BenchResult]:
    """Time ``n`` supervisor decisions of each measured kind (with their baselines)."""
    clock = _ManualClock()
    audit = MemoryAuditSink(now=clock)
    sup = Supervisor(_config(), now=clock, audit=audit)
    clear = _snapshot(clock())
    for event, kwargs in (
        (Event.START_UP, {}),
        (Event.HOME_LATERAL, {}),
        (Event.HOMING_DONE, {}),
        (Event.CALIBRATE, {"calibration_id": "c"}),
        (Event.SET_TARGET, {"target_id": "t", "target_depth_mm": 30.0}),
    ):
        sup.handle(event, clear, **kwargs)
    envelopes = (
        JointEnvelope(joint="x", min_position=-10.0, max_position=10.0, max_speed=4.0),
        JointEnvelope(joint="y", min_position=-10.0, max_position=10.0, max_speed=4.0),
    )
    move_ns, stop_ns, cycle_ns, refused_ns = [], [], [], []
    for _ in range(n):
        clock.now_s += 0.01  # 100 Hz control loop; heartbeats fresh every cycle
        clear = _snapshot(clock())
        imaging = _snapshot(clock(), scanner_imaging=True)
        move_ns.append(_timed(sup.request_motion, clear, plan_id="plan", envelopes=envelopes))
        cycle_ns.append(_timed(sup.evaluate, clear))
        stop_ns.append(_timed(sup.handle, Event.STOP, clear))
        refused_ns.append(_timed(sup.request_motion, imaging, plan_id="plan", envelopes=envelopes))
        sup.evaluate(clear)  # record the interlock clearing again
        if len(audit.records) > _KEEP_RECORDS:
            audit.records.clear()
    if sup.state is not State.TARGET_SET:
        raise RuntimeError(f"benchmark left the supervisor in {sup.state}, expected TARGET_SET")
    bare_us = _bare_trigger_us(n)
    move_med, move_p99 = _us(move_ns)
    stop_med, stop_p99 = _us(stop_ns)
    cycle_med, cycle_p99 = _us(cycle_ns)
    refused_med, refused_p99 = _us(refused_ns)
    note = (
        f"{n:,} decisions each; in-memory audit sink (not durable); ratio < 1: guards, "
        "interlocks, permit signing and the audit record on top of a bare trigger"
    )
    baseline = "bare transitions trigger, no guards"

    def result(figure: str, value: float, *, target: bool = False) -> BenchResult:
        return BenchResult(
            area=_AREA,
            figure=figure,
            value=value,
            unit="us",
            target=f"median <= {_TARGET_US:g} us" if target else None,
            met=(value <= _TARGET_US) if target else None,
            baseline=bare_us,
            baseline_name=baseline,
            ratio=bare_us / value,
            note=note,
        )

    return [
        result("MOVE decision, permit issued: median", move_med, target=True),
        result("MOVE decision, permit issued: p99", move_p99),
        result("STOP decision, permit revoked: median", stop_med, target=True),
        result("STOP decision, permit revoked: p99", stop_p99),
        result("MOVE refused (imaging interlock): median", refused_med, target=True),
        result("MOVE refused (imaging interlock): p99", refused_p99),
        result("evaluate() while MOVING, lease extended: median", cycle_med, target=True),
        result("evaluate() while MOVING, lease extended: p99", cycle_p99),
    ]


def _bench_audit(n: int) -> list[BenchResult]:
    clock = _ManualClock()
    snapshot = _snapshot(clock())
    payload = {"event": "MOVE", "from": "TARGET_SET", "to": "MOVING", "code": 1, "reason": "ok"}
    record = {"state": "MOVING", "payload": payload, "snapshot": snapshot}
    with tempfile.TemporaryDirectory(prefix="mrbot-bench-audit-") as folder:
        path = Path(folder) / "audit.jsonl"
        with JsonlAuditLog(path, now=clock) as log:
            samples = [_timed(log.append, "transition", **record) for _ in range(n)]
        size = path.stat().st_size
        group_path = Path(folder) / "group.jsonl"
        group_ns = []
        with JsonlAuditLog(group_path, now=clock, durability=Durability.GROUP) as log:
            for _ in range(n // _GROUP):
                start = time.perf_counter_ns()
                for _ in range(_GROUP):
                    log.append("transition", **record)  # type: ignore[arg-type]
                log.commit()
                group_ns.append(time.perf_counter_ns() - start)
    p50_us, p99_us = _us(samples)
    group_p50_us, group_p99_us = _us(group_ns)
    where = f"in {tempfile.gettempdir()}; the cost of durability"
    note = (
        f"{n:,} fsync'd appends of one decision record with snapshot "
        f"({size // (n + 1)} B/record) {where}"
    )
    group_note = (
        f"{len(group_ns):,} commits of {_GROUP} records each (one fsync per commit) {where}"
    )

    def ms(figure: str, value_us: float, text: str) -> BenchResult:
        return BenchResult(area=_AREA, figure=figure, value=value_us / 1000.0, unit="ms", note=text)

    return [
        ms("audit append + fsync: p50", p50_us, note),
        ms("audit append + fsync: p99", p99_us, note),
        ms(f"audit group commit of {_GROUP} records: p50", group_p50_us, group_note),
        ms(f"audit group commit of {_GROUP} records: p99", group_p99_us, group_note),
    ]


def run(*, quick: bool) -> list[BenchResult]:
    """Run the safety benchmarks (``quick``: fewer samples, still >= 2,000 decisions)."""
    return decision_results(2_000 if quick else 20_000) + _bench_audit(200 if quick else 2_000)
