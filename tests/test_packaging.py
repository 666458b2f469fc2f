"""The five top-level packages come from this project, never from a same-named PyPI package."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGES = ("firmware_interfaces", "hal", "kinematics", "safety", "robot")
CHECKOUT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_is_distributed_by_mrbot(name):
    # An editable install can list the distribution twice (top_level.txt and RECORD); only the
    # set matters: no other distribution may provide the name.
    assert set(importlib.metadata.packages_distributions()[name]) == {"mrbot"}


@pytest.mark.parametrize("name", PACKAGES)
def test_package_imports_from_the_checkout_not_from_tests(name, tmp_path):
    code = f"import {name}, pathlib; print(pathlib.Path({name}.__file__).resolve())"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert Path(out) == CHECKOUT / name / "__init__.py"


def test_every_test_directory_is_a_package():
    missing = [
        str(d.relative_to(CHECKOUT))
        for d in (CHECKOUT / "tests").rglob("*")
        if d.is_dir()
        and d.name != "__pycache__"
        and not d.name.startswith(".")
        and any(d.glob("*.py"))
        and not (d / "__init__.py").exists()
    ]
    assert missing == []


def test_mrbot_console_script_is_installed():
    eps = [
        ep for ep in importlib.metadata.entry_points(group="console_scripts") if ep.name == "mrbot"
    ]
    assert [ep.value for ep in eps] == ["robot.cli.main:main"]
