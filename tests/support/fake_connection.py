"""A connection without a socket, for tests of the workphase layer: it records what is sent."""

from __future__ import annotations

from robot.igtl import ConnectionId, IgtlMessage


class FakeConnection:
    """A connection that records what is sent (no socket, no queue limits)."""

    def __init__(self, conn_id: int) -> None:
        self.id = ConnectionId(conn_id)
        self.peer = ("127.0.0.1", 5000 + conn_id)
        self.is_open = True
        self.sent: list[IgtlMessage] = []

    def send(self, message: IgtlMessage) -> None:
        self.sent.append(message)

    def close(self, reason: str) -> None:
        del reason
        self.is_open = False
