"""Link: ACK matching, time-outs, bounded retries for idempotent requests only, urgent frames."""

from __future__ import annotations

import threading

import pytest

from firmware_interfaces import (
    Enable,
    EStop,
    GetParam,
    Heartbeat,
    Home,
    MessageType,
    NackReason,
    ParamId,
    ParamValue,
    Stop,
    StopCategory,
)
from hal.errors import LinkDownError, NackError, RequestAbortedError, RequestTimeoutError
from hal.events import HalFaultKind
from hal.link import IDEMPOTENT, Link
from tests.support.clock import FakeClock
from tests.support.firmware import ScriptedFirmware, ack, nack
from tests.support.polling import wait_for


@pytest.fixture
def firmware():
    return ScriptedFirmware()


@pytest.fixture
def faults():
    return []


@pytest.fixture
def link(firmware, faults):
    link = Link(lambda: firmware, FakeClock(), on_fault=faults.append)
    link.open()
    yield link
    link.close()


def test_request_returns_the_ack_that_echoes_its_seq(link, firmware):
    firmware.expect(MessageType.ENABLE).reply(ack)
    reply = link.request(Enable(axis_mask=1), timeout_s=0.1, retries=2)
    assert reply.ack_seq == firmware.received[0].seq
    assert link.counters().frames_tx == 1


def test_first_frame_after_open_starts_with_a_delimiter(link, firmware, mocker):
    spy = mocker.spy(firmware, "write")
    link.send(Heartbeat(counter=1))
    link.send(Heartbeat(counter=2))
    assert spy.call_args_list[0].args[0].startswith(b"\x00")
    assert not spy.call_args_list[1].args[0].startswith(b"\x00")


def test_idempotent_request_is_retried_with_the_same_seq_and_succeeds(link, firmware, mocker):
    firmware.expect(MessageType.ENABLE).drop(2).reply(ack)
    spy = mocker.spy(firmware, "write")
    link.request(Enable(axis_mask=1), timeout_s=0.02, retries=2)
    assert spy.call_count == 3
    assert len({f.seq for f in firmware.received}) == 1
    counters = link.counters()
    assert (counters.retries, counters.ack_timeouts) == (2, 2)


def test_request_gives_up_after_two_retries_with_a_timeout_error(link, firmware, faults):
    with pytest.raises(RequestTimeoutError) as info:
        link.request(Enable(axis_mask=1), timeout_s=0.01, retries=2)
    assert isinstance(info.value, TimeoutError)
    assert info.value.attempts == 3
    assert "Enable" in str(info.value)
    assert "10 ms" in str(info.value)
    assert len(firmware.received) == 3
    assert [f.kind for f in faults] == [HalFaultKind.REQUEST_TIMEOUT]


def test_non_idempotent_request_is_never_retried(link, firmware):
    assert Home not in IDEMPOTENT
    with pytest.raises(RequestTimeoutError) as info:
        link.request(Home(axis_mask=1), timeout_s=0.01, retries=2)
    assert info.value.attempts == 1
    assert len(firmware.received) == 1


def test_nack_becomes_an_error_with_the_reason_and_is_counted(link, firmware):
    firmware.expect(MessageType.ENABLE).reply(nack(NackReason.ESTOP_ACTIVE))
    with pytest.raises(NackError) as info:
        link.request(Enable(axis_mask=1), timeout_s=0.1, retries=2)
    assert info.value.reason == "ESTOP_ACTIVE"
    assert link.counters().nacks == {"ESTOP_ACTIVE": 1}


def test_get_param_is_answered_by_the_matching_param_value(link, firmware):
    firmware.expect(MessageType.GET_PARAM).reply(
        lambda f: [
            ParamValue(param=ParamId.WATCHDOG_MS, axis=1, value=7),  # another axis: ignored
            ParamValue(param=ParamId.WATCHDOG_MS, axis=0, value=250),
        ]
    )
    reply = link.request(GetParam(param=ParamId.WATCHDOG_MS, axis=0), timeout_s=0.1, retries=0)
    assert isinstance(reply, ParamValue)
    assert reply.value == 250


