"""Per-type limits on the declared BODY_SIZE, checked before a byte of the body is read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["BodyLimits"]

_MIB: Final = 1 << 20
_KIB: Final = 1 << 10


@dataclass(frozen=True, slots=True, kw_only=True)
class BodyLimits:
    """Largest BODY_SIZE accepted per TYPE, in bytes (OPENIGTLINK.md section 6).

    A frame over its limit closes its connection: the peer is broken or hostile, and skipping
    gigabytes would hold the reader. Header v2 adds ``v2_extra_bytes`` for the extended header
    and metadata.
    """

    transform_bytes: int = 48
    status_bytes: int = 30 + 64 * _KIB
    string_bytes: int = 4 + 0xFFFF
    point_bytes: int = 136 * 4096
    query_bytes: int = 64
    image_bytes: int = 64 * _MIB
    unknown_bytes: int = 1 * _MIB
    v2_extra_bytes: int = 64 * _KIB

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"BodyLimits.{name} = {value!r} must be a non-negative int (B)")

    def for_type(self, message_type: str, header_version: int) -> int:
        """The limit in bytes for ``message_type`` sent with ``header_version``."""
        if message_type == "TRANSFORM":
            limit = self.transform_bytes
        elif message_type == "STATUS":
            limit = self.status_bytes
        elif message_type == "STRING":
            limit = self.string_bytes
        elif message_type == "POINT":
            limit = self.point_bytes
        elif message_type == "IMAGE":
            limit = self.image_bytes
        elif message_type[:4] in ("GET_", "STT_", "STP_", "RTS_"):
            limit = self.query_bytes
        else:
            limit = self.unknown_bytes
        return limit + (self.v2_extra_bytes if header_version >= 2 else 0)  # noqa: PLR2004
