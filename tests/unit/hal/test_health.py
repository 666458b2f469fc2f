# mypy: disable-error-code="unreachable"
# (``tripped`` changes through calls mypy cannot see)
"""The bad-frame rate trip."""

from __future__ import annotations

import pytest

from hal.health import BadFrameRate


def test_trips_once_above_5_percent_and_rearms_when_the_window_clears():
    rate = BadFrameRate(window_s=1.0, limit=0.05, min_frames=20)
    edges = [rate.add(i * 0.01, bad=(i % 10 == 0)) for i in range(100)]  # 10 % bad
    assert edges.count(True) == 1
    assert rate.tripped
    later = [rate.add(2.0 + i * 0.01, bad=False) for i in range(100)]
    assert not any(later)
    assert not rate.tripped
    assert rate.fraction == 0.0


def test_a_few_bad_frames_among_many_good_ones_do_not_trip():
    rate = BadFrameRate()
    assert not any(rate.add(i * 0.005, bad=(i % 50 == 0)) for i in range(400))  # 2 %


def test_too_few_frames_never_trip():
    rate = BadFrameRate(min_frames=20)
    assert not any(rate.add(0.0, bad=True) for _ in range(19))


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="limit"):
        BadFrameRate(limit=0.0)
