"""What one demo run found: timings, accuracy, the safe stop, and the data behind the figure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from pathlib import Path

    from kinematics.types import FloatArray, Points
    from robot.demo.metrics import RegistrationAccuracy, TipAccuracy
    from robot.demo.scenario import Scenario
    from robot.twin import EntryPlan, RenderedImage

__all__ = [
    "ACCURACY_LIMIT_MM",
    "DemoResult",
    "JointTrace",
    "PhaseTiming",
    "SafeStopOutcome",
    "ScanImage",
]

ACCURACY_LIMIT_MM: Final = 1.0
"""The demo's acceptance: registration error at the target and tip error below this (mm)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseTiming:
    """One step of the story: how long it took (wall clock) and how it ended."""

    name: str
    duration_s: float
    outcome: str


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class JointTrace:
    """True joint positions of the emulated axes over the run.

    Attributes:
        names: joint names with units, in the robot's joint order.
        times_s: (N,) seconds since the demo started.
        positions: (N, n) joint positions (mm, rad).
        marks: (label, time_s) of phase starts, for the plot.
    """

    names: tuple[str, ...]
    times_s: FloatArray
    positions: FloatArray
    marks: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ScanImage:
    """An image the emulated scanner produced, and what to draw on it (RAS mm).

    Attributes:
        image: voxels ``[k, j, i]`` and IJK-to-RAS.
        points_ras_mm: (P, 3) detected fiducial centroids (Z-frame scans), else empty.
    """

    image: RenderedImage
    points_ras_mm: Points


@dataclass(frozen=True, slots=True, kw_only=True)
class SafeStopOutcome:
    """How the robot handled an injected fault, or stopped the story unasked.

    Attributes:
        fault: the fault as given on the command line; "" for a stop without an injected fault.
        stopped: the fault ended the story (False: the robot rode through it).
        console_status: the STATUS the operator console received, in words.
        axes_stopped: every axis was at standstill after the stop.
        drift_after_stop_mm: largest joint travel between the stop and the end of observation.
        audit_records: audit-log lines about the fault and the stop.
        safe: a stop: the console got an error STATUS and the axes came to rest; no stop: the
            placement was still accurate. The audit records are shown, not required.
        detail: one sentence on what happened.
    """

    fault: str
    stopped: bool
    console_status: str
    axes_stopped: bool
    drift_after_stop_mm: float
    audit_records: tuple[str, ...]
    safe: bool
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DemoResult:
    """Everything one run of ``mrbot demo`` found.

    Attributes:
        scenario: the hidden truth and the phantom.
        speed_factor: emulated axes run this many times faster than the real robot.
        plan: the chosen needle path (``None``: the story stopped before planning).
        registration: the robot's registration against the truth (``None``: not reached).
        tip: the true needle tip against the target (``None``: no insertion completed).
        phases: the steps in order.
        events: stops, faults and refusals seen, in words.
        safe_stop: the stop, when a fault was injected or the story stopped without one.
        trace: true joint positions over time.
        zframe_scan: the localiser image and the detected fiducials.
        confirmation_scan: the confirmation image (``None``: not acquired).
        figure_path: the PNG written, if any.
        audit_path: the robot's audit log of the run, if any.
    """

    scenario: Scenario
    speed_factor: float
    plan: EntryPlan | None
    registration: RegistrationAccuracy | None
    tip: TipAccuracy | None
    phases: tuple[PhaseTiming, ...]
    events: tuple[str, ...]
    safe_stop: SafeStopOutcome | None
    trace: JointTrace
    zframe_scan: ScanImage | None
    confirmation_scan: ScanImage | None
    figure_path: Path | None = None
    audit_path: Path | None = None

    @property
    def accurate(self) -> bool:
        """Registration at the target and the tip are both within `ACCURACY_LIMIT_MM`."""
        return (
            self.registration is not None
            and self.tip is not None
            and self.registration.at_target_mm < ACCURACY_LIMIT_MM
            and self.tip.error_mm < ACCURACY_LIMIT_MM
        )

    @property
    def succeeded(self) -> bool:
        """A run without a fault placed the needle accurately; a fault run stopped safely."""
        if self.safe_stop is not None and self.safe_stop.fault:
            return self.safe_stop.safe
        return self.accurate
