"""Synchronised trapezoidal joint moves and the retract -> lateral -> insert needle motion plan.

Every axis of a move starts and arrives together: the slowest axis sets the duration, every other
axis runs a trapezoid at its full acceleration with the cruise speed that makes it arrive at the
same instant. Sampling is on a uniform grid ``k / rate_hz`` plus the exact end of the motion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kinematics.joints import limit_excess

if TYPE_CHECKING:
    from collections.abc import Sequence

    from kinematics.joints import JointSpec
    from kinematics.model import NeedleRobot
    from kinematics.types import FloatArray, IntArray

__all__ = ["SynchronisedMove", "Trajectory", "plan_needle_motion", "synchronised_move"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SynchronisedMove:
    """One synchronised trapezoidal move of n joints.

    Attributes:
        name: what the move does (``retract``, ``lateral``, ``insert``).
        start: (n,) start joint values.
        goal: (n,) goal joint values.
        duration_s: common duration of every axis.
        cruise_velocity: (n,) cruise speed of each axis, joint unit/s (>= 0).
        acceleration: (n,) acceleration magnitude of each axis, joint unit/s^2.
    """

    name: str
    start: FloatArray
    goal: FloatArray
    duration_s: float
    cruise_velocity: FloatArray
    acceleration: FloatArray

    def sample(self, t_s: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Return position, velocity, acceleration (M, n) at times (M,) clipped to the move."""
        t = np.clip(np.asarray(t_s, dtype=np.float64), 0.0, self.duration_s)[:, None]
        big_t = self.duration_s
        v, a = self.cruise_velocity[None], self.acceleration[None]
        sign = np.sign(self.goal - self.start)[None]
        distance = np.abs(self.goal - self.start)[None]
        with np.errstate(divide="ignore", invalid="ignore"):
            t_acc = np.where(a > 0.0, v / a, 0.0)
        accelerating = t < t_acc
        decelerating = t > big_t - t_acc
        s = np.where(
            accelerating,
            0.5 * a * t**2,
            np.where(decelerating, distance - 0.5 * a * (big_t - t) ** 2, v * (t - 0.5 * t_acc)),
        )
        ds = np.where(accelerating, a * t, np.where(decelerating, a * (big_t - t), v))
        dds = np.where(accelerating, a, np.where(decelerating, -a, 0.0))
        moving = distance > 0.0
        s = np.where(moving, s, 0.0)
        ds = np.where(moving, ds, 0.0)
        dds = np.where(moving, dds, 0.0)
        at_end = t[:, 0] >= big_t
        position = self.start[None] + sign * s
        position[at_end] = self.goal  # exact arrival, no rounding residue
        return position, sign * ds, sign * dds


