"""A small blocking OpenIGTLink client with our codec (consoles, benchmarks, tests).

One thread uses it at a time. Partial frames survive a receive time-out (pyigtl drops them).
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING, Final

from robot.igtl.codec import decode_body, encode
from robot.igtl.deframer import Deframer
from robot.igtl.errors import IgtlPeerClosedError, IgtlReceiveTimeoutError
from robot.igtl.limits import BodyLimits

if TYPE_CHECKING:
    from types import TracebackType

    from robot.igtl.messages import IgtlMessage

__all__ = ["IgtlClient"]

_CHUNK: Final = 1 << 16


class IgtlClient:
    """Blocking client: :meth:`open` connects (TCP_NODELAY), :meth:`receive` waits for one frame."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        connect_timeout_s: float = 2.0,
        limits: BodyLimits | None = None,
    ) -> None:
        self._address = (host, port)
        self._connect_timeout_s = connect_timeout_s
        self._sock: socket.socket | None = None
        self._deframer = Deframer(limits or BodyLimits())

    @classmethod
    def from_socket(cls, sock: socket.socket, *, limits: BodyLimits | None = None) -> IgtlClient:
        """A client over a socket that is already connected.

        For a console that runs the server and accepted the robot's connection: :meth:`open`
        is not needed; :meth:`close` closes ``sock``.
        """
        name = sock.getpeername()
        client = cls(str(name[0]), int(name[1]), limits=limits)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client._sock = sock
        return client

    def open(self) -> None:
        """Connect.

        Raises:
            OSError: the server cannot be reached.
        """
        sock = socket.create_connection(self._address, timeout=self._connect_timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock

    def close(self) -> None:
        """Close the socket (idempotent)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> IgtlClient:
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
    def socket(self) -> socket.socket:
        """The connected socket.

        Raises:
            RuntimeError: not open.
        """
        if self._sock is None:
            raise RuntimeError("IgtlClient is not open")
        return self._sock

    def send(self, message: IgtlMessage) -> None:
        """Encode and send one message."""
        self.send_bytes(encode(message))

    def send_bytes(self, data: bytes) -> None:
        """Send raw bytes (already framed, or deliberately not)."""
        self.socket.settimeout(None)
        self.socket.sendall(data)

    def receive(self, timeout_s: float = 1.0) -> IgtlMessage:
        """Wait up to ``timeout_s`` for one complete frame; verify its CRC and decode it.

        Raises:
            IgtlReceiveTimeoutError: nothing complete in time (bytes so far are kept).
            IgtlPeerClosedError: the server closed the connection.
            IgtlDecodeError: the frame is malformed (it is consumed).
            IgtlHeaderError: a header is unusable or over its limit (the stream has ended).
        """
        deadline_s = time.monotonic() + timeout_s
        while True:
            frame = self._deframer.next_frame()
            if frame is not None:
                return decode_body(frame.header, frame.body)
            remaining_s = deadline_s - time.monotonic()
            if remaining_s <= 0:
                raise IgtlReceiveTimeoutError(timeout_s)
            self.socket.settimeout(remaining_s)
            try:
                chunk = self.socket.recv(_CHUNK)
            except TimeoutError:
                continue
            except OSError as err:
                raise IgtlPeerClosedError(f"receive failed: {err}") from err
            if not chunk:
                raise IgtlPeerClosedError("EOF from server")
            self._deframer.feed(chunk)
