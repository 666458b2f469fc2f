"""Golden vectors of OPENIGTLINK.md section 3, decoded and re-encoded byte-exact."""

from __future__ import annotations

import numpy as np
import pytest

from robot.igtl import (
    IgtlCrcError,
    IgtlDecodeError,
    IgtlHeaderError,
    IgtlMessage,
    IgtlMetadataError,
    IgtlUnknownTypeError,
    ImageBody,
    QueryBody,
    RawBody,
    RtsBody,
    StatusBody,
    StringBody,
    TransformBody,
    decode_frame,
    encode,
)

GOLDEN = {
    "G1": """0001 5452414e53464f524d000000 43555252454e545f504f534954494f4e00000000 6553f1007fffffff
    0000000000000030 b5a225f8f462b3d7 3f800000 00000000 00000000 00000000 3f800000 00000000
    00000000 00000000 3f800000 00000000 00000000 00000000""",
    "G2": """0001 535441545553000000000000 43555252454e545f535441545553000000000000 6553f1007fffffff
    000000000000001f aefffcdddad5322b 0001 0000000000000000
    53544152545f5550000000000000000000000000 00""",
    "G3": """0001 535452494e47000000000000 434d445f30303031000000000000000000000000 6553f1007fffffff
    000000000000000c 094ee95247c21c8e 0003 0008 53544152545f5550""",
    "G4": """0001 5452414e53464f524d000000 5447545f30303036000000000000000000000000 0000000000000000
    0000000000000030 11375c6ae7386537 00000000 3f800000 00000000 bf800000 00000000 00000000
    00000000 00000000 3f800000 41200000 41a00000 41f00000""",
    "G5": """0001 535441545553000000000000 5441524745540000000000000000000000000000 0000000000000000
    000000000000002b c63d172894187a5d 000a 0000000000000003
    4f55545f4f465f52414e47450000000000000000 6f7574206f662072616e676500""",
    "G6": """0001 494d41474500000000000000 496d616765000000000000000000000000000000 0000000000000000
    000000000000004e 80433bf09c5d795a 0001 01 03 02 01 000300020001 3f0000000000000000000000
    000000003f00000000000000 000000000000000040000000 4128000041a2000041f00000 000000000000
    000300020001 010203040506""",
    "G7": """0002 5452414e53464f524d000000 5447545f30303032000000000000000000000000 0000000000000000
    0000000000000053 91616344b89cd17a 000c 000a 0000000d 00000000 3f800000 00000000 00000000
    00000000 3f800000 00000000 00000000 00000000 3f800000 00000000 00000000 00000000 0001 000c
    0003 00000001 53545245414d5f49445f544f 31""",
}
TS_HALF = 0x6553F1007FFFFFFF  # 1700000000.5 s as the C library writes it


def golden(name: str) -> bytes:
    return bytes.fromhex("".join(GOLDEN[name].split()))


def expected_messages() -> dict[str, IgtlMessage]:
    rot_s = np.array([[0.0, -1, 0, 10], [1, 0, 0, 20], [0, 0, 1, 30], [0, 0, 0, 1]])
    image_ijk_to_ras = np.array([[0.5, 0, 0, 10], [0, 0.5, 0, 20], [0, 0, 2, 30], [0, 0, 0, 1]])
    return {
        "G1": IgtlMessage(
            device_name="CURRENT_POSITION",
            body=TransformBody(matrix_ras_mm=np.eye(4)),
            timestamp=TS_HALF,
        ),
        "G2": IgtlMessage(
            device_name="CURRENT_STATUS",
            body=StatusBody(code=1, subcode=0, error_name="START_UP", message=""),
            timestamp=TS_HALF,
        ),
        "G3": IgtlMessage(
            device_name="CMD_0001", body=StringBody(text="START_UP"), timestamp=TS_HALF
        ),
        "G4": IgtlMessage(device_name="TGT_0006", body=TransformBody(matrix_ras_mm=rot_s)),
        "G5": IgtlMessage(
            device_name="TARGET",
            body=StatusBody(code=10, subcode=3, error_name="OUT_OF_RANGE", message="out of range"),
        ),
        "G6": IgtlMessage(
            device_name="Image",
            body=ImageBody(
                voxels=np.arange(1, 7, dtype=np.uint8).reshape(1, 2, 3),
                ijk_to_ras=image_ijk_to_ras,
            ),
        ),
        "G7": IgtlMessage(
            device_name="TGT_0002",
            body=TransformBody(matrix_ras_mm=np.eye(4)),
            header_version=2,
            metadata=(("STREAM_ID_TO", "1"),),
        ),
    }


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_vector_encodes_byte_exact(name):
    assert encode(expected_messages()[name]).hex() == golden(name).hex()


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_vector_decodes_to_the_expected_message(name):
    assert decode_frame(golden(name)) == expected_messages()[name]


