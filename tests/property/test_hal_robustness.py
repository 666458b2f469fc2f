"""Property tests: bad input never crashes the emulator or the link, and both stay usable."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_interfaces import (
    Enable,
    Frame,
    FrameDecoder,
    Hello,
    Ident,
    Message,
    MessageType,
    encode_frame,
)
from hal.emulator import FaultKind, FaultPlan, FaultSpec
from hal.emulator.injector import FaultInjector
from hal.emulator.physics import PneumaticModel, PneumaticModelConfig
from hal.link import Link
from tests.support.clock import FakeClock
from tests.support.firmware import ScriptedFirmware, ack, fast_emulator


class Collect:
    def __init__(self) -> None:
        self.decoder = FrameDecoder()
        self.messages: list[Message] = []

    def send(self, data: bytes) -> None:
        self.messages += [i.message for i in self.decoder.feed(data) if isinstance(i, Frame)]

    def close(self) -> None:
        pass


HELLO = Hello(protocol_major=1, protocol_minor=0, max_payload_bytes=240, nonce=99)


@given(junk=st.lists(st.binary(max_size=300), max_size=8))
def test_the_emulator_survives_any_bytes_and_still_answers_hello(junk):
    firmware = fast_emulator()
    host = Collect()
    firmware.attach(host)
    for chunk in junk:
        firmware.receive(chunk)
        firmware.step(0.001)
    firmware.receive(b"\x00" + encode_frame(HELLO, 1))
    assert any(isinstance(m, Ident) and m.nonce == 99 for m in host.messages)


@given(junk=st.binary(min_size=1, max_size=600))
@settings(max_examples=40)
def test_the_link_survives_any_bytes_from_the_firmware_and_keeps_working(junk):
    firmware = ScriptedFirmware()
    link = Link(lambda: firmware, FakeClock(), on_fault=lambda event: None)
    link.open()
    try:
        firmware.inject(junk + b"\x00")
        firmware.expect(MessageType.ENABLE).reply(ack)
        link.request(Enable(axis_mask=1), timeout_s=0.5, retries=0)
        assert link.is_up
    finally:
        link.close()


@given(cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=6))
def test_the_injector_without_damage_passes_bytes_through_whatever_the_chunking(cuts):
    plan = FaultPlan(faults=(FaultSpec(kind=FaultKind.DROP_FRAMES, probability=0.0),))
    injector = FaultInjector(plan)
    wire = b"".join(encode_frame(Enable(axis_mask=i), i) for i in range(1, 8))
    points = sorted({min(c, len(wire)) for c in cuts} | {0, len(wire)})
    out = b"".join(injector.incoming(wire[a:b], 0.0) for a, b in itertools.pairwise(points))
    assert out == wire


@given(
    targets=st.lists(st.integers(min_value=-40_000, max_value=40_000), min_size=1, max_size=5),
    seed=st.integers(min_value=0, max_value=2**16),
    pressure_hpa=st.sampled_from([1000, 6000]),
)
def test_a_pneumatic_stage_never_leaves_its_switches_and_moves_in_whole_steps(
    targets, seed, pressure_hpa
):
    config = PneumaticModelConfig(soft_min_um=-25_000, soft_max_um=25_000, start_um=0)
    axis = PneumaticModel(config, random.Random(seed))
    axis.enabled = True
    axis.supply_pressure_hpa = pressure_hpa
    t_s = 0.0
    for target in targets:
        axis.start(float(target), t_s, t_s + 0.05)
        for _ in range(100):
            t_s += 0.002
            axis.step(t_s, 0.002)
            assert axis.lower_switch_um - config.step_um <= axis.true_um
            assert axis.true_um <= axis.upper_switch_um + config.step_um
            assert axis.true_um % config.step_um == 0
