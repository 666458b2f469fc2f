"""Scanner bridge: Z-frame IMAGEs registered on a worker thread, results posted to the loop.

Detection takes tens of milliseconds of mostly Python work, so it never runs on a reader thread,
in a control cycle, or even in this process (it would hold the GIL long enough to starve the
HAL's serial reader): :meth:`ZFrameWorker.submit` (control loop) queues the image, the worker
thread hands it to a one-process pool running :func:`kinematics.detect_zframe`, waits, and posts a
:class:`ZFrameResult` to the control loop's queue.
Only the newest pending image is kept: an older one still waiting is superseded (counted).
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from kinematics import ZFrameDetectionError, detect_zframe

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    import numpy.typing as npt

    from kinematics import ZFrameDetection
    from robot.igtl import ConnectionId, ImageBody

__all__ = ["ZFrameResult", "ZFrameWorker", "register_image"]

logger = logging.getLogger(__name__)

_JOIN_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ZFrameResult:
    """The outcome of one Z-frame registration.

    Attributes:
        device_name: the IMAGE's device name.
        connection_id: the sender.
        detection: the detected pose, or ``None`` when refused.
        error: why it was refused (the detector's reason and detail), or "".
        duration_s: detection time (s).
    """

    device_name: str
    connection_id: ConnectionId
    detection: ZFrameDetection | None
    error: str
    duration_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class _Job:
    device_name: str
    connection_id: ConnectionId
    image: ImageBody


def register_image(
    voxels: npt.NDArray[np.generic], ijk_to_ras: npt.NDArray[np.float64]
) -> tuple[ZFrameDetection | None, str]:
    """Detect the Z-frame (runs in the pool process); returns the detection or why not.

    Errors come back as text: an exception with extra constructor arguments does not survive
    the trip between processes.
    """
    try:
        return detect_zframe(voxels, ijk_to_ras), ""
    except ZFrameDetectionError as err:
        return None, f"Z-frame not found ({err.reason}): {err.detail}"
    except ValueError as err:
        return None, f"Z-frame image unusable: {err}"


class ZFrameWorker:
    """One worker thread that registers Z-frame images.

    Args:
        post: where results go (the control loop's queue ``put``).
        now: monotonic clock (s).
    """

    def __init__(self, post: Callable[[object], None], *, now: Callable[[], float]) -> None:
        self._post = post
        self._now = now
        self._jobs: queue.Queue[_Job | None] = queue.Queue(maxsize=1)
        self._thread: threading.Thread | None = None
        self._pool: ProcessPoolExecutor | None = None
        self.superseded = 0
        self.completed = 0

    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="zframe-worker", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop and join the worker; idempotent."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._drop_pending()
        self._jobs.put(None)
        thread.join(_JOIN_TIMEOUT_S)
        if thread.is_alive():
            logger.error("Z-frame worker did not stop within %.1f s", _JOIN_TIMEOUT_S)
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _drop_pending(self) -> bool:
        try:
            self._jobs.get_nowait()
        except queue.Empty:
            return False
        return True

    def submit(self, device_name: str, connection_id: ConnectionId, image: ImageBody) -> None:
        """Queue an image for registration, superseding one still waiting."""
        if self._drop_pending():
            self.superseded += 1
            logger.warning("Z-frame image superseded by %s before it was registered", device_name)
        job = _Job(device_name=device_name, connection_id=connection_id, image=image)
        try:
            self._jobs.put_nowait(job)
        except queue.Full:  # the worker cannot have refilled it; only this thread submits
            self.superseded += 1
            logger.warning("Z-frame worker busy; %s dropped", device_name)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                self._post(self._register(job))
            except Exception:  # thread top: report and keep serving
                logger.exception("Z-frame registration of %s failed", job.device_name)

    def _register(self, job: _Job) -> ZFrameResult:
        start_s = self._now()
        voxels = job.image.voxels
        if voxels.ndim == 4:  # noqa: PLR2004 - (k, j, i, components)
            voxels = voxels[..., 0]
        detection = None
        error = ""
        if self._pool is None:
            # Started with the first image (a second to import numpy and scipy there), so a
            # robot that never sees a Z-frame never starts the process.
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn")
            )
        try:
            detection, error = self._pool.submit(
                register_image, voxels, job.image.ijk_to_ras
            ).result()
        except BrokenProcessPool as err:
            error = f"Z-frame registration process failed: {err}"
        self.completed += 1
        return ZFrameResult(
            device_name=job.device_name,
            connection_id=job.connection_id,
            detection=detection,
            error=error,
            duration_s=self._now() - start_s,
        )
