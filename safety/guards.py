"""Guards of the transition table: pure functions of a :class:`GuardInput`.

Each guard returns ``None`` to allow the transition or a :class:`Refusal` with the OpenIGTLink
code, sub-code and a sentence for the console. No I/O, no clock, no exceptions on any input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from safety.decision import Refusal
from safety.interlocks import Interlock, InterlockId, MotionKind, Scope
from safety.states import State, StatusCode, SubCode

if TYPE_CHECKING:
    from collections.abc import Iterable

    from safety.config import JointConfig, SupervisorConfig
    from safety.decision import GuardInput
    from safety.permits import JointEnvelope

# A latching interlock that applies in READY (an idle state) must be clear before a reset.
_IDLE_PROBE = frozenset({State.READY})

__all__ = [
    "blocking_interlocks",
    "calibration_accepted",
    "has_calibration",
    "homing_allowed",
    "homing_covered_every_joint",
    "homing_stages",
    "insert_allowed",
    "lateral_homing_allowed",
    "move_allowed",
    "needle_is_in",
    "needle_out",
    "needle_out_with_calibration",
    "needle_out_with_target",
    "needle_out_without_calibration",
    "needle_refusal",
    "permit_problem",
    "reset_allowed",
    "retract_allowed",
    "target_accepted",
]


def blocking_interlocks(
    tripped: Iterable[Interlock], kind: MotionKind, joints: Iterable[JointConfig]
) -> tuple[Interlock, ...]:
    """The tripped interlocks that forbid motion of ``kind`` on ``joints``."""
    joint_list = tuple(joints)
    return tuple(i for i in tripped if i.scope is not Scope.COMMANDS and i.blocks(kind, joint_list))


def _interlock_refusal(blocking: tuple[Interlock, ...]) -> Refusal:
    first = blocking[0]
    names = ", ".join(f"{i.id.value} ({i.condition})" for i in blocking)
    return Refusal(
        code=StatusCode.NOT_READY,
        sub_code=first.sub_code,
        reason=f"{len(blocking)} interlock(s) tripped: {names}",
    )


def _check_envelopes(g: GuardInput, kind: MotionKind) -> tuple[JointConfig, ...] | Refusal:
    request = g.request
    if not request.plan_id:
        return Refusal(
            code=StatusCode.CONFIG_ERROR,
            sub_code=SubCode.BAD_VALUE,
            reason=f"a {kind.value} permit needs a plan_id",
        )
    if not request.envelopes:
        return Refusal(
            code=StatusCode.CONFIG_ERROR,
            sub_code=SubCode.BAD_VALUE,
            reason=f"plan {request.plan_id!r} asks to move no joint",
        )
    joints: list[JointConfig] = []
    seen: set[str] = set()
    for env in request.envelopes:
        joint = g.config.joint(env.joint)
        if joint is None or env.joint in seen:
            known = ", ".join(j.name for j in g.config.joints)
            what = "twice" if env.joint in seen else f"but the robot has only {known}"
            return Refusal(
                code=StatusCode.CONFIG_ERROR,
                sub_code=SubCode.BAD_VALUE,
                reason=f"plan {request.plan_id!r} names joint {env.joint!r} {what}",
            )
        seen.add(env.joint)
        excess = max(joint.min_position - env.min_position, env.max_position - joint.max_position)
        if excess > 0:
            return Refusal(
                code=StatusCode.CONFIG_ERROR,
                sub_code=SubCode.OUT_OF_RANGE,
                reason=(
                    f"joint {env.joint!r} envelope [{env.min_position:g}, {env.max_position:g}] "
                    f"exceeds its limits [{joint.min_position:g}, {joint.max_position:g}] "
                    f"by {excess:g}"
                ),
            )
        if env.max_speed > joint.max_speed:
            return Refusal(
                code=StatusCode.CONFIG_ERROR,
                sub_code=SubCode.OUT_OF_RANGE,
                reason=(
                    f"joint {env.joint!r} speed cap {env.max_speed:g} exceeds its maximum "
                    f"{joint.max_speed:g} per second"
                ),
            )
        joints.append(joint)
    return tuple(joints)


def needle_refusal(g: GuardInput, what: str) -> Refusal:
    """The refusal of ``what`` while the needle counts as inserted: depth and the way out."""
    return Refusal(
        code=StatusCode.NOT_READY,
        sub_code=SubCode.INTERLOCK,
        reason=(
            f"{what} refused: {g.needle_text or 'the needle counts as inserted'} (interlock "
            f"{InterlockId.NEEDLE_INSERTED.value}); only the needle may move, back out: "
            "RETRACT_NEEDLE (START_UP also retracts it first)"
        ),
    )


def permit_problem(
    envelopes: Iterable[JointEnvelope], config: SupervisorConfig, *, needle_in: bool
) -> str | None:
    """Why a permit over ``envelopes`` would let the needle move sideways in tissue, or ``None``.

    The rule every permit obeys, whatever the row that grants it: a permit that covers a lateral
    axis is issued only while the needle is measured out, and it never lets the insertion axis
    beyond the retracted band. So lateral motion and insertion are never permitted together.
    """
    envelope_list = tuple(envelopes)
    lateral = [e.joint for e in envelope_list if _is_lateral(config.joint(e.joint))]
    if not lateral:
        return None
    if needle_in:
        return f"it covers lateral joint(s) {lateral} while the needle counts as inserted"
    band = config.retracted_band_mm
    for env in envelope_list:
        joint = config.joint(env.joint)
        if joint is not None and joint.insertion and env.max_position > band:
            return (
                f"it covers lateral joint(s) {lateral} and lets {env.joint!r} reach "
                f"{env.max_position:g} mm, beyond the retracted band ({band:g} mm)"
            )
    return None


def _is_lateral(joint: JointConfig | None) -> bool:
    return joint is not None and not joint.insertion


def _lateral_refusal(g: GuardInput, what: str) -> Refusal | None:
    problem = permit_problem(g.request.envelopes, g.config, needle_in=g.needle_in)
    if problem is None:
        return None
    if g.needle_in:
        return needle_refusal(g, what)
    return Refusal(
        code=StatusCode.CONFIG_ERROR,
        sub_code=SubCode.OUT_OF_RANGE,
        reason=f"{what} refused: {problem}",
    )


def move_allowed(g: GuardInput) -> Refusal | None:
    """MOVE (align): a valid plan inside the limits, needle out, no interlock blocking it.

    The align permit may cover the lateral axes only while the needle is measured out, and
    keeps the insertion axis inside the retracted band; the insertion follows as INSERT.
    """
    checked = _check_envelopes(g, MotionKind.TARGET)
    if isinstance(checked, Refusal):
        return checked
    if g.memory.target_id is None:
        return Refusal(
            code=StatusCode.NOT_READY, sub_code=SubCode.NO_TARGET, reason="no target is set"
        )
    if g.needle_in:
        return needle_refusal(g, "MOVE_TO_TARGET")
    lateral = _lateral_refusal(g, "MOVE_TO_TARGET (align)")
    if lateral is not None:
        return lateral
    band = g.config.retracted_band_mm
    for env, joint in zip(g.request.envelopes, checked, strict=True):
        if joint.insertion and env.max_position > band:
            return Refusal(
                code=StatusCode.CONFIG_ERROR,
                sub_code=SubCode.OUT_OF_RANGE,
                reason=(
                    f"an alignment keeps {env.joint!r} inside the retracted band ({band:g} mm), "
                    f"plan reaches {env.max_position:g} mm; the insertion follows as INSERT"
                ),
            )
    blocking = blocking_interlocks(g.tripped, MotionKind.TARGET, checked)
    return _interlock_refusal(blocking) if blocking else None


def _insertion_axis_only(
    g: GuardInput, kind: MotionKind, motion: str
) -> tuple[JointConfig, ...] | Refusal:
    """The checked envelopes of a plan that moves the insertion axis alone (``motion`` names it)."""
    checked = _check_envelopes(g, kind)
    if isinstance(checked, Refusal):
        return checked
    others = [j.name for j in checked if not j.insertion]
    if others:
        return Refusal(
            code=StatusCode.CONFIG_ERROR,
            sub_code=SubCode.BAD_VALUE,
            reason=f"{motion} may move the insertion axis only, plan also moves {others}",
        )
    return checked


def insert_allowed(g: GuardInput) -> Refusal | None:
    """INSERT: the insertion axis alone, towards the accepted target, no interlock blocking it."""
    checked = _insertion_axis_only(g, MotionKind.TARGET, "an insertion")
    if isinstance(checked, Refusal):
        return checked
    depth_mm = g.memory.target_depth_mm
    if g.memory.target_id is None or depth_mm is None:
        return Refusal(
            code=StatusCode.NOT_READY,
            sub_code=SubCode.NO_TARGET,
            reason="no target with a known insertion depth is set",
        )
    limit_mm = depth_mm + g.config.retraction_tolerance_mm
    for env in g.request.envelopes:
        if env.max_position > limit_mm:
            return Refusal(
                code=StatusCode.CONFIG_ERROR,
                sub_code=SubCode.OUT_OF_RANGE,
                reason=(
                    f"insertion envelope of {env.joint!r} reaches {env.max_position:g} mm, deeper "
                    f"than the accepted target's {depth_mm:g} mm + tolerance "
                    f"{g.config.retraction_tolerance_mm:g} mm"
                ),
            )
    blocking = blocking_interlocks(g.tripped, MotionKind.TARGET, checked)
    return _interlock_refusal(blocking) if blocking else None


def needle_is_in(g: GuardInput) -> Refusal | None:
    """The needle counts as inserted (measured beyond the retracted band, or unknown)."""
    if g.needle_in:
        return None
    return Refusal(
        code=StatusCode.NOT_READY,
        sub_code=SubCode.UNKNOWN,
        reason=f"{g.needle_text or 'the needle is out'} (the needle-out row applies)",
    )


def retract_allowed(g: GuardInput) -> Refusal | None:
    """RETRACT: the insertion axis only, never deeper than measured, no interlock blocking it.

    The envelope's ``max_position`` (larger = deeper) must not exceed the measured insertion
    position plus ``retraction_tolerance_mm``; the request is refused, not clamped (SR-05). An
    unknown insertion position refuses the retraction: without it the permit could let the HAL
    drive the needle deeper.
    """
    checked = _insertion_axis_only(g, MotionKind.RETRACTION, "a retraction")
    if isinstance(checked, Refusal):
        return checked
    blocking = blocking_interlocks(g.tripped, MotionKind.RETRACTION, checked)
    if blocking:
        return _interlock_refusal(blocking)
    return _retraction_depth(g)


def _retraction_depth(g: GuardInput) -> Refusal | None:
    depth_mm = g.insertion_position_mm
    if depth_mm is None:
        return Refusal(
            code=StatusCode.NOT_READY,
            sub_code=SubCode.NOT_READY,
            reason=(
                "a retraction needs the measured insertion position (insertion_position_mm), "
                "which is unknown: the permit could otherwise let the needle go deeper; "
                "START_UP retracts it by homing the insertion axis first"
            ),
        )
    tolerance_mm = g.config.retraction_tolerance_mm
    for env in g.request.envelopes:
        if env.max_position > depth_mm + tolerance_mm:
            return Refusal(
                code=StatusCode.CONFIG_ERROR,
                sub_code=SubCode.OUT_OF_RANGE,
                reason=(
                    f"retraction envelope of {env.joint!r} reaches {env.max_position:g} mm, "
                    f"deeper than the measured insertion {depth_mm:g} mm + tolerance "
                    f"{tolerance_mm:g} mm; a retraction may not go deeper"
                ),
            )
    return None


def homing_stages(config: SupervisorConfig) -> tuple[tuple[JointConfig, ...], ...]:
    """The joints homed by each START_UP stage: the insertion axis first, then the others.

    Homing drives an axis towards its lower limit switch, which for the insertion axis is the
    retracted end: the first stage brings the needle out along its own axis, and only then
    (the needle measured out) the lateral axes home. A robot without an insertion axis, or
    with nothing else, homes in one stage.
    """
    insertion = config.insertion_joint()
    others = tuple(j for j in config.joints if not j.insertion)
    if insertion is None or not others:
        return (config.joints,)
    return ((insertion,), others)


def homing_allowed(g: GuardInput) -> Refusal | None:
    """START_UP: no interlock blocks homing of the first stage's joints (the insertion axis)."""
    first = homing_stages(g.config)[0]
    blocking = blocking_interlocks(g.tripped, MotionKind.HOMING, first)
    return _interlock_refusal(blocking) if blocking else None


