"""What the core's collaborators (START_UP, motion) may use of the core: one narrow protocol.

:class:`~robot.runtime.core.RobotCore` provides it; :class:`~robot.runtime.startup.StartUpSequence`
and :class:`~robot.runtime.motion.MotionControl` depend on this protocol only, so the package
has no import cycle and the collaborators see no more of the core than they need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections import deque

    from hal import FaultEvent, HalStatus
    from kinematics import NeedleRobot
    from robot.runtime.jobs import JobResult
    from robot.runtime.readings import Readings
    from safety import Decision, InterlockSnapshot

__all__ = ["CoreServices"]


class CoreServices(Protocol):
    """The core's state of this cycle and the calls that report and record."""

    @property
    def robot(self) -> NeedleRobot:
        """The kinematic model, whichever the configuration chose (it changes with the tool)."""
        ...

    @property
    def readings(self) -> Readings:
        """This cycle's joint readings."""
        ...

    @property
    def status(self) -> HalStatus | None:
        """This cycle's HAL status (``None`` before the first cycle)."""
        ...

    @property
    def scanner_imaging(self) -> bool | None:
        """The scanner's imaging state (``None``: unknown)."""
        ...

    @property
    def controller_faults(self) -> deque[str]:
        """Controller faults reported since START_UP began (newest last)."""
        ...

    def snapshot(self, *, command_authority: bool = True) -> InterlockSnapshot:
        """The interlock snapshot of now."""
        ...

    def finish(self, result: JobResult) -> None:
        """Report a finished job to the workphase layer."""
        ...

    def commit(self) -> None:
        """Group-commit the audit log (never raises)."""
        ...

    def fault(self, reason: str) -> None:
        """Report a hardware fault and carry out its stop."""
        ...

    def apply_stop(self, decision: Decision) -> None:
        """Command the stop a decision asks for."""
        ...

    def drain_controller_faults(self) -> list[FaultEvent]:
        """Take the driver's queued fault events."""
        ...
