"""The message catalog: every message type, its class and its wire layout, in one table.

This table and the field descriptions on the message classes are the single source from which
the codec, the C header (``header.py``) and ``docs/PROTOCOL.md`` (``docs.py``) are generated.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

from firmware_interfaces.constants import MAX_AXES, MAX_PAYLOAD_BYTES
from firmware_interfaces.enums import MessageType
from firmware_interfaces.fields import Layout, layout_of
from firmware_interfaces.messages import (
    Ack,
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

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["MESSAGE_CLASSES", "check_catalog", "layout_for", "max_payload_size"]

MESSAGE_CLASSES: Mapping[MessageType, type[Message]] = MappingProxyType(
    {
        cls.TYPE: cls
        for cls in (
            Hello,
            Heartbeat,
            Enable,
            Disable,
            Home,
            Move,
            Jog,
            Stop,
            EStop,
            ClearFault,
            SetParam,
            GetParam,
            Ident,
            Ack,
            Nack,
            Telemetry,
            ParamValue,
            Fault,
        )
    }
)
"""Message type -> message class, in MessageType order."""


def layout_for(message_type: MessageType) -> Layout:
    """Wire layout of one message type.

    Raises:
        KeyError: the type has no message class.
    """
    return layout_of(MESSAGE_CLASSES[message_type])


def max_payload_size(message_type: MessageType) -> int:
    """Largest payload of a message type, in bytes (with ``MAX_AXES`` axes where it has axes)."""
    layout = layout_for(message_type)
    return layout.payload_size(MAX_AXES if layout.has_axes else 0)


def check_catalog() -> None:
    """Check that every message type has a class and fits ``MAX_PAYLOAD_BYTES``.

    Raises:
        TypeError: the catalog is inconsistent.
    """
    missing = [t.name for t in MessageType if t not in MESSAGE_CLASSES]
    if missing:
        raise TypeError(f"message types without a class: {', '.join(missing)}")
    too_big = [t.name for t in MessageType if max_payload_size(t) > MAX_PAYLOAD_BYTES]
    if too_big:
        raise TypeError(f"payload above {MAX_PAYLOAD_BYTES} bytes: {', '.join(too_big)}")
