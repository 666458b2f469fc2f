"""The permit of the current motion: granted on entry, renewed each cycle, withdrawn on exit.

:class:`MotionLease` owns the supervisor's :class:`~safety.permits.PermitAuthority` and holds at
most one live permit. Withdrawing revokes *every* permit of the authority (epoch bump), so an
older lease object the HAL may still hold dies with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from safety.errors import PermitError
from safety.interlocks import MotionKind
from safety.permits import JointEnvelope, MotionPermit, PermitAuthority, PermitVerifier

if TYPE_CHECKING:
    from collections.abc import Callable

    from safety.config import JointConfig, SupervisorConfig

__all__ = ["MotionLease"]


class MotionLease:
    """At most one live motion permit, with what it is for.

    Args:
        config: joints (for homing envelopes and permit joints) and the lease length.
        now: monotonic clock in seconds (injected).
    """

    def __init__(self, config: SupervisorConfig, now: Callable[[], float]) -> None:
        self._config = config
        self._authority = PermitAuthority(now)
        self._permit: MotionPermit | None = None
        self._kind = MotionKind.TARGET
        self._joints: tuple[JointConfig, ...] = ()

    @property
    def verifier(self) -> PermitVerifier:
        """The checking half, for the HAL."""
        return self._authority.verifier

    @property
    def permit(self) -> MotionPermit | None:
        """The live permit's latest lease, or ``None``."""
        return self._permit

    @property
    def kind(self) -> MotionKind:
        """What the current (or last) permit is for."""
        return self._kind

    @property
    def joints(self) -> tuple[JointConfig, ...]:
        """Configuration of the joints the current (or last) permit covers."""
        return self._joints

    @property
    def epoch(self) -> int:
        """The authority's epoch (bumped by every withdrawal)."""
        return self._authority.epoch

    def homing_envelopes(
        self, joints: tuple[JointConfig, ...] | None = None
    ) -> tuple[JointEnvelope, ...]:
        """``joints`` (default every joint) over their full range at their homing speed."""
        return tuple(
            JointEnvelope(
                joint=j.name,
                min_position=j.min_position,
                max_position=j.max_position,
                max_speed=j.homing_speed,
            )
            for j in (self._config.joints if joints is None else joints)
        )

    def grant(
        self, kind: MotionKind, *, plan_id: str, envelopes: tuple[JointEnvelope, ...]
    ) -> MotionPermit:
        """Revoke every earlier permit, then issue one for ``plan_id`` over ``envelopes``.

        Raises:
            ValueError: the authority refused the arguments (empty plan or envelopes).
        """
        self.withdraw()
        permit = self._authority.issue(
            plan_id=plan_id, envelopes=envelopes, lease_s=self._config.lease_s
        )
        self._permit = permit
        self._kind = kind
        self._joints = tuple(j for j in self._config.joints if j.name in permit.joints)
        return permit

    def withdraw(self) -> MotionPermit | None:
        """Revoke every permit (epoch bump); returns the one that was live, if any."""
        self._authority.revoke_all()
        old, self._permit = self._permit, None
        return old

    def renew(self) -> str | None:
        """Extend the live permit by one lease; returns why it cannot be extended, or ``None``.

        A permit that already expired (the supervisor was late) is not revived: it is withdrawn
        and the reason returned.
        """
        permit = self._permit
        if permit is None:
            return "no live permit"
        try:
            self._permit = self._authority.extend(permit, self._config.lease_s)
        except PermitError as err:
            self.withdraw()
            return err.reason
        return None
