"""Suite-wide fixtures: hypothesis profiles, a private state folder, GC pauses kept short, and a
thread-leak check."""

from __future__ import annotations

import gc
import os
import threading
import time
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    from collections.abc import Iterator

settings.register_profile(
    "ci", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, max_examples=30)
settings.register_profile(
    "nightly", deadline=None, max_examples=2000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("MRBOT_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True, scope="session")
def _private_state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Audit sessions of ``mrbot serve`` (and its subprocesses) go to a temporary state folder.

    Without this, a test that runs ``mrbot serve`` without ``--audit`` would write into the real
    user state folder (``~/.local/state/mrbot/audit``) or a configured ``MRBOT_AUDIT_DIR``.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))
        patch.delenv("MRBOT_AUDIT_DIR", raising=False)
        yield


@pytest.fixture(autouse=True)
def _earlier_tests_out_of_the_collector() -> None:
    """Move what earlier tests left alive out of the garbage collector's full passes.

    Every test of the suite runs in one process, whose heap grows over the run. A full
    (generation 2) collection holds the interpreter for as long as it scans that heap: measured
    at up to 0.24 s after the unit tests, longer than the 0.2 s link time-out floor, so a robot
    with its firmware emulated in the same process saw "no telemetry for 209 ms" in START_UP (a
    failure of the test process, not of the robot). ``gc.freeze`` leaves each test's own objects
    to the collector as before; objects from before it are neither scanned nor freed.
    """
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread running (after a short grace period to finish joining)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2.0
    pause = threading.Event()
    while True:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked or time.monotonic() > deadline:
            break
        pause.wait(0.005)
    assert not leaked, f"test leaked threads: {[t.name for t in leaked]}"
