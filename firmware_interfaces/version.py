"""Protocol version agreement of the handshake (HELLO/IDENT)."""

from __future__ import annotations

from firmware_interfaces.errors import ProtocolVersionError

__all__ = ["check_version"]


def check_version(host: tuple[int, int], firmware: tuple[int, int]) -> tuple[int, int]:
    """Agree on a protocol version: the majors must be equal, the lower minor wins.

    Args:
        host: the host's ``(major, minor)``.
        firmware: the firmware's ``(major, minor)`` from IDENT.

    Returns:
        The agreed ``(major, minor)``.

    Raises:
        ProtocolVersionError: the majors differ (the message names both versions).
        ValueError: a version is not a pair of non-negative ints.
    """
    for name, version in (("host", host), ("firmware", firmware)):
        parts: tuple[object, ...] = tuple(version)
        if len(parts) != 2 or not all(type(p) is int and p >= 0 for p in parts):  # noqa: PLR2004
            raise ValueError(f"{name} version {version!r} is not (major, minor) of ints >= 0")
    if host[0] != firmware[0]:
        raise ProtocolVersionError(host=(host[0], host[1]), firmware=(firmware[0], firmware[1]))
    return host[0], min(host[1], firmware[1])
