"""OpenIGTLink messages as frozen values: one :class:`IgtlMessage` with a typed body.

Coordinates are RAS millimetres (OPENIGTLINK.md section 2); LPS input is converted by the codec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Final

import numpy as np

from robot.igtl.header import SUPPORTED_HEADER_VERSIONS, encode_name
from safety.states import StatusCode  # the one definition of the OpenIGTLink STATUS codes

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "QUERY_VERBS",
    "Body",
    "IgtlMessage",
    "ImageBody",
    "QueryBody",
    "RawBody",
    "RtsBody",
    "StatusBody",
    "StatusCode",
    "StringBody",
    "TransformBody",
]

QUERY_VERBS: Final = ("GET", "STT", "STP")
_ASCII: Final = 3
_UTF8: Final = 106
_VTK_ASCII: Final = 1
_MAX_I64: Final = 2**63 - 1
_LAST_ROW: Final = np.array([0.0, 0.0, 0.0, 1.0])


def _frozen_array(
    value: NDArray[np.generic], dtype: type[np.generic] | None = None
) -> NDArray[np.generic]:
    array = np.array(value, dtype=dtype, copy=True)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, slots=True, kw_only=True)
class StringBody:
    """STRING content: text and its encoding (3 or 1: US-ASCII, 106: UTF-8; we send 3)."""

    MESSAGE_TYPE: ClassVar[str] = "STRING"
    text: str
    encoding: int = _ASCII

    def __post_init__(self) -> None:
        if self.encoding not in (_ASCII, _VTK_ASCII, _UTF8):
            raise ValueError(
                f"STRING encoding {self.encoding} is not 3 or 1 (US-ASCII) or 106 (UTF-8)"
            )
        if self.encoding in (_ASCII, _VTK_ASCII) and not self.text.isascii():
            raise ValueError(f"STRING text {self.text[:40]!r} is not US-ASCII")

    @property
    def message_type(self) -> str:
        """The TYPE field for this body."""
        return self.MESSAGE_TYPE


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TransformBody:
    """TRANSFORM content: a 4x4 homogeneous matrix, RAS, millimetres (float64, read-only).

    Values are carried as received (also non-finite ones): validity is the consumer's decision.
    """

    MESSAGE_TYPE: ClassVar[str] = "TRANSFORM"
    matrix_ras_mm: NDArray[np.float64]

    def __post_init__(self) -> None:
        matrix = _frozen_array(self.matrix_ras_mm, np.float64).astype(np.float64, copy=False)
        if matrix.shape != (4, 4):
            raise ValueError(f"TRANSFORM matrix must be 4x4, got shape {matrix.shape}")
        if not np.array_equal(matrix[3], _LAST_ROW):
            raise ValueError(f"TRANSFORM last row must be 0 0 0 1, got {matrix[3].tolist()}")
        object.__setattr__(self, "matrix_ras_mm", matrix)

    @property
    def message_type(self) -> str:
        """The TYPE field for this body."""
        return self.MESSAGE_TYPE

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TransformBody):
            return NotImplemented
        return bool(np.array_equal(self.matrix_ras_mm, other.matrix_ras_mm, equal_nan=True))

    __hash__ = None  # type: ignore[assignment]  # holds an array


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusBody:
    """STATUS content: code u16, sub-code i64, error name (<= 20 ASCII), message (ASCII)."""

    MESSAGE_TYPE: ClassVar[str] = "STATUS"
    code: int
    subcode: int = 0
    error_name: str = ""
    message: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.code <= 0xFFFF:  # noqa: PLR2004 - u16
            raise ValueError(f"STATUS code {self.code} is outside 0..65535")
        if not -_MAX_I64 - 1 <= self.subcode <= _MAX_I64:
            raise ValueError(f"STATUS sub-code {self.subcode} is outside the i64 range")
        if self.error_name:
            encode_name(self.error_name, width=20, field="STATUS error name")
        if not self.message.isascii() or "\0" in self.message:
            raise ValueError(f"STATUS message {self.message[:40]!r} must be ASCII without NUL")

    @property
    def message_type(self) -> str:
        """The TYPE field for this body."""
        return self.MESSAGE_TYPE


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ImageBody:
    """IMAGE content: voxels indexed (k, j, i) or (k, j, i, component) and ``ijk_to_ras`` (mm)."""

    MESSAGE_TYPE: ClassVar[str] = "IMAGE"
    voxels: NDArray[np.generic]
    ijk_to_ras: NDArray[np.float64]

    def __post_init__(self) -> None:
        voxels = _frozen_array(self.voxels)
        if voxels.ndim not in (3, 4):
            raise ValueError(f"IMAGE voxels need 3 or 4 axes (k, j, i[, c]), got {voxels.ndim}")
        matrix = _frozen_array(self.ijk_to_ras, np.float64)
        if matrix.shape != (4, 4) or not np.array_equal(matrix[3], _LAST_ROW):
            raise ValueError(f"IMAGE ijk_to_ras must be 4x4 with last row 0 0 0 1: {matrix}")
        object.__setattr__(self, "voxels", voxels)
        object.__setattr__(self, "ijk_to_ras", matrix)

    @property
    def message_type(self) -> str:
        """The TYPE field for this body."""
        return self.MESSAGE_TYPE

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImageBody):
            return NotImplemented
        return (
            self.voxels.dtype == other.voxels.dtype
            and np.array_equal(self.voxels, other.voxels)
            and np.array_equal(self.ijk_to_ras, other.ijk_to_ras)
        )

    __hash__ = None  # type: ignore[assignment]  # holds arrays


def _check_data_type(data_type: str, width: int) -> None:
    encode_name(data_type, width=width, field="data type")
    if not data_type:
        raise ValueError("data type must not be empty")


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryBody:
    """A query, ``GET_``, ``STT_`` or ``STP_<data type>``, with its content (empty for ``GET_``).

    The data type is at most 8 characters on the wire: ``GET_TRANSFOR``, never ``GET_TRANSFORM``.
    """

    verb: str
    data_type: str
    payload: bytes = b""

    def __post_init__(self) -> None:
        if self.verb not in QUERY_VERBS:
            raise ValueError(f"query verb {self.verb!r} is not one of {QUERY_VERBS}")
        _check_data_type(self.data_type, 8)

    @property
    def message_type(self) -> str:
        """The TYPE field for this body."""
        return f"{self.verb}_{self.data_type}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RtsBody:
    """``RTS_<data type>``: the one-byte answer to ``STT_``/``STP_`` (0 ok, 1 error)."""

    data_type: str
    status: int = 0

    def __post_init__(self) -> None:
        _check_data_type(self.data_type, 8)
        if not 0 <= self.status <= 0xFF:  # noqa: PLR2004 - u8
            raise ValueError(f"RTS status {self.status} is outside 0..255")

    @property
    def message_type(self) -> str:
        """The TYPE field for this body."""
        return f"RTS_{self.data_type}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RawBody:
    """Content bytes sent verbatim under a known TYPE, e.g. the bit-exact TRANSFORM echo."""

    type_name: str
    content: bytes

    def __post_init__(self) -> None:
        _check_data_type(self.type_name, 12)

    @property
    def message_type(self) -> str:
        """The TYPE field for this body."""
        return self.type_name


Body = StringBody | TransformBody | StatusBody | ImageBody | QueryBody | RtsBody | RawBody


@dataclass(frozen=True, slots=True, kw_only=True)
class IgtlMessage:
    """One OpenIGTLink message.

    Attributes:
        device_name: DEVICE_NAME, printable ASCII, at most 20 bytes (never truncated).
        body: the typed content; it determines the TYPE field.
        timestamp: 64-bit timestamp (Unix seconds << 32 | fraction / 2**32); 0 = unset.
        header_version: 1 (sent by default) or 2 (extended header and metadata).
        message_id: header-v2 MSG_ID (0 for v1).
        metadata: header-v2 metadata as (key, value) pairs, in wire order.
        content: the content bytes as received (ext header and metadata excluded); empty when
            built locally. Not part of equality.
    """

    device_name: str
    body: Body
    timestamp: int = 0
    header_version: int = 1
    message_id: int = 0
    metadata: tuple[tuple[str, str], ...] = ()
    content: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        encode_name(self.device_name, width=20, field="DEVICE_NAME")
        if self.header_version not in SUPPORTED_HEADER_VERSIONS:
            raise ValueError(f"header version {self.header_version} is not 1 or 2")
        if not 0 <= self.timestamp < 2**64:
            raise ValueError(f"timestamp {self.timestamp} does not fit 64 bits")
        if self.header_version == 1 and (self.metadata or self.message_id):
            raise ValueError("metadata and message id need header version 2")

    @property
    def message_type(self) -> str:
        """The TYPE field."""
        return self.body.message_type
