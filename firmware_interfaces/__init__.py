"""Wire protocol between mrbot and the motor-controller firmware: bytes in, messages out, no I/O.

Frames are ``version | type | seq | len | payload | crc32``, COBS-encoded and ended by 0x00 (see
``docs/PROTOCOL.md``, generated from the catalog, and the generated C header
``firmware_interfaces/c/mrbot_protocol.h``).
"""

from firmware_interfaces.catalog import (
    MESSAGE_CLASSES,
    check_catalog,
    layout_for,
    max_payload_size,
)
from firmware_interfaces.constants import (
    CRC_CHECK_VALUE,
    MAX_AXES,
    MAX_FRAME_BYTES,
    MAX_PAYLOAD_BYTES,
    MAX_WIRE_BYTES,
    NO_AXIS,
    PROTOCOL_VERSION_MAJOR,
    PROTOCOL_VERSION_MINOR,
)
from firmware_interfaces.decoder import FrameDecoder, FrameFault
from firmware_interfaces.docs import PROTOCOL_MD_NAME, generate_protocol_md
from firmware_interfaces.enums import (
    AxisKind,
    AxisStatus,
    Capability,
    Direction,
    FaultCode,
    FirmwareState,
    LimitSwitch,
    MessageType,
    NackReason,
    ParamId,
    StopCategory,
)
from firmware_interfaces.errors import (
    FaultKind,
    FrameDecodeError,
    MessageValueError,
    ProtocolError,
    ProtocolVersionError,
)
from firmware_interfaces.fields import FieldSpec, layout_of
from firmware_interfaces.framing import Frame, crc32, decode_frame, encode_frame, encode_raw_frame
from firmware_interfaces.header import HEADER_PATH, generate_header, header_is_current
from firmware_interfaces.messages import (
    Ack,
    AxisTelemetry,
    ClearFault,
    Disable,
    Enable,
    EStop,
    Fault,
    GetParam,
    Heartbeat,
    Hello,
    Home,
    Ident,
    Jog,
    Message,
    Move,
    Nack,
    ParamValue,
    SetParam,
    Stop,
    Telemetry,
)
from firmware_interfaces.samples import sample_messages, sample_telemetry
from firmware_interfaces.selftest import Check, SelftestReport, run_selftest
from firmware_interfaces.version import check_version

__all__ = [
    "CRC_CHECK_VALUE",
    "HEADER_PATH",
    "MAX_AXES",
    "MAX_FRAME_BYTES",
    "MAX_PAYLOAD_BYTES",
    "MAX_WIRE_BYTES",
    "MESSAGE_CLASSES",
    "NO_AXIS",
    "PROTOCOL_MD_NAME",
    "PROTOCOL_VERSION_MAJOR",
    "PROTOCOL_VERSION_MINOR",
    "Ack",
    "AxisKind",
    "AxisStatus",
    "AxisTelemetry",
    "Capability",
    "Check",
    "ClearFault",
    "Direction",
    "Disable",
    "EStop",
    "Enable",
    "Fault",
    "FaultCode",
    "FaultKind",
    "FieldSpec",
    "FirmwareState",
    "Frame",
    "FrameDecodeError",
    "FrameDecoder",
    "FrameFault",
    "GetParam",
    "Heartbeat",
    "Hello",
    "Home",
    "Ident",
    "Jog",
    "LimitSwitch",
    "Message",
    "MessageType",
    "MessageValueError",
    "Move",
    "Nack",
    "NackReason",
    "ParamId",
    "ParamValue",
    "ProtocolError",
    "ProtocolVersionError",
    "SelftestReport",
    "SetParam",
    "Stop",
    "StopCategory",
    "Telemetry",
    "check_catalog",
    "check_version",
    "crc32",
    "decode_frame",
    "encode_frame",
    "encode_raw_frame",
    "generate_header",
    "generate_protocol_md",
    "header_is_current",
    "layout_for",
    "layout_of",
    "max_payload_size",
    "run_selftest",
    "sample_messages",
    "sample_telemetry",
]
