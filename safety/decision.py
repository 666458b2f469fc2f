"""Values that flow through the supervisor: requests, guard inputs, refusals and decisions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from safety.states import WORKPHASE_OF_STATE, Event, State, StatusCode, StopCategory, SubCode

if TYPE_CHECKING:
    from safety.config import SupervisorConfig
    from safety.interlocks import Interlock, InterlockId
    from safety.permits import JointEnvelope, MotionPermit
    from safety.states import Workphase

__all__ = ["Decision", "GuardInput", "Memory", "Refusal", "Request"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """The payload of an event; which fields an event needs is checked by its guard.

    Attributes:
        source: who sent it (console id, ``hal``, ``control_loop``), for the audit log.
        plan_id: the plan a MOVE or RETRACT permit is bound to.
        envelopes: per-joint envelopes a MOVE or RETRACT asks for (joint units).
        calibration_id: identifies the registration a CALIBRATE accepts.
        target_id: identifies the target a SET_TARGET accepts.
        target_depth_mm: the insertion-axis position (mm) the target a SET_TARGET accepts
            needs; an INSERT permit never reaches deeper than that plus
            ``SupervisorConfig.retraction_tolerance_mm``.
        rejected: the robot's own check of a CALIBRATE matrix or SET_TARGET pose failed with
            this sub-code (``INVALID_MATRIX``, ``OUT_OF_RANGE``); ``None`` when it passed.
        reason: free text for the audit log (why a FAULT or HOMING_FAILED was raised, what a
            rejected matrix failed).
    """

    source: str = ""
    plan_id: str | None = None
    envelopes: tuple[JointEnvelope, ...] = ()
    calibration_id: str | None = None
    target_id: str | None = None
    target_depth_mm: float | None = None
    rejected: SubCode | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Memory:
    """What the supervisor remembers between events besides its state.

    Attributes:
        calibration_id: the accepted registration, or ``None``.
        target_id: the accepted target, or ``None`` (discarded by TARGETING and CALIBRATE).
        target_depth_mm: the insertion depth (mm) of the accepted target, or ``None``.
    """

    calibration_id: str | None = None
    target_id: str | None = None
    target_depth_mm: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardInput:
    """Everything a guard may read; guards are pure functions of this value.

    Attributes:
        insertion_position_mm: measured insertion-axis position of this cycle's snapshot (mm,
            larger = deeper), ``None`` when not measured.
        needle_in: the needle counts as inserted (``safety.interlocks.needle_in``).
        needle_text: where the needle is, in words, for refusals.
    """

    state: State
    tripped: tuple[Interlock, ...]
    memory: Memory
    request: Request
    config: SupervisorConfig
    insertion_position_mm: float | None = None
    needle_in: bool = False
    needle_text: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    """Why a guard refused: OpenIGTLink code and sub-code plus one sentence for the console."""

    code: StatusCode
    sub_code: SubCode
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The supervisor's answer to one event.

    Attributes:
        event: the event handled; ``None`` for an unknown instruction.
        accepted: the event was carried out (STOP and EMERGENCY always are).
        state_before: state when the event arrived.
        state_after: state after it (equal to ``state_before`` when refused).
        code: OpenIGTLink STATUS code for the console.
        sub_code: OpenIGTLink sub-code (``ERROR_NAME``).
        reason: one sentence for the console, with the numbers.
        permit: the live permit after this decision (motion states only), else ``None``.
        stop: the stop the control loop must command now, or ``None``.
        tripped: the interlocks tripped in the snapshot this decision saw.
    """

    event: Event | None
    accepted: bool
    state_before: State
    state_after: State
    code: StatusCode
    sub_code: SubCode
    reason: str
    permit: MotionPermit | None = None
    stop: StopCategory | None = None
    tripped: tuple[InterlockId, ...] = ()

    @property
    def workphase(self) -> Workphase:
        """The OpenIGTLink workphase of ``state_after``."""
        return WORKPHASE_OF_STATE[self.state_after]
