"""The product benchmark's harness on tiny runs: it measures, matches and judges (no timing)."""

from __future__ import annotations

import os
import threading

import pytest
from rich.console import Console

from robot.bench import AREAS, BenchResult
from robot.bench.deploy import Deployment, ProcessSample, sample_process
from robot.bench.product import Load, machine_line, match_estops, pyigtl_baseline, run_links
from robot.bench.soak import RSS_GROWTH_BOUND_KIB, SoakReport
from robot.bench.wire import EchoServer, ObserverPlan, frame_name, observe
from robot.cli.bench import default_areas, render_markdown, render_table
from robot.cli.main import main
from robot.igtl import IgtlMessage, StringBody, encode


def test_frame_name_reads_the_device_name_of_an_encoded_header():
    frame = encode(IgtlMessage(device_name="CMD_o1-7", body=StringBody(text="PLANNING")))
    assert frame_name(frame[:58]) == "CMD_o1-7"


def test_observers_time_every_command_against_the_echo_floor():
    server = EchoServer()
    server.start()
    try:
        plan = ObserverPlan(
            port=server.port,
            connections=3,
            interval_s=0.01,
            duration_s=0.3,
            reply_prefix="CMD_",
        )
        result = observe(plan)
    finally:
        server.close()
    assert result.errors == []
    assert result.lost == 0
    assert len(result.samples_ms) >= 3
    assert all(sample > 0 for sample in result.samples_ms)


def test_an_observer_reports_a_refused_connection_instead_of_samples():
    server = EchoServer()
    port = server.port
    server.close()
    result = observe(ObserverPlan(port=port, connections=1, interval_s=0.01, duration_s=0.1))
    assert result.samples_ms == []
    assert result.errors


def test_pyigtl_baseline_answers_an_observer_from_its_own_process():
    # pyigtl's server runs in a child process: its host-printing thread outlives close().
    result = pyigtl_baseline(0.3)
    assert result.errors == []
    assert result.samples_ms
    assert result.lost == 0


def test_each_emergency_is_matched_with_the_first_estop_after_it():
    sent = [1_000_000, 5_000_000, 9_000_000]
    stamps = [1_400_000, 1_600_000, 9_200_000]  # the second EMERGENCY has no ESTOP
    samples_ms, missing = match_estops(sent, stamps)
    assert samples_ms == pytest.approx([0.4, 0.2])
    assert missing == 1


def test_sample_process_reads_rss_threads_and_descriptors_of_a_live_process():
    before = sample_process(os.getpid())
    gate = threading.Event()
    thread = threading.Thread(target=gate.wait)
    thread.start()
    try:
        during = sample_process(os.getpid())
    finally:
        gate.set()
        thread.join()
    assert before.rss_kib > 0
    assert before.open_fds > 0
    assert during.threads == before.threads + 1


@pytest.mark.parametrize(
    ("end", "passed"),
    [
        (ProcessSample(rss_kib=100_000 + RSS_GROWTH_BOUND_KIB, threads=10, open_fds=20), True),
        (ProcessSample(rss_kib=100_001 + RSS_GROWTH_BOUND_KIB, threads=10, open_fds=20), False),
        (ProcessSample(rss_kib=100_000, threads=11, open_fds=20), False),
        (ProcessSample(rss_kib=100_000, threads=10, open_fds=21), False),
    ],
)
def test_soak_verdict_holds_the_stated_growth_bound(end: ProcessSample, passed: bool):
    start = ProcessSample(rss_kib=100_000, threads=10, open_fds=20)
    report = SoakReport(seconds=60.0, placements=3, start=start, end=end)
    assert report.passed is passed
    assert report.verdict().startswith("PASS" if passed else "FAIL")


def test_a_soak_with_a_failed_placement_fails():
    sample = ProcessSample(rss_kib=1, threads=1, open_fds=1)
    report = SoakReport(start=sample, end=sample, failures=["placement 0: 18"])
    assert not report.passed


def test_the_table_shows_kind_floor_and_a_missing_value_as_a_dash():
    console = Console(width=300, record=True)
    rows = [
        BenchResult(area="igtl", kind="product", figure="x", value=0.5, unit="ms", floor=0.1),
        BenchResult(area="igtl", kind="product", figure="y", value=float("nan"), unit="-"),
    ]
    render_table(rows, console)
    text = console.export_text()
    assert "product" in text
    assert "0.1" in text
    assert "nan" not in text.lower()
    assert machine_line().split()[0] in text


def test_the_markdown_table_has_one_row_per_figure_and_marks_a_missed_target():
    rows = [
        BenchResult(area="igtl", kind="product", figure="a", value=2.0, unit="ms", met=False),
        BenchResult(area="igtl", kind="component", figure="b", value=0.1, unit="ms", met=True),
    ]
    lines = render_markdown(rows).splitlines()
    table = [line for line in lines if line.startswith("| ") and "---" not in line]
    assert len(table) == 3  # header + 2 rows
    assert "**no**" in table[1]
    assert "component" in table[2]


def test_soak_is_an_area_but_not_run_by_default():
    assert "soak" in AREAS
    assert "soak" not in default_areas()
    assert "igtl" in default_areas()


def test_bench_cli_refuses_a_non_positive_soak_length(capsys: pytest.CaptureFixture[str]):
    assert main(["bench", "soak", "--seconds", "0"]) == 2
    assert "--seconds" in capsys.readouterr().out


def test_deployment_refuses_an_unknown_link():
    with pytest.raises(ValueError, match="link"):
        Deployment("serial")


@pytest.mark.slow
def test_a_tiny_product_run_measures_acks_stop_and_emergency_on_the_pty_link():
    rows = run_links(("pty",), Load(window_s=0.5, stop_samples=1, estop_samples=3), (1,))
    figures = {r.figure: r for r in rows}
    ack = figures["CMD->ACK p50, 1 console(s), serve --device pty, emulator process"]
    assert ack.value > 0
    assert ack.floor is not None
    assert "LOST" not in ack.note
    assert any(f.startswith("STOP -> STATUS(STOP, 1)") for f in figures)
    estop = [r for r in rows if r.figure.startswith("EMERGENCY -> ESTOP frame")]
    assert estop, [r.figure for r in rows]
    assert all(r.value > 0 for r in estop)
    assert not any(r.figure.startswith("controlling console") for r in rows)
