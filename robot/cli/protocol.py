"""``mrbot protocol``: self-test the wire protocol, decode frames, emit the C header and docs."""

from __future__ import annotations

import dataclasses
import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

import firmware_interfaces
from firmware_interfaces import (
    HEADER_PATH,
    PROTOCOL_MD_NAME,
    Frame,
    FrameDecoder,
    FrameFault,
    generate_header,
    generate_protocol_md,
    layout_of,
    run_selftest,
)

if TYPE_CHECKING:
    import argparse

    from firmware_interfaces import FieldSpec, Message

__all__ = ["register"]

EXIT_MISMATCH = 1
EXIT_BAD_INPUT = 2
DOCS_PATH = Path(firmware_interfaces.__file__).parent.parent / "docs" / PROTOCOL_MD_NAME
"""docs/PROTOCOL.md of the checkout (the package is installed editable from it)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``protocol`` subcommand and its own subcommands."""
    parser = subparsers.add_parser(
        "protocol",
        help="firmware wire protocol: selftest, decode, header, docs",
        description="Tools for the firmware wire protocol (see docs/PROTOCOL.md).",
    )
    actions = parser.add_subparsers(dest="protocol_command", required=True, metavar="ACTION")

    selftest = actions.add_parser(
        "selftest",
        help="round-trip every message type through the deframer with injected damage",
    )
    selftest.add_argument("--seed", type=int, default=0, help="seed of the injected damage")
    selftest.set_defaults(func=_selftest)

    decode = actions.add_parser("decode", help="decode wire bytes given in hex")
    decode.add_argument(
        "hex",
        nargs="+",
        metavar="HEX",
        help="wire bytes in hex (spaces and colons allowed; 0x00 delimiters optional)",
    )
    decode.set_defaults(func=_decode)

    for name, what, default in (
        ("header", "the generated C header", HEADER_PATH),
        ("docs", "the generated docs/PROTOCOL.md", DOCS_PATH),
    ):
        sub = actions.add_parser(name, help=f"print {what}, or check or write the committed file")
        mode = sub.add_mutually_exclusive_group()
        mode.add_argument("--check", action="store_true", help="exit 1 if the file has drifted")
        mode.add_argument("--write", action="store_true", help="write the file")
        sub.add_argument("--path", type=Path, default=default, help=f"file (default: {default})")
        sub.set_defaults(
            func=_generated,
            generate=generate_header if name == "header" else generate_protocol_md,
            what=what,
        )


def _selftest(args: argparse.Namespace) -> int:
    report = run_selftest(seed=args.seed)
    table = Table(
        title=(
            f"mrbot protocol selftest (seed {args.seed}): {report.frames_sent} good and "
            f"{report.damaged_sent} damaged frames, {report.stream_bytes} bytes"
        )
    )
    for column in ("check", "expected", "actual", "ok"):
        table.add_column(column)
    for check in report.checks:
        table.add_row(check.name, check.expected, check.actual, "yes" if check.passed else "NO")
    Console(width=140).print(table)
    failed = [c.name for c in report.checks if not c.passed]
    if failed:
        print(f"selftest FAILED: {', '.join(failed)}", file=sys.stderr)
        return EXIT_MISMATCH
    print("selftest passed")
    return 0


def _parse_hex(parts: list[str]) -> bytes:
    text = "".join(parts).replace(":", "").replace(" ", "").replace("-", "")
    if text.lower().startswith("0x"):
        text = text[2:]
    return bytes.fromhex(text)


def _value_text(spec: FieldSpec | None, value: object) -> str:
    if isinstance(value, enum.Flag):
        names = value.name or "none"
        return f"{names} ({int(value):#06x})"  # type: ignore[call-overload]  # IntFlag
    if isinstance(value, enum.Enum):
        return f"{value.name} ({value.value})"
    unit = spec.unit if spec is not None and spec.unit not in ("", "bits", "param", "code") else ""
    if spec is not None and spec.unit == "bits" and isinstance(value, int):
        return f"{value:#04x}"
    return f"{value} {unit}".rstrip()


def _message_lines(obj: object, indent: str) -> list[str]:
    specs = {s.name: s for s in (*layout_of(type(obj)).fixed, *layout_of(type(obj)).per_axis)}
    lines = []
    for field in dataclasses.fields(obj):  # type: ignore[arg-type]  # messages are dataclasses
        value = getattr(obj, field.name)
        spec = specs.get(field.name)
        if isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            for i, record in enumerate(value):
                lines.append(f"{indent}{field.name}[{i}]:")
                lines.extend(_message_lines(record, indent + "  "))
        elif isinstance(value, tuple):
            items = ", ".join(_value_text(None, v) for v in value)
            unit = f" {spec.unit}" if spec is not None and spec.unit else ""
            lines.append(f"{indent}{field.name} = ({items}){unit}")
        else:
            lines.append(f"{indent}{field.name} = {_value_text(spec, value)}")
    return lines


def _frame_text(frame: Frame) -> str:
    message: Message = frame.message
    head = (
        f"{message.TYPE.name} (type {int(message.TYPE):#04x}) seq {frame.seq} "
        f"protocol {frame.version}: {type(message).__name__}"
    )
    return "\n".join([head, *_message_lines(message, "  ")])


def _decode(args: argparse.Namespace) -> int:
    try:
        data = _parse_hex(args.hex)
    except ValueError as err:
        print(f"mrbot protocol decode: not hex: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    items = FrameDecoder().feed(data + b"\x00")
    frames = [item for item in items if isinstance(item, Frame)]
    faults = [item for item in items if isinstance(item, FrameFault)]
    for frame in frames:
        print(_frame_text(frame))
    for fault in faults:
        print(
            f"mrbot protocol decode: bad frame ({fault.kind.value}): {fault.detail}; "
            f"{len(fault.raw)} wire bytes {fault.raw[:32].hex(' ')}",
            file=sys.stderr,
        )
    if not items:
        print("mrbot protocol decode: no frame in the input", file=sys.stderr)
    return EXIT_BAD_INPUT if faults or not frames else 0


def _generated(args: argparse.Namespace) -> int:
    text: str = args.generate()
    path: Path = args.path
    if args.write:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {args.what} to {path}")
        return 0
    if args.check:
        try:
            current = path.read_text(encoding="utf-8")
        except OSError as err:
            print(f"cannot read {path}: {err}", file=sys.stderr)
            return EXIT_MISMATCH
        if current != text:
            print(f"{path} has drifted from {args.what}; run with --write", file=sys.stderr)
            return EXIT_MISMATCH
        print(f"{path} is current")
        return 0
    sys.stdout.write(text)
    return 0
