"""Lean measuring clients and the socket floor, for the product benchmarks.

An observer console here is not a :class:`~robot.console.BrpClient`: it is a paced, non-blocking
loop over raw sockets that sends pre-encoded ``STRING(CMD_<id>)`` frames and splits the byte
stream into frames by the 58-byte header alone (name and BODY_SIZE; no CRC check, no body
decoding), so that the client's own Python work adds as little as possible to the figure. One
process may serve several connections; each connection has one command outstanding at a time.

The floor is a minimal blocking-socket echo server (one thread per connection, reads one frame by
its header, writes the same bytes back): the least any server in Python can answer in.
"""

from __future__ import annotations

import contextlib
import random
import selectors
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from robot.igtl import HEADER_SIZE, IgtlMessage, StringBody, encode

if TYPE_CHECKING:
    from multiprocessing.connection import Connection as Pipe
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event

__all__ = [
    "EchoServer",
    "ObserverPlan",
    "ObserverResult",
    "echo_server_process",
    "frame_name",
    "observe",
]

_SIZE: Final = struct.Struct(">Q")
_NAME_SLICE: Final = slice(14, 34)
_SIZE_SLICE: Final = slice(42, 50)
_RECV_BYTES: Final = 1 << 16


def frame_name(header: bytes | bytearray | memoryview) -> str:
    """The device name of a 58-byte header (up to the first NUL)."""
    raw = bytes(header[_NAME_SLICE])
    return raw.split(b"\0", 1)[0].decode("ascii", errors="replace")


def _body_size(header: bytes | bytearray | memoryview) -> int:
    return int(_SIZE.unpack(bytes(header[_SIZE_SLICE]))[0])


@dataclass(frozen=True, slots=True, kw_only=True)
class ObserverPlan:
    """What one observer process does.

    Attributes:
        port: the server's loopback port.
        connections: consoles this process runs.
        interval_s: each console sends one command every ``interval_s`` (random phase).
        duration_s: how long to send.
        text: the STRING text of each ``CMD_<id>``.
        reply_prefix: the reply that ends a sample (``ACK_``; ``CMD_`` for the echo floor).
        tag: makes the command ids of this process unique.
        seed: seed of the phases.
    """

    port: int
    connections: int
    interval_s: float
    duration_s: float
    text: str = "PLANNING"
    reply_prefix: str = "ACK_"
    tag: str = "o"
    seed: int = 0


@dataclass(slots=True)
class ObserverResult:
    """Samples (ms) and what went wrong, of one observer process."""

    samples_ms: list[float] = field(default_factory=list)
    lost: int = 0
    other_frames: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Console:
    sock: socket.socket
    index: int
    next_send_ns: int
    buffer: bytearray = field(default_factory=bytearray)
    pending: str | None = None
    sent_ns: int = 0
    counter: int = 0


_LOST_AFTER_NS: Final = 2_000_000_000


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5.0)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)  # noqa: FBT003 - the stdlib signature
    return sock


def _frames(console: _Console) -> list[str]:
    """Split whole frames off the console's buffer; returns their names."""
    names: list[str] = []
    buf = console.buffer
    while len(buf) >= HEADER_SIZE:
        size = _body_size(buf[:HEADER_SIZE])
        if len(buf) < HEADER_SIZE + size:
            break
        names.append(frame_name(buf[:HEADER_SIZE]))
        del buf[: HEADER_SIZE + size]
    return names


