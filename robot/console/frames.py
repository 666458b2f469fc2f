"""Bytes to OpenIGTLink messages for a client reader, on the shared streaming deframer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from robot.igtl import BodyLimits, Deframer, IgtlDecodeError, decode_body

if TYPE_CHECKING:
    from robot.igtl import IgtlMessage

__all__ = ["FrameBuffer"]


class FrameBuffer:
    """Collects received bytes and cuts them into frames (CRC checked, content decoded)."""

    def __init__(self, limits: BodyLimits | None = None) -> None:
        self._deframer = Deframer(limits or BodyLimits())

    def feed(self, data: bytes) -> list[IgtlMessage | IgtlDecodeError]:
        """Add ``data``; return every complete frame, decoded, or the error that dropped it.

        A dropped frame (bad CRC, unknown type, malformed content) is consumed whole.

        Raises:
            IgtlHeaderError: a header is unusable (version, TYPE, size over its limit); the
                stream cannot be resynchronised.
        """
        self._deframer.feed(data)
        out: list[IgtlMessage | IgtlDecodeError] = []
        while (frame := self._deframer.next_frame()) is not None:
            try:
                out.append(decode_body(frame.header, frame.body))
            except IgtlDecodeError as err:
                out.append(err)
        return out
