"""The documents stand alone and agree with the shipped configuration.

(a) Every ``*.md`` a document, a source file or ``pyproject.toml`` names exists in the repository
(relative to the naming file, the repository root or ``docs/``), every numbered section cited as
``NAME.md section 4.4`` (or ``NAME.md 4.3-4.6``) is a numbered heading of that file, and every
safety requirement id ``SR-nn`` is defined in docs/SAFETY_BASIS.md.

(b) The figures the docs quote for the default robot (axes, limits, speeds, rates, baud, ports,
time-outs) equal the configuration schema's defaults as loaded by ``mrbot config show``, and the
generated default-robot block in docs/HARDWARE.md equals its generator.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from firmware_interfaces import encode_frame
from firmware_interfaces.samples import sample_telemetry
from hal.transport import DEFAULT_BAUDRATE
from kinematics.zframe_geometry import default_zframe_geometry
from robot.runtime.schema import JOINT_NAMES, SCHEMA
from tests.support.docs_tables import (
    default_robot,
    default_robot_markdown,
    emulator_watchdog_ms,
    number,
)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
_SOURCE_DIRS = ("firmware_interfaces", "hal", "kinematics", "safety", "robot", "tests")
_SOURCE_SUFFIXES = frozenset({".py", ".toml", ".md", ".cxx", ".c", ".h", ".txt", ".cfg", ".ini"})

# A path ending in .md, not part of a longer path or URL (an absolute path is kept whole).
_MD_REF = re.compile(r"(?<![\w./:-])(/?(?:\.\.?/|[\w.-]+/)*[\w-]+\.md)(?![\w])")
# What may follow a reference to cite a section: ") section 4.4", " sections 4-5", " 4.3-4.6".
_SECTION = re.compile(
    r"[)\]`]?\s*,?\s*(?:sections?\s+)?(\d+(?:\.\d+)?)(?:\s*-\s*(\d+(?:\.\d+)?))?(?![\w.]*\d)"
)
_HEADING = re.compile(r"^#{1,6}\s+(\d+(?:\.\d+)*)[.\s]", re.MULTILINE)
_SR_ID = re.compile(r"\bSR-\d{2}\b")


def _scanned_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "pyproject.toml", *sorted(DOCS.glob("**/*.md"))]
    for top in _SOURCE_DIRS:
        files += sorted(
            p
            for p in (ROOT / top).rglob("*")
            if p.is_file() and p.suffix in _SOURCE_SUFFIXES and "__pycache__" not in p.parts
        )
    this = Path(__file__).resolve()  # its examples name files that must not exist
    return [p for p in files if p.resolve() != this]


FILES = _scanned_files()


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _resolve(ref: str, cited_in: Path) -> Path | None:
    """The file ``ref`` names, inside the repository, or ``None``."""
    if ref.startswith("/"):
        candidates = [Path(ref)]
    else:
        candidates = [cited_in.parent / ref, ROOT / ref, DOCS / ref]
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved.is_file() and resolved.is_relative_to(ROOT):
            return resolved
    return None


@dataclass(frozen=True)
class Citation:
    cited_in: Path
    line: int
    ref: str
    sections: tuple[str, ...]

    def where(self) -> str:
        return f"{_rel(self.cited_in)}:{self.line}: {self.ref}"


def _citations() -> list[Citation]:
    found = []
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        for match in _MD_REF.finditer(text):
            after = _SECTION.match(text, match.end())
            sections = tuple(s for s in after.groups() if s) if after else ()
            line = text.count("\n", 0, match.start()) + 1
            found.append(Citation(path, line, match.group(1), sections))
    return found


CITATIONS = _citations()


def test_the_scan_sees_the_docs_and_their_citations():
    names = {c.ref for c in CITATIONS}
    assert {"OPENIGTLINK.md", "SAFETY_BASIS.md", "docs/PROTOCOL.md"} <= names
    assert any(c.sections == ("4.4",) for c in CITATIONS)


def test_every_cited_markdown_file_exists_in_the_repository():
    missing = [c.where() for c in CITATIONS if _resolve(c.ref, c.cited_in) is None]
    assert not missing, "cited but not in the repository:\n" + "\n".join(missing)


def test_no_file_points_at_material_outside_the_repository():
    # the design notes beside the checkout are background, not part of the project
    outside = re.compile(r"\.\./shared\b|shared/design")
    hits = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in _scanned_files()
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if outside.search(line)
    ]
    assert not hits, "points outside the repository:\n" + "\n".join(hits)


def test_every_cited_section_is_a_numbered_heading_of_its_file():
    headings: dict[Path, set[str]] = {}
    wrong = []
    for c in CITATIONS:
        target = _resolve(c.ref, c.cited_in)
        if target is None or not c.sections:
            continue
        if target not in headings:
            headings[target] = set(_HEADING.findall(target.read_text(encoding="utf-8")))
        wrong += [f"{c.where()} section {s}" for s in c.sections if s not in headings[target]]
    assert not wrong, "no such numbered heading:\n" + "\n".join(wrong)


def test_every_safety_requirement_id_is_defined_in_the_safety_basis():
    basis = (DOCS / "SAFETY_BASIS.md").read_text(encoding="utf-8")
    defined = set(re.findall(r"^\| (SR-\d{2}) \|", basis, re.MULTILINE))
    used = {
        (sr, _rel(path))
        for path in FILES
        for sr in _SR_ID.findall(path.read_text(encoding="utf-8"))
    }
    undefined = sorted(f"{sr} in {where}" for sr, where in used if sr not in defined)
    assert defined, "docs/SAFETY_BASIS.md defines no SR ids"
    assert not undefined, "SR ids not defined in docs/SAFETY_BASIS.md:\n" + "\n".join(undefined)


def test_the_resolver_refuses_files_outside_the_repository(tmp_path):
    outside = tmp_path / "NOTES.md"
    outside.write_text("x", encoding="utf-8")
    assert _resolve(str(outside), DOCS / "HARDWARE.md") is None
    assert _resolve("NO_SUCH_PAGE.md", DOCS / "HARDWARE.md") is None
    assert _resolve("PROTOCOL.md", ROOT / "hal" / "link.py") == DOCS / "PROTOCOL.md"
    assert _MD_REF.findall(f"see {outside} and https://example.org/A.md") == [str(outside)]


# --- (b) figures quoted in the docs against the schema's defaults ---------------------------


def _doc(name: str) -> str:
    """A doc's text with all whitespace runs as one space, so phrases may wrap."""
    return " ".join((ROOT / name).read_text(encoding="utf-8").split())


