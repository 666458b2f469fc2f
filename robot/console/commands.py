"""Console command language: ``start_up; calibrate identity; target 10 20 30 --entry 0 0 80``.

Sans-I/O: text in, :class:`ConsoleCommand` values out. Commands are separated by ``;`` or new
lines; ``#`` starts a comment. Every coordinate is RAS millimetres.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from robot.console.target import calibration_from_text, check_wire_numbers, target_transform

if TYPE_CHECKING:
    from kinematics import Transform

__all__ = ["COMMAND_HELP", "ConsoleCommand", "parse_command", "split_commands"]

COMMAND_HELP: Final = {
    "start_up": "START_UP: reset, firmware check, homing",
    "planning": "PLANNING",
    "calibrate": "calibrate identity | FILE | 12 numbers (R by columns, then t in mm)",
    "targeting": "TARGETING",
    "target": "target X Y Z [--entry X Y Z]   (RAS mm; needle along entry -> target)",
    "move": "MOVE_TO_TARGET, streaming positions until arrival",
    "manual": "MANUAL",
    "stop": "STOP (controlled, Cat 2)",
    "emergency": "EMERGENCY (Cat 1, latched until START_UP)",
    "status": "ask for the phase in effect and its code",
    "position": "ask for the needle-guide tip pose",
    "faults": "list the error STATUS messages received (newest last)",
    "needle_length": "needle_length MM",
    "retract": "retract the needle",
    "auto_align": "auto_align on|off",
    "help": "list the commands",
    "quit": "leave the console",
}
_NO_ARGS: Final = frozenset(COMMAND_HELP) - {"calibrate", "target", "needle_length", "auto_align"}


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ConsoleCommand:
    """One parsed command.

    Attributes:
        name: a key of :data:`COMMAND_HELP`.
        text: the command as typed (for messages).
        matrix: the calibration or target pose (RAS mm) for ``calibrate``/``target``.
        number: the value of ``needle_length`` (mm).
        flag: the value of ``auto_align``.
    """

    name: str
    text: str
    matrix: Transform | None = None
    number: float | None = None
    flag: bool | None = None


def split_commands(text: str) -> list[str]:
    """Split a script into command strings (``;`` or new line; ``#`` comments; blanks dropped)."""
    commands: list[str] = []
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split(";")
        commands.extend(part.strip() for part in parts if part.strip())
    return commands


def _floats(words: list[str], what: str) -> list[float]:
    """Finite numbers that a float32 TRANSFORM can carry (a larger one would arrive as inf)."""
    try:
        values = [float(w) for w in words]
    except ValueError as err:
        raise ValueError(f"{what}: {err}") from err
    check_wire_numbers(values, what)
    return values


def _target(text: str, words: list[str]) -> ConsoleCommand:
    entry = None
    if "--entry" in words:
        at = words.index("--entry")
        entry = _floats(words[at + 1 :], "entry")
        words = words[:at]
        if len(entry) != 3:  # noqa: PLR2004 - a point
            raise ValueError(f"--entry needs X Y Z in RAS mm, got {len(entry)} numbers")
    target = _floats(words, "target")
    if len(target) != 3:  # noqa: PLR2004 - a point
        raise ValueError(f"target needs X Y Z in RAS mm, got {len(target)} numbers")
    return ConsoleCommand(name="target", text=text, matrix=target_transform(target, entry))


def parse_command(text: str) -> ConsoleCommand:
    """Parse one command.

    Raises:
        ValueError: unknown command or bad arguments (the message says which and why).
    """
    try:
        words = shlex.split(text)
    except ValueError as err:
        raise ValueError(f"cannot split {text!r}: {err}") from err
    if not words:
        raise ValueError("empty command")
    name, args = words[0].lower(), words[1:]
    if name not in COMMAND_HELP:
        raise ValueError(f"unknown command {words[0]!r}; try 'help'")
    if name in _NO_ARGS:
        if args:
            raise ValueError(f"{name} takes no arguments, got {args}")
        return ConsoleCommand(name=name, text=text)
    if name == "target":
        return _target(text, args)
    if name == "calibrate":
        if not args:
            raise ValueError("calibrate needs: identity | FILE | 12 numbers")
        return ConsoleCommand(name=name, text=text, matrix=calibration_from_text(" ".join(args)))
    if name == "needle_length":
        values = _floats(args, "needle_length")
        if len(values) != 1:
            raise ValueError(f"needle_length needs one number (mm), got {len(values)}")
        if not values[0] > 0:
            raise ValueError(f"needle_length must be > 0 mm, got {args[0]}")
        return ConsoleCommand(name=name, text=text, number=values[0])
    if len(args) != 1 or args[0].lower() not in ("on", "off"):
        raise ValueError(f"auto_align needs on or off, got {args}")
    return ConsoleCommand(name=name, text=text, flag=args[0].lower() == "on")
