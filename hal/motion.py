"""Motion commands of the controller driver: home, synchronised move, jog, each behind a permit.

:class:`~hal.controller.ControllerDriver` owns one :class:`MotionCommands` and delegates to it,
built with what it needs: configuration, axes, link, verifier, the driver's stop state and a view
of its lifecycle state. Every command needs the ACTIVE state and a valid
:class:`~safety.permits.MotionPermit` for each axis that moves (checked by the injected verifier;
a refusal is a :class:`~hal.errors.PermitRefusedError`), refuses a second concurrent motion
request at once (one motion owner), and validates values before anything reaches the wire.

A ``stop()`` or ``estop()`` issued after a command was asked for wins: the command notes the stop
generation on entry and its frame, or any retry of it, is withdrawn once that has changed
(:class:`~hal.errors.RequestAbortedError`).
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING

from firmware_interfaces import AxisStatus, Home, Jog, Move
from hal.axes import ImagingInterlockError
from hal.config import to_wire_um
from hal.errors import (
    LifecycleError,
    LinkDownError,
    MotionBusyError,
    PermitRefusedError,
    RequestAbortedError,
)
from hal.status import LifecycleState
from safety.errors import PermitError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from hal.axes import Axis
    from hal.config import ControllerConfig
    from hal.link import Link
    from hal.stops import StopState
    from safety.permits import MotionPermit, PermitVerifier

__all__ = ["MotionCommands"]


class MotionCommands:
    """Home, move and jog for one driver: checks, permits, one motion owner, command ids.

    Args:
        config: axes and timing.
        axes: the driver's axes by name (in the order of ``config``).
        link: the driver's link.
        verifier: checks motion permits; only the supervisor can issue them.
        stops: the driver's stop state; its lock also guards the refusal count, the hold fence
            and the last move kept here.
        state: the driver's lifecycle state now.
    """

    def __init__(
        self,
        config: ControllerConfig,
        axes: Mapping[str, Axis],
        link: Link,
        verifier: PermitVerifier,
        stops: StopState,
        state: Callable[[], LifecycleState],
    ) -> None:
        self._config = config
        self._axes = axes
        self._link = link
        self._verifier = verifier
        self._stops = stops
        self._lock = stops.lock
        self._state = state
        self._motion_lock = threading.Lock()  # one motion owner; guards _command_id*
        self._refused_motions = 0
        self._command_id = 0
        self._command_id_synced = False
        self._last_move: tuple[int, tuple[int, ...]] | None = None
        self._homing_speeds: dict[str, float] = {}
        self._hold_fence = 0  # telemetry count at the last enable/home/jog reply

    @property
    def refused_motions(self) -> int:
        """Motion requests refused so far (lifecycle, permit, busy, withdrawn, interlock)."""
        with self._lock:
            return self._refused_motions

    @property
    def homing_speeds(self) -> dict[str, float]:
        """Homing speed per axis (mm/s or rad/s), read from the firmware at configure."""
        return dict(self._homing_speeds)

    def reset(self, homing_speeds: dict[str, float]) -> None:
        """After a configure: the next move continues from the firmware's last command id."""
        self._homing_speeds = homing_speeds
        with self._motion_lock:
            self._command_id_synced = False
        with self._lock:
            self._last_move = None

    def fence_telemetry(self) -> None:
        """Setpoints changed (enable, home, jog): only later telemetry shows where axes hold."""
        fence = self._link.telemetry_received
        with self._lock:
            self._hold_fence = fence

    def _count_refusal(self) -> None:
        with self._lock:
            self._refused_motions += 1

    def _require_active(self, operation: str) -> None:
        state = self._state()
        if state is not LifecycleState.ACTIVE:
            self._count_refusal()
            raise LifecycleError(operation=operation, state=state.value, allowed="active")

    def _refuse_if_stopped(self, mark: int, operation: str) -> None:
        if self._stops.stopped_since(mark)():
            self._count_refusal()
            raise RequestAbortedError(f"{operation} withdrawn: a stop was issued meanwhile")

    def _check_permit(
        self, permit: MotionPermit | None, name: str, target: float, speed: float | None
    ) -> None:
        try:
            self._verifier.check(permit, joint=name, target=target, speed=speed)
        except PermitError as err:
            self._count_refusal()
            raise PermitRefusedError(err.reason) from err

    def _send_setpoint_change(self, message: Home | Jog, mark: int, operation: str) -> None:
        """Send a HOME or JOG (no retry) unless a stop came since ``mark``; then fence telemetry.

        Called with the motion lock held.
        """
        self._refuse_if_stopped(mark, operation)
        try:
            self._link.request(
                message,
                timeout_s=self._config.ack_timeout_s,
                retries=0,
                abort=self._stops.stopped_since(mark),
            )
        finally:
            self.fence_telemetry()

    def home(self, names: tuple[str, ...] | None = None, *, permit: MotionPermit | None) -> None:
        """Home the named axes (default: all) towards their lower limit switch.

        Homing starts wherever an axis is, runs down past ``min_position`` to the lower limit
        switch (hardware overtravel, bounded by the switch, which no soft target can express)
        and backs off to ``min_position``. So a homing permit must cover, for every homed axis,
        the whole soft range ``[min_position, max_position]`` at a speed cap of at least the
        homing speed (the firmware's ``HOMING_VELOCITY_UM_S``, read at configure, capped at the
        axis's top speed).

        Raises:
            LifecycleError: not ACTIVE.
            PermitRefusedError: the permit does not cover an axis, its range or speed.
            MotionBusyError: another motion request is being sent.
            RequestAbortedError: stop() or estop() was called meanwhile; nothing was sent.
            NackError, RequestTimeoutError, LinkDownError: refused or no answer.
        """
        mark = self._stops.mark()
        self._require_active("home")
        selected = names or tuple(self._axes)
        mask = 0
        for name in selected:
            index = self._config.axis_index(name)
            cfg = self._config.axes[index]
            speed = self._homing_speeds.get(name, cfg.max_speed)
            self._check_permit(permit, name, cfg.min_position, speed)
            self._check_permit(permit, name, cfg.max_position, speed)
            mask |= 1 << index
        if not self._motion_lock.acquire(blocking=False):
            self._count_refusal()
            raise MotionBusyError("another motion request is in progress (one motion owner)")
        try:
            self._send_setpoint_change(Home(axis_mask=mask), mark, "home")
        finally:
            self._motion_lock.release()

    def move(
        self,
        targets: Mapping[str, float],
        *,
        permit: MotionPermit | None,
        duration_s: float = 0.0,
        speeds: Mapping[str, float] | None = None,
        imaging: bool = False,
    ) -> int:
        """Synchronised absolute move (one MOVE frame); unlisted axes hold. Returns the command id.

        An unlisted axis holds its commanded position, so it must be at rest: the move is
        refused while telemetry shows it moving, or while it is still heading for the target
        of an earlier move that telemetry does not show yet. Command ids continue from the
        firmware's last accepted id (read from telemetry after each configure), so a new host
        process never repeats the id the firmware would ignore.

        Args:
            targets: joint name -> target (mm or rad).
            permit: motion permit covering every listed joint, target and speed.
            duration_s: minimum duration (s); the firmware stretches it to respect speeds.
            speeds: joint name -> speed cap (mm/s or rad/s); default the axis maximum.
            imaging: the scanner is imaging; axes that are not imaging-safe may not move.

        Raises:
            ValueError: unknown joint, non-finite or out-of-limit target, bad speed or duration.
            ImagingInterlockError: ``imaging`` and a listed axis is not imaging-safe.
            LifecycleError: not ACTIVE.
            PermitRefusedError: the permit does not allow it.
            MotionBusyError: another motion request is being sent, or an unlisted axis moves.
            RequestAbortedError: stop() or estop() was called meanwhile; the frame, or its
                retry, was not sent.
            NackError, RequestTimeoutError, LinkDownError: refused or no answer.
        """
        mark = self._stops.mark()
        self._require_active("move")
        if not (math.isfinite(duration_s) and duration_s >= 0):
            raise ValueError(f"duration_s must be finite and >= 0 s, got {duration_s}")
        speeds = speeds or {}
        for name, target in targets.items():
            if name not in self._axes:
                raise ValueError(f"unknown joint {name!r}; joints are {list(self._axes)}")
            axis = self._axes[name]
            speed = speeds.get(name, axis.max_speed)
            if not (math.isfinite(target) and math.isfinite(speed) and speed > 0):
                raise ValueError(
                    f"joint {name}: target {target} and speed {speed} must be finite, speed > 0"
                )
            if speed > axis.max_speed * (1 + 1e-9):
                raise ValueError(
                    f"joint {name}: speed {speed:g} exceeds the axis limit {axis.max_speed:g} per s"
                )
            if imaging and not axis.imaging_safe:
                self._count_refusal()
                raise ImagingInterlockError(
                    f"axis {name} is not imaging-safe and the scanner is imaging; motion refused"
                )
            cfg = axis.config
            if not cfg.min_position <= target <= cfg.max_position:
                raise ValueError(
                    f"joint {name}: target {target:g} outside soft limits "
                    f"[{cfg.min_position:g}, {cfg.max_position:g}]"
                )
            self._check_permit(permit, name, target, speed)
        if not self._motion_lock.acquire(blocking=False):
            self._count_refusal()
            raise MotionBusyError("another motion request is in progress (one motion owner)")
        try:
            received = self._link.telemetry_received
            sample = self._link.latest  # taken after the count: at least that new
            if sample is None:
                raise LinkDownError("no telemetry yet; cannot hold the unlisted axes")
            telemetry = sample.telemetry
            with self._lock:
                last_move = self._last_move
                fence = self._hold_fence
            if received <= fence and not set(self._axes) <= set(targets):
                raise LinkDownError(
                    "no telemetry since the last enable, home or jog yet; cannot hold the "
                    "unlisted axes (retry after the next telemetry)"
                )
            # Targets of our last accepted move that telemetry does not show yet: the firmware
            # is heading there even where the (older) telemetry shows an axis at rest.
            unseen = (
                last_move[1]
                if last_move is not None and last_move[0] != telemetry.last_command_id
                else None
            )
            targets_um: list[int] = []
            speeds_um: list[int] = []
            for index, (axis, record) in enumerate(
                zip(self._axes.values(), telemetry.axes, strict=True)
            ):
                kind = axis.config.kind
                if axis.name in targets:
                    targets_um.append(to_wire_um(targets[axis.name], kind))
                    speeds_um.append(to_wire_um(speeds.get(axis.name, axis.max_speed), kind))
                    continue
                heading_elsewhere = unseen is not None and unseen[index] != record.commanded_um
                if record.status & AxisStatus.MOVING or heading_elsewhere:
                    self._count_refusal()
                    raise MotionBusyError(
                        f"axis {axis.name} is still moving and is not listed in the move: list "
                        "it with a target, or wait until it stands still"
                    )
                # At rest, so its target is where it is: the only axes whose target differs
                # from their commanded position are the listed ones, each checked above.
                targets_um.append(record.commanded_um)
                speeds_um.append(to_wire_um(axis.max_speed, kind))
            if not self._command_id_synced:
                self._command_id = telemetry.last_command_id
                self._command_id_synced = True
            self._command_id = (self._command_id % 0xFFFF_FFFF) + 1  # 1 .. 2**32 - 1, never 0
            if self._command_id == telemetry.last_command_id:  # the firmware would ignore it
                self._command_id = (self._command_id % 0xFFFF_FFFF) + 1
            command_id = self._command_id
            message = Move(
                command_id=command_id,
                duration_ms=round(duration_s * 1000),
                targets_um=tuple(targets_um),
                max_velocity_um_s=tuple(speeds_um),
            )
            if not self._stops.supersede_stop(mark):
                self._count_refusal()
                raise RequestAbortedError("move withdrawn: a stop was issued meanwhile")
            self._link.request(
                message,
                timeout_s=self._config.ack_timeout_s,
                retries=self._config.retries,
                abort=self._stops.stopped_since(mark),
            )
            with self._lock:
                self._last_move = (command_id, message.targets_um)
            return command_id
        finally:
            self._motion_lock.release()

    def jog(
        self, name: str, velocity: float, duration_s: float, *, permit: MotionPermit | None
    ) -> None:
        """Jog one axis at ``velocity`` (mm/s or rad/s) for ``duration_s`` (hold-to-run).

        Raises:
            ValueError, LifecycleError, PermitRefusedError, MotionBusyError, NackError, HalError.
            RequestAbortedError: stop() or estop() was called meanwhile; nothing was sent.
        """
        mark = self._stops.mark()
        self._require_active("jog")
        axis = self._axes.get(name)
        if axis is None:
            raise ValueError(f"unknown joint {name!r}; joints are {list(self._axes)}")
        if not (math.isfinite(velocity) and math.isfinite(duration_s) and 0 < duration_s <= 60.0):  # noqa: PLR2004
            raise ValueError(
                f"jog velocity {velocity} and duration {duration_s} s must be finite, "
                "0 < duration <= 60 s"
            )
        position = axis.commanded()
        if position is None:
            raise LinkDownError("no telemetry yet; the jog target cannot be computed")
        cfg = axis.config
        target = min(cfg.max_position, max(cfg.min_position, position + velocity * duration_s))
        self._check_permit(permit, name, target, abs(velocity))
        if not self._motion_lock.acquire(blocking=False):
            self._count_refusal()
            raise MotionBusyError("another motion request is in progress (one motion owner)")
        try:
            message = Jog(
                axis=self._config.axis_index(name),
                velocity_um_s=to_wire_um(velocity, cfg.kind),
                duration_ms=round(duration_s * 1000),
            )
            self._send_setpoint_change(message, mark, "jog")
        finally:
            self._motion_lock.release()