def test_disconnect_during_a_request_fails_it_at_once(link, firmware, faults):
    error: list[BaseException] = []

    def ask() -> None:
        try:
            link.request(Enable(axis_mask=1), timeout_s=5.0, retries=0)
        except LinkDownError as err:
            error.append(err)

    thread = threading.Thread(target=ask, name="test-request")
    thread.start()
    wait_for(lambda: firmware.received, what="request written")
    firmware.disconnect()
    thread.join(1.0)
    assert error, "the request did not fail on disconnect"
    assert not link.is_up
    assert faults[-1].kind is HalFaultKind.TRANSPORT_LOST


def test_urgent_stop_goes_out_while_a_request_waits_for_its_reply(link, firmware):
    outcome: list[BaseException] = []

    def ask() -> None:
        try:
            link.request(Enable(axis_mask=1), timeout_s=0.5, retries=0)
        except RequestTimeoutError as err:
            outcome.append(err)

    thread = threading.Thread(target=ask, name="test-request")
    thread.start()
    wait_for(lambda: firmware.received, what="request written")
    assert link.send_urgent(Stop(category=StopCategory.CAT1))
    assert link.send_urgent(EStop())
    types = [type(f.message).TYPE for f in firmware.received]
    assert types == [MessageType.ENABLE, MessageType.STOP, MessageType.ESTOP]
    assert not outcome, "the stop waited for the pending request"
    thread.join(2.0)
    assert not thread.is_alive()
    assert len(outcome) == 1, "the unanswered request did not time out"


def test_a_request_is_not_retried_once_its_abort_condition_holds(link, firmware):
    firmware.expect(MessageType.ENABLE).drop(1).reply(ack)
    with pytest.raises(RequestAbortedError):
        link.request(
            Enable(axis_mask=1), timeout_s=0.01, retries=2, abort=lambda: bool(firmware.received)
        )
    assert len(firmware.received) == 1


def test_a_request_whose_abort_condition_holds_is_never_written(link, firmware):
    with pytest.raises(RequestAbortedError, match="Enable"):
        link.request(Enable(axis_mask=1), timeout_s=0.01, retries=2, abort=lambda: True)
    assert firmware.received == []


def test_a_fault_callback_may_send_a_request_after_a_timeout(firmware):
    firmware.expect(MessageType.GET_PARAM).reply(
        lambda f: [ParamValue(param=ParamId.WATCHDOG_MS, axis=0xFF, value=250)]
    )
    answers: list[object] = []

    def on_fault(event) -> None:
        if event.kind is HalFaultKind.REQUEST_TIMEOUT:
            request = GetParam(param=ParamId.WATCHDOG_MS, axis=0xFF)
            answers.append(own.request(request, timeout_s=0.5, retries=0))

    own = Link(lambda: firmware, FakeClock(), on_fault=on_fault)
    own.open()
    try:
        timed_out: list[BaseException] = []

        def ask() -> None:
            try:
                own.request(Home(axis_mask=1), timeout_s=0.01, retries=0)
            except RequestTimeoutError as err:
                timed_out.append(err)

        # daemon: deadlocked without the fix, it must not keep the interpreter alive
        thread = threading.Thread(target=ask, name="test-request", daemon=True)
        thread.start()
        wait_for(lambda: bool(answers), timeout_s=2.0, what="the callback's request to be answered")
        thread.join(1.0)
        assert isinstance(answers[0], ParamValue)
        assert len(timed_out) == 1
    finally:
        own.close()


class _StubbornTransport:
    """A transport whose read ignores close(): its reader outlives the join."""

    url = "stubborn://"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.reading = threading.Event()
        self.reader: threading.Thread | None = None  # the link's reader thread, once it reads
        self.data = b""

    def read(self) -> bytes:
        self.reader = threading.current_thread()
        self.reading.set()
        self.release.wait(5.0)
        data, self.data = self.data, b""
        return data

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        """Does not wake the blocked read."""


