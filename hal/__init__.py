"""Hardware abstraction: serial transport, controller driver, axes and the firmware emulator.

``FirmwareState`` (in :class:`JointReadings`) and ``StopCategory`` (of ``ControllerDriver.stop``)
are the wire protocol's enums, re-exported as part of the HAL's API.
"""

from firmware_interfaces import StopCategory
from hal.axes import ImagingInterlockError, PiezoAxis, PneumaticStepperAxis
from hal.clock import Clock, MonotonicClock
from hal.config import (
    LINK_TIMEOUT_FLOOR_S,
    LINK_TIMEOUT_PERIODS,
    ControllerConfig,
    JointKind,
    PiezoConfig,
    PneumaticStepperConfig,
    from_wire_um,
    to_wire_um,
)
from hal.controller import ControllerDriver
from hal.errors import (
    AxisFaultError,
    HalError,
    HalTimeoutError,
    HandshakeError,
    LifecycleError,
    LinkDownError,
    MotionBusyError,
    NackError,
    PermitRefusedError,
    RequestAbortedError,
    RequestTimeoutError,
    TransportError,
    VersionMismatchError,
)
from hal.events import FaultEvent, HalFaultKind, LinkCounters, TelemetrySample
from hal.readings import (
    AxisFault,
    AxisReading,
    FirmwareState,
    JointReadings,
    joint_readings_from,
)
from hal.status import CallbackReturn, HalStatus, LifecycleState
from hal.transport import SerialTransport, Transport, TransportOpener, serial_opener

__all__ = [
    "LINK_TIMEOUT_FLOOR_S",
    "LINK_TIMEOUT_PERIODS",
    "AxisFault",
    "AxisFaultError",
    "AxisReading",
    "CallbackReturn",
    "Clock",
    "ControllerConfig",
    "ControllerDriver",
    "FaultEvent",
    "FirmwareState",
    "HalError",
    "HalFaultKind",
    "HalStatus",
    "HalTimeoutError",
    "HandshakeError",
    "ImagingInterlockError",
    "JointKind",
    "JointReadings",
    "LifecycleError",
    "LifecycleState",
    "LinkCounters",
    "LinkDownError",
    "MonotonicClock",
    "MotionBusyError",
    "NackError",
    "PermitRefusedError",
    "PiezoAxis",
    "PiezoConfig",
    "PneumaticStepperAxis",
    "PneumaticStepperConfig",
    "RequestAbortedError",
    "RequestTimeoutError",
    "SerialTransport",
    "StopCategory",
    "TelemetrySample",
    "Transport",
    "TransportError",
    "TransportOpener",
    "VersionMismatchError",
    "from_wire_um",
    "joint_readings_from",
    "serial_opener",
    "to_wire_um",
]
