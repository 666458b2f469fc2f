"""Per-axis physics of the emulated firmware, in wire units (um, um/s) and simulated seconds.

Pneumatic stepper: the commanded position advances in discrete steps at a rate limited by the
hose length; below the minimum supply pressure each step is lost with a probability; the encoder
reads the true position at its resolution (or stays frozen when stuck). Piezo: closed loop that
follows the commanded trajectory at a limited speed, with encoder noise. Both have limit switches
at the ends of their travel, just outside the soft limits. Outputs start at zero (dVRK practice).

Not modelled: pneumatic pressure dynamics and hose delay, thermal drift, backlash, friction
stick-slip, piezo resonance, encoder index pulses.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import random

__all__ = [
    "HOSE_REFERENCE_M",
    "AxisModel",
    "PiezoModel",
    "PiezoModelConfig",
    "PneumaticModel",
    "PneumaticModelConfig",
    "Trajectory",
]

HOSE_REFERENCE_M: Final = 5.0
"""Hose length (m) at which the step rate is half the zero-length rate (model constant)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Trajectory:
    """Linear path of the commanded position: ``start_um`` at ``t0_s`` to ``end_um`` at ``t1_s``."""

    start_um: float
    end_um: float
    t0_s: float
    t1_s: float

    def at(self, t_s: float) -> float:
        """Commanded position (um) at time ``t_s``."""
        if t_s >= self.t1_s or self.t1_s <= self.t0_s:
            return self.end_um
        if t_s <= self.t0_s:
            return self.start_um
        frac = (t_s - self.t0_s) / (self.t1_s - self.t0_s)
        return self.start_um + frac * (self.end_um - self.start_um)


@dataclass(frozen=True, slots=True, kw_only=True)
class PneumaticModelConfig:
    """Emulated pneumatic stepper. Travel is ``[lower_switch_um, upper_switch_um]``."""

    soft_min_um: int
    soft_max_um: int
    switch_margin_um: int = 1000
    step_um: int = 100
    base_step_rate_hz: float = 300.0
    hose_length_m: float = 5.0
    encoder_resolution_um: int = 10
    supply_pressure_hpa: int = 6000
    min_pressure_hpa: int = 3000
    miss_probability: float = 0.5
    following_error_limit_um: int = 500
    start_um: int = 0

    @property
    def max_step_rate_hz(self) -> float:
        """Step rate the hoses allow: ``base / (1 + hose / HOSE_REFERENCE_M)``."""
        return self.base_step_rate_hz / (1.0 + self.hose_length_m / HOSE_REFERENCE_M)

    @property
    def max_velocity_um_s(self) -> float:
        """Top speed (um/s)."""
        return self.step_um * self.max_step_rate_hz


@dataclass(frozen=True, slots=True, kw_only=True)
class PiezoModelConfig:
    """Emulated closed-loop piezo axis."""

    soft_min_um: int
    soft_max_um: int
    switch_margin_um: int = 1000
    max_velocity_um_s: float = 10_000.0
    noise_um: float = 2.0
    encoder_resolution_um: int = 1
    following_error_limit_um: int = 1000
    start_um: int = 0


