"""Smoke test of the igtl benchmark's own measurement (no timing is asserted)."""

from __future__ import annotations

import pytest

from robot.bench import AREAS
from robot.bench import igtl as bench


def test_igtl_area_is_registered():
    assert AREAS["igtl"] == "robot.bench.igtl"


@pytest.mark.slow
def test_round_trips_are_measured_per_client_process_and_pooled():
    samples = bench.component_ack_ms(2, 5)
    assert len(samples) == 10
    assert all(sample > 0 for sample in samples)
