"""Configuration of the OpenIGTLink server: bind address, peer allow-list, limits, time-outs."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from robot.igtl.limits import BodyLimits

__all__ = ["PeerNetwork", "ServerConfig", "parse_endpoint"]

PeerNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_endpoint(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) as a (host, port) pair.

    Raises:
        ValueError: not of that form, or the port outside 1..65535.
    """
    host, sep, port_text = text.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port_text.isdigit():
        raise ValueError(f"{text!r} is not HOST:PORT")
    port = int(port_text)
    if not 0 < port <= 0xFFFF:  # noqa: PLR2004 - TCP port range
        raise ValueError(f"{text!r}: port {port} is outside 1..65535")
    return host, port


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    """How the server listens and guards its connections.

    Attributes:
        host: IP literal to bind; loopback by default. Any other address needs ``allowed_peers``.
        port: TCP port; 0 picks a free one (see ``IgtlServer.port``).
        allowed_peers: networks peers must come from; empty = any peer of a loopback bind.
        limits: BODY_SIZE limits per type.
        max_connections: connections served at once; more are refused and logged.
        frame_timeout_s: longest silence allowed inside a started frame (a pause, not a total,
            so large IMAGEs on slow links pass while a stalled sender is cut).
        send_timeout_s: time a peer may take no bytes while we have some queued for it.
        max_pending_frames: frames queued for one peer before it is disconnected.
        max_pending_bytes: bytes queued for one peer before it is disconnected.
        tcp_user_timeout_s: TCP_USER_TIMEOUT (unacknowledged data) where the OS has it.
        keepalive_idle_s: idle time before the first TCP keep-alive probe.
        keepalive_interval_s: time between keep-alive probes.
        keepalive_count: unanswered probes before the kernel reports the peer gone.
        header_version: the lowest header version we send; each connection answers in the
            highest version its peer has sent, at least this (1: a v1 peer gets v1).
        connect_to: consoles' OpenIGTLink servers the robot connects out to (host, port), as
            the 2021 ProstateBRP module expects; each such connection is served exactly as an
            accepted one and is re-established after a loss.
        reconnect_min_s: wait before the first new attempt after a loss or a failed attempt.
        reconnect_max_s: the longest wait between attempts (the wait doubles up to it).
    """

    host: str = "127.0.0.1"
    port: int = 18944
    allowed_peers: tuple[PeerNetwork, ...] = field(default=())
    limits: BodyLimits = field(default_factory=BodyLimits)
    max_connections: int = 64
    frame_timeout_s: float = 5.0
    send_timeout_s: float = 2.0
    max_pending_frames: int = 4096
    max_pending_bytes: int = 256 << 20
    tcp_user_timeout_s: float = 2.0
    keepalive_idle_s: int = 1
    keepalive_interval_s: int = 1
    keepalive_count: int = 2
    header_version: int = 1
    connect_to: tuple[tuple[str, int], ...] = ()
    reconnect_min_s: float = 0.1
    reconnect_max_s: float = 5.0

    def __post_init__(self) -> None:
        try:
            address = ipaddress.ip_address(self.host)
        except ValueError as err:
            raise ValueError(f"ServerConfig.host {self.host!r} must be an IP literal") from err
        for network in self.allowed_peers:
            if not isinstance(network, ipaddress.IPv4Network | ipaddress.IPv6Network):
                raise TypeError(f"ServerConfig.allowed_peers holds {network!r}, not a network")
        if not address.is_loopback and not self.allowed_peers:
            raise ValueError(
                f"binding {self.host} exposes the robot beyond this machine: give "
                "ServerConfig.allowed_peers (e.g. ipaddress.ip_network('10.0.0.0/24'))"
            )
        if not 0 <= self.port <= 0xFFFF:  # noqa: PLR2004 - TCP port range
            raise ValueError(f"ServerConfig.port {self.port} is outside 0..65535")
        if self.header_version not in (1, 2):
            raise ValueError(f"ServerConfig.header_version {self.header_version} is not 1 or 2")
        positive = {
            "max_connections": self.max_connections,
            "frame_timeout_s": self.frame_timeout_s,
            "send_timeout_s": self.send_timeout_s,
            "max_pending_frames": self.max_pending_frames,
            "max_pending_bytes": self.max_pending_bytes,
            "tcp_user_timeout_s": self.tcp_user_timeout_s,
            "keepalive_idle_s": self.keepalive_idle_s,
            "keepalive_interval_s": self.keepalive_interval_s,
            "keepalive_count": self.keepalive_count,
            "reconnect_min_s": self.reconnect_min_s,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"ServerConfig.{name} = {value} must be > 0")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError(
                f"ServerConfig.reconnect_max_s = {self.reconnect_max_s} is below "
                f"reconnect_min_s = {self.reconnect_min_s}"
            )
        for host, port in self.connect_to:
            if not host or not 0 < port <= 0xFFFF:  # noqa: PLR2004 - TCP port range
                raise ValueError(f"ServerConfig.connect_to holds {host!r}:{port}, not HOST:PORT")

    def peer_allowed(self, peer_host: str) -> bool:
        """Whether a peer address may connect (always true without an allow-list)."""
        if not self.allowed_peers:
            return True
        address = ipaddress.ip_address(peer_host.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.allowed_peers)
