"""``mrbot bench console``: what the checked BRP client costs over a bare blocking client.

Each sample is one PLANNING exchange on loopback: ``STRING(CMD_<id>)`` sent, then
``STRING(ACK_<id>)`` and ``STATUS(CURRENT_STATUS)`` received and decoded (CRC checked). The
server is a minimal responder that answers on its reader thread, so the figure is the clients'
own cost, not the robot's control loop. Ours: :class:`robot.console.BrpClient` (reader thread,
routing, order and echo checks, a queue hand-off to the caller). Baseline: the blocking
:class:`robot.igtl.IgtlClient` reading the two replies itself, unchecked. Client and responder
share this process (and its GIL).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

import numpy as np

from robot.bench.result import BenchResult
from robot.console import BrpClient, BrpClientConfig
from robot.igtl import (
    IgtlClient,
    IgtlMessage,
    IgtlServer,
    RawBody,
    ServerConfig,
    StatusBody,
    StringBody,
    encode_content,
)
from robot.igtl.profile import PROFILES

if TYPE_CHECKING:
    from robot.igtl import Connection

__all__ = ["run"]

_AREA: Final = "console"
_WARMUP: Final = 50
_TARGET_OVERHEAD_MS: Final = 0.5


class _Responder:
    """Answers ``CMD_<id>`` with the ACK echo and ``CURRENT_STATUS`` naming the phase."""

    def on_connect(self, conn: Connection) -> None:
        """Nothing to do."""

    def on_disconnect(self, conn: Connection, reason: str) -> None:
        """Nothing to do."""

    def on_message(self, conn: Connection, message: IgtlMessage) -> None:
        """Reply at once on the reader thread."""
        body = message.body
        if not (isinstance(body, StringBody) and message.device_name.startswith("CMD_")):
            return
        content = message.content or encode_content(body)
        conn.send(
            IgtlMessage(
                device_name=f"ACK_{message.device_name[4:]}",
                body=RawBody(type_name="STRING", content=content),
            )
        )
        conn.send(
            IgtlMessage(
                device_name="CURRENT_STATUS",
                body=StatusBody(code=1, subcode=0, error_name=body.text),
            )
        )


def _ours_ms(port: int, samples: int) -> list[float]:
    out: list[float] = []
    # The responder answers PLANNING as the 2013 profile does (ACK + CURRENT_STATUS, no phase
    # STATUS), the exchange the bare client times too.
    with BrpClient(
        "127.0.0.1", port, config=BrpClientConfig(profile=PROFILES["brp-2013"])
    ) as client:
        for i in range(_WARMUP + samples):
            t0 = time.perf_counter_ns()
            client.planning()
            if i >= _WARMUP:
                out.append((time.perf_counter_ns() - t0) / 1e6)
    return out


def _bare_ms(port: int, samples: int) -> list[float]:
    out: list[float] = []
    with IgtlClient("127.0.0.1", port) as client:
        for i in range(_WARMUP + samples):
            request = IgtlMessage(device_name=f"CMD_B{i}", body=StringBody(text="PLANNING"))
            t0 = time.perf_counter_ns()
            client.send(request)
            ack = client.receive(timeout_s=1.0)
            current = client.receive(timeout_s=1.0)
            elapsed_ms = (time.perf_counter_ns() - t0) / 1e6
            if (ack.device_name, current.device_name) != (f"ACK_B{i}", "CURRENT_STATUS"):
                raise RuntimeError(f"unexpected replies {ack.device_name}, {current.device_name}")
            if i >= _WARMUP:
                out.append(elapsed_ms)
    return out


def run(*, quick: bool) -> list[BenchResult]:
    """PLANNING round trip, p50 and p99, through BrpClient and through the bare client."""
    samples = 300 if quick else 3000
    with IgtlServer(ServerConfig(port=0), _Responder()) as server:
        bare = _bare_ms(server.port, samples)
        ours = _ours_ms(server.port, samples)
    results: list[BenchResult] = []
    for q in (50.0, 99.0):
        value = float(np.percentile(ours, q))
        base = float(np.percentile(bare, q))
        overhead = value - base
        results.append(
            BenchResult(
                area=_AREA,
                figure=f"PLANNING exchange (ACK + CURRENT_STATUS) p{q:.0f}, BrpClient",
                value=value,
                unit="ms",
                target=f"<= {_TARGET_OVERHEAD_MS} ms over the bare client",
                met=overhead <= _TARGET_OVERHEAD_MS,
                baseline=base,
                baseline_name="bare IgtlClient, no checks",
                ratio=base / value if value > 0 else None,
                note=f"{samples} samples each, loopback, one process; overhead {overhead:.3f} ms",
            )
        )
    return results
