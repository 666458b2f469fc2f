"""A scripted BRP robot on a real socket: each expected request gets the replies a test lists.

Built on :class:`robot.igtl.IgtlServer`. A test lists expectations in order with
``robot.expect(match).reply(step, ...)``; each step is a message factory (given the request), a
:class:`Disconnect`, or a :class:`Hold` that waits for the test to release it (to interleave a STOP
with a move). An unexpected request is recorded in :attr:`FakeRobot.unexpected` and gets no reply.

Does not model: phases, authority, timing of a real robot, or several connections talking at once
(replies go to the requesting connection only).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from robot.igtl import (
    IgtlMessage,
    IgtlServer,
    RawBody,
    ServerConfig,
    StatusBody,
    StringBody,
    TransformBody,
    encode,
    encode_content,
)

if TYPE_CHECKING:
    from robot.igtl.handler import Connection

Factory = Callable[[IgtlMessage], IgtlMessage]


@dataclass(frozen=True)
class Disconnect:
    """Close the connection at this point of the replies."""


@dataclass
class Hold:
    """Stop sending replies until the test calls :meth:`release` (or the robot closes)."""

    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


@dataclass(frozen=True)
class RawFrame:
    """Send these bytes verbatim (e.g. a frame with a bad CRC)."""

    data: bytes


Step = Factory | Disconnect | Hold | RawFrame


def command_id(request: IgtlMessage) -> str:
    """The ``<id>`` of ``CMD_<id>``, ``CLB_<id>`` or ``TGT_<id>``."""
    return request.device_name.split("_", 1)[1]


def ack() -> Factory:
    """``ACK_<id>`` echoing the request's content bytes (STRING or TRANSFORM)."""

    def make(request: IgtlMessage) -> IgtlMessage:
        content = request.content or encode_content(request.body)
        return IgtlMessage(
            device_name=f"ACK_{command_id(request)}",
            body=RawBody(type_name=request.message_type, content=content),
        )

    return make


def ack_text(text: str) -> Factory:
    """``STRING(ACK_<id>, text)``: a wrong echo when ``text`` differs from the request."""
    return lambda request: IgtlMessage(
        device_name=f"ACK_{command_id(request)}", body=StringBody(text=text)
    )


def ack_transform(matrix: np.ndarray) -> Factory:
    """``TRANSFORM(ACK_<id>, matrix)``: a wrong echo when it differs from the request."""
    return lambda request: IgtlMessage(
        device_name=f"ACK_{command_id(request)}", body=TransformBody(matrix_ras_mm=matrix)
    )


def status(name: str, code: int = 1, sub: int = 0, error_name: str = "", text: str = "") -> Factory:
    """``STATUS(name, code, sub, error_name, text)``."""
    body = StatusBody(code=code, subcode=sub, error_name=error_name or "OK", message=text)
    return lambda _request: IgtlMessage(device_name=name, body=body)


def current(phase: str) -> Factory:
    """``STATUS(CURRENT_STATUS, 1, 0, phase)``."""
    body = StatusBody(code=1, subcode=0, error_name=phase)
    return lambda _request: IgtlMessage(device_name="CURRENT_STATUS", body=body)


def transform(name: str, matrix: np.ndarray) -> Factory:
    """``TRANSFORM(name, matrix)``."""
    body = TransformBody(matrix_ras_mm=matrix)
    return lambda _request: IgtlMessage(device_name=name, body=body)


def position(x_mm: float, y_mm: float = 0.0, z_mm: float = 0.0) -> Factory:
    """``TRANSFORM(CURRENT_POSITION)`` with the tip at (x, y, z) RAS mm."""
    matrix = np.eye(4)
    matrix[:3, 3] = (x_mm, y_mm, z_mm)
    return transform("CURRENT_POSITION", matrix)


def string(name: str, text: str) -> Factory:
    """``STRING(name, text)``."""
    return lambda _request: IgtlMessage(device_name=name, body=StringBody(text=text))


