"""Header-v2 size fields fuzzed one by one and together: the codec raises only decode errors, and
a real server drops such a frame, counts it and keeps the connection (a controlling Slicer speaks
header v2; losing its connection mid-move causes a protective stop)."""

from __future__ import annotations

import queue
import struct
from dataclasses import dataclass

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from robot import igtl_adapter
from robot.igtl import (
    AckHandler,
    Authority,
    IgtlClient,
    IgtlDecodeError,
    IgtlMessage,
    IgtlServer,
    ServerConfig,
    StatusBody,
    StringBody,
    decode_frame,
)
from tests.support.polling import wait_for

_CONTENTS = {
    "STRING": igtl_adapter.pack_string("START_UP"),
    "TRANSFORM": igtl_adapter.pack_transform(np.eye(4)),
    "STATUS": igtl_adapter.pack_status(igtl_adapter.StatusFields(1, 0, "OK", "")),
}
U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFF_FFFF)


@dataclass(frozen=True)
class V2Case:
    message_type: str
    body: bytes

    def frame(self, name: bytes = b"CMD_0001") -> bytes:
        crc = igtl_adapter.crc64(self.body) if self.body else 0
        header = struct.pack(
            ">H12s20sQQQ", 2, self.message_type.encode(), name, 0, len(self.body), crc
        )
        return header + self.body


#: The frame that once closed the connection: META_HEADER_SIZE 1 cannot hold INDEX_COUNT.
META_HEADER_SIZE_ONE = V2Case(
    message_type="STRING",
    body=struct.pack(">HHII", 12, 1, 0, 0) + _CONTENTS["STRING"],
)


def _either(draw: st.DrawFn, correct: int, wrong: st.SearchStrategy[int]) -> int:
    return draw(st.one_of(st.just(correct), wrong))


@st.composite
def v2_cases(draw: st.DrawFn) -> V2Case:
    """A v2 body whose size fields are each either right or fuzzed (small values favoured)."""
    message_type = draw(st.sampled_from(sorted(_CONTENTS)))
    content = _CONTENTS[message_type]
    pairs = draw(
        st.lists(
            st.tuples(st.binary(min_size=0, max_size=6), st.binary(min_size=0, max_size=6)),
            max_size=3,
        )
    )
    small = st.one_of(st.sampled_from([0, 1, 2, 3, 10, 11, 12, 13]), st.integers(0, 24))
    index = bytearray()
    data = bytearray()
    index_count = _either(draw, len(pairs), st.one_of(small, U16))
    for key, value in pairs:
        key_size = _either(draw, len(key), st.one_of(small, U16))
        encoding = draw(st.sampled_from([3, 106, 0, 1, 0xFFFF]))
        value_size = _either(draw, len(value), st.one_of(small, U32))
        index += struct.pack(">HHI", key_size, encoding, value_size)
        data += key + value
    meta_header = struct.pack(">H", index_count) + bytes(index)
    use_header = draw(st.booleans()) or bool(pairs)
    if not use_header:
        meta_header = b""
    ext_size = _either(draw, 12, st.one_of(small, U16))
    meta_header_size = _either(draw, len(meta_header), st.one_of(small, U16))
    meta_size = _either(draw, len(data), st.one_of(small, U32))
    ext = struct.pack(">HHII", ext_size, meta_header_size, meta_size, draw(U32))
    body = ext + content + meta_header + bytes(data)
    cut = draw(st.integers(-8, 8))  # body size against the declared sizes
    if cut < 0:
        body = body[: max(0, len(body) + cut)]
    elif cut > 0:
        body += bytes(cut)
    return V2Case(message_type=message_type, body=body)


@settings(derandomize=True, max_examples=400, deadline=None)
@given(case=v2_cases())
@example(case=META_HEADER_SIZE_ONE)
def test_fuzzed_v2_size_fields_raise_only_decode_errors(case):
    result: IgtlMessage | IgtlDecodeError
    try:
        result = decode_frame(case.frame())
    except IgtlDecodeError as err:
        result = err
    if isinstance(result, IgtlDecodeError):
        assert result.reason  # a clear reason, never an empty one
    else:
        assert (result.header_version, result.message_type) == (2, case.message_type)


def _read_until_ack(client: IgtlClient, name: str) -> list[IgtlMessage]:
    seen: list[IgtlMessage] = []
    while True:
        message = client.receive(timeout_s=2.0)
        seen.append(message)
        if message.device_name == name and isinstance(message.body, StringBody):
            return seen


def test_fuzzed_v2_frames_never_close_the_connection_of_a_real_server():
    events: queue.Queue[object] = queue.Queue()
    server = IgtlServer(ServerConfig(port=0), AckHandler(events, authority=Authority()))  # type: ignore[arg-type]
    server.start()
    client = IgtlClient("127.0.0.1", server.port)
    counter = iter(range(1000, 10**6))  # never the fuzzed frame's CMD_0001
    try:
        client.open()
        wait_for(lambda: server.stats().open == 1, timeout_s=2.0, what="connected")

        def dropped() -> int:
            traffic = server.stats().traffic
            return traffic.decode_errors + traffic.crc_errors + traffic.unknown_types

        @settings(derandomize=True, max_examples=300, deadline=None)
        @given(case=v2_cases())
        @example(case=META_HEADER_SIZE_ONE)
        def check(case: V2Case) -> None:
            command_id = f"{next(counter):04d}"
            dropped_before = dropped()
            client.send_bytes(case.frame())
            client.send(
                IgtlMessage(device_name=f"CMD_{command_id}", body=StringBody(text="PLANNING"))
            )
            seen = _read_until_ack(client, f"ACK_{command_id}")
            refusals = [m for m in seen if isinstance(m.body, StatusBody)]
            # never silent: each dropped frame is answered once, on the name of its request
            assert len(refusals) == dropped() - dropped_before
            assert all(m.device_name == "ACK_0001" for m in refusals)
            assert server.stats().open == 1
            (conn,) = server.connections()
            assert conn.is_open

        check()
        stats = server.stats()
        assert stats.closed == 0
        assert stats.traffic.decode_errors > 0
    finally:
        client.close()
        server.close()
