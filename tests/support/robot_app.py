"""Fixtures for the robot on the network: a fast emulated ``RobotApp`` and a console client.

``fast_config()`` is the default robot with fast axes (200 mm/s, 2000 mm/s^2, homing 200 mm/s,
10 ms telemetry, link lost after max(15 periods, 200 ms) = 200 ms) so real-time tests take
fractions of a second; ``fast_model_config(model)`` is the shipped robot of another model
(``robot/data/``) with the same fast axes (rotary ones 2 rad/s, 20 rad/s^2).
``Console`` wraps :class:`robot.igtl.IgtlClient` with helpers that read until an expected
message, with deadlines.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from robot.config import load_config
from robot.igtl import IgtlClient, IgtlMessage, StatusBody, StringBody, TransformBody, Workphase
from robot.igtl.errors import IgtlReceiveTimeoutError
from robot.igtl.profile import PROFILES, Profile
from robot.runtime.schema import DEFAULT_MODEL, JOINT_NAMES, MODEL_JOINTS, joint_unit

if TYPE_CHECKING:
    from robot.runtime import RobotConfig

FAST = {
    **{f"joints.{j}.max_step_rate_hz": 20_000.0 for j in JOINT_NAMES},
    **{f"joints.{j}.max_accel_mm_s2": 2_000.0 for j in JOINT_NAMES},
    "emulator.homing_speed_mm_s": 200.0,
    "emulator.telemetry_period_ms": 10,
    # The emulator shares this process's GIL with the robot and the test; on a loaded 2-core
    # machine a 50 ms telemetry gap is not a lost link.
    "serial.link_timeout_periods": 15,
}


#: The robot file shipped for each model (``None``: the default robot).
SHIPPED_ROBOTS: dict[str, Path | None] = {
    DEFAULT_MODEL: None,
    "cartesian-rcm": Path(__file__).resolve().parents[2] / "robot" / "data" / "cartesian_rcm.toml",
}


def fast_overrides(model: str = DEFAULT_MODEL) -> dict[str, object]:
    """:data:`FAST` for the joints of ``model``: each joint's keys in its own unit."""
    joints = MODEL_JOINTS[model]
    return {
        **{k: v for k, v in FAST.items() if not k.startswith("joints.")},
        **{f"joints.{j}.max_step_rate_hz": 20_000.0 for j in joints},
        **{f"joints.{j}.max_accel_{joint_unit(j)}_s2": _FAST_ACCEL[joint_unit(j)] for j in joints},
    }


_FAST_ACCEL = {"mm": 2_000.0, "rad": 20.0}


def fast_config(**overrides: object) -> RobotConfig:
    """The default robot with fast axes; ``overrides`` use dotted keys with ``__`` for dots."""
    extra = {k.replace("__", "."): v for k, v in overrides.items()}
    return load_config(overrides={**FAST, **extra}, environ={})


def fast_model_config(model: str, **overrides: object) -> RobotConfig:
    """The shipped robot of ``model`` with fast axes; ``overrides`` as :func:`fast_config`."""
    extra = {k.replace("__", "."): v for k, v in overrides.items()}
    return load_config(
        SHIPPED_ROBOTS[model], overrides={**fast_overrides(model), **extra}, environ={}
    )


def matrix(translation_mm=(0.0, 0.0, 0.0), rotation=None) -> np.ndarray:
    m = np.eye(4)
    if rotation is not None:
        m[:3, :3] = rotation
    m[:3, 3] = translation_mm
    return m


