"""Runs console commands against a :class:`BrpClient` and reports them with rich.

Outcomes map to exit codes for scripts: an error STATUS is 1, a bad command 2, a protocol
violation, time-out or lost connection 3.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from robot.console.commands import COMMAND_HELP, ConsoleCommand, parse_command
from robot.console.errors import BrpError, BrpStatusError

if TYPE_CHECKING:
    from rich.console import Console

    from robot.console.client import BrpClient
    from robot.console.results import BrpView, PhaseResult, PositionReading

__all__ = ["ConsoleRunner", "Outcome", "describe_view"]


class Outcome(enum.IntEnum):
    """The result of one command, valued as the exit code it maps to."""

    OK = 0
    ERROR_STATUS = 1
    BAD_COMMAND = 2
    PROTOCOL = 3
    QUIT = 4


def _mm(values: tuple[float, float, float]) -> str:
    return "(" + ", ".join(f"{v:.2f}" for v in values) + ") mm"


def describe_view(view: BrpView) -> str:
    """One line: connection, phase, tip position, last STATUS, fault count."""
    parts = [
        "connected" if view.connected else "DISCONNECTED",
        f"phase {view.phase or '?'}",
        f"tip {_mm(view.position.tip_ras_mm)}" if view.position else "tip ?",
        f"last {view.last_status.describe()}" if view.last_status else "last -",
        f"faults {len(view.faults)}",
    ]
    if view.desynchronised:
        parts.append("DESYNCHRONISED")
    return " | ".join(parts)


class ConsoleRunner:
    """Executes commands one at a time.

    Args:
        client: an open client.
        out: where results go.
        err: where errors go.
        live: show streamed positions while moving (interactive use).
    """

    def __init__(self, client: BrpClient, out: Console, err: Console, *, live: bool) -> None:
        self._client = client
        self._out = out
        self._err = err
        self._live = live

    def run_text(self, text: str) -> Outcome:
        """Parse and run one command; report it."""
        try:
            command = parse_command(text)
        except ValueError as err:
            self._err.print(f"[red]bad command[/red] {escape(text)!s}: {escape(str(err))}")
            return Outcome.BAD_COMMAND
        return self.run(command)

    def run(self, command: ConsoleCommand) -> Outcome:
        """Run a parsed command; report it."""
        if command.name == "quit":
            return Outcome.QUIT
        if command.name == "help":
            self._help()
            return Outcome.OK
        try:
            line = self._execute(command)
        except BrpStatusError as err:
            self._err.print(f"[red]ERROR STATUS[/red] {escape(str(err))}")
            return Outcome.ERROR_STATUS
        except BrpError as err:
            self._err.print(f"[red]ERROR[/red] {escape(str(err))}")
            return Outcome.PROTOCOL
        except ValueError as err:  # the client's own argument checks: nothing was sent
            self._err.print(f"[red]bad command[/red] {escape(command.text)}: {escape(str(err))}")
            return Outcome.BAD_COMMAND
        self._out.print(escape(line))
        return Outcome.OK

    def _help(self) -> None:
        table = Table(title="mrbot console commands (RAS mm)")
        table.add_column("command")
        table.add_column("what it does")
        for name, text in COMMAND_HELP.items():
            table.add_row(name, escape(text))
        self._out.print(table)

    def _phase_line(self, result: PhaseResult) -> str:
        status = result.status.describe() if result.status else "no phase STATUS"
        return f"{result.phase}: {status} (phase in effect {result.phase_in_effect})"

    def _move(self) -> str:
        if not self._live:
            result = self._client.move_to_target()
        else:
            with self._out.status("moving...") as spinner:

                def show(position: PositionReading) -> None:
                    spinner.update(f"moving: tip {_mm(position.tip_ras_mm)}")

                result = self._client.move_to_target(on_position=show)
        final = result.final_position
        where = f", tip {_mm(final.tip_ras_mm)}" if final else ""
        return f"{self._phase_line(result)}; {len(result.positions)} positions{where}"

    def _execute(self, command: ConsoleCommand) -> str:
        client, name = self._client, command.name
        if name == "start_up":
            return self._phase_line(client.start_up())
        if name == "planning":
            return self._phase_line(client.planning())
        if name == "targeting":
            return self._phase_line(client.targeting())
        if name == "manual":
            return self._phase_line(client.manual())
        if name == "stop":
            return self._phase_line(client.stop())
        if name == "emergency":
            return self._phase_line(client.emergency())
        if name == "move":
            return self._move()
        if name == "retract":
            return self._phase_line(client.retract_needle())
        if name == "calibrate" and command.matrix is not None:
            result = client.calibration(command.matrix)
            return f"CALIBRATION: {result.status.describe()}"
        if name == "target" and command.matrix is not None:
            result = client.set_target(command.matrix)
            where = "?"
            if result.T_reply is not None:
                x, y, z = (float(v) for v in result.T_reply[:3, 3])
                where = _mm((x, y, z))
            return f"TARGET: {result.status.describe()}; robot will reach {where}"
        if name == "status":
            return f"STATUS: {client.get_status().describe()}"
        if name == "faults":
            faults = client.view.faults
            lines = [f"  {fault.describe()}" for fault in faults]
            return "\n".join([f"FAULTS: {len(faults)}", *lines])
        if name == "position":
            return f"POSITION: tip {_mm(client.get_position().tip_ras_mm)}"
        if name == "needle_length" and command.number is not None:
            return f"NEEDLE_LENGTH: {client.needle_length(command.number).text} mm"
        if name == "auto_align" and command.flag is not None:
            return f"AUTO_ALIGN: {client.auto_align(on=command.flag).describe()}"
        raise AssertionError(f"unhandled console command {command.name!r}")  # parse_command's table

    def prompt_line(self) -> str:
        """The live state line shown before each prompt."""
        return describe_view(self._client.view)
