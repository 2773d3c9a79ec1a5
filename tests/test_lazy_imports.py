"""`import rwe_cart` loads no heavy library, yet every public name is there; `rwe-cart
validate` and the report notebooks' own import do not load the notebook machinery. Each
check runs in a fresh interpreter and looks at sys.modules (the timings are in
benchmarks/bench_import.py, never in tests)."""
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import rwe_cart

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("scipy.stats", "statsmodels", "matplotlib", "pandera", "pyreadstat", "joblib", "dask",
         "papermill", "nbconvert", "nbformat")
NOTEBOOK_MACHINERY = ("papermill", "nbconvert", "nbformat")


def loaded_after(code: str) -> set[str]:
    """The HEAVY modules in sys.modules after running ``code`` in a fresh interpreter."""
    probe = (f"{code}\nimport json, sys\n"
             f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_rwe_cart_loads_no_heavy_library():
    assert loaded_after("import rwe_cart") == set()


def test_first_use_loads_what_the_name_needs():
    assert "scipy.stats" in loaded_after("import rwe_cart as rc\nrc.kaplan_meier")


def test_validate_command_does_not_load_the_notebook_machinery():
    registry = ROOT / "data" / "synthetic" / "rocca_like.csv"
    code = ("import contextlib, io\nfrom rwe_cart.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    code = main(['validate', {str(registry)!r}])\n"
            "assert code == 0, code")
    assert not loaded_after(code) & set(NOTEBOOK_MACHINERY)


def test_report_helpers_imported_by_every_notebook_do_not_load_the_notebook_machinery():
    assert not loaded_after("from rwe_cart.report import ReportOutputs, provenance") \
        & set(NOTEBOOK_MACHINERY)


@pytest.mark.parametrize("name", rwe_cart.__all__)
def test_every_public_name_is_importable_and_listed(name):
    namespace: dict = {}
    exec(f"from rwe_cart import {name}", namespace)
    assert namespace[name] is getattr(rwe_cart, name)
    assert name in dir(rwe_cart)


def test_every_lazily_exported_name_is_public_in_its_submodule():
    for module, names in rwe_cart._EXPORTS.items():
        public = set(importlib.import_module(f"rwe_cart.{module}").__all__)
        assert not set(names) - public, f"rwe_cart.{module} does not list {set(names) - public}"


def test_submodules_are_attributes_and_unknown_names_are_not():
    import rwe_cart.survival

    assert rwe_cart.survival is sys.modules["rwe_cart.survival"]
    assert rwe_cart.timeline is sys.modules["rwe_cart.timeline"]
    with pytest.raises(AttributeError, match="no attribute 'kaplan_meyer'"):
        rwe_cart.kaplan_meyer  # noqa: B018
