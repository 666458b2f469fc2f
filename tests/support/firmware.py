"""Test helpers for hal: fast robot configs, emulators, permits, and a scripted fake firmware.

``ScriptedFirmware`` is a transport whose far end follows a script, like libfranka's mock
server: ``fw.expect(MessageType.MOVE).drop(2).reply(ack)``. It does not model physics, timing
or telemetry unless the test sends it with :meth:`ScriptedFirmware.push`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from firmware_interfaces import (
    Ack,
    Frame,
    FrameDecoder,
    Message,
    MessageType,
    Move,
    Nack,
    NackReason,
    encode_frame,
)
from hal import (
    CallbackReturn,
    ControllerConfig,
    FaultEvent,
    HalError,
    HalFaultKind,
    PiezoConfig,
    PneumaticStepperConfig,
)
from hal.emulator import EmulatedFirmware, FaultPlan, emulator_config_for
from hal.emulator.pipe import ByteChannel
from hal.errors import TransportError
from safety.permits import JointEnvelope, MotionPermit, PermitAuthority, PermitVerifier

FAST_CONFIG = ControllerConfig(
    axes=(
        PneumaticStepperConfig(
            name="x1", min_position=-25.0, max_position=25.0, max_step_rate_hz=2000.0
        ),
        PneumaticStepperConfig(
            name="y1", min_position=-25.0, max_position=25.0, max_step_rate_hz=2000.0
        ),
        PiezoConfig(name="insertion", min_position=0.0, max_position=100.0, max_speed=200.0),
    ),
    # Most users step it in simulated time, which has no host scheduling delay: the link
    # time-out is the period rule alone (5 x 5 ms), so link-loss tests stay tight.
    link_timeout_floor_s=0.0,
)
"""Three axes that move fast (200 mm/s), so real-time tests stay short."""


def fast_emulator(
    plan: FaultPlan | None = None, *, config: ControllerConfig = FAST_CONFIG, **kwargs: int
) -> EmulatedFirmware:
    """An emulator matching ``config`` with fast homing (200 mm/s) and 5 ms telemetry."""
    options = {"homing_velocity_um_s": 200_000, "telemetry_period_ms": 5, **kwargs}
    return EmulatedFirmware(emulator_config_for(config, **options), fault_plan=plan)


def wide_permit(
    authority: PermitAuthority, config: ControllerConfig = FAST_CONFIG, *, lease_s: float = 60.0
) -> MotionPermit:
    """A permit covering every axis over its whole soft range at its top speed."""
    envelopes = [
        JointEnvelope(
            joint=a.name,
            min_position=a.min_position,
            max_position=a.max_position,
            max_speed=a.max_speed,
        )
        for a in config.axes
    ]
    return authority.issue(plan_id="test-plan", envelopes=envelopes, lease_s=lease_s)


Reply = Callable[[Frame], list[Message]]


def ack(frame: Frame) -> list[Message]:
    """ACK the frame."""
    return [Ack(ack_seq=frame.seq, command_type=type(frame.message).TYPE)]


def nack(reason: NackReason) -> Reply:
    """NACK the frame with ``reason``."""

    def _reply(frame: Frame) -> list[Message]:
        return [Nack(nack_seq=frame.seq, command_type=type(frame.message).TYPE, reason=reason)]

    return _reply


@dataclass
class _Rule:
    message_type: MessageType
    drops: int = 0
    replies: list[Reply] = field(default_factory=list)

    def drop(self, times: int = 1) -> _Rule:
        self.drops += times
        return self

    def reply(self, *replies: Reply) -> _Rule:
        self.replies.extend(replies)
        return self


class ScriptedFirmware:
    """A host transport whose firmware end answers from a script (unscripted frames: silence)."""

    url = "scripted://"

    def __init__(self) -> None:
        self._rx = ByteChannel()
        self._decoder = FrameDecoder()
        self._rules: deque[_Rule] = deque()
        self._seq = 0
        self.received: list[Frame] = []

    def expect(self, message_type: MessageType) -> _Rule:
        rule = _Rule(message_type)
        self._rules.append(rule)
        return rule

    def inject(self, data: bytes) -> None:
        """Put raw bytes (garbage, hand-made frames) on the line to the host."""
        self._rx.put(data, url=self.url)

    def push(self, message: Message) -> None:
        """Send an unsolicited message to the host."""
        self._rx.put(encode_frame(message, self._seq), url=self.url)
        self._seq = (self._seq + 1) % 65536

    def disconnect(self) -> None:
        self._rx.close()

    def of_type(self, message_type: MessageType) -> list[Frame]:
        return [f for f in self.received if type(f.message).TYPE is message_type]

    # Transport protocol
    def read(self) -> bytes:
        return self._rx.get(0.005, url=self.url)

    def write(self, data: bytes) -> None:
        if self._rx.closed:
            raise TransportError("scripted firmware disconnected", url=self.url)
        for item in self._decoder.feed(data):
            if not isinstance(item, Frame):
                continue
            self.received.append(item)
            rule = next((r for r in self._rules if r.message_type is type(item.message).TYPE), None)
            if rule is None:
                continue
            if rule.drops:
                rule.drops -= 1
                continue
            if rule.replies:
                responder = rule.replies[0] if len(rule.replies) == 1 else rule.replies.pop(0)
                for message in responder(item):
                    self.push(message)

    def close(self) -> None:
        self._rx.close()


@contextlib.contextmanager
def motion_in_progress(rig: SimRig) -> Iterator[None]:
    """Another thread's MOVE of every axis is being sent (held on the wire) meanwhile."""
    original = rig.firmware.receive
    on_wire = threading.Event()
    release = threading.Event()

    def receive(data: bytes) -> None:
        frames = [i for i in FrameDecoder().feed(data) if isinstance(i, Frame)]
        if any(isinstance(f.message, Move) for f in frames):
            on_wire.set()
            release.wait(2.0)
        original(data)

    def mover() -> None:
        targets = {a.name: a.min_position for a in rig.config.axes}
        with contextlib.suppress(HalError):  # refused (not homed, say) once released
            rig.driver.move(targets, permit=rig.permit())

    rig.firmware.receive = receive  # type: ignore[method-assign]
    thread = threading.Thread(target=mover, name="test-mover")
    thread.start()
    try:
        assert on_wire.wait(2.0), "the other MOVE never reached the wire"
        yield
    finally:
        release.set()
        thread.join(2.0)
        rig.firmware.receive = original  # type: ignore[method-assign]


