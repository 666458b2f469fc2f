"""The controlling console of a product benchmark, run in its own process.

It takes authority with START_UP, calibrates (identity), then places the needle again and again
(TARGETING, ``TGT_``, MOVE_TO_TARGET between two targets, each move taking seconds at the shipped
axis speeds), so that a move streams CURRENT_POSITION whenever the observers measure. When the
parent sets ``streaming_done``, it cuts the move in progress with STOP and samples STOP ->
standstill (``STATUS(STOP, 1)``) on further moves; then it cuts one more move with EMERGENCY sent
on a raw socket (stamped with CLOCK_MONOTONIC just before the send) and sends further EMERGENCY
commands while latched, each stamped the same way, for the parent to match with the emulator's
ESTOP stamps.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import numpy as np

from robot.bench.wire import frame_name
from robot.console import BrpClient, BrpClientConfig, BrpError
from robot.igtl import HEADER_SIZE, IgtlMessage, StringBody, encode

if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.synchronize import Event

    from robot.console.results import PositionReading

__all__ = ["ControllerPlan", "ControllerResult", "place_once", "run_controller"]

CLIENT: Final = BrpClientConfig(
    ack_timeout_s=5.0, reply_timeout_s=10.0, action_timeout_s=120.0, move_silence_s=10.0
)
TARGETS_RAS_MM: Final = ((45.0, 45.0, 20.0), (0.0, 0.0, 20.0))
_MOVE_SETTLE_S: Final = 0.3  # into a move before STOP/EMERGENCY cuts it


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerPlan:
    """What the controlling console does after streaming.

    Attributes:
        port: the server's port.
        stop_samples: STOP -> standstill samples (each cuts a move).
        estop_samples: EMERGENCY samples (the first cuts a move, the rest are sent while latched).
        estop_interval_s: pause between latched EMERGENCY commands.
    """

    port: int
    stop_samples: int
    estop_samples: int
    estop_interval_s: float = 0.02


@dataclass(slots=True)
class ControllerResult:
    """What the controlling console saw."""

    moves_completed: int = 0
    positions: int = 0
    position_span_s: float = 0.0
    stop_ms: list[float] = field(default_factory=list)
    estop_sent_ns: list[int] = field(default_factory=list)
    estop_ack_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)
    cut_by_other_console: str = ""


def _target(index: int) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, 3] = TARGETS_RAS_MM[index % len(TARGETS_RAS_MM)]
    return matrix


def place_once(
    client: BrpClient, index: int, on_position: Callable[[PositionReading], None] | None = None
) -> int:
    """TARGETING, ``TGT_``, MOVE_TO_TARGET to target ``index``; returns the positions streamed."""
    client.targeting()
    client.set_target(_target(index))
    return len(client.move_to_target(on_position=on_position).positions)


class _Mover:
    """Runs one move on a thread; records when its first positions arrived."""

    def __init__(self, client: BrpClient, index: int) -> None:
        self.moving = threading.Event()
        self.error: BaseException | None = None
        self.count = 0
        self.first_s = 0.0
        self.last_s = 0.0
        self._thread = threading.Thread(target=self._run, args=(client, index), daemon=True)
        self._thread.start()

    def _on_position(self, position: PositionReading) -> None:
        del position
        self.last_s = time.monotonic()
        if self.count == 0:
            self.first_s = self.last_s
        self.count += 1
        if self.count >= 2:  # noqa: PLR2004 - the move streams
            self.moving.set()

    def _run(self, client: BrpClient, index: int) -> None:
        try:
            place_once(client, index, self._on_position)
        except BrpError as err:  # the cut move ends in BrpInterruptedError: expected
            self.error = err
        finally:
            self.moving.set()

    def join(self, timeout_s: float) -> None:
        self._thread.join(timeout_s)

    @property
    def done(self) -> bool:
        """Whether the move has ended."""
        return not self._thread.is_alive()


class _RawEmergency:
    """A second connection that sends pre-encoded ``CMD_<id> EMERGENCY`` and waits for its ACK."""

    def __init__(self, port: int) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=5.0)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = bytearray()
        self._count = 0

    def send(self) -> tuple[int, float]:
        """Send one EMERGENCY; returns (monotonic ns just before the send, ms to its ACK)."""
        command_id = f"E{self._count}"
        self._count += 1
        frame = encode(
            IgtlMessage(device_name=f"CMD_{command_id}", body=StringBody(text="EMERGENCY"))
        )
        sent_ns = time.monotonic_ns()
        self._sock.sendall(frame)
        while True:
            while len(self._buffer) >= HEADER_SIZE:
                size = int.from_bytes(self._buffer[42:50], "big")
                if len(self._buffer) < HEADER_SIZE + size:
                    break
                name = frame_name(self._buffer[:HEADER_SIZE])
                del self._buffer[: HEADER_SIZE + size]
                if name == f"ACK_{command_id}":
                    return sent_ns, (time.monotonic_ns() - sent_ns) / 1e6
            chunk = self._sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("the server closed the EMERGENCY connection")
            self._buffer += chunk

    def close(self) -> None:
        self._sock.close()


def run_controller(plan: ControllerPlan, ready: Event, streaming_done: Event) -> ControllerResult:
    """Process entry: start up, stream placements until ``streaming_done``, then STOP/EMERGENCY."""
    result = ControllerResult()
    pause = threading.Event()
    try:
        with BrpClient("127.0.0.1", plan.port, config=CLIENT) as client:
            client.start_up()
            client.calibration(np.eye(4))
            index = 0
            mover = _Mover(client, index)
            mover.moving.wait(60.0)
            ready.set()
            # Stream: a move is always in progress; the next starts when one ends. A move that
            # fails is recorded (with its CLOCK_MONOTONIC time) and the robot started up again.
            while not streaming_done.wait(0.05):
                if not mover.done:
                    continue
                if mover.error is not None:
                    result.failures.append((time.monotonic(), f"{mover.error}"))
                    client.start_up()
                    client.calibration(np.eye(4))
                else:
                    result.moves_completed += 1
                    result.positions += mover.count - 1
                    result.position_span_s += mover.last_s - mover.first_s
                index += 1
                mover = _Mover(client, index)
            # The move in progress counts for the position rate up to here.
            result.positions += max(mover.count - 1, 0)
            result.position_span_s += max(mover.last_s - mover.first_s, 0.0)
            # STOP -> standstill, each cutting a move that streams.
            for _ in range(plan.stop_samples):
                mover.moving.wait(60.0)
                pause.wait(_MOVE_SETTLE_S)
                t0 = time.perf_counter_ns()
                client.stop()
                result.stop_ms.append((time.perf_counter_ns() - t0) / 1e6)
                mover.join(10.0)
                index += 1
                mover = _Mover(client, index)
            mover.moving.wait(60.0)
            pause.wait(_MOVE_SETTLE_S)
            raw = _RawEmergency(plan.port)
            try:
                for _ in range(plan.estop_samples):
                    sent_ns, ack_ms = raw.send()
                    result.estop_sent_ns.append(sent_ns)
                    result.estop_ack_ms.append(ack_ms)
                    pause.wait(plan.estop_interval_s)
            finally:
                raw.close()
            mover.join(10.0)
            # How this console's client reported its move being cut by another console's EMERGENCY.
            result.cut_by_other_console = f"{type(mover.error).__name__}: {mover.error}"
    except (BrpError, OSError) as err:
        result.errors.append(f"{type(err).__name__}: {err}")
    ready.set()
    return result
