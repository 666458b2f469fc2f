"""Recording a server session to an MCAP file without ever blocking the robot.

Producers (OpenIGTLink reader threads, the serial driver, the audit writer) call the
``Recorder``'s tap methods; each call is a ``put_nowait`` of the raw bytes or record and its
receive time onto a bounded queue, and returns. One writer thread drains the queue, decodes the
summaries (OpenIGTLink header, firmware frame, audit record) and writes the MCAP file. When the
queue is full the item is dropped and counted per source; drops are written to the file
(``/recorder/stats``, and the ``mrbot.recorder`` metadata at the end), logged, and returned by
:meth:`Recorder.close`: never silent. Topics and schemas: docs/RECORDING.md.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Final, cast

from mcap.writer import CompressionType, Writer

from firmware_interfaces import MAX_WIRE_BYTES, FrameDecodeError, decode_frame
from robot.igtl.errors import IgtlDecodeError
from robot.igtl.header import HEADER_SIZE, unpack_header

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from safety.audit_types import AuditRecord

__all__ = ["RAW_ENCODINGS", "SCHEMAS", "SOURCES", "TOPICS", "Recorder", "RecorderStats"]

logger = logging.getLogger(__name__)

_PROFILE: Final = "mrbot"
_STATS_PERIOD_S: Final = 1.0
_IDLE_WAIT_S: Final = 0.1
_JOIN_TIMEOUT_S: Final = 30.0
_CHUNK_BYTES: Final = 256 * 1024
_MAX_FIELD_CHARS: Final = 2000

#: Where each tap's data comes from (the unit of drop counting).
SOURCES: Final = ("igtl_in", "igtl_out", "serial_rx", "serial_tx", "audit")

#: Message encodings of the raw channels (no schema: the bytes as on the wire).
RAW_ENCODINGS: Final = {
    "openigtlink": "one OpenIGTLink message as received or sent: 58-byte header + body",
    "mrbot-frame": "one firmware frame as on the serial line: COBS bytes without the 0x00",
}


def _object(properties: Mapping[str, object], required: tuple[str, ...]) -> bytes:
    schema = {
        "type": "object",
        "properties": dict(properties),
        "required": list(required),
    }
    return json.dumps(schema, sort_keys=True).encode()


_INT: Final = {"type": "integer"}
_NUM: Final = {"type": "number"}
_STR: Final = {"type": "string"}
_NULL_STR: Final = {"type": ["string", "null"]}
_NULL_INT: Final = {"type": ["integer", "null"]}

#: JSON schemas (``jsonschema`` encoding) of the decoded channels, by schema name.
SCHEMAS: Final[Mapping[str, bytes]] = {
    "mrbot.IgtlSummary": _object(
        {
            "direction": {"enum": ["in", "out"]},
            "connection_id": _INT,
            "peer": _STR,
            "mono_s": _NUM,
            "bytes": _INT,
            "header_version": _NULL_INT,
            "type": _NULL_STR,
            "device_name": _NULL_STR,
            "timestamp_s": {"type": ["number", "null"]},
            "body_size": _NULL_INT,
            "complete": {"type": "boolean"},
            "error": _NULL_STR,
        },
        ("direction", "connection_id", "peer", "mono_s", "bytes", "complete", "error"),
    ),
    "mrbot.SerialFrame": _object(
        {
            "direction": {"enum": ["rx", "tx"]},
            "mono_s": _NUM,
            "wire_bytes": _INT,
            "seq": _NULL_INT,
            "type": _NULL_STR,
            "fields": {"type": ["object", "null"]},
            "error": _NULL_STR,
        },
        ("direction", "mono_s", "wire_bytes", "seq", "type", "fields", "error"),
    ),
    "mrbot.AuditRecord": _object(
        {
            "seq": _INT,
            "kind": _STR,
            "mono_s": _NUM,
            "wall_utc": _STR,
            "state": _STR,
            "payload": {"type": "object"},
            "snapshot": {"type": ["object", "null"]},
        },
        ("seq", "kind", "mono_s", "wall_utc", "state", "payload", "snapshot"),
    ),
    "mrbot.RecorderStats": _object(
        {
            "mono_s": _NUM,
            "final": {"type": "boolean"},
            "written": {"type": "object", "additionalProperties": _INT},
            "dropped": {"type": "object", "additionalProperties": _INT},
            "dropped_total": _INT,
            "write_error": _NULL_STR,
        },
        ("mono_s", "final", "written", "dropped", "dropped_total", "write_error"),
    ),
}

#: Every topic: (message encoding, schema name or "" for a raw channel).
TOPICS: Final[Mapping[str, tuple[str, str]]] = {
    "/igtl/in": ("openigtlink", ""),
    "/igtl/in/summary": ("json", "mrbot.IgtlSummary"),
    "/igtl/out": ("openigtlink", ""),
    "/igtl/out/summary": ("json", "mrbot.IgtlSummary"),
    "/serial/rx": ("mrbot-frame", ""),
    "/serial/rx/decoded": ("json", "mrbot.SerialFrame"),
    "/serial/tx": ("mrbot-frame", ""),
    "/serial/tx/decoded": ("json", "mrbot.SerialFrame"),
    "/safety/audit": ("json", "mrbot.AuditRecord"),
    "/recorder/stats": ("json", "mrbot.RecorderStats"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RecorderStats:
    """What a recorder did.

    Attributes:
        written: messages written, per topic.
        dropped: items not recorded, per source (queue full, recorder closed, or after a
            write error).
        write_error: the first error writing the file, if any (nothing is written after it).
    """

    written: Mapping[str, int]
    dropped: Mapping[str, int]
    write_error: str | None

    @property
    def dropped_total(self) -> int:
        """Items dropped from every source."""
        return sum(self.dropped.values())

    @property
    def written_total(self) -> int:
        """Messages written to every topic."""
        return sum(self.written.values())


class _Kind(enum.Enum):
    IGTL_IN = "igtl_in"
    IGTL_OUT = "igtl_out"
    SERIAL_RX = "serial_rx"
    SERIAL_TX = "serial_tx"
    AUDIT = "audit"


# (kind, wall ns, monotonic s, data) with data: bytes, (connection id, peer, bytes) or a record
_Item = tuple[_Kind, int, float, object]


def _jsonable(value: object) -> object:
    """A decoded firmware message's fields as JSON values (enums by name, bytes as hex)."""
    if isinstance(value, enum.Enum):
        return value.name
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return repr(value)[:_MAX_FIELD_CHARS]


