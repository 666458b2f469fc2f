"""The firmware emulator: protocol, physics, fault plan; in-process, pty and TCP servers."""

from hal.emulator.config import EmulatorConfig, emulator_config_for
from hal.emulator.faults import FAULT_NAMES, FaultKind, FaultPlan, FaultSpec, parse_fault
from hal.emulator.firmware import EmulatedFirmware, TruthSample
from hal.emulator.inprocess import InProcessPort, RealTimeRunner
from hal.emulator.servers import EmulatorServer, PtyServer, TcpServer

__all__ = [
    "FAULT_NAMES",
    "EmulatedFirmware",
    "EmulatorConfig",
    "EmulatorServer",
    "FaultKind",
    "FaultPlan",
    "FaultSpec",
    "InProcessPort",
    "PtyServer",
    "RealTimeRunner",
    "TcpServer",
    "TruthSample",
    "emulator_config_for",
    "parse_fault",
]
