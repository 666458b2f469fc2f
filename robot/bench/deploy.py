"""The product as deployed, for benchmarks: ``mrbot serve`` (and an emulator) as subprocesses.

:class:`Deployment` starts ``mrbot serve --emulate`` (the emulator inside the server process,
behind a pty), or ``mrbot serve --device URL`` against an emulator in its own process on a pty or
a TCP port (:mod:`robot.bench.stamped_emulator`, which reports when it decodes each ESTOP). All
bound to 127.0.0.1, port 0. The server's standard error goes to a file kept for diagnosis.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from robot.bench.stamped_emulator import ESTOP_PREFIX

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["LINKS", "Deployment", "ProcessSample", "sample_process"]

#: How the server reaches its (emulated) controller.
LINKS: Final = ("emulate", "pty", "tcp")
#: Overrides for every deployment: a faster homing, so START_UP takes seconds, not a minute.
SETTINGS: Final = {"emulator.homing_speed_mm_s": 200.0}
_START_TIMEOUT_S: Final = 60.0


def _read_line(proc: subprocess.Popen[str], prefix: str, timeout_s: float) -> str:
    """Poll ``proc``'s stdout for a line starting with ``prefix`` within ``timeout_s``."""
    assert proc.stdout is not None  # noqa: S101 - spawned with stdout=PIPE
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([proc.stdout], [], [], left)
        if not readable:
            break
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(prefix):
            return line.strip()
    raise RuntimeError(f"no line starting {prefix!r} from {proc.args!r} within {timeout_s} s")


def _end(proc: subprocess.Popen[str] | None) -> None:
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5.0)
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


@dataclass(frozen=True, slots=True)
class ProcessSample:
    """What ``/proc/<pid>`` says about a process."""

    rss_kib: int
    threads: int
    open_fds: int


def sample_process(pid: int) -> ProcessSample:
    """RSS, thread count and open file descriptors of ``pid`` (Linux ``/proc``)."""
    fields: dict[str, str] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    rss_kib = int(fields["VmRSS"].split()[0])
    threads = int(fields["Threads"])
    open_fds = sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())
    return ProcessSample(rss_kib=rss_kib, threads=threads, open_fds=open_fds)


class Deployment:
    """``mrbot serve`` with its emulated controller, each in a subprocess.

    Args:
        link: ``emulate`` (in the server process), ``pty`` or ``tcp`` (emulator in its own
            process).
        extra_serve_args: more ``mrbot serve`` arguments (experiments).
        switch_interval_s: run the server with ``sys.setswitchinterval`` set to this (an
            experiment: CPython's default is 5 ms), or None for the default.
    """

    def __init__(
        self,
        link: str,
        *,
        extra_serve_args: tuple[str, ...] = (),
        switch_interval_s: float | None = None,
    ) -> None:
        if link not in LINKS:
            raise ValueError(f"link must be one of {', '.join(LINKS)}, got {link!r}")
        self.link = link
        self._extra = extra_serve_args
        self._switch_interval_s = switch_interval_s
        self._dir = tempfile.TemporaryDirectory(prefix="mrbot-bench-")
        self.server: subprocess.Popen[str] | None = None
        self.emulator: subprocess.Popen[str] | None = None
        self.port = 0
        self._estops: list[int] = []
        self._estop_lock = threading.Lock()
        self._estop_event = threading.Event()
        self._reader: threading.Thread | None = None

    @property
    def server_pid(self) -> int:
        """The server process id."""
        if self.server is None:
            raise RuntimeError("the deployment is not started")
        return self.server.pid

    @property
    def log_dir(self) -> Path:
        """Where the server's standard error and audit log are written."""
        return Path(self._dir.name)

    @property
    def stamps_estop(self) -> bool:
        """Whether the emulator reports the ESTOP frames it decodes."""
        return self.link != "emulate"

    def start(self) -> None:
        """Start the emulator (unless in-process) and the server; wait for ``listening on``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MRBOT_")}
        settings = [f"{k}={v}" for k, v in SETTINGS.items()]
        if self._switch_interval_s is None:
            serve = [sys.executable, "-m", "robot.cli.main", "serve"]
        else:
            launcher = (
                f"import sys; sys.setswitchinterval({self._switch_interval_s!r}); "
                "from robot.cli.main import main; sys.exit(main())"
            )
            serve = [sys.executable, "-c", launcher, "serve"]
        serve += ["--port", "0", "--audit", str(self.log_dir / "audit.jsonl")]
        for setting in settings:
            serve += ["--set", setting]
        if self.link == "emulate":
            serve.append("--emulate")
        else:
            self.emulator = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "robot.bench.stamped_emulator", self.link, *settings],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env=env,
            )
            url = _read_line(self.emulator, "/" if self.link == "pty" else "socket://", 30.0)
            self._reader = threading.Thread(target=self._read_estops, daemon=True)
            self._reader.start()
            serve += ["--device", url]
        serve += list(self._extra)
        with (self.log_dir / "serve.stderr").open("w") as err:
            self.server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                serve, stdout=subprocess.PIPE, stderr=err, text=True, env=env
            )
        line = _read_line(self.server, "listening on", _START_TIMEOUT_S)
        self.port = int(line.rpartition(":")[2])

    def stderr_tail(self, lines: int = 5) -> str:
        """The last ``lines`` lines of the server's standard error (diagnosis)."""
        path = self.log_dir / "serve.stderr"
        if not path.exists():
            return ""
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _read_estops(self) -> None:
        emulator = self.emulator
        if emulator is None or emulator.stdout is None:
            return
        for line in emulator.stdout:
            if line.startswith(ESTOP_PREFIX):
                with self._estop_lock:
                    self._estops.append(int(line[len(ESTOP_PREFIX) :]))
                self._estop_event.set()

    def estop_stamps(self) -> list[int]:
        """CLOCK_MONOTONIC ns of every ESTOP the emulator decoded so far."""
        with self._estop_lock:
            return list(self._estops)

    def wait_estops(self, count: int, timeout_s: float) -> list[int]:
        """Wait (bounded) until ``count`` ESTOP stamps are in; returns them."""
        deadline = time.monotonic() + timeout_s
        while len(stamps := self.estop_stamps()) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                return stamps
            self._estop_event.wait(min(left, 0.05))
            self._estop_event.clear()
        return stamps

    def close(self) -> None:
        """Terminate the server, then the emulator."""
        _end(self.server)
        _end(self.emulator)
        if self._reader is not None:
            self._reader.join(timeout=5.0)
        self._dir.cleanup()

    def __enter__(self) -> Deployment:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