def test_a_reader_that_outlived_close_never_feeds_the_next_session(firmware, monkeypatch):
    from firmware_interfaces import encode_frame

    monkeypatch.setattr("hal.link._JOIN_TIMEOUT_S", 0.01)
    stubborn = _StubbornTransport()
    transports = iter([stubborn, firmware])
    link = Link(lambda: next(transports), FakeClock(), on_fault=lambda e: None)
    link.open()
    wait_for(stubborn.reading.is_set, what="the first reader to block in read()")
    old_reader = stubborn.reader
    assert old_reader is not None
    link.close()
    assert old_reader.is_alive()
    link.open()
    try:
        stubborn.data = encode_frame(Heartbeat(counter=7), 3, leading_delimiter=True)
        stubborn.release.set()
        old_reader.join(2.0)
        assert not old_reader.is_alive()
        firmware.expect(MessageType.ENABLE).reply(ack)
        link.request(Enable(axis_mask=1), timeout_s=0.5, retries=0)
        counters = link.counters()
        assert counters.frames_rx == 1, "frames read by the old reader were taken"
    finally:
        link.close()


def test_urgent_send_on_a_closed_link_returns_false_and_never_raises(firmware):
    link = Link(lambda: firmware, FakeClock(), on_fault=lambda e: None)
    assert link.send_urgent(EStop()) is False


def test_faults_carry_the_flight_recorder(link, firmware, faults):
    with pytest.raises(RequestTimeoutError):
        link.request(Enable(axis_mask=3), timeout_s=0.01, retries=0)
    frames = faults[-1].recent_frames
    assert frames
    assert "Enable" in frames[-1].summary


def test_garbage_from_the_firmware_is_counted_and_never_kills_the_reader(link, firmware):
    firmware.inject(b"\x01\x02garbage\x00" + bytes(range(1, 255)) * 2 + b"\x00")
    firmware.expect(MessageType.ENABLE).reply(ack)
    link.request(Enable(axis_mask=1), timeout_s=0.2, retries=0)
    counters = link.counters()
    assert sum(counters.frame_faults.values()) >= 2
    assert link.is_up


def reframe(message, seq, *, version=None, type_id=None):
    """Wire bytes of ``message`` with a patched header byte and a valid CRC."""
    import zlib

    from cobs import cobs

    from firmware_interfaces import encode_raw_frame

    raw = bytearray(encode_raw_frame(message, seq)[:-4])
    if version is not None:
        raw[0] = version
    if type_id is not None:
        raw[1] = type_id
    body = bytes(raw)
    return cobs.encode(body + zlib.crc32(body).to_bytes(4, "little")) + b"\x00"


def test_frames_of_another_protocol_major_or_unknown_type_are_counted_not_acted_on(link, firmware):
    firmware.inject(reframe(Heartbeat(counter=1), 1, version=2))
    firmware.inject(reframe(Heartbeat(counter=1), 2, type_id=0x7E))
    firmware.expect(MessageType.ENABLE).reply(ack)
    link.request(Enable(axis_mask=1), timeout_s=0.2, retries=0)
    faults = link.counters().frame_faults
    assert faults == {"bad_version": 1, "unknown_type": 1}


def test_an_urgent_frame_is_not_written_when_its_condition_says_it_is_no_longer_needed(
    link, firmware
):
    asked: list[bool] = []

    def acknowledged_meanwhile() -> bool:
        asked.append(True)
        return True

    assert (
        link.send_urgent(Stop(category=StopCategory.CAT1), unless=acknowledged_meanwhile) is False
    )
    assert asked == [True]  # asked under the write lock, right before the write
    assert link.send_urgent(Stop(category=StopCategory.CAT2), unless=lambda: False)
    wait_for(lambda: firmware.received, what="the second stop written")
    assert [type(f.message).TYPE for f in firmware.received] == [MessageType.STOP]
    assert firmware.received[0].message.category is StopCategory.CAT2
