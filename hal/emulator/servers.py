"""Serve an emulator in real time on a pseudo-terminal or a TCP port.

One thread per server does both the I/O (``select`` on the file descriptors) and the real-time
stepping of the emulator, so bytes and physics never race. Firmware output is written
non-blocking; when the host does not read, bytes are dropped and counted, as a UART would.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import socket
import threading
import tty
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Final

from hal.emulator.config import check_step_period
from hal.errors import TransportError

if TYPE_CHECKING:
    from hal.clock import Clock
    from hal.emulator.firmware import EmulatedFirmware

__all__ = ["EmulatorServer", "PtyServer", "TcpServer"]

logger = logging.getLogger(__name__)

_JOIN_TIMEOUT_S: Final = 2.0
_READ_BYTES: Final = 4096


class _FdConnection:
    """Firmware output to one file descriptor or socket; ``close`` drops the host link."""

    def __init__(
        self, server: EmulatorServer, *, fd: int | None, sock: socket.socket | None
    ) -> None:
        self._server = server
        self._fd = fd
        self._sock = sock
        self.dropped_bytes = 0

    def send(self, data: bytes) -> None:
        try:
            if self._sock is not None:
                sent = self._sock.send(data)
            elif self._fd is not None:
                sent = os.write(self._fd, data)
            else:
                return
        except BlockingIOError:
            sent = 0
        except OSError as err:
            logger.debug("emulator output failed (%s); host gone", err)
            self._server.request_disconnect(self)
            return
        self.dropped_bytes += len(data) - sent

    def close(self) -> None:
        self._server.request_disconnect(self)


class EmulatorServer(ABC):
    """One thread that steps the emulator in real time and moves bytes.

    Each endpoint kind (pty, TCP) says how it opens, polls, reads, drops its host and closes.

    Args:
        firmware: the emulator to serve.
        clock: real monotonic clock.
        period_s: stepping period (s); also the longest ``select`` wait.
    """

    def __init__(
        self, firmware: EmulatedFirmware, clock: Clock, *, period_s: float = 0.001
    ) -> None:
        check_step_period(period_s, "period_s")
        self.firmware = firmware
        self._clock = clock
        self._period_s = period_s
        self._stop = threading.Event()
        self._drop_lock = threading.Lock()  # guards _to_drop
        self._to_drop: list[object] = []
        self._current: object | None = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    @property
    @abstractmethod
    def url(self) -> str:
        """What the host opens (pty path or ``socket://host:port``)."""

    def request_disconnect(self, connection: object) -> None:
        """Drop ``connection`` at the next loop turn if it is still the current one."""
        with self._drop_lock:
            self._to_drop.append(connection)

    def start(self) -> None:
        """Open the endpoint and start serving.

        Raises:
            TransportError: the pty or port cannot be opened.
        """
        if self._thread is not None:
            return
        self._open()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"emulator-{type(self).__name__}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        origin_s = self._clock.now_s() - self.firmware.time_s
        try:
            while not self._stop.is_set():
                with self._drop_lock:
                    to_drop, self._to_drop = self._to_drop, []
                if self._current is not None and any(c is self._current for c in to_drop):
                    self._drop_host()
                readable = self._poll(self._period_s)
                for fd in readable:
                    self._on_readable(fd)
                self.firmware.advance_to(self._clock.now_s() - origin_s)
        except Exception as err:  # thread top: report to the owner, never die silently
            logger.exception("emulator server loop died")
            self.error = err

    def _poll(self, timeout_s: float) -> list[int]:
        fds = self._fds()
        if not fds:
            self._stop.wait(timeout_s)
            return []
        try:
            readable, _, _ = select.select(fds, [], [], timeout_s)
        except (OSError, ValueError):
            return []
        return list(readable)

    def close(self) -> None:
        """Stop the thread and close every descriptor; idempotent."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(_JOIN_TIMEOUT_S)
            if thread.is_alive():
                logger.error("emulator server thread did not stop within %.1f s", _JOIN_TIMEOUT_S)
        self.firmware.detach()
        self._close_all()

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def _open(self) -> None:
        """Open the endpoint (and attach the firmware once a host can be served)."""

    @abstractmethod
    def _fds(self) -> list[int]:
        """The descriptors to wait on."""

    @abstractmethod
    def _on_readable(self, fd: int) -> None:
        """Read what ``fd`` has (bytes for the firmware, or a new host)."""

    @abstractmethod
    def _drop_host(self) -> None:
        """Drop the current host connection (the ``disconnect`` fault, or the host left)."""

    @abstractmethod
    def _close_all(self) -> None:
        """Close every descriptor; idempotent."""


class PtyServer(EmulatorServer):
    """The emulator behind a raw pseudo-terminal; the host opens :attr:`url` (the slave path).

    Our copy of the slave stays open so a host may close and reopen the port. The ``disconnect``
    fault closes the master: the host's reads fail as with an unplugged adapter, and the path is
    gone for good (start a new server to reconnect).
    """

    def __init__(
        self, firmware: EmulatedFirmware, clock: Clock, *, period_s: float = 0.001
    ) -> None:
        super().__init__(firmware, clock, period_s=period_s)
        self._master: int | None = None
        self._slave: int | None = None
        self._path = ""

    @property
    def url(self) -> str:
        """Path of the pty slave (``/dev/pts/N``)."""
        return self._path

    def _open(self) -> None:
        try:
            master, slave = os.openpty()
        except OSError as err:
            raise TransportError(f"cannot open a pseudo-terminal: {err}", url="pty") from err
        tty.setraw(slave)  # no echo, no line discipline: all 256 byte values pass
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._path = os.ttyname(slave)
        self._current = _FdConnection(self, fd=master, sock=None)
        self.firmware.attach(self._current)
        logger.info("emulator on pty %s", self._path)

    def _fds(self) -> list[int]:
        return [] if self._master is None else [self._master]

    def _on_readable(self, fd: int) -> None:
        try:
            data = os.read(fd, _READ_BYTES)
        except BlockingIOError:
            return
        except OSError as err:
            if err.errno == errno.EIO:
                return  # no process has the slave open right now; not an error for the server
            raise
        if data:
            self.firmware.receive(data)

    def _drop_host(self) -> None:
        logger.info("emulator: closing pty %s (disconnect)", self._path)
        self._current = None
        self._close_all()

    def _close_all(self) -> None:
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None


class TcpServer(EmulatorServer):
    """The emulator on a TCP port; the host opens ``socket://host:port``. One client at a time.

    A new client replaces the old one. The ``disconnect`` fault closes the client socket; the
    server keeps listening, so the host can reconnect.
    """

    def __init__(
        self,
        firmware: EmulatedFirmware,
        clock: Clock,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        period_s: float = 0.001,
    ) -> None:
        super().__init__(firmware, clock, period_s=period_s)
        if not 0 <= port <= 0xFFFF:  # noqa: PLR2004 - TCP port range
            raise ValueError(f"port must be in 0..65535, got {port}")
        self._host = host
        self._port = port
        self._listener: socket.socket | None = None
        self._client: socket.socket | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Bound (host, port); the port is real once started."""
        return self._host, self._port

    @property
    def url(self) -> str:
        """``socket://host:port`` for pyserial."""
        return f"socket://{self._host}:{self._port}"

    def _open(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self._host, self._port))
            listener.listen(1)
        except OSError as err:
            listener.close()
            raise TransportError(f"cannot listen: {err}", url=self.url) from err
        listener.setblocking(False)  # noqa: FBT003 - socket API
        self._listener = listener
        self._port = listener.getsockname()[1]
        logger.info("emulator on %s", self.url)

    def _fds(self) -> list[int]:
        return [s.fileno() for s in (self._listener, self._client) if s is not None]

    def _on_readable(self, fd: int) -> None:
        if self._listener is not None and fd == self._listener.fileno():
            try:
                accepted, peer = self._listener.accept()
            except BlockingIOError:
                return
            self._drop_host()
            accepted.setblocking(False)  # noqa: FBT003 - socket API
            accepted.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._client = accepted
            self._current = _FdConnection(self, fd=None, sock=accepted)
            self.firmware.attach(self._current)
            logger.info("emulator: host connected from %s:%d", *peer)
            return
        client = self._client
        if client is None or fd != client.fileno():
            return
        try:
            data = client.recv(_READ_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            logger.info("emulator: host closed the connection")
            self._drop_host()
            return
        self.firmware.receive(data)

    def _drop_host(self) -> None:
        if self._current is not None:
            self._current = None
            self.firmware.detach()
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            client.close()

    def _close_all(self) -> None:
        self._drop_host()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
