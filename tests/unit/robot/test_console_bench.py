"""``mrbot bench console`` is registered and reports both percentiles beside the bare client."""

from __future__ import annotations

from robot.bench import AREAS
from robot.bench.result import run_area


def test_console_area_reports_p50_and_p99_with_the_bare_client_as_baseline():
    assert AREAS["console"] == "robot.bench.console"
    results = run_area("console", quick=True)
    assert [r.figure.split(" p")[1][:2] for r in results] == ["50", "99"]
    for result in results:
        assert result.unit == "ms"
        assert result.value > 0
        assert result.baseline is not None
        assert result.baseline > 0
        assert result.met is not None
