"""Protocol profiles: where the 2021 ProstateBRP module and the 2013 reference suite differ.

A profile is the handful of choices in which the two references of the BRP workphase protocol
disagree; everything else is one shared implementation. docs/WORKPHASES.md ("Protocol profiles")
lists each row with its source, and ``tests/integration/test_protocol_profiles.py`` checks every
row in both profiles. The profile is chosen with ``network.profile`` (``mrbot serve --profile``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from robot.igtl.events import Workphase

__all__ = ["PROFILES", "Profile", "profile_named"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """One variant of the BRP workphase protocol.

    Attributes:
        name: the ``network.profile`` value.
        entry_status: phases answered ``STATUS(<phase>, 1)`` as soon as they take effect (the
            2021 robot servers do so for PLANNING and CALIBRATION; the 2013 suite reads the
            next command's ACK there and fails on anything else).
        target_transform: device name of the TRANSFORM after ``STATUS(TARGET, 1)``.
        position_poll_flags: ``STRING CURRENT_POSITION`` is also answered with
            ``STRING(IS_IN_TARGETING_POS)`` and ``STRING(HAS_REACHED_TARGET)``, both, in every
            phase (2021); otherwise with the TRANSFORM alone.
        move_inserts: MOVE_TO_TARGET aligns and then inserts the tool to the target depth;
            otherwise it aligns the guide with the tool retracted (a needle guide, the tool
            inserted by hand), so MANUAL may follow at once, as the 2013 suite expects.
    """

    name: str
    entry_status: frozenset[Workphase]
    target_transform: str
    position_poll_flags: bool
    move_inserts: bool


PROFILES: Final = MappingProxyType(
    {
        "brp-2021": Profile(
            name="brp-2021",
            entry_status=frozenset({Workphase.PLANNING, Workphase.CALIBRATION}),
            target_transform="REACHABLE_TARGET",
            position_poll_flags=True,
            move_inserts=True,
        ),
        "brp-2013": Profile(
            name="brp-2013",
            entry_status=frozenset(),
            target_transform="TARGET",
            position_poll_flags=False,
            move_inserts=False,
        ),
    }
)
"""Every profile by its ``network.profile`` name."""


def profile_named(name: str) -> Profile:
    """The profile called ``name``.

    Raises:
        ValueError: no such profile (the message lists the known ones).
    """
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown protocol profile {name!r}; known: {known}") from None