def bad_crc(name: str) -> RawFrame:
    """A STATUS frame whose CRC field is wrong."""
    frame = bytearray(encode(IgtlMessage(device_name=name, body=StatusBody(code=1))))
    frame[57] ^= 0xFF
    return RawFrame(bytes(frame))


def phase_ok(phase: str) -> list[Step]:
    """A compliant reply to ``CMD_<id>`` ``phase`` with a phase STATUS of code 1."""
    return [ack(), current(phase), status(phase, 1)]


class Expectation:
    """One expected request and the steps that answer it."""

    def __init__(self, match: Callable[[IgtlMessage], bool], what: str) -> None:
        self.match = match
        self.what = what
        self.steps: list[Step] = []

    def reply(self, *steps: Step | list[Step]) -> Expectation:
        for step in steps:
            if isinstance(step, list):
                self.steps.extend(step)
            else:
                self.steps.append(step)
        return self


def _matcher(what: str) -> Callable[[IgtlMessage], bool]:
    """``CMD:PHASE``, ``CLB``, ``TGT``, ``GET_STATUS``, ``IMAGE:NAME`` or a device name."""
    kind, _, arg = what.partition(":")
    if kind == "CMD":
        return lambda m: (
            m.device_name.startswith("CMD_")
            and isinstance(m.body, StringBody)
            and m.body.text == arg
        )
    if kind in ("CLB", "TGT", "NPOS"):
        return lambda m: m.device_name.startswith(f"{kind}_") and m.message_type == "TRANSFORM"
    if kind.startswith(("GET_", "STT_")):
        return lambda m: m.message_type == kind
    if kind == "IMAGE":
        return lambda m: m.message_type == "IMAGE" and m.device_name == arg
    return lambda m: m.device_name == kind


class FakeRobot:
    """The scripted server; use as a context manager, connect to :attr:`port`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards _expected, received, unexpected, _holds
        self._expected: list[Expectation] = []
        self._holds: list[Hold] = []
        self.received: list[IgtlMessage] = []
        self.unexpected: list[IgtlMessage] = []
        self._server = IgtlServer(ServerConfig(port=0), self)
        self._workers: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return self._server.port

    def expect(self, what: str) -> Expectation:
        expectation = Expectation(_matcher(what), what)
        with self._lock:
            self._expected.append(expectation)
        return expectation

    def pending(self) -> list[str]:
        with self._lock:
            return [e.what for e in self._expected]

    def __enter__(self) -> FakeRobot:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            holds = list(self._holds)
        for hold in holds:
            hold.release()
        self._server.close()
        for worker in self._workers:
            worker.join(5.0)

    # -- MessageHandler ---------------------------------------------------------------------------

    def on_connect(self, conn: Connection) -> None:
        pass

    def on_disconnect(self, conn: Connection, reason: str) -> None:
        pass

    def on_message(self, conn: Connection, message: IgtlMessage) -> None:
        with self._lock:
            self.received.append(message)
            found = next((e for e in self._expected if e.match(message)), None)
            if found is None or found is not self._expected[0]:
                self.unexpected.append(message)
                return
            self._expected.pop(0)
            steps = list(found.steps)
            self._holds.extend(s for s in steps if isinstance(s, Hold))
        if any(isinstance(s, Hold) for s in steps):
            worker = threading.Thread(
                target=self._play, args=(conn, message, steps), name="fake-robot-replies"
            )
            self._workers.append(worker)
            worker.start()
        else:
            self._play(conn, message, steps)

    def _play(self, conn: Connection, request: IgtlMessage, steps: list[Step]) -> None:
        for step in steps:
            if not conn.is_open:
                return
            if isinstance(step, Disconnect):
                conn.close("fake robot: scripted disconnect")
                return
            if isinstance(step, Hold):
                step.released.wait(10.0)
                continue
            if isinstance(step, RawFrame):
                conn.send_frame(step.data, what="raw frame")  # type: ignore[attr-defined]
                continue
            conn.send(step(request))
