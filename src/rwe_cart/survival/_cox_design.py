"""Columns to arrays for the Cox model: checks shared by :func:`~.cox.cox` and
:func:`~.cox.cox_coef`, the design matrix (R-style treatment dummies) and R's centring.

Errors name the column, the rows and the rule; nothing here fits anything.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from . import _validate as V

__all__ = ["Design", "Inputs", "read_inputs", "design_matrix", "build_rows", "r_means",
           "is_numeric", "numeric_column"]


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


def design_matrix(data: pd.DataFrame, covariates: Sequence[str]):
    cols, names, terms, levels = [], [], {}, {}
    for name in covariates:
        col = data[name]
        if is_numeric(col):
            arr = numeric_column(data, name)
            if arr.size and np.all(arr == arr[0]):
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
        if len(lev) < 2:
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


def r_means(X: np.ndarray, w: np.ndarray | None, counting: bool) -> np.ndarray:
    """R's ``fit$means``: 0 for {-1,0,1} columns; weighted mean (right-censored, coxph.fit;
    `w` None: unweighted) or plain mean (counting process, agreg.fit) otherwise."""
    out = np.zeros(X.shape[1])
    if w is None and not counting:
        w = np.ones(X.shape[0])
    for j in range(X.shape[1]):
        x = X[:, j]
        if np.all((x == 0) | (x == 1) | (x == -1)):
            continue
        out[j] = x.mean() if counting else float(np.einsum("i,i->", w, x)) / float(w.sum())
    return out


class Inputs(NamedTuple):
    """Validated arrays of a Cox model, in the data's row order."""

    X: np.ndarray                  # (n, p) design, Fortran order
    names: list[str]               # coefficient names
    terms: dict
    levels: dict
    stop: np.ndarray
    start: np.ndarray | None
    event: np.ndarray
    weights: np.ndarray | None
    strata: np.ndarray | None      # integer codes
    strata_levels: Any


def read_inputs(data: pd.DataFrame, *, time: str, event: str, covariates: list[str],
            start: str | None, ties: str, strata: str | None, weights: str | None,
            cluster: str | None = None) -> Inputs:
    """Check the columns and options shared by :func:`cox` and :func:`cox_coef` and
    return the arrays (errors name the column, rows and rule)."""
    V.check_frame(data, [("time", time), ("event", event), ("start", start),
                         ("strata", strata), ("weights", weights), ("cluster", cluster)]
                  + [("covariates", c) for c in covariates])
    if not covariates:
        raise ValueError("covariates is empty; give at least one covariate column")
    if len(set(covariates)) != len(covariates):
        raise ValueError(f"covariates lists a column twice: {covariates}")
    used = {time, event, start, strata, weights, cluster} - {None}
    clash = [c for c in covariates if c in used]
    if clash:
        raise ValueError(f"column(s) {clash} used both as covariate and as "
                         "time/event/start/strata/weights/cluster")
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', got {ties!r}")

    stop, _, _ = V.time_array(data, time, allow_negative=start is not None)
    stop = stop.astype(np.float64, copy=False)
    st_arr = None
    if start is not None:
        st_arr, _, _ = V.time_array(data, start, what="start times", allow_negative=True)
        st_arr = st_arr.astype(np.float64, copy=False)
        V.check_entry_before_time(data, start, st_arr, time, stop)
    ev = V.event_array(data, event)
    X, names, terms, levels = design_matrix(data, covariates)

    w = None
    if weights is not None:
        col = data[weights]
        if not is_numeric(col):
            raise ValueError(f"column {weights!r} must hold numeric weights, got dtype "
                             f"{col.dtype}")
        w = numeric_column(data, weights, what="weights")
        bad = w <= 0
        if bad.any():
            k = int(bad.sum())
            raise ValueError(
                f"column {weights!r} has {k} weight{'s' if k != 1 else ''} <= 0 "
                f"({V.describe_rows(data, bad)}); case weights must be > 0 (as R)")
    g = s_levels = None
    if strata is not None:
        g, s_levels = V.group_codes(data, strata)
    if not ev.any():
        raise ValueError(f"column {event!r} has no events; a Cox model needs at least one")
    return Inputs(X, names, terms, levels, stop, st_arr, ev, w, g, s_levels)
