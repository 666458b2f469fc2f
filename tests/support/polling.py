"""Wait for a condition by polling with a deadline (tests never sleep a fixed time)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


def wait_for(
    condition: Callable[[], bool],
    *,
    timeout_s: float = 5.0,
    what: str = "condition",
    interval_s: float = 0.001,
) -> None:
    """Return as soon as ``condition()`` is true; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        pause.wait(interval_s)
