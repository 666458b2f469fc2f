"""Motion permits: the only way to authorise motion, issued by the supervisor, checked by the HAL.

A :class:`MotionPermit` is a frozen value bound to one plan, the joints it may move, a position and
speed envelope per joint, an expiry on the injected monotonic clock, and the issuing authority's
*epoch*. It carries an HMAC-SHA256 tag made with a key that only its :class:`PermitAuthority` holds
(random per authority, never serialised), so code outside ``safety`` cannot build a permit that
verifies: constructing the dataclass is possible, but its tag will not match. Revoking
(:meth:`PermitAuthority.revoke_all`) bumps the epoch and kills every earlier permit at once.

The HAL receives only a :class:`PermitVerifier` (the checking half) and calls
:meth:`PermitVerifier.check` before any motion frame. Stopping never needs a permit.
"""

from __future__ import annotations

import hmac
import math
import secrets
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from safety.errors import PermitError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = ["JointEnvelope", "MotionPermit", "PermitAuthority", "PermitVerifier"]

_KEY_BYTES = 32


@dataclass(frozen=True, slots=True, kw_only=True)
class JointEnvelope:
    """Where one joint may go under a permit, in joint units (mm for linear, rad for rotary).

    Attributes:
        joint: joint name as in the robot configuration.
        min_position: lowest allowed position (mm or rad).
        max_position: highest allowed position (mm or rad).
        max_speed: speed cap (mm/s or rad/s), > 0.
    """

    joint: str
    min_position: float
    max_position: float
    max_speed: float

    def __post_init__(self) -> None:
        if not self.joint:
            raise ValueError("joint name must not be empty")
        values = (self.min_position, self.max_position, self.max_speed)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"envelope of {self.joint!r} has a non-finite value: {values}")
        if self.min_position > self.max_position:
            raise ValueError(
                f"envelope of {self.joint!r}: min {self.min_position} > max {self.max_position}"
            )
        if self.max_speed <= 0:
            raise ValueError(f"envelope of {self.joint!r}: max_speed {self.max_speed} must be > 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class MotionPermit:
    """A signed lease to move some joints within envelopes until ``expires_at_s``.

    Attributes:
        permit_id: unique per authority.
        plan_id: the plan (trajectory) this permit is bound to.
        envelopes: one envelope per joint that may move; joints not listed must not move.
        issued_at_s: monotonic seconds (injected clock) at issue.
        expires_at_s: monotonic seconds (injected clock) after which the permit is dead.
        epoch: the authority's epoch at issue; any later revocation kills the permit.
        tag: HMAC-SHA256 over all other fields with the authority's key.
    """

    permit_id: int
    plan_id: str
    envelopes: tuple[JointEnvelope, ...]
    issued_at_s: float
    expires_at_s: float
    epoch: int
    tag: bytes = field(repr=False)

    @property
    def joints(self) -> frozenset[str]:
        """Names of the joints this permit lets move."""
        return frozenset(e.joint for e in self.envelopes)

    def envelope(self, joint: str) -> JointEnvelope | None:
        """The envelope of ``joint``, or ``None`` when the permit does not cover it."""
        for e in self.envelopes:
            if e.joint == joint:
                return e
        return None


def _digest(
    key: bytes,
    *,
    permit_id: int,
    plan_id: str,
    envelopes: tuple[JointEnvelope, ...],
    issued_at_s: float,
    expires_at_s: float,
    epoch: int,
) -> bytes:
    """HMAC-SHA256 over every field, length-prefixed so no two permits share a message."""
    plan = plan_id.encode()
    parts = [
        struct.pack("<qqdd", permit_id, epoch, issued_at_s, expires_at_s),
        struct.pack("<I", len(plan)),
        plan,
    ]
    for e in envelopes:
        name = e.joint.encode()
        parts.append(struct.pack("<I", len(name)))
        parts.append(name)
        parts.append(struct.pack("<ddd", e.min_position, e.max_position, e.max_speed))
    return hmac.digest(key, b"".join(parts), "sha256")


class PermitAuthority:
    """Issues, extends and revokes permits. Held by the supervisor alone.

    Args:
        now: monotonic clock in seconds (injected; tests use a fake clock).
    """

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._key = secrets.token_bytes(_KEY_BYTES)
        self._epoch = 0
        self._next_id = 1
        self._verifier = PermitVerifier(self)

    @property
    def epoch(self) -> int:
        """Current epoch; permits of an older epoch are dead."""
        return self._epoch

    @property
    def verifier(self) -> PermitVerifier:
        """The checking half, to hand to the HAL."""
        return self._verifier

    def issue(
        self, *, plan_id: str, envelopes: Iterable[JointEnvelope], lease_s: float
    ) -> MotionPermit:
        """Issue a permit for ``plan_id`` that lives ``lease_s`` seconds from now.

        Raises:
            ValueError: no envelopes, a joint listed twice, an empty plan id or a bad lease.
        """
        envs = tuple(envelopes)
        if not plan_id:
            raise ValueError("plan_id must not be empty")
        if not envs:
            raise ValueError("a permit must cover at least one joint")
        names = [e.joint for e in envs]
        if len(set(names)) != len(names):
            raise ValueError(f"a joint is listed twice in the permit: {names}")
        if not (math.isfinite(lease_s) and lease_s > 0):
            raise ValueError(f"lease_s must be finite and > 0, got {lease_s}")
        now_s = self._now()
        permit_id = self._next_id
        self._next_id += 1
        return self._sign(permit_id, plan_id, envs, now_s, now_s + lease_s)

    def extend(self, permit: MotionPermit, lease_s: float) -> MotionPermit:
        """Renew a live permit's lease to ``lease_s`` from now (same id, plan and envelopes).

        Raises:
            PermitError: the permit is not valid now (expired, revoked, forged).
            ValueError: a bad lease.
        """
        self._verifier.check_alive(permit)
        if not (math.isfinite(lease_s) and lease_s > 0):
            raise ValueError(f"lease_s must be finite and > 0, got {lease_s}")
        now_s = self._now()
        return self._sign(
            permit.permit_id, permit.plan_id, permit.envelopes, now_s, now_s + lease_s
        )

    def revoke_all(self) -> None:
        """Kill every permit issued so far (the epoch moves on). Never fails."""
        self._epoch += 1

    def _sign(
        self,
        permit_id: int,
        plan_id: str,
        envelopes: tuple[JointEnvelope, ...],
        issued_at_s: float,
        expires_at_s: float,
    ) -> MotionPermit:
        tag = _digest(
            self._key,
            permit_id=permit_id,
            plan_id=plan_id,
            envelopes=envelopes,
            issued_at_s=issued_at_s,
            expires_at_s=expires_at_s,
            epoch=self._epoch,
        )
        return MotionPermit(
            permit_id=permit_id,
            plan_id=plan_id,
            envelopes=envelopes,
            issued_at_s=issued_at_s,
            expires_at_s=expires_at_s,
            epoch=self._epoch,
            tag=tag,
        )

    def _expected_tag(self, permit: MotionPermit) -> bytes:
        return _digest(
            self._key,
            permit_id=permit.permit_id,
            plan_id=permit.plan_id,
            envelopes=permit.envelopes,
            issued_at_s=permit.issued_at_s,
            expires_at_s=permit.expires_at_s,
            epoch=permit.epoch,
        )

    def _authentic(self, permit: MotionPermit) -> bool:
        return hmac.compare_digest(self._expected_tag(permit), permit.tag)

    def _now_s(self) -> float:
        return self._now()


class PermitVerifier:
    """Checks permits against their authority (key, epoch, clock). Cannot issue one."""

    def __init__(self, authority: PermitAuthority) -> None:
        self._authority = authority

    def check_alive(self, permit: object) -> MotionPermit:
        """Check that ``permit`` is an authentic, unrevoked, unexpired permit and return it.

        Raises:
            PermitError: with the reason (no permit, forged, revoked, expired).
        """
        if not isinstance(permit, MotionPermit):
            raise PermitError(f"motion needs a MotionPermit from the supervisor, got {permit!r}")
        authority = self._authority
        if not authority._authentic(permit):  # noqa: SLF001 - verifier and authority are one unit
            raise PermitError(f"permit {permit.permit_id} is not authentic (not issued here)")
        if permit.epoch != authority.epoch:
            raise PermitError(
                f"permit {permit.permit_id} was revoked "
                f"(epoch {permit.epoch}, now {authority.epoch})"
            )
        now_s = authority._now_s()  # noqa: SLF001 - verifier and authority are one unit
        if now_s >= permit.expires_at_s:
            raise PermitError(
                f"permit {permit.permit_id} expired {now_s - permit.expires_at_s:.3f} s ago"
            )
        return permit

    def check(
        self, permit: object, *, joint: str, target: float, speed: float | None = None
    ) -> MotionPermit:
        """Check that ``permit`` allows ``joint`` to move to ``target`` at ``speed``.

        Args:
            permit: the permit offered by the caller.
            joint: the joint to move.
            target: target position in joint units (mm or rad).
            speed: commanded speed in joint units per second, if any.

        Raises:
            PermitError: the permit is missing, forged, revoked or expired, does not cover the
                joint, or the target or speed lie outside its envelope.
        """
        valid = self.check_alive(permit)
        env = valid.envelope(joint)
        if env is None:
            raise PermitError(
                f"permit {valid.permit_id} does not cover joint {joint!r} "
                f"(covers {sorted(valid.joints)})"
            )
        if not math.isfinite(target):
            raise PermitError(f"target of joint {joint!r} is not finite: {target}")
        if not env.min_position <= target <= env.max_position:
            raise PermitError(
                f"target {target:g} of joint {joint!r} is outside the permit envelope "
                f"[{env.min_position:g}, {env.max_position:g}]"
            )
        if speed is not None and not (math.isfinite(speed) and abs(speed) <= env.max_speed):
            raise PermitError(
                f"speed {speed:g} of joint {joint!r} exceeds the permit cap {env.max_speed:g}"
            )
        return valid
