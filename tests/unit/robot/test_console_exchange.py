"""The sans-I/O reply checker: deadlines, collected positions, foreign and late messages."""

from __future__ import annotations

import numpy as np

from robot.console import BrpClientConfig, PhaseResult, PositionReading
from robot.console.exchange import Exchange, ExchangeDone, ExchangeFailed
from robot.console.scripts import phase_script
from robot.igtl import IgtlMessage, StatusBody, StringBody, TransformBody

CONFIG = BrpClientConfig(ack_timeout_s=1.0, reply_timeout_s=2.0, move_silence_s=3.0)


def msg(name: str, body) -> IgtlMessage:
    return IgtlMessage(device_name=name, body=body)


def move_exchange(overall_timeout_s: float | None = None) -> Exchange[PhaseResult]:
    names, script = phase_script("X1", "MOVE_TO_TARGET", CONFIG)
    return Exchange(
        label="CMD_X1 MOVE_TO_TARGET",
        ack_name="ACK_X1",
        names=names,
        script=script,
        started_s=100.0,
        overall_timeout_s=overall_timeout_s,
    )


POSITION = msg("CURRENT_POSITION", TransformBody(matrix_ras_mm=np.eye(4)))


def test_each_reply_restarts_the_deadline_with_the_next_expectations_timeout():
    ex = move_exchange()
    assert ex.deadline_s() == 101.0  # ACK: 1 s
    assert ex.feed(msg("ACK_X1", StringBody(text="MOVE_TO_TARGET")), 100.5)
    assert ex.deadline_s() == 102.5  # CURRENT_STATUS: 2 s after the ACK
    current = StatusBody(code=1, subcode=0, error_name="MOVE_TO_TARGET")
    assert ex.feed(msg("CURRENT_STATUS", current), 100.6)
    assert ex.deadline_s() == 103.6  # the move's STATUS: 3 s of silence
    assert ex.feed(POSITION, 103.0)
    assert ex.deadline_s() == 106.0  # a position is a sign of life
    assert isinstance(ex.events.get_nowait(), PositionReading)


def test_the_overall_timeout_caps_a_move_that_keeps_streaming():
    ex = move_exchange(overall_timeout_s=5.0)
    ex.feed(msg("ACK_X1", StringBody(text="MOVE_TO_TARGET")), 100.1)
    ex.feed(msg("CURRENT_STATUS", StatusBody(code=1, error_name="MOVE_TO_TARGET")), 100.2)
    ex.feed(POSITION, 104.0)
    assert ex.deadline_s() == 105.0
    assert ex.timeout_s(105.0) == 5.0


def test_position_before_the_ack_and_foreign_names_are_not_consumed():
    ex = move_exchange()
    assert not ex.feed(POSITION, 100.1)
    assert not ex.feed(msg("PLANE_0", TransformBody(matrix_ras_mm=np.eye(4))), 100.1)
    assert ex.events.empty()
    assert not ex.finished


def test_a_finished_exchange_takes_nothing_more():
    ex = move_exchange()
    ex.feed(msg("ACK_X1", StringBody(text="MOVE_TO_TARGET")), 100.1)
    ex.feed(msg("CURRENT_STATUS", StatusBody(code=1, error_name="MOVE_TO_TARGET")), 100.2)
    ex.feed(msg("MOVE_TO_TARGET", StatusBody(code=1, error_name="OK")), 100.3)
    ex.feed(POSITION, 100.4)
    assert ex.finished
    assert isinstance(ex.events.get_nowait(), ExchangeDone)
    assert not ex.feed(POSITION, 100.5)
    assert ex.deadline_s() == float("inf")


def test_cut_and_fail_keep_the_first_outcome():
    ex = move_exchange()
    ex.cut("CMD_X2 STOP")
    ex.cut("CMD_X3 EMERGENCY")
    event = ex.events.get_nowait()
    assert isinstance(event, ExchangeFailed)
    assert event.error.error_name == "CMD_X2 STOP"
    assert ex.events.empty()
