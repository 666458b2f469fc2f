from __future__ import annotations

from firmware_interfaces import CRC_CHECK_VALUE, MAX_WIRE_BYTES, MessageType
from firmware_interfaces.header import HEADER_PATH, generate_header, header_is_current


def test_committed_header_equals_the_generator_output():
    assert HEADER_PATH.read_text(encoding="utf-8") == generate_header(), (
        "firmware_interfaces/c/mrbot_protocol.h is stale: run `mrbot protocol header --write`"
    )
    assert header_is_current()


def test_a_drifted_header_is_detected(tmp_path):
    drifted = tmp_path / "mrbot_protocol.h"
    drifted.write_text(generate_header().replace("MRBOT_MAX_AXES 8u", "MRBOT_MAX_AXES 9u"))
    assert not header_is_current(drifted)


def test_header_declares_every_message_type_with_its_id_and_a_validator():
    header = generate_header()
    for message_type in MessageType:
        assert f"MRBOT_MSG_{message_type.name} = {int(message_type):#04x}," in header
        assert f"mrbot_validate_{message_type.name.lower()}(" in header


def test_header_carries_the_crc_check_value_and_sizes():
    header = generate_header()
    assert f"#define MRBOT_CRC_CHECK_VALUE {CRC_CHECK_VALUE:#010x}u" in header
    assert f"#define MRBOT_MAX_WIRE_BYTES {MAX_WIRE_BYTES}u" in header
    assert "#pragma pack(push, 1)" in header


def test_header_generation_is_deterministic():
    assert generate_header() == generate_header()