class AxisModel(ABC):
    """State and motion shared by both axis models; each model says how it advances."""

    def __init__(self, config: PneumaticModelConfig | PiezoModelConfig, rng: random.Random) -> None:
        self.soft_min_um = config.soft_min_um
        self.soft_max_um = config.soft_max_um
        self.lower_switch_um = float(config.soft_min_um - config.switch_margin_um)
        self.upper_switch_um = float(config.soft_max_um + config.switch_margin_um)
        self.following_error_limit_um = config.following_error_limit_um
        self.true_um = float(config.start_um)
        self.commanded_um = float(config.start_um)
        self.velocity_um_s = 0.0
        self.enabled = False
        self.homed = False
        self.homing = False
        self.encoder_stuck_at_um: float | None = None
        self.trajectory: Trajectory | None = None
        self.supply_pressure_hpa = 0
        self.hardware_failed = False
        self.rng = rng
        self._homing_speed_um_s = 1.0

    @property
    def lower_switch(self) -> bool:
        """Lower limit switch pressed."""
        return self.true_um <= self.lower_switch_um

    @property
    def upper_switch(self) -> bool:
        """Upper limit switch pressed."""
        return self.true_um >= self.upper_switch_um

    @property
    def moving(self) -> bool:
        """A trajectory is being followed."""
        return self.trajectory is not None

    def encoder_um(self) -> int:
        """Encoder reading (um): the true position at encoder resolution, or the stuck value."""
        if self.encoder_stuck_at_um is not None:
            return round(self.encoder_stuck_at_um)
        return round(self._encoder_raw_um())

    def following_error_um(self) -> float:
        """|commanded - encoder| in um."""
        return abs(self.commanded_um - self.encoder_um())

    def start(self, end_um: float, t0_s: float, t1_s: float) -> None:
        """Start a synchronised move of the commanded position to ``end_um``."""
        self.trajectory = Trajectory(
            start_um=self.commanded_um, end_um=end_um, t0_s=t0_s, t1_s=t1_s
        )

    def halt(self) -> None:
        """Stop at once: drop the trajectory and hold the current commanded position."""
        self.trajectory = None
        self.homing = False
        self.velocity_um_s = 0.0
        self.commanded_um = self.encoder_um()

    def step(self, t_s: float, dt_s: float) -> None:
        """Advance the physics by ``dt_s`` ending at ``t_s``."""
        if dt_s <= 0:
            return
        before = self.commanded_um
        if self.enabled and self.trajectory is not None and not self.hardware_failed:
            desired = self.trajectory.at(t_s)
            self._advance(desired, dt_s)
            if t_s >= self.trajectory.t1_s and self._arrived(desired):
                self.trajectory = None
        self.velocity_um_s = (self.commanded_um - before) / dt_s
        if self.homing and self.lower_switch:
            self._finish_homing(t_s)

    def _finish_homing(self, t_s: float) -> None:
        """The lower switch closed: position is known; back off to the lower soft limit."""
        self.homing = False
        self.homed = True
        self.true_um = self.lower_switch_um + 1.0  # the switch opens as soon as the stage leaves it
        self.commanded_um = self.true_um
        self._homing_speed_um_s = max(self._homing_speed_um_s, 1.0)
        back_off_s = (self.soft_min_um - self.true_um) / self._homing_speed_um_s
        self.start(float(self.soft_min_um), t_s, t_s + back_off_s)

    def start_homing(self, t_s: float, speed_um_s: float) -> None:
        """Move towards (and past) the lower limit switch at ``speed_um_s``; it will stop there."""
        self._homing_speed_um_s = speed_um_s
        end_um = self.lower_switch_um - 1000.0
        self.start(end_um, t_s, t_s + max(0.0, self.commanded_um - end_um) / speed_um_s)
        self.homing = True

    @property
    @abstractmethod
    def max_velocity_um_s(self) -> float:
        """Top speed (um/s)."""

    @abstractmethod
    def _advance(self, desired_um: float, dt_s: float) -> None:
        """Move the commanded (and true) position towards ``desired_um`` over ``dt_s``."""

    def _arrived(self, end_um: float) -> bool:
        """Whether the move to ``end_um`` is complete (the path has ended)."""
        return abs(self.commanded_um - end_um) <= 1.0

    @abstractmethod
    def _encoder_raw_um(self) -> float:
        """The encoder's reading of the true position (um), before any stuck-encoder fault."""

    def _blocked(self, direction: float) -> bool:
        return (direction < 0 and self.lower_switch) or (direction > 0 and self.upper_switch)


class PneumaticModel(AxisModel):
    """Discrete steps at a hose-limited rate; steps lost at low pressure; not backdrivable."""

    def __init__(self, config: PneumaticModelConfig, rng: random.Random) -> None:
        super().__init__(config, rng)
        self.config = config
        self.supply_pressure_hpa = config.supply_pressure_hpa
        self._step_budget = 0.0
        self.missed_steps = 0

    @property
    def max_velocity_um_s(self) -> float:
        """Top speed (um/s) with the configured hose."""
        return self.config.max_velocity_um_s

    def _arrived(self, end_um: float) -> bool:
        return abs(self.commanded_um - end_um) <= self.config.step_um / 2

    def _advance(self, desired_um: float, dt_s: float) -> None:
        step_um = self.config.step_um
        steps_now = self.config.max_step_rate_hz * dt_s
        self._step_budget = min(self._step_budget + steps_now, 1.0 + steps_now)
        while self._step_budget >= 1.0:
            error = desired_um - self.commanded_um
            if abs(error) < step_um / 2:
                break
            direction = math.copysign(1.0, error)
            self._step_budget -= 1.0
            self.commanded_um += direction * step_um
            if self._blocked(direction):
                continue
            low = self.supply_pressure_hpa < self.config.min_pressure_hpa
            if low and self.rng.random() < self.config.miss_probability:
                self.missed_steps += 1
                continue
            self.true_um += direction * step_um

    def _encoder_raw_um(self) -> float:
        resolution = self.config.encoder_resolution_um
        return round(self.true_um / resolution) * resolution


class PiezoModel(AxisModel):
    """Closed loop: the stage follows the commanded path at a limited speed; noisy encoder."""

    def __init__(self, config: PiezoModelConfig, rng: random.Random) -> None:
        super().__init__(config, rng)
        self.config = config
        self.supply_pressure_hpa = 0

    @property
    def max_velocity_um_s(self) -> float:
        """Top speed (um/s)."""
        return self.config.max_velocity_um_s

    def _arrived(self, end_um: float) -> bool:
        """The closed loop has brought the stage to the end of the path."""
        return abs(self.true_um - end_um) <= 1.0 or self._blocked(end_um - self.true_um)

    def _advance(self, desired_um: float, dt_s: float) -> None:
        self.commanded_um = desired_um
        error = desired_um - self.true_um
        direction = math.copysign(1.0, error)
        if self._blocked(direction):
            return
        limit = self.config.max_velocity_um_s * dt_s
        self.true_um += max(-limit, min(limit, error))

    def _encoder_raw_um(self) -> float:
        noisy = self.true_um + self.rng.gauss(0.0, self.config.noise_um)
        resolution = self.config.encoder_resolution_um
        return round(noisy / resolution) * resolution
