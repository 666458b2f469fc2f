"""The one module that imports pyigtl: OpenIGTLink content codecs behind functions of ours.

pyigtl 0.3.4 is used for what it gets right (OPENIGTLINK.md section 6): TRANSFORM and IMAGE
content packing and unpacking, STRING packing, and its CRC-64/ECMA-182 function (crcmod). What it
lacks or does laxly is written here with ``struct``:

* STATUS (pyigtl has none): code u16, sub-code **i64**, error name char[20], NUL-terminated message.
* STRING unpacking: pyigtl ignores a LENGTH that disagrees with the bytes present and raises a plain
  string (a ``TypeError``) for an unknown encoding; ours checks both.
* IMAGE: pyigtl takes any ``O`` byte other than 1 as LPS, any ``E`` other than 2 as big-endian, and
  packs native byte order as "little" on every machine; ours checks ``V``, ``E``, ``O`` and the
  voxel count first and hands pyigtl little-endian voxels only.

Every function raises ``ValueError`` for malformed input (foreign exceptions are translated with
``raise ... from``); the caller (``robot.igtl.codec``) adds the message type and device name.
The header, the header-v2 extension and CRC checking are ``robot.igtl``'s, not pyigtl's. The
pyigtl communication classes appear only in :class:`PyigtlAckBaseline`, a benchmark baseline.
"""

from __future__ import annotations

import importlib.util
import logging
import signal
import struct
import threading
import time
from typing import TYPE_CHECKING, Final, NamedTuple

import numpy as np
import pyigtl
from pyigtl import messages as _pyigtl_messages

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "ASCII_MIBENUM",
    "TEXT_ENCODINGS",
    "UTF8_MIBENUM",
    "VTK_ASCII_ENCODING",
    "PyigtlAckBaseline",
    "PyigtlAckServer",
    "StatusFields",
    "crc64",
    "crc64_is_accelerated",
    "pack_image",
    "pack_status",
    "pack_string",
    "pack_transform",
    "unpack_image",
    "unpack_status",
    "unpack_string",
    "unpack_transform",
]

logger = logging.getLogger(__name__)

ASCII_MIBENUM: Final = 3
UTF8_MIBENUM: Final = 106
#: VTK's VTK_ENCODING_US_ASCII: what Slicer's OpenIGTLinkIF puts in a STRING from a text node.
VTK_ASCII_ENCODING: Final = 1
#: The STRING encodings read as text, and the codec each is read with.
TEXT_ENCODINGS: Final = {VTK_ASCII_ENCODING: "ascii", ASCII_MIBENUM: "ascii", UTF8_MIBENUM: "utf-8"}
_TRANSFORM_BYTES: Final = 48
_STRING_HEAD: Final = struct.Struct(">HH")
_STATUS_HEAD: Final = struct.Struct(">Hq20s")
_IMAGE_HEAD: Final = struct.Struct(">HBBBBHHH12fHHHHHH")
_MAX_U16: Final = 0xFFFF
_T_RAS_FROM_LPS: Final = np.diag([-1.0, -1.0, 1.0, 1.0])
_IMAGE_DTYPES: Final[dict[int, type[np.generic]]] = {
    2: np.int8,
    3: np.uint8,
    4: np.int16,
    5: np.uint16,
    6: np.int32,
    7: np.uint32,
    10: np.float32,
    11: np.float64,
}


def crc64(data: bytes | bytearray | memoryview) -> int:
    """CRC-64/ECMA-182 (poly 0x42F0E1EBA9EA3693, init 0, MSB first, xorout 0) of ``data``."""
    return int(_pyigtl_messages.CRC64(data))


def crc64_is_accelerated() -> bool:
    """Whether crcmod's C extension is present (~315 MB/s); without it CRC runs at ~11 MB/s."""
    return importlib.util.find_spec("crcmod._crcfunext") is not None


def pack_transform(matrix: NDArray[np.float64]) -> bytes:
    """Pack the upper 3x4 of a 4x4 matrix as 12 big-endian f32, column-major (48 bytes)."""
    if matrix.shape != (4, 4):
        raise ValueError(f"TRANSFORM needs a 4x4 matrix, got shape {matrix.shape}")
    content: bytes = pyigtl.TransformMessage(matrix=matrix)._pack_content()  # noqa: SLF001 - content hook
    return content


