"""A segment arrives on telemetry that shows its move, not on telemetry from before it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from unittest.mock import MagicMock

import numpy as np

from kinematics.trajectory import SynchronisedMove
from robot.config import load_config
from robot.runtime.jobs import JobKind, MoveJob
from robot.runtime.motion import MotionControl
from robot.runtime.readings import Readings, at_rest_at


def _segment(name: str, start: list[float], goal: list[float]) -> SynchronisedMove:
    n = len(start)
    return SynchronisedMove(
        name=name,
        start=np.array(start),
        goal=np.array(goal),
        duration_s=0.2,
        cruise_velocity=np.ones(n),
        acceleration=np.ones(n),
    )


def _at_rest(positions: list[float], last_move_id: int) -> Readings:
    return Readings(
        positions=np.array(positions),
        moving=False,
        homed=True,
        received_at_s=1.0,
        max_speed_ratio=0.0,
        min_pressure_kpa=None,
        last_move_id=last_move_id,
    )


def test_the_next_segment_waits_for_telemetry_that_shows_the_current_move():
    config = load_config(environ={})
    names = [j.name for j in config.robot().joints]
    assert names[-1] == "insertion_mm"
    lateral = [-60.0] * (len(names) - 1)
    here = [*lateral, 0.003]  # a few um off the retracted depth: encoder noise
    retract = _segment("retract", here, [*lateral, 0.0])
    aim = _segment("lateral", [*lateral, 0.0], [10.0, 5.0, 10.0, 5.0, 0.0])
    sent: list[dict[str, float]] = []

    def move(targets: dict[str, float], **_: object) -> int:
        sent.append(targets)
        return 40 + len(sent)

    core = SimpleNamespace(
        robot=config.robot(),
        readings=_at_rest(here, last_move_id=40),
        scanner_imaging=False,
        commit=lambda: None,
        fault=MagicMock(),
    )
    driver = SimpleNamespace(move=move)
    supervisor = SimpleNamespace(permit=object())
    control = MotionControl(
        core,
        config=config,
        driver=driver,  # type: ignore[arg-type]
        supervisor=supervisor,  # type: ignore[arg-type]
        now=lambda: 0.0,
    )
    control.job = MoveJob(kind=JobKind.MOVE, segments=(retract, aim), goal=aim.goal)
    control.advance()
    assert sent == [{"insertion_mm": 0.0}]
    # telemetry sent before the firmware took move 41: at rest, within tolerance of the goal
    for _ in range(3):
        control.advance()
    assert len(sent) == 1, "the lateral segment went out on telemetry older than the retraction"
    core.readings = _at_rest([*lateral, 0.0], last_move_id=41)
    control.advance()
    assert len(sent) == 2
    assert set(sent[1]) == set(names[:-1])
    core.fault.assert_not_called()


def test_a_rotary_joint_arrives_within_the_rad_tolerance_not_the_mm_one():
    path = Path(__file__).resolve().parents[3] / "robot" / "data" / "cartesian_rcm.toml"
    config = load_config(path, environ={})
    runtime = config.runtime
    goal = [0.0, 0.0, -60.0, 0.1, 0.0, 30.0]
    off = runtime.arrival_tolerance_rad * 5  # far below 0.05 "mm", well beyond 0.001 rad
    tilted = _at_rest([0.0, 0.0, -60.0, 0.1 + off, 0.0, 30.0], last_move_id=1)
    tol_mm, tol_rad = runtime.arrival_tolerance_mm, runtime.arrival_tolerance_rad
    assert not at_rest_at(tilted, config.controller, goal, tol_mm, tol_rad)
    assert at_rest_at(tilted, config.controller, goal, tol_mm)  # the mm tolerance alone: 0.05
    there = _at_rest([0.0, 0.0, -60.0, 0.1 + tol_rad / 2, 0.0, 30.0 + tol_mm / 2], 1)
    assert at_rest_at(there, config.controller, goal, tol_mm, tol_rad)