def test_decoded_message_keeps_the_content_bytes_as_received():
    message = decode_frame(golden("G7"))
    assert message.content == golden("G1")[58:]


def test_ack_with_g3_text_has_g3_body_and_crc():
    ack = encode(
        IgtlMessage(device_name="ACK_0001", body=StringBody(text="START_UP"), timestamp=TS_HALF)
    )
    g3 = golden("G3")
    assert ack[42:] == g3[42:]  # BODY_SIZE, CRC and body


def test_bad_crc_raises_crc_error_with_both_values():
    frame = bytearray(golden("G4"))
    frame[-1] ^= 0x01
    with pytest.raises(IgtlCrcError) as info:
        decode_frame(bytes(frame))
    assert info.value.expected_crc == 0x11375C6AE7386537
    assert info.value.actual_crc != info.value.expected_crc
    assert info.value.device_name == "TGT_0006"


def test_nonzero_crc_on_empty_body_is_a_crc_error():
    frame = encode(
        IgtlMessage(
            device_name="CURRENT_POSITION", body=QueryBody(verb="GET", data_type="TRANSFOR")
        )
    )
    assert frame[50:58] == bytes(8)
    with pytest.raises(IgtlCrcError):
        decode_frame(frame[:50] + b"\x00" * 7 + b"\x01")


def test_header_version_3_is_a_header_error():
    frame = bytearray(golden("G3"))
    frame[1] = 3
    with pytest.raises(IgtlHeaderError, match="version 3"):
        decode_frame(bytes(frame))


def test_nonprintable_type_is_a_header_error():
    frame = bytearray(golden("G3"))
    frame[2] = 0x07
    with pytest.raises(IgtlHeaderError, match="TYPE"):
        decode_frame(bytes(frame))


def test_nonprintable_device_name_is_a_decode_error_not_a_header_error():
    frame = bytearray(golden("G3"))
    frame[14] = 0xFF
    with pytest.raises(IgtlDecodeError, match="DEVICE_NAME") as info:
        decode_frame(bytes(frame))
    assert not isinstance(info.value, IgtlHeaderError)


def test_device_name_of_full_width_without_nul_is_accepted():
    name = "ABCDEFGHIJKLMNOPQRST"
    frame = encode(IgtlMessage(device_name=name, body=StringBody(text="x")))
    assert b"\0" not in frame[14:34]
    assert decode_frame(frame).device_name == name


def test_device_name_stops_at_the_first_nul_even_with_garbage_after_it():
    frame = bytearray(golden("G3"))
    frame[14 + 9 : 14 + 20] = b"garbage\xff\xfe\x01\x02"
    assert decode_frame(bytes(frame)).device_name == "CMD_0001"


def test_unknown_type_raises_unknown_type_error():
    frame = encode(IgtlMessage(device_name="x", body=RawBody(type_name="TDATA", content=b"abc")))
    with pytest.raises(IgtlUnknownTypeError, match="TDATA"):
        decode_frame(frame)