def lateral_homing_allowed(g: GuardInput) -> Refusal | None:
    """HOME_LATERAL: the needle is measured out and no interlock blocks the other joints."""
    stages = homing_stages(g.config)
    if len(stages) < 2:  # noqa: PLR2004 - the two stages
        return Refusal(
            code=StatusCode.NOT_READY,
            sub_code=SubCode.UNKNOWN,
            reason="this robot homes every joint in one stage",
        )
    if g.needle_in:
        return needle_refusal(g, "homing the lateral axes")
    blocking = blocking_interlocks(g.tripped, MotionKind.HOMING, stages[1])
    return _interlock_refusal(blocking) if blocking else None


def homing_covered_every_joint(g: GuardInput) -> Refusal | None:
    """HOMING_DONE straight from STARTUP: only for a robot that homes in one stage."""
    if len(homing_stages(g.config)) == 1:
        return None
    return Refusal(
        code=StatusCode.NOT_READY,
        sub_code=SubCode.NOT_READY,
        reason="the lateral axes have not been homed yet (HOME_LATERAL first)",
    )


def reset_allowed(g: GuardInput) -> Refusal | None:
    """RESET: every latching interlock that applies outside motion is clear (e-stop released)."""
    blocking = tuple(
        i for i in g.tripped if i.latch is not None and not i.applies_in.isdisjoint(_IDLE_PROBE)
    )
    if not blocking:
        return None
    refusal = _interlock_refusal(blocking)
    return Refusal(
        code=refusal.code,
        sub_code=refusal.sub_code,
        reason=f"cannot reset from {g.state.value}: {refusal.reason}",
    )