def _g(value: float) -> str:
    return f"{value:g}"


def _figures() -> list[tuple[str, str, tuple[str, ...]]]:
    """(doc, regex with groups, the values the groups must show) for every quoted figure."""
    cfg = default_robot()
    c = cfg.controller

    def n(key: str) -> float:
        return number(cfg, key)

    port = str(int(n("network.port")))
    baud = f"{int(n('serial.baud')):,}"
    control_hz = _g(n("runtime.control_rate_hz"))
    position_hz = _g(n("runtime.position_rate_hz"))
    period_ms = n("emulator.telemetry_period_ms")
    telemetry_hz = _g(1000.0 / period_ms)
    link_periods = str(int(n("serial.link_timeout_periods")))
    link_floor_ms = _g(float(n("serial.link_timeout_floor_s")) * 1000.0)
    link_ms = _g(max(int(link_periods) * period_ms, float(link_floor_ms)))
    watchdog_ms = str(emulator_watchdog_ms(cfg))
    ack_ms = _g(c.ack_timeout_s * 1000.0)
    retries = str(c.retries)
    heartbeat_hz = _g(c.heartbeat_hz)
    lateral = "front_x_mm"
    step = _g(n(f"joints.{lateral}.step_mm"))
    rate = _g(n(f"joints.{lateral}.max_step_rate_hz"))
    speed = _g(n(f"joints.{lateral}.step_mm") * n(f"joints.{lateral}.max_step_rate_hz"))
    lateral_max = _g(n(f"joints.{lateral}.max_mm"))
    insertion_max = _g(n("joints.insertion_mm.max_mm"))
    front_z = _g(n("robot.front_plane_z_mm"))
    back_z = _g(n("robot.back_plane_z_mm"))
    angulation = _g(n("robot.max_angulation_deg"))
    five_axis_wire = str(len(encode_frame(sample_telemetry(len(JOINT_NAMES)), 0)))
    timing = (
        r"ACK time-out (\d+) ms with (\d+) retries, host heartbeat (\d+) Hz, link lost after "
        r"(\d+) telemetry periods, firmware watchdog (\d+) ms, flight recorder (\d+) s"
    )
    timing_values = (ack_ms, retries, heartbeat_hz, link_periods, watchdog_ms, _g(c.recorder_s))
    return [
        ("README.md", r"one control-loop thread \((\d+) Hz\)", (control_hz,)),
        ("README.md", r"listening on 127\.0\.0\.1:(\d+)", (port,)),
        ("README.md", r"\*\*Port: (\d+)\*\*", (port,)),
        ("README.md", r"positions stream at (\d+) Hz", (position_hz,)),
        ("docs/SLICER.md", r"It listens on 127\.0\.0\.1:(\d+)", (port,)),
        (
            "docs/SLICER.md",
            r"waiting ([\d.]+) s at first and doubling up to ([\d.]+) s",
            (_g(n("network.reconnect_min_s")), _g(n("network.reconnect_max_s"))),
        ),
        (
            "docs/SLICER.md",
            r'`network\.profile = "([a-z0-9-]+)"`',
            (str(SCHEMA["network.profile"].default),),
        ),
        ("README.md", r"Baud rate: ([\d,]+) by default \(`serial\.baud`\)", (baud,)),
        ("README.md", r"--baud (\d+)", (str(int(n("serial.baud"))),)),
        ("README.md", r"a heartbeat watchdog \((\d+) ms\)", (watchdog_ms,)),
        ("docs/HARDWARE.md", r"Default: ([\d,]+) bit/s", (baud,)),
        ("docs/HARDWARE.md", r"A telemetry frame for five axes is (\d+) bytes", (five_axis_wire,)),
        (
            "docs/DEMO.md",
            r"telemetry at (\d+) Hz \(`emulator\.telemetry_period_ms` = (\d+) ms",
            (telemetry_hz, _g(period_ms)),
        ),
        (
            "docs/DEMO.md",
            (
                r"lost after max\((\d+) silent periods, (\d+) ms\)\s+"
                r"\(`serial\.link_timeout_periods`, `serial\.link_timeout_floor_s`, "
                r"docs/HARDWARE\.md\): (\d+) ms"
            ),
            (link_periods, link_floor_ms, link_ms),
        ),
        ("docs/DEMO.md", r"`CURRENT_POSITION` at (\d+) Hz", (position_hz,)),
        ("docs/DEMO.md", r"the guide's (\d+) deg less 5", (angulation,)),
        ("docs/CONFIGURATION.md", r"([\d.]+) mm x (\d+) Hz = (\d+) mm/s", (step, rate, speed)),
        (
            "docs/WORKPHASES.md",
            r"`control-loop` \((\d+) Hz, `runtime\.control_rate_hz`\)",
            (control_hz,),
        ),
        ("docs/WORKPHASES.md", r"CURRENT_POSITION on a fixed (\d+) Hz schedule", (position_hz,)),
        ("docs/WORKPHASES.md", r"CURRENT_POSITION at (\d+) Hz", (position_hz,)),
        ("docs/WORKPHASES.md", r"idle positions at (\d+) Hz", (position_hz,)),
        ("docs/OPENIGTLINK.md", r"port (\d+) by default, `network\.port`", (port,)),
        ("docs/OPENIGTLINK.md", r"\*\*Port: (\d+)\*\*", (port,)),
        (
            "docs/OPENIGTLINK.md",
            r"while moving \((\d+) Hz, `runtime\.position_rate_hz`\)",
            (position_hz,),
        ),
        ("docs/CONSOLE.md", r"\[--port (\d+)\]", (port,)),
        ("docs/CONSOLE.md", r'BrpClient\("127\.0\.0\.1", (\d+)\)', (port,)),
        (
            "docs/KINEMATICS.md",
            (
                r"front stage plane `z = (-?\d+) mm`, back `z = (-?\d+) mm`, stages \+-(\d+) mm, "
                r"insertion 0-(\d+) mm, max angulation (\d+) deg"
            ),
            (front_z, back_z, lateral_max, insertion_max, angulation),
        ),
        (
            "docs/DOMAIN_NUMBERS.md",
            (
                r"planes at (-?\d+) and (-?\d+) mm, \+-(\d+) mm stages, 0-(\d+) mm insertion, "
                r"(\d+) degrees, (\d+) mm/s"
            ),
            (front_z, back_z, lateral_max, insertion_max, angulation, speed),
        ),
        (
            "docs/SAFETY_BASIS.md",
            r"host heartbeat to the firmware \| (\d+) Hz \(every (\d+) ms\)",
            (heartbeat_hz, _g(1000.0 / c.heartbeat_hz)),
        ),
        ("docs/SAFETY_BASIS.md", r"no valid frame for \| (\d+) ms", (watchdog_ms,)),
        (
            "docs/SAFETY_BASIS.md",
            r"\| max\((\d+) telemetry periods, \d+ ms\) without telemetry \((\d+) ms at (\d+) Hz;",
            (link_periods, link_ms, telemetry_hz),
        ),
        (
            "docs/SAFETY_BASIS.md",
            r"telemetry silence interlock \(supervisor\) \| ([\d.]+) s",
            (_g(n("safety.firmware_timeout_s")),),
        ),
        (
            "docs/SAFETY_BASIS.md",
            r"\| (\d+) ms, (\d+) retries \(idempotent requests only\)",
            (ack_ms, retries),
        ),
        (
            "docs/SAFETY_BASIS.md",
            r"controlling console gone during motion \| ([\d.]+) s",
            (_g(n("safety.console_timeout_s")),),
        ),
        (
            "docs/SAFETY_BASIS.md",
            r"renewed each control cycle \| ([\d.]+) s",
            (_g(n("safety.lease_s")),),
        ),
        (
            "docs/SAFETY_BASIS.md",
            r"At the default robot's (\d+) mm/s, the (\d+) ms watchdog alone allows ([\d.]+) mm",
            (speed, watchdog_ms, _g(float(speed) * float(watchdog_ms) / 1000.0)),
        ),
        (
            "docs/SAFETY_BASIS.md",
            r"\((\d+) ms at the default (\d+) Hz\)",
            (_g(1000.0 / n("runtime.control_rate_hz")), control_hz),
        ),
        (
            "docs/SERIAL_LINK_BASIS.md",
            r"at most `retries` times \(default (\d+)\) after a (\d+) ms time-out",
            (retries, ack_ms),
        ),
        ("docs/SERIAL_LINK_BASIS.md", r"the default is ([\d,]+) \(`serial\.baud`\)", (baud,)),
        ("docs/SERIAL_LINK_BASIS.md", timing, timing_values),
    ]


