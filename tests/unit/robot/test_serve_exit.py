"""``mrbot serve`` exit codes after a signal: 0 only for a confirmed stop and a durable record."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from robot.cli import serve
from robot.cli.main import main
from robot.shutdown import ShutdownReport


class _SignalledApp:
    """Stands in for RobotApp: signals this process as it starts, reports a given shutdown."""

    report: ShutdownReport

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.audit = None
        self.recorder = None
        self.causes: list[tuple[str, str | None]] = []

    def start(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # serve's handler is installed by now

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", 1)

    @property
    def audit_path(self) -> Path:
        return Path("audit.jsonl")

    def shutdown(self, cause: str, *, signal_name: str | None = None) -> ShutdownReport:
        self.causes.append((cause, signal_name))
        return self.report

    def close(self) -> None:
        """Nothing to close."""


def _report(*, standstill: bool, durable: bool) -> ShutdownReport:
    return ShutdownReport(
        cause="signal SIGTERM",
        stop_decision={"from": "MOVING", "to": "TARGET_SET", "accepted": True, "stop": 2},
        standstill=standstill,
        standstill_after_s=0.01 if standstill else None,
        stop_bound_s=2.0,
        durable=durable,
    )


@pytest.mark.parametrize(
    ("standstill", "durable", "code"),
    [
        (True, True, serve.EXIT_OK),
        (False, True, serve.EXIT_SHUTDOWN_UNCONFIRMED),
        (True, False, serve.EXIT_SHUTDOWN_UNCONFIRMED),
    ],
)
def test_the_exit_code_says_whether_the_stop_and_the_shutdown_record_were_confirmed(
    monkeypatch, capsys, standstill, durable, code
):
    apps: list[_SignalledApp] = []

    def make(*args: object, **kwargs: object) -> _SignalledApp:
        app = _SignalledApp()
        app.report = _report(standstill=standstill, durable=durable)
        apps.append(app)
        return app

    monkeypatch.setattr(serve, "RobotApp", make)
    before = signal.getsignal(signal.SIGTERM)
    assert main(["serve", "--emulate", "--port", "0"]) == code
    err = capsys.readouterr().err
    assert apps[0].causes == [("signal SIGTERM", "SIGTERM")]
    assert "SIGTERM: stopping the axes" in err
    if code == serve.EXIT_OK:
        assert "stopped at standstill" in err
    else:
        assert "shutdown NOT confirmed" in err
    assert signal.getsignal(signal.SIGTERM) is before  # serve's handler removed again
