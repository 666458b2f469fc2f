"""Benchmarks of every package, run by ``mrbot bench``; each prints figures beside a baseline."""

from robot.bench.result import AREAS, BenchResult, run_area

__all__ = ["AREAS", "BenchResult", "run_area"]
