"""Bytes to OpenIGTLink messages for a client reader: a buffer that keeps partial frames."""

from __future__ import annotations

from typing import TYPE_CHECKING

from robot.igtl import (
    HEADER_SIZE,
    BodyLimits,
    IgtlDecodeError,
    IgtlSizeLimitError,
    decode_body,
    unpack_header,
)

if TYPE_CHECKING:
    from robot.igtl import IgtlMessage

__all__ = ["FrameBuffer"]


class FrameBuffer:
    """Collects received bytes and cuts them into frames (CRC checked, content decoded)."""

    def __init__(self, limits: BodyLimits | None = None) -> None:
        self._limits = limits or BodyLimits()
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[IgtlMessage | IgtlDecodeError]:
        """Add ``data``; return every complete frame, decoded, or the error that dropped it.

        A dropped frame (bad CRC, unknown type, malformed content) is consumed whole.

        Raises:
            IgtlHeaderError: a header is unusable (version, TYPE, size over its limit); the
                stream cannot be resynchronised.
        """
        self._buffer += data
        out: list[IgtlMessage | IgtlDecodeError] = []
        while len(self._buffer) >= HEADER_SIZE:
            header = unpack_header(memoryview(self._buffer)[:HEADER_SIZE])
            limit = self._limits.for_type(header.message_type, header.version)
            if header.body_size > limit:
                raise IgtlSizeLimitError(
                    message_type=header.message_type,
                    device_name=header.device_name_raw.decode("ascii", "backslashreplace"),
                    body_size_bytes=header.body_size,
                    limit_bytes=limit,
                )
            end = HEADER_SIZE + header.body_size
            if len(self._buffer) < end:
                break
            body = bytes(self._buffer[HEADER_SIZE:end])
            del self._buffer[:end]
            try:
                out.append(decode_body(header, body))
            except IgtlDecodeError as err:
                out.append(err)
        return out
