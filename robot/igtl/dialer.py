"""The robot as the OpenIGTLink client: connections out to a console's server, kept up.

The 2021 ProstateBRP Slicer module runs the OpenIGTLink *server* (port 18936 by default) and
expects the robot to connect to it. A :class:`Dialer` connects to one such endpoint, hands the
socket to the server, which serves it exactly as an accepted connection (same handler, authority,
limits, replies, and the same protective stop when the controlling peer is lost), and connects
again after every loss: first after ``reconnect_min_s``, the wait doubling on each failed or
short-lived attempt up to ``reconnect_max_s``, back to the minimum once a connection has lasted
``reconnect_max_s``. Every attempt's outcome is logged (a failure repeated at the same cause once
per change, so a console that is off does not fill the log).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

    from robot.igtl.connection import IgtlConnection

__all__ = ["Dialer", "DialerStats"]

logger = logging.getLogger(__name__)
_JOIN_TIMEOUT_S: Final = 5.0
#: How often a dialer looks whether its connection has ended while the server runs (s).
_WATCH_S: Final = 0.5


@dataclass(frozen=True, slots=True)
class DialerStats:
    """What one dialer has done.

    Attributes:
        endpoint: ``(host, port)`` it connects to.
        attempts: connection attempts made.
        connections: attempts that ended in a served connection.
        connected: a connection to the endpoint is open now.
        last_error: why the latest failed attempt failed ("" if none failed yet).
        next_wait_s: the wait before the next attempt after a loss or failure.
    """

    endpoint: tuple[str, int]
    attempts: int
    connections: int
    connected: bool
    last_error: str
    next_wait_s: float


class Dialer:
    """Keeps one outgoing connection to ``endpoint`` open while the server runs.

    Args:
        endpoint: the console's OpenIGTLink server ``(host, port)``.
        serve: serves a connected socket (the server's), or returns None when it cannot
            (connection limit); the socket is then closed here.
        stopping: set when the server closes; the dialer then ends.
        reconnect_min_s: first wait after a loss or failure.
        reconnect_max_s: longest wait; a connection lasting this long resets the wait.
        connect_timeout_s: time allowed for one TCP connect.
        now: monotonic clock (s).
    """

    def __init__(
        self,
        endpoint: tuple[str, int],
        *,
        serve: Callable[[socket.socket, tuple[str, int]], IgtlConnection | None],
        stopping: threading.Event,
        reconnect_min_s: float,
        reconnect_max_s: float,
        connect_timeout_s: float = 2.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._endpoint = endpoint
        self._serve = serve
        self._stopping = stopping
        self._min_s = reconnect_min_s
        self._max_s = reconnect_max_s
        self._connect_timeout_s = connect_timeout_s
        self._now = now
        self._lock = threading.Lock()
        self._attempts = 0
        self._connections = 0
        self._current: IgtlConnection | None = None
        self._last_error = ""
        self._wait_s = reconnect_min_s
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> tuple[str, int]:
        """The console's server this dialer connects to."""
        return self._endpoint

    def stats(self) -> DialerStats:
        """A snapshot of the counters."""
        with self._lock:
            current = self._current
            return DialerStats(
                endpoint=self._endpoint,
                attempts=self._attempts,
                connections=self._connections,
                connected=current is not None and current.is_open,
                last_error=self._last_error,
                next_wait_s=self._wait_s,
            )

    def start(self) -> None:
        """Start connecting (on a thread of its own).

        Raises:
            RuntimeError: already started.
        """
        if self._thread is not None:
            raise RuntimeError("Dialer.start() called twice")
        host, port = self._endpoint
        self._thread = threading.Thread(target=self._run, name=f"igtl-dial-{host}:{port}")
        self._thread.daemon = True
        self._thread.start()

    def join(self, timeout_s: float = _JOIN_TIMEOUT_S) -> None:
        """Wait for the thread to end (after ``stopping`` is set and the connection closed)."""
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                started_s = self._now()
                conn = self._attempt()
                if conn is not None:
                    self._watch(conn)
                    lasted_s = self._now() - started_s
                    if lasted_s >= self._max_s:
                        with self._lock:
                            self._wait_s = self._min_s
                if self._stopping.is_set():
                    return
                with self._lock:
                    wait_s = self._wait_s
                    self._wait_s = min(self._max_s, self._wait_s * 2.0)
                logger.info("dial %s:%d: next attempt in %.2f s", *self._endpoint, wait_s)
                self._stopping.wait(wait_s)
        except Exception:  # top of the thread: report it; the server keeps serving the others
            logger.exception("dial %s:%d failed; no more attempts", *self._endpoint)

    def _attempt(self) -> IgtlConnection | None:
        with self._lock:
            self._attempts += 1
        try:
            sock = socket.create_connection(self._endpoint, timeout=self._connect_timeout_s)
        except OSError as err:
            why = str(err) or type(err).__name__
            with self._lock:
                repeated, self._last_error = why == self._last_error, why
            log = logger.debug if repeated else logger.warning
            log("dial %s:%d: cannot connect: %s", *self._endpoint, why)
            return None
        sock.settimeout(None)
        name = sock.getpeername()
        peer = (str(name[0]), int(name[1]))
        conn = self._serve(sock, peer)
        if conn is None:
            sock.close()
            with self._lock:
                self._last_error = "refused here: connection limit reached"
            return None
        with self._lock:
            self._connections += 1
            self._current = conn
            self._last_error = ""
        logger.info("dial %s:%d: connected (connection %d)", *self._endpoint, conn.id)
        return conn

    def _watch(self, conn: IgtlConnection) -> None:
        while not conn.finished and not self._stopping.is_set():
            conn.join(_WATCH_S)
        with self._lock:
            self._current = None
        if not self._stopping.is_set():
            logger.warning(
                "conn %d: connection out to %s:%d lost (%s)",
                conn.id,
                *self._endpoint,
                conn.close_reason or "closed",
            )
