from __future__ import annotations

from pathlib import Path

from firmware_interfaces import CRC_CHECK_VALUE, MessageType, encode_frame
from firmware_interfaces.docs import PROTOCOL_MD_NAME, generate_protocol_md
from firmware_interfaces.enum_docs import ENUM_DOCS
from firmware_interfaces.samples import sample_messages

PROTOCOL_MD = Path(__file__).resolve().parents[3] / "docs" / PROTOCOL_MD_NAME


def test_committed_protocol_md_equals_the_generator_output():
    assert PROTOCOL_MD.read_text(encoding="utf-8") == generate_protocol_md(), (
        "docs/PROTOCOL.md is stale: regenerate it with "
        "`python -c 'from firmware_interfaces.docs import generate_protocol_md as g; "
        'open("docs/PROTOCOL.md", "w").write(g())\'`'
    )


def test_protocol_md_documents_the_crc_parameters():
    text = generate_protocol_md()
    for needle in ("0x04C11DB7", "| Init | 0xFFFFFFFF |", "| RefIn | true |", "| RefOut | true |"):
        assert needle in text
    assert f"0x{CRC_CHECK_VALUE:08X}" in text
    assert "| XorOut | 0xFFFFFFFF |" in text


def test_protocol_md_has_a_section_with_an_example_for_every_message():
    text = generate_protocol_md()
    for message_type, message in sample_messages().items():
        assert f"### {message_type.name} (0x{int(message_type):02X}" in text
        assert encode_frame(message, 1).hex(" ") in text


def test_protocol_md_lists_every_enum_member():
    text = generate_protocol_md()
    for enum in ENUM_DOCS:
        assert f"### {enum.__name__}" in text
        for member in enum:
            assert f"`{member.name}`" in text


def test_protocol_md_explains_micro_joint_units():
    assert "micrometres on a linear axis, microradians on a rotary axis" in generate_protocol_md()


def test_protocol_md_gives_field_offsets_of_telemetry_records():
    text = generate_protocol_md()
    assert "| +12 | `status` | u16 (AxisStatus) |" in text
    assert MessageType.TELEMETRY.name in text
