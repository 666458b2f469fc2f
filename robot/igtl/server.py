"""The OpenIGTLink TCP server: many clients, one reader thread each, nothing shared but counters.

Binds 127.0.0.1 by default; any other address needs an allow-list of peer networks
(:class:`ServerConfig`). It also connects out to the consoles' servers in
``ServerConfig.connect_to`` (:mod:`robot.igtl.dialer`) and serves those connections the same way.
Each socket, accepted or dialed, gets TCP_NODELAY, SO_KEEPALIVE (fast probes) and
TCP_USER_TIMEOUT where the OS has them, and an :class:`IgtlConnection`.
"""

from __future__ import annotations

import itertools
import logging
import select
import socket
import threading
import time
from typing import TYPE_CHECKING, Final

from robot.igtl.codec import encode
from robot.igtl.connection import IgtlConnection
from robot.igtl.dialer import Dialer, DialerStats
from robot.igtl.errors import IgtlSendError
from robot.igtl.handler import ConnectionId
from robot.igtl.stats import ConnectionStats, ServerStats
from robot.igtl_adapter import crc64_is_accelerated

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from robot.igtl.config import ServerConfig
    from robot.igtl.handler import FrameTap, MessageHandler
    from robot.igtl.messages import IgtlMessage

__all__ = ["IgtlServer"]

logger = logging.getLogger(__name__)
_BACKLOG: Final = 128
_JOIN_TIMEOUT_S: Final = 5.0


