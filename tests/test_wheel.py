"""The built wheel installs into a fresh environment and the README quick start runs there.

This is what a user gets from ``pip install rwe_cart``: no editable source tree, no test
dependencies, no extras. Installing the dependencies takes about a minute (from pip's cache
when the suite's own environment was built on this machine).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXTRAS_ONLY = ("lifelines", "papermill", "nbconvert", "nbformat", "ipykernel", "dask",
               "distributed", "jupyter")


def _run(*cmd, cwd=None, env=None) -> str:
    out = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                         text=True)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def quick_start() -> str:
    """The Python block of the README's "Quick start" section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", out, ROOT)
    (whl,) = out.glob("rwe_cart-*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-c", ROOT / "constraints.txt", wheel)
    return python


def test_wheel_carries_license_and_typing_marker(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "rwe_cart/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
    # the report notebooks `rwe-cart report` renders
    shipped = {n.rsplit("/", 1)[1] for n in names if n.startswith("rwe_cart/notebooks/")}
    in_tree = {p.name for p in (ROOT / "src" / "rwe_cart" / "notebooks").glob("*.ipynb")}
    assert shipped == in_tree and len(in_tree) >= 6


def test_plain_install_has_no_extras(installed):
    requires = _run(installed, "-m", "pip", "show", "rwe_cart")
    line = next(x for x in requires.splitlines() if x.startswith("Requires:"))
    listed = {name.strip().lower() for name in line.split(":", 1)[1].split(",")}
    assert listed.isdisjoint(EXTRAS_ONLY), line
    present = _run(installed, "-m", "pip", "list", "--format=freeze").lower()
    for name in EXTRAS_ONLY:
        assert f"\n{name}==" not in f"\n{present}", f"{name} installed without its extra"


def test_readme_quick_start_runs_from_the_wheel(installed, tmp_path):
    script = tmp_path / "quick_start.py"
    script.write_text(quick_start(), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["MPLBACKEND"] = "Agg"
    # run outside the source tree so that only the installed wheel can be imported
    _run(installed, script, cwd=tmp_path, env=env)
    assert (tmp_path / "pfs.pdf").stat().st_size > 1000
    where = _run(installed, "-c", "import rwe_cart; print(rwe_cart.__file__)", cwd=tmp_path)
    assert "site-packages" in where
