"""``BrpClient``: the BRP workphase commands over one :class:`BrpSession` (RAS mm everywhere).

Every command checks the reply order of OPENIGTLINK.md section 4 and returns a typed result, or
raises :class:`~robot.console.errors.BrpError`: :class:`BrpStatusError` for an error STATUS,
:class:`BrpProtocolError` (and its time-out and disconnect kinds) for a violation.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import numpy as np

from robot.console.ids import CommandIds
from robot.console.scripts import (
    phase_script,
    pose_script,
    query_position_script,
    query_status_script,
    retract_script,
    status_request_script,
    string_echo_script,
)
from robot.console.session import BrpSession
from robot.igtl import (
    IgtlMessage,
    QueryBody,
    StringBody,
    TransformBody,
    encode_content,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    import numpy.typing as npt

    from robot.console.config import BrpClientConfig
    from robot.console.results import (
        BrpView,
        PhaseResult,
        PoseResult,
        PositionReading,
        StatusReply,
        StringReply,
    )

__all__ = ["BrpClient"]


class BrpClient:
    """A console's view of the robot: one method per BRP request.

    Thread use: one UI thread issues commands (one at a time; a second raises
    :class:`BrpBusyError`), while :meth:`stop` and :meth:`emergency` may be called from any
    thread at any time, also during :meth:`move_to_target`, which they cut.

    Args:
        host: robot address.
        port: robot port.
        config: time-outs.
        ids: command id source (a random tag per client when None).
        now: monotonic seconds.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 18944,
        *,
        config: BrpClientConfig | None = None,
        ids: CommandIds | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = BrpSession(host, port, config=config, now=now, name="console")
        self._ids = ids or CommandIds()

    def open(self) -> None:
        """Connect (within the connect time-out).

        Raises:
            BrpConnectError: the robot cannot be reached.
        """
        self._session.open()

    def close(self) -> None:
        """Disconnect (idempotent)."""
        self._session.close()

    def __enter__(self) -> BrpClient:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def view(self) -> BrpView:
        """What the robot last said: phase, position, last STATUS, faults."""
        return self._session.view

    @property
    def session(self) -> BrpSession:
        """The underlying connection (for unsolicited messages)."""
        return self._session

    # -- phases ----------------------------------------------------------------------------------

    def _phase(
        self,
        phase: str,
        *,
        preemptive: bool = False,
        on_position: Callable[[PositionReading], None] | None = None,
    ) -> PhaseResult:
        command_id = self._ids.next()
        names, script = phase_script(command_id, phase, self._session.config)
        request = IgtlMessage(device_name=f"CMD_{command_id}", body=StringBody(text=phase))
        overall = self._session.config.move_timeout_s if phase == "MOVE_TO_TARGET" else None
        return self._session.exchange(
            (request,),
            names,
            script,
            label=f"CMD_{command_id} {phase}",
            ack_name=f"ACK_{command_id}",
            preemptive=preemptive,
            overall_timeout_s=overall,
            on_position=on_position,
        )

    def start_up(self) -> PhaseResult:
        """START_UP: reset guards, firmware, homing; waits for ``STATUS(START_UP)``."""
        return self._phase("START_UP")

    def planning(self) -> PhaseResult:
        """PLANNING (no phase STATUS)."""
        return self._phase("PLANNING")

    def targeting(self) -> PhaseResult:
        """TARGETING; ``STATUS(TARGETING, 13)`` sub 2 (raised) when uncalibrated."""
        return self._phase("TARGETING")

    def manual(self) -> PhaseResult:
        """MANUAL."""
        return self._phase("MANUAL")

    def move_to_target(
        self, on_position: Callable[[PositionReading], None] | None = None
    ) -> PhaseResult:
        """MOVE_TO_TARGET: collects the streamed ``CURRENT_POSITION`` until the final STATUS.

        Args:
            on_position: called on the calling thread for every streamed position.

        Returns:
            The result; ``positions`` holds the stream, ``final_position`` the pose after arrival.

        Raises:
            BrpStatusError: no motion (13 with the reason's sub-code) or hardware failure (18).
            BrpInterruptedError: STOP or EMERGENCY cut the move.
        """
        return self._phase("MOVE_TO_TARGET", on_position=on_position)

    def stop(self) -> PhaseResult:
        """STOP (Cat 2): sent even while another command waits, which it cuts."""
        return self._phase("STOP", preemptive=True)

    def emergency(self) -> PhaseResult:
        """EMERGENCY (Cat 1, latched): sent even while another command waits, which it cuts."""
        return self._phase("EMERGENCY", preemptive=True)

    # -- poses -----------------------------------------------------------------------------------

    def _pose(self, kind: str, matrix: npt.ArrayLike) -> PoseResult:
        body = TransformBody(matrix_ras_mm=np.asarray(matrix, dtype=np.float64))
        content = encode_content(body)
        command_id = self._ids.next()
        names, script = pose_script(command_id, kind, content, self._session.config)
        return self._session.exchange(
            (IgtlMessage(device_name=f"{kind}_{command_id}", body=body),),
            names,
            script,
            label=f"{kind}_{command_id}",
            ack_name=f"ACK_{command_id}",
        )

    def calibration(self, T_scanner_from_robot: npt.ArrayLike) -> PoseResult:
        """CALIBRATION, then ``TRANSFORM(CLB_<id>)``: bit-exact echo, ``STATUS(CALIBRATION, 1)``.

        Args:
            T_scanner_from_robot: 4x4, robot base in scanner RAS, mm. Sent as float32; the robot
                judges rigidity (STATUS 10 sub 1 otherwise, raised).
        """
        self._phase("CALIBRATION")
        return self._pose("CLB", T_scanner_from_robot)

    def set_target(self, T_ras_from_target: npt.ArrayLike) -> PoseResult:
        """``TRANSFORM(TGT_<id>)``: echo, ``STATUS(TARGET, 1)``, ``TRANSFORM(TARGET)``.

        Returns:
            ``T_reply`` is the pose the robot will reach (RAS mm).

        Raises:
            BrpStatusError: ``TARGET`` 10 sub 1 (bad matrix) or sub 3 (unreachable), 13 (not ready).
        """
        return self._pose("TGT", T_ras_from_target)

    # -- other requests --------------------------------------------------------------------------

    def needle_length(self, length_mm: float) -> StringReply:
        """``STRING(NEEDLE_LENGTH, "<mm>")``, echoed as ``ACK_NEEDLE_LENGTH``.

        Raises:
            ValueError: not finite and > 0.
            BrpStatusError: refused (10 sub 11, e.g. while moving).
        """
        if not (math.isfinite(length_mm) and length_mm > 0):
            raise ValueError(f"needle length must be finite and > 0 mm, got {length_mm}")
        text = f"{length_mm:g}"
        names, script = string_echo_script("NEEDLE_LENGTH", text, self._session.config)
        return self._session.exchange(
            (IgtlMessage(device_name="NEEDLE_LENGTH", body=StringBody(text=text)),),
            names,
            script,
            label=f"NEEDLE_LENGTH {text} mm",
        )

    def retract_needle(
        self, on_position: Callable[[PositionReading], None] | None = None
    ) -> PhaseResult:
        """``STRING(RETRACT_NEEDLE)``: ``STATUS(ACK_RETRACT_NEEDLE, 1)``, positions, done STATUS."""
        names, script = retract_script(self._session.config)
        return self._session.exchange(
            (IgtlMessage(device_name="RETRACT_NEEDLE", body=StringBody(text="RETRACT")),),
            names,
            script,
            label="RETRACT_NEEDLE",
            overall_timeout_s=self._session.config.move_timeout_s,
            on_position=on_position,
        )

    def get_status(self) -> StatusReply:
        """``GET_STATUS(CURRENT_STATUS)``: the phase in effect and its code (not raised)."""
        names, script = query_status_script(self._session.config)
        query = IgtlMessage(
            device_name="CURRENT_STATUS", body=QueryBody(verb="GET", data_type="STATUS")
        )
        return self._session.exchange((query,), names, script, label="GET_STATUS")

    def get_position(self) -> PositionReading:
        """``GET_TRANSFOR(CURRENT_POSITION)``: the tip pose, RAS mm."""
        names, script = query_position_script(self._session.config)
        query = IgtlMessage(
            device_name="CURRENT_POSITION", body=QueryBody(verb="GET", data_type="TRANSFOR")
        )
        return self._session.exchange((query,), names, script, label="GET_TRANSFOR")

    def auto_align(self, *, on: bool) -> StatusReply:
        """``STRING(AUTO_ALIGN, "ON"|"OFF")``: arms scan-plane re-alignment (section 5)."""
        text = "ON" if on else "OFF"
        names, script = status_request_script(
            ("AUTO_ALIGN", "ACK_AUTO_ALIGN"), self._session.config.ack_timeout_s
        )
        return self._session.exchange(
            (IgtlMessage(device_name="AUTO_ALIGN", body=StringBody(text=text)),),
            names,
            script,
            label=f"AUTO_ALIGN {text}",
        )
