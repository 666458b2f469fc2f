"""The 2021 ProstateBRP Slicer module and Slicer's OpenIGTLink connector, replayed as a test peer.

What the peer does is what the module (``ProstateBRPInterface.py`` of ProstateBRP/BRPRobot2021)
and the connector library under it (OpenIGTLinkIO) do, in this project's own words:

- **Frames** (:class:`SlicerFrames`): every message in header v2 with the connector's metadata
  (``MRMLNodeName``; ``Status=OK`` on STRING and STATUS; on TRANSFORM ``TransformStatus=OK`` and
  empty ``STREAM_ID_TO``/``STREAM_ID_FROM``), keys in map order; a text node's STRING in encoding
  1 (VTK's US-ASCII code); command ids ``HHMMSSffffff``; at every connect first the STATUS with an
  empty device name and metadata ``dummy=dummy``.
- **The connector** (:class:`Replay`): between two of its 5 ms polls it keeps only the latest
  message per (type, device name) and hands one poll's messages on in map order (STATUS before
  STRING before TRANSFORM, then by name). The raw wire order is kept beside it, to judge the robot.
- **The module** (:class:`Module`) works on the connector's view only, as MRML nodes: an incoming
  ``ACK_<id>`` text node is handled 10 ms after it is added, a STATUS node 100 ms after (it reads
  the node's latest values, then removes the node so the next STATUS of that name is added anew),
  ``REACHABLE_TARGET`` and ``CURRENT_POSITION`` are existing transform nodes observed for changes.
  A phase counts as achieved only when its ``STATUS(<phase>, 1)`` is handled and the command's
  ACK was handled before; after ``STATUS(TARGETING, 1)`` it sends the planned target as
  ``TGT_<id>`` by itself; it polls ``STRING CURRENT_POSITION`` at 5 Hz; while MOVE_TO_TARGET runs
  it sends each new tracked tip as ``TRANSFORM NPOS_<id>`` (translation only) as long as the
  ``HAS_REACHED_TARGET`` text node reads "0"; on a reconnect its phase goes back to ``NONE``.
- **The judge** (:func:`check_segment`): every reply the robot sent on one connection, in wire
  order, against docs/WORKPHASES.md ("Messages, in order", profile brp-2021): nothing unexpected,
  nothing missing, each ACK before the replies to its request.

The trace (:meth:`Replay.trace_lines`) is one line per message, ``t=<s>s -> TYPE NAME details``
for what the module sent and ``<-`` for what the robot sent, ``--`` for connections, the module's
phase changes and the connector's reordering.
"""

from __future__ import annotations

import datetime
import heapq
import itertools
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import numpy as np

