"""Smoke test of the robot figures of ``mrbot bench igtl`` (no timing is asserted)."""

from __future__ import annotations

import pytest

from robot.bench import igtl as bench


@pytest.mark.slow
def test_each_emergency_is_timed_to_its_own_estop_frame_at_the_emulator():
    samples = bench.component_estop_ms(3)
    assert len(samples) == 3
    assert all(0 < sample < 1000 for sample in samples)
