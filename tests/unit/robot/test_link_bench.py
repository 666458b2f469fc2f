"""``mrbot bench link``: gap statistics, the load processes it owns, and a short smoke run."""

from __future__ import annotations

import pytest

from robot.bench import AREAS
from robot.bench import link as bench


def test_gaps_are_the_differences_of_the_arrivals_in_ms():
    gaps = bench.LinkGaps([0.0, 0.020, 0.040, 0.100, 0.120], period_ms=20.0)
    assert gaps.samples == 4
    assert gaps.max_ms == pytest.approx(60.0)
    assert gaps.percentile_ms(50) == pytest.approx(20.0)
    assert gaps.percentile_ms(100) == pytest.approx(60.0)


def test_link_is_a_bench_area():
    assert AREAS["link"] == "robot.bench.link"


@pytest.mark.slow
def test_the_load_processes_run_until_ended_and_are_gone_after():
    burners = bench.cpu_burners(2, 30.0)
    try:
        assert all(p.poll() is None for p in burners)  # still burning
    finally:
        bench.end_burners(burners)
    assert all(p.returncode is not None for p in burners)


@pytest.mark.slow
def test_a_short_run_measures_both_phases_against_the_default_link_timeout():
    idle, loaded, limit_ms = bench.measure_gaps(phase_s=0.5, load_processes=1, settle_s=0.2)
    assert limit_ms == pytest.approx(200.0)
    for gaps in (idle, loaded):
        assert gaps.period_ms == 20.0
        assert gaps.samples >= 10  # 25 at 50 Hz
        assert 0 < gaps.percentile_ms(50) < limit_ms
