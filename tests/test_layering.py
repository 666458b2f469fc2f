"""The import-linter contract that keeps hal away from the supervisor lists every safety module."""

from __future__ import annotations

import tomllib
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
ALLOWED_TO_HAL = {"safety.permits", "safety.errors"}


def test_hal_contract_forbids_every_safety_module_but_permits_and_errors():
    config = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    (contract,) = [c for c in contracts if c["name"].startswith("hal takes only permits")]
    assert contract["source_modules"] == ["hal"]
    modules = {
        f"safety.{p.stem}" for p in (CHECKOUT / "safety").glob("*.py") if p.stem != "__init__"
    }
    assert set(contract["forbidden_modules"]) == modules - ALLOWED_TO_HAL
