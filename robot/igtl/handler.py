"""The seams between the transport and the layers above it."""

from __future__ import annotations

from typing import TYPE_CHECKING, NewType, Protocol

if TYPE_CHECKING:
    from robot.igtl.messages import IgtlMessage

__all__ = ["Connection", "ConnectionId", "FrameTap", "MessageHandler"]

ConnectionId = NewType("ConnectionId", int)


class Connection(Protocol):
    """One peer, as seen by a handler."""

    @property
    def id(self) -> ConnectionId:
        """Server-unique id, never reused while the server runs."""
        ...

    @property
    def peer(self) -> tuple[str, int]:
        """Peer address and port."""
        ...

    @property
    def is_open(self) -> bool:
        """Whether the connection still sends and receives."""
        ...

    def send(self, message: IgtlMessage) -> None:
        """Queue ``message`` after everything sent before it (FIFO); never blocks.

        Raises:
            IgtlSendError: the connection is (now) closed.
            ValueError: the message cannot be encoded.
        """
        ...

    def close(self, reason: str) -> None:
        """Close the connection (idempotent, non-blocking)."""
        ...


class MessageHandler(Protocol):
    """Receives connection events; every call runs on that connection's reader thread.

    Calls must not block: replies go out through ``conn.send`` at once, work goes to a queue.
    An exception from a call is logged and closes that connection.
    """

    def on_connect(self, conn: Connection) -> None:
        """A peer connected; called before its first message."""
        ...

    def on_message(self, conn: Connection, message: IgtlMessage) -> None:
        """A frame arrived with a valid CRC and decoded; called in arrival order."""
        ...

    def on_disconnect(self, conn: Connection, reason: str) -> None:
        """The connection closed (EOF, reset, error, limit or server close); called once."""
        ...


class FrameTap(Protocol):
    """Sees every frame a connection receives or queues for sending, as raw bytes (recording).

    Called on the connection's reader thread (received) or the sender's thread (sent); must
    return at once and never raise (a session recorder queues the bytes).
    """

    def received(self, connection_id: ConnectionId, peer: tuple[str, int], data: bytes) -> None:
        """A whole frame arrived (header and body, before its CRC is checked)."""
        ...

    def sent(self, connection_id: ConnectionId, peer: tuple[str, int], data: bytes) -> None:
        """An encoded frame was queued for sending."""
        ...
