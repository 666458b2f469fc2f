"""One serial link: sequence numbers, ACK/NACK matching, retries, counters, flight recorder.

The link owns the transport and its reader thread. Requests are serialised (one in flight);
urgent frames (stop, e-stop) bypass the request lock and take the write lock for one write only.
The reader never dies on a bad frame: decode faults are counted and recorded; a transport error
ends the link and becomes one ``TRANSPORT_LOST`` fault.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Final

from firmware_interfaces import (
    Ack,
    ClearFault,
    Disable,
    Enable,
    Fault,
    Frame,
    FrameDecoder,
    FrameFault,
    GetParam,
    Hello,
    Ident,
    Move,
    Nack,
    ParamValue,
    SetParam,
    Stop,
    Telemetry,
    encode_frame,
)
from hal.errors import (
    HalError,
    LinkDownError,
    NackError,
    RequestAbortedError,
    RequestTimeoutError,
    TransportError,
)
from hal.events import Direction, FaultEvent, HalFaultKind, LinkCounters, TelemetrySample
from hal.health import BadFrameRate
from hal.recorder import FlightRecorder

if TYPE_CHECKING:
    from collections.abc import Callable

    from firmware_interfaces import Message
    from hal.clock import Clock
    from hal.transport import Transport, TransportOpener

__all__ = ["IDEMPOTENT", "Link"]

logger = logging.getLogger(__name__)

_SEQ_MODULO: Final = 1 << 16
_JOIN_TIMEOUT_S: Final = 2.0
_FRAME_TRAFFIC: Final = 5  # log level for frame traffic (docs/CONVENTIONS.md section 5)

IDEMPOTENT: Final[frozenset[type]] = frozenset(
    {Hello, Move, Stop, GetParam, SetParam, Enable, Disable, ClearFault}
)
"""Requests that may be repeated without harm (absolute moves carry an id); only these retry."""


class _Pending:
    """The one request in flight: what answers it, and the answer."""

    def __init__(self, seq: int, message: Message) -> None:
        self.seq = seq
        self.message = message
        self.done = threading.Event()
        self.reply: Message | None = None
        self.error: HalError | None = None

    def matches(self, reply: Message) -> bool:
        if isinstance(reply, Ack):
            return reply.ack_seq == self.seq
        if isinstance(reply, Nack):
            return reply.nack_seq == self.seq
        if isinstance(reply, Ident):
            return isinstance(self.message, Hello) and reply.nonce == self.message.nonce
        if isinstance(reply, ParamValue):
            request = self.message
            return (
                isinstance(request, GetParam)
                and reply.param == request.param
                and reply.axis == request.axis
            )
        return False


class Link:
    """Framed, sequenced request/reply over one transport.

    Args:
        opener: opens the transport (called by :meth:`open`).
        clock: timestamps (telemetry receipt, recorder, faults).
        on_fault: called (from the reader thread) for every fault event; must not block long.
        on_telemetry: called (from the reader thread) with each telemetry sample.
        recorder_s: flight recorder window (s).
        axis_names: axis names in wire order (to name the axis of a firmware FAULT).
    """

    def __init__(
        self,
        opener: TransportOpener,
        clock: Clock,
        *,
        on_fault: Callable[[FaultEvent], None],
        on_telemetry: Callable[[TelemetrySample], None] | None = None,
        recorder_s: float = 2.0,
        axis_names: tuple[str, ...] = (),
    ) -> None:
        self._axis_names = axis_names
        self._opener = opener
        self._clock = clock
        self._on_fault = on_fault
        self._on_telemetry = on_telemetry
        self.recorder = FlightRecorder(window_s=recorder_s)
        self._write_lock = threading.Lock()  # guards _transport writes, _tx_seq, _first_frame
        self._request_lock = threading.Lock()  # one request in flight
        self._state_lock = threading.Lock()  # guards _pending, _latest, counters below
        self._transport: Transport | None = None
        self._reader: threading.Thread | None = None
        self._stop = threading.Event()  # the current session's; each session gets its own
        self._down = threading.Event()
        self._tx_seq = 0
        self._first_frame = True
        self._pending: _Pending | None = None
        self._latest: TelemetrySample | None = None
        self._last_rx_seq: int | None = None
        self._c: dict[str, int] = dict.fromkeys(
            (
                "frames_tx",
                "frames_rx",
                "seq_gaps",
                "duplicates",
                "ack_timeouts",
                "retries",
                "telemetry_rx",
                "firmware_faults",
                "stops_sent",
                "estops_sent",
                "heartbeats_sent",
                "transport_errors",
            ),
            0,
        )
        self._frame_faults: dict[str, int] = {}
        self._nacks: dict[str, int] = {}
        self._bad_rate = BadFrameRate()

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def is_up(self) -> bool:
        """Open and not lost."""
        return self._transport is not None and not self._down.is_set()

    def open(self) -> None:
        """Open the transport and start the reader thread.

        Raises:
            TransportError: the transport cannot be opened.
        """
        if self._transport is not None:
            return
        transport = self._opener()
        # Each session has its own stop event and decoder, handed to its reader as locals: a
        # reader of an earlier session that outlived close()'s join stops on its own event and
        # never feeds the new session's decoder.
        stop = threading.Event()
        self._bad_rate = BadFrameRate()
        self._stop = stop
        self._down.clear()
        self._first_frame = True
        self._last_rx_seq = None
        with self._state_lock:
            self._latest = None
        self._transport = transport
        self._reader = threading.Thread(
            target=self._read_loop,
            args=(transport, FrameDecoder(), stop),
            name=f"hal-reader {transport.url}",
            daemon=True,
        )
        self._reader.start()

    def close(self) -> None:
        """Stop the reader and close the transport; idempotent, never raises."""
        transport, self._transport = self._transport, None
        reader, self._reader = self._reader, None
        self._stop.set()
        if transport is not None:
            transport.close()
        if reader is not None and reader is not threading.current_thread():
            reader.join(_JOIN_TIMEOUT_S)
            if reader.is_alive():
                logger.error("reader thread did not stop within %.1f s", _JOIN_TIMEOUT_S)
        self._fail_pending(LinkDownError("link closed"))

    # --- writing ------------------------------------------------------------------------------

    def _write(
        self,
        message: Message,
        *,
        seq: int | None = None,
        abort: Callable[[], bool] | None = None,
    ) -> int:
        """Encode and write one frame under the write lock; returns its seq.

        ``abort`` is asked under the write lock, right before the write: a stop whose frame is
        written after that check goes out after this frame, so the firmware executes it later.

        Raises:
            LinkDownError: the link is not open.
            RequestAbortedError: ``abort()`` returned true; nothing was written.
            TransportError: the write failed.
        """
        with self._write_lock:
            transport = self._transport
            if transport is None or self._down.is_set():
                raise LinkDownError("link is down; reconnect first")
            if abort is not None and abort():
                raise RequestAbortedError(
                    f"{type(message).__name__} withdrawn before it was (re)sent: a stop was issued"
                )
            if seq is None:
                seq = self._tx_seq
                self._tx_seq = (self._tx_seq + 1) % _SEQ_MODULO
            wire = encode_frame(message, seq, leading_delimiter=self._first_frame)
            try:
                transport.write(wire)
            except TransportError:
                self._count("transport_errors")
                raise
            self._first_frame = False
        self._count("frames_tx")
        self.recorder.record(
            at_s=self._clock.now_s(), direction=Direction.TX, seq=seq, summary=repr(message)
        )
        logger.log(_FRAME_TRAFFIC, "tx seq %d %r", seq, message)
        return seq

    def _allocate_seq(self) -> int:
        with self._write_lock:
            seq = self._tx_seq
            self._tx_seq = (self._tx_seq + 1) % _SEQ_MODULO
            return seq

    def reserve_seq(self) -> int:
        """Take the next seq for a frame written later with ``send_urgent(..., seq=...)``.

        Lets the caller note the seq before the frame goes out, so that a fast reply always
        finds it. Never raises.
        """
        return self._allocate_seq()

    def send(self, message: Message) -> int:
        """Send a frame that expects no reply (heartbeat); returns its seq.

        Raises:
            LinkDownError: the link is not open.
            TransportError: the write failed.
        """
        return self._write(message)

    def send_urgent(
        self,
        message: Message,
        *,
        seq: int | None = None,
        unless: Callable[[], bool] | None = None,
    ) -> bool:
        """Write a stop-type frame now, ahead of any request; never raises. True if written.

        Args:
            message: the frame (stop, e-stop).
            seq: a seq taken with :meth:`reserve_seq`; default the next one.
            unless: asked under the write lock right before the write; true: nothing is
                written (a repeat of a stop that was acknowledged meanwhile).
        """
        try:
            self._write(message, seq=seq, abort=unless)
        except RequestAbortedError:
            logger.debug("%s not repeated: no longer pending", type(message).__name__)
            return False
        except (HalError, ValueError, TypeError) as err:  # nothing may escape a stop path
            logger.error("could not send %s: %s", type(message).__name__, err)  # noqa: TRY400
            return False
        return True

    def request(
        self,
        message: Message,
        *,
        timeout_s: float,
        retries: int,
        abort: Callable[[], bool] | None = None,
    ) -> Message:
        """Send ``message`` and wait for its reply (ACK, IDENT or PARAM_VALUE).

        Retries (same seq, so the firmware replays its cached reply) only for idempotent
        messages; ``retries`` is forced to 0 for the others.

        Args:
            message: the request.
            timeout_s: time-out per attempt (s).
            retries: extra attempts after a time-out.
            abort: asked under the write lock before the first write and before every retry;
                if it returns true the frame is not (re)sent and the request fails (a motion
                request passes "a stop was issued since the caller decided to move").

        Raises:
            NackError: the firmware refused it (reason attached).
            RequestTimeoutError: no reply after ``1 + retries`` attempts of ``timeout_s``.
            RequestAbortedError: ``abort()`` became true before a write.
            LinkDownError: the link is down or went down meanwhile.
            TransportError: the write failed.
        """
        if type(message) not in IDEMPOTENT:
            retries = 0
        timed_out: RequestTimeoutError | None = None
        with self._request_lock:
            # Take the seq before writing so a fast reply always finds its request; an urgent
            # frame written in between goes out with a later seq (counted as a gap, harmless).
            seq = self._allocate_seq()
            pending = _Pending(seq, message)
            with self._state_lock:
                self._pending = pending
            try:
                self._write(message, seq=seq, abort=abort)
                attempts = 1
                while not pending.done.wait(timeout_s):
                    self._count("ack_timeouts")
                    if attempts > retries:
                        timed_out = RequestTimeoutError(
                            command=type(message).__name__,
                            seq=seq,
                            timeout_s=timeout_s,
                            attempts=attempts,
                        )
                        break
                    attempts += 1
                    self._count("retries")
                    logger.warning(
                        "no reply to %s seq %d; retry %d", type(message).__name__, seq, attempts - 1
                    )
                    self._write(message, seq=seq, abort=abort)
            finally:
                with self._state_lock:
                    self._pending = None
        if timed_out is not None:
            # Reported after the request lock is released: a fault callback may send requests.
            self._emit(HalFaultKind.REQUEST_TIMEOUT, str(timed_out))
            raise timed_out
        if pending.error is not None:
            raise pending.error
        reply = pending.reply
        if isinstance(reply, Nack):
            raise NackError(command=type(message).__name__, seq=seq, reason=reply.reason.name)
        if reply is None:  # pragma: no cover - done is only set with a reply or an error
            raise LinkDownError("request finished without a reply")
        return reply

    # --- reading ------------------------------------------------------------------------------

    def _read_loop(
        self, transport: Transport, decoder: FrameDecoder, stop: threading.Event
    ) -> None:
        try:
            while not stop.is_set():
                try:
                    data = transport.read()
                except TransportError as err:
                    if not stop.is_set():
                        self._lost(f"transport lost: {err}")
                    return
                if data:
                    for item in decoder.feed(data):
                        if stop.is_set():
                            return
                        self._on_item(item)
        except Exception as err:  # thread top: report to the owner, never die silently
            logger.exception("reader thread died")
            if not stop.is_set():  # a reader of a closed session must not fault the next one
                self._lost(f"reader thread died: {err!r}", kind=HalFaultKind.READER_DIED)

    def _lost(self, detail: str, *, kind: HalFaultKind = HalFaultKind.TRANSPORT_LOST) -> None:
        self._down.set()
        self._count("transport_errors")
        self._fail_pending(LinkDownError(detail))
        self._emit(kind, detail)

    def _fail_pending(self, error: HalError) -> None:
        with self._state_lock:
            pending = self._pending
        if pending is not None and not pending.done.is_set():
            pending.error = error
            pending.done.set()

    def _on_item(self, item: Frame | FrameFault) -> None:
        now_s = self._clock.now_s()
        if isinstance(item, FrameFault):
            name = item.kind.value
            with self._state_lock:
                self._frame_faults[name] = self._frame_faults.get(name, 0) + 1
            self.recorder.record(
                at_s=now_s, direction=Direction.RX, seq=-1, summary=f"{name}: {item.detail}"
            )
            logger.warning("dropped a received frame: %s (%s)", name, item.detail)
            if self._bad_rate.add(now_s, bad=True):
                self._emit(
                    HalFaultKind.FRAME_ERRORS,
                    f"{self._bad_rate.fraction:.0%} of received frames bad within 1 s "
                    f"(limit 5 %); last: {name} ({item.detail})",
                )
            return
        self._bad_rate.add(now_s, bad=False)
        self._count("frames_rx")
        self._track_seq(item.seq)
        message = item.message
        if isinstance(message, Telemetry):
            sample = TelemetrySample(received_at_s=now_s, telemetry=message)
            self.recorder.record(
                at_s=now_s,
                direction=Direction.RX,
                seq=item.seq,
                summary=(
                    f"Telemetry t={message.firmware_time_us} us {message.firmware_state.name} "
                    f"cmd={[a.commanded_um for a in message.axes]} "
                    f"enc={[a.encoder_um for a in message.axes]}"
                ),
            )
            with self._state_lock:
                self._latest = sample
                self._c["telemetry_rx"] += 1
            if self._on_telemetry is not None:
                self._on_telemetry(sample)
            return
        self.recorder.record(
            at_s=now_s, direction=Direction.RX, seq=item.seq, summary=repr(message)
        )
        logger.log(_FRAME_TRAFFIC, "rx seq %d %r", item.seq, message)
        if isinstance(message, Fault):
            self._count("firmware_faults")
            index = message.axis
            axis = self._axis_names[index] if index < len(self._axis_names) else None
            self._emit(
                HalFaultKind.FIRMWARE_FAULT,
                f"firmware fault {message.code.name} on axis {axis or '-'} "
                f"(detail {message.detail})",
                axis=axis,
                code=message.code.name,
            )
            return
        if isinstance(message, Nack):
            with self._state_lock:
                name = message.reason.name
                self._nacks[name] = self._nacks.get(name, 0) + 1
        with self._state_lock:
            pending = self._pending
        if pending is not None and not pending.done.is_set() and pending.matches(message):
            pending.reply = message
            pending.done.set()
        elif isinstance(message, Ack | Nack):
            logger.debug("unmatched reply %r (late or to an urgent frame)", message)
        self._on_unsolicited(message)

    def _on_unsolicited(self, message: Message) -> None:
        """Hook for replies the driver watches (ACKs of urgent stops)."""
        if self._reply_hook is not None:
            self._reply_hook(message)

    _reply_hook: Callable[[Message], None] | None = None

    def set_reply_hook(self, hook: Callable[[Message], None] | None) -> None:
        """Called (reader thread) with every ACK/NACK/other reply, matched or not."""
        self._reply_hook = hook

    @property
    def reply_hook(self) -> Callable[[Message], None] | None:
        """The hook set by :meth:`set_reply_hook` (the driver's: it clears acknowledged stops)."""
        return self._reply_hook

    def _track_seq(self, seq: int) -> None:
        with self._state_lock:
            last = self._last_rx_seq
            self._last_rx_seq = seq
            if last is None:
                return
            if seq == last:
                self._c["duplicates"] += 1
            elif seq != (last + 1) % _SEQ_MODULO:
                self._c["seq_gaps"] += 1

    # --- state --------------------------------------------------------------------------------

    def _count(self, name: str) -> None:
        with self._state_lock:
            self._c[name] += 1

    def count(self, name: str) -> None:
        """Increment a named counter (``stops_sent``, ``estops_sent``, ``heartbeats_sent``)."""
        self._count(name)

    def _emit(
        self, kind: HalFaultKind, detail: str, *, axis: str | None = None, code: str | None = None
    ) -> None:
        event = FaultEvent(
            kind=kind,
            at_s=self._clock.now_s(),
            detail=detail,
            axis=axis,
            code=code,
            recent_frames=self.recorder.snapshot(),
        )
        self._on_fault(event)

    def emit(self, kind: HalFaultKind, detail: str, *, axis: str | None = None) -> None:
        """Report a fault found by the driver, with the flight recorder attached."""
        self._emit(kind, detail, axis=axis)

    @property
    def telemetry_received(self) -> int:
        """How many telemetry frames were taken since the link was created (never decreases)."""
        with self._state_lock:
            return self._c["telemetry_rx"]

    @property
    def latest(self) -> TelemetrySample | None:
        """The latest telemetry, or ``None`` before the first one."""
        with self._state_lock:
            return self._latest

    def counters(self, *, refused_motions: int = 0) -> LinkCounters:
        """A snapshot of the health counters."""
        with self._state_lock:
            c = dict(self._c)
            faults = dict(self._frame_faults)
            nacks = dict(self._nacks)
        return LinkCounters(frame_faults=faults, nacks=nacks, refused_motions=refused_motions, **c)
