"""The BRP workphase protocol over the OpenIGTLink server, and the scanner bridge."""

from robot.workphase.handler import WorkphaseHandler
from robot.workphase.protocol import WorkphaseProtocol
from robot.workphase.scanner import ZFrameResult, ZFrameWorker

__all__ = ["WorkphaseHandler", "WorkphaseProtocol", "ZFrameResult", "ZFrameWorker"]