from robot.igtl import (
    IgtlMessage,
    IgtlPeerClosedError,
    IgtlReceiveTimeoutError,
    RawBody,
    StatusBody,
    StringBody,
    TransformBody,
    encode_content,
    timestamp_from_s,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import NDArray

    from robot.igtl import IgtlClient

#: The module's position poll: 5 Hz, its default (1-144 in its spin box).
POLL_PERIOD_S: Final = 0.2
#: The connector's import timer: messages are handed to Slicer every 5 ms.
CONNECTOR_PERIOD_S: Final = 0.005
#: The module handles an added ``ACK_`` text node after 10 ms, a STATUS node after 100 ms
#: (``qt.QTimer.singleShot`` "to let the node load").
ACK_DELAY_S: Final = 0.010
STATUS_DELAY_S: Final = 0.100
#: Phases the module tracks (``onStatusMessage``).
MODULE_PHASES: Final = ("START_UP", "PLANNING", "CALIBRATION", "TARGETING", "MOVE_TO_TARGET")
#: Phases after which brp-2021 sends the phase STATUS in the same breath as A and C.
_ENTRY_STATUS: Final = ("PLANNING", "CALIBRATION", "TARGETING")
#: VTK's ``VTK_ENCODING_US_ASCII``: what a Slicer text node writes unless told otherwise.
VTK_US_ASCII: Final = 1
#: Tolerance of the reached pose and of the arrival (docs/OPENIGTLINK.md 4.5), mm.
REACH_TOLERANCE_MM: Final = 0.1


def _translation(matrix: NDArray[np.float64]) -> str:
    x, y, z = (float(v) for v in matrix[:3, 3])
    return f"({x:.2f}, {y:.2f}, {z:.2f})"


def describe(message: IgtlMessage) -> str:
    """``TYPE NAME details`` of one message, for the trace and for failure messages."""
    body = message.body
    head = f"{message.message_type} {message.device_name or '(empty)'}"
    if isinstance(body, StringBody):
        encoding = "" if body.encoding == 3 else f" (encoding {body.encoding})"
        return f"{head} {body.text!r}{encoding}"
    if isinstance(body, StatusBody):
        text = f" {body.message!r}" if body.message else ""
        return f"{head} code {body.code} sub {body.subcode} {body.error_name!r}{text}"
    if isinstance(body, TransformBody):
        return f"{head} t={_translation(body.matrix_ras_mm)}"
    if isinstance(body, RawBody) and body.type_name == "STRING":
        encoding, length = struct.unpack(">HH", body.content[:4])
        text = body.content[4 : 4 + length].decode("ascii")
        return f"{head} {text!r} (encoding {encoding})"
    return head


class SlicerFrames:
    """Messages as OpenIGTLinkIO writes them for the module's nodes (header v2, metadata)."""

    def __init__(self) -> None:
        self._last_id = datetime.datetime.min  # noqa: DTZ901 - local wall time

    def next_id(self) -> str:
        """``HHMMSSffffff`` of now, as the module's ``generateTimestampNameID``; never repeated."""
        now = datetime.datetime.now()  # noqa: DTZ005 - the module uses local wall time
        if now <= self._last_id:
            now = self._last_id + datetime.timedelta(microseconds=1)
        self._last_id = now
        return now.strftime("%H%M%S%f")

    @staticmethod
    def dummy() -> IgtlMessage:
        """The STATUS the connector sends at every connect (empty name, ``dummy=dummy``)."""
        return IgtlMessage(
            device_name="",
            body=StatusBody(code=1, subcode=1),  # OpenIGTLinkIO writes sub-code = code
            timestamp=timestamp_from_s(time.time()),
            header_version=2,
            metadata=(("dummy", "dummy"),),
        )

    @staticmethod
    def text(name: str, text: str) -> IgtlMessage:
        """A text node's STRING: encoding 1, metadata ``MRMLNodeName`` and ``Status=OK``."""
        raw = text.encode("ascii")
        content = struct.pack(">HH", VTK_US_ASCII, len(raw)) + raw
        return IgtlMessage(
            device_name=name,
            body=RawBody(type_name="STRING", content=content),
            timestamp=timestamp_from_s(time.time()),
            header_version=2,
            metadata=(("MRMLNodeName", name), ("Status", "OK")),
        )

    @staticmethod
    def transform(name: str, matrix: NDArray[np.float64]) -> IgtlMessage:
        """A linear transform node: empty stream ids and ``TransformStatus=OK``, in map order."""
        return IgtlMessage(
            device_name=name,
            body=TransformBody(matrix_ras_mm=matrix),
            timestamp=timestamp_from_s(time.time()),
            header_version=2,
            metadata=(
                ("MRMLNodeName", name),
                ("STREAM_ID_FROM", ""),
                ("STREAM_ID_TO", ""),
                ("TransformStatus", "OK"),
            ),
        )


# --- what was sent and received on one connection --------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """One request the module sent.

    Attributes:
        kind: ``dummy``, ``poll`` (STRING CURRENT_POSITION), ``cmd`` or a pose prefix
            (``CLB``, ``TGT``, ``NPOS``).
        name: the device name.
        text: the command's text (``cmd``), else "".
        content: the content bytes (what an ACK must echo).
        matrix: the pose (poses), else ``None``.
    """

    kind: str
    name: str
    text: str
    content: bytes
    matrix: NDArray[np.float64] | None = None


@dataclass(slots=True)
class Segment:
    """One connection: what the module sent and what the robot sent, each in wire order."""

    opened_s: float
    sent: list[Sent] = field(default_factory=list)
    received: list[IgtlMessage] = field(default_factory=list)

    def count(self, type_name: str, name: str) -> int:
        """How many ``type_name`` ``name`` the robot sent on this connection."""
        return sum(
            1 for m in self.received if m.message_type == type_name and m.device_name == name
        )


# --- the judge: docs/WORKPHASES.md "Messages, in order", brp-2021 ------------------------------


@dataclass(slots=True)
class RobotModel:
    """What the docs say the robot holds, followed along the reply stream (across connections).

    Attributes:
        target_held: a target is accepted (``IS_IN_TARGETING_POS`` "1").
        reached: the move has ended at the target (``HAS_REACHED_TARGET`` "1").
        reachable: the last ``REACHABLE_TARGET`` pose.
        streamed: ``CURRENT_POSITION`` sent unasked while MOVE_TO_TARGET moved.
    """

    target_held: bool = False
    reached: bool = False
    reachable: NDArray[np.float64] | None = None
    streamed: int = 0


@dataclass(frozen=True, slots=True)
class Expect:
    """One reply: its TYPE and name, and a check of its content (a problem, or ``None``)."""

    type_name: str
    name: str
    check: Callable[[IgtlMessage], str | None] | None = None

    def label(self) -> str:
        return f"{self.type_name} {self.name}"


@dataclass(slots=True)
class Block:
    """The replies the control loop sends, back to back, for one request (ACKs aside)."""

    request: Sent
    expects: list[Expect]
    done: Callable[[], None] | None = None


def _status_ok(error_name: str | None = None) -> Callable[[IgtlMessage], str | None]:
    def check(message: IgtlMessage) -> str | None:
        body = message.body
        assert isinstance(body, StatusBody)
        if (body.code, body.subcode) != (1, 0):
            return f"code {body.code} sub {body.subcode} {body.message!r}, expected 1 sub 0"
        if error_name is not None and body.error_name != error_name:
            return f"error name {body.error_name!r}, expected {error_name!r}"
        return None

    return check


def _flag(value: Callable[[], bool]) -> Callable[[IgtlMessage], str | None]:
    def check(message: IgtlMessage) -> str | None:
        body = message.body
        assert isinstance(body, StringBody)
        want = "1" if value() else "0"
        return None if body.text == want else f"{body.text!r}, expected {want!r}"

    return check


def _near(
    reference: Callable[[], NDArray[np.float64] | None],
) -> Callable[[IgtlMessage], str | None]:
    def check(message: IgtlMessage) -> str | None:
        body = message.body
        assert isinstance(body, TransformBody)
        ref = reference()
        if ref is None:
            return "no reference pose"
        error_mm = float(np.linalg.norm(body.matrix_ras_mm[:3, 3] - ref[:3, 3]))
        if error_mm > REACH_TOLERANCE_MM:
            return f"{error_mm:.3f} mm from {_translation(ref)}"
        return None

    return check


def _block(request: Sent, model: RobotModel, async_due: list[str]) -> Block:
    """The control loop's replies to ``request`` (docs/WORKPHASES.md, brp-2021, all accepted)."""
    if request.kind == "poll":
        return Block(
            request,
            [
                Expect("TRANSFORM", "CURRENT_POSITION"),
                Expect("STRING", "IS_IN_TARGETING_POS", _flag(lambda: model.target_held)),
                Expect("STRING", "HAS_REACHED_TARGET", _flag(lambda: model.reached)),
            ],
        )
    if request.kind == "cmd":
        expects = [Expect("STATUS", "CURRENT_STATUS", _status_ok(request.text))]
        if request.text in _ENTRY_STATUS:
            expects.append(Expect("STATUS", request.text, _status_ok()))

        def later() -> None:
            if request.text in ("START_UP", "MOVE_TO_TARGET"):
                async_due.append(request.text)

        return Block(request, expects, later)
    if request.kind == "CLB":
        return Block(request, [Expect("STATUS", "CALIBRATION", _status_ok())])
    if request.kind == "TGT":
        requested = request.matrix

        def held() -> None:
            model.target_held = True

        def reachable(message: IgtlMessage) -> str | None:
            problem = _near(lambda: requested)(message)
            body = message.body
            assert isinstance(body, TransformBody)
            model.reachable = body.matrix_ras_mm
            return problem

        return Block(
            request,
            [
                Expect("STATUS", "TARGET", _status_ok()),
                Expect("TRANSFORM", "REACHABLE_TARGET", reachable),
            ],
            held,
        )
    return Block(request, [])  # NPOS_: echoed and logged, nothing else


def _is_ack(message: IgtlMessage) -> bool:
    return message.device_name.startswith("ACK_") and message.message_type in (
        "STRING",
        "TRANSFORM",
    )


def check_segment(segment: Segment, model: RobotModel) -> list[str]:
    """Every reply on one connection against the docs; the problems found (none: it conforms).

    The reader thread ACKs each request at once (``STRING``/``TRANSFORM ACK_<id>``, the content
    echoed), so ACKs may overtake the control loop's replies to earlier requests; the control
    loop answers the requests in the order they arrived, each request's replies back to back,
    and between them sends what finished work reports: ``STATUS(START_UP, 1)`` once after
    START_UP, ``CURRENT_POSITION`` while MOVE_TO_TARGET moves, then ``STATUS(MOVE_TO_TARGET, 1)``
    followed by one ``CURRENT_POSITION`` at the target.
    """
    problems: list[str] = []
    requests = [s for s in segment.sent if s.kind != "dummy"]  # the dummy is never answered
    wire = list(enumerate(segment.received))
    for index, message in wire:
        if message.header_version != 2:  # the peer speaks v2
            problems.append(f"#{index} {describe(message)}: header v{message.header_version}")

    # the reader thread's ACKs, in request order, each echoing its request's content
    due = [
        ("STRING" if s.kind == "cmd" else "TRANSFORM", "ACK_" + s.name.split("_", 1)[1], s)
        for s in requests
        if s.kind != "poll"
    ]
    ack_at: dict[str, int] = {}
    for index, ack in ((i, m) for i, m in wire if _is_ack(m)):
        keys = [(type_name, name) for type_name, name, _ in due]
        key = (ack.message_type, ack.device_name)
        if key not in keys:
            problems.append(f"#{index} {describe(ack)}: unexpected ACK")
            continue
        missed = [f"{t} {n}" for t, n in keys[: keys.index(key)]]
        if missed:
            problems.append(f"#{index} {describe(ack)}: {missed} missing before it")
        due = due[len(missed) :]
        _, _, request = due.pop(0)
        if ack.content != request.content:
            problems.append(f"#{index} {describe(ack)}: content is not the request's, echoed")
        ack_at[request.name] = index
    problems.extend(f"no ACK for {request.kind} {request.name}" for _, _, request in due)

    loop = [(i, m) for i, m in wire if not _is_ack(m)]
    async_due: list[str] = []
    blocks = [_block(r, model, async_due) for r in requests]
    pending = iter(blocks)
    current: Block | None = None
    remaining: list[Expect] = []
    moving = False
    position = 0
    while position < len(loop):
        index, message = loop[position]
        label = f"{message.message_type} {message.device_name}"
        if not remaining:
            if current is not None and current.done is not None:
                current.done()
            current = None
            upcoming = loop[position + 1][1] if position + 1 < len(loop) else None
            if "START_UP" in async_due and label == "STATUS START_UP":
                async_due.remove("START_UP")
                problem = _status_ok()(message)
                if problem:
                    problems.append(f"#{index} {describe(message)}: {problem}")
                position += 1
                continue
            if "MOVE_TO_TARGET" in async_due and not moving:
                moving = True
            if moving and label == "STATUS MOVE_TO_TARGET":
                moving = False
                async_due.remove("MOVE_TO_TARGET")
                problem = _status_ok()(message)
                if problem:
                    problems.append(f"#{index} {describe(message)}: {problem}")
                model.reached = True
                remaining = [
                    Expect("TRANSFORM", "CURRENT_POSITION", _near(lambda: model.reachable))
                ]
                position += 1
                continue
            poll_reply = (
                upcoming is not None
                and upcoming.message_type == "STRING"
                and upcoming.device_name == "IS_IN_TARGETING_POS"
            )
            if moving and label == "TRANSFORM CURRENT_POSITION" and not poll_reply:
                model.streamed += 1  # streamed while moving (20 Hz)
                position += 1
                continue
            current = next(pending, None)
            while current is not None and not current.expects:
                current = next(pending, None)  # requests answered by their ACK alone
            if current is None:
                problems.append(f"#{index} {describe(message)}: unexpected")
                position += 1
                continue
            remaining = list(current.expects)
            first = ack_at.get(current.request.name)
            if current.request.kind != "poll" and (first is None or first > index):
                problems.append(f"#{index} {describe(message)}: before the ACK of its request")
        labels = [e.label() for e in remaining]
        if label not in labels:  # an extra message: the expected ones are still due
            owner = current.request.name if current is not None else "the move"
            problems.append(
                f"#{index} {describe(message)}: unexpected, {labels[0]} due (for {owner})"
            )
            position += 1
            continue
        skipped = labels[: labels.index(label)]
        if skipped:  # these never came
            problems.append(f"#{index} {describe(message)}: {skipped} missing before it")
        remaining = remaining[len(skipped) :]
        expect = remaining.pop(0)
        if expect.check is not None:
            problem = expect.check(message)
            if problem:
                problems.append(f"#{index} {describe(message)}: {problem}")
        position += 1
    if remaining:
        problems.append(f"missing at the end: {[e.label() for e in remaining]}")
    elif current is not None and current.done is not None:
        current.done()
    problems.extend(
        f"no reply to {b.request.kind} {b.request.name}: {[e.label() for e in b.expects]}"
        for b in pending
        if b.expects
    )
    problems.extend(f"no result of {name}" for name in async_due)
    return problems


# --- the module, on the connector's view --------------------------------------------------------


@dataclass(slots=True)
class CommandNode:
    """A pending request to change phase: the module's ``CMD_<id>`` text node."""

    name: str
    text: str
    ack: bool = False


class Module:
    """The 2021 module's message handling, fed by the connector in map order.

    Args:
        replay: the session (clock, timers, sending).
        planned_target: the target the planning step produced (sent as ``TGT_`` by itself).
    """

    def __init__(self, replay: Replay, planned_target: NDArray[np.float64]) -> None:
        self._replay = replay
        self.planned_target = planned_target
        self.phase = "NONE"
        self.achieved: list[str] = []
        self.errors: list[str] = []
        self.commands: dict[str, CommandNode] = {}
        self.texts: dict[str, str] = {}
        self._status_nodes: dict[str, StatusBody] = {}
        self.statuses: list[tuple[str, int]] = []
        self.current_position: NDArray[np.float64] | None = None
        self.reachable_target: NDArray[np.float64] | None = None
        self.ack_transforms: list[str] = []
        self.target_id: str | None = None
        self.tracking = False
        self.npos_sent = 0
        self._previous_tip: NDArray[np.float64] | None = None

    # --- buttons ----------------------------------------------------------------------------

    def click(self, phase: str) -> str:
        """A phase button: a ``CMD_<id>`` text node holding the phase, pushed."""
        name = "CMD_" + self._replay.frames.next_id()
        self.commands[name] = CommandNode(name, phase)
        if phase == "MOVE_TO_TARGET":  # the tracked tip is sent while the robot moves
            self.tracking = True
            tip = self.current_position
            self._previous_tip = None if tip is None else tip[:3, 3].copy()
        self._replay.send_text(name, phase, kind="cmd")
        return name

    def send_pose(self, prefix: str, matrix: NDArray[np.float64]) -> str:
        """A transform node ``<prefix>_<id>`` pushed (CLB_, TGT_, NPOS_)."""
        name = f"{prefix}_{self._replay.frames.next_id()}"
        self._replay.send_transform(name, matrix, kind=prefix)
        return name

    def reconnected(self) -> None:
        """The connector connected again: the module starts over from no phase."""
        self.phase = "NONE"
        self._replay.note("module: connected again, phase NONE")

    # --- the connector hands over one message --------------------------------------------------

    def deliver(self, message: IgtlMessage) -> None:
        body, name = message.body, message.device_name
        if isinstance(body, StringBody):
            added = name not in self.texts
            self.texts[name] = body.text
            if added and name.startswith("ACK_"):
                self._replay.after(ACK_DELAY_S, lambda: self._on_ack(name))
        elif isinstance(body, StatusBody):
            added = name not in self._status_nodes
            self._status_nodes[name] = body
            if added:
                self._replay.after(STATUS_DELAY_S, lambda: self._on_status(name))
        elif isinstance(body, TransformBody):
            if name == "CURRENT_POSITION":
                self.current_position = body.matrix_ras_mm
                self._on_tracked_tip(body.matrix_ras_mm)
            elif name == "REACHABLE_TARGET":
                self.reachable_target = body.matrix_ras_mm
            elif name.startswith("ACK"):
                self.ack_transforms.append(name)

    def _on_ack(self, name: str) -> None:
        node = self.commands.get("CMD_" + name[4:])
        if node is None:
            self.errors.append(f"{name}: no CMD_ node for it")
            return
        node.ack = True

    def _on_status(self, name: str) -> None:
        body = self._status_nodes.pop(name)  # read, then removed: the next one is added anew
        self.statuses.append((name, body.code))
        if name not in MODULE_PHASES:
            return
        if body.code != 1:
            self.errors.append(f"STATUS({name}) code {body.code}: {body.message}")
            return
        for node in list(self.commands.values()):
            if node.text != name:
                continue
            if not node.ack:
                self.errors.append(f"{node.name}: ACK not received before STATUS({name})")
                continue
            del self.commands[node.name]
            self.phase = name
            self.achieved.append(name)
            self._replay.note(f"module: {name} achieved (its ACK came first)")
            if name == "TARGETING":
                self.target_id = self.send_pose("TGT", self.planned_target)
            break

    def _on_tracked_tip(self, pose: NDArray[np.float64]) -> None:
        """The MR-tracked tip follows the needle; sent as NPOS_ while the robot has not arrived."""
        if not self.tracking:
            return
        reached = self.texts.get("HAS_REACHED_TARGET")
        if reached is None:
            self.errors.append("tracked tip: no HAS_REACHED_TARGET node (never received)")
            return
        if reached == "1":
            self.tracking = False
            return
        tip = pose[:3, 3].copy()
        if self._previous_tip is not None and np.array_equal(tip, self._previous_tip):
            return
        translation_only = np.eye(4)
        translation_only[:3, 3] = tip
        self.send_pose("NPOS", translation_only)
        self.npos_sent += 1
        self._previous_tip = tip


# --- the session: connector, timers, clock ------------------------------------------------------


class ConnectorBuffer:
    """What OpenIGTLinkIO holds between two polls: the latest message per (type, device name)."""

    def __init__(self) -> None:
        self._latest: dict[tuple[str, str], IgtlMessage] = {}

    def __bool__(self) -> bool:
        return bool(self._latest)

    def keep(self, message: IgtlMessage) -> bool:
        """Keep ``message``; whether it replaced one not handed over yet."""
        key = (message.message_type, message.device_name)
        replaced = key in self._latest
        self._latest[key] = message
        return replaced

    def take(self) -> tuple[list[IgtlMessage], bool]:
        """One poll: the messages in map order (TYPE, then name), and whether that order
        differs from the order in which their keys first arrived."""
        arrival = list(self._latest)
        keys = sorted(arrival)
        batch = [self._latest[key] for key in keys]
        self._latest.clear()
        return batch, keys != arrival

    def clear(self) -> None:
        self._latest.clear()


class Replay:
    """One module session over one connection at a time, driven by deadlines (no sleeps).

    Args:
        planned_target: the module's planned target (``TGT_`` after TARGETING).
    """

    def __init__(self, planned_target: NDArray[np.float64]) -> None:
        self.frames = SlicerFrames()
        self.module = Module(self, planned_target)
        self.segments: list[Segment] = []
        self.polling = False
        self._t0 = time.monotonic()
        self._client: IgtlClient | None = None
        self.connector = ConnectorBuffer()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._next_connector_s = self._t0
        self._next_poll_s = self._t0
        self._trace: list[tuple[float, int, str]] = []
        self.delivered = 0
        self.coalesced = 0
        self._pause = threading.Event()  # never set: a timed wait for the next timer

    # --- clock, trace -------------------------------------------------------------------------

    def now(self) -> float:
        """Seconds since the session began."""
        return time.monotonic() - self._t0

    def note(self, text: str) -> None:
        self._line(f"-- {text}")

    def _line(self, text: str) -> None:
        self._trace.append((self.now(), next(self._order), text))

    def trace_lines(self) -> list[str]:
        """The session, one line per event: ``t=<s>s <-/->/-- ...``."""
        return [f"t={t:.3f}s {text}" for t, _, text in sorted(self._trace)]

    # --- connections ----------------------------------------------------------------------------

    @property
    def segment(self) -> Segment:
        return self.segments[-1]

    def attach(self, client: IgtlClient) -> None:
        """A new connection: the connector's dummy STATUS first, then the module resumes."""
        self._client = client
        self.segments.append(Segment(opened_s=self.now()))
        self.note(f"connected ({len(self.segments)})")
        if len(self.segments) > 1:
            self.module.reconnected()
        dummy = self.frames.dummy()
        self._send(dummy, Sent("dummy", "", "", encode_content(dummy.body)))

    def detach(self) -> None:
        """Close this connection (what is still buffered is dropped with it)."""
        assert self._client is not None
        self._client.close()
        self._client = None
        self.connector.clear()
        self.note(f"closed ({len(self.segments)})")

    # --- sending ------------------------------------------------------------------------------

    def _send(self, message: IgtlMessage, sent: Sent) -> None:
        assert self._client is not None, "not connected"
        self._client.send(message)
        self.segment.sent.append(sent)
        self._line(f"-> {describe(message)}")

    def send_text(self, name: str, text: str, *, kind: str) -> None:
        message = self.frames.text(name, text)
        assert isinstance(message.body, RawBody)
        self._send(message, Sent(kind, name, text, message.body.content))

    def send_transform(self, name: str, matrix: NDArray[np.float64], *, kind: str) -> None:
        message = self.frames.transform(name, matrix)
        self._send(message, Sent(kind, name, "", encode_content(message.body), matrix))

    # --- timers and the run loop ----------------------------------------------------------------

    def after(self, delay_s: float, action: Callable[[], None]) -> None:
        """Run ``action`` from the loop ``delay_s`` from now (a ``QTimer.singleShot``)."""
        heapq.heappush(self._timers, (time.monotonic() + delay_s, next(self._order), action))

    def start_polling(self) -> None:
        self.polling = True
        self._next_poll_s = time.monotonic()

    def stop_polling(self) -> None:
        self.polling = False

    def idle(self) -> bool:
        """Nothing buffered in the connector and no module timer pending."""
        return not self.connector and not self._timers

    def run_until(self, condition: Callable[[], bool], *, timeout_s: float, what: str) -> None:
        """Run the connector, the module's timers and the poll until ``condition()``."""
        deadline_s = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline_s:
                raise AssertionError(
                    f"t={self.now():.3f}s: no {what} within {timeout_s} s; module phase "
                    f"{self.module.phase}, errors {self.module.errors}"
                )
            self._step()

    def _step(self) -> None:
        now_s = time.monotonic()
        if now_s >= self._next_connector_s:
            self._next_connector_s = now_s + CONNECTOR_PERIOD_S
            self._hand_over()
        while self._timers and self._timers[0][0] <= time.monotonic():
            _, _, action = heapq.heappop(self._timers)
            action()
        if self.polling and time.monotonic() >= self._next_poll_s:
            # a fixed schedule, as QTimer keeps it
            self._next_poll_s = max(self._next_poll_s + POLL_PERIOD_S, time.monotonic() - 1.0)
            self.send_text("CURRENT_POSITION", "CURRENT_POSITION", kind="poll")
        due = [self._next_connector_s]
        if self._timers:
            due.append(self._timers[0][0])
        if self.polling:
            due.append(self._next_poll_s)
        self._receive_until(min(due))

    def _receive_until(self, until_s: float) -> None:
        if self._client is None:  # between connections: only the timers run
            self._pause.wait(max(0.0, until_s - time.monotonic()))
            return
        while (left_s := until_s - time.monotonic()) > 0:
            try:
                message = self._client.receive(timeout_s=left_s)
            except IgtlReceiveTimeoutError:
                return
            except IgtlPeerClosedError as err:
                raise AssertionError(f"t={self.now():.3f}s: the robot closed: {err}") from err
            self.segment.received.append(message)
            if self.connector.keep(message):
                self.coalesced += 1
                self._line(f"<- {describe(message)} [replaces one not handed over yet]")
            else:
                self._line(f"<- {describe(message)}")

    def _hand_over(self) -> None:
        """One connector poll: the latest message per (type, name), in map order."""
        if not self.connector:
            return
        batch, reordered = self.connector.take()
        if reordered:
            order = ", ".join(f"{m.message_type} {m.device_name}" for m in batch)
            self.note(f"connector hands over in map order: {order}")
        for message in batch:
            self.delivered += 1
            self.module.deliver(message)
