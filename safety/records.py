"""Payloads of the supervisor's audit records (plain JSON values, names not enums)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safety.states import EVENT_NAME, STATE_NAME, SUB_CODE_NAME

if TYPE_CHECKING:
    from safety.decision import Decision, Request
    from safety.interlocks import Interlock, MotionKind
    from safety.permits import MotionPermit

__all__ = ["decision_record", "interlock_change", "permit_issued", "permit_revoked"]


def decision_record(
    decision: Decision, request: Request, raw_event: object = None
) -> tuple[str, dict[str, object]]:
    """Kind (``refusal``, ``accepted``, ``transition``) and payload of a decision."""
    if not decision.accepted:
        kind = "refusal"
    elif decision.state_after is decision.state_before:
        kind = "accepted"
    else:
        kind = "transition"
    payload: dict[str, object] = {
        "event": str(raw_event) if decision.event is None else EVENT_NAME[decision.event],
        "from": STATE_NAME[decision.state_before],
        "to": STATE_NAME[decision.state_after],
        "code": int(decision.code),
        "sub_code": SUB_CODE_NAME[decision.sub_code],
        "reason": decision.reason,
        "stop": None if decision.stop is None else int(decision.stop),
        "source": request.source,
    }
    if request.reason:
        # What the caller said caused the event (e.g. the firmware fault behind a FAULT): the
        # audit log must name the cause, not only the transition it led to.
        payload["cause"] = request.reason
    if request.plan_id is not None:
        payload["plan_id"] = request.plan_id
    if request.calibration_id is not None:
        payload["calibration_id"] = request.calibration_id
    if request.target_id is not None:
        payload["target_id"] = request.target_id
    if request.target_depth_mm is not None:
        payload["target_depth_mm"] = request.target_depth_mm
    return kind, payload


def interlock_change(
    now: tuple[Interlock, ...], before: tuple[Interlock, ...]
) -> dict[str, object]:
    """Which interlocks tripped and cleared since the last snapshot, and which are active."""
    new = {i.id.value for i in now}
    old = {i.id.value for i in before}
    return {"tripped": sorted(new - old), "cleared": sorted(old - new), "active": sorted(new)}


def permit_issued(permit: MotionPermit, kind: MotionKind) -> dict[str, object]:
    """A granted permit: id, plan, kind, envelopes (joint units), expiry and epoch."""
    return {
        "permit_id": permit.permit_id,
        "plan_id": permit.plan_id,
        "kind": kind.value,
        "envelopes": [
            [e.joint, e.min_position, e.max_position, e.max_speed] for e in permit.envelopes
        ],
        "expires_at_s": permit.expires_at_s,
        "epoch": permit.epoch,
    }


def permit_revoked(old: MotionPermit | None, epoch: int, leaving: str) -> dict[str, object]:
    """A withdrawal: the permit that was live (if any), the new epoch and the state left."""
    return {
        "permit_id": None if old is None else old.permit_id,
        "epoch": epoch,
        "leaving": leaving,
    }
