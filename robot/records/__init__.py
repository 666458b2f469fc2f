"""Records people can use: the audit session folder of ``mrbot serve`` and its retention."""

from robot.records.sessions import (
    audit_directory,
    new_audit_session,
    prune_audit_sessions,
    retention_report,
)

__all__ = [
    "audit_directory",
    "new_audit_session",
    "prune_audit_sessions",
    "retention_report",
]
