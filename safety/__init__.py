"""Safety supervisor: state machine, interlocks, motion permits, watchdogs and the audit log."""

__all__: list[str] = []
