"""Records people can use: the audit sessions of ``mrbot serve``, and MCAP session recordings."""

from robot.records.recorder import Recorder, RecorderStats
from robot.records.sessions import (
    audit_directory,
    new_audit_session,
    prune_audit_sessions,
    recording_path,
    retention_report,
)
from robot.records.taps import RecordingTransport, recording_opener

__all__ = [
    "Recorder",
    "RecorderStats",
    "RecordingTransport",
    "audit_directory",
    "new_audit_session",
    "prune_audit_sessions",
    "recording_opener",
    "recording_path",
    "retention_report",
]
