from __future__ import annotations

import dataclasses

import pytest

from safety.errors import PermitError
from safety.permits import JointEnvelope, MotionPermit, PermitAuthority
from tests.support.clock import FakeClock


def _env(joint="x", lo=-10.0, hi=10.0, speed=5.0):
    return JointEnvelope(joint=joint, min_position=lo, max_position=hi, max_speed=speed)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def authority(clock):
    return PermitAuthority(clock)


def test_issued_permit_verifies_for_a_target_inside_its_envelope(authority):
    permit = authority.issue(plan_id="p1", envelopes=[_env()], lease_s=0.5)
    assert authority.verifier.check(permit, joint="x", target=3.0, speed=2.0) is permit


@pytest.mark.hazard("H-01")
def test_move_is_refused_without_a_permit(authority):
    with pytest.raises(PermitError, match="needs a MotionPermit"):
        authority.verifier.check(None, joint="x", target=0.0)


@pytest.mark.hazard("H-01")
def test_a_permit_built_outside_the_authority_is_rejected(authority, clock):
    forged = MotionPermit(
        permit_id=1,
        plan_id="p",
        envelopes=(_env(),),
        issued_at_s=clock(),
        expires_at_s=clock() + 10,
        epoch=0,
        tag=b"\0" * 32,
    )
    with pytest.raises(PermitError, match="not authentic"):
        authority.verifier.check(forged, joint="x", target=0.0)


def test_a_tampered_permit_is_rejected(authority):
    permit = authority.issue(plan_id="p1", envelopes=[_env()], lease_s=0.5)
    widened = dataclasses.replace(permit, envelopes=(_env(hi=100.0),))
    with pytest.raises(PermitError, match="not authentic"):
        authority.verifier.check(widened, joint="x", target=50.0)


def test_another_authoritys_permit_is_rejected(authority, clock):
    other = PermitAuthority(clock).issue(plan_id="p1", envelopes=[_env()], lease_s=0.5)
    with pytest.raises(PermitError, match="not authentic"):
        authority.verifier.check(other, joint="x", target=0.0)


def test_a_permit_expires_on_the_injected_clock(authority, clock):
    permit = authority.issue(plan_id="p1", envelopes=[_env()], lease_s=0.5)
    clock.advance(0.5)
    with pytest.raises(PermitError, match="expired"):
        authority.verifier.check(permit, joint="x", target=0.0)


def test_extend_renews_the_lease(authority, clock):
    permit = authority.issue(plan_id="p1", envelopes=[_env()], lease_s=0.5)
    clock.advance(0.4)
    renewed = authority.extend(permit, 0.5)
    clock.advance(0.4)
    assert authority.verifier.check(renewed, joint="x", target=0.0).permit_id == permit.permit_id
    with pytest.raises(PermitError, match="expired"):
        authority.verifier.check(permit, joint="x", target=0.0)


def test_revoke_all_kills_every_earlier_permit(authority):
    permit = authority.issue(plan_id="p1", envelopes=[_env()], lease_s=5)
    authority.revoke_all()
    with pytest.raises(PermitError, match="revoked"):
        authority.verifier.check(permit, joint="x", target=0.0)
    with pytest.raises(PermitError, match="revoked"):
        authority.extend(permit, 1.0)


@pytest.mark.parametrize(
    ("joint", "target", "speed", "reason"),
    [
        ("y", 0.0, None, "does not cover joint 'y'"),
        ("x", 10.5, None, "outside the permit envelope"),
        ("x", float("nan"), None, "not finite"),
        ("x", 0.0, 5.5, "exceeds the permit cap"),
        ("x", 0.0, float("inf"), "exceeds the permit cap"),
    ],
)
def test_motion_outside_the_permit_is_refused_with_a_reason(
    authority, joint, target, speed, reason
):
    permit = authority.issue(plan_id="p1", envelopes=[_env()], lease_s=0.5)
    with pytest.raises(PermitError, match=reason):
        authority.verifier.check(permit, joint=joint, target=target, speed=speed)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"plan_id": "", "envelopes": [_env()], "lease_s": 1.0},
        {"plan_id": "p", "envelopes": [], "lease_s": 1.0},
        {"plan_id": "p", "envelopes": [_env(), _env()], "lease_s": 1.0},
        {"plan_id": "p", "envelopes": [_env()], "lease_s": 0.0},
        {"plan_id": "p", "envelopes": [_env()], "lease_s": float("nan")},
    ],
)
def test_issue_rejects_bad_arguments(authority, kwargs):
    with pytest.raises(ValueError, match=r"."):
        authority.issue(**kwargs)


def test_envelope_validates_its_values():
    with pytest.raises(ValueError, match="min"):
        _env(lo=2.0, hi=1.0)
    with pytest.raises(ValueError, match="non-finite"):
        _env(lo=float("nan"))
    with pytest.raises(ValueError, match="max_speed"):
        _env(speed=0.0)
