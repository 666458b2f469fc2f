"""An in-process byte pipe: two bounded channels that behave like a serial line.

Closing either end (or the emulator dropping the connection) makes the other end's ``read``
raise :class:`~hal.errors.TransportError`, as an unplugged adapter would. Not modelled: baud-rate
pacing, USB latency, partial writes.
"""

from __future__ import annotations

import threading
from typing import Final

from hal.errors import TransportError

__all__ = ["ByteChannel", "PipeEnd", "pipe_pair"]

_DEFAULT_CAPACITY: Final = 64 * 1024
_DEFAULT_READ_TIMEOUT_S: Final = 0.01


class ByteChannel:
    """One direction of the pipe: a bounded byte buffer; overflow drops the new bytes (counted)."""

    def __init__(self, *, capacity: int = _DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 byte, got {capacity}")
        self._capacity = capacity
        self._cond = threading.Condition()  # guards _buffer, _closed, overflow_bytes
        self._buffer = bytearray()
        self._closed = False
        self.overflow_bytes = 0

    @property
    def closed(self) -> bool:
        """Whether the channel was closed."""
        with self._cond:
            return self._closed

    def put(self, data: bytes, *, url: str) -> None:
        """Append ``data``; bytes beyond the capacity are dropped and counted.

        Raises:
            TransportError: the channel is closed.
        """
        with self._cond:
            if self._closed:
                raise TransportError("write on a disconnected pipe", url=url)
            room = self._capacity - len(self._buffer)
            self._buffer += data[:room]
            self.overflow_bytes += max(0, len(data) - room)
            self._cond.notify_all()

    def get(self, timeout_s: float, *, url: str) -> bytes:
        """Take everything buffered, waiting up to ``timeout_s`` for the first byte.

        Raises:
            TransportError: the channel is closed and empty (EOF).
        """
        with self._cond:
            self._cond.wait_for(lambda: self._buffer or self._closed, timeout=timeout_s)
            if self._buffer:
                data = bytes(self._buffer)
                self._buffer.clear()
                return data
            if self._closed:
                raise TransportError("pipe disconnected (EOF)", url=url)
            return b""

    def close(self) -> None:
        """Close the channel; readers drain what is left, then see EOF. Idempotent."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class PipeEnd:
    """One end of a pipe, usable as a :class:`~hal.transport.Transport`."""

    def __init__(
        self,
        *,
        rx: ByteChannel,
        tx: ByteChannel,
        url: str,
        read_timeout_s: float = _DEFAULT_READ_TIMEOUT_S,
    ) -> None:
        self._rx = rx
        self._tx = tx
        self._url = url
        self._read_timeout_s = read_timeout_s

    @property
    def url(self) -> str:
        """Name of the pipe."""
        return self._url

    def read(self) -> bytes:
        """Bytes that arrived within the read time-out.

        Raises:
            TransportError: the pipe was closed (EOF).
        """
        return self._rx.get(self._read_timeout_s, url=self._url)

    def write(self, data: bytes) -> None:
        """Send ``data`` to the other end.

        Raises:
            TransportError: the pipe was closed.
        """
        if self._rx.closed:
            raise TransportError("write on a disconnected pipe", url=self._url)
        self._tx.put(data, url=self._url)

    def close(self) -> None:
        """Close both directions; idempotent."""
        self._rx.close()
        self._tx.close()


def pipe_pair(
    *, url: str = "pipe://", read_timeout_s: float = _DEFAULT_READ_TIMEOUT_S
) -> tuple[PipeEnd, PipeEnd]:
    """Two connected ends (a, b): what a writes, b reads, and back."""
    a_to_b = ByteChannel()
    b_to_a = ByteChannel()
    a = PipeEnd(rx=b_to_a, tx=a_to_b, url=url, read_timeout_s=read_timeout_s)
    b = PipeEnd(rx=a_to_b, tx=b_to_a, url=url, read_timeout_s=read_timeout_s)
    return a, b