def _identified_and_accepted(
    g: GuardInput, *, what: str, identifier: str | None, needs: str
) -> Refusal | None:
    """The robot's checks did not reject the request and it carries an id (``needs`` says which)."""
    request = g.request
    if request.rejected is not None:
        return Refusal(
            code=StatusCode.CONFIG_ERROR,
            sub_code=request.rejected,
            reason=request.reason or f"{what} rejected ({request.rejected.name})",
        )
    if not identifier:
        return Refusal(
            code=StatusCode.CONFIG_ERROR,
            sub_code=SubCode.BAD_VALUE,
            reason=needs,
        )
    return None


def calibration_accepted(g: GuardInput) -> Refusal | None:
    """CALIBRATE: an identified calibration that passed the robot's rigidity check."""
    return _identified_and_accepted(
        g,
        what="calibration",
        identifier=g.request.calibration_id,
        needs="CALIBRATE needs a calibration_id",
    )


def target_accepted(g: GuardInput) -> Refusal | None:
    """SET_TARGET: an identified target that passed the robot's validity and reach checks."""
    return _identified_and_accepted(
        g, what="target", identifier=g.request.target_id, needs="SET_TARGET needs a target_id"
    )


def has_calibration(g: GuardInput) -> Refusal | None:
    """A calibration has been accepted since the last START_UP."""
    if g.memory.calibration_id is None:
        return Refusal(
            code=StatusCode.NOT_READY,
            sub_code=SubCode.NOT_CALIBRATED,
            reason="no calibration has been accepted since START_UP",
        )
    return None


