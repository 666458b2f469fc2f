"""What the robot is doing over several control cycles, and how each job ends."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from safety import StatusCode, SubCode

if TYPE_CHECKING:
    from kinematics import JointGoal, SynchronisedMove, Transform
    from kinematics.types import FloatArray

__all__ = [
    "AcceptedTarget",
    "JobKind",
    "JobResult",
    "MoveJob",
    "StartUpJob",
    "StartUpStep",
    "StopJob",
    "TargetOutcome",
]


class JobKind(enum.Enum):
    """Kinds of multi-cycle work; the value is the workphase or request a result answers."""

    START_UP = "START_UP"
    MOVE = "MOVE_TO_TARGET"
    RETRACT = "RETRACT_NEEDLE"
    STOP = "STOP"
    EMERGENCY = "EMERGENCY"
    FAULT = "FAULT"


@dataclass(frozen=True, slots=True, kw_only=True)
class JobResult:
    """How a job ended (or a fault outside any job): what the console is told.

    Attributes:
        kind: which job.
        code: OpenIGTLink STATUS code.
        sub_code: sub-code (its name is the ERROR_NAME).
        reason: one sentence with the numbers.
        cut_motion: a STOP or EMERGENCY that cut a move, a homing or moving axes (the consoles
            then get the position it left the robot at); ``False`` for one at rest.
    """

    kind: JobKind
    code: StatusCode
    sub_code: SubCode
    reason: str
    cut_motion: bool = False

    @property
    def ok(self) -> bool:
        """Whether the job succeeded."""
        return self.code is StatusCode.OK


class StartUpStep(enum.Enum):
    """Steps of START_UP."""

    CONNECT = "connect (reconnect a lost link, handshake)"
    CLEAR_FIRMWARE = "clear a latched firmware fault"
    RESET = "reset the supervisor's latch"
    BRING_UP = "bring up the controller"
    AWAIT_TELEMETRY = "await telemetry"
    HOMING = "homing"


@dataclass(slots=True, kw_only=True)
class StartUpJob:
    """START_UP: reset latches, bring the controller up, home every axis."""

    step: StartUpStep
    started_s: float
    step_started_s: float
    source: str
    attempts: int = 0
    retry_at_s: float = 0.0
    cleared: bool = False
    #: The controller was (re)activated by this START_UP (so a holding firmware is waited for,
    #: not enabled again).
    activated: bool = False


@dataclass(slots=True, kw_only=True)
class MoveJob:
    """A planned motion, one synchronised segment at a time (retract, lateral, insert).

    Attributes:
        kind: MOVE (to the target) or RETRACT.
        segments: the trajectory's synchronised moves.
        index: the segment in progress.
        goal: final joint vector.
        segment_started_s: clock time the current segment was sent.
        sent: whether the current segment went to the HAL.
        insert: insertion segments still to come after ``segments`` (a MOVE's second permit).
        move_id: the controller's command id of the current segment's move, once accepted.
    """

    kind: JobKind
    segments: tuple[SynchronisedMove, ...]
    goal: FloatArray
    index: int = 0
    segment_started_s: float = 0.0
    sent: bool = False
    plan_id: str = ""
    history: list[str] = field(default_factory=list)
    insert: tuple[SynchronisedMove, ...] = ()
    move_id: int | None = None


@dataclass(slots=True, kw_only=True)
class StopJob:
    """STOP or EMERGENCY: wait for standstill, then report (``cut_motion``: see JobResult)."""

    kind: JobKind
    started_s: float
    escalated: bool = False
    cut_motion: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptedTarget:
    """A target the robot accepted.

    Attributes:
        target_id: its id (the TGT_ command id).
        requested: the TRANSFORM as received (scanner RAS, mm).
        goal: joint goal from the kinematics.
        T_scanner_from_reached: the pose the robot will reach (TRANSFORM(TARGET)).
    """

    target_id: str
    requested: Transform
    goal: JointGoal
    T_scanner_from_reached: Transform


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetOutcome:
    """What became of a target (a TGT_ transform, a pending one, a re-alignment).

    Attributes:
        code: OpenIGTLink STATUS code of ``STATUS(TARGET)``.
        sub_code: its sub-code.
        reason: one sentence (on acceptance: the plan's description).
        judged: the robot's checks or the supervisor judged it (news for every console); False
            when refused before any check (the needle is in, not ready for a target): an answer
            to the requester only.
        T_scanner_from_reached: the pose the robot will reach, when accepted; else ``None``.
    """

    code: StatusCode
    sub_code: SubCode
    reason: str
    judged: bool
    T_scanner_from_reached: Transform | None = None

    @property
    def accepted(self) -> bool:
        """Whether the target is now the robot's accepted target."""
        return self.T_scanner_from_reached is not None