def synchronised_move(
    name: str,
    start: FloatArray,
    goal: FloatArray,
    max_velocity: FloatArray,
    max_acceleration: FloatArray,
) -> SynchronisedMove:
    """Plan a synchronised trapezoidal move within per-axis velocity and acceleration limits.

    Raises:
        ValueError: shapes differ, non-finite values, or non-positive limits.
    """
    q0, q1 = np.asarray(start, dtype=np.float64), np.asarray(goal, dtype=np.float64)
    vmax = np.asarray(max_velocity, dtype=np.float64)
    amax = np.asarray(max_acceleration, dtype=np.float64)
    if not q0.shape == q1.shape == vmax.shape == amax.shape or q0.ndim != 1:
        raise ValueError(
            f"start, goal and limits must be (n,) arrays of one size, got {q0.shape}, {q1.shape}, "
            f"{vmax.shape}, {amax.shape}"
        )
    if not all(np.all(np.isfinite(x)) for x in (q0, q1, vmax, amax)):
        raise ValueError("start, goal and limits must be finite")
    if np.any(vmax <= 0.0) or np.any(amax <= 0.0):
        raise ValueError("velocity and acceleration limits must be > 0")
    d = np.abs(q1 - q0)
    triangular = d < vmax**2 / amax
    t_min = np.where(triangular, 2.0 * np.sqrt(d / amax), d / vmax + vmax / amax)
    duration = float(t_min.max()) if d.size else 0.0
    # Cruise speed v solving d = v (T - v / a), the smaller root; T >= t_min keeps it <= vmax.
    # Written as 2ad / (aT + sqrt(disc)) rather than (aT - sqrt(disc)) / 2: the difference form
    # cancels to exactly 0 for an axis whose travel is tiny next to the longest one, which would
    # leave that axis standing still and then jump to its goal at the end.
    disc = np.maximum((amax * duration) ** 2 - 4.0 * amax * d, 0.0)
    denominator = amax * duration + np.sqrt(disc)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(d > 0.0, 2.0 * amax * d / denominator, 0.0)
    v = np.minimum(v, vmax)
    return SynchronisedMove(
        name=name,
        start=q0,
        goal=q1,
        duration_s=duration,
        cruise_velocity=v,
        acceleration=np.where(d > 0.0, amax, 0.0),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Trajectory:
    """Sampled joint trajectory made of consecutive synchronised moves.

    Attributes:
        times_s: (M,) sample times from 0, uniform at ``rate_hz`` plus each move's exact end.
        positions: (M, n) joint values.
        velocities: (M, n) joint unit/s.
        accelerations: (M, n) joint unit/s^2.
        segment: (M,) index into ``moves`` of the move each sample belongs to.
        moves: the moves in execution order.
    """

    times_s: FloatArray
    positions: FloatArray
    velocities: FloatArray
    accelerations: FloatArray
    segment: IntArray
    moves: tuple[SynchronisedMove, ...]

    @property
    def duration_s(self) -> float:
        """Total duration of all moves."""
        return float(sum(m.duration_s for m in self.moves))


def _sample(moves: Sequence[SynchronisedMove], start: FloatArray, rate_hz: float) -> Trajectory:
    ends = np.cumsum([m.duration_s for m in moves]) if moves else np.zeros(0)
    total = float(ends[-1]) if moves else 0.0
    grid = np.arange(0.0, total, 1.0 / rate_hz)
    times = np.unique(np.concatenate([grid, ends, [0.0]]))
    n = start.shape[0]
    pos = np.tile(start, (len(times), 1))
    vel = np.zeros((len(times), n))
    acc = np.zeros((len(times), n))
    seg = np.zeros(len(times), dtype=np.int64)
    begin = 0.0
    for index, (move, end) in enumerate(zip(moves, ends, strict=True)):
        # A sample on a boundary belongs to the move that ends there.
        mask = (times > begin) & (times <= end) if index else (times <= end)
        p, v, a = move.sample(times[mask] - begin)
        pos[mask], vel[mask], acc[mask], seg[mask] = p, v, a, index
        begin = float(end)
    if moves:
        # The last sample is the end of the last move, even if that move is too short to change
        # the float sum of durations (a move of 1e-100 mm).
        last = len(moves) - 1
        p, v, a = moves[last].sample(np.array([moves[last].duration_s]))
        pos[-1], vel[-1], acc[-1], seg[-1] = p[0], v[0], a[0], last
    return Trajectory(
        times_s=times,
        positions=pos,
        velocities=vel,
        accelerations=acc,
        segment=seg,
        moves=tuple(moves),
    )


def plan_needle_motion(
    robot: NeedleRobot, start: FloatArray, goal: FloatArray, *, rate_hz: float
) -> Trajectory:
    """Plan retract -> lateral -> insert from ``start`` to ``goal`` joint vectors.

    If any lateral axis must move, the insertion axis first retracts to
    ``robot.retracted_insertion_mm`` (if it is deeper), then every lateral axis moves with the
    insertion axis still, then the insertion axis alone advances to the goal depth. Lateral axes
    never move while the tool is deeper than the retracted depth. A pure depth change is one
    insertion move. Empty moves are left out.

    Raises:
        ValueError: bad shapes, non-positive rate, or start/goal outside the joint limits.
    """
    specs: tuple[JointSpec, ...] = robot.joints
    q0, q1 = np.asarray(start, dtype=np.float64), np.asarray(goal, dtype=np.float64)
    if q0.shape != (len(specs),) or q1.shape != (len(specs),):
        raise ValueError(
            f"start and goal must have shape ({len(specs)},), got {q0.shape}, {q1.shape}"
        )
    if not (math.isfinite(rate_hz) and rate_hz > 0.0):
        raise ValueError(f"rate_hz must be > 0 Hz, got {rate_hz}")
    for label, q in (("start", q0), ("goal", q1)):
        if not np.all(np.isfinite(q)):
            raise ValueError(f"{label} joints must be finite")
        over = limit_excess(q.reshape(1, -1), specs)[0]
        if np.any(over > 0.0):
            worst = int(np.argmax(over))
            raise ValueError(
                f"{label} joint {specs[worst].name} = {q[worst]:.6g} is {over[worst]:.6g} "
                f"{specs[worst].unit} outside its limits "
                f"[{specs[worst].lower}, {specs[worst].upper}]"
            )
    vmax = np.array([s.max_velocity for s in specs])
    amax = np.array([s.max_acceleration for s in specs])
    ins = robot.insertion_index
    lateral = np.arange(len(specs)) != ins
    if np.array_equal(q0[lateral], q1[lateral]):
        # No lateral motion: only the depth changes, no retraction needed.
        moves = []
        if q1[ins] != q0[ins]:
            name = "insert" if q1[ins] > q0[ins] else "retract"
            moves.append(synchronised_move(name, q0, q1, vmax, amax))
        return _sample(moves, q0, rate_hz)
    retracted = min(q0[ins], robot.retracted_insertion_mm)
    moves = []
    waypoint = q0.copy()
    for name in ("retract", "lateral", "insert"):
        nxt = waypoint.copy()
        if name == "retract":
            nxt[ins] = retracted
        elif name == "lateral":
            nxt[lateral] = q1[lateral]
        else:
            nxt[ins] = q1[ins]
        if np.any(nxt != waypoint):
            moves.append(synchronised_move(name, waypoint, nxt, vmax, amax))
        waypoint = nxt
    return _sample(moves, q0, rate_hz)
