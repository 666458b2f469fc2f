"""``mrbot demo``: the digital twin of one MR-guided needle placement, end to end."""

from robot.demo.errors import DemoError
from robot.demo.figure import write_figure
from robot.demo.metrics import TipAccuracy, registration_accuracy, tip_accuracy
from robot.demo.report import render_report, verdict
from robot.demo.result import (
    ACCURACY_LIMIT_MM,
    DemoResult,
    JointTrace,
    PhaseTiming,
    SafeStopOutcome,
    ScanImage,
)
from robot.demo.run import DemoOptions, run_demo
from robot.demo.scenario import MAX_HIDDEN_ROTATION_DEG, MAX_HIDDEN_TRANSLATION_MM, make_scenario

__all__ = [
    "ACCURACY_LIMIT_MM",
    "MAX_HIDDEN_ROTATION_DEG",
    "MAX_HIDDEN_TRANSLATION_MM",
    "DemoError",
    "DemoOptions",
    "DemoResult",
    "JointTrace",
    "PhaseTiming",
    "SafeStopOutcome",
    "ScanImage",
    "TipAccuracy",
    "make_scenario",
    "registration_accuracy",
    "render_report",
    "run_demo",
    "tip_accuracy",
    "verdict",
    "write_figure",
]
