"""The one OpenIGTLink stream deframer: bytes in, whole frames out (sans-I/O).

Used by the server's connections, :class:`~robot.igtl.IgtlClient` and the console's reader. It
cuts a byte stream into frames of a 58-byte header and exactly BODY_SIZE bytes. The header is
checked (VERSION, TYPE, BODY_SIZE against its limit) as soon as its 58 bytes are in, before any
body byte is stored; the body buffer is then allocated once at its declared size.

Two ways in:

* :meth:`Deframer.writable` / :meth:`Deframer.commit`: receive straight into the deframer's
  buffer (``sock.recv_into(deframer.writable())``). ``writable`` never spans two frames, so a
  reader that uses it reads exactly the 58 header bytes, then exactly BODY_SIZE.
* :meth:`Deframer.feed`: hand over any chunk of bytes (any number of frames, or a part of one).

Frames come out of :meth:`Deframer.next_frame` in stream order. A header that cannot be trusted
ends the stream: it is raised by ``next_frame`` after every frame before it, and again on every
later call (the stream cannot be resynchronised).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

from robot.igtl.errors import IgtlHeaderError, IgtlSizeLimitError
from robot.igtl.header import HEADER_SIZE, Header, unpack_header
from robot.igtl.limits import BodyLimits

__all__ = ["Deframer", "Frame"]


@dataclass(frozen=True, slots=True)
class Frame:
    """One whole frame: its checked header and exactly BODY_SIZE body bytes (CRC unchecked).

    Attributes:
        header: the checked header.
        body: the body bytes.
        raw_header: the header's 58 bytes as received (for a session recording).
    """

    header: Header
    body: bytes | bytearray
    raw_header: bytes = b""

    @property
    def size_bytes(self) -> int:
        """Header and body, in bytes."""
        return HEADER_SIZE + len(self.body)


class Deframer:
    """Streaming deframer for one connection (one thread at a time)."""

    def __init__(self, limits: BodyLimits | None = None) -> None:
        self._limits = limits or BodyLimits()
        self._head = bytearray(HEADER_SIZE)
        self._head_got = 0
        self._header: Header | None = None
        self._body = bytearray()
        self._body_got = 0
        self._ready: collections.deque[Frame] = collections.deque()
        self._error: IgtlHeaderError | None = None

    @property
    def in_frame(self) -> bool:
        """Whether part of a frame has arrived (its rest is awaited)."""
        return self._head_got > 0

    @property
    def failed(self) -> bool:
        """Whether an untrustworthy header has ended the stream."""
        return self._error is not None

    def describe_partial(self) -> str:
        """What part of the current frame is missing, e.g. ``header incomplete (30 of 58 B)``."""
        if self._header is None:
            return f"header incomplete ({self._head_got} of {HEADER_SIZE} B)"
        size = len(self._body)
        return f"{size} B body incomplete ({self._body_got} of {size} B)"

    def writable(self) -> memoryview:
        """The buffer to fill next: the rest of the header or of the body (never empty).

        Raises:
            IgtlHeaderError: the stream has already failed.
        """
        if self._error is not None:
            raise self._error
        if self._header is None:
            return memoryview(self._head)[self._head_got :]
        return memoryview(self._body)[self._body_got :]

    def commit(self, count: int) -> None:
        """Record that ``count`` bytes were written at the start of :meth:`writable`."""
        if self._error is not None:
            return
        if self._header is None:
            if not 0 <= count <= HEADER_SIZE - self._head_got:
                raise ValueError(f"commit of {count} B exceeds the header's free space")
            self._head_got += count
            if self._head_got == HEADER_SIZE:
                self._start_body()
        else:
            if not 0 <= count <= len(self._body) - self._body_got:
                raise ValueError(f"commit of {count} B exceeds the body's free space")
            self._body_got += count
            if self._body_got == len(self._body):
                self._finish()

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Take any chunk of the stream; whole frames become available to :meth:`next_frame`.

        Bytes after an untrustworthy header are ignored (the stream has ended).
        """
        view = memoryview(data).cast("B")
        while len(view) and self._error is None:
            target = self.writable()
            taken = min(len(target), len(view))
            target[:taken] = view[:taken]
            view = view[taken:]
            self.commit(taken)

    def next_frame(self) -> Frame | None:
        """The oldest whole frame, or None when none is complete.

        Raises:
            IgtlHeaderError: every frame before it has been returned and the next header is
                unusable (VERSION, TYPE) or declares a body over its limit
                (:class:`IgtlSizeLimitError`); raised again on every later call.
        """
        if self._ready:
            return self._ready.popleft()
        if self._error is not None:
            raise self._error
        return None

    def _start_body(self) -> None:
        try:
            header = unpack_header(self._head)
        except IgtlHeaderError as err:
            self._error = err
            return
        limit = self._limits.for_type(header.message_type, header.version)
        if header.body_size > limit:
            self._error = IgtlSizeLimitError(
                message_type=header.message_type,
                device_name=header.device_name_raw.decode("ascii", errors="backslashreplace"),
                body_size_bytes=header.body_size,
                limit_bytes=limit,
            )
            return
        self._header = header
        self._body = bytearray(header.body_size)
        self._body_got = 0
        if header.body_size == 0:
            self._finish()

    def _finish(self) -> None:
        header = self._header
        if header is None:  # pragma: no cover - _finish follows _start_body
            raise RuntimeError("deframer body finished without a header")
        self._ready.append(Frame(header=header, body=self._body, raw_header=bytes(self._head)))
        self._header = None
        self._head_got = 0
        self._body = bytearray()
        self._body_got = 0
