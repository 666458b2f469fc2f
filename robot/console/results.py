"""What a BRP exchange returns: frozen values, RAS millimetres."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kinematics import Transform
    from robot.igtl import StatusBody

__all__ = [
    "BrpView",
    "PhaseResult",
    "PoseResult",
    "PositionReading",
    "StatusReply",
    "StringReply",
]

_OK = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReply:
    """One STATUS message as received.

    Attributes:
        device_name: the STATUS device (``CURRENT_STATUS``, a phase, ``TARGET``...).
        code: STATUS code (1 OK; OPENIGTLINK.md section 2).
        sub_code: sub-code (OPENIGTLINK.md section 4.5).
        error_name: ``ERROR_NAME`` (the phase in effect for ``CURRENT_STATUS``).
        message: the free text, one sentence with numbers.
    """

    device_name: str
    code: int
    sub_code: int
    error_name: str
    message: str

    @property
    def ok(self) -> bool:
        """Whether the code is 1 (OK)."""
        return self.code == _OK

    @classmethod
    def of(cls, device_name: str, body: StatusBody) -> StatusReply:
        """Build from a decoded STATUS body."""
        return cls(
            device_name=device_name,
            code=body.code,
            sub_code=body.subcode,
            error_name=body.error_name,
            message=body.message,
        )

    def describe(self) -> str:
        """One line: ``DEVICE code/sub NAME: message``."""
        text = f"{self.device_name} {self.code}/{self.sub_code} {self.error_name or '-'}"
        return f"{text}: {self.message}" if self.message else text


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PositionReading:
    """A ``CURRENT_POSITION`` TRANSFORM: the needle-guide tip pose in scanner RAS (mm)."""

    T_ras_from_tip: Transform

    @property
    def tip_ras_mm(self) -> tuple[float, float, float]:
        """The tip position, RAS mm."""
        x, y, z = (float(v) for v in self.T_ras_from_tip[:3, 3])
        return (x, y, z)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PhaseResult:
    """The reply to ``STRING(CMD_<id>, <phase>)`` (or to RETRACT_NEEDLE).

    Attributes:
        command_id: the ``<id>`` used.
        phase: the phase requested.
        phase_in_effect: ``CURRENT_STATUS`` error name (the phase now in effect), or ``""`` for
            requests that have none (RETRACT_NEEDLE).
        status: the phase STATUS, or None for phases without one (PLANNING, CALIBRATION).
        positions: ``CURRENT_POSITION`` readings collected during the exchange, in order.
        final_position: the position sent after a move's STATUS, or None.
    """

    command_id: str
    phase: str
    phase_in_effect: str
    status: StatusReply | None
    positions: tuple[PositionReading, ...] = ()
    final_position: PositionReading | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PoseResult:
    """The reply to ``TRANSFORM(CLB_|TGT_<id>)`` or to a Z-frame IMAGE.

    Attributes:
        command_id: the ``<id>`` used (empty for an IMAGE).
        kind: ``CLB``, ``TGT`` or ``ZFRAME``.
        echo_content: the 48 content bytes echoed in ``TRANSFORM(ACK_<id>)`` (checked bit-exact).
        status: the ``CALIBRATION``/``TARGET`` STATUS (code 1).
        T_reply: ``TRANSFORM(TARGET)`` (the pose the robot will reach, RAS mm) or
            ``TRANSFORM(CALIBRATION)`` (``T_scanner_from_robot``); None when none is sent.
    """

    command_id: str
    kind: str
    echo_content: bytes
    status: StatusReply
    T_reply: Transform | None


@dataclass(frozen=True, slots=True, kw_only=True)
class StringReply:
    """A STRING reply, e.g. ``ACK_NEEDLE_LENGTH`` echoing the length."""

    device_name: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class BrpView:
    """What the client last heard from the robot (swapped whole; for a UI).

    Attributes:
        connected: whether the connection is open.
        phase: the phase named by the last ``CURRENT_STATUS``, or None.
        position: the last ``CURRENT_POSITION``, or None.
        last_status: the last STATUS of any device, or None.
        faults: the most recent STATUS messages with a code other than 1, oldest first.
        desynchronised: why the session can no longer be trusted, or None.
        frames_received: frames decoded.
        frames_dropped: frames dropped (bad CRC, undecodable, unknown type).
    """

    connected: bool = False
    phase: str | None = None
    position: PositionReading | None = None
    last_status: StatusReply | None = None
    faults: tuple[StatusReply, ...] = ()
    desynchronised: str | None = None
    frames_received: int = 0
    frames_dropped: int = 0
