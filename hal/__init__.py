"""Hardware abstraction: serial transport, controller driver, axes and the firmware emulator."""

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
from hal.status import CallbackReturn, HalStatus, LifecycleState
from hal.transport import SerialTransport, Transport, TransportOpener, serial_opener

__all__ = [
    "LINK_TIMEOUT_FLOOR_S",
    "LINK_TIMEOUT_PERIODS",
    "AxisFaultError",
    "CallbackReturn",
    "Clock",
    "ControllerConfig",
    "ControllerDriver",
    "FaultEvent",
    "HalError",
    "HalFaultKind",
    "HalStatus",
    "HalTimeoutError",
    "HandshakeError",
    "ImagingInterlockError",
    "JointKind",
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
    "TelemetrySample",
    "Transport",
    "TransportError",
    "TransportOpener",
    "VersionMismatchError",
    "from_wire_um",
    "serial_opener",
    "to_wire_um",
]
