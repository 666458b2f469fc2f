"""The console side of the BRP workphase protocol: a checked client library."""

from robot.console.client import BrpClient
from robot.console.config import BrpClientConfig
from robot.console.errors import (
    BrpBusyError,
    BrpConnectError,
    BrpDisconnectedError,
    BrpError,
    BrpInterruptedError,
    BrpProtocolError,
    BrpSessionError,
    BrpStatusError,
    BrpTimeoutError,
)
from robot.console.ids import CommandIds
from robot.console.results import PhaseResult, PoseResult, PositionReading, StatusReply, StringReply
from robot.console.session import BrpSession
from robot.console.target import calibration_from_text, target_transform

__all__ = [
    "BrpBusyError",
    "BrpClient",
    "BrpClientConfig",
    "BrpConnectError",
    "BrpDisconnectedError",
    "BrpError",
    "BrpInterruptedError",
    "BrpProtocolError",
    "BrpSession",
    "BrpSessionError",
    "BrpStatusError",
    "BrpTimeoutError",
    "CommandIds",
    "PhaseResult",
    "PoseResult",
    "PositionReading",
    "StatusReply",
    "StringReply",
    "calibration_from_text",
    "target_transform",
]