def unpack_transform(content: bytes | memoryview) -> NDArray[np.float64]:
    """Unpack 48 bytes of TRANSFORM content into a 4x4 float64 matrix (last row 0 0 0 1)."""
    if len(content) != _TRANSFORM_BYTES:
        raise ValueError(f"TRANSFORM content is {len(content)} B, must be {_TRANSFORM_BYTES} B")
    message = pyigtl.TransformMessage()
    message._unpack_content(bytes(content))  # noqa: SLF001 - pyigtl's content hook
    return np.array(message.matrix, dtype=np.float64)


def pack_string(text: str) -> bytes:
    """Pack US-ASCII text as STRING content (encoding 3, LENGTH u16, bytes, no terminator)."""
    if not text.isascii():
        raise ValueError(f"STRING text must be US-ASCII to send, got {text[:40]!r}")
    if len(text) > _MAX_U16:
        raise ValueError(f"STRING text is {len(text)} characters, at most {_MAX_U16}")
    content: bytes = pyigtl.StringMessage(string=text)._pack_content()  # noqa: SLF001 - content hook
    return content


def unpack_string(content: bytes | memoryview) -> tuple[str, int]:
    """Unpack STRING content; returns the text and its encoding as received.

    Ours, not pyigtl's: LENGTH must match the bytes present exactly. Encodings 3 (IANA US-ASCII)
    and 1 (VTK's US-ASCII, sent by Slicer) are read as ASCII, 106 as UTF-8; any other is refused.
    """
    if len(content) < _STRING_HEAD.size:
        raise ValueError(f"STRING content is {len(content)} B, needs at least {_STRING_HEAD.size}")
    encoding, length = _STRING_HEAD.unpack_from(content)
    if length != len(content) - _STRING_HEAD.size:
        raise ValueError(
            f"STRING LENGTH {length} B disagrees with {len(content) - _STRING_HEAD.size} B present"
        )
    raw = bytes(content[_STRING_HEAD.size :])
    codec = TEXT_ENCODINGS.get(encoding)
    if codec is None:
        raise ValueError(
            f"STRING encoding {encoding} is not read as text: only 3 (US-ASCII), "
            "1 (VTK US-ASCII) and 106 (UTF-8)"
        )
    try:
        return raw.decode(codec), encoding
    except UnicodeDecodeError as err:
        raise ValueError(
            f"STRING bytes are not valid {codec} (encoding {encoding}): byte "
            f"0x{raw[err.start]:02x} at {err.start}: {err.reason}"
        ) from err


class StatusFields(NamedTuple):
    """The four fields of STATUS content."""

    code: int
    subcode: int
    error_name: str
    message: str


def pack_status(fields: StatusFields) -> bytes:
    """Pack STATUS content: code u16, sub-code i64, error name char[20], message, NUL (ours)."""
    name = fields.error_name.encode("ascii")
    if len(name) > 20:  # noqa: PLR2004 - width of ERROR_NAME
        raise ValueError(f"STATUS error name {fields.error_name!r} is {len(name)} B, at most 20")
    message = fields.message.encode("ascii")
    if b"\0" in message:
        raise ValueError("STATUS message must not contain NUL")
    try:
        head = _STATUS_HEAD.pack(fields.code, fields.subcode, name)
    except struct.error as err:
        raise ValueError(f"STATUS code {fields.code} or sub-code {fields.subcode}: {err}") from err
    return head + message + b"\0"


def unpack_status(content: bytes | memoryview) -> StatusFields:
    """Unpack STATUS content (ours); the message must be NUL-terminated, as the C library needs."""
    if len(content) < _STATUS_HEAD.size + 1:
        raise ValueError(f"STATUS content is {len(content)} B, needs at least 31 B")
    code, subcode, raw_name = _STATUS_HEAD.unpack_from(content)
    raw_message = bytes(content[_STATUS_HEAD.size :])
    end = raw_message.find(b"\0")
    if end < 0:
        raise ValueError("STATUS message is not NUL-terminated")
    try:
        name = raw_name.split(b"\0", 1)[0].decode("ascii")
        message = raw_message[:end].decode("ascii")
    except UnicodeDecodeError as err:
        raise ValueError(f"STATUS error name or message is not ASCII: {err.reason}") from err
    return StatusFields(code=code, subcode=subcode, error_name=name, message=message)


