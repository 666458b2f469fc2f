"""Supervisor states, events, stop categories and the OpenIGTLink status vocabulary.

States map to the BRP workphases of OpenIGTLink (OPENIGTLINK.md section 4) as follows; the
workphase is what ``CURRENT_STATUS`` names when the supervisor is in that state:

- ``OFF`` -> ``START_UP``: no links, drives off; START_UP needed before anything moves
- ``STARTUP`` -> ``START_UP``: homing the insertion axis alone first (it homes towards the
  retracted end, so this retracts the needle); the permit covers the insertion axis only
- ``HOMING_LATERAL`` -> ``START_UP``: homing the other axes once the needle is measured out; the
  permit does not cover the insertion axis
- ``READY`` -> ``PLANNING``: homed, holding, no calibration yet
- ``CALIBRATED`` -> ``CALIBRATION``: homed and registered to the scanner, no target
- ``TARGET_SET`` -> ``TARGETING``: a reachable target is accepted
- ``MOVING`` -> ``MOVE_TO_TARGET``: aligning the guide with the target path (needle measured
  out; the permit keeps the insertion axis inside the retracted band)
- ``AT_TARGET`` -> ``MOVE_TO_TARGET``: aligned with the target path, needle out, holding
- ``INSERTING`` -> ``MOVE_TO_TARGET``: inserting to the target depth (the permit covers the
  insertion axis only)
- ``NEEDLE_INSERTED`` -> ``MOVE_TO_TARGET``: the measured insertion axis is beyond the retracted
  band (or unknown): only a retraction may move
- ``RETRACTING`` -> ``MOVE_TO_TARGET``: retracting the needle along the insertion axis only
- ``MANUAL`` -> ``MANUAL``: operator's manual mode: automatic motion refused
- ``PROTECTIVE_STOP`` -> ``STOP``: latched after an interlock trip; RESET then START_UP
- ``EMERGENCY_STOP`` -> ``EMERGENCY``: latched after e-stop / EMERGENCY; RESET then START_UP
- ``FAULT`` -> ``EMERGENCY``: latched after a fault (link loss, homing failure, bug)
"""

from __future__ import annotations

import enum
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "COMMAND_EVENTS",
    "EVENT_NAME",
    "LATCHED_STATES",
    "MOTION_STATES",
    "STATE_NAME",
    "SUB_CODE_NAME",
    "UNGATED_EVENTS",
    "WORKPHASE_OF_STATE",
    "Event",
    "State",
    "StatusCode",
    "StopCategory",
    "SubCode",
    "Workphase",
]


class State(enum.Enum):
    """Supervisor states (see the module docstring for their meaning)."""

    # Members are singletons compared by identity; the C-level identity hash replaces Enum's
    # Python-level ``hash(self._name_)`` on the per-decision path (see robot/bench/safety.py).
    __hash__ = object.__hash__

    OFF = "OFF"
    STARTUP = "STARTUP"
    HOMING_LATERAL = "HOMING_LATERAL"
    READY = "READY"
    CALIBRATED = "CALIBRATED"
    TARGET_SET = "TARGET_SET"
    MOVING = "MOVING"
    AT_TARGET = "AT_TARGET"
    INSERTING = "INSERTING"
    NEEDLE_INSERTED = "NEEDLE_INSERTED"
    RETRACTING = "RETRACTING"
    MANUAL = "MANUAL"
    PROTECTIVE_STOP = "PROTECTIVE_STOP"
    EMERGENCY_STOP = "EMERGENCY_STOP"
    FAULT = "FAULT"


class Event(enum.Enum):
    """Events the supervisor handles; the value is the trigger name on the state machine."""

    # Members are singletons compared by identity; the C-level identity hash replaces Enum's
    # Python-level ``hash(self._name_)`` on the per-decision path (see robot/bench/safety.py).
    __hash__ = object.__hash__

    # operator commands (need command authority)
    START_UP = "start_up"
    CALIBRATE = "calibrate"
    PLAN = "plan"
    TARGETING = "targeting"
    SET_TARGET = "set_target"
    MOVE = "move"
    INSERT = "insert"
    RETRACT = "retract"
    MANUAL = "manual"
    RESET = "reset"
    SHUTDOWN = "shutdown"
    # stops: accepted from anyone, in every state
    STOP = "stop"
    EMERGENCY = "emergency"
    # reported by the HAL / control loop
    HOME_LATERAL = "home_lateral"
    HOMING_DONE = "homing_done"
    HOMING_FAILED = "homing_failed"
    MOTION_DONE = "motion_done"
    NEEDLE_INSERTED = "needle_inserted"
    NEEDLE_REMOVED = "needle_removed"
    FAULT = "fault"
    # raised by Supervisor.evaluate() from the interlock table
    TRIP = "trip"
    PAUSE = "pause"


