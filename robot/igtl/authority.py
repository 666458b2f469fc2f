"""Which connection holds command authority (OPENIGTLINK.md section 4.1)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from robot.igtl.handler import ConnectionId

__all__ = ["Authority"]

logger = logging.getLogger(__name__)


class Authority:
    """Command authority: the first connection to send a workphase command holds it.

    It keeps it until it disconnects or releases it. Thread-safe: reader threads claim, the
    workphase layer asks and releases.

    What others may still do (STOP, EMERGENCY from anyone) is the workphase layer's rule.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards _holder
        self._holder: ConnectionId | None = None

    @property
    def holder(self) -> ConnectionId | None:
        """The connection holding authority, or None."""
        with self._lock:
            return self._holder

    def claim(self, connection_id: ConnectionId) -> bool:
        """Take authority if nobody holds it; True if ``connection_id`` holds it afterwards."""
        with self._lock:
            if self._holder is None:
                self._holder = connection_id
                logger.info("authority: connection %d now holds command authority", connection_id)
            return self._holder == connection_id

    def holds(self, connection_id: ConnectionId) -> bool:
        """Whether ``connection_id`` holds authority."""
        with self._lock:
            return self._holder == connection_id

    def release(self, connection_id: ConnectionId, reason: str) -> bool:
        """Give up authority if ``connection_id`` holds it; True if it did."""
        with self._lock:
            if self._holder != connection_id:
                return False
            self._holder = None
        logger.info("authority: connection %d released authority: %s", connection_id, reason)
        return True
