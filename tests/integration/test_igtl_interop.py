"""Interop with the reference C++ library (Debian libopenigtlink-dev 1.11) as the peer.

The client in ``tests/interop/igtl_ack_client.cxx`` is compiled on demand in a temporary
directory. It checks the CRC of everything we send with the library's own ``Unpack(1)``.
"""

from __future__ import annotations

import queue
import shutil
import subprocess
from pathlib import Path

import pytest

from robot.igtl import (
    AckHandler,
    Authority,
    CommandReceived,
    IgtlEvent,
    IgtlMessage,
    IgtlServer,
    PoseReceived,
    ServerConfig,
    StatusBody,
)

pytestmark = pytest.mark.slow  # compiles a C++ program (~1 s)

INCLUDE_DIR = Path("/usr/include/openigtlink")
SOURCE = Path(__file__).resolve().parents[1] / "interop" / "igtl_ack_client.cxx"


@pytest.fixture(scope="module")
def cxx_client(tmp_path_factory) -> Path:
    if not (INCLUDE_DIR / "igtlMessageBase.h").exists():
        pytest.skip(
            "libopenigtlink-dev headers absent (/usr/include/openigtlink); .ci/run installs it"
        )
    compiler = shutil.which("g++")
    assert compiler is not None, "g++ is missing although the library headers are installed"
    binary = Path(tmp_path_factory.mktemp("interop")) / "igtl_ack_client"
    result = subprocess.run(
        [compiler, "-O1", f"-I{INCLUDE_DIR}", str(SOURCE), "-o", str(binary), "-lOpenIGTLink"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"compiling the C++ client failed:\n{result.stderr}"
    return binary


def test_reference_client_gets_ack_bit_exact_echo_and_decodes_our_status(cxx_client):
    events: queue.Queue[IgtlEvent] = queue.Queue()
    with IgtlServer(ServerConfig(port=0), AckHandler(events, authority=Authority())) as server:
        proc = subprocess.Popen(
            [str(cxx_client), "127.0.0.1", str(server.port), "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            received: list[CommandReceived | PoseReceived] = []
            while len(received) < 2:
                event = events.get(timeout=10.0)
                if isinstance(event, CommandReceived | PoseReceived):
                    received.append(event)
            conn = received[0].conn
            conn.send(
                IgtlMessage(
                    device_name="CURRENT_STATUS",
                    body=StatusBody(code=1, subcode=0, error_name="START_UP", message=""),
                )
            )
            conn.send(
                IgtlMessage(
                    device_name="TARGET",
                    body=StatusBody(
                        code=10,
                        subcode=-(2**40),
                        error_name="OUT_OF_RANGE",
                        message="joint 2 exceeds its limit by 4.5 mm",
                    ),
                )
            )
            stdout, stderr = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, stderr
    assert stdout.splitlines() == [
        "ACK_STRING ACK_0001 3 START_UP",
        "ACK_TRANSFORM ACK_0002 bitexact=1",
        "STATUS CURRENT_STATUS 1 0 START_UP ||",
        "STATUS TARGET 10 -1099511627776 OUT_OF_RANGE |joint 2 exceeds its limit by 4.5 mm|",
    ]