class Console:
    """A blocking test console: send commands, read messages in order with deadlines."""

    _ids = itertools.count(1)

    def __init__(
        self, address: tuple[str, int] | IgtlClient, *, profile: Profile = PROFILES["brp-2021"]
    ) -> None:
        """Connect to ``address``, or use ``address`` if it is a client already connected.

        ``profile`` is the robot's protocol profile (what the helpers below expect).
        """
        self.profile = profile
        if isinstance(address, IgtlClient):
            self.client = address
        else:
            self.client = IgtlClient(*address)
            self.client.open()
        self.seen: list[IgtlMessage] = []

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Console:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def next_id(self) -> str:
        return f"{next(self._ids):04d}"

    def command(self, phase: str) -> str:
        command_id = self.next_id()
        self.client.send(IgtlMessage(device_name=f"CMD_{command_id}", body=StringBody(text=phase)))
        return command_id

    def pose(self, prefix: str, m: np.ndarray) -> str:
        command_id = self.next_id()
        self.client.send(
            IgtlMessage(device_name=f"{prefix}_{command_id}", body=TransformBody(matrix_ras_mm=m))
        )
        return command_id

    def string(self, name: str, text: str) -> None:
        self.client.send(IgtlMessage(device_name=name, body=StringBody(text=text)))

    def receive(self, timeout_s: float = 5.0) -> IgtlMessage:
        message = self.client.receive(timeout_s=timeout_s)
        self.seen.append(message)
        return message

    def until(self, name: str, *, timeout_s: float = 10.0, type_name: str | None = None):
        """Read until a message named ``name`` (of ``type_name``); returns it and the skipped."""
        deadline = time.monotonic() + timeout_s
        skipped: list[IgtlMessage] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {name} within {timeout_s} s; got {names(skipped)}")
            try:
                message = self.receive(timeout_s=left)
            except IgtlReceiveTimeoutError as err:
                raise AssertionError(
                    f"no {name} within {timeout_s} s; got {names(skipped)}"
                ) from err
            if message.device_name == name and (
                type_name is None or message.message_type == type_name
            ):
                return message, skipped
            skipped.append(message)

    def status(self, name: str, *, timeout_s: float = 10.0) -> StatusBody:
        message, _ = self.until(name, timeout_s=timeout_s, type_name="STATUS")
        assert isinstance(message.body, StatusBody)
        return message.body

    def expect(self, *expected: str, timeout_s: float = 5.0) -> list[IgtlMessage]:
        """Read exactly these messages (``TYPE:NAME``), in order, skipping CURRENT_POSITION."""
        out = []
        for want in expected:
            while True:
                message = self.receive(timeout_s=timeout_s)
                label = f"{message.message_type}:{message.device_name}"
                if label == want:
                    out.append(message)
                    break
                if message.device_name == "CURRENT_POSITION" and want != label:
                    continue
                raise AssertionError(f"expected {want}, got {label} ({message.body})")
        return out


def names(messages) -> list[str]:
    return [f"{m.message_type}:{m.device_name}" for m in messages]


def start_up(console: Console) -> StatusBody:
    command_id = console.command("START_UP")
    console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
    return console.status("START_UP")


def calibrate(console: Console, m: np.ndarray | None = None) -> StatusBody:
    command_id = console.command("CALIBRATION")
    console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
    if Workphase.CALIBRATION in console.profile.entry_status:
        assert console.status("CALIBRATION").code == 1  # the phase, before the calibration
    pose_id = console.pose("CLB", matrix() if m is None else m)
    console.expect(f"TRANSFORM:ACK_{pose_id}")
    return console.status("CALIBRATION")


def targeting(console: Console) -> StatusBody:
    command_id = console.command("TARGETING")
    console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
    return console.status("TARGETING")


def set_target(console: Console, m: np.ndarray) -> tuple[StatusBody, IgtlMessage | None]:
    pose_id = console.pose("TGT", m)
    console.expect(f"TRANSFORM:ACK_{pose_id}")
    verdict = console.status("TARGET")
    if verdict.code != 1:
        return verdict, None
    reached, _ = console.until(console.profile.target_transform, type_name="TRANSFORM")
    return verdict, reached


def ready_to_move(console: Console, target: np.ndarray) -> IgtlMessage:
    """START_UP, identity CALIBRATION, TARGETING and a target; returns TRANSFORM(TARGET)."""
    assert start_up(console).code == 1
    assert calibrate(console).code == 1
    assert targeting(console).code == 1
    verdict, reached = set_target(console, target)
    assert verdict.code == 1, verdict
    assert reached is not None
    return reached
