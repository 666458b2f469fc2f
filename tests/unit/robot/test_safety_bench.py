"""``mrbot bench safety`` runs its setup to a real MOVE decision (a smoke test, no timing)."""

from __future__ import annotations

from robot.bench import safety


def test_the_safety_benchmark_reaches_moving_and_reports_every_figure():
    results = safety.decision_results(20)
    names = [r.figure for r in results]
    assert any("MOVE" in n for n in names), names
    assert all(r.value > 0 for r in results)