class Workphase(enum.Enum):
    """BRP workphases named in ``CURRENT_STATUS`` (OPENIGTLINK.md 4.2)."""

    START_UP = "START_UP"
    PLANNING = "PLANNING"
    CALIBRATION = "CALIBRATION"
    TARGETING = "TARGETING"
    MOVE_TO_TARGET = "MOVE_TO_TARGET"
    MANUAL = "MANUAL"
    STOP = "STOP"
    EMERGENCY = "EMERGENCY"


class StopCategory(enum.IntEnum):
    """IEC 60204-1 stop categories: 0 power off at once, 1 controlled then off, 2 hold powered."""

    CAT0 = 0
    CAT1 = 1
    CAT2 = 2


class StatusCode(enum.IntEnum):
    """OpenIGTLink STATUS codes (docs/OPENIGTLINK.md section 2): the one definition of them.

    The supervisor's decisions carry them, and the OpenIGTLink layer (``robot.igtl``) sends them
    as they are; 0 is never sent.
    """

    INVALID = 0
    OK = 1
    UNKNOWN_ERROR = 2
    PANIC = 3
    NOT_FOUND = 4
    ACCESS_DENIED = 5
    BUSY = 6
    TIME_OUT = 7
    OVERFLOW = 8
    CHECKSUM_ERROR = 9
    CONFIG_ERROR = 10
    NO_RESOURCES = 11
    UNKNOWN_INSTRUCTION = 12
    NOT_READY = 13
    MANUAL_MODE = 14
    DISABLED = 15
    NOT_PRESENT = 16
    VERSION_UNKNOWN = 17
    HARDWARE_FAILURE = 18
    SHUTTING_DOWN = 19


class SubCode(enum.IntEnum):
    """Sub-codes of OPENIGTLINK.md 4.5; the name is the ``ERROR_NAME`` sent to the console."""

    OK = 0
    INVALID_MATRIX = 1
    NOT_CALIBRATED = 2
    OUT_OF_RANGE = 3
    NO_TARGET = 4
    MANUAL_MODE = 5
    BUSY = 6
    INTERLOCK = 7
    NOT_READY = 8
    NOT_IN_CONTROL = 9
    HARDWARE = 10
    BAD_VALUE = 11
    UNKNOWN = 12


#: States in which a motion permit may be live.
MOTION_STATES: Final = frozenset(
    {State.STARTUP, State.HOMING_LATERAL, State.MOVING, State.INSERTING, State.RETRACTING}
)
#: States left only through RESET.
LATCHED_STATES: Final = frozenset({State.PROTECTIVE_STOP, State.EMERGENCY_STOP, State.FAULT})
#: Events that stop: never refused, never need command authority.
UNGATED_EVENTS: Final = frozenset({Event.STOP, Event.EMERGENCY})
#: Events that come from a console and need command authority.
COMMAND_EVENTS: Final = frozenset(
    {
        Event.START_UP,
        Event.CALIBRATE,
        Event.PLAN,
        Event.TARGETING,
        Event.SET_TARGET,
        Event.MOVE,
        Event.RETRACT,
        Event.MANUAL,
        Event.RESET,
        Event.SHUTDOWN,
    }
)

WORKPHASE_OF_STATE: Mapping[State, Workphase] = MappingProxyType(
    {
        State.OFF: Workphase.START_UP,
        State.STARTUP: Workphase.START_UP,
        State.HOMING_LATERAL: Workphase.START_UP,
        State.READY: Workphase.PLANNING,
        State.CALIBRATED: Workphase.CALIBRATION,
        State.TARGET_SET: Workphase.TARGETING,
        State.MOVING: Workphase.MOVE_TO_TARGET,
        State.AT_TARGET: Workphase.MOVE_TO_TARGET,
        State.INSERTING: Workphase.MOVE_TO_TARGET,
        State.NEEDLE_INSERTED: Workphase.MOVE_TO_TARGET,
        State.RETRACTING: Workphase.MOVE_TO_TARGET,
        State.MANUAL: Workphase.MANUAL,
        State.PROTECTIVE_STOP: Workphase.STOP,
        State.EMERGENCY_STOP: Workphase.EMERGENCY,
        State.FAULT: Workphase.EMERGENCY,
    }
)

#: Precomputed names for audit records (Enum ``.name``/``.value`` are slow descriptors).
STATE_NAME: Mapping[State, str] = MappingProxyType({s: s.value for s in State})
EVENT_NAME: Mapping[Event, str] = MappingProxyType({e: e.name for e in Event})
SUB_CODE_NAME: Mapping[SubCode, str] = MappingProxyType({c: c.name for c in SubCode})
