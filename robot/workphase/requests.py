"""Requests besides workphase commands (OPENIGTLINK.md 4.6 and 5).

Status and position queries, NEEDLE_LENGTH, RETRACT_NEEDLE and scanner strings, each one read of
the core or one core command; Z-frame images and AUTO_ALIGN go to :class:`ZFrameAlignment`.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Final

import numpy as np

from robot.igtl import ImageBody, QueryBody, StatusBody, StringBody
from robot.workphase import replies
from robot.workphase.replies import not_in_control
from safety import StatusCode, SubCode

if TYPE_CHECKING:
    from robot.igtl import Authority, Connection, MessageReceived
    from robot.runtime import RobotCore
    from robot.workphase.alignment import ZFrameAlignment
    from robot.workphase.replier import Replier

__all__ = ["StringRequests"]

logger = logging.getLogger(__name__)

_MAX_NEEDLE_MM: Final = 1000.0
_POSITION_TYPE: Final = "TRANSFOR"
#: Device-name prefixes of transforms the transport already answered (echo or refusal).
_ANSWERED_PREFIXES: Final = ("CLB_", "TGT_", "NPOS_")


class StringRequests:
    """STRING, QUERY (GET_/STT_/STP_) and other non-command messages.

    Args:
        core: the robot.
        replier: where the answers go (and the phase in effect, the position streams).
        authority: who holds command authority.
        alignment: Z-frame images and AUTO_ALIGN.
    """

    def __init__(
        self,
        core: RobotCore,
        *,
        replier: Replier,
        authority: Authority,
        alignment: ZFrameAlignment,
    ) -> None:
        self._core = core
        self._replier = replier
        self._authority = authority
        self._alignment = alignment

    # --- dispatch ------------------------------------------------------------------------------

    def message(self, event: MessageReceived) -> None:
        """Answer one non-command message."""
        conn, message = event.conn, event.message
        body, name = message.body, message.device_name
        if isinstance(body, QueryBody):
            self._query(conn, name, body)
        elif isinstance(body, StringBody):
            self._string(conn, name, body.text)
        elif isinstance(body, ImageBody) and name.startswith("ZFRAME"):
            self._alignment.submit(name, conn.id, body)
        elif isinstance(body, StatusBody) or name.startswith(_ANSWERED_PREFIXES):
            # a STATUS is a report (nothing to answer); CLB_/TGT_/NPOS_ were answered already
            logger.info("conn %d: %s %s logged", conn.id, message.message_type, name)
        else:
            logger.info("conn %d: %s %s is not supported", conn.id, message.message_type, name)
            what = f"{message.message_type} {name[:40]!r}"
            self._replier.send(conn, replies.not_supported(name, what))

    def _position_reply(self, conn: Connection) -> None:
        message = self._replier.position_message()
        if message is None:
            message = replies.transform("CURRENT_POSITION", np.eye(4))
            logger.warning("conn %d: CURRENT_POSITION asked before any telemetry", conn.id)
        self._replier.send(conn, message)

    def _query(self, conn: Connection, name: str, body: QueryBody) -> None:
        if body.verb == "GET" and body.data_type == "STATUS":
            self._replier.status_reply(conn)
        elif body.verb == "GET" and body.data_type == _POSITION_TYPE:
            self._position_reply(conn)
        elif body.data_type == _POSITION_TYPE and name in {"", "CURRENT_POSITION"}:
            if body.verb == "STT":
                self._replier.streaming.add(conn.id)
            else:
                self._replier.streaming.discard(conn.id)
            self._replier.send(conn, replies.rts(_POSITION_TYPE, 0, name))
        elif body.verb in {"STT", "STP"}:
            self._replier.send(conn, replies.rts(body.data_type, 1, name))
        else:
            logger.info("conn %d: GET_%s %r: nothing available", conn.id, body.data_type, name)
            from robot.igtl import IgtlMessage, RawBody  # noqa: PLC0415 - one use

            empty = RawBody(type_name=body.data_type, content=b"")
            self._replier.send(conn, IgtlMessage(device_name=name, body=empty))

    def _string(self, conn: Connection, name: str, text: str) -> None:
        if name == "CURRENT_STATUS":
            self._replier.status_reply(conn)
        elif name == "CURRENT_POSITION":
            self._position_reply(conn)
            if self._replier.profile.position_poll_flags:
                aligned = "1" if self._core.targets.has_target else "0"
                self._replier.send(conn, replies.string("IS_IN_TARGETING_POS", aligned))
                reached = "1" if self._core.targets.has_reached_target() else "0"
                self._replier.send(conn, replies.string("HAS_REACHED_TARGET", reached))
        elif name == "SCANNER":
            self._scanner(conn, text)
        elif name in {"NEEDLE_LENGTH", "RETRACT_NEEDLE", "AUTO_ALIGN"}:
            # RETRACT_NEEDLE takes control when nobody holds it, as a workphase command does:
            # getting the needle out must never wait for a console that has gone.
            allowed = (
                self._authority.claim(conn.id)
                if name == "RETRACT_NEEDLE"
                else self._authority.holds(conn.id)
            )
            if not allowed:
                self._replier.send(
                    conn,
                    replies.status(
                        f"ACK_{name}" if name == "RETRACT_NEEDLE" else name,
                        StatusCode.ACCESS_DENIED,
                        SubCode.NOT_IN_CONTROL,
                        not_in_control(conn.id, self._authority.holder),
                    ),
                )
            elif name == "NEEDLE_LENGTH":
                self._needle_length(conn, text)
            elif name == "RETRACT_NEEDLE":
                self._retract(conn)
            else:
                self._alignment.set_auto_align(conn, text)
        else:
            self._replier.send(conn, replies.not_supported(name, f"STRING {name!r}"))

    # --- strings -------------------------------------------------------------------------------

    def _needle_length(self, conn: Connection, text: str) -> None:
        try:
            length_mm = float(text)
        except ValueError:
            length_mm = math.nan
        if self._core.busy or not (math.isfinite(length_mm) and 0 < length_mm <= _MAX_NEEDLE_MM):
            why = (
                "the robot is moving"
                if self._core.busy
                else f"{text[:20]!r} is not in (0, 1000] mm"
            )
            self._replier.send(
                conn,
                replies.status(
                    "NEEDLE_LENGTH",
                    StatusCode.CONFIG_ERROR,
                    SubCode.BAD_VALUE,
                    f"NEEDLE_LENGTH refused: {why}",
                ),
            )
            return
        self._core.set_tool_length(length_mm)
        self._replier.send(conn, replies.string("ACK_NEEDLE_LENGTH", text))

    def _retract(self, conn: Connection) -> None:
        if self._core.busy:
            self._replier.send(
                conn,
                replies.status(
                    "ACK_RETRACT_NEEDLE", StatusCode.NOT_READY, SubCode.BUSY, "the robot is moving"
                ),
            )
            return
        refusal = self._core.retract_needle(f"conn{conn.id}")
        if refusal is None:
            self._replier.send(conn, replies.status("ACK_RETRACT_NEEDLE", StatusCode.OK))
        else:
            self._replier.send(
                conn,
                replies.status(
                    "ACK_RETRACT_NEEDLE", StatusCode.NOT_READY, refusal.sub_code, refusal.reason
                ),
            )

    def _scanner(self, conn: Connection, text: str) -> None:
        if text in {"START_SEQUENCE", "STOP_SEQUENCE"}:
            self._core.set_scanner_imaging(imaging=text == "START_SEQUENCE")
            logger.info("scanner: %s (imaging interlock %s)", text, text == "START_SEQUENCE")
            self._replier.send(conn, replies.status("SCANNER", StatusCode.OK))
        else:
            self._replier.send(
                conn,
                replies.status(
                    "SCANNER",
                    StatusCode.CONFIG_ERROR,
                    SubCode.BAD_VALUE,
                    f"SCANNER {text[:40]!r}: expected START_SEQUENCE or STOP_SEQUENCE",
                ),
            )
