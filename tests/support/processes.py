"""Child processes for the tests: ``mrbot`` started as users start it, read with deadlines.

Every helper here polls with a deadline (``select``), never sleeps, and never blocks on a pipe
without one, so a child that hangs fails the test with what it printed instead of hanging it.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

#: ``mrbot`` run by this interpreter (the venv's console script may not be on PATH).
MRBOT: Final = (sys.executable, "-c", "from robot.cli.main import main; raise SystemExit(main())")


class Lines:
    """Reads a child's stdout line by line with deadlines (no thread)."""

    def __init__(self, proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self._fd = proc.stdout.fileno()
        self._buffer = b""
        self._eof = False
        self.lines: list[str] = []

    @property
    def closed(self) -> bool:
        """The child closed its stdout."""
        return self._eof

    def pump(self, timeout_s: float) -> None:
        """Read what arrives within ``timeout_s``."""
        if self._eof:
            return
        readable, _, _ = select.select([self._fd], [], [], max(0.0, timeout_s))
        if readable:
            chunk = os.read(self._fd, 65536)
            if not chunk:
                self._eof = True
                return
            self._buffer += chunk
            *complete, self._buffer = self._buffer.split(b"\n")
            self.lines += [c.decode(errors="replace").rstrip("\r") for c in complete]

    def until(self, predicate: Callable[[str], bool], *, timeout_s: float, what: str) -> str:
        """The first line (old or new) for which ``predicate`` holds, within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        seen = 0
        while True:
            for line in self.lines[seen:]:
                if predicate(line):
                    return line
            seen = len(self.lines)
            left = deadline - time.monotonic()
            if left <= 0 or self._eof:
                why = "the child closed its output" if self._eof else f"{timeout_s} s passed"
                raise AssertionError(f"no {what} ({why}); last lines: {self.lines[-3:]}")
            self.pump(min(left, 0.05))


def spawn(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stderr: int = subprocess.PIPE,
    cwd: str | os.PathLike[str] | None = None,
) -> subprocess.Popen[str]:
    """Start ``mrbot ARGS`` (text mode, stdout piped, ``stderr`` as given)."""
    return subprocess.Popen(
        [*MRBOT, *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=None if env is None else dict(env),
        cwd=cwd,
    )


def address_of(proc: subprocess.Popen[str], *, timeout_s: float = 30.0) -> tuple[str, int]:
    """The ``listening on HOST:PORT`` address ``proc`` prints first (deadline).

    Raises:
        AssertionError: no such line within ``timeout_s`` (the child is killed, stderr quoted).
    """
    lines = Lines(proc)
    try:
        line = lines.until(lambda s: "listening on " in s, timeout_s=timeout_s, what="address")
    except AssertionError as err:
        proc.kill()
        _, stderr = proc.communicate(timeout=10)
        raise AssertionError(
            f"mrbot did not start: {err}; stderr: {(stderr or '')[-2000:]}"
        ) from None
    host, _, port = line.split("listening on ", 1)[1].split()[0].rpartition(":")
    return host, int(port)


def serve(
    *args: str,
    settings: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    stderr: int = subprocess.PIPE,
) -> tuple[subprocess.Popen[str], tuple[str, int]]:
    """``mrbot serve --port 0 ARGS`` with each of ``settings`` as ``--set``; and its address."""
    sets = [a for s in settings for a in ("--set", s)]
    proc = spawn(["serve", "--port", "0", *sets, *args], env=env, stderr=stderr)
    return proc, address_of(proc)


def stop(proc: subprocess.Popen[str], sig: int, *, timeout_s: float = 15.0) -> tuple[int, str]:
    """Send ``sig`` and wait for the exit; the exit code and what the child wrote to stderr."""
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=timeout_s)
    return proc.returncode, err or ""


def end(proc: subprocess.Popen[str] | subprocess.Popen[bytes] | None) -> None:
    """Stop ``proc`` if it still runs (terminate, then kill) and close its pipes."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5.0)
    for pipe in (proc.stdout, proc.stderr, proc.stdin):
        if pipe is not None:
            pipe.close()
