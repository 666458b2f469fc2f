"""The link time-out and the stop bounds that depend on it: docs, configuration and code agree.

docs/HARDWARE.md states the rule, its defaults and the measured gaps; docs/FAULT_CAMPAIGN.md the
host-detected and watchdog stop bounds. Each number quoted there is recomputed here from the code
(``ControllerConfig.link_timeout_s``, the configuration schema, the campaign's bound table).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hal import LINK_TIMEOUT_FLOOR_S, LINK_TIMEOUT_PERIODS
from robot.config import SCHEMA, load_config
from tests.support.campaign import (
    BOUNDS_MS,
    CONTROL_PERIOD_MS,
    LINK_TIMEOUT_MS,
    PHYSICS_TICK_MS,
    SAMPLE_PERIOD_MS,
    SCHEDULING_MS,
    TELEMETRY_PERIOD_MS,
    WATCHDOG_MS,
    StopPath,
    campaign_config,
)

ROOT = Path(__file__).resolve().parents[3]
HARDWARE = (ROOT / "docs" / "HARDWARE.md").read_text(encoding="utf-8")
CAMPAIGN = (ROOT / "docs" / "FAULT_CAMPAIGN.md").read_text(encoding="utf-8")
TRIAL_GAP_MS = 112.0


def _default_link_timeout_ms() -> float:
    config = load_config(environ={})
    return 1000.0 * config.controller.link_timeout_s(config.emulator_telemetry_period_ms / 1000)


def test_hardware_md_states_the_rule_with_the_code_defaults():
    floor_ms = LINK_TIMEOUT_FLOOR_S * 1000
    assert f"link time-out = max({LINK_TIMEOUT_PERIODS} x telemetry period, {floor_ms:g} ms)" in (
        HARDWARE
    )
    assert SCHEMA["serial.link_timeout_periods"].default == LINK_TIMEOUT_PERIODS
    assert SCHEMA["serial.link_timeout_floor_s"].default == LINK_TIMEOUT_FLOOR_S
    assert f"`serial.link_timeout_periods` (default {LINK_TIMEOUT_PERIODS})" in HARDWARE
    assert f"`serial.link_timeout_floor_s` (default {LINK_TIMEOUT_FLOOR_S:g} s)" in HARDWARE


def test_hardware_md_quotes_the_default_robots_link_timeout():
    config = load_config(environ={})
    period_ms = config.emulator_telemetry_period_ms
    expected = f"At the default robot's {period_ms} ms telemetry the floor rules: "
    assert f"{expected}**{_default_link_timeout_ms():g} ms**" in HARDWARE
    assert LINK_TIMEOUT_PERIODS * period_ms / 1000 <= LINK_TIMEOUT_FLOOR_S  # "the floor rules"


def _measured_rows() -> list[tuple[str, list[float]]]:
    table = re.search(
        r"\| telemetry gap \(ms\) \| p50 \| p99 \| p99\.9 \| max \|\n\|[-|]+\|\n((?:\|.*\|\n)+)",
        HARDWARE,
    )
    assert table is not None, "docs/HARDWARE.md lost its measured-gap table"
    rows = []
    for line in table.group(1).splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append((cells[0], [float(c) for c in cells[1:]]))
    return rows


def test_every_measured_gap_is_below_the_link_timeout_with_the_stated_margin():
    limit_ms = _default_link_timeout_ms()
    rows = _measured_rows()
    assert [name for name, _ in rows] == ["idle", "2 CPU-bound processes beside it"]
    for name, (p50, p99, p999, worst) in rows:
        assert p50 <= p99 <= p999 <= worst < limit_ms, name
    longest = re.search(r"(\d+\.\d) times the longest measured gap \((\d+\.\d) ms\)", HARDWARE)
    assert longest is not None
    ratio, longest_ms = float(longest.group(1)), float(longest.group(2))
    assert longest_ms >= max(worst for _, (*_, worst) in rows)
    assert ratio == pytest.approx(limit_ms / longest_ms, abs=0.05)
    trial = re.search(r"and (\d+\.\d) times the trial's", HARDWARE)
    assert trial is not None
    assert float(trial.group(1)) == pytest.approx(limit_ms / TRIAL_GAP_MS, abs=0.05)
    assert limit_ms > TRIAL_GAP_MS


def test_the_stop_bounds_quoted_in_the_docs_are_the_campaigns_and_follow_the_link_timeout():
    config = campaign_config()
    assert config.emulator_telemetry_period_ms == TELEMETRY_PERIOD_MS
    assert (
        round(1000 * config.controller.link_timeout_s(TELEMETRY_PERIOD_MS / 1000))
        == LINK_TIMEOUT_MS
    )
    host, watchdog = BOUNDS_MS[StopPath.HOST], BOUNDS_MS[StopPath.WATCHDOG]
    assert host == LINK_TIMEOUT_MS + 2 * CONTROL_PERIOD_MS + PHYSICS_TICK_MS + SCHEDULING_MS
    host_sum = f"{LINK_TIMEOUT_MS} + {2 * CONTROL_PERIOD_MS} + {PHYSICS_TICK_MS} + {SCHEDULING_MS}"
    assert f"= {host_sum} = **{host} ms**" in HARDWARE
    dog_sum = f"{WATCHDOG_MS} + {PHYSICS_TICK_MS} + {SAMPLE_PERIOD_MS} + {SCHEDULING_MS}"
    assert f"({dog_sum} = **{watchdog} ms**)" in HARDWARE
    assert host < watchdog  # the host names a lost link before the firmware watchdog acts
    assert re.search(rf"\| host \| [^|]+ \| {host} \| link time-out {LINK_TIMEOUT_MS} \(", CAMPAIGN)
    assert re.search(rf"\| watchdog \| [^|]+ \| {watchdog} \| watchdog {WATCHDOG_MS} ", CAMPAIGN)
    floor_ms = LINK_TIMEOUT_FLOOR_S * 1000
    rule = (
        f"HAL link time-out max({LINK_TIMEOUT_PERIODS} T, {floor_ms:g} ms)\n= {LINK_TIMEOUT_MS} ms"
    )
    assert rule in CAMPAIGN
    host_rows = 0
    for row in re.findall(r"^\| `[^`]+` \|.*$", CAMPAIGN, flags=re.MULTILINE):
        cells = [c.strip() for c in row.strip("|").split("|")]
        if cells[3] == "host":
            host_rows += 1
            assert cells[4] == str(host), row
    assert host_rows > 0


def test_the_supervisors_silence_interlock_stays_above_the_link_timeout():
    config = load_config(environ={})
    assert config.supervisor.firmware_timeout_s * 1000 > _default_link_timeout_ms()
    assert "(`safety.firmware_timeout_s`,\n250 ms)" in HARDWARE
    assert config.supervisor.firmware_timeout_s == 0.25
