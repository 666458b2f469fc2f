"""Fixtures shared by the OpenIGTLink integration tests: an ACK-only server and its event queue.

A test module that needs another server defines its own ``server`` fixture, which overrides this.
"""

from __future__ import annotations

import queue
from typing import TYPE_CHECKING

import pytest

from robot.igtl import AckHandler, Authority, IgtlEvent, IgtlServer, ServerConfig

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def events() -> queue.Queue[IgtlEvent]:
    """What the server's handler posts (ACKed commands, poses, connects)."""
    return queue.Queue()


@pytest.fixture
def server(events: queue.Queue[IgtlEvent]) -> Iterator[IgtlServer]:
    """A started server on a free loopback port that ACKs (authority free); closed after."""
    server = IgtlServer(ServerConfig(port=0), AckHandler(events, authority=Authority()))
    server.start()
    yield server
    server.close()
