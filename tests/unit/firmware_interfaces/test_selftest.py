from __future__ import annotations

import pytest

from firmware_interfaces import run_selftest
from firmware_interfaces.selftest import EXPECTED_FAULTS


@pytest.mark.parametrize("seed", range(10))
def test_selftest_passes_for_any_seed(seed):
    report = run_selftest(seed=seed)
    assert report.passed, [c for c in report.checks if not c.passed]
    assert report.frames_sent == 18
    assert report.damaged_sent == 18


def test_selftest_injects_every_kind_of_damage():
    names = {c.name.split(" after ")[0] for c in run_selftest().checks if " after " in c.name}
    assert names == set(EXPECTED_FAULTS)


def test_selftest_is_deterministic_for_a_seed():
    assert run_selftest(seed=4) == run_selftest(seed=4)


def test_selftest_detects_a_decoder_that_loses_frames(monkeypatch):
    from firmware_interfaces import FrameDecoder, selftest

    class Lossy(FrameDecoder):  # drops every third item of each feed
        def feed(self, data):
            return [item for i, item in enumerate(super().feed(data)) if i % 3 != 2]

    monkeypatch.setattr(selftest, "FrameDecoder", Lossy)
    assert not run_selftest().passed