class Recorder:
    """Writes a session's traffic and audit records to an MCAP file on its own thread.

    Every tap method (:meth:`igtl_received`, :meth:`igtl_sent`, :meth:`serial_received`,
    :meth:`serial_sent`, :meth:`audit_record`) is safe from any thread, never blocks on I/O and
    never raises: it queues the item or counts it as dropped. Callers must not change a byte
    buffer or record after handing it over.

    Args:
        path: the MCAP file (created or replaced).
        capacity: queue length; past it, items are dropped and counted.
        wall_ns: wall clock (ns since the Unix epoch) for MCAP log times.
        mono_s: monotonic clock (s), written in the decoded messages.
    """

    def __init__(
        self,
        path: Path,
        *,
        capacity: int = 10_000,
        wall_ns: Callable[[], int] = time.time_ns,
        mono_s: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"recorder capacity must be >= 1, got {capacity}")
        self._path = path
        self._wall_ns = wall_ns
        self._mono_s = mono_s
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=capacity)
        self._drop_lock = threading.Lock()
        self._dropped = dict.fromkeys(SOURCES, 0)
        self._written = dict.fromkeys(TOPICS, 0)
        self._write_error: str | None = None
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._file: IO[bytes] | None = None
        self._writer: Writer | None = None
        self._channels: dict[str, int] = {}
        self._serial_buffers = {_Kind.SERIAL_RX: bytearray(), _Kind.SERIAL_TX: bytearray()}
        self._last_reported_drops = 0
        self._last_report_s = 0.0
        self._final: RecorderStats | None = None

    @property
    def path(self) -> Path:
        """The MCAP file."""
        return self._path

    def start(self) -> None:
        """Create the file, write the header, schemas and channels, start the writer thread.

        Raises:
            OSError: the file cannot be created.
            RuntimeError: started twice.
        """
        if self._thread is not None or self._final is not None:
            raise RuntimeError("Recorder.start() called twice")
        self._file = self._path.open("wb")
        writer = Writer(self._file, chunk_size=_CHUNK_BYTES, compression=CompressionType.ZSTD)
        writer.start(profile=_PROFILE, library="mrbot")
        schema_ids = {
            name: writer.register_schema(name=name, encoding="jsonschema", data=data)
            for name, data in SCHEMAS.items()
        }
        for topic, (encoding, schema) in TOPICS.items():
            self._channels[topic] = writer.register_channel(
                topic=topic, message_encoding=encoding, schema_id=schema_ids.get(schema, 0)
            )
        self._writer = writer
        self._thread = threading.Thread(target=self._run, name="mcap-recorder", daemon=True)
        self._thread.start()

    # --- taps: any thread, never block, never raise ---------------------------------------------

    def igtl_received(self, connection_id: int, peer: tuple[str, int], data: bytes) -> None:
        """One OpenIGTLink message as received (header + body)."""
        self._put(_Kind.IGTL_IN, (connection_id, f"{peer[0]}:{peer[1]}", data))

    def igtl_sent(self, connection_id: int, peer: tuple[str, int], data: bytes) -> None:
        """One OpenIGTLink message as sent (header + body)."""
        self._put(_Kind.IGTL_OUT, (connection_id, f"{peer[0]}:{peer[1]}", data))

    def serial_received(self, data: bytes) -> None:
        """Bytes read from the controller link (any split; frames are found by the recorder)."""
        self._put(_Kind.SERIAL_RX, data)

    def serial_sent(self, data: bytes) -> None:
        """Bytes written to the controller link."""
        self._put(_Kind.SERIAL_TX, data)

    def audit_record(self, record: AuditRecord) -> None:
        """One audit record as written (an observer of :class:`safety.JsonlAuditLog`)."""
        self._put(_Kind.AUDIT, record)

    def _put(self, kind: _Kind, data: object) -> None:
        if self._closing.is_set() or self._thread is None or self._write_error is not None:
            self._drop(kind)
            return
        try:
            self._queue.put_nowait((kind, self._wall_ns(), self._mono_s(), data))
        except queue.Full:
            self._drop(kind)

    def _drop(self, kind: _Kind) -> None:
        with self._drop_lock:
            self._dropped[kind.value] += 1

    # --- state ----------------------------------------------------------------------------------

    def stats(self) -> RecorderStats:
        """Counters so far (final after :meth:`close`)."""
        if self._final is not None:
            return self._final
        with self._drop_lock:
            dropped = dict(self._dropped)
        return RecorderStats(
            written=dict(self._written), dropped=dropped, write_error=self._write_error
        )

    def close(self) -> RecorderStats:
        """Write what is queued, the final stats and the summary; close the file. Idempotent.

        Items handed over after this are dropped (and counted).
        """
        if self._final is not None:
            return self._final
        self._closing.set()
        thread = self._thread
        if thread is not None:
            thread.join(_JOIN_TIMEOUT_S)
            if thread.is_alive():  # pragma: no cover - a writer stuck in I/O
                logger.error("recording %s: writer thread did not finish", self._path)
        final = self.stats()
        self._final = final
        if final.dropped_total or final.write_error:
            logger.warning(
                "recording %s: %d messages written, %d items dropped %s%s",
                self._path,
                final.written_total,
                final.dropped_total,
                {k: v for k, v in final.dropped.items() if v},
                f"; write error: {final.write_error}" if final.write_error else "",
            )
        else:
            logger.info("recording %s: %d messages, none dropped", self._path, final.written_total)
        return final

    # --- the writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                try:
                    item = self._queue.get(timeout=_IDLE_WAIT_S)
                except queue.Empty:
                    if self._closing.is_set():
                        break
                    self._maybe_report()
                    continue
                if self._write_error is not None:
                    self._drop(item[0])
                    continue
                try:
                    self._write_item(item)
                except Exception:  # one item the summaries cannot handle: count it, go on
                    logger.exception("recording %s: cannot record a %s item", self._path, item[0])
                    self._drop(item[0])
                self._maybe_report()
            self._finish()
        except Exception:  # top of the thread: report, never die silently
            logger.exception("recording %s: writer thread failed", self._path)
            self._write_error = self._write_error or "writer thread failed (see log)"
            self._drain_as_dropped()
            self._close_file()

    def _drain_as_dropped(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            self._drop(item[0])

    def _add(self, topic: str, log_ns: int, data: bytes) -> None:
        writer = self._writer
        if writer is None or self._write_error is not None:
            return
        try:
            writer.add_message(
                channel_id=self._channels[topic],
                log_time=log_ns,
                data=data,
                publish_time=log_ns,
                sequence=self._written[topic] + 1,
            )
        except (OSError, ValueError) as err:
            self._write_error = str(err)
            logger.error("recording %s: write failed, recording stops: %s", self._path, err)  # noqa: TRY400 - message suffices
            return
        self._written[topic] += 1

    def _add_json(self, topic: str, log_ns: int, value: Mapping[str, object]) -> None:
        self._add(topic, log_ns, json.dumps(value, separators=(",", ":"), default=repr).encode())

    def _write_item(self, item: _Item) -> None:
        kind, log_ns, mono_s, data = item
        if kind is _Kind.AUDIT:
            record = cast("AuditRecord", data)
            self._add_json("/safety/audit", log_ns, dataclasses.asdict(record))
        elif kind in (_Kind.IGTL_IN, _Kind.IGTL_OUT):
            connection_id, peer, raw = cast("tuple[int, str, bytes]", data)
            direction = "in" if kind is _Kind.IGTL_IN else "out"
            self._add(f"/igtl/{direction}", log_ns, raw)
            summary = _igtl_summary(raw, direction, connection_id, peer, mono_s)
            self._add_json(f"/igtl/{direction}/summary", log_ns, summary)
        else:
            assert isinstance(data, bytes | bytearray)  # noqa: S101 - the serial taps hand bytes
            self._write_serial(kind, log_ns, mono_s, bytes(data))

    def _write_serial(self, kind: _Kind, log_ns: int, mono_s: float, data: bytes) -> None:
        direction = "rx" if kind is _Kind.SERIAL_RX else "tx"
        buffer = self._serial_buffers[kind]
        buffer += data
        while True:
            end = buffer.find(0)
            if end < 0:
                if len(buffer) >= MAX_WIRE_BYTES:  # no delimiter in a frame's length: not a frame
                    piece = bytes(buffer)
                    buffer.clear()
                    self._add(f"/serial/{direction}", log_ns, piece)
                    self._add_json(
                        f"/serial/{direction}/decoded",
                        log_ns,
                        _frame_fault(direction, mono_s, piece, "no 0x00 delimiter within a frame"),
                    )
                return
            piece = bytes(buffer[:end])
            del buffer[: end + 1]
            if not piece:
                continue
            self._add(f"/serial/{direction}", log_ns, piece)
            self._add_json(f"/serial/{direction}/decoded", log_ns, _frame(direction, mono_s, piece))

    def _stats_message(self, *, final: bool) -> dict[str, object]:
        stats = self.stats()
        return {
            "mono_s": self._mono_s(),
            "final": final,
            "written": dict(stats.written),
            "dropped": dict(stats.dropped),
            "dropped_total": stats.dropped_total,
            "write_error": stats.write_error,
        }

    def _maybe_report(self) -> None:
        with self._drop_lock:
            drops = sum(self._dropped.values())
        now = self._mono_s()
        if drops != self._last_reported_drops and now - self._last_report_s >= _STATS_PERIOD_S:
            self._last_reported_drops = drops
            self._last_report_s = now
            self._add_json("/recorder/stats", self._wall_ns(), self._stats_message(final=False))

    def _finish(self) -> None:
        writer = self._writer
        if writer is not None and self._write_error is None:
            message = self._stats_message(final=True)
            self._add_json("/recorder/stats", self._wall_ns(), message)
            try:
                writer.add_metadata(
                    name="mrbot.recorder",
                    data={
                        "written_total": str(sum(self._written.values())),
                        "dropped": json.dumps(message["dropped"], sort_keys=True),
                        "dropped_total": str(message["dropped_total"]),
                    },
                )
                writer.finish()  # type: ignore[no-untyped-call]  # untyped in mcap 1.6
            except (OSError, ValueError) as err:
                self._write_error = str(err)
                logger.error("recording %s: cannot finish the file: %s", self._path, err)  # noqa: TRY400 - message suffices
        self._close_file()

    def _close_file(self) -> None:
        file, self._file = self._file, None
        self._writer = None
        if file is not None:
            try:
                file.close()
            except OSError as err:
                self._write_error = self._write_error or str(err)
                logger.error("recording %s: close failed: %s", self._path, err)  # noqa: TRY400 - message suffices


def _igtl_summary(
    raw: bytes, direction: str, connection_id: int, peer: str, mono_s: float
) -> dict[str, object]:
    summary: dict[str, object] = {
        "direction": direction,
        "connection_id": connection_id,
        "peer": peer,
        "mono_s": mono_s,
        "bytes": len(raw),
        "header_version": None,
        "type": None,
        "device_name": None,
        "timestamp_s": None,
        "body_size": None,
        "complete": False,
        "error": None,
    }
    if len(raw) < HEADER_SIZE:
        summary["error"] = f"{len(raw)} B: shorter than the {HEADER_SIZE}-byte header"
        return summary
    try:
        header = unpack_header(raw[:HEADER_SIZE])
    except (IgtlDecodeError, ValueError) as err:
        summary["error"] = str(err)
        return summary
    summary.update(
        header_version=header.version,
        type=header.message_type,
        device_name=header.device_name_raw.decode("ascii", errors="backslashreplace"),
        timestamp_s=(header.timestamp >> 32) + (header.timestamp & 0xFFFFFFFF) / 2**32,
        body_size=header.body_size,
        complete=len(raw) == HEADER_SIZE + header.body_size,
    )
    return summary


def _frame_fault(direction: str, mono_s: float, piece: bytes, error: str) -> dict[str, object]:
    return {
        "direction": direction,
        "mono_s": mono_s,
        "wire_bytes": len(piece),
        "seq": None,
        "type": None,
        "fields": None,
        "error": error,
    }


def _frame(direction: str, mono_s: float, piece: bytes) -> dict[str, object]:
    try:
        frame = decode_frame(piece)
    except FrameDecodeError as err:
        fault = _frame_fault(direction, mono_s, piece, f"{err.kind.name}: {err}")
        fault["seq"] = err.seq
        return fault
    message = frame.message
    fields = _jsonable(message)
    return {
        "direction": direction,
        "mono_s": mono_s,
        "wire_bytes": len(piece),
        "seq": frame.seq,
        "type": type(message).__name__,
        "fields": fields if isinstance(fields, dict) else {"value": fields},
        "error": None,
    }