FIGURES = _figures()


@pytest.mark.parametrize(
    ("doc", "pattern", "expected"),
    FIGURES,
    ids=[f"{Path(f[0]).stem}: {f[1][:40]}" for f in FIGURES],
)
def test_a_figure_quoted_in_the_docs_equals_the_default_configuration(doc, pattern, expected):
    matches = re.findall(pattern, _doc(doc))
    assert matches, f"{doc}: the phrase /{pattern}/ is gone; update the doc or this test"
    for match in matches:
        shown = (match,) if isinstance(match, str) else tuple(match)
        assert shown == expected, f"{doc}: /{pattern}/ shows {shown}, the configuration {expected}"


def test_the_hal_default_baud_rate_is_the_default_robots():
    assert (
        number(default_robot(), "serial.baud") == DEFAULT_BAUDRATE == SCHEMA["serial.baud"].default
    )


def test_the_default_robot_block_in_hardware_md_is_generated_from_the_schema():
    text = (DOCS / "HARDWARE.md").read_text(encoding="utf-8")
    begin, end = "<!-- default-robot:begin -->\n", "<!-- default-robot:end -->"
    assert begin in text
    assert end in text
    block = text[text.index(begin) + len(begin) : text.index(end)]
    assert block == default_robot_markdown(), (
        "docs/HARDWARE.md is out of date; regenerate the block with tests.support.docs_tables"
    )


def test_the_z_frame_table_in_domain_numbers_is_the_default_geometry():
    text = (DOCS / "DOMAIN_NUMBERS.md").read_text(encoding="utf-8")
    triple = r"\(([-+]?\d+), ([-+]?\d+), ([-+]?\d+)\)"
    rows = re.findall(rf"^\| (\d) \| {triple} \| {triple} \|", text, re.MULTILINE)
    geometry = default_zframe_geometry()
    assert len(rows) == len(geometry.rods)
    for row, rod in zip(rows, geometry.rods, strict=True):
        start, end = tuple(float(v) for v in row[1:4]), tuple(float(v) for v in row[4:7])
        assert start == rod.start_mm, f"rod {row[0]}"
        assert end == rod.end_mm, f"rod {row[0]}"
    radius = re.search(r"rod radius ([\d.]+) mm", " ".join(text.split()))
    assert radius is not None
    assert math.isclose(float(radius.group(1)), geometry.rod_radius_mm)
