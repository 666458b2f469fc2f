"""The codec adapter against the CRC check value, pyigtl as a reference peer, and fuzzing."""

from __future__ import annotations

import contextlib
import struct

import numpy as np
import pyigtl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from robot import igtl_adapter as adapter
from robot.igtl import (
    IgtlDecodeError,
    IgtlHeaderError,
    IgtlMessage,
    ImageBody,
    StatusBody,
    StringBody,
    TransformBody,
    decode_frame,
    encode,
    timestamp_from_s,
    timestamp_to_s,
)


def test_crc64_of_the_ascii_check_string_is_the_ecma182_check_value():
    assert adapter.crc64(b"123456789") == 0x6C40DF5F0B497347


def test_crc64_accepts_memoryviews_and_matches_a_bitwise_reference():
    data = bytes(range(256)) * 3
    crc = 0
    for byte in data:
        crc ^= byte << 56
        for _ in range(8):
            crc = ((crc << 1) ^ 0x42F0E1EBA9EA3693) if crc >> 63 else crc << 1
            crc &= (1 << 64) - 1
    assert adapter.crc64(memoryview(data)) == crc


def test_crc64_runs_with_the_c_extension_here():
    assert adapter.crc64_is_accelerated()


def test_frames_packed_by_pyigtl_decode_to_the_same_values():
    matrix = np.array([[0.0, -1, 0, 1.5], [1, 0, 0, -2.25], [0, 0, 1, 300], [0, 0, 0, 1]])
    frame = pyigtl.TransformMessage(matrix=matrix, device_name="TGT_7", timestamp=0).pack()
    message = decode_frame(frame)
    assert message.body == TransformBody(matrix_ras_mm=matrix)
    text = pyigtl.StringMessage(string="MOVE_TO_TARGET", device_name="CMD_9", timestamp=0).pack()
    assert decode_frame(text).body == StringBody(text="MOVE_TO_TARGET")


def test_frames_we_encode_unpack_in_pyigtl():
    matrix = np.array([[1.0, 0, 0, 4], [0, 0, -1, 5], [0, 1, 0, 6], [0, 0, 0, 1]])
    frame = encode(IgtlMessage(device_name="ACK_0001", body=TransformBody(matrix_ras_mm=matrix)))
    fields = pyigtl.MessageBase.parse_header(frame[:58])
    parsed = pyigtl.TransformMessage()
    parsed.unpack(fields, frame[58:])
    np.testing.assert_array_equal(parsed.matrix, matrix)
    assert fields["device_name"] == "ACK_0001"


def test_pyigtl_v2_frame_with_metadata_decodes_with_its_metadata():
    message = pyigtl.StringMessage(string="x", device_name="CMD_1", timestamp=0)
    message.header_version = 2
    message.metadata = {"STREAM_ID_TO": "7", "b": "c"}
    decoded = decode_frame(message.pack())
    assert decoded.metadata == (("STREAM_ID_TO", "7"), ("b", "c"))
    assert decoded.body == StringBody(text="x")


def test_string_length_that_disagrees_with_the_content_is_refused():
    # pyigtl would cut or accept this silently
    with pytest.raises(ValueError, match="LENGTH 9 B disagrees with 8 B"):
        adapter.unpack_string(struct.pack(">HH", 3, 9) + b"START_UP")


def test_string_with_utf8_encoding_is_accepted_and_unknown_encoding_refused():
    assert adapter.unpack_string(struct.pack(">HH", 106, 2) + "é".encode()) == ("é", 106)
    with pytest.raises(ValueError, match="encoding 4 is not read as text"):
        adapter.unpack_string(struct.pack(">HH", 4, 1) + b"x")


def test_string_with_vtk_ascii_encoding_1_is_read_as_ascii():
    # Slicer's OpenIGTLinkIF sends a text node's STRING with VTK_ENCODING_US_ASCII (1)
    assert adapter.unpack_string(struct.pack(">HH", 1, 8) + b"START_UP") == ("START_UP", 1)


@pytest.mark.parametrize("encoding", [1, 3])
def test_ascii_string_with_a_non_ascii_byte_is_refused_naming_the_byte(encoding):
    reason = rf"not valid ascii \(encoding {encoding}\): byte 0xe9 at 1"
    with pytest.raises(ValueError, match=reason):
        adapter.unpack_string(struct.pack(">HH", encoding, 2) + b"a\xe9")