def test_transform_of_wrong_size_is_a_decode_error():
    frame = encode(IgtlMessage(device_name="x", body=RawBody(type_name="STRING", content=b"")))
    frame = frame[:2] + b"TRANSFORM\0\0\0" + frame[14:]
    with pytest.raises(IgtlDecodeError, match="48"):
        decode_frame(frame)


def test_raw_transform_body_must_be_48_bytes_to_send():
    with pytest.raises(ValueError, match="48"):
        encode(IgtlMessage(device_name="ACK_1", body=RawBody(type_name="TRANSFORM", content=b"1")))


def test_status_code_zero_is_never_sent():
    with pytest.raises(ValueError, match="code 0"):
        encode(IgtlMessage(device_name="S", body=StatusBody(code=0)))


def test_status_subcode_is_a_signed_64_bit_field():
    message = IgtlMessage(device_name="S", body=StatusBody(code=2, subcode=-(2**63)))
    frame = encode(message)
    assert frame[60:68] == bytes.fromhex("8000000000000000")
    assert decode_frame(frame).body == StatusBody(code=2, subcode=-(2**63))


def test_status_without_nul_terminator_is_a_decode_error():
    good = encode(IgtlMessage(device_name="S", body=StatusBody(code=1, message="ok")))
    body = good[58:-1]
    header = bytearray(good[:58])
    header[42:50] = len(body).to_bytes(8, "big")
    from robot.igtl_adapter import crc64

    header[50:58] = crc64(body).to_bytes(8, "big")
    with pytest.raises(IgtlDecodeError, match="NUL"):
        decode_frame(bytes(header) + body)


def test_query_types_round_trip_with_twelve_character_type():
    get = IgtlMessage(
        device_name="CURRENT_POSITION", body=QueryBody(verb="GET", data_type="TRANSFOR")
    )
    frame = encode(get)
    assert frame[2:14] == b"GET_TRANSFOR"
    assert decode_frame(frame) == get
    rts = IgtlMessage(device_name="CURRENT_POSITION", body=RtsBody(data_type="TRANSFOR", status=1))
    assert decode_frame(encode(rts)) == rts


def test_get_query_with_content_is_a_decode_error():
    frame = encode(
        IgtlMessage(device_name="x", body=QueryBody(verb="STT", data_type="TDATA", payload=b"ab"))
    )
    frame = frame[:2] + b"GET_TDATA\0\0\0" + frame[14:]
    with pytest.raises(IgtlDecodeError, match="empty"):
        decode_frame(frame)


def v2_frame(body: bytes, *, message_type: bytes = b"TRANSFORM\0\0\0") -> bytes:
    from robot.igtl_adapter import crc64

    header = (
        b"\x00\x02"
        + message_type
        + b"TGT_0002".ljust(20, b"\0")
        + bytes(8)
        + len(body).to_bytes(8, "big")
        + crc64(body).to_bytes(8, "big")
    )
    return header + body


def test_v2_without_metadata_header_is_accepted():
    content = golden("G1")[58:]
    ext = bytes.fromhex("000c 0000 00000000 00000007".replace(" ", ""))
    message = decode_frame(v2_frame(ext + content))
    assert message.metadata == ()
    assert message.message_id == 7
    assert message.body == TransformBody(matrix_ras_mm=np.eye(4))


@pytest.mark.parametrize(
    ("ext_and_meta", "match"),
    [
        ("000d 000a 0000000d 00000000", "EXT_HEADER_SIZE"),
        ("000c 0012 0000000d 00000000", "META_HEADER_SIZE|exceed"),
        ("000c 000a 0000000e 00000000", "add up|exceed|disagrees"),
        ("000c 0000 00000004 00000000", "without a metadata header|exceed"),
        ("000c ffff ffffffff 00000000", "exceed"),
    ],
)
def test_v2_garbage_sizes_are_metadata_errors(ext_and_meta, match):
    content = golden("G1")[58:]
    meta = bytes.fromhex("0001 000c 0003 00000001".replace(" ", "")) + b"STREAM_ID_TO1"
    body = bytes.fromhex(ext_and_meta.replace(" ", "")) + content + meta
    with pytest.raises(IgtlMetadataError, match=match):
        decode_frame(v2_frame(body))


