"""Exceptions of the OpenIGTLink transport (part of the ``robot`` exception tree)."""

from __future__ import annotations

from robot.errors import RobotError

__all__ = [
    "IgtlConnectionClosedError",
    "IgtlCrcError",
    "IgtlDecodeError",
    "IgtlError",
    "IgtlHeaderError",
    "IgtlMetadataError",
    "IgtlPeerClosedError",
    "IgtlReceiveTimeoutError",
    "IgtlSendError",
    "IgtlSendTimeoutError",
    "IgtlSizeLimitError",
    "IgtlUnknownTypeError",
]


class IgtlError(RobotError):
    """Base of every OpenIGTLink transport error."""


class IgtlDecodeError(IgtlError):
    """A received frame cannot be decoded; the frame is dropped, the connection kept.

    Attributes:
        message_type: the TYPE field as received (may be empty).
        device_name: the DEVICE_NAME field as received (may be empty).
        reason: what is wrong, with the values found.
    """

    def __init__(self, reason: str, *, message_type: str = "", device_name: str = "") -> None:
        super().__init__(f"cannot decode {message_type or '?'}({device_name or '?'}): {reason}")
        self.message_type = message_type
        self.device_name = device_name
        self.reason = reason


class IgtlHeaderError(IgtlDecodeError):
    """The 58-byte header is unusable (version, type or size); the connection is closed."""


class IgtlSizeLimitError(IgtlHeaderError):
    """BODY_SIZE exceeds the limit for the message type; the connection is closed.

    Attributes:
        body_size_bytes: declared BODY_SIZE.
        limit_bytes: the limit for that type and header version.
    """

    def __init__(
        self, *, message_type: str, device_name: str, body_size_bytes: int, limit_bytes: int
    ) -> None:
        super().__init__(
            f"declared body of {body_size_bytes} B exceeds the {limit_bytes} B limit",
            message_type=message_type,
            device_name=device_name,
        )
        self.body_size_bytes = body_size_bytes
        self.limit_bytes = limit_bytes


class IgtlCrcError(IgtlDecodeError):
    """The CRC-64 of the body does not match the header's CRC field.

    Attributes:
        expected_crc: the CRC field of the header.
        actual_crc: CRC-64/ECMA-182 of the body as received.
    """

    def __init__(
        self, *, message_type: str, device_name: str, expected_crc: int, actual_crc: int
    ) -> None:
        super().__init__(
            f"body CRC-64 0x{actual_crc:016x} != header CRC 0x{expected_crc:016x}",
            message_type=message_type,
            device_name=device_name,
        )
        self.expected_crc = expected_crc
        self.actual_crc = actual_crc


class IgtlMetadataError(IgtlDecodeError):
    """The header-v2 extended header or metadata is inconsistent or not decodable."""


class IgtlUnknownTypeError(IgtlDecodeError):
    """The message TYPE is not one this codec decodes; the frame is skipped."""


class IgtlSendError(IgtlError):
    """A message could not be queued or sent; the connection has been closed.

    Attributes:
        connection_id: id of the connection.
    """

    def __init__(self, message: str, *, connection_id: int) -> None:
        super().__init__(f"connection {connection_id}: {message}")
        self.connection_id = connection_id


class IgtlSendTimeoutError(IgtlSendError, TimeoutError):
    """The peer did not take the bytes within the send time-out; the connection is closed."""


class IgtlConnectionClosedError(IgtlSendError):
    """The connection is closed; nothing more can be sent on it."""


class IgtlReceiveTimeoutError(IgtlError, TimeoutError):
    """No complete message arrived within the time-out (partial bytes are kept, not lost).

    Attributes:
        timeout_s: the time-out that expired, in seconds.
    """

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"no complete OpenIGTLink message within {timeout_s} s")
        self.timeout_s = timeout_s


class IgtlPeerClosedError(IgtlError):
    """The peer closed the connection (EOF or reset)."""