def test_utf8_string_with_invalid_bytes_is_refused():
    with pytest.raises(ValueError, match="not valid utf-8"):
        adapter.unpack_string(struct.pack(">HH", 106, 1) + b"\xff")


def test_non_ascii_string_is_refused_on_send():
    with pytest.raises(ValueError, match="US-ASCII"):
        adapter.pack_string("Grüße")


def test_status_layout_is_code_subcode_name_message_nul():
    content = adapter.pack_status(adapter.StatusFields(13, 8, "NOT_READY", "homing failed"))
    assert content[:2] == b"\x00\x0d"
    assert content[2:10] == (8).to_bytes(8, "big")
    assert content[10:30] == b"NOT_READY".ljust(20, b"\0")
    assert content[30:] == b"homing failed\0"
    assert adapter.unpack_status(content) == (13, 8, "NOT_READY", "homing failed")


def test_status_error_name_longer_than_20_bytes_is_refused():
    with pytest.raises(ValueError, match="at most 20"):
        adapter.pack_status(adapter.StatusFields(1, 0, "X" * 21, ""))


def test_image_with_components_and_big_endian_voxels_round_trips():
    voxels = np.arange(2 * 3 * 4 * 2, dtype=">i2").reshape(2, 3, 4, 2)
    ijk_to_ras = np.array([[0, 0, 1.5, -3], [1.0, 0, 0, 2], [0, 2.0, 0, 7], [0, 0, 0, 1]])
    frame = encode(
        IgtlMessage(device_name="MR Image", body=ImageBody(voxels=voxels, ijk_to_ras=ijk_to_ras))
    )
    assert frame[58 + 4] == 2  # E: voxels sent little-endian
    body = decode_frame(frame).body
    assert isinstance(body, ImageBody)
    np.testing.assert_array_equal(body.voxels, voxels)
    np.testing.assert_allclose(body.ijk_to_ras, ijk_to_ras, atol=1e-5)


def test_image_whose_voxel_bytes_disagree_with_its_size_is_refused():
    content = adapter.pack_image(np.zeros((1, 2, 3), np.uint8), np.eye(4))
    with pytest.raises(ValueError, match="need 6 B"):
        adapter.unpack_image(content[:-1])


def test_image_with_undefined_coordinate_frame_is_refused():
    content = bytearray(adapter.pack_image(np.zeros((1, 2, 3), np.uint8), np.eye(4)))
    content[5] = 3
    with pytest.raises(ValueError, match="coordinate frame 3"):
        adapter.unpack_image(bytes(content))


def test_status_body_validates_ranges():
    with pytest.raises(ValueError, match=r"0\.\.65535"):
        StatusBody(code=70000)
    with pytest.raises(ValueError, match="i64"):
        StatusBody(code=1, subcode=2**63)
    with pytest.raises(ValueError, match="NUL"):
        StatusBody(code=1, message="a\0b")


def test_timestamp_half_second_uses_a_binary_fraction():
    assert timestamp_from_s(1700000000.5) == 0x6553F10080000000
    assert timestamp_to_s(0x6553F1007FFFFFFF) == pytest.approx(1700000000.5, abs=1e-9)
    with pytest.raises(ValueError, match="outside"):
        timestamp_from_s(-1.0)


@given(st.binary(min_size=0, max_size=300))
def test_random_bytes_decode_only_to_values_or_typed_errors(data):
    with contextlib.suppress(IgtlDecodeError, IgtlHeaderError):
        decode_frame(data)


@given(
    st.binary(min_size=0, max_size=120),
    st.sampled_from([b"TRANSFORM", b"STATUS", b"STRING", b"IMAGE", b"GET_STATUS", b"RTS_TDATA"]),
)
def test_random_bodies_with_valid_crc_decode_only_to_values_or_typed_errors(body, kind):
    header = (
        b"\x00\x01"
        + kind.ljust(12, b"\0")
        + b"dev".ljust(20, b"\0")
        + bytes(8)
        + len(body).to_bytes(8, "big")
        + (adapter.crc64(body) if body else 0).to_bytes(8, "big")
    )
    with contextlib.suppress(IgtlDecodeError):
        decode_frame(header + body)
