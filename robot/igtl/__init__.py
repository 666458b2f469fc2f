"""OpenIGTLink transport: codec, hardened multi-client TCP server, authority, ACK handler."""

from robot.igtl.ack import MAX_COMMAND_ID_LENGTH, AckHandler, parse_command_id
from robot.igtl.authority import Authority
from robot.igtl.client import IgtlClient
from robot.igtl.codec import decode_body, decode_frame, encode, encode_content
from robot.igtl.config import PeerNetwork, ServerConfig, parse_endpoint
from robot.igtl.connection import IgtlConnection
from robot.igtl.deframer import Deframer, Frame
from robot.igtl.dialer import DialerStats
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
    IgtlSendTimeoutError,
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
from robot.igtl.header import (
    HEADER_SIZE,
    Header,
    timestamp_from_s,
    timestamp_to_s,
    unpack_header,
)
from robot.igtl.limits import BodyLimits
from robot.igtl.messages import (
    Body,
    IgtlMessage,
    ImageBody,
    QueryBody,
    RawBody,
    RtsBody,
    StatusBody,
    StatusCode,
    StringBody,
    TransformBody,
)
from robot.igtl.server import IgtlServer
from robot.igtl.stats import ConnectionStats, ServerStats

__all__ = [
    "HEADER_SIZE",
    "MAX_COMMAND_ID_LENGTH",
    "AckHandler",
    "Authority",
    "Body",
    "BodyLimits",
    "CommandReceived",
    "Connection",
    "ConnectionId",
    "ConnectionStats",
    "Deframer",
    "DialerStats",
    "Frame",
    "Header",
    "IgtlClient",
    "IgtlConnection",
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
    "IgtlSendTimeoutError",
    "IgtlServer",
    "IgtlSizeLimitError",
    "IgtlUnknownTypeError",
    "ImageBody",
    "MessageHandler",
    "MessageReceived",
    "PeerConnected",
    "PeerDisconnected",
    "PeerNetwork",
    "PoseKind",
    "PoseReceived",
    "QueryBody",
    "RawBody",
    "RtsBody",
    "ServerConfig",
    "ServerStats",
    "StatusBody",
    "StatusCode",
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