class IgtlServer:
    """Accepts OpenIGTLink peers and serves each on its own reader thread.

    ``start()`` binds, listens and starts the accept thread; ``close()`` stops accepting, closes
    every connection and joins every thread. The handler's calls run on reader threads.
    """

    def __init__(
        self,
        config: ServerConfig,
        handler: MessageHandler,
        *,
        now: Callable[[], float] = time.monotonic,
        tap: FrameTap | None = None,
    ) -> None:
        self._config = config
        self._handler = handler
        self._tap = tap
        self._now = now
        self._ids = itertools.count(1)
        # _lock guards _connections, _finished, _closed_stats and the counters below.
        self._lock = threading.Lock()
        self._connections: dict[ConnectionId, IgtlConnection] = {}
        self._finished: list[IgtlConnection] = []
        self._closed_stats = ConnectionStats()
        self._accepted = 0
        self._refused = 0
        self._closed_count = 0
        self._listener: socket.socket | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._dialers = tuple(
            Dialer(
                endpoint,
                serve=self._dialed,
                stopping=self._stopping,
                reconnect_min_s=config.reconnect_min_s,
                reconnect_max_s=config.reconnect_max_s,
                now=now,
            )
            for endpoint in config.connect_to
        )

    @property
    def port(self) -> int:
        """The bound TCP port (useful with port 0).

        Raises:
            RuntimeError: the server is not started.
        """
        if self._listener is None:
            raise RuntimeError("IgtlServer.port before start()")
        return int(self._listener.getsockname()[1])

    @property
    def address(self) -> tuple[str, int]:
        """Bound host and port."""
        return self._config.host, self.port

    def start(self) -> None:
        """Bind, listen and start accepting.

        Raises:
            RuntimeError: already started.
            OSError: the address cannot be bound.
        """
        if self._listener is not None:
            raise RuntimeError("IgtlServer.start() called twice")
        family = socket.AF_INET6 if ":" in self._config.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self._config.host, self._config.port))
            listener.listen(_BACKLOG)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        self._wake_r, self._wake_w = socket.socketpair()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"igtl-accept-{self.port}", daemon=True
        )
        self._accept_thread.start()
        for dialer in self._dialers:
            dialer.start()
        if not crc64_is_accelerated():
            logger.warning("crcmod has no C extension: CRC-64 runs at ~11 MB/s instead of ~315")
        logger.info("OpenIGTLink server listening on %s:%d", self._config.host, self.port)

    def close(self) -> None:
        """Stop accepting, close every connection, join every thread (idempotent)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._wake_w is not None:
            self._wake_w.send(b"x")
        if self._accept_thread is not None:
            self._accept_thread.join(_JOIN_TIMEOUT_S)
        for dialer in self._dialers:
            dialer.join(_JOIN_TIMEOUT_S)  # each ends at its next wake-up once stopping is set
        for sock in (self._listener, self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()
        with self._lock:
            live = list(self._connections.values())
        for conn in live:
            conn.close("server closing")
        for conn in live:
            conn.join(_JOIN_TIMEOUT_S)
        with self._lock:
            finished, self._finished = self._finished, []
        for conn in finished:
            conn.join(_JOIN_TIMEOUT_S)
        logger.info("OpenIGTLink server closed")

    def __enter__(self) -> IgtlServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def connections(self) -> tuple[IgtlConnection, ...]:
        """The open connections, oldest first."""
        with self._lock:
            return tuple(self._connections.values())

    def connection(self, connection_id: ConnectionId) -> IgtlConnection | None:
        """The open connection with that id, or None."""
        with self._lock:
            return self._connections.get(connection_id)

    def broadcast(self, message: IgtlMessage) -> int:
        """Send ``message`` to every open connection, each in its header version; never blocks.

        The message is encoded once per header version in use, before anything is sent.

        A connection that cannot take it is closed (by its own send) and skipped.

        Returns:
            The number of connections the message was queued to.

        Raises:
            ValueError: the message cannot be encoded.
        """
        what = f"{message.message_type}({message.device_name})"
        targets = [(conn, conn.header_version) for conn in self.connections()]
        frames = {  # encoded once per header version in use; all before the first send
            version: encode(message, header_version=version)
            for version in sorted({version for _, version in targets})
        }
        sent = 0
        for conn, version in targets:
            try:
                conn.send_frame(frames[version], what=what)
            except IgtlSendError as err:
                logger.info("broadcast of %s skipped connection %d: %s", what, conn.id, err)
                continue
            sent += 1
        return sent

    def dialers(self) -> tuple[DialerStats, ...]:
        """What each outgoing connection (``ServerConfig.connect_to``) has done, in order."""
        return tuple(dialer.stats() for dialer in self._dialers)

    def stats(self) -> ServerStats:
        """A snapshot of the server-wide counters."""
        with self._lock:
            live = list(self._connections.values())
            traffic = self._closed_stats
            accepted, refused, closed = self._accepted, self._refused, self._closed_count
        for conn in live:
            traffic = traffic + conn.stats()
        return ServerStats(
            accepted=accepted, refused=refused, closed=closed, open=len(live), traffic=traffic
        )

    def _accept_loop(self) -> None:
        listener, wake = self._listener, self._wake_r
        if listener is None or wake is None:
            return
        try:
            while not self._stopping.is_set():
                readable, _, _ = select.select([listener, wake], [], [])
                if wake in readable:
                    return
                try:
                    sock, address = listener.accept()
                except OSError as err:  # e.g. ECONNABORTED: that peer is gone, keep serving
                    logger.warning("accept failed: %s", err)
                    continue
                self._admit(sock, (str(address[0]), int(address[1])))
        except Exception:  # top of the thread: report; close() still joins what exists
            logger.exception("OpenIGTLink accept loop failed; no new connections")

    def _admit(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        if not self._config.peer_allowed(peer[0]):
            logger.warning("refused %s:%d: peer outside the allow-list", peer[0], peer[1])
            with self._lock:
                self._refused += 1
            sock.close()
            return
        if self._serve_socket(sock, peer, how="accepted") is None:
            sock.close()

    def _serve_socket(
        self, sock: socket.socket, peer: tuple[str, int], *, how: str
    ) -> IgtlConnection | None:
        """Serve a connected socket (accepted, or dialed out); None at the connection limit."""
        self._reap()
        with self._lock:
            too_many = len(self._connections) >= self._config.max_connections
            if too_many:
                self._refused += 1
        if too_many:
            logger.warning("refused %s:%d: connection limit reached", peer[0], peer[1])
            return None
        self._configure_socket(sock)
        conn = IgtlConnection(
            connection_id=ConnectionId(next(self._ids)),
            sock=sock,
            peer=peer,
            config=self._config,
            handler=self._handler,
            on_finished=self._on_finished,
            now=self._now,
            tap=self._tap,
        )
        with self._lock:
            self._connections[conn.id] = conn
            self._accepted += 1
        logger.info("conn %d: %s %s:%d", conn.id, how, peer[0], peer[1])
        conn.start()
        return conn

    def _dialed(self, sock: socket.socket, peer: tuple[str, int]) -> IgtlConnection | None:
        if self._stopping.is_set():
            return None
        return self._serve_socket(sock, peer, how="connected out to")

    def _configure_socket(self, sock: socket.socket) -> None:
        config = self._config
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        options = (
            ("TCP_KEEPIDLE", config.keepalive_idle_s),
            ("TCP_KEEPINTVL", config.keepalive_interval_s),
            ("TCP_KEEPCNT", config.keepalive_count),
            ("TCP_USER_TIMEOUT", int(config.tcp_user_timeout_s * 1000)),
        )
        for name, value in options:
            option = getattr(socket, name, None)
            if option is not None:
                sock.setsockopt(socket.IPPROTO_TCP, option, value)

    def _on_finished(self, conn: IgtlConnection) -> None:
        """Called by a connection's reader thread as its last act."""
        stats = conn.stats()
        with self._lock:
            self._connections.pop(conn.id, None)
            self._finished.append(conn)
            self._closed_stats = self._closed_stats + stats
            self._closed_count += 1

    def _reap(self) -> None:
        """Join connections whose threads have ended, so a connect loop holds no memory."""
        with self._lock:
            done = [c for c in self._finished if c.finished]
            self._finished = [c for c in self._finished if not c.finished]
        for conn in done:
            conn.join(0.0)
