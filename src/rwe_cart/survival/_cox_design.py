"""Columns to arrays for the Cox model: checks shared by :func:`~.cox.cox` and
:func:`~.cox.cox_coef` and R's centring (the design matrix itself: :mod:`.design`).

Errors name the column, the rows and the rule; nothing here fits anything.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from . import validate as V
from .design import design_matrix, is_numeric, numeric_column

__all__ = ["Inputs", "read_inputs", "r_means"]


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
