"""Step (1) of the BRP handshake: ACK every request at once on the reader thread, then post it.

``STRING(CMD_<id>, text)`` is answered ``STRING(ACK_<id>, text)`` (the request's content bytes
echoed), ``TRANSFORM(CLB_|TGT_|NPOS_<id>)`` with ``TRANSFORM(ACK_<id>)`` carrying the same 48
content bytes (bit-exact, no float round trip). Then an event goes to the workphase layer's queue;
every other message is posted as :class:`MessageReceived`. A pose whose ``<id>`` is invalid
cannot be ACKed: it gets ``STATUS(ACK_<name>, 12)`` naming why, and is posted as a message. An
ACK echoes its request, timestamp included. Unknown phase text is ACKed and posted with
``phase=None`` (the workphase layer answers STATUS 12). OPENIGTLINK.md sections 4.3 and 4.4.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import TYPE_CHECKING, Final

from robot.igtl.codec import encode_content
from robot.igtl.errors import IgtlSendError
from robot.igtl.events import (
    CommandReceived,
    IgtlEvent,
    MessageReceived,
    PeerConnected,
    PeerDisconnected,
    PoseKind,
    PoseReceived,
    Workphase,
)
from robot.igtl.messages import (
    IgtlMessage,
    RawBody,
    StatusBody,
    StatusCode,
    StringBody,
    TransformBody,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from robot.igtl.authority import Authority
    from robot.igtl.handler import Connection

__all__ = ["MAX_COMMAND_ID_LENGTH", "AckHandler", "parse_command_id"]

logger = logging.getLogger(__name__)
MAX_COMMAND_ID_LENGTH: Final = 16
_SUB_BAD_VALUE: Final = 11  # BRP sub-code BAD_VALUE (as safety.SubCode numbers it)
_POSE_PREFIXES: Final = {f"{kind.value}_": kind for kind in PoseKind}
_PHASES: Final = {phase.value: phase for phase in Workphase}


def parse_command_id(device_name: str, prefix: str) -> str | None:
    """The ``<id>`` of ``<prefix><id>``: 1 to 16 printable ASCII characters, else None."""
    if not device_name.startswith(prefix):
        return None
    command_id = device_name[len(prefix) :]
    if not 1 <= len(command_id) <= MAX_COMMAND_ID_LENGTH:
        return None
    if not command_id.isascii() or not command_id.isprintable():
        return None
    return command_id


class AckHandler:
    """A :class:`MessageHandler` that ACKs workphase requests and posts events to ``events``.

    Args:
        events: the workphase layer's queue. If it is bounded and full, the connection whose
            event cannot be posted is closed (its console sees the loss at once).
        authority: claimed by the first connection sending a known workphase command; released
            when that connection disconnects.
        emergency_stop: called on the reader thread for ``CMD_<id>`` EMERGENCY before the ACK
            (the HAL's idempotent ``estop()``); it must not block or raise.
        now: monotonic seconds, stamped on events.
    """

    def __init__(
        self,
        events: queue.Queue[IgtlEvent],
        *,
        authority: Authority | None = None,
        emergency_stop: Callable[[], None] | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._events = events
        self._authority = authority
        self._emergency_stop = emergency_stop
        self._now = now
        self._lock = threading.Lock()  # guards _rejected
        self._rejected = 0

    @property
    def rejected(self) -> int:
        """Requests not ACKed because their ``<id>`` is invalid (empty, > 16 characters)."""
        with self._lock:
            return self._rejected

    def on_connect(self, conn: Connection) -> None:
        """Post :class:`PeerConnected`."""
        self._post(conn, PeerConnected(conn=conn, received_s=self._now()))

    def on_disconnect(self, conn: Connection, reason: str) -> None:
        """Release authority if this connection held it; post :class:`PeerDisconnected`."""
        had = self._authority is not None and self._authority.release(conn.id, reason)
        event = PeerDisconnected(
            conn=conn, reason=reason, had_authority=had, received_s=self._now()
        )
        self._post(conn, event)

    def on_message(self, conn: Connection, message: IgtlMessage) -> None:
        """ACK ``CMD_``/``CLB_``/``TGT_``/``NPOS_`` requests at once, then post the event."""
        received_s = self._now()
        name, body = message.device_name, message.body
        event: IgtlEvent
        if isinstance(body, StringBody) and name.startswith("CMD_"):
            command_id = self._valid_id(conn, name, "CMD_")
            if command_id is None:
                event = MessageReceived(conn=conn, message=message, received_s=received_s)
            else:
                event = self._command(conn, message, body, command_id, received_s)
        elif isinstance(body, TransformBody) and name[: name.find("_") + 1] in _POSE_PREFIXES:
            kind = _POSE_PREFIXES[name[: name.find("_") + 1]]
            command_id = self._valid_id(conn, name, f"{kind.value}_")
            if command_id is None:  # cannot be ACKed: say why, never silence
                self._refuse_id(conn, name, "TRANSFORM")
                event = MessageReceived(conn=conn, message=message, received_s=received_s)
            else:
                self._ack(conn, command_id, "TRANSFORM", message)
                has = self._authority is None or self._authority.holds(conn.id)
                event = PoseReceived(
                    conn=conn,
                    kind=kind,
                    command_id=command_id,
                    has_authority=has,
                    message=message,
                    received_s=received_s,
                )
        else:
            event = MessageReceived(conn=conn, message=message, received_s=received_s)
        self._post(conn, event)

    def _command(
        self,
        conn: Connection,
        message: IgtlMessage,
        body: StringBody,
        command_id: str,
        received_s: float,
    ) -> CommandReceived:
        phase = _PHASES.get(body.text)
        if phase is Workphase.EMERGENCY and self._emergency_stop is not None:
            try:
                self._emergency_stop()
            except Exception:  # stop never raises; if it does, ACK and post anyway
                logger.exception("conn %d: emergency_stop() raised", conn.id)
        # Claimed before the ACK goes out: a console that has its ACK holds the authority it
        # claimed, whatever another reader thread does next.
        if self._authority is None:
            has = True
        elif phase is None:
            has = self._authority.holds(conn.id)
        else:
            has = self._authority.claim(conn.id)
        self._ack(conn, command_id, "STRING", message)
        return CommandReceived(
            conn=conn,
            command_id=command_id,
            text=body.text,
            phase=phase,
            has_authority=has,
            message=message,
            received_s=received_s,
        )

    def _valid_id(self, conn: Connection, name: str, prefix: str) -> str | None:
        command_id = parse_command_id(name, prefix)
        if command_id is None:
            with self._lock:
                self._rejected += 1
            logger.warning(
                "conn %d: %r has no valid <id> (1..%d printable ASCII); not ACKed",
                conn.id,
                name,
                MAX_COMMAND_ID_LENGTH,
            )
        return command_id

    def _refuse_id(self, conn: Connection, name: str, type_name: str) -> None:
        refusal = IgtlMessage(
            device_name=f"ACK_{name[:MAX_COMMAND_ID_LENGTH]}",
            body=StatusBody(
                code=int(StatusCode.UNKNOWN_INSTRUCTION),
                subcode=_SUB_BAD_VALUE,
                error_name="BAD_VALUE",
                message=f"{type_name} {name!r} has no valid <id> (1..{MAX_COMMAND_ID_LENGTH} "
                "printable ASCII); not ACKed",
            ),
        )
        try:
            conn.send(refusal)
        except IgtlSendError as err:
            logger.info("conn %d: %s not sent: %s", conn.id, refusal.device_name, err)

    def _ack(self, conn: Connection, command_id: str, type_name: str, request: IgtlMessage) -> None:
        ack = IgtlMessage(
            device_name=f"ACK_{command_id}",
            body=RawBody(
                type_name=type_name, content=request.content or encode_content(request.body)
            ),
            timestamp=request.timestamp,
        )
        try:
            conn.send(ack)
        except IgtlSendError as err:  # the peer is gone; the request is still posted
            logger.info("conn %d: ACK_%s not sent: %s", conn.id, command_id, err)

    def _post(self, conn: Connection, event: IgtlEvent) -> None:
        try:
            self._events.put_nowait(event)
        except queue.Full:
            logger.error(  # noqa: TRY400 - no traceback wanted, the queue is simply full
                "conn %d: workphase queue full (%d events), closing", conn.id, self._events.qsize()
            )
            conn.close("workphase event queue full")