def needle_out(g: GuardInput) -> Refusal | None:
    """The needle interlock is clear (the snapshot agrees the needle is out)."""
    for i in g.tripped:
        if i.id is InterlockId.NEEDLE_INSERTED:
            return Refusal(
                code=StatusCode.NOT_READY,
                sub_code=SubCode.INTERLOCK,
                reason=f"the needle is still detected ({i.id.value})",
            )
    return None


def needle_out_with_target(g: GuardInput) -> Refusal | None:
    """Needle out and a target held: back to TARGET_SET (the target is kept)."""
    refusal = needle_out(g)
    if refusal is not None:
        return refusal
    if g.memory.target_id is None:
        return Refusal(
            code=StatusCode.NOT_READY, sub_code=SubCode.NO_TARGET, reason="no target is held"
        )
    return None


def needle_out_with_calibration(g: GuardInput) -> Refusal | None:
    """Needle out and a calibration held (no target): back to CALIBRATED."""
    return needle_out(g) or has_calibration(g)


def needle_out_without_calibration(g: GuardInput) -> Refusal | None:
    """Needle out and no calibration held: back to READY."""
    refusal = needle_out(g)
    if refusal is not None:
        return refusal
    if g.memory.calibration_id is not None:
        return Refusal(
            code=StatusCode.NOT_READY,
            sub_code=SubCode.UNKNOWN,
            reason="calibration is held (the CALIBRATED row applies)",
        )
    return None
