"""Where ``mrbot serve`` writes its audit trail: one session file per run, kept, never temporary.

The folder is ``audit.dir`` when set (a system service: ``/var/lib/mrbot/audit``), else the
platform's user state folder + ``mrbot/audit`` (on Linux ``$XDG_STATE_HOME/mrbot/audit``, by
default ``~/.local/state/mrbot/audit``). See :mod:`safety.audit_sessions` for names and
retention.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Final

import platformdirs

from safety.audit_sessions import Retention, apply_retention, new_session_path
from safety.audit_types import utc_now

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from robot.runtime.config import AuditSettings

__all__ = [
    "audit_directory",
    "new_audit_session",
    "prune_audit_sessions",
    "recording_path",
    "retention_report",
]

_APP_NAME: Final = "mrbot"


def audit_directory(settings: AuditSettings) -> Path:
    """The session folder: ``audit.dir``, else the user state folder + ``mrbot/audit``."""
    if settings.directory is not None:
        return settings.directory
    return Path(platformdirs.user_state_dir(_APP_NAME)) / "audit"


def new_audit_session(
    settings: AuditSettings, *, wall: Callable[[], datetime] = utc_now, pid: int | None = None
) -> Path:
    """The file for a new server session (folder created; the audit writer creates the file).

    Raises:
        safety.AuditError: the folder cannot be created.
    """
    return new_session_path(
        audit_directory(settings), start_utc=wall(), pid=os.getpid() if pid is None else pid
    )


def prune_audit_sessions(
    settings: AuditSettings, *, current: Path, wall: Callable[[], datetime] = utc_now
) -> Retention:
    """Apply ``audit.keep_sessions`` and ``audit.max_age_days``; ``current`` is never deleted.

    Raises:
        safety.AuditError: the folder cannot be listed.
    """
    return apply_retention(
        audit_directory(settings),
        keep_sessions=settings.keep_sessions,
        max_age_days=settings.max_age_days,
        current=current,
        now_utc=wall(),
    )


def retention_report(retention: Retention) -> list[str]:
    """One line per deleted, kept-open or undeletable session, for the server's stderr."""
    lines = [f"audit retention: deleted {p}" for p in retention.deleted]
    lines += [
        f"audit retention: kept {p} (a server is still writing it)" for p in retention.kept_open
    ]
    lines += [f"audit retention: cannot delete {p}: {why}" for p, why in retention.errors]
    return lines


def recording_path(settings: AuditSettings, audit_path: Path) -> Path:
    """Default MCAP file of a session: ``recordings/<session id>.mcap`` beside the audit folder.

    The recording takes the audit session's name, so the two pair up.

    Raises:
        OSError: the folder cannot be created.
    """
    folder = audit_directory(settings).parent / "recordings"
    folder.mkdir(mode=0o750, parents=True, exist_ok=True)
    return folder / (audit_path.stem + ".mcap")
