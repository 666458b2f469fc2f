"""An emulated MR scanner bridge: a client without authority (OPENIGTLINK.md section 5).

It starts and stops sequences (the robot's imaging interlock), sends Z-frame localiser IMAGEs
rendered by :func:`robot.twin.render_zframe` and waits for the robot's registration, and receives
the scan planes (``TRANSFORM(PLANE_0)``) the robot asks for after each alignment.

Does not model: real sequence timing, ``IMAGE_TIMESTAMP`` strings, TDATA, or images other than
the Z-frame.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

import numpy as np

from robot.console import BrpClientConfig, BrpSession, BrpTimeoutError
from robot.console.scripts import image_script, status_request_script
from robot.igtl import IgtlMessage, ImageBody, StringBody, TransformBody
from robot.twin.zframe_render import render_zframe

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    import numpy.typing as npt

    from kinematics import Transform
    from robot.console import PoseResult, StatusReply
    from robot.twin.zframe_render import SliceGeometry

__all__ = ["ZFRAME_IMAGE_NAME", "EmulatedScanner"]

ZFRAME_IMAGE_NAME: Final = "ZFRAME"
_PLANE_PREFIX: Final = "PLANE"


class EmulatedScanner:
    """The scanner side of the robot's OpenIGTLink server.

    Args:
        host: robot address.
        port: robot port.
        config: time-outs (``action_timeout_s`` bounds the Z-frame registration).
        now: monotonic seconds.
        image_name: device name of Z-frame IMAGEs (the robot matches ``ZFRAME*``).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 18944,
        *,
        config: BrpClientConfig | None = None,
        now: Callable[[], float] = time.monotonic,
        image_name: str = ZFRAME_IMAGE_NAME,
    ) -> None:
        if not image_name.startswith(ZFRAME_IMAGE_NAME):
            raise ValueError(f"Z-frame image name {image_name!r} must start with ZFRAME")
        self._session = BrpSession(host, port, config=config, now=now, name="scanner")
        self._image_name = image_name
        self._now = now

    def open(self) -> None:
        """Connect.

        Raises:
            BrpConnectError: the robot cannot be reached.
        """
        self._session.open()

    def close(self) -> None:
        """Disconnect (idempotent)."""
        self._session.close()

    def __enter__(self) -> EmulatedScanner:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def session(self) -> BrpSession:
        """The connection."""
        return self._session

    def _sequence(self, text: str) -> StatusReply:
        names, script = status_request_script(("SCANNER",), self._session.config.ack_timeout_s)
        return self._session.exchange(
            (IgtlMessage(device_name="SCANNER", body=StringBody(text=text)),),
            names,
            script,
            label=f"SCANNER {text}",
        )

    def start_sequence(self) -> StatusReply:
        """``STRING(SCANNER, START_SEQUENCE)``: imaging starts (the robot must not move).

        Raises:
            BrpStatusError: the robot answered an error STATUS(SCANNER).
            BrpProtocolError: no ``STATUS(SCANNER)`` in time, or out of order.
        """
        return self._sequence("START_SEQUENCE")

    def stop_sequence(self) -> StatusReply:
        """``STRING(SCANNER, STOP_SEQUENCE)``: imaging stopped.

        Raises:
            BrpStatusError: the robot answered an error STATUS(SCANNER).
            BrpProtocolError: no ``STATUS(SCANNER)`` in time, or out of order.
        """
        return self._sequence("STOP_SEQUENCE")

    def zframe_image(
        self,
        T_scanner_from_zframe: npt.ArrayLike,
        geometry: SliceGeometry,
        *,
        seed: int,
        snr: float | None = 40.0,
    ) -> IgtlMessage:
        """Render the Z-frame at a pose into ``geometry``: the IMAGE message, not yet sent.

        The IMAGE header carries the scaled directions and the volume centre in RAS (our codec
        computes the centre from ``ijk_to_ras``; OPENIGTLINK.md section 2).
        """
        rendered = render_zframe(T_scanner_from_zframe, geometry, snr=snr, seed=seed)
        body = ImageBody(voxels=rendered.image, ijk_to_ras=rendered.ijk_to_ras)
        return IgtlMessage(device_name=self._image_name, body=body)

    def send_zframe_image(
        self,
        T_scanner_from_zframe: npt.ArrayLike,
        geometry: SliceGeometry,
        *,
        seed: int,
        snr: float | None = 40.0,
    ) -> PoseResult:
        """Send a rendered Z-frame IMAGE; wait for ``STATUS(CALIBRATION)`` and its TRANSFORM.

        Returns:
            ``T_reply`` is the robot's registration, ``TRANSFORM(CALIBRATION)`` (RAS mm).

        Raises:
            BrpStatusError: ``STATUS(CALIBRATION, 10)``: the Z-frame was not found or not rigid.
            BrpProtocolError: no reply within ``action_timeout_s``, or out of order.
        """
        return self.send_image(
            self.zframe_image(T_scanner_from_zframe, geometry, seed=seed, snr=snr)
        )

    def send_image(self, image: IgtlMessage) -> PoseResult:
        """Send a prepared Z-frame IMAGE (see :meth:`zframe_image`) and wait for the registration.

        Rendering takes a CPU for a while; render first when the robot runs in this process.

        Raises:
            ValueError: not an IMAGE named ``ZFRAME*``.
            BrpStatusError: ``STATUS(CALIBRATION, 10)``: the Z-frame was not found or not rigid.
            BrpProtocolError: no reply within ``action_timeout_s``, or out of order.
        """
        if not isinstance(image.body, ImageBody) or not image.device_name.startswith(
            ZFRAME_IMAGE_NAME
        ):
            raise ValueError(f"{image.message_type}({image.device_name}) is not a ZFRAME* IMAGE")
        names, script = image_script(self._session.config)
        return self._session.exchange((image,), names, script, label=f"IMAGE({image.device_name})")

    def wait_plane(self, timeout_s: float) -> tuple[str, Transform]:
        """The next ``TRANSFORM(PLANE*)``: device name and the scan plane pose (RAS mm).

        Other unsolicited messages (positions, broadcasts) are skipped.

        Raises:
            BrpTimeoutError: none within ``timeout_s``.
        """
        deadline_s = self._now() + timeout_s
        while True:
            remaining_s = deadline_s - self._now()
            message = None
            if remaining_s > 0:
                try:
                    message = self._session.next_unsolicited(remaining_s)
                except BrpTimeoutError:
                    message = None
            if message is None:
                raise BrpTimeoutError(
                    "waiting for TRANSFORM(PLANE*)", device_name="PLANE_0", timeout_s=timeout_s
                )
            body = message.body
            if message.device_name.startswith(_PLANE_PREFIX) and isinstance(body, TransformBody):
                return message.device_name, np.array(body.matrix_ras_mm)
