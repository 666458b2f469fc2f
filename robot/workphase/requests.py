"""Requests besides workphase commands (OPENIGTLINK.md 4.6 and 5).

Status and position queries, NEEDLE_LENGTH, RETRACT_NEEDLE, scanner strings, Z-frame images and
automatic re-alignment.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Final

import numpy as np

from kinematics import invert, transform_points
from robot.igtl import ImageBody, QueryBody, StatusBody, StringBody, Workphase
from robot.workphase import replies
from robot.workphase.replies import not_in_control
from safety import StatusCode, SubCode

if TYPE_CHECKING:
    from kinematics import Transform
    from robot.igtl import Authority, Connection, IgtlMessage, MessageReceived
    from robot.runtime import RobotCore
    from robot.workphase.scanner import ZFrameResult, ZFrameWorker

__all__ = ["RequestsMixin"]

logger = logging.getLogger(__name__)

_MAX_NEEDLE_MM: Final = 1000.0
_POSITION_TYPE: Final = "TRANSFOR"
#: Device-name prefixes of transforms the transport already answered (echo or refusal).
_ANSWERED_PREFIXES: Final = ("CLB_", "TGT_", "NPOS_")


class RequestsMixin:
    """Non-command requests of :class:`~robot.workphase.protocol.WorkphaseProtocol`."""

    core: RobotCore
    phase: Workphase
    phase_status: dict[str, tuple[int, int, str]]
    streaming: set[int]
    auto_align: bool
    _align_pending: bool
    zframe_count: int
    last_zframe: Transform | None
    _worker: ZFrameWorker
    _authority: Authority

    def send(self, conn: Connection, message: IgtlMessage) -> None:
        """Provided by the protocol."""
        raise NotImplementedError

    def to_all(self, message: IgtlMessage, *, skip_paused: bool = False) -> None:
        """Provided by the protocol."""
        raise NotImplementedError

    def phase_result(
        self,
        name: str,
        code: int,
        sub_code: int = 0,
        message: str = "",
        conn: Connection | None = None,
    ) -> None:
        """Provided by the protocol."""
        raise NotImplementedError

    def position_message(self) -> IgtlMessage | None:
        """Provided by the protocol."""
        raise NotImplementedError

    def apply_calibration(self, matrix: Transform, calibration_id: str, source: str) -> bool:
        """Provided by the protocol."""
        raise NotImplementedError

    def accept_target(self, matrix: Transform, target_id: str, source: str) -> bool:
        """Provided by the protocol."""
        raise NotImplementedError

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
            self._worker.submit(name, conn.id, body)
        elif isinstance(body, StatusBody) or name.startswith(_ANSWERED_PREFIXES):
            # a STATUS is a report (nothing to answer); CLB_/TGT_/NPOS_ were answered already
            logger.info("conn %d: %s %s logged", conn.id, message.message_type, name)
        else:
            logger.info("conn %d: %s %s is not supported", conn.id, message.message_type, name)
            self.send(
                conn,
                replies.status(
                    f"ACK_{name[:16]}",
                    StatusCode.UNKNOWN_INSTRUCTION,
                    SubCode.UNKNOWN,
                    f"{message.message_type} {name[:40]!r} is not supported",
                ),
            )

    def _status_reply(self, conn: Connection) -> None:
        code, sub, text = self.phase_status.get(self.phase.value, (int(StatusCode.OK), 0, ""))
        self.send(conn, replies.status(self.phase.value, code, sub, text))

    def _position_reply(self, conn: Connection) -> None:
        message = self.position_message()
        if message is None:
            message = replies.transform("CURRENT_POSITION", np.eye(4))
            logger.warning("conn %d: CURRENT_POSITION asked before any telemetry", conn.id)
        self.send(conn, message)

    def _query(self, conn: Connection, name: str, body: QueryBody) -> None:
        if body.verb == "GET" and body.data_type == "STATUS":
            self._status_reply(conn)
        elif body.verb == "GET" and body.data_type == _POSITION_TYPE:
            self._position_reply(conn)
        elif body.data_type == _POSITION_TYPE and name in {"", "CURRENT_POSITION"}:
            if body.verb == "STT":
                self.streaming.add(conn.id)
            else:
                self.streaming.discard(conn.id)
            self.send(conn, replies.rts(_POSITION_TYPE, 0, name))
        elif body.verb in {"STT", "STP"}:
            self.send(conn, replies.rts(body.data_type, 1, name))
        else:
            logger.info("conn %d: GET_%s %r: nothing available", conn.id, body.data_type, name)
            from robot.igtl import IgtlMessage, RawBody  # noqa: PLC0415 - one use

            empty = RawBody(type_name=body.data_type, content=b"")
            self.send(conn, IgtlMessage(device_name=name, body=empty))

    def _string(self, conn: Connection, name: str, text: str) -> None:
        if name == "CURRENT_STATUS":
            self._status_reply(conn)
        elif name == "CURRENT_POSITION":
            self._position_reply(conn)
            if self.phase is Workphase.TARGETING:
                flag = "1" if self.core.target is not None else "0"
                self.send(conn, replies.string("IS_IN_TARGETING_POS", flag))
            else:
                flag = "1" if self.core.has_reached_target() else "0"
                self.send(conn, replies.string("HAS_REACHED_TARGET", flag))
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
                self.send(
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
                self._auto_align(conn, text)
        else:
            self.send(
                conn,
                replies.status(
                    f"ACK_{name[:16]}",
                    StatusCode.UNKNOWN_INSTRUCTION,
                    SubCode.UNKNOWN,
                    f"STRING {name!r} is not supported",
                ),
            )

    # --- strings -------------------------------------------------------------------------------

    def _needle_length(self, conn: Connection, text: str) -> None:
        try:
            length_mm = float(text)
        except ValueError:
            length_mm = math.nan
        if self.core.busy or not (math.isfinite(length_mm) and 0 < length_mm <= _MAX_NEEDLE_MM):
            why = (
                "the robot is moving" if self.core.busy else f"{text[:20]!r} is not in (0, 1000] mm"
            )
            self.send(
                conn,
                replies.status(
                    "NEEDLE_LENGTH",
                    StatusCode.CONFIG_ERROR,
                    SubCode.BAD_VALUE,
                    f"NEEDLE_LENGTH refused: {why}",
                ),
            )
            return
        self.core.set_tool_length(length_mm)
        self.send(conn, replies.string("ACK_NEEDLE_LENGTH", text))

    def _retract(self, conn: Connection) -> None:
        if self.core.busy:
            self.send(
                conn,
                replies.status(
                    "ACK_RETRACT_NEEDLE", StatusCode.NOT_READY, SubCode.BUSY, "the robot is moving"
                ),
            )
            return
        refusal = self.core.retract_needle(f"conn{conn.id}")
        if refusal is None:
            self.send(conn, replies.status("ACK_RETRACT_NEEDLE", StatusCode.OK))
        else:
            self.send(
                conn,
                replies.status(
                    "ACK_RETRACT_NEEDLE", StatusCode.NOT_READY, refusal.sub_code, refusal.reason
                ),
            )

    def _scanner(self, conn: Connection, text: str) -> None:
        if text in {"START_SEQUENCE", "STOP_SEQUENCE"}:
            self.core.set_scanner_imaging(imaging=text == "START_SEQUENCE")
            logger.info("scanner: %s (imaging interlock %s)", text, text == "START_SEQUENCE")
            self.send(conn, replies.status("SCANNER", StatusCode.OK))
        else:
            self.send(
                conn,
                replies.status(
                    "SCANNER",
                    StatusCode.CONFIG_ERROR,
                    SubCode.BAD_VALUE,
                    f"SCANNER {text[:40]!r}: expected START_SEQUENCE or STOP_SEQUENCE",
                ),
            )

    def _auto_align(self, conn: Connection, text: str) -> None:
        if text not in {"ON", "OFF"}:
            self.send(
                conn,
                replies.status(
                    "AUTO_ALIGN",
                    StatusCode.CONFIG_ERROR,
                    SubCode.BAD_VALUE,
                    f"AUTO_ALIGN {text[:20]!r}: expected ON or OFF",
                ),
            )
            return
        self.auto_align = text == "ON"
        self.send(conn, replies.status("AUTO_ALIGN", StatusCode.OK))

    # --- Z-frame -------------------------------------------------------------------------------

    def zframe_result(self, result: ZFrameResult) -> None:
        """A Z-frame registration finished: STATUS(CALIBRATION) and TRANSFORM(CALIBRATION)."""
        core = self.core
        detection = result.detection
        if detection is None:
            self.phase_result(
                "CALIBRATION", StatusCode.CONFIG_ERROR, SubCode.BAD_VALUE, result.error
            )
            return
        T_s_z = detection.T_scanner_from_zframe
        old = core.T_scanner_from_robot
        target = core.target
        if core.busy:
            self.phase_result(
                "CALIBRATION",
                StatusCode.NOT_READY,
                SubCode.BUSY,
                f"Z-frame {result.device_name} registered while moving; not applied",
            )
            self.to_all(replies.transform("CALIBRATION", T_s_z))
            return
        self.zframe_count += 1
        self.last_zframe = T_s_z
        accepted = self.apply_calibration(
            core.T_scanner_from_zframe_to_robot(T_s_z),
            f"ZFRAME-{self.zframe_count}",
            f"conn{result.connection_id}",
        )
        self.to_all(replies.transform("CALIBRATION", T_s_z))
        if accepted and target is not None:
            self._realign(old, target.requested, target.target_id)

    def _realign(self, old: Transform | None, requested: Transform, target_id: str) -> None:
        core = self.core
        new = core.T_scanner_from_robot
        assert new is not None  # noqa: S101 - just accepted
        point = requested[:3, 3]
        if old is None:
            change_mm = math.inf
        else:
            moved = transform_points(new @ invert(old), point)[0]
            change_mm = float(np.linalg.norm(moved - point))
        threshold = core.config.runtime.realign_threshold_mm
        if not self.auto_align:
            return  # a new calibration discards the target (OPENIGTLINK.md 4.4)
        if change_mm <= threshold:
            logger.info("registration changed %.3f mm at the target: no re-alignment", change_mm)
            self.accept_target(requested, target_id, "auto_align")
            return
        if not self.accept_target(requested, f"{target_id}-realigned", "auto_align"):
            self.phase_result(
                "AUTO_ALIGN",
                StatusCode.NOT_READY,
                SubCode.OUT_OF_RANGE,
                "re-alignment blocked: the target is not reachable with the new registration",
            )
            return
        refusal = core.move_to_target("auto_align")
        if refusal is not None:
            self.phase_result(
                "AUTO_ALIGN",
                refusal.code,
                refusal.sub_code,
                f"re-alignment blocked: {refusal.reason}",
            )
            return
        self.phase = Workphase.MOVE_TO_TARGET
        self._align_pending = True
        self.to_all(replies.current_status(self.phase.value))

    def send_plane(self) -> None:
        """``TRANSFORM(PLANE_0)``: a scan plane containing the needle path.

        Convention: translation = the reached needle tip; column 2 (the plane normal) is
        perpendicular to the needle; column 1 lies along the needle; column 0 completes it.
        """
        target = self.core.target
        pose = self.core.current_pose() if target is None else target.T_scanner_from_reached
        if pose is None:
            return
        needle = pose[:3, 2]
        x = pose[:3, 0]
        plane = np.eye(4)
        plane[:3, 0] = np.cross(needle, x)
        plane[:3, 1] = needle
        plane[:3, 2] = x
        plane[:3, 3] = pose[:3, 3]
        self.to_all(replies.transform("PLANE_0", plane))
