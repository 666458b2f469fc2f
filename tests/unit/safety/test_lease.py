from __future__ import annotations

import pytest

from safety.errors import PermitError
from safety.interlocks import MotionKind
from safety.lease import MotionLease
from tests.support.clock import FakeClock
from tests.unit.safety.helpers import CONFIG, MOVE_ENVELOPES, RETRACT_ENVELOPES


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def lease(clock):
    return MotionLease(CONFIG, clock)


@pytest.mark.hazard("H-01")
def test_granting_a_permit_revokes_every_earlier_one(lease):
    first = lease.grant(MotionKind.TARGET, plan_id="a", envelopes=MOVE_ENVELOPES)
    second = lease.grant(MotionKind.RETRACTION, plan_id="b", envelopes=RETRACT_ENVELOPES)
    with pytest.raises(PermitError, match="revoked"):
        lease.verifier.check_alive(first)
    assert lease.verifier.check_alive(second) is second
    assert lease.kind is MotionKind.RETRACTION
    assert [j.name for j in lease.joints] == ["insert"]


@pytest.mark.hazard("H-10")
def test_renewing_extends_a_live_lease_and_refuses_to_revive_an_expired_one(lease, clock):
    lease.grant(MotionKind.TARGET, plan_id="a", envelopes=MOVE_ENVELOPES)
    clock.advance(0.15)
    assert lease.renew() is None
    clock.advance(0.15)
    assert lease.verifier.check_alive(lease.permit)
    clock.advance(0.2)
    reason = lease.renew()
    assert reason is not None
    assert "expired" in reason
    assert lease.permit is None


def test_homing_envelopes_cover_every_joint_at_homing_speed(lease):
    envelopes = {e.joint: e for e in lease.homing_envelopes()}
    assert set(envelopes) == {j.name for j in CONFIG.joints}
    for joint in CONFIG.joints:
        assert envelopes[joint.name].max_speed == joint.homing_speed
        assert (envelopes[joint.name].min_position, envelopes[joint.name].max_position) == (
            joint.min_position,
            joint.max_position,
        )


def test_withdrawing_without_a_permit_still_moves_the_epoch(lease):
    epoch = lease.epoch
    assert lease.withdraw() is None
    assert lease.epoch == epoch + 1