def test_v2_metadata_with_unknown_encoding_is_a_metadata_error():
    content = golden("G1")[58:]
    ext = bytes.fromhex("000c000a0000000d00000000")
    meta = bytes.fromhex("0001000c0099" + "00000001") + b"STREAM_ID_TO1"
    with pytest.raises(IgtlMetadataError, match="MIBenum 153"):
        decode_frame(v2_frame(ext + content + meta))


def test_v2_metadata_with_repeated_key_is_a_metadata_error():
    content = golden("G1")[58:]
    ext = bytes.fromhex("000c001200000004 00000000".replace(" ", ""))
    meta = bytes.fromhex("0002 0001 0003 00000001 0001 0003 00000001".replace(" ", "")) + b"k1k2"
    with pytest.raises(IgtlMetadataError, match="repeated"):
        decode_frame(v2_frame(ext + content + meta))


def test_v1_message_refuses_metadata():
    with pytest.raises(ValueError, match="version 2"):
        IgtlMessage(device_name="x", body=StringBody(text=""), metadata=(("k", "v"),))


def test_too_long_device_name_raises_instead_of_truncating():
    with pytest.raises(ValueError, match="21 B, at most 20"):
        IgtlMessage(device_name="A" * 21, body=StringBody(text=""))


def test_lps_image_is_converted_to_ras_on_receive():
    frame = bytearray(golden("G6"))
    frame[58 + 5] = 2  # O = LPS
    from robot.igtl_adapter import crc64

    frame[50:58] = crc64(bytes(frame[58:])).to_bytes(8, "big")
    body = decode_frame(bytes(frame)).body
    assert isinstance(body, ImageBody)
    np.testing.assert_array_equal(body.ijk_to_ras[:3, 3], [-10.0, -20.0, 30.0])
    np.testing.assert_array_equal(body.ijk_to_ras[0, 0], -0.5)


@pytest.mark.parametrize(
    ("ext_and_meta", "tail", "match"),
    [
        ("000c 0001 00000000 00000000", "", "cannot hold its 2 B INDEX_COUNT"),
        ("000c 0001 00000000 00000000", "00", "cannot hold its 2 B INDEX_COUNT"),
        ("000c 0002 ffffffff 00000000", "", "exceed"),
        ("000c 0003 00000000 00000000", "0000 00", "disagrees with INDEX_COUNT"),
        ("000c 000a 00000003 00000000", "0001 0001 0003 00000001 6b76", "add up|disagrees"),
        ("000c 000a 00000002 00000000", "0001 0001 0003 ffffffff 6b76", "add up to"),
        ("000c 000a 00000002 00000000", "0005 0001 0003 00000001 6b76", "disagrees"),
        ("000c 000a 00000002 00000000", "0001 ffff 0003 00000001 6b76", "add up to"),
    ],
)
def test_v2_size_fields_inconsistent_with_the_body_are_metadata_errors(ext_and_meta, tail, match):
    content = golden("G1")[58:]
    body = bytes.fromhex((ext_and_meta + tail).replace(" ", ""))
    body = body[:12] + content + body[12:]
    with pytest.raises(IgtlMetadataError, match=match):
        decode_frame(v2_frame(body))


def test_v2_body_shorter_than_the_extended_header_is_a_metadata_error():
    with pytest.raises(IgtlMetadataError, match="shorter than the 12 B"):
        decode_frame(v2_frame(bytes.fromhex("000c0001")))
