"""``mrbot demo`` argument handling (the run itself is in tests/integration/test_demo.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from robot.bench import AREAS
from robot.cli.main import SUBCOMMANDS, build_parser, main


def test_demo_is_an_mrbot_subcommand_with_defaults_that_need_no_arguments():
    assert "demo" in SUBCOMMANDS
    args = build_parser().parse_args(["demo"])
    assert args.seed == 0
    assert args.speed == 10.0
    assert args.realtime is False
    assert args.fault is None
    assert args.out == Path("mrbot-demo-out")


def test_an_unknown_fault_is_refused_naming_the_known_ones(capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["demo", "--fault", "meltdown"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "unknown fault 'meltdown'" in err
    assert "hardware-failure-mid-move" in err


def test_a_fault_with_timing_and_options_is_accepted_as_written():
    args = build_parser().parse_args(["demo", "--fault", "pressure-loss@2.5:axis=1"])
    assert args.fault == "pressure-loss@2.5:axis=1"


def test_realtime_and_a_speed_factor_cannot_be_combined(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--realtime", "--speed", "3"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_speed_factor_out_of_range_exits_2_before_anything_starts(tmp_path, capsys):
    assert main(["demo", "--speed", "100", "--out", str(tmp_path / "out")]) == 2
    assert "speed factor must be in [1, 50], got 100.0" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_demo_benchmark_is_registered_as_an_area():
    assert AREAS["demo"] == "robot.bench.demo"
