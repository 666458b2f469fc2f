"""``mrbot config``: show the robot configuration with the source of every value.

``mrbot config show [--config F] [--set KEY=VALUE]`` prints each key, its value and unit, and
where the value came from (command line, ``MRBOT_*`` environment, file, default);
``mrbot config docs`` prints the key tables of docs/CONFIGURATION.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robot.cli.serve import add_settings_option
from robot.config import ConfigError, env_name, load_config, render_key_tables

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``config`` subcommand."""
    parser = subparsers.add_parser(
        "config",
        help="show the robot configuration and where each value comes from",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="every key with its value and source")
    show.add_argument("--config", type=Path, help="robot TOML (default: the shipped robot)")
    add_settings_option(show, "override a key (command-line precedence)")
    show.set_defaults(func=_show)
    docs = actions.add_parser("docs", help="the key tables of docs/CONFIGURATION.md")
    docs.set_defaults(func=_docs)


def _show(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config, overrides=dict(args.settings))
    except ConfigError as err:
        print(f"mrbot config: {err}", file=sys.stderr)
        return 2
    schema = config.schema
    width = max(len(k) for k in schema)
    for key, spec in schema.items():
        value = config.values[key]
        unit = "" if spec.unit == "-" else f" {spec.unit}"
        print(f"{key:<{width}}  {value!r}{unit}  [{config.sources[key]}; env {env_name(key)}]")
    return 0


def _docs(args: argparse.Namespace) -> int:
    del args
    sys.stdout.write(render_key_tables())
    return 0
