"""Z-frame registration results and automatic re-alignment (OPENIGTLINK.md 4.6 and 5).

A registered Z-frame becomes the core's ``calibrate`` (through :class:`PoseRequests`); with
AUTO_ALIGN ON and a target held, the target is planned again under the new registration and, when
it moved more than ``runtime.realign_threshold_mm``, the robot moves to it again
(``move_to_target``), after which ``TRANSFORM(PLANE_0)`` gives the scanner a plane along the needle.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import numpy as np

from kinematics import invert, transform_points
from robot.igtl import Workphase
from robot.runtime import JobKind
from robot.workphase import replies
from safety import StatusCode, SubCode

if TYPE_CHECKING:
    from kinematics import Transform
    from robot.igtl import Connection, ConnectionId, ImageBody
    from robot.runtime import JobResult, RobotCore
    from robot.workphase.poses import PoseRequests
    from robot.workphase.replier import Replier
    from robot.workphase.scanner import ZFrameResult, ZFrameWorker

__all__ = ["ZFrameAlignment"]

logger = logging.getLogger(__name__)


class ZFrameAlignment:
    """Z-frame images to calibrations, AUTO_ALIGN, and the scan plane after a re-alignment.

    Args:
        core: the robot.
        replier: where the answers go (and the phase in effect).
        poses: the calibration and target translator (its STATUS replies).
        worker: the Z-frame registration worker.
    """

    def __init__(
        self,
        core: RobotCore,
        *,
        replier: Replier,
        poses: PoseRequests,
        worker: ZFrameWorker,
    ) -> None:
        self._core = core
        self._replier = replier
        self._poses = poses
        self._worker = worker
        self.auto_align = False
        self._align_pending = False
        self.zframe_count = 0
        self.last_zframe: Transform | None = None

    def submit(self, device_name: str, connection_id: ConnectionId, image: ImageBody) -> None:
        """A ``ZFRAME`` IMAGE: register it on the worker (the result comes back as an event)."""
        self._worker.submit(device_name, connection_id, image)

    def set_auto_align(self, conn: Connection, text: str) -> None:
        """``STRING(AUTO_ALIGN, ON|OFF)``."""
        if text not in {"ON", "OFF"}:
            self._replier.refuse(
                conn,
                "AUTO_ALIGN",
                StatusCode.CONFIG_ERROR,
                SubCode.BAD_VALUE,
                f"AUTO_ALIGN {text[:20]!r}: expected ON or OFF",
            )
            return
        self.auto_align = text == "ON"
        self._replier.send(conn, replies.status("AUTO_ALIGN", StatusCode.OK))

    def cancel(self) -> None:
        """A STOP or EMERGENCY: no scan plane after the move it cut."""
        self._align_pending = False

    def moved(self, result: JobResult) -> None:
        """A move ended: after a successful re-alignment, the scan plane."""
        if result.kind is JobKind.MOVE and self._align_pending:
            self._align_pending = False
            if result.ok:
                self.send_plane()

    def zframe_result(self, result: ZFrameResult) -> None:
        """A Z-frame registration finished: STATUS(CALIBRATION) and TRANSFORM(CALIBRATION)."""
        core = self._core
        detection = result.detection
        if detection is None:
            self._replier.phase_result(
                "CALIBRATION", StatusCode.CONFIG_ERROR, SubCode.BAD_VALUE, result.error
            )
            return
        T_s_z = detection.T_scanner_from_zframe
        if core.busy:
            self._replier.phase_result(
                "CALIBRATION",
                StatusCode.NOT_READY,
                SubCode.BUSY,
                f"Z-frame {result.device_name} registered while moving; not applied",
            )
            self._replier.to_all(replies.transform("CALIBRATION", T_s_z))
            return
        old = core.T_scanner_from_robot
        target = core.target
        self.zframe_count += 1
        self.last_zframe = T_s_z
        accepted = self._poses.apply_calibration(
            core.targets.T_scanner_from_zframe_to_robot(T_s_z),
            f"ZFRAME-{self.zframe_count}",
            f"conn{result.connection_id}",
        )
        self._replier.to_all(replies.transform("CALIBRATION", T_s_z))
        if accepted and target is not None:
            self._realign(old, target.requested, target.target_id)

    def _realign(self, old: Transform | None, requested: Transform, target_id: str) -> None:
        core = self._core
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
            self._poses.accept_target(requested, target_id, "auto_align")
            return
        if not self._poses.accept_target(requested, f"{target_id}-realigned", "auto_align"):
            self._replier.phase_result(
                "AUTO_ALIGN",
                StatusCode.NOT_READY,
                SubCode.OUT_OF_RANGE,
                "re-alignment blocked: the target is not reachable with the new registration",
            )
            return
        refusal = core.move_to_target("auto_align")
        if refusal is not None:
            self._replier.phase_result(
                "AUTO_ALIGN",
                refusal.code,
                refusal.sub_code,
                f"re-alignment blocked: {refusal.reason}",
            )
            return
        self._align_pending = True
        self._replier.announce(Workphase.MOVE_TO_TARGET)

    def send_plane(self) -> None:
        """``TRANSFORM(PLANE_0)``: a scan plane containing the needle path.

        Convention: translation = the reached needle tip; column 2 (the plane normal) is
        perpendicular to the needle; column 1 lies along the needle; column 0 completes it.
        """
        pose = self._core.plane_pose()
        if pose is None:
            return
        needle = pose[:3, 2]
        x = pose[:3, 0]
        plane = np.eye(4)
        plane[:3, 0] = np.cross(needle, x)
        plane[:3, 1] = needle
        plane[:3, 2] = x
        plane[:3, 3] = pose[:3, 3]
        self._replier.to_all(replies.transform("PLANE_0", plane))
