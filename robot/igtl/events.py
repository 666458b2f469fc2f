"""Events the transport posts to the workphase layer's queue (frozen values)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from safety.states import Workphase  # the one definition of the BRP workphases

if TYPE_CHECKING:
    from robot.igtl.handler import Connection
    from robot.igtl.messages import IgtlMessage

__all__ = [
    "CommandReceived",
    "IgtlEvent",
    "MessageReceived",
    "PeerConnected",
    "PeerDisconnected",
    "PoseKind",
    "PoseReceived",
    "Workphase",
]


class PoseKind(Enum):
    """The TRANSFORM requests that are echoed: calibration, target, MR-tracked needle tip."""

    CLB = "CLB"
    TGT = "TGT"
    NPOS = "NPOS"


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerConnected:
    """A console connected."""

    conn: Connection
    received_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerDisconnected:
    """A console disconnected; ``had_authority`` says whether it held command authority."""

    conn: Connection
    reason: str
    had_authority: bool
    received_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandReceived:
    """``STRING(CMD_<id>, text)``, already ACKed.

    Attributes:
        phase: the requested phase, or None for unknown text (answer STATUS 12).
        has_authority: whether the sender held authority after this command's claim.
        received_s: monotonic seconds at reception.
    """

    conn: Connection
    command_id: str
    text: str
    phase: Workphase | None
    has_authority: bool
    message: IgtlMessage
    received_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PoseReceived:
    """``TRANSFORM(CLB_|TGT_|NPOS_<id>)``, already echoed bit-exact as ``TRANSFORM(ACK_<id>)``."""

    conn: Connection
    kind: PoseKind
    command_id: str
    has_authority: bool
    message: IgtlMessage
    received_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReceived:
    """Any other decoded message, for the workphase layer to answer or log."""

    conn: Connection
    message: IgtlMessage
    received_s: float


IgtlEvent = PeerConnected | PeerDisconnected | CommandReceived | PoseReceived | MessageReceived
