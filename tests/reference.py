"""Load the R reference values in ``tests/reference`` (see its README.md).

The directory is ``tests/reference`` beside this file: the repository carries every value its
tests compare with, and ``tests/reference/make_reference.R`` and ``make_multistate.R``
regenerate them. JSON ``null`` (R's NA, NaN and Inf) is read
as ``float("nan")`` everywhere, so numeric lists go straight into ``np.asarray``.

    from reference import load_case, load_data
    case = load_case("heart_km_jasa")          # or "heart_km_jasa.json"
    jasa = load_data("data/jasa.csv")          # or just "jasa"
"""
from __future__ import annotations

import json
import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

__all__ = ["reference_dir", "load_case", "load_data", "case_frames", "as_array", "list_cases"]


def reference_dir() -> Path:
    """The reference directory, ``tests/reference``."""
    return Path(__file__).resolve().parent / "reference"


def _path(relpath: str | os.PathLike, suffix: str, subdir: str | None = None) -> Path:
    p = Path(relpath)
    if not p.suffix:
        p = p.with_suffix(suffix)
    if subdir and not p.is_absolute() and len(p.parts) == 1:
        p = Path(subdir) / p
    full = p if p.is_absolute() else reference_dir() / p
    if not full.exists():
        raise FileNotFoundError(
            f"R reference file {full} not found; tests/reference/README.md says how "
            "to regenerate the reference values"
        )
    return full


def _null_to_nan(obj: Any) -> Any:
    if obj is None:
        return math.nan
    if isinstance(obj, list):
        return [_null_to_nan(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _null_to_nan(v) for k, v in obj.items()}
    return obj


@lru_cache(maxsize=None)
def _load_case_cached(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def load_case(name: str) -> dict:
    """The parsed JSON of one case (``"heart_km_jasa"``), ``null`` → NaN.

    Returns a fresh dict on every call (safe to modify).
    """
    text = _load_case_cached(str(_path(name, ".json")))
    return _null_to_nan(json.loads(text))


def load_data(relpath: str) -> pd.DataFrame:
    """A reference CSV as a DataFrame: ``"data/jasa.csv"``, ``"jasa.csv"`` or ``"jasa"``.

    Read with pandas defaults: whole-number columns come back as int64, empty fields as
    NaN, quoted strings as str (matching R's ``read.csv`` of the same file).
    """
    return pd.read_csv(_path(relpath, ".csv", subdir="data"))


def case_frames(case: dict) -> dict[str, pd.DataFrame]:
    """The datasets a case lists under ``"data"``, keyed by base name (``"jasa"``)."""
    return {Path(rel).stem: load_data(rel) for rel in case["data"]}


def as_array(values: Any) -> np.ndarray:
    """A JSON value (list or scalar; NaN for null) as a float array."""
    return np.asarray(values, dtype=np.float64).reshape(-1)


def list_cases() -> list[str]:
    """Names of all case files in the reference directory."""
    return sorted(p.stem for p in reference_dir().glob("*.json"))


# R data sets that several test modules use: import these fixtures by name
@pytest.fixture(scope="module")
def heart() -> pd.DataFrame:
    """survival's heart data (Stanford heart transplant, counting-process rows)."""
    return load_data("heart")


@pytest.fixture(scope="module")
def jasa() -> pd.DataFrame:
    """survival's jasa data (Stanford heart transplant, one row per patient)."""
    return load_data("jasa")
