"""The one builder of HSCT rows: who is exposed (HSCT in remission, the cohort's
``hsct_in_remission``), from when, on which time scale (the DOR shift), with which delayed
entry, and who cannot be at risk. Every exposure method and ``Cohort.timeline`` take their
rows from here.

Convention (docs/data-contract.md): a patient is exposed on ``(t_hsct, ∞)``; an event on
the HSCT day counts as unexposed, as R's ``tmerge(tdc())`` and ``(start, stop]`` rows. A
salvage HSCT after relapse never switches the exposure on.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..endpoints import needs
from ..schema import RESPONSES_CR
from ..survival.cox import NotEstimableError
from ..timeline import split_timeline
from ._common import (EVENT_ENDPOINTS, as_list, check_population, clean_columns, endpoint_key,
                      population_words)

__all__ = ["HSCT_NEEDS", "RESERVED", "require_hsct", "hsct_frame", "hsct_rows",
           "excluded_frame"]

#: Contract columns HSCT in remission is read from (with the endpoint's own, `endpoints.needs`):
#: a transplant counts as exposure only after a CR/CRi/CRh and before any relapse.
HSCT_NEEDS = ("date_hsct", "date_response", "best_response", "date_relapse")
#: Columns the row builders add; covariates may not use these names.
RESERVED = ("patient_id", "time", "event", "cause", "start", "stop", "entry", "hsct",
            "hsct_ever", "t_hsct_remission", "t_hsct_any", "t_response", "t_relapse")


def require_hsct(cohort, endpoint: str | None, analysis: str) -> None:
    """Raise `UnavailableInputError` when the cohort cannot tell who had an HSCT in
    remission, or lacks what ``endpoint`` needs."""
    cols = HSCT_NEEDS + (needs(endpoint) if endpoint is not None else ())
    cohort.require(cols, f"{analysis} (allo-HSCT in remission)")


def hsct_frame(cohort, endpoint: str = "PFS", *, population: str = "all",
               columns: Sequence[str] = (), delayed_entry: bool = True,
               allowed: Sequence[str] = EVENT_ENDPOINTS,
               endpoint_options: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per patient of an endpoint with the HSCT and remission times alongside.

    Parameters
    ----------
    cohort : Cohort
    endpoint : str
        ``"PFS"``, ``"OS"``, ``"EFS"``, ``"RFS"`` or ``"DOR"`` (and ``"CIR"`` where allowed).
    population : {"all", "responders"}
        ``"responders"`` keeps CR/CRi/CRh patients.
    columns : sequence of str
        Patient columns to carry (covariates, strata, effect modifiers); a missing value
        in the population is an error naming the patients.
    delayed_entry : bool
        For responders: ``entry`` = response day (else 0).
    allowed : sequence of str
        The endpoints the caller accepts.
    endpoint_options : mapping, optional
        Options of :meth:`rwe_cart.Cohort.endpoint` (``censor_at_hsct``, ``horizon``, …).

    Returns
    -------
    DataFrame
        ``patient_id, time, event`` (or ``cause``), ``hsct_ever`` (1 if HSCT in remission
        was observed), ``t_hsct_remission`` (NaN if none), ``t_hsct_any`` (first
        post-infusion HSCT, salvage included), ``t_response``, ``t_relapse``, ``entry``
        and `columns`; all times on the endpoint's time scale (days from infusion, or from
        response for DOR). ``attrs``: ``definition``, ``endpoint``, ``population``.
    """
    key = endpoint_key(endpoint, allowed)
    check_population(population)
    columns = as_list(columns)
    clash = [c for c in columns if c in RESERVED]
    if clash:
        raise ValueError(f"column names {clash} are reserved by the exposure methods "
                         f"({', '.join(RESERVED)}); rename them in the cohort")
    missing = [c for c in columns if c not in cohort.patients]
    if missing:
        raise ValueError(f"columns {missing} are not in the cohort's patient table")
    require_hsct(cohort, key, "the HSCT methods")
    ep = cohort.endpoint(key, with_columns=columns, **dict(endpoint_options or {}))
    p = cohort.patients.set_index("patient_id")
    ids = ep["patient_id"]

    def day(col: str) -> np.ndarray:
        return ids.map(p[col]).to_numpy(dtype=float)

    zero = day("t_response") if key == "DOR" else np.zeros(len(ep))
    in_rem = ids.map(p["hsct_in_remission"]).to_numpy(dtype=bool)
    t_hsct = day("t_hsct")
    ep["hsct_ever"] = in_rem.astype(np.int64)
    ep["t_hsct_remission"] = np.where(in_rem, t_hsct, np.nan) - zero
    ep["t_hsct_any"] = t_hsct - zero
    ep["t_response"] = day("t_response") - zero
    ep["t_relapse"] = day("t_relapse") - zero
    responder = ids.map(p["best_response"].isin(RESPONSES_CR)).to_numpy(dtype=bool) \
        if "best_response" in p else np.zeros(len(ep), dtype=bool)
    if population == "responders" and key != "DOR":
        if not responder.any():
            raise NotEstimableError("population='responders' but the cohort has no CR/CRi/CRh patient")
        ep = ep[responder].reset_index(drop=True)
        ep["entry"] = ep["t_response"].to_numpy() if delayed_entry else 0.0
    else:
        ep["entry"] = 0.0
    words = population_words(population, key, delayed_entry=delayed_entry)
    ep = clean_columns(ep, columns, f"the analysis population ({words})")
    ep.attrs.update(population=words, population_key=population, endpoint=key)
    return ep


