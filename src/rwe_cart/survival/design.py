"""The one design rule of rwe_cart: data columns to a numeric design matrix.

Every model of the package (Cox, Fine–Gray with either method, the weight models of
clone–censor–weight, the exposure and effect-modification models) turns covariate
columns into coefficients here, so that a column has the same coefficient names in
every result. The names are R's ``model.matrix`` names:

* a numeric column enters as it is, named by the column (``age``);
* a string, categorical or logical column becomes treatment dummies, one per level but
  the first (sorted values; a categorical keeps its category order), named
  ``<column><level>``: ``sexM``; a logical column gives ``<column>TRUE``;
* a constant column, a missing value or two columns with the same coefficient name is an
  error that names the column and the rows.

Formulas (:mod:`rwe_cart.survival._formula`) add interactions, transformations and
splines on top, with the same naming.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import validate as V

__all__ = ["Design", "design_matrix", "build_rows", "is_numeric", "level_name",
           "numeric_column"]


@dataclass(frozen=True)
class Design:
    """How data columns became coefficients (to rebuild rows for predictions)."""

    covariates: tuple[str, ...]
    terms: dict            # term (column) -> tuple of coefficient names
    levels: dict           # categorical column -> levels (first = reference)
    strata_levels: pd.Index | None



def is_numeric(col: pd.Series) -> bool:
    dt = col.dtype
    if isinstance(dt, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dt):
        return False
    return pd.api.types.is_numeric_dtype(dt)


def level_name(level: Any) -> str:
    if isinstance(level, (bool, np.bool_)):
        return "TRUE" if level else "FALSE"
    if isinstance(level, (float, np.floating)) and float(level).is_integer():
        return str(int(level))
    return str(level)


def numeric_column(data: pd.DataFrame, name: str, what: str = "covariates") -> np.ndarray:
    col = data[name]
    arr = col.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(arr)
    if bad.any():
        miss = np.isnan(arr)
        what = "missing value" if miss.any() else "infinite value"
        which = miss if miss.any() else bad
        cnt = int(which.sum())
        raise ValueError(
            f"column {name!r} has {cnt} {what}{'s' if cnt != 1 else ''} "
            f"({V.describe_rows(data, which)}); {what} must be known and finite "
            "for every row (drop or impute those rows explicitly)")
    return arr


def design_matrix(data: pd.DataFrame, covariates: Sequence[str], *,
                  constant: str = "error"):
    """``X, names, terms, levels``: the design matrix (Fortran order), its coefficient
    names, each column's coefficient names, and each categorical column's levels.

    ``constant="keep"`` keeps a constant numeric column and gives a one-level factor no
    column, for callers that drop (and report) constant columns themselves.
    """
    cols, names, terms, levels = [], [], {}, {}
    for name in covariates:
        col = data[name]
        if is_numeric(col):
            arr = numeric_column(data, name)
            if constant == "error" and arr.size and np.all(arr == arr[0]):
                raise ValueError(
                    f"covariate {name!r} is constant (every row is {arr[0]:g}); its "
                    "coefficient is not estimable — drop it")
            cols.append(arr)
            names.append(name)
            terms[name] = (name,)
            continue
        if not (isinstance(col.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(
                col.dtype) or pd.api.types.is_object_dtype(col.dtype)
                or pd.api.types.is_string_dtype(col.dtype)):
            raise ValueError(
                f"covariate {name!r} has dtype {col.dtype}; use a numeric, string, "
                "boolean or categorical column")
        codes, lev = V.group_codes(data, name)
        if len(lev) < 2 and constant == "error":
            raise ValueError(
                f"covariate {name!r} is constant (only level {lev[0]!r}); its coefficient "
                "is not estimable — drop it")
        levels[name] = pd.Index(lev)
        coefs = []
        for j in range(1, len(lev)):
            cols.append((codes == j).astype(np.float64))
            cn = f"{name}{level_name(lev[j])}"
            names.append(cn)
            coefs.append(cn)
        terms[name] = tuple(coefs)
    X = np.empty((len(data), len(cols)), order="F")  # columns contiguous
    for j, c in enumerate(cols):
        X[:, j] = c
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"coefficient names clash: {dup}; rename the columns")
    return X, names, terms, levels


def build_rows(profile: pd.DataFrame, d: Design) -> np.ndarray:
    missing = [c for c in d.covariates if c not in profile.columns]
    if missing:
        raise ValueError(f"profile is missing covariate columns {missing}")
    cols = []
    for name in d.covariates:
        if name in d.levels:
            lev = d.levels[name]
            vals = profile[name]
            if vals.isna().any():
                raise ValueError(f"profile column {name!r} has missing values")
            pos = lev.get_indexer(vals)
            if (pos < 0).any():
                bad = list(pd.unique(vals[pos < 0]))[:5]
                raise ValueError(f"profile column {name!r} has levels {bad} not seen in "
                                 f"the fitted data ({list(lev)})")
            for j in range(1, len(lev)):
                cols.append((pos == j).astype(np.float64))
        else:
            cols.append(numeric_column(profile, name))
    return np.column_stack(cols) if cols else np.zeros((len(profile), 0))
