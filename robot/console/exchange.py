"""Sans-I/O checker of one BRP request's replies: a script (a generator) fed message by message.

A script yields :class:`Expect` (the next message it needs, and how long it may take) and receives
that message; it returns the exchange's result or raises :class:`BrpError`. :class:`Exchange`
drives it: a message with one of the script's device names that is not the one expected is an
order violation; ``CURRENT_POSITION`` is collected where the expectation allows it and otherwise
left to the caller as unsolicited, as is any message with a device name the script never uses.
Outcomes (positions, result, error) go to :attr:`Exchange.events` for the waiting thread.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Generic, TypeVar

from robot.console.errors import BrpError, BrpInterruptedError, BrpProtocolError
from robot.console.results import PositionReading
from robot.igtl import TransformBody

if TYPE_CHECKING:
    from collections.abc import Generator

    from robot.igtl import IgtlMessage

__all__ = [
    "POSITION_NAME",
    "Exchange",
    "ExchangeDone",
    "ExchangeEvent",
    "ExchangeFailed",
    "Expect",
]

POSITION_NAME: Final = "CURRENT_POSITION"
R = TypeVar("R")


@dataclass(frozen=True, slots=True, kw_only=True)
class Expect:
    """The next message a script needs.

    Attributes:
        types: acceptable TYPE fields.
        names: acceptable device names.
        timeout_s: how long it may take, counted from the last message of this exchange.
        positions: whether ``CURRENT_POSITION`` may arrive (and is collected) meanwhile.
    """

    types: tuple[str, ...]
    names: tuple[str, ...]
    timeout_s: float
    positions: bool = False

    def describe(self) -> str:
        """``TYPE(NAME)`` in words."""
        return f"{'|'.join(self.types)}({'|'.join(self.names)})"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeDone(Generic[R]):
    """The exchange completed; ``result`` is the script's return value."""

    result: R


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeFailed:
    """The exchange ended with ``error`` (error STATUS, violation, time-out, interruption)."""

    error: BrpError


ExchangeEvent = PositionReading | ExchangeDone[R] | ExchangeFailed


class Exchange(Generic[R]):
    """One request's replies, checked in order. Not thread-safe: the owner serialises calls.

    Args:
        label: ``CMD_0001 START_UP`` or similar, for messages.
        ack_name: the device name of the first reply (a preempting request cuts older exchanges
            when it arrives).
        names: every device name the script may expect.
        script: the generator, not yet started.
        started_s: monotonic seconds when the request was sent.
        preemptive: STOP and EMERGENCY: cut older exchanges when acknowledged.
        overall_timeout_s: upper bound on the whole exchange, or None.
    """

    def __init__(
        self,
        *,
        label: str,
        ack_name: str,
        names: frozenset[str],
        script: Generator[Expect, IgtlMessage, R],
        started_s: float,
        preemptive: bool = False,
        overall_timeout_s: float | None = None,
    ) -> None:
        self.label = label
        self.ack_name = ack_name
        self.preemptive = preemptive
        self.events: queue.Queue[ExchangeEvent[R]] = queue.Queue()
        self._names = names
        self._script = script
        self._started_s = started_s
        self._overall_timeout_s = overall_timeout_s
        self._last_s = started_s
        self._expect: Expect | None = next(script)
        self.finished = False
        self.error: BrpError | None = None

    @property
    def expecting(self) -> Expect | None:
        """What the script waits for (None once finished)."""
        return self._expect

    def deadline_s(self) -> float:
        """Monotonic time by which the next expected message must arrive."""
        if self._expect is None:
            return float("inf")
        deadline = self._last_s + self._expect.timeout_s
        if self._overall_timeout_s is not None:
            deadline = min(deadline, self._started_s + self._overall_timeout_s)
        return deadline

    def timeout_s(self, now_s: float) -> float:
        """The time-out that applies at ``now_s`` (for messages)."""
        if self._expect is None:
            return 0.0
        if (
            self._overall_timeout_s is not None
            and self._started_s + self._overall_timeout_s <= now_s
        ):
            return self._overall_timeout_s
        return self._expect.timeout_s

    def feed(self, message: IgtlMessage, received_s: float) -> bool:
        """Offer one message; returns whether it belongs to this exchange (consumed)."""
        expect = self._expect
        if expect is None:
            return False
        name = message.device_name
        wanted = message.message_type in expect.types and name in expect.names
        if name == POSITION_NAME and not wanted:
            if not (expect.positions and isinstance(message.body, TransformBody)):
                return False
            self._last_s = received_s
            self.events.put(PositionReading(T_ras_from_tip=message.body.matrix_ras_mm))
            return True
        if name not in self._names:
            return False
        self._last_s = received_s
        if not wanted:
            self.fail(
                BrpProtocolError(
                    "ORDER",
                    f"{self.label}: expected {expect.describe()}, "
                    f"got {message.message_type}({name})",
                    device_name=name,
                )
            )
            return True
        try:
            self._expect = self._script.send(message)
        except StopIteration as stop:
            self._finish(ExchangeDone(result=stop.value))
        except BrpError as err:
            self._finish(ExchangeFailed(error=err))
        return True

    def fail(self, error: BrpError) -> None:
        """End the exchange with ``error`` (idempotent: the first outcome wins)."""
        if not self.finished:
            self._script.close()
            self._finish(ExchangeFailed(error=error))

    def cut(self, by: str) -> None:
        """End the exchange as interrupted by STOP or EMERGENCY."""
        self.fail(BrpInterruptedError(device_name=self.label, by=by))

    def _finish(self, event: ExchangeDone[R] | ExchangeFailed) -> None:
        if isinstance(event, ExchangeFailed):
            self.error = event.error
        self._expect = None
        self.finished = True
        self.events.put(event)