def pack_image(voxels: NDArray[np.generic], ijk_to_ras: NDArray[np.float64]) -> bytes:
    """Pack IMAGE content in RAS; ``voxels`` are indexed (k, j, i) or (k, j, i, component).

    ``ijk_to_ras`` maps voxel indices to RAS mm (first voxel at its translation).
    """
    if voxels.ndim not in (3, 4):
        raise ValueError(f"IMAGE voxels need 3 or 4 axes (k, j, i[, c]), got {voxels.ndim}")
    if voxels.dtype.type not in _IMAGE_DTYPES.values():
        raise ValueError(f"IMAGE voxel type {voxels.dtype} has no OpenIGTLink scalar type")
    if ijk_to_ras.shape != (4, 4):
        raise ValueError(f"IMAGE ijk_to_ras must be 4x4, got {ijk_to_ras.shape}")
    if any(size > _MAX_U16 for size in voxels.shape[:3]):
        raise ValueError(f"IMAGE size {voxels.shape[:3]} exceeds {_MAX_U16} voxels per axis")
    little = np.ascontiguousarray(voxels, dtype=voxels.dtype.newbyteorder("<"))
    message = pyigtl.ImageMessage(
        image=little, ijk_to_world_matrix=ijk_to_ras, world_coordinate_system="ras"
    )
    content: bytes = message._pack_content()  # noqa: SLF001 - pyigtl's content hook
    return content


def unpack_image(content: bytes | memoryview) -> tuple[NDArray[np.generic], NDArray[np.float64]]:
    """Unpack IMAGE content; returns read-only voxels (k, j, i[, c]) and ``ijk_to_ras`` (4x4).

    ``O`` = 2 (LPS) is converted to RAS here, once.
    """
    if len(content) < _IMAGE_HEAD.size:
        raise ValueError(f"IMAGE content is {len(content)} B, needs at least {_IMAGE_HEAD.size}")
    head = _IMAGE_HEAD.unpack_from(content)
    version, components, scalar, endian, frame = head[0:5]
    size_ijk = head[5:8]
    if version != 1:
        raise ValueError(f"IMAGE header version {version}, only 1 is defined")
    if scalar not in _IMAGE_DTYPES:
        raise ValueError(f"IMAGE scalar type {scalar} is not defined")
    if endian not in (1, 2) or frame not in (1, 2):
        raise ValueError(f"IMAGE byte order {endian} or coordinate frame {frame} is not 1 or 2")
    expected = components * int(np.prod(size_ijk)) * np.dtype(_IMAGE_DTYPES[scalar]).itemsize
    if components < 1 or len(content) - _IMAGE_HEAD.size != expected:
        raise ValueError(
            f"IMAGE carries {len(content) - _IMAGE_HEAD.size} B of voxels; "
            f"{components} component(s) of size {size_ijk} need {expected} B"
        )
    message = pyigtl.ImageMessage()
    try:
        message._unpack_content(bytes(content))  # noqa: SLF001 - pyigtl's content hook
    except NotImplementedError as err:
        raise ValueError(f"IMAGE sub-volumes are not supported: {err}") from err
    voxels = np.asarray(message.image)
    matrix = np.array(message.ijk_to_world_matrix, dtype=np.float64)
    if frame == 2:  # noqa: PLR2004 - LPS
        matrix = _T_RAS_FROM_LPS @ matrix
    return voxels, matrix


