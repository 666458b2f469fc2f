"""The MCAP session recorder: channels and schemas read back, drops counted, never blocking."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import pytest
from mcap.reader import make_reader

from firmware_interfaces import encode_frame
from firmware_interfaces.messages import Heartbeat
from robot.igtl import IgtlMessage, StringBody, encode
from robot.records import Recorder, RecordingTransport, recording_opener
from robot.records.recorder import RAW_ENCODINGS, SCHEMAS, TOPICS
from safety import AuditRecord, JsonlAuditLog
from tests.support.clock import FakeClock

ROOT = Path(__file__).resolve().parents[3]
PEER = ("127.0.0.1", 50123)


def _read(
    path: Path,
) -> tuple[dict[str, tuple[str, str, str]], dict[str, list[bytes]], dict[str, dict[str, str]]]:
    """Channels (topic -> encoding, schema name, schema encoding), messages per topic, metadata."""
    with path.open("rb") as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        assert summary is not None
        channels = {}
        for channel in summary.channels.values():
            schema = summary.schemas.get(channel.schema_id)
            channels[channel.topic] = (
                channel.message_encoding,
                "" if schema is None else schema.name,
                "" if schema is None else schema.encoding,
            )
        messages: dict[str, list[bytes]] = {}
        for _schema, channel, message in reader.iter_messages():
            messages.setdefault(channel.topic, []).append(message.data)
        metadata = {m.name: dict(m.metadata) for m in reader.iter_metadata()}
    return channels, messages, metadata


def test_every_channel_reads_back_with_its_schema_and_message_counts(tmp_path):
    path = tmp_path / "session.mcap"
    recorder = Recorder(path)
    recorder.start()
    status = encode(IgtlMessage(device_name="START_UP", body=StringBody(text="CMD_0001")))
    recorder.igtl_received(1, PEER, status)
    recorder.igtl_sent(1, PEER, status)
    recorder.igtl_received(1, PEER, b"\x00\x01short")  # not a whole header: summarised as such
    one, two = encode_frame(Heartbeat(counter=7), 3), encode_frame(Heartbeat(counter=8), 4)
    recorder.serial_sent(one + two[:5])  # frames split anywhere across writes
    recorder.serial_sent(two[5:])
    recorder.serial_received(b"\x05garbage\x00")
    with JsonlAuditLog(tmp_path / "audit.jsonl", now=FakeClock(), observer=recorder.audit_record):
        pass  # a run header
    stats = recorder.close()
    assert stats.dropped_total == 0
    assert stats.write_error is None

    channels, messages, metadata = _read(path)
    assert set(channels) == set(TOPICS)
    for topic, (encoding, schema) in TOPICS.items():
        assert channels[topic][:2] == (encoding, schema)
        assert channels[topic][2] == ("jsonschema" if schema else "")
    counts = {topic: len(data) for topic, data in messages.items()}
    assert counts == {
        "/igtl/in": 2,
        "/igtl/in/summary": 2,
        "/igtl/out": 1,
        "/igtl/out/summary": 1,
        "/serial/tx": 2,
        "/serial/tx/decoded": 2,
        "/serial/rx": 1,
        "/serial/rx/decoded": 1,
        "/safety/audit": 1,
        "/recorder/stats": 1,
    }
    assert messages["/igtl/in"][0] == status
    summary = json.loads(messages["/igtl/in/summary"][0])
    assert summary["type"] == "STRING"
    assert summary["device_name"] == "START_UP"
    assert summary["complete"] is True
    assert summary["peer"] == "127.0.0.1:50123"
    assert json.loads(messages["/igtl/in/summary"][1])["error"].startswith("7 B")
    assert messages["/serial/tx"][0] == one[:-1]  # COBS bytes without the delimiter
    frames = [json.loads(m) for m in messages["/serial/tx/decoded"]]
    assert [(f["type"], f["seq"], f["fields"]) for f in frames] == [
        ("Heartbeat", 3, {"counter": 7}),
        ("Heartbeat", 4, {"counter": 8}),
    ]
    assert json.loads(messages["/serial/rx/decoded"][0])["error"] is not None
    audit = json.loads(messages["/safety/audit"][0])
    assert audit["kind"] == "run_header"
    final = json.loads(messages["/recorder/stats"][0])
    assert final["final"] is True
    assert final["dropped_total"] == 0
    assert final["written"]["/serial/tx"] == 2
    assert metadata["mrbot.recorder"]["dropped_total"] == "0"


class _StuckValue:
    """An audit payload value the writer thread gets stuck on while it writes the record.

    It is no JSON value, so the writer renders it with ``repr``: that waits for ``release``.
    """

    def __init__(self, entered: threading.Event, release: threading.Event) -> None:
        self.entered = entered
        self.release = release

    def __deepcopy__(self, memo: dict[int, object]) -> _StuckValue:
        return self  # the record is copied into a dict before it is written

    def __repr__(self) -> str:
        self.entered.set()
        assert self.release.wait(10)
        return "released"


def test_a_full_queue_drops_and_counts_instead_of_blocking_and_the_file_says_so(tmp_path):
    path = tmp_path / "session.mcap"
    recorder = Recorder(path, capacity=2)
    entered, release = threading.Event(), threading.Event()
    stuck = AuditRecord(
        seq=1,
        kind="transition",
        mono_s=0.0,
        wall_utc="2026-01-01T00:00:00+00:00",
        state="OFF",
        payload={"stuck": _StuckValue(entered, release)},
    )
    recorder.start()
    recorder.audit_record(stuck)  # the writer takes this one and gets stuck
    assert entered.wait(10)
    for _ in range(5):  # 2 fit in the queue, 3 are dropped; none of these calls waits
        recorder.igtl_received(1, PEER, b"x" * 60)
    assert recorder.stats().dropped == {
        "igtl_in": 3,
        "igtl_out": 0,
        "serial_rx": 0,
        "serial_tx": 0,
        "audit": 0,
    }
    release.set()
    stats = recorder.close()
    recorder.igtl_sent(1, PEER, b"late")  # after close: dropped and counted too
    assert stats.dropped_total == 3
    assert recorder.stats().dropped_total == 3  # the final stats stay as returned
    _, messages, metadata = _read(path)
    assert len(messages["/igtl/in"]) == 2
    final = json.loads(messages["/recorder/stats"][-1])
    assert final["dropped"]["igtl_in"] == 3
    assert final["dropped_total"] == 3
    assert metadata["mrbot.recorder"]["dropped_total"] == "3"


def test_before_start_and_after_close_taps_are_counted_drops(tmp_path):
    recorder = Recorder(tmp_path / "r.mcap")
    recorder.serial_sent(b"abc")
    assert recorder.stats().dropped["serial_tx"] == 1
    recorder.start()
    stats = recorder.close()
    assert stats.dropped["serial_tx"] == 1
    assert recorder.close() is stats
    with pytest.raises(RuntimeError, match="twice"):
        recorder.start()
    with pytest.raises(ValueError, match="capacity"):
        Recorder(tmp_path / "x.mcap", capacity=0)


def test_an_audit_observer_that_raises_never_reaches_the_audit_writer(tmp_path):
    def broken(record):
        raise RuntimeError("observer bug")

    with JsonlAuditLog(tmp_path / "audit.jsonl", now=FakeClock(), observer=broken) as log:
        seq = log.append("fault", state="READY", payload={})
        assert seq == 2
        assert log.healthy
        assert log.observer_failures == 2  # the run header and the fault


class _FakeTransport:
    url = "fake://"

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def read(self) -> bytes:
        return b"\x01\x02"

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        self.closed = True


def test_a_recording_transport_records_both_directions_and_passes_everything_through(tmp_path):
    recorder = Recorder(tmp_path / "r.mcap")
    seen: list[tuple[str, bytes]] = []
    recorder.serial_received = lambda data: seen.append(("rx", data))  # type: ignore[method-assign]
    recorder.serial_sent = lambda data: seen.append(("tx", data))  # type: ignore[method-assign]
    inner = _FakeTransport()
    transport = recording_opener(lambda: inner, recorder)()
    assert isinstance(transport, RecordingTransport)
    assert transport.url == "fake://"
    assert transport.read() == b"\x01\x02"
    transport.write(b"\x03")
    transport.close()
    assert inner.written == [b"\x03"]
    assert inner.closed
    assert seen == [("rx", b"\x01\x02"), ("tx", b"\x03")]


def test_docs_recording_names_every_topic_schema_and_raw_encoding():
    text = (ROOT / "docs" / "RECORDING.md").read_text()
    for name in [*TOPICS, *SCHEMAS, *RAW_ENCODINGS]:
        assert f"`{name}`" in text, name
    for name, data in SCHEMAS.items():
        schema = json.loads(data)
        for field in schema["required"]:
            assert f"`{field}`" in text, (name, field)
    assert Counter(encoding for encoding, _ in TOPICS.values())["json"] == 6
