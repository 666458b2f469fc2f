"""Workphase replies and the STOP/EMERGENCY stream pause on the reader thread."""

from __future__ import annotations

import queue

import numpy as np

from robot.igtl import (
    AckHandler,
    Authority,
    IgtlEvent,
    IgtlMessage,
    StatusBody,
    StringBody,
    TransformBody,
)
from robot.workphase import WorkphaseHandler
from robot.workphase.replies import current_status, status, transform
from tests.support.fake_connection import FakeConnection


def test_status_names_its_sub_code_and_keeps_the_message_ascii():
    message = status("TARGET", 10, 3, "joint 5 mm \u00b5 beyond")
    assert isinstance(message.body, StatusBody)
    assert (message.body.code, message.body.subcode) == (10, 3)
    assert message.body.error_name == "OUT_OF_RANGE"
    assert message.body.message.isascii()


def test_current_status_carries_the_phase_as_error_name():
    message = current_status("TARGETING")
    assert message.device_name == "CURRENT_STATUS"
    assert isinstance(message.body, StatusBody)
    assert (message.body.code, message.body.subcode, message.body.error_name) == (1, 0, "TARGETING")


def test_transform_forces_the_last_row():
    m = np.eye(4)
    m[3, 3] = 1.0000001
    body = transform("TARGET", m).body
    assert isinstance(body, TransformBody)
    assert body.matrix_ras_mm[3, 3] == 1.0


def test_stop_pauses_the_senders_stream_before_the_ack_and_resume_clears_it():
    events: queue.Queue[IgtlEvent] = queue.Queue()
    estops = []
    handler = WorkphaseHandler(
        AckHandler(events, authority=Authority(), emergency_stop=lambda: estops.append(1))
    )
    controller, observer = FakeConnection(1), FakeConnection(2)
    handler.on_connect(controller)
    handler.on_connect(observer)
    handler.on_message(
        controller, IgtlMessage(device_name="CMD_1", body=StringBody(text="PLANNING"))
    )
    assert not handler.is_paused(controller.id)
    handler.on_message(
        observer, IgtlMessage(device_name="CMD_2", body=StringBody(text="EMERGENCY"))
    )
    assert estops == [1]
    assert handler.is_paused(observer.id)
    assert not handler.is_paused(controller.id)
    assert observer.sent[-1].device_name == "ACK_2"
    handler.resume_all()
    assert not handler.is_paused(observer.id)
