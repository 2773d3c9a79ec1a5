"""The documentation covers the public API: a reference page and a runnable example per name.

The examples themselves run as doctests (``pytest src/rwe_cart``); these tests make sure
that no public name is missing from the reference or lacks an example.
"""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import rwe_cart as rc

API_DIR = Path(__file__).resolve().parent.parent / "docs" / "api"
EXAMPLES = re.compile(r"^Examples\n-{8,}\n(.*?)(?:^\S[^\n]*\n-{3,}\n|\Z)", re.M | re.S)


def _autosummary_entries() -> set[str]:
    """Names listed under the autosummary directives of the API reference sources."""
    entries: set[str] = set()
    for path in sorted(API_DIR.glob("*.rst")):
        in_block = False
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(".. autosummary::"):
                in_block = True
            elif in_block and line and not line.startswith(" "):
                in_block = False
            elif in_block and line.strip() and not line.strip().startswith(":"):
                entries.add(line.strip())
    return entries


def _public_callables() -> list[str]:
    return [name for name in rc.__all__
            if inspect.isclass(getattr(rc, name)) or inspect.isfunction(getattr(rc, name))]


def test_every_public_name_has_a_reference_page():
    missing = sorted(set(rc.__all__) - _autosummary_entries())
    assert not missing, f"names in rwe_cart.__all__ without an API page (docs/api/): {missing}"


def test_reference_lists_only_public_names():
    extra = sorted(_autosummary_entries() - set(rc.__all__))
    assert not extra, f"API reference entries that are not in rwe_cart.__all__: {extra}"


@pytest.mark.parametrize("name", _public_callables())
def test_public_name_has_a_runnable_example(name):
    doc = inspect.getdoc(getattr(rc, name)) or ""
    match = EXAMPLES.search(doc)
    assert match, f"rc.{name}: the docstring has no numpydoc 'Examples' section"
    assert ">>> " in match.group(1), f"rc.{name}: the Examples section has no doctest line"
    assert "+SKIP" not in match.group(1), f"rc.{name}: the example is skipped, not run"


def test_names_used_in_the_pages_exist():
    """Every ``rc.<name>`` written in a documentation page resolves (catches renames).

    A wildcard such as ``rc.plot_*`` is not a name and is not checked.
    """
    docs = API_DIR.parent
    missing = []
    for path in sorted(docs.rglob("*.md")):
        if "_build" in path.parts:
            continue
        for dotted in sorted(set(re.findall(r"\brc\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?![\w*])",
                                            path.read_text(encoding="utf-8")))):
            obj = rc
            for part in dotted.split("."):
                if not hasattr(obj, part):
                    missing.append(f"{path.relative_to(docs)}: rc.{dotted}")
                    break
                obj = getattr(obj, part)
    assert not missing, "names in the documentation that rwe_cart does not have:\n" + "\n".join(missing)


GUIDE_PAGES = sorted(p for p in (API_DIR.parent / "user-guide").glob("*.md")
                     if "```python" in p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", GUIDE_PAGES, ids=lambda p: p.stem)
def test_user_guide_code_runs(page, tmp_path, monkeypatch):
    """The Python blocks of a user-guide page run in order, as a reader pastes them.

    Blocks that need the reader's own file (marked ``# your own file``) run only their
    imports; the Dask block starts a cluster with a dashboard port that other processes on
    the machine may hold, and is left to tests/test_parallel.py (which runs one without).
    """
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)  # figures and tables that the pages save land here
    namespace: dict = {}
    for i, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"),
                                         re.S)):
        if "LocalCluster" in block:
            continue
        if "# your own file" in block:
            block = "\n".join(line for line in block.splitlines()
                              if line.startswith(("import ", "from ")))
        try:
            exec(compile(block, f"{page.name}, block {i}", "exec"), namespace)
        finally:
            plt.close("all")
