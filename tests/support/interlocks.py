"""The all-clear interlock snapshot, shared by every test that builds one by hand."""

from __future__ import annotations

import dataclasses

from safety.interlocks import InterlockSnapshot


def all_clear(now_s: float, **changes: object) -> InterlockSnapshot:
    """A snapshot with every interlock clear at ``now_s`` (fresh heartbeats), then ``changes``."""
    snapshot = InterlockSnapshot(
        estop_released=True,
        emergency_requested=False,
        scanner_imaging=False,
        needle_inserted=False,
        joints_within_limits=True,
        velocity_within_limit=True,
        following_error_ok=True,
        limit_switch_hit=False,
        supply_pressure_kpa=600.0,
        console_heartbeat_at_s=now_s,
        firmware_heartbeat_at_s=now_s,
        calibration_valid=True,
        command_authority=True,
        insertion_position_mm=0.0,
    )
    return dataclasses.replace(snapshot, **changes)  # type: ignore[arg-type]
