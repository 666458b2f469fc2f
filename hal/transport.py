"""Byte transports: any pyserial URL (device, pty, ``socket://``, ``loop://``) behind one protocol.

A transport moves bytes and nothing else. ``read`` returns what arrived within the read time-out
(possibly ``b""``); a disconnect (EOF, ``OSError``, unplugged adapter) raises
:class:`~hal.errors.TransportError` at once. ``serial.SerialException`` never leaves this module.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Final, Protocol

import serial

from hal.errors import TransportError

__all__ = [
    "DEFAULT_BAUDRATE",
    "FTDI_LATENCY_WARN_MS",
    "SerialTransport",
    "Transport",
    "TransportOpener",
    "ftdi_latency_timer_ms",
    "serial_opener",
]

logger = logging.getLogger(__name__)

DEFAULT_BAUDRATE: Final = 1_000_000
FTDI_LATENCY_WARN_MS: Final = 2
_READ_TIMEOUT_S: Final = 0.01  # bounds how long close() waits for the reader thread
_WRITE_TIMEOUT_S: Final = 0.1
_MAX_READ_BYTES: Final = 4096
_SYSFS_TTY: Final = Path("/sys/bus/usb-serial/devices")


class Transport(Protocol):
    """An open byte stream to the firmware."""

    @property
    def url(self) -> str:
        """Where the bytes go (for messages)."""
        ...

    def read(self) -> bytes:
        """Return the bytes that arrived within the read time-out (maybe none).

        Raises:
            TransportError: the link is gone (EOF, I/O error, closed).
        """
        ...

    def write(self, data: bytes) -> None:
        """Write all of ``data``.

        Raises:
            TransportError: the link is gone or the write timed out.
        """
        ...

    def close(self) -> None:
        """Close the transport; idempotent, never raises."""
        ...


class TransportOpener(Protocol):
    """Opens a fresh transport (called on configure and on every reconnect)."""

    def __call__(self) -> Transport:
        """Open and return a transport.

        Raises:
            TransportError: the port cannot be opened.
        """
        ...


def ftdi_latency_timer_ms(device: str, *, sysfs_root: Path = _SYSFS_TTY) -> int | None:
    """Read the FTDI latency timer of ``/dev/ttyUSBn`` from sysfs, or ``None`` if it has none."""
    match = re.fullmatch(r"/dev/(ttyUSB\d+)", device)
    if match is None:
        return None
    path = sysfs_root / match.group(1) / "latency_timer"
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


class SerialTransport:
    """A pyserial port opened from a URL, with exclusive access where the platform allows.

    Args:
        url: device path (``/dev/ttyUSB0``), pty path, ``socket://host:port`` or ``loop://``.
        baudrate: line rate in bit/s (ignored by ``socket://`` and ``loop://``).
        read_timeout_s: how long one :meth:`read` may block.
        write_timeout_s: how long one :meth:`write` may block before it fails.
    """

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = DEFAULT_BAUDRATE,
        read_timeout_s: float = _READ_TIMEOUT_S,
        write_timeout_s: float = _WRITE_TIMEOUT_S,
    ) -> None:
        if not url:
            raise ValueError("serial URL must not be empty")
        if baudrate <= 0:
            raise ValueError(f"baudrate must be > 0 bit/s, got {baudrate}")
        if not (read_timeout_s > 0 and write_timeout_s > 0):
            raise ValueError(
                f"time-outs must be > 0 s, got read {read_timeout_s}, write {write_timeout_s}"
            )
        self._url = url
        self._baudrate = baudrate
        self._read_timeout_s = read_timeout_s
        self._write_timeout_s = write_timeout_s
        self._port: serial.Serial | None = None

    @property
    def url(self) -> str:
        """The pyserial URL."""
        return self._url

    def open(self) -> None:
        """Open the port (flushing stale input) and warn about a slow FTDI latency timer.

        Raises:
            TransportError: the port cannot be opened (missing, busy, no permission).
        """
        if self._port is not None:
            return
        try:
            port = serial.serial_for_url(
                self._url,
                baudrate=self._baudrate,
                timeout=self._read_timeout_s,
                write_timeout=self._write_timeout_s,
                exclusive=True,
                do_not_open=True,
            )
            port.open()
        except (serial.SerialException, OSError, ValueError) as err:
            raise TransportError(f"cannot open: {err}", url=self._url) from err
        self._port = port
        latency_ms = ftdi_latency_timer_ms(self._url)
        if latency_ms is not None and latency_ms > FTDI_LATENCY_WARN_MS:
            logger.warning(
                "%s: FTDI latency timer is %d ms (> %d ms); set it to 1 ms, see docs/HARDWARE.md",
                self._url,
                latency_ms,
                FTDI_LATENCY_WARN_MS,
            )
        logger.info("%s: open at %d bit/s", self._url, self._baudrate)

    def read(self) -> bytes:
        """Read what has arrived, waiting at most the read time-out for the first byte.

        Raises:
            TransportError: closed, EOF, or an I/O error.
        """
        port = self._port
        if port is None:
            raise TransportError("read on a closed transport", url=self._url)
        try:
            waiting = port.in_waiting
            return bytes(port.read(min(max(waiting, 1), _MAX_READ_BYTES)))
        except (serial.SerialException, OSError, TypeError, AttributeError) as err:
            # pyserial raises TypeError/AttributeError when another thread closed the port
            # underneath a blocking read; all mean the link is gone.
            raise TransportError(f"read failed: {err}", url=self._url) from err

    def write(self, data: bytes) -> None:
        """Write ``data`` completely.

        Raises:
            TransportError: closed, timed out, or an I/O error.
        """
        port = self._port
        if port is None:
            raise TransportError("write on a closed transport", url=self._url)
        try:
            written = port.write(data)
        except (serial.SerialException, OSError, TypeError, AttributeError) as err:
            raise TransportError(f"write failed: {err}", url=self._url) from err
        if written is not None and written != len(data):
            raise TransportError(f"short write: {written} of {len(data)} bytes", url=self._url)

    def close(self) -> None:
        """Close the port; idempotent, never raises."""
        port, self._port = self._port, None
        if port is None:
            return
        try:
            port.close()
        except (serial.SerialException, OSError) as err:
            logger.warning(
                "%s: error while closing (ignored, port is released): %s", self._url, err
            )


def serial_opener(
    url: str, *, baudrate: int = DEFAULT_BAUDRATE, read_timeout_s: float = _READ_TIMEOUT_S
) -> TransportOpener:
    """Return an opener that opens a fresh :class:`SerialTransport` on ``url`` each call."""

    def _open() -> Transport:
        transport = SerialTransport(url, baudrate=baudrate, read_timeout_s=read_timeout_s)
        transport.open()
        return transport

    return _open