def observe(plan: ObserverPlan) -> ObserverResult:
    """Run ``plan.connections`` paced consoles until ``plan.duration_s`` is over."""
    result = ObserverResult()
    rng = random.Random(plan.seed)  # noqa: S311 - send phases, not secrets
    interval_ns = int(plan.interval_s * 1e9)
    selector = selectors.DefaultSelector()
    consoles: list[_Console] = []
    try:
        start_ns = time.perf_counter_ns() + 50_000_000
        for i in range(plan.connections):
            phase_ns = int(rng.random() * interval_ns)
            console = _Console(sock=_connect(plan.port), index=i, next_send_ns=start_ns + phase_ns)
            consoles.append(console)
            selector.register(console.sock, selectors.EVENT_READ, console)
        end_ns = start_ns + int(plan.duration_s * 1e9)
        while True:
            now = time.perf_counter_ns()
            busy = False
            for c in consoles:
                if c.pending is not None:
                    busy = True
                    if now - c.sent_ns > _LOST_AFTER_NS:
                        result.lost += 1
                        c.pending = None
                    continue
                if now >= end_ns or now < c.next_send_ns:
                    continue
                command_id = f"{plan.tag}{c.index}-{c.counter}"
                c.counter += 1
                frame = encode(
                    IgtlMessage(device_name=f"CMD_{command_id}", body=StringBody(text=plan.text))
                )
                c.pending = plan.reply_prefix + command_id
                c.sent_ns = time.perf_counter_ns()
                c.sock.sendall(frame)
                c.next_send_ns = max(c.next_send_ns + interval_ns, now)
                busy = True
            if now >= end_ns and not busy:
                break
            waits = [c.next_send_ns - now for c in consoles if c.pending is None and now < end_ns]
            timeout_s = max(0.0, min(waits, default=100_000_000) / 1e9)
            for key, _ in selector.select(min(timeout_s, 0.1)):
                c = key.data
                try:
                    chunk = c.sock.recv(_RECV_BYTES)
                except BlockingIOError:
                    continue
                received_ns = time.perf_counter_ns()
                if not chunk:
                    raise ConnectionError(f"console {c.index}: the server closed the connection")
                c.buffer += chunk
                for name in _frames(c):
                    if name == c.pending:
                        result.samples_ms.append((received_ns - c.sent_ns) / 1e6)
                        c.pending = None
                    else:
                        result.other_frames += 1
    except OSError as err:
        result.errors.append(f"{type(err).__name__}: {err}")
    finally:
        for c in consoles:
            with contextlib.suppress(OSError):
                selector.unregister(c.sock)
            c.sock.close()
        selector.close()
    return result


def _observer_process(plan: ObserverPlan, go: Event, out: Queue[object]) -> None:
    """Process entry: report ready (imports done), wait for ``go``, observe, report."""
    out.put("ready")
    if not go.wait(120.0):
        out.put(ObserverResult(errors=["never told to go"]))
        return
    out.put(observe(plan))


def observe_pooled(plans: list[ObserverPlan]) -> ObserverResult:
    """Run each plan in its own spawned process, all starting together; pool the results.

    Every process has imported its modules before any starts sending, so that no process
    start-up competes for the CPU with the measurement.
    """
    import multiprocessing  # noqa: PLC0415 - only when measuring

    context = multiprocessing.get_context("spawn")
    go = context.Event()
    out: Queue[object] = context.Queue()
    processes = [
        context.Process(target=_observer_process, args=(plan, go, out), daemon=True)
        for plan in plans
    ]
    for process in processes:
        process.start()
    pooled = ObserverResult()
    try:
        for _ in processes:
            if out.get(timeout=120.0) != "ready":
                raise RuntimeError("an observer process reported before it was ready")
        go.set()
        timeout_s = max(p.duration_s for p in plans) + 60.0
        for _ in processes:
            part = out.get(timeout=timeout_s)
            if not isinstance(part, ObserverResult):
                raise TypeError(f"unexpected observer report {part!r}")
            pooled.samples_ms.extend(part.samples_ms)
            pooled.lost += part.lost
            pooled.other_frames += part.other_frames
            pooled.errors.extend(part.errors)
    finally:
        go.set()
        for process in processes:
            process.join(10.0)
            if process.is_alive():
                process.terminate()
    return pooled


# --- the floor: a blocking-socket echo --------------------------------------------------------


def _recv_exactly(sock: socket.socket, n: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


class EchoServer:
    """Blocking echo of whole frames on loopback, one thread per connection."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name="echo-accept", daemon=True)

    def start(self) -> None:
        """Start accepting."""
        self._thread.start()

    def close(self) -> None:
        """Stop accepting (connection threads end when their peer closes)."""
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._echo, args=(sock,), daemon=True).start()

    @staticmethod
    def _echo(sock: socket.socket) -> None:
        with sock:
            try:
                while (header := _recv_exactly(sock, HEADER_SIZE)) is not None:
                    body = _recv_exactly(sock, _body_size(header))
                    if body is None:
                        return
                    sock.sendall(header + body)
            except OSError:
                return


def echo_server_process(pipe: Pipe) -> None:
    """Process entry: run an :class:`EchoServer`, send its port, serve until the pipe closes."""
    server = EchoServer()
    server.start()
    pipe.send(server.port)
    with contextlib.suppress(EOFError):
        pipe.recv()
    server.close()
