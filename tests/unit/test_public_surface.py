"""Each package's ``__all__`` holds what its users need, and only names the package defines.

A name in the ``__all__`` of a package's ``__init__.py`` is used when something outside that
package's directory reaches it:

- a Python file of another package or of ``tests/`` imports it from the package or from a module
  under it, reaches it as an attribute of the package or of such a module, or names it in a dotted
  string (``"hal.controller.ControllerDriver"``, as ``monkeypatch`` takes);
- ``docs/*.md`` or ``README.md`` show it in inline code or in a code block.

A name only the package itself uses stays importable from its module but leaves ``__all__``.
Deliberate public API with no user in the repository is listed in ``ALLOWED_UNUSED`` with why.
Subpackages are packages of their own: ``robot.igtl`` is used by ``robot.workphase``.
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
ROOTS = ("firmware_interfaces", "hal", "kinematics", "safety", "robot")
_DOTTED_IN_STRING = re.compile(r"\b((?:{})(?:\.\w+)+)".format("|".join(ROOTS)))
_CODE_BLOCK = re.compile(r"```.*?```", flags=re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_WORD = re.compile(r"[A-Za-z_]\w*")

#: Names kept in ``__all__`` although nothing in the repository outside the package uses them.
ALLOWED_UNUSED: dict[str, frozenset[str]] = {
    # The base of every error the safety package raises: a caller catches all of them with it.
    "safety": frozenset({"SafetyError"}),
    # The base of every HAL time-out (also a TimeoutError): a caller catches all of them with it;
    # the types ControllerDriver.joint_readings() returns (robot/ reads them without naming them).
    "hal": frozenset({"HalTimeoutError", "JointReadings", "AxisReading"}),
}


def _all_of(init: Path) -> list[str] | None:
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            names = ast.literal_eval(value)
            assert isinstance(names, list), f"{init}: __all__ is not a list"
            return [str(n) for n in names]
    return None


@functools.cache
def packages() -> dict[str, list[str]]:
    """Every project package (dotted name) with an ``__all__``, and its names."""
    found: dict[str, list[str]] = {}
    for root in ROOTS:
        for init in sorted((CHECKOUT / root).rglob("__init__.py")):
            names = _all_of(init)
            if names is not None:
                found[".".join(init.parent.relative_to(CHECKOUT).parts)] = names
    return found


def _dotted(node: ast.expr) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def _prefix_pairs(dotted: list[str]) -> set[tuple[str, str]]:
    """``a.b.c`` -> {(a, b), (a.b, c)}: each name reached from the module before it."""
    return {(".".join(dotted[:i]), dotted[i]) for i in range(1, len(dotted))}


def uses_in(path: Path) -> set[tuple[str, str]]:
    """(module, name) for every name ``path`` reaches from a module (absolute imports only)."""
    tree = ast.parse(path.read_text())
    uses: set[tuple[str, str]] = set()
    bound: dict[str, str] = {}  # local name -> what it is bound to (dotted)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                uses.add((node.module, alias.name))
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                bound[alias.asname or top] = alias.name if alias.asname else top
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts = _dotted(node)
            if parts is not None and parts[0] in bound:
                uses |= _prefix_pairs([*bound[parts[0]].split("."), *parts[1:]])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for match in _DOTTED_IN_STRING.finditer(node.value):
                uses |= _prefix_pairs(match.group(1).split("."))
    return uses


@functools.cache
def python_uses() -> dict[Path, frozenset[tuple[str, str]]]:
    files = [p for top in (*ROOTS, "tests") for p in sorted((CHECKOUT / top).rglob("*.py"))]
    return {path: frozenset(uses_in(path)) for path in files}


@functools.cache
def doc_words() -> frozenset[str]:
    """Identifiers inside inline code and code blocks of docs/*.md and README.md."""
    words: set[str] = set()
    for md in [*sorted((CHECKOUT / "docs").glob("*.md")), CHECKOUT / "README.md"]:
        text = md.read_text()
        code = _CODE_BLOCK.findall(text) + _INLINE_CODE.findall(_CODE_BLOCK.sub("", text))
        for chunk in code:
            words.update(_WORD.findall(chunk))
    return frozenset(words)


def used_outside(package: str) -> set[str]:
    """Names of ``package`` or its modules reached from outside its directory, or in the docs."""
    directory = CHECKOUT.joinpath(*package.split("."))
    used = set(doc_words())
    for path, uses in python_uses().items():
        if directory not in path.parents:
            used.update(n for m, n in uses if m == package or m.startswith(package + "."))
    return used


def unused(package: str) -> list[str]:
    return [n for n in packages()[package] if n not in used_outside(package)]


def test_every_project_package_is_found():
    assert {"firmware_interfaces", "hal", "kinematics", "safety", "robot.igtl"} <= set(packages())


@pytest.mark.parametrize("package", sorted(packages()))
def test_every_name_in_all_is_used_outside_its_package(package):
    allowed = ALLOWED_UNUSED.get(package, frozenset())
    assert [n for n in unused(package) if n not in allowed] == [], (
        f"{package}.__all__ names what no user outside {package} needs: drop the names from "
        "__all__ (and the re-export), or list deliberate public API in ALLOWED_UNUSED"
    )


@pytest.mark.parametrize("package", sorted(packages()))
def test_every_name_in_all_is_defined_by_its_package(package):
    module = importlib.import_module(package)
    names = packages()[package]
    assert [n for n in names if not hasattr(module, n)] == []
    assert len(names) == len(set(names)), f"{package}.__all__ repeats a name"


def test_the_allow_list_names_only_unused_names_of_all():
    for package, names in ALLOWED_UNUSED.items():
        assert names <= set(packages()[package]), f"{package}: allowed names not in __all__"
        assert names <= set(unused(package)), f"{package}: allowed names are used now: drop them"


def test_a_name_is_found_through_import_attribute_and_string(tmp_path):
    source = tmp_path / "user.py"
    source.write_text(
        "import hal.controller as hc\n"
        "import robot.twin\n"
        "from safety import Supervisor\n"
        "from robot import igtl\n"
        "hc.ControllerDriver\n"
        "robot.twin.render_zframe\n"
        "igtl.IgtlServer\n"
        "PATCH = 'kinematics.frames.invert'\n"
    )
    uses = uses_in(source)
    assert {
        ("hal.controller", "ControllerDriver"),
        ("robot.twin", "render_zframe"),
        ("safety", "Supervisor"),
        ("robot.igtl", "IgtlServer"),
        ("kinematics.frames", "invert"),
    } <= uses
