"""The import-linter contracts stay complete, and kinematics holds no virtual patient or scanner."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import kinematics
import robot.twin

CHECKOUT = Path(__file__).resolve().parents[1]
ALLOWED_TO_HAL = {"safety.permits", "safety.errors"}
# What the virtual patient and scanner may use from robot: the client side of OpenIGTLink.
ALLOWED_TO_TWIN = {
    "robot.console",
    "robot.errors",
    "robot.igtl",
    "robot.igtl_adapter",
    "robot.twin",
}
_TWIN_MODULE_NAME = re.compile(r"phantom|render|scanner|demo|twin|patient")


def _contract(prefix: str) -> dict[str, Any]:
    config = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())
    contracts: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    (contract,) = [c for c in contracts if c["name"].startswith(prefix)]
    return contract


def _children(package: str) -> set[str]:
    """The modules and subpackages directly inside ``package`` (dotted names)."""
    root = CHECKOUT / package
    modules = {p.stem for p in root.glob("*.py") if p.stem != "__init__"}
    packages = {p.name for p in root.iterdir() if (p / "__init__.py").is_file()}
    return {f"{package}.{name}" for name in modules | packages}


def test_hal_contract_forbids_every_safety_module_but_permits_and_errors():
    contract = _contract("hal takes only permits")
    assert contract["source_modules"] == ["hal"]
    assert set(contract["forbidden_modules"]) == _children("safety") - ALLOWED_TO_HAL


def test_twin_contract_forbids_every_robot_module_that_is_not_the_client_side():
    contract = _contract("the virtual patient and scanner")
    assert contract["source_modules"] == ["robot.twin"]
    forbidden = set(contract["forbidden_modules"])
    assert "hal" in forbidden
    # from safety only the vocabulary the client side speaks (STATUS codes, workphases)
    assert {m for m in forbidden if m.startswith("safety")} == _children("safety") - {
        "safety.states"
    }
    assert {m for m in forbidden if m.startswith("robot.")} == _children("robot") - ALLOWED_TO_TWIN


def test_kinematics_has_no_phantom_renderer_or_scanner_module():
    names = sorted(
        p.relative_to(CHECKOUT).as_posix() for p in (CHECKOUT / "kinematics").rglob("*.py")
    )
    assert names, "kinematics/ not found"
    assert [n for n in names if _TWIN_MODULE_NAME.search(Path(n).stem)] == []


def test_kinematics_re_exports_nothing_of_the_twin():
    assert set(kinematics.__all__).isdisjoint(robot.twin.__all__)
    assert [name for name in robot.twin.__all__ if hasattr(kinematics, name)] == []
