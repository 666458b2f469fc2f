"""Tell the whole story: robot server, emulated firmware on a pty, scanner and console, for real.

`run_demo` starts `RobotApp` with the firmware emulator behind a pseudo-terminal and the
OpenIGTLink server on a free local port; an `EmulatedScanner` and a `BrpClient` connect to it like
the MR scanner bridge and the operator's console. Everything crosses real sockets and a real tty.
The story: START_UP (homing), Z-frame localiser scan and registration, planning on the phantom,
TARGETING, MOVE_TO_TARGET (guide alignment and needle insertion), a confirmation scan with the
needle in it, and needle retraction. With a fault injected, the first refusal or fault STATUS ends
the story and the safe stop is examined instead (`robot.demo.stop`).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np

from kinematics import invert, transform_points
from robot.app import RobotApp
from robot.config import load_config
from robot.console import BrpClient, BrpError, target_transform
from robot.demo.errors import DemoStepError
from robot.demo.figure import write_figure
from robot.demo.imaging import confirmation_scan, localiser_scan
from robot.demo.metrics import registration_accuracy, tip_accuracy
from robot.demo.result import DemoResult, JointTrace, ScanImage
from robot.demo.sampler import JointSampler
from robot.demo.scenario import Scenario, make_scenario
from robot.demo.stop import Observation, audit_stop_lines, judge_stop, observe, wait_for_standstill
from robot.demo.timeline import Timeline
from robot.runtime.speed import check_speed_factor, speed_overrides
from robot.twin import EmulatedScanner, EntryPlan, NoSafeEntry, plan_entry

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from kinematics import NeedleRobot, Transform
    from kinematics.types import BoolArray, Points, Vec3
    from robot.console import StatusReply
    from robot.demo.metrics import TipAccuracy
    from robot.runtime import RobotConfig

__all__ = ["DemoOptions", "demo_config", "run_demo"]

logger = logging.getLogger(__name__)

_TELEMETRY_MS: Final = 20
_SWITCH_INTERVAL_S: Final = 0.001
_LOCALISER_SNR: Final = 20.0
_PLAN_CONE_MARGIN_RAD: Final = math.radians(5.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoOptions:
    """How to run the demo.

    Attributes:
        seed: seed of the hidden mount pose, the phantom and the image noise.
        speed_factor: emulated axes run this many times faster than the real robot (1 = real).
        fault: an emulator fault (``NAME[@AT_S][:key=value,...]``), or ``None``.
        out_dir: where the figure and the audit log go (created if missing).
    """

    seed: int = 0
    speed_factor: float = 10.0
    fault: str | None = None
    out_dir: Path = field(default_factory=lambda: Path("mrbot-demo-out"))

    def __post_init__(self) -> None:
        check_speed_factor(self.speed_factor)


def demo_config(speed_factor: float) -> RobotConfig:
    """The default robot with its axes, accelerations and homing sped up by ``speed_factor``.

    Speeds scale by the factor and accelerations by its square, so every move keeps its shape
    and takes ``1 / speed_factor`` of the time. Environment variables are not read.

    Raises:
        ConfigError: the sped-up values leave the allowed ranges.
    """
    base = load_config(environ={})
    overrides = speed_overrides(base.values, speed_factor)
    # 50 Hz telemetry, the slowest the firmware protocol allows (the default robot sends 100 Hz):
    # the HAL declares the link lost after max(5 silent periods, 200 ms). This one process hosts
    # the firmware, robot, scanner and console; on a loaded 2-core machine the 50 ms limit of
    # 100 Hz telemetry tripped in about 1 run in 3 (gaps of 54-68 ms), 100 ms in about 1 in 8.
    overrides["emulator.telemetry_period_ms"] = _TELEMETRY_MS
    return load_config(overrides=overrides, environ={})


def _reachability(
    robot: NeedleRobot, T_scanner_from_robot: Transform
) -> Callable[[Points, Vec3], BoolArray]:
    T_robot_from_scanner = invert(T_scanner_from_robot)

    def reachable(entries_ras_mm: Points, target_ras_mm: Vec3) -> BoolArray:
        entries = transform_points(T_robot_from_scanner, entries_ras_mm)
        target = transform_points(T_robot_from_scanner, target_ras_mm)
        batch = robot.inverse(np.repeat(target, len(entries), axis=0), None, entries)
        return np.asarray(batch.code == 0)

    return reachable


def _plan(
    scenario: Scenario, robot: NeedleRobot, registered: Transform, cone_rad: float
) -> EntryPlan:
    path = plan_entry(
        scenario.phantom,
        approach_ras=(float(registered[0, 2]), float(registered[1, 2]), float(registered[2, 2])),
        max_angle_rad=cone_rad,
        reachable=_reachability(robot, registered),
    )
    if isinstance(path, NoSafeEntry):
        raise DemoStepError("planning", path.reason)
    return path


@dataclass(frozen=True, slots=True, kw_only=True)
class _ConfirmationPose:
    """The needle as the confirmation sequence caught it: reported pose, true insertion (mm)."""

    plane_tip_ras_mm: tuple[float, float, float]
    plane_direction_ras: tuple[float, float, float]
    inserted_mm: float


class _Story:
    """One needle placement over the real protocols; the parts are started by `run_demo`."""

    def __init__(
        self,
        options: DemoOptions,
        config: RobotConfig,
        scenario: Scenario,
        timeline: Timeline,
        now: Callable[[], float],
    ) -> None:
        self.options = options
        self.config = config
        self.scenario = scenario
        self.timeline = timeline
        self.now = now
        self.robot = config.robot()
        self.registered: Transform | None = None
        self.plan: EntryPlan | None = None
        self.zframe: ScanImage | None = None
        self.confirmation_pose: _ConfirmationPose | None = None
        self.tip: TipAccuracy | None = None

    def reconstruct_confirmation(self) -> ScanImage | None:
        """The confirmation image of the captured pose, or ``None`` if none was acquired.

        Rendering takes a few hundred milliseconds of CPU; it runs after the robot has closed, so
        it never competes with the robot's real-time threads (see `_responsive_threads`).
        """
        pose = self.confirmation_pose
        if pose is None:
            return None
        return confirmation_scan(
            self.scenario.phantom,
            plane_tip_ras_mm=pose.plane_tip_ras_mm,
            plane_direction_ras=pose.plane_direction_ras,
            needle=self.tip,
            inserted_mm=pose.inserted_mm,
            diameter_mm=self.robot.tool.diameter_mm,
            seed=self.options.seed + 1,
        )

    def run(
        self, app: RobotApp, console: BrpClient, scanner: EmulatedScanner, sampler: JointSampler
    ) -> None:
        """Every step in order; a BrpError escapes from the step that failed."""
        t = self.timeline
        t.begin("START_UP (firmware, homing)", "START_UP")
        reply = console.start_up()
        t.end(_status_text(reply.status))

        t.begin("Z-frame scan and registration", "Z-frame")
        scanner.start_sequence()
        truth = self.scenario.T_scanner_from_zframe_true
        pose = scanner.send_zframe_image(
            truth, self.scenario.zframe_scan, seed=self.options.seed, snr=_LOCALISER_SNR
        )
        scanner.stop_sequence()
        self.registered = app.registration
        if self.registered is None or pose.T_reply is None:
            raise DemoStepError(
                "registration", "the robot accepted the Z-frame but holds no calibration"
            )
        t.end(_status_text(pose.status))

        t.begin("PLANNING (entry avoiding the nerve bundle)", "PLAN")
        console.planning()
        cone = self.robot.max_angulation_rad - _PLAN_CONE_MARGIN_RAD
        self.plan = _plan(self.scenario, self.robot, pose.T_reply, cone)
        t.end(
            f"entry {math.degrees(self.plan.obliquity_rad):.1f} deg from the cortex normal, "
            f"{self.plan.clearance_mm:.1f} mm from the bundle"
        )

        t.begin("TARGETING", "TARGET")
        console.targeting()
        target = console.set_target(
            target_transform(self.plan.target_ras_mm, self.plan.skin_entry_ras_mm)
        )
        t.end(_status_text(target.status))

        t.begin("MOVE_TO_TARGET (align, insert)", "MOVE")
        moved = console.move_to_target()
        rest = wait_for_standstill(sampler, self.now)
        joints = sampler.read_now()
        self.tip = tip_accuracy(
            self.robot, joints, self.scenario.T_scanner_from_robot_true, self.plan.target_ras_mm
        )
        t.end(
            f"{_status_text(moved.status)}, {len(moved.positions)} positions streamed"
            + ("" if rest.still else "; axes still moving after 3 s")
        )

        t.begin("Confirmation scan", "confirm")
        scanner.start_sequence()
        final = moved.final_position or console.get_position()
        reported = final.T_ras_from_tip
        # What the slice will show is fixed now; the pixels are reconstructed after the run.
        self.confirmation_pose = _ConfirmationPose(
            plane_tip_ras_mm=final.tip_ras_mm,
            plane_direction_ras=(
                float(reported[0, 2]),
                float(reported[1, 2]),
                float(reported[2, 2]),
            ),
            inserted_mm=float(joints[self.robot.insertion_index]),
        )
        scanner.stop_sequence()
        t.end(f"needle tip {self.tip.error_mm:.2f} mm from the target")

        t.begin("RETRACT_NEEDLE", "RETRACT")
        retracted = console.retract_needle()
        t.end(_status_text(retracted.status))


def _status_text(status: StatusReply | None) -> str:
    if status is None:
        return "done"
    return f"STATUS({status.device_name}) {status.code} {status.error_name}" + (
        f": {status.message}" if status.message else ""
    )


@contextlib.contextmanager
def _responsive_threads() -> Iterator[None]:
    """Keep the robot's real-time threads responsive while the whole robot shares this interpreter.

    The emulated firmware, the HAL reader, the control loop, the Z-frame worker, the scanner's
    renderer and the console all run as threads of one process here. Two interpreter-wide pauses
    made the firmware thread wait over 100 ms (and the HAL rightly declare the link lost):

    * CPU-bound threads (rendering, detection) under the default 5 ms GIL switch interval; the
      interval is 1 ms while the demo runs.
    * full garbage collections of everything the process allocated before (in a test session,
      every earlier test's objects): they are collected once, then frozen out of the collector's
      reach (`gc.freeze`) until the demo ends.

    Both are restored afterwards.
    """
    previous = sys.getswitchinterval()
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(_SWITCH_INTERVAL_S)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)
        gc.unfreeze()


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def run_demo(options: DemoOptions, *, progress: Callable[[str], None] | None = None) -> DemoResult:
    """Run the whole story once and return what it found; writes the figure and the audit log.

    Args:
        options: seed, speed, fault and output folder.
        progress: called with one line per step as the story goes (for the CLI).

    Raises:
        DemoStepError: the demo cannot go on (no emulator, no safe path, no calibration held).
        ConfigError: the sped-up configuration is out of range.
        OSError: the output folder or the server port cannot be used.
    """
    say = progress or (lambda _line: None)
    now = time.monotonic
    logger.info(
        "demo: seed %d, speed x%g, fault %s", options.seed, options.speed_factor, options.fault
    )
    config = demo_config(options.speed_factor)
    scenario = make_scenario(options.seed, config.T_zframe_from_robot)
    options.out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    audit_path = options.out_dir / f"audit-seed{options.seed}-{stamp}.jsonl"
    localiser = localiser_scan(
        scenario.T_scanner_from_zframe_true,
        scenario.zframe_scan,
        seed=options.seed,
        snr=_LOCALISER_SNR,
    )
    timeline = Timeline(now, say)
    story = _Story(options, config, scenario, timeline, now)
    story.zframe = localiser
    kinds = tuple(axis.kind for axis in config.controller.axes)
    events: list[str] = []
    seen: Observation | None = None
    registration = None
    with (
        _responsive_threads(),
        RobotApp(config, emulate=True, fault=options.fault, port=0, audit_path=audit_path) as app,
    ):
        if app.emulator is None:
            raise DemoStepError("start", "RobotApp(emulate=True) started no emulator")
        sampler = JointSampler(app.emulator, kinds, now=now)
        sampler.start()
        try:
            with BrpClient(*app.address) as console, EmulatedScanner(*app.address) as scanner:
                try:
                    story.run(app, console, scanner, sampler)
                except BrpError as err:
                    step = timeline.current or "story"
                    timeline.end(f"FAILED: {err}")
                    timeline.mark("STOP")
                    seen = observe(step, err, console, sampler, now)
                else:
                    if options.fault is not None:
                        seen = observe("", None, console, sampler, now)
                events.extend(f.describe() for f in console.view.faults)
                events.extend(f.describe() for f in scanner.session.view.faults)
            if story.registered is not None and story.plan is not None:
                registration = registration_accuracy(
                    story.registered, scenario.T_scanner_from_robot_true, story.plan.target_ras_mm
                )
        finally:
            sampler.close()
        times, positions = sampler.samples()
    safe_stop = None
    if seen is not None:
        safe_stop = judge_stop(options.fault or "", seen, audit_stop_lines(audit_path), story.tip)
    result = DemoResult(
        scenario=scenario,
        speed_factor=options.speed_factor,
        plan=story.plan,
        registration=registration,
        tip=story.tip,
        phases=tuple(timeline.phases),
        events=tuple(dict.fromkeys(events)),
        safe_stop=safe_stop,
        trace=JointTrace(
            names=tuple(j.name for j in story.robot.joints),
            times_s=times - timeline.origin_s,
            positions=positions,
            marks=tuple(timeline.marks),
        ),
        zframe_scan=story.zframe,
        confirmation_scan=story.reconstruct_confirmation(),
    )
    name = f"mrbot-demo-seed{options.seed}" + (f"-{_slug(options.fault)}" if options.fault else "")
    figure = write_figure(result, options.out_dir / f"{name}.png")
    return replace(result, figure_path=figure, audit_path=audit_path)
