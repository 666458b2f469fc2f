"""Axis configuration, unit conversion to wire micro-units, and the default needle guide."""

from __future__ import annotations

import dataclasses
import math

import pytest

from hal import (
    ControllerConfig,
    JointKind,
    PiezoConfig,
    PneumaticStepperConfig,
    from_wire_um,
    to_wire_um,
)
from robot.runtime.schema import JOINT_NAMES
from tests.support.hal_config import shipped_controller


def test_linear_values_go_to_micrometres_and_rotary_values_to_microradians():
    assert to_wire_um(12.3456, JointKind.LINEAR) == 12_346
    assert to_wire_um(0.5, JointKind.ROTARY) == 500_000
    assert from_wire_um(12_346, JointKind.LINEAR) == pytest.approx(12.346)
    assert from_wire_um(-1_000_000, JointKind.ROTARY) == -1.0


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_values_never_reach_the_wire(value):
    with pytest.raises(ValueError, match="finite"):
        to_wire_um(value, JointKind.LINEAR)


def test_the_shipped_robot_seen_by_the_hal_has_five_pneumatic_linear_axes_and_is_frozen():
    axes = shipped_controller().axes
    assert [a.name for a in axes] == list(JOINT_NAMES)
    assert all(isinstance(a, PneumaticStepperConfig) for a in axes)
    assert all(a.imaging_safe for a in axes)  # pneumatic steppers may move while imaging
    assert all(a.kind is JointKind.LINEAR for a in axes)
    assert 5.0 <= axes[0].max_speed <= 20.0  # a 50 mm move takes seconds
    with pytest.raises(dataclasses.FrozenInstanceError):
        shipped_controller().retries = 5  # type: ignore[misc]


def test_default_timing_follows_the_design_numbers():
    config = shipped_controller()
    assert config.ack_timeout_s == 0.1
    assert config.retries == 2
    assert config.heartbeat_hz == 20.0
    assert config.link_timeout_periods == 5
    assert config.recorder_s >= 2.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_position": 5.0, "max_position": 5.0}, "min_position"),
        ({"min_position": 0.0, "max_position": math.nan}, "finite"),
        ({"min_position": 0.0, "max_position": 1.0, "step_size": 0.0}, "step_size"),
        ({"name": "", "min_position": 0.0, "max_position": 1.0}, "name"),
    ],
)
def test_bad_pneumatic_axis_configurations_are_refused_with_the_reason(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PneumaticStepperConfig(**{"name": "x", **kwargs})


def test_controller_config_refuses_duplicate_axis_names_and_bad_timing():
    axis = PiezoConfig(name="z", min_position=0.0, max_position=1.0)
    with pytest.raises(ValueError, match="unique"):
        ControllerConfig(axes=(axis, axis))
    with pytest.raises(ValueError, match="ack_timeout_s"):
        ControllerConfig(axes=(axis,), ack_timeout_s=0.0)
    with pytest.raises(ValueError, match="retries"):
        ControllerConfig(axes=(axis,), retries=-1)
    with pytest.raises(KeyError, match="nope"):
        ControllerConfig(axes=(axis,)).axis_index("nope")