def _answer_commands(
    server: pyigtl.OpenIGTLinkServer, stop: threading.Event, poll_s: float
) -> None:
    """Answer every ``STRING(CMD_<id>)`` with ``STRING(ACK_<id>)`` until ``stop`` is set.

    The responder thread of :class:`PyigtlAckServer` and :class:`PyigtlAckBaseline`: polls
    pyigtl's server every ``poll_s``.
    """
    while not stop.is_set():
        for message in server.get_latest_messages():
            name = str(message.device_name)
            if name.startswith("CMD_"):
                ack = pyigtl.StringMessage(string=message.string, device_name="ACK_" + name[4:])
                server.send_message(ack, wait=False)
        stop.wait(poll_s)


class PyigtlAckServer:
    """pyigtl's own server answering ``STRING(CMD_<id>)`` with ``STRING(ACK_<id>)``: a baseline.

    The benchmark's clients connect to :attr:`port` with their own sockets. The responder thread
    polls pyigtl's server as :class:`PyigtlAckBaseline` does. Main thread only (pyigtl installs
    signal handlers, restored by :meth:`close`). pyigtl serves one client at a time.
    """

    def __init__(self, *, poll_s: float = 0.0005) -> None:
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        self._server = pyigtl.OpenIGTLinkServer(port=0, local_server=True)
        self.port = int(self._server.server_address[1])
        self._responder = threading.Thread(
            target=_answer_commands,
            args=(self._server, self._stop, self._poll_s),
            name="pyigtl-ack-server",
        )
        self._responder.start()

    def close(self) -> None:
        """Stop the responder and the server; restore the signal handlers."""
        self._stop.set()
        self._responder.join(timeout=5.0)
        self._server.stop()
        for signum, handler in self._handlers.items():
            signal.signal(signum, handler)


class PyigtlAckBaseline:
    """CMD/ACK exchange through pyigtl's own server and client: the benchmark baseline only.

    A responder thread polls pyigtl's server for ``CMD_<id>`` strings and answers ``ACK_<id>``;
    :meth:`exchange` sends a command through pyigtl's client and waits with its
    ``wait_for_message``. Must be used from the main thread: pyigtl's server installs SIGINT and
    SIGTERM handlers, which :meth:`close` restores. pyigtl's own "print host" thread outlives
    :meth:`close` by up to 6 s (it sleeps; it cannot be joined).
    """

    def __init__(self, *, poll_s: float = 0.0005) -> None:
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._server: pyigtl.OpenIGTLinkServer | None = None
        self._client: pyigtl.OpenIGTLinkClient | None = None
        self._responder: threading.Thread | None = None
        self._handlers: dict[int, object] = {}

    def start(self, *, timeout_s: float = 5.0) -> None:
        """Start pyigtl's server on a free loopback port and connect pyigtl's client to it."""
        self._handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        self._server = pyigtl.OpenIGTLinkServer(port=0, local_server=True)
        port = int(self._server.server_address[1])
        self._responder = threading.Thread(
            target=_answer_commands,
            args=(self._server, self._stop, self._poll_s),
            name="pyigtl-baseline-responder",
        )
        self._responder.start()
        self._client = pyigtl.OpenIGTLinkClient(host="127.0.0.1", port=port)
        deadline = time.monotonic() + timeout_s
        while not (self._client.is_connected() and self._server.is_connected()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"pyigtl client did not connect within {timeout_s} s")
            self._stop.wait(0.001)

    def exchange(self, command_id: str, text: str, *, timeout_s: float = 1.0) -> str:
        """Send ``STRING(CMD_<id>, text)`` and wait for ``ACK_<id>``; returns the ACK text."""
        if self._client is None:
            raise RuntimeError("PyigtlAckBaseline.exchange() before start()")
        command = pyigtl.StringMessage(string=text, device_name=f"CMD_{command_id}")
        self._client.send_message(command, wait=False)
        reply = self._client.wait_for_message(f"ACK_{command_id}", timeout=timeout_s)
        if reply is None:
            raise TimeoutError(f"pyigtl baseline: no ACK_{command_id} within {timeout_s} s")
        return str(reply.string)

    def close(self) -> None:
        """Stop the client, the responder and the server; restore the signal handlers."""
        self._stop.set()
        if self._client is not None:
            self._client.stop()
        if self._responder is not None:
            self._responder.join(timeout=5.0)
        if self._server is not None:
            self._server.stop()
        for signum, handler in self._handlers.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]  # getsignal's own result
