"""OpenIGTLink transport: codec, hardened multi-client TCP server, authority, ACK handler."""

from robot.igtl.ack import MAX_COMMAND_ID_LENGTH, AckHandler, parse_command_id
from robot.igtl.authority import Authority
from robot.igtl.client import IgtlClient
from robot.igtl.codec import decode_body, decode_frame, encode, encode_content
from robot.igtl.config import ServerConfig, parse_endpoint
from robot.igtl.deframer import Deframer
from robot.igtl.errors import (
    IgtlConnectionClosedError,
    IgtlCrcError,
    IgtlDecodeError,
    IgtlError,
    IgtlHeaderError,
    IgtlMetadataError,
    IgtlPeerClosedError,
    IgtlReceiveTimeoutError,
    IgtlSendError,
    IgtlSizeLimitError,
    IgtlUnknownTypeError,
)
from robot.igtl.events import (
    CommandReceived,
    IgtlEvent,
    MessageReceived,
    PeerConnected,
    PeerDisconnected,
    PoseKind,
    PoseReceived,
    Workphase,
)
from robot.igtl.handler import Connection, ConnectionId, MessageHandler
from robot.igtl.header import HEADER_SIZE, timestamp_from_s, timestamp_to_s, unpack_header
from robot.igtl.limits import BodyLimits
from robot.igtl.messages import (
    IgtlMessage,
    ImageBody,
    QueryBody,
    RawBody,
    RtsBody,
    StatusBody,
    StringBody,
    TransformBody,
)
from robot.igtl.server import IgtlServer

__all__ = [
    "HEADER_SIZE",
    "MAX_COMMAND_ID_LENGTH",
    "AckHandler",
    "Authority",
    "BodyLimits",
    "CommandReceived",
    "Connection",
    "ConnectionId",
    "Deframer",
    "IgtlClient",
    "IgtlConnectionClosedError",
    "IgtlCrcError",
    "IgtlDecodeError",
    "IgtlError",
    "IgtlEvent",
    "IgtlHeaderError",
    "IgtlMessage",
    "IgtlMetadataError",
    "IgtlPeerClosedError",
    "IgtlReceiveTimeoutError",
    "IgtlSendError",
    "IgtlServer",
    "IgtlSizeLimitError",
    "IgtlUnknownTypeError",
    "ImageBody",
    "MessageHandler",
    "MessageReceived",
    "PeerConnected",
    "PeerDisconnected",
    "PoseKind",
    "PoseReceived",
    "QueryBody",
    "RawBody",
    "RtsBody",
    "ServerConfig",
    "StatusBody",
    "StringBody",
    "TransformBody",
    "Workphase",
    "decode_body",
    "decode_frame",
    "encode",
    "encode_content",
    "parse_command_id",
    "parse_endpoint",
    "timestamp_from_s",
    "timestamp_to_s",
    "unpack_header",
]
