"""The campaign's report: outcomes collected per session, printed in the terminal summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.campaign.outcome import Outcome, outcome_rows

if TYPE_CHECKING:
    from _pytest.terminal import TerminalReporter

REPORT_KEY = pytest.StashKey[list[tuple[Outcome, list[str]]]]()


@pytest.fixture(scope="session")
def campaign_report(request: pytest.FixtureRequest) -> list[tuple[Outcome, list[str]]]:
    """Every scenario's outcome and failed checks, in run order (printed at the end)."""
    return request.config.stash.setdefault(REPORT_KEY, [])


def pytest_terminal_summary(
    terminalreporter: TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """Print the table of scenarios and outcomes."""
    results = config.stash.get(REPORT_KEY, [])
    if not results:
        return
    terminalreporter.section("fault campaign: scenarios and outcomes (emulator time)")
    terminalreporter.write_line(outcome_rows(results))
