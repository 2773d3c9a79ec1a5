"""Doctest collection for the package's modules (``pytest src/rwe_cart``).

Some modules import a package from an optional extra at module level: the report runner
(and the ``rwe-cart`` command built on it) needs the ``reports`` extra (papermill,
nbconvert, nbformat). An environment installed without that extra (the oldest-versions CI
job, a plain ``pip install rwe_cart``) must still run every other module's examples, so a
module whose import fails for want of an optional package is left out of collection there.
Any other import error still fails the run.
"""
from __future__ import annotations

import importlib
from pathlib import Path

# Top-level names of the packages that the optional extras provide.
OPTIONAL_PACKAGES = {"papermill", "nbconvert", "nbformat", "ipykernel", "dask", "distributed"}


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    if collection_path.suffix != ".py" or collection_path.name == "conftest.py":
        return None
    parts = collection_path.with_suffix("").parts
    if "rwe_cart" not in parts:
        return None
    module = ".".join(parts[len(parts) - 1 - parts[::-1].index("rwe_cart"):])
    module = module.removesuffix(".__init__")
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] in OPTIONAL_PACKAGES:
            return True
        raise
    return None