def hsct_rows(cohort, endpoint: str = "PFS", *, population: str = "responders",
              columns: Sequence[str] = (), allowed: Sequence[str] = EVENT_ENDPOINTS,
              endpoint_options: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Counting-process rows with ``hsct`` = HSCT in remission as a time-varying 0/1 column.

    Parameters
    ----------
    cohort, endpoint, population, columns, allowed, endpoint_options
        As :func:`hsct_frame`. ``population="responders"`` (default) starts each
        responder's follow-up at the response day on the infusion time scale (delayed
        entry, i.e. left truncation); ``"all"`` starts everyone at infusion.

    Returns
    -------
    DataFrame
        ``patient_id, start, stop, event`` (or ``cause``), ``hsct`` and `columns` (plus
        the time columns of :func:`hsct_frame`). ``attrs["excluded"]`` is the tuple of
        patient ids with no follow-up after entry (event or censoring on or before the
        entry day; a ``(start, stop]`` row needs stop > start, as R's ``coxph``); see
        :func:`excluded_frame`.

    Notes
    -----
    ``hsct`` is 1 on ``(t_hsct, stop]``: an event on the HSCT day counts as unexposed
    (R's ``tmerge``). An HSCT on the response day is exposure from entry on.
    """
    ep = hsct_frame(cohort, endpoint, population=population, columns=columns, allowed=allowed,
                    endpoint_options=endpoint_options)
    none = ep["time"].to_numpy() <= ep["entry"].to_numpy()
    excluded = tuple(ep.loc[none, "patient_id"].tolist())
    kept = ep[~none].reset_index(drop=True)
    if kept.empty:
        raise ValueError("no patient has follow-up after entry in this population")
    status = "cause" if "cause" in kept else "event"
    rows = split_timeline(kept, id="patient_id", time="time", event=status,
                          exposures={"hsct": "t_hsct_remission"}, start="entry")
    rows = rows.drop(columns=["entry"])
    first = ["patient_id", "start", "stop", status, "hsct"]
    rows = rows[first + [c for c in rows.columns if c not in first]]
    rows.attrs.update(ep.attrs)
    rows.attrs.update(excluded=excluded, n_excluded=len(excluded))
    return rows


def excluded_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """patient_id, reason: the patients :func:`hsct_rows` left out (no follow-up after
    entry)."""
    ids = list(rows.attrs.get("excluded", ()))
    return pd.DataFrame({"patient_id": ids,
                         "reason": ["no follow-up after entry (event or censoring on or "
                                    "before the entry day)"] * len(ids)})
