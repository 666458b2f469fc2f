"""The fault plan: exact CLI names, parsing, validation, and the frame-level injector."""

from __future__ import annotations

import pytest

from firmware_interfaces import Heartbeat, encode_frame
from hal.emulator import FAULT_NAMES, FaultKind, FaultPlan, FaultSpec, parse_fault
from hal.emulator.injector import FaultInjector


def test_fault_names_are_exactly_the_documented_cli_names_and_read_only():
    assert list(FAULT_NAMES) == [
        "drop-frames",
        "corrupt-bytes",
        "delay",
        "disconnect",
        "stuck-encoder",
        "pressure-loss",
        "startup-failure",
        "hardware-failure-mid-move",
        "limit-hit",
    ]
    with pytest.raises(TypeError):
        FAULT_NAMES["new"] = FaultKind.DELAY  # type: ignore[index]


def test_a_fault_is_parsed_with_its_onset_and_options():
    spec = parse_fault("stuck-encoder@1.5:axis=2")
    assert (spec.kind, spec.at_s, spec.axis) == (FaultKind.STUCK_ENCODER, 1.5, 2)
    assert parse_fault("delay:delay_ms=30").delay_s == pytest.approx(0.03)
    assert parse_fault("drop-frames:probability=0.2,until_s=4").until_s == 4.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gremlins", "unknown fault"),
        ("delay:speed=3", "bad option"),
        ("drop-frames:probability=1.5", "probability"),
        ("disconnect@-1", "at_s"),
        ("stuck-encoder:axis=x", "axis=x"),
    ],
)
def test_bad_fault_text_is_refused_with_what_is_allowed(text, message):
    with pytest.raises(ValueError, match=message):
        parse_fault(text)


def frames(n):
    return [encode_frame(Heartbeat(counter=i), i) for i in range(n)]


def test_same_seed_same_damage():
    plan = FaultPlan(faults=(FaultSpec(kind=FaultKind.DROP_FRAMES, probability=0.5),), seed=42)
    one, two = FaultInjector(plan), FaultInjector(plan)
    first = [one.outgoing(f, 0.0) for f in frames(50)]
    again = [two.outgoing(f, 0.0) for f in frames(50)]
    assert first == again
    assert 10 < sum(r is None for r in first) < 40


def test_lasting_faults_apply_only_between_at_and_until():
    spec = FaultSpec(kind=FaultKind.DROP_FRAMES, at_s=1.0, until_s=2.0)
    injector = FaultInjector(FaultPlan(faults=(spec,)))
    frame = frames(1)[0]
    assert injector.outgoing(frame, 0.5) == (0.5, frame)
    assert injector.outgoing(frame, 1.5) is None
    assert injector.outgoing(frame, 2.0) == (2.0, frame)


def test_corruption_flips_one_bit_and_keeps_the_delimiter():
    spec = FaultSpec(kind=FaultKind.CORRUPT_BYTES)
    injector = FaultInjector(FaultPlan(faults=(spec,), seed=1))
    frame = frames(1)[0]
    released = injector.outgoing(frame, 0.0)
    assert released is not None
    damaged = released[1]
    assert damaged[-1] == 0
    assert sum(bin(a ^ b).count("1") for a, b in zip(frame, damaged, strict=True)) == 1


def test_delay_holds_outgoing_frames_for_the_configured_time():
    spec = FaultSpec(kind=FaultKind.DELAY, delay_s=0.03)
    injector = FaultInjector(FaultPlan(faults=(spec,)))
    released = injector.outgoing(frames(1)[0], 1.0)
    assert released is not None
    assert released[0] == pytest.approx(1.03)


def test_incoming_drops_work_on_whole_frames_even_when_split_across_writes():
    spec = FaultSpec(kind=FaultKind.DROP_FRAMES, probability=0.0)
    injector = FaultInjector(FaultPlan(faults=(spec,)))
    wire = b"".join(frames(3))
    out = injector.incoming(wire[:7], 0.0) + injector.incoming(wire[7:], 0.0)
    assert out == wire
