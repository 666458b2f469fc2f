"""The emulator's fault plan: what to break, when, and with which deterministic seed.

CLI syntax of one fault: ``NAME[@AT_S][:key=value,...]``, e.g. ``drop-frames:probability=0.2``,
``disconnect@3``, ``stuck-encoder@1:axis=0``, ``delay:delay_ms=30``. Names are in
:data:`FAULT_NAMES`.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["FAULT_NAMES", "FaultKind", "FaultPlan", "FaultSpec", "parse_fault"]


class FaultKind(enum.Enum):
    """Faults the emulator can inject; values are the CLI names."""

    DROP_FRAMES = "drop-frames"
    CORRUPT_BYTES = "corrupt-bytes"
    DELAY = "delay"
    DISCONNECT = "disconnect"
    STUCK_ENCODER = "stuck-encoder"
    PRESSURE_LOSS = "pressure-loss"
    STARTUP_FAILURE = "startup-failure"
    HARDWARE_FAILURE_MID_MOVE = "hardware-failure-mid-move"
    LIMIT_HIT = "limit-hit"


FAULT_NAMES: Final[Mapping[str, FaultKind]] = MappingProxyType({k.value: k for k in FaultKind})
"""CLI name -> fault kind (read-only)."""

_KEYS: Final = frozenset({"probability", "delay_ms", "axis", "until_s", "pressure_hpa"})


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultSpec:
    """One fault.

    Attributes:
        kind: what breaks.
        at_s: emulator time (s since start) from which the fault is active / fires.
        until_s: emulator time at which a lasting fault (drop, corrupt, delay) ends.
        probability: per-frame probability for drop-frames and corrupt-bytes.
        delay_s: extra latency per outgoing frame for delay (s).
        axis: wire axis index for axis faults (stuck-encoder, pressure-loss, limit-hit,
            hardware-failure-mid-move).
        pressure_hpa: supply pressure after pressure-loss (hPa).
    """

    kind: FaultKind
    at_s: float = 0.0
    until_s: float = math.inf
    probability: float = 1.0
    delay_s: float = 0.05
    axis: int = 0
    pressure_hpa: int = 1000

    def __post_init__(self) -> None:
        if not (math.isfinite(self.at_s) and self.at_s >= 0):
            raise ValueError(f"fault {self.kind.value}: at_s must be >= 0 s, got {self.at_s}")
        if not self.until_s > self.at_s:
            raise ValueError(
                f"fault {self.kind.value}: until_s {self.until_s} must be after at_s {self.at_s}"
            )
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(
                f"fault {self.kind.value}: probability must be in [0, 1], got {self.probability}"
            )
        if not (math.isfinite(self.delay_s) and self.delay_s >= 0):
            raise ValueError(f"fault {self.kind.value}: delay_s must be >= 0 s, got {self.delay_s}")
        if self.axis < 0:
            raise ValueError(f"fault {self.kind.value}: axis must be >= 0, got {self.axis}")
        if self.pressure_hpa < 0:
            raise ValueError(f"fault {self.kind.value}: pressure_hpa must be >= 0")

    def active(self, t_s: float) -> bool:
        """Whether a lasting fault is active at emulator time ``t_s``."""
        return self.at_s <= t_s < self.until_s


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultPlan:
    """All faults to inject, and the seed that makes random ones repeatable."""

    faults: tuple[FaultSpec, ...] = ()
    seed: int = 0

    def of(self, kind: FaultKind) -> tuple[FaultSpec, ...]:
        """The faults of one kind."""
        return tuple(f for f in self.faults if f.kind is kind)


def _bad_option(item: str) -> None:
    raise ValueError(f"bad option {item!r}; keys: {', '.join(sorted(_KEYS))}")


def parse_fault(text: str) -> FaultSpec:
    """Parse one CLI fault, ``NAME[@AT_S][:key=value,...]``.

    Raises:
        ValueError: unknown name or key, or a bad value; the message lists what is allowed.
    """
    head, _, options = text.partition(":")
    name, _, at = head.partition("@")
    kind = FAULT_NAMES.get(name.strip())
    if kind is None:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
    kwargs: dict[str, float | int] = {}
    try:
        if at:
            kwargs["at_s"] = float(at)
        for item in filter(None, (o.strip() for o in options.split(","))):
            key, sep, value = item.partition("=")
            if not sep or key not in _KEYS:
                _bad_option(item)
            if key == "delay_ms":
                kwargs["delay_s"] = float(value) / 1000.0
            elif key in {"axis", "pressure_hpa"}:
                kwargs[key] = int(value)
            else:
                kwargs[key] = float(value)
    except ValueError as err:
        raise ValueError(f"fault {text!r}: {err}") from err
    return FaultSpec(kind=kind, **kwargs)  # type: ignore[arg-type]  # keys checked above
