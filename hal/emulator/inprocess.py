"""Connect the driver to an emulator in the same process, in simulated or real time.

:class:`InProcessPort` hands out host transports (one live connection at a time): what the host
writes is handled by the firmware at once, replies land in the host's read buffer. Physics moves
only when someone steps the emulator: the test (simulated time) or a :class:`RealTimeRunner`.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Final

from hal.emulator.config import check_step_period
from hal.emulator.pipe import ByteChannel
from hal.errors import TransportError

if TYPE_CHECKING:
    from hal.clock import Clock
    from hal.emulator.firmware import EmulatedFirmware
    from hal.transport import Transport

__all__ = ["InProcessPort", "RealTimeRunner"]

logger = logging.getLogger(__name__)

_URL: Final = "emu://in-process"
_JOIN_TIMEOUT_S: Final = 2.0


class _FirmwareSide:
    """The emulator's end of one in-process connection."""

    def __init__(self, to_host: ByteChannel) -> None:
        self._to_host = to_host

    def send(self, data: bytes) -> None:
        try:
            self._to_host.put(data, url=_URL)
        except TransportError:
            logger.debug("in-process host end is closed; %d bytes not delivered", len(data))

    def close(self) -> None:
        self._to_host.close()


class _HostEnd:
    """The host's end: a :class:`~hal.transport.Transport`."""

    def __init__(
        self, firmware: EmulatedFirmware, rx: ByteChannel, side: _FirmwareSide, timeout_s: float
    ) -> None:
        self._firmware = firmware
        self._rx = rx
        self._side = side
        self._timeout_s = timeout_s

    @property
    def url(self) -> str:
        return _URL

    def read(self) -> bytes:
        return self._rx.get(self._timeout_s, url=_URL)

    def write(self, data: bytes) -> None:
        if self._rx.closed:
            raise TransportError("write on a disconnected emulator link", url=_URL)
        self._firmware.receive(data)

    def close(self) -> None:
        self._rx.close()
        if self._firmware.connection_is(self._side):
            self._firmware.detach()


class InProcessPort:
    """Opens in-process host transports to ``firmware`` (usable as a ``TransportOpener``)."""

    def __init__(self, firmware: EmulatedFirmware, *, read_timeout_s: float = 0.01) -> None:
        self._firmware = firmware
        self._read_timeout_s = read_timeout_s
        self.refuse_connections = False

    def __call__(self) -> Transport:
        """Attach a fresh connection to the firmware and return the host end.

        Raises:
            TransportError: connections are being refused (simulated unplugged cable).
        """
        if self.refuse_connections:
            raise TransportError("emulator refuses connections (cable unplugged)", url=_URL)
        rx = ByteChannel()
        side = _FirmwareSide(rx)
        self._firmware.attach(side)
        return _HostEnd(self._firmware, rx, side, self._read_timeout_s)


class RealTimeRunner:
    """Steps an emulator in real time on its own thread (``start``/``close``, context manager).

    Args:
        firmware: the emulator to step.
        clock: real monotonic clock (``robot`` or the test supplies it).
        period_s: stepping period (s).
    """

    def __init__(
        self, firmware: EmulatedFirmware, clock: Clock, *, period_s: float = 0.001
    ) -> None:
        check_step_period(period_s, "period_s")
        self._firmware = firmware
        self._clock = clock
        self._period_s = period_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        """Start stepping (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="emulator-realtime", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        origin_s = self._clock.now_s() - self._firmware.time_s
        try:
            while not self._stop.wait(self._period_s):
                self._firmware.advance_to(self._clock.now_s() - origin_s)
        except Exception as err:  # thread top: report to the owner, never die silently
            logger.exception("emulator real-time loop died")
            self.error = err

    def close(self) -> None:
        """Stop and join the thread; idempotent."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(_JOIN_TIMEOUT_S)
        if thread.is_alive():
            logger.error("emulator real-time thread did not stop within %.1f s", _JOIN_TIMEOUT_S)

    def __enter__(self) -> RealTimeRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
