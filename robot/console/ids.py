"""Unique BRP command ids: a per-client tag and a counter, at most 16 characters, never reused."""

from __future__ import annotations

import secrets
import threading
from typing import Final

from robot.igtl import MAX_COMMAND_ID_LENGTH

__all__ = ["CommandIds"]

_TAG_LENGTH: Final = 6


class CommandIds:
    """Hands out ``<tag><counter>`` ids (``A1B2C30001``); thread-safe.

    Args:
        tag: six printable ASCII characters naming this client; random hex when None, so two
            consoles (or one console reconnecting) do not repeat each other's ids.
    """

    def __init__(self, tag: str | None = None) -> None:
        tag = secrets.token_hex(_TAG_LENGTH // 2).upper() if tag is None else tag
        if len(tag) != _TAG_LENGTH or not (tag.isascii() and tag.isalnum()):
            raise ValueError(f"id tag {tag!r} must be {_TAG_LENGTH} ASCII letters or digits")
        self._tag = tag
        self._lock = threading.Lock()  # guards _count
        self._count = 0

    def next(self) -> str:
        """A new id, never returned before by this object.

        Raises:
            OverflowError: the counter no longer fits 16 characters (10**10 ids).
        """
        with self._lock:
            self._count += 1
            command_id = f"{self._tag}{self._count:04d}"
        if len(command_id) > MAX_COMMAND_ID_LENGTH:
            raise OverflowError(f"command id {command_id!r} exceeds {MAX_COMMAND_ID_LENGTH} chars")
        return command_id