class SimRig:
    """Driver + in-process emulator in simulated time, driven by the test.

    The driver's clock is a :class:`FakeClock` advanced in lock-step with the emulator, and its
    heartbeat runs from :meth:`run` (no heartbeat thread), so nothing depends on wall time.
    Only the driver's reader thread is real: :meth:`run` waits (with a deadline) until it has
    taken each telemetry frame before moving time on.
    """

    def __init__(
        self,
        plan: FaultPlan | None = None,
        *,
        config: ControllerConfig = FAST_CONFIG,
        emulator: EmulatedFirmware | None = None,
        on_fault: Callable[[FaultEvent], None] | None = None,
        wrap_verifier: Callable[[PermitVerifier], PermitVerifier] | None = None,
        **emulator_options: int,
    ) -> None:
        from hal import ControllerDriver
        from hal.emulator import InProcessPort
        from tests.support.clock import FakeClock

        self.config = config
        self.clock = FakeClock()
        self.authority = PermitAuthority(self.clock)
        self.firmware = emulator or fast_emulator(plan, config=config, **emulator_options)
        self.port = InProcessPort(self.firmware)
        self.events: list[FaultEvent] = []
        verifier = self.authority.verifier
        self.driver = ControllerDriver(
            config,
            self.port,
            self.clock,
            verifier if wrap_verifier is None else wrap_verifier(verifier),
            on_fault=on_fault or self.events.append,
            heartbeat_thread=False,
        )
        self._since_heartbeat_s = 0.0
        self._read_base = 0
        self._written_base = 0

    def permit(self, **kwargs: float) -> MotionPermit:
        return wide_permit(self.authority, self.config, **kwargs)

    def up(self, *, home: bool = True) -> SimRig:
        """Configure, activate and (by default) home."""
        assert self.driver.configure() is CallbackReturn.SUCCESS, self.driver.last_error
        self.run(0.02)
        assert self.driver.activate() is CallbackReturn.SUCCESS, self.driver.last_error
        if home:
            self.driver.home(permit=self.permit())
            self.run_until(lambda: all(a.homed and not a.moving for a in self.firmware.axes))
        return self

    def run(self, seconds: float, *, dt_s: float = 0.005, heartbeat: bool = True) -> None:
        """Advance simulated time (emulator and driver clock) with heartbeats every 50 ms."""
        end_s = self.firmware.time_s + seconds
        while self.firmware.time_s < end_s - 1e-9:
            step_s = min(dt_s, end_s - self.firmware.time_s)
            self.firmware.step(step_s)
            self.clock.advance(step_s)
            self._drain()
            self._since_heartbeat_s += step_s
            if heartbeat and self._since_heartbeat_s >= 0.05 - 1e-9:
                self._since_heartbeat_s = 0.0
                self.driver.heartbeat_once()

    def _host_has_read_everything(self) -> bool:
        return (
            self._read() - self._read_base
            >= self.firmware.counters.frames_written - self._written_base
        )

    def _read(self) -> int:
        counters = self.driver.counters()
        return counters.frames_rx + sum(counters.frame_faults.values())

    def reconnect(self) -> CallbackReturn:
        """Reconnect the driver (new in-process connection) and reset the drain baseline."""
        self.firmware.detach()
        result = self.driver.reconnect()
        self._read_base = self._read()
        self._written_base = self.firmware.counters.frames_written
        return result

    def _drain(self) -> None:
        """Wait (bounded) until the driver's reader has taken every frame sent so far."""
        if not (self.firmware.connected and self.driver.link.is_up):
            return
        deadline = time.monotonic() + 1.0
        pause = threading.Event()
        while not self._host_has_read_everything() and time.monotonic() < deadline:
            pause.wait(0.0002)

    def run_until(self, condition: Callable[[], bool], *, limit_s: float = 5.0) -> float:
        """Run until ``condition()``; returns the simulated seconds it took."""
        start_s = self.firmware.time_s
        while not condition():
            if self.firmware.time_s - start_s > limit_s:
                raise AssertionError(f"condition not met within {limit_s} s simulated")
            self.run(0.005)
        return self.firmware.time_s - start_s

    def events_of(self, kind: HalFaultKind) -> list[FaultEvent]:
        return [e for e in self.events if e.kind is kind]

    def axes_stopped(self) -> bool:
        return not any(a.moving for a in self.firmware.axes)

    def close(self) -> None:
        self.driver.close()
        self.firmware.detach()
