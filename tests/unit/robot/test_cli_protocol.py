from __future__ import annotations

import pytest

from firmware_interfaces import (
    HEADER_PATH,
    EStop,
    Heartbeat,
    encode_frame,
    generate_header,
    generate_protocol_md,
    sample_messages,
)
from firmware_interfaces.selftest import Check, SelftestReport
from robot.cli.main import main


def test_selftest_passes_and_prints_a_report(capsys):
    assert main(["protocol", "selftest"]) == 0
    out = capsys.readouterr().out
    assert "selftest passed" in out
    assert "TELEMETRY survives" in out
    assert "oversize" in out
    assert "bad_payload" in out


def test_selftest_passes_for_other_seeds(capsys):
    for seed in (1, 2, 3):
        assert main(["protocol", "selftest", "--seed", str(seed)]) == 0
    capsys.readouterr()


def test_selftest_exits_non_zero_on_any_mismatch(capsys, monkeypatch):
    failing = SelftestReport(
        checks=(Check(name="broken", expected="a", actual="b", passed=False),),
        frames_sent=0,
        damaged_sent=0,
        stream_bytes=0,
    )
    monkeypatch.setattr("robot.cli.protocol.run_selftest", lambda *, seed: failing)
    assert main(["protocol", "selftest"]) == 1
    captured = capsys.readouterr()
    assert "selftest FAILED: broken" in captured.err


def test_decode_prints_the_frame_with_units(capsys):
    wire = encode_frame(sample_messages()[next(iter(sample_messages()))], 77)
    assert main(["protocol", "decode", wire.hex(" ")]) == 0
    out = capsys.readouterr().out
    assert "HELLO (type 0x01) seq 77" in out
    assert "nonce = 3735928559" in out


def test_decode_prints_telemetry_axes_with_units_and_flags(capsys):
    from firmware_interfaces import MessageType

    wire = encode_frame(sample_messages()[MessageType.TELEMETRY], 3)
    assert main(["protocol", "decode", wire.hex()]) == 0
    out = capsys.readouterr().out
    assert "axes[3]:" in out
    assert "commanded_um = -27500 um" in out
    assert "status = ENABLED|HOMED|MOVING (0x0007)" in out
    assert "firmware_state = MOVING (3)" in out


def test_decode_accepts_colons_a_0x_prefix_and_no_delimiter(capsys):
    wire = encode_frame(Heartbeat(counter=5), 1)[:-1]
    assert main(["protocol", "decode", "0x" + wire.hex(":")]) == 0
    assert "counter = 5" in capsys.readouterr().out


def test_decode_prints_every_frame_of_a_stream(capsys):
    stream = encode_frame(EStop(), 1) + encode_frame(Heartbeat(counter=9), 2)
    assert main(["protocol", "decode", stream.hex()]) == 0
    out = capsys.readouterr().out
    assert "ESTOP" in out
    assert "HEARTBEAT" in out


def test_decode_of_a_corrupted_frame_is_a_clear_error_with_exit_code_2(capsys):
    wire = bytearray(encode_frame(Heartbeat(counter=0x01020304), 1))
    wire[-2] ^= 0x01
    assert main(["protocol", "decode", bytes(wire).hex()]) == 2
    err = capsys.readouterr().err
    assert "bad frame (crc)" in err
    assert "received CRC" in err


def test_decode_of_non_hex_is_a_clear_error_with_exit_code_2(capsys):
    assert main(["protocol", "decode", "xyz"]) == 2
    assert "not hex" in capsys.readouterr().err


def test_decode_of_nothing_but_delimiters_is_an_error(capsys):
    assert main(["protocol", "decode", "00 00"]) == 2
    assert "no frame" in capsys.readouterr().err


def test_header_prints_the_generated_header(capsys):
    assert main(["protocol", "header"]) == 0
    assert capsys.readouterr().out == generate_header()


def test_header_check_passes_on_the_committed_header(capsys):
    assert main(["protocol", "header", "--check"]) == 0
    assert str(HEADER_PATH) in capsys.readouterr().out


def test_header_check_exits_1_when_the_header_drifted(tmp_path, capsys):
    path = tmp_path / "mrbot_protocol.h"
    path.write_text(generate_header() + "/* edited */\n")
    assert main(["protocol", "header", "--check", "--path", str(path)]) == 1
    assert "drifted" in capsys.readouterr().err


def test_header_check_exits_1_when_the_header_is_missing(tmp_path, capsys):
    assert main(["protocol", "header", "--check", "--path", str(tmp_path / "none.h")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_header_write_writes_the_generated_header(tmp_path, capsys):
    path = tmp_path / "mrbot_protocol.h"
    assert main(["protocol", "header", "--write", "--path", str(path)]) == 0
    assert path.read_text() == generate_header()
    assert main(["protocol", "header", "--check", "--path", str(path)]) == 0
    capsys.readouterr()


def test_docs_check_and_write(tmp_path, capsys):
    assert main(["protocol", "docs", "--check"]) == 0
    path = tmp_path / "PROTOCOL.md"
    assert main(["protocol", "docs", "--write", "--path", str(path)]) == 0
    assert path.read_text() == generate_protocol_md()
    capsys.readouterr()


def test_check_and_write_cannot_be_combined(capsys):
    with pytest.raises(SystemExit) as info:
        main(["protocol", "header", "--check", "--write"])
    assert info.value.code == 2
    capsys.readouterr()


def test_protocol_bench_reports_throughput_against_both_baselines(capsys):
    import json

    assert main(["bench", "protocol", "--quick", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    figures = {r["figure"]: r for r in results}
    main_figure = figures["TELEMETRY (4 axes) encode + streaming decode"]
    assert main_figure["unit"] == "frames/s"
    assert main_figure["value"] > 0
    assert main_figure["baseline_name"] == "naive per-field struct codec, same run"
    assert main_figure["target"] == ">= 50,000 frames/s"
    link = figures["same, against a 1 Mbaud 8N1 serial line"]
    assert link["baseline"] == pytest.approx(1_000_000 / 10 / 94)
    assert all(r["area"] == "protocol" for r in results)
