"""Taps that hand a link's bytes to a :class:`~robot.records.recorder.Recorder` on the way by."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hal import Transport, TransportOpener
    from robot.records.recorder import Recorder

__all__ = ["RecordingTransport", "recording_opener"]


class RecordingTransport:
    """A transport that records every byte read from and written to the controller.

    The bytes go to the recorder only after the inner transport's call succeeded, so the
    recording shows what really crossed the link; a failing call raises as before.
    """

    def __init__(self, inner: Transport, recorder: Recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    @property
    def url(self) -> str:
        """The inner transport's URL."""
        return self._inner.url

    def read(self) -> bytes:
        """Read from the inner transport; record what arrived.

        Raises:
            hal.TransportError: from the inner transport.
        """
        data = self._inner.read()
        if data:
            self._recorder.serial_received(data)
        return data

    def write(self, data: bytes) -> None:
        """Write through the inner transport; record what was written.

        Raises:
            hal.TransportError: from the inner transport.
        """
        self._inner.write(data)
        self._recorder.serial_sent(bytes(data))

    def close(self) -> None:
        """Close the inner transport."""
        self._inner.close()


def recording_opener(opener: TransportOpener, recorder: Recorder) -> TransportOpener:
    """An opener whose every transport (first open and reconnects) is recorded."""

    def _open() -> Transport:
        return RecordingTransport(opener(), recorder)

    return _open
