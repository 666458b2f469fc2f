"""Frames to :class:`IgtlMessage` and back: header, header-v2 parts, CRC-64, typed content.

Content codecs come from ``robot.igtl_adapter`` (pyigtl where it is right, ours where it is not).
The CRC is always verified on decode (pyigtl never does).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Final

from robot import igtl_adapter as adapter
from robot.igtl.errors import (
    IgtlCrcError,
    IgtlDecodeError,
    IgtlMetadataError,
    IgtlUnknownTypeError,
)
from robot.igtl.header import (
    HEADER_SIZE,
    Header,
    decode_name,
    pack_header,
    pack_v2_body,
    split_v2_body,
    unpack_header,
)
from robot.igtl.messages import (
    QUERY_VERBS,
    Body,
    IgtlMessage,
    ImageBody,
    QueryBody,
    RtsBody,
    StatusBody,
    StringBody,
    TransformBody,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["decode_body", "decode_frame", "encode", "encode_content"]

_RTS: Final = struct.Struct(">B")


def encode_content(body: Body) -> bytes:
    """The content bytes of one body (without header-v2 parts).

    Raises:
        ValueError: the body cannot be encoded (e.g. RawBody TRANSFORM not 48 B).
    """
    if isinstance(body, StringBody):
        if body.encoding != adapter.ASCII_MIBENUM:
            raise ValueError("STRING is sent as US-ASCII (encoding 3) only")
        return adapter.pack_string(body.text)
    if isinstance(body, TransformBody):
        return adapter.pack_transform(body.matrix_ras_mm)
    if isinstance(body, StatusBody):
        if body.code == 0:
            raise ValueError("STATUS code 0 (invalid) is never sent")
        return adapter.pack_status(
            adapter.StatusFields(body.code, body.subcode, body.error_name, body.message)
        )
    if isinstance(body, ImageBody):
        return adapter.pack_image(body.voxels, body.ijk_to_ras)
    if isinstance(body, QueryBody):
        return body.payload
    if isinstance(body, RtsBody):
        return _RTS.pack(body.status)
    if body.type_name == "TRANSFORM" and len(body.content) != 48:  # noqa: PLR2004
        raise ValueError(f"raw TRANSFORM content is {len(body.content)} B, must be 48 B")
    return body.content


def encode(message: IgtlMessage, *, header_version: int | None = None) -> bytes:
    """The full frame (header and body) of ``message``, CRC included.

    Args:
        message: the message.
        header_version: send with this header version instead of ``message.header_version``
            (the server's configured version).

    Raises:
        ValueError: the message cannot be encoded (e.g. metadata with header version 1).
    """
    version = message.header_version if header_version is None else header_version
    if version == 1 and (message.metadata or message.message_id):
        raise ValueError(f"{message.device_name}: metadata and message id need header version 2")
    content = encode_content(message.body)
    if version == 2:  # noqa: PLR2004
        body = pack_v2_body(content, message_id=message.message_id, metadata=message.metadata)
    else:
        body = content
    header = pack_header(
        version=version,
        message_type=message.message_type,
        device_name=message.device_name,
        timestamp=message.timestamp,
        body_size=len(body),
        crc=adapter.crc64(body) if body else 0,
    )
    return header + body


def _decode_query(message_type: str, content: memoryview) -> Body:
    verb, data_type = message_type[:3], message_type[4:]
    if verb == "RTS":
        if len(content) != _RTS.size:
            raise ValueError(f"RTS content is {len(content)} B, must be 1 B")
        return RtsBody(data_type=data_type, status=content[0])
    if verb == "GET" and len(content):
        raise ValueError(f"GET_ content must be empty, got {len(content)} B")
    return QueryBody(verb=verb, data_type=data_type, payload=bytes(content))


def _decode_status(content: memoryview) -> Body:
    fields = adapter.unpack_status(content)
    code, subcode, error_name, message = fields
    return StatusBody(code=code, subcode=subcode, error_name=error_name, message=message)


def _decode_string(content: memoryview) -> Body:
    text, encoding = adapter.unpack_string(content)
    return StringBody(text=text, encoding=encoding)


def _decode_image(content: memoryview) -> Body:
    voxels, ijk_to_ras = adapter.unpack_image(content)
    return ImageBody(voxels=voxels, ijk_to_ras=ijk_to_ras)


def _decode_transform(content: memoryview) -> Body:
    return TransformBody(matrix_ras_mm=adapter.unpack_transform(content))


_DECODERS: Final[dict[str, Callable[[memoryview], Body]]] = {
    "STRING": _decode_string,
    "TRANSFORM": _decode_transform,
    "STATUS": _decode_status,
    "IMAGE": _decode_image,
}


def decode_body(header: Header, body: bytes | bytearray | memoryview) -> IgtlMessage:
    """Verify the CRC and decode one frame's body.

    Raises:
        IgtlCrcError: the CRC does not match.
        IgtlMetadataError: header-v2 sizes or metadata are wrong.
        IgtlUnknownTypeError: the TYPE is not one we decode (the frame is skipped).
        IgtlDecodeError: the device name or the content is malformed.
    """
    kind, raw_name = header.message_type, header.device_name_raw
    shown_name = raw_name.decode("ascii", errors="backslashreplace")
    if len(body) != header.body_size:
        raise IgtlDecodeError(
            f"body is {len(body)} B, header says {header.body_size} B",
            message_type=kind,
            device_name=shown_name,
        )
    actual = adapter.crc64(body) if len(body) else 0
    if actual != header.crc:
        raise IgtlCrcError(
            message_type=kind, device_name=shown_name, expected_crc=header.crc, actual_crc=actual
        )
    view = memoryview(body)
    message_id = 0
    metadata: tuple[tuple[str, str], ...] = ()
    if header.version == 2:  # noqa: PLR2004
        try:
            parts = split_v2_body(view)
        except IgtlMetadataError as err:
            raise IgtlMetadataError(err.reason, message_type=kind, device_name=shown_name) from err
        except (struct.error, ValueError, IndexError) as err:  # a size check we lack: still a drop
            raise IgtlMetadataError(
                f"header-v2 parts: {err}", message_type=kind, device_name=shown_name
            ) from err
        view, message_id, metadata = parts.content, parts.message_id, parts.metadata
    decoder = _DECODERS.get(kind)
    if decoder is None and kind[:3] in (*QUERY_VERBS, "RTS") and kind[3:4] == "_":
        decoder = lambda content: _decode_query(kind, content)  # noqa: E731
    if decoder is None:
        raise IgtlUnknownTypeError(
            f"TYPE {kind!r} is not decoded here", message_type=kind, device_name=shown_name
        )
    try:
        name = decode_name(raw_name, field="DEVICE_NAME")
        decoded = decoder(view)
        return IgtlMessage(
            device_name=name,
            body=decoded,
            timestamp=header.timestamp,
            header_version=header.version,
            message_id=message_id,
            metadata=metadata,
            content=bytes(view),
        )
    except (ValueError, struct.error, IndexError) as err:  # struct/index: a check we lack
        raise IgtlDecodeError(str(err), message_type=kind, device_name=shown_name) from err


def decode_frame(frame: bytes | bytearray | memoryview) -> IgtlMessage:
    """Decode one complete frame (header and body), e.g. in a client or a test.

    Raises:
        IgtlHeaderError: the header is unusable.
        IgtlDecodeError: as :func:`decode_body`, or the frame length disagrees with BODY_SIZE.
    """
    header = unpack_header(memoryview(frame)[:HEADER_SIZE]) if len(frame) >= HEADER_SIZE else None
    if header is None:
        raise IgtlDecodeError(f"frame of {len(frame)} B is shorter than the 58 B header")
    return decode_body(header, memoryview(frame)[HEADER_SIZE:])
