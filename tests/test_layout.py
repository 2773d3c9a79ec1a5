"""The package's layout rules (docs/architecture.md, "Layout rules"): modules stay small
enough to read, and a private name or module is used only inside the package that owns it
(and that package's subpackages)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from paths import ROOT

SRC = ROOT / "src"
MODULES = sorted((SRC / "rwe_cart").rglob("*.py"))
MAX_LINES = 800


def _dotted(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(path: Path) -> str:
    """The package a module belongs to (a package's __init__ belongs to itself)."""
    name = _dotted(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _owner(module: str) -> str | None:
    """The package that owns a private module (the one holding its first private
    component); None for a public module."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if _private(part):
            return ".".join(parts[:i])
    return None


def _inside(package: str, owner: str) -> bool:
    return package == owner or package.startswith(owner + ".")


def _imports(path: Path):
    """(module imported from, names) for every import of the package's own modules."""
    here = _package(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "rwe_cart":
                continue
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                if (SRC / Path(*sub.split("."))).with_suffix(".py").exists() or \
                        (SRC / Path(*sub.split("."))).is_dir():
                    yield sub, []          # a module imported by name
                else:
                    yield module, [alias.name]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "rwe_cart":
                    yield alias.name, []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_is_longer_than_the_limit(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(SRC)} has {n} lines; split it by job"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_private_names_stay_in_their_package(path):
    here = _package(path)
    wrong = []
    for module, names in _imports(path):
        owner = _owner(module)
        if owner is not None and not _inside(here, owner):
            wrong.append(module)
        wrong += [f"{module}.{n}" for n in names
                  if _private(n) and not _inside(here, module.rpartition(".")[0])]
    assert not wrong, f"{_dotted(path)} (package {here}) uses private {wrong}"


def test_the_rule_sees_a_crossing():
    assert not _inside("rwe_cart.plots", _owner("rwe_cart.survival._cox_core"))
    assert _inside("rwe_cart.survival", _owner("rwe_cart._deprecate"))
    assert _inside("rwe_cart.survival", _owner("rwe_cart.survival._cox_core"))
    assert _owner("rwe_cart.survival.km") is None
