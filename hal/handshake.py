"""The HELLO/IDENT handshake and the read-back of the firmware's limits (SERIAL_LINK_BASIS.md 4)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from firmware_interfaces import (
    MAX_PAYLOAD_BYTES,
    PROTOCOL_VERSION_MAJOR,
    PROTOCOL_VERSION_MINOR,
    AxisKind,
    Capability,
    GetParam,
    Hello,
    Ident,
    ParamId,
    ParamValue,
    ProtocolVersionError,
    check_version,
)
from hal.config import JointKind, PiezoConfig, from_wire_um, to_wire_um
from hal.errors import HandshakeError, NackError, VersionMismatchError

if TYPE_CHECKING:
    from hal.config import AxisConfig, ControllerConfig
    from hal.link import Link

__all__ = ["expected_axis_kind", "handshake", "read_homing_speeds"]

_ROTARY_KINDS: Final = frozenset({AxisKind.PNEUMATIC_STEPPER_ROTARY, AxisKind.PIEZO_ROTARY})
_LIMIT_TOLERANCE_UM: Final = 1
logger = logging.getLogger(__name__)


def expected_axis_kind(axis: AxisConfig) -> AxisKind:
    """The IDENT axis kind an axis configuration implies."""
    rotary = axis.kind is JointKind.ROTARY
    if isinstance(axis, PiezoConfig):
        return AxisKind.PIEZO_ROTARY if rotary else AxisKind.PIEZO_LINEAR
    return AxisKind.PNEUMATIC_STEPPER_ROTARY if rotary else AxisKind.PNEUMATIC_STEPPER_LINEAR


def handshake(link: Link, config: ControllerConfig, *, nonce: int) -> Ident:
    """Say HELLO, check IDENT (nonce, version, axes, watchdog), and compare the soft limits.

    Raises:
        VersionMismatchError: another protocol major (names both versions).
        HandshakeError: wrong axes, watchdog off, or limits that differ from the configuration.
        RequestTimeoutError, NackError, LinkDownError: no usable answer.
    """
    hello = Hello(
        protocol_major=PROTOCOL_VERSION_MAJOR,
        protocol_minor=PROTOCOL_VERSION_MINOR,
        max_payload_bytes=MAX_PAYLOAD_BYTES,
        nonce=nonce,
    )
    reply = link.request(hello, timeout_s=config.handshake_timeout_s, retries=config.retries)
    if not isinstance(reply, Ident):  # pragma: no cover - the link matches HELLO to IDENT only
        raise HandshakeError(f"HELLO answered by {type(reply).__name__}, expected IDENT")
    try:
        check_version(
            (PROTOCOL_VERSION_MAJOR, PROTOCOL_VERSION_MINOR),
            (reply.protocol_major, reply.protocol_minor),
        )
    except ProtocolVersionError as err:
        raise VersionMismatchError(host=err.host, firmware=err.firmware) from err
    expected = tuple(expected_axis_kind(a) for a in config.axes)
    if tuple(reply.axis_kinds) != expected:
        raise HandshakeError(
            f"firmware axes {[k.name for k in reply.axis_kinds]} do not match the "
            f"configuration {[k.name for k in expected]}"
        )
    if reply.watchdog_ms == 0 or not reply.capabilities & Capability.WATCHDOG:
        raise HandshakeError("firmware watchdog is off; refusing to drive the axes")
    for index, axis in enumerate(config.axes):
        _compare_limit(
            link, config, index, ParamId.SOFT_LIMIT_MIN_UM, to_wire_um(axis.min_position, axis.kind)
        )
        _compare_limit(
            link, config, index, ParamId.SOFT_LIMIT_MAX_UM, to_wire_um(axis.max_position, axis.kind)
        )
    return reply


def _compare_limit(
    link: Link, config: ControllerConfig, index: int, param: ParamId, expected_um: int
) -> None:
    reply = link.request(
        GetParam(param=param, axis=index), timeout_s=config.ack_timeout_s, retries=config.retries
    )
    if not isinstance(reply, ParamValue):  # pragma: no cover - the link matches GET_PARAM only
        raise HandshakeError(f"GET_PARAM answered by {type(reply).__name__}")
    if abs(reply.value - expected_um) > _LIMIT_TOLERANCE_UM:
        name = config.axes[index].name
        raise HandshakeError(
            f"axis {name}: firmware {param.name} is {reply.value} um, configuration says "
            f"{expected_um} um"
        )


def read_homing_speeds(link: Link, config: ControllerConfig) -> dict[str, float]:
    """Read each axis's homing speed (mm/s or rad/s), capped at the axis's top speed.

    A firmware that does not report ``HOMING_VELOCITY_UM_S`` (NACK) is assumed to home at the
    axis's top speed, the most a homing permit must then allow.

    Raises:
        RequestTimeoutError, LinkDownError: no usable answer.
    """
    speeds: dict[str, float] = {}
    for index, axis in enumerate(config.axes):
        top = axis.max_speed
        try:
            reply = link.request(
                GetParam(param=ParamId.HOMING_VELOCITY_UM_S, axis=index),
                timeout_s=config.ack_timeout_s,
                retries=config.retries,
            )
        except NackError as err:
            logger.warning("axis %s: homing speed unknown (%s); assuming %g/s", axis.name, err, top)
            speeds[axis.name] = top
            continue
        if not isinstance(reply, ParamValue):  # pragma: no cover - the link matches GET_PARAM
            raise HandshakeError(f"GET_PARAM answered by {type(reply).__name__}")
        reported = from_wire_um(reply.value, axis.kind)
        speeds[axis.name] = min(top, reported) if reported > 0 else top
    return speeds
