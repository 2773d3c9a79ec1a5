"""HSCT as a time-dependent covariate: Cox model and the Mantel–Byar test.

Public, generic (plain frames, no CAR-T names): :func:`time_varying_cox`,
:func:`mantel_byar_test`. Cohort level: :func:`time_varying`, :func:`mantel_byar`, and the
row builders :func:`hsct_frame` (one row per patient) and :func:`hsct_rows`
(counting-process rows) shared by the other exposure methods.

Convention (docs/data-contract.md): a patient is exposed on ``(t_hsct, ∞)``; an event on the HSCT day
counts as unexposed, as R's ``tmerge(tdc())`` and ``(start, stop]`` rows. Only a
consolidative HSCT given in remission is exposure (``Cohort.patients.hsct_in_remission``);
a salvage HSCT after relapse never switches the exposure on.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from ..endpoints import needs
from ..schema import RESPONSES_CR
from ..survival import _validate as V
from ..survival.cox import CoxModel, NotEstimableError, cox
from ..survival.results import TestResult
from ..timeline import split_timeline
from ._result import ExposureEstimate

__all__ = ["time_varying_cox", "mantel_byar_test", "time_varying", "mantel_byar",
           "hsct_frame", "hsct_rows", "excluded_frame", "POPULATIONS"]

POPULATIONS = ("responders", "all")
#: Endpoints with one event (0/1) that the HSCT methods accept.
EVENT_ENDPOINTS = ("PFS", "OS", "EFS", "RFS", "DOR")
#: Contract columns HSCT in remission is read from (with the endpoint's own, `endpoints.needs`):
#: a transplant counts as exposure only after a CR/CRi/CRh and before any relapse.
HSCT_NEEDS = ("date_hsct", "date_response", "best_response", "date_relapse")
#: Columns the row builders add; covariates may not use these names.
RESERVED = ("patient_id", "time", "event", "cause", "start", "stop", "entry", "hsct",
            "hsct_ever", "t_hsct_remission", "t_hsct_any", "t_response", "t_relapse")


# ---------------------------------------------------------------------------------------
# Small shared helpers (used by the other exposure modules too)
# ---------------------------------------------------------------------------------------
def require_hsct(cohort, endpoint: str | None, analysis: str) -> None:
    """Raise `UnavailableInputError` when the cohort cannot tell who had an HSCT in
    remission, or lacks what ``endpoint`` needs."""
    cols = HSCT_NEEDS + (needs(endpoint) if endpoint is not None else ())
    cohort.require(cols, f"{analysis} (allo-HSCT in remission)")


def as_list(x: str | Sequence[str] | None) -> list[str]:
    """``None`` → [], ``"a"`` → ["a"], a sequence → list (order kept, duplicates removed)."""
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    return list(dict.fromkeys(x))


def exposure_array(data: pd.DataFrame, name: str) -> np.ndarray:
    """The 0/1 exposure column as int64; bool accepted; anything else is an error."""
    col = data[name]
    if pd.api.types.is_bool_dtype(col.dtype):
        if col.isna().any():
            bad = col.isna().to_numpy()
            raise ValueError(f"exposure column {name!r} has missing values "
                             f"({V.describe_rows(data, bad)})")
        return col.to_numpy(dtype=bool).astype(np.int64)
    if not pd.api.types.is_numeric_dtype(col.dtype):
        raise ValueError(f"exposure column {name!r} must be 0/1 (or bool), got dtype {col.dtype}")
    arr = col.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isin(arr, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"exposure column {name!r} must hold only 0 and 1; "
                         f"{int(bad.sum())} other or missing values ({V.describe_rows(data, bad)})")
    return arr.astype(np.int64)


def with_exposure(data: pd.DataFrame, name: str) -> pd.DataFrame:
    """`data` with the exposure column as int64 0/1 (so its Cox term is named `name`)."""
    arr = exposure_array(data, name)
    if data[name].dtype == np.int64:
        return data
    out = data.copy()
    out[name] = arr
    out.attrs = dict(data.attrs)
    return out


def count_ids(data: pd.DataFrame, id: str | None) -> int:
    """Patients: distinct ids, or rows when no id column is given."""
    return int(data[id].nunique()) if id is not None else len(data)


def strata_column(data: pd.DataFrame, strata: str | Sequence[str] | None
                  ) -> tuple[pd.DataFrame, str | None]:
    """One strata column from several (their values joined), as R's ``strata(a, b)``."""
    cols = as_list(strata)
    if not cols:
        return data, None
    if len(cols) == 1:
        return data, cols[0]
    V.check_frame(data, [("strata", c) for c in cols])
    name = "strata(" + ", ".join(cols) + ")"
    out = data.copy()
    out[name] = data[cols[0]].astype(str)
    for c in cols[1:]:
        out[name] = out[name] + ", " + data[c].astype(str)
    out.attrs = dict(data.attrs)
    return out, name


def adjusted_words(covariates: Sequence[str], strata: str | Sequence[str] | None = None) -> str:
    """``"adjusted for age, prior_hsct"`` / ``"unadjusted"`` (+ strata)."""
    cov = list(covariates)
    st = as_list(strata)
    words = ("adjusted for " + ", ".join(cov)) if cov else "unadjusted"
    if st:
        words += ("; " if cov else ", ") + "stratified by " + ", ".join(st)
    return words


def check_numbers(n_exposed: int, n_unexposed: int, events: int, what: str) -> None:
    if events == 0:
        raise NotEstimableError(f"{what}: no events, a hazard ratio is not estimable")
    if n_exposed == 0:
        raise NotEstimableError(f"{what}: nobody is exposed, a hazard ratio is not estimable")
    if n_unexposed == 0:
        raise NotEstimableError(f"{what}: everybody is exposed, a hazard ratio is not estimable")


def exposure_row(model: CoxModel, term: str) -> dict:
    """hr, lower, upper, p of one term of a fitted Cox model."""
    s = model.summary.set_index("term").loc[term]
    return {"hr": float(s["hr"]), "lower": float(s["lower"]), "upper": float(s["upper"]),
            "p": float(s["p"])}


# ---------------------------------------------------------------------------------------
# Cohort → patient frame / counting-process rows
# ---------------------------------------------------------------------------------------
def endpoint_key(endpoint: str, allowed: Sequence[str] = EVENT_ENDPOINTS) -> str:
    key = str(endpoint).upper()
    if key not in allowed:
        hint = (" (for CIR/NRM use rwe_cart.exposure.competing)" if key in ("CIR", "NRM") else "")
        raise ValueError(f"endpoint must be one of {', '.join(allowed)}, got {endpoint!r}{hint}")
    return key


def population_words(population: str, key: str, *, delayed_entry: bool = True) -> str:
    """Plain-words description of an analysis population."""
    if key == "DOR":
        return "responders (CR/CRi/CRh), from their first CR/CRi"
    if population == "responders":
        if delayed_entry:
            return ("responders (CR/CRi/CRh), at risk from their response day on the "
                    "infusion time scale (delayed entry)")
        return "responders (CR/CRi/CRh), from CAR-T infusion"
    return "all infused patients, from CAR-T infusion"


def _check_population(population: str) -> None:
    if population not in POPULATIONS:
        raise ValueError(f"population must be one of {POPULATIONS}, got {population!r}")


def _clean_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> pd.DataFrame:
    """Nullable (pandas NA) columns to plain numpy dtypes; a missing value is an error that
    names the patients."""
    for c in columns:
        col = frame[c]
        miss = col.isna().to_numpy()
        if miss.any():
            ids = ", ".join(map(str, frame.loc[miss, "patient_id"].head(5)))
            more = ", …" if miss.sum() > 5 else ""
            raise ValueError(
                f"column {c!r} is missing for {int(miss.sum())} of {len(frame)} patients in "
                f"{what} (patients {ids}{more}); drop the covariate, restrict the population "
                "(e.g. population='responders': MRD status exists only for responders) or "
                "impute it explicitly")
        if isinstance(col.dtype, pd.BooleanDtype):
            frame[c] = col.to_numpy(dtype=bool)
        elif isinstance(col.dtype, pd.api.extensions.ExtensionDtype) and \
                pd.api.types.is_numeric_dtype(col.dtype):
            frame[c] = col.to_numpy(dtype=np.float64)
    return frame


def hsct_frame(cohort, endpoint: str = "PFS", *, population: str = "all",
               columns: Sequence[str] = (), delayed_entry: bool = True,
               allowed: Sequence[str] = EVENT_ENDPOINTS) -> pd.DataFrame:
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
    _check_population(population)
    columns = as_list(columns)
    clash = [c for c in columns if c in RESERVED]
    if clash:
        raise ValueError(f"column names {clash} are reserved by the exposure methods "
                         f"({', '.join(RESERVED)}); rename them in the cohort")
    missing = [c for c in columns if c not in cohort.patients]
    if missing:
        raise ValueError(f"columns {missing} are not in the cohort's patient table")
    require_hsct(cohort, key, "the HSCT methods")
    ep = cohort.endpoint(key, with_columns=columns)
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
            raise ValueError("population='responders' but the cohort has no CR/CRi/CRh patient")
        ep = ep[responder].reset_index(drop=True)
        ep["entry"] = ep["t_response"].to_numpy() if delayed_entry else 0.0
    else:
        ep["entry"] = 0.0
    words = population_words(population, key, delayed_entry=delayed_entry)
    ep = _clean_columns(ep, columns, f"the analysis population ({words})")
    ep.attrs.update(population=words, population_key=population, endpoint=key)
    return ep


def hsct_rows(cohort, endpoint: str = "PFS", *, population: str = "responders",
              columns: Sequence[str] = (), allowed: Sequence[str] = EVENT_ENDPOINTS
              ) -> pd.DataFrame:
    """Counting-process rows with ``hsct`` = HSCT in remission as a time-varying 0/1 column.

    Parameters
    ----------
    cohort, endpoint, population, columns
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
    ep = hsct_frame(cohort, endpoint, population=population, columns=columns, allowed=allowed)
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


# ---------------------------------------------------------------------------------------
# Generic estimators
# ---------------------------------------------------------------------------------------
def time_varying_cox(rows: pd.DataFrame, *, start: str, stop: str, event: str, exposure: str,
                     covariates: Sequence[str] = (), id: str | None = None,
                     ties: str = "efron", strata: str | Sequence[str] | None = None,
                     robust: bool = False, cluster: str | None = None, alpha: float = 0.05,
                     firth: bool = False) -> ExposureEstimate:
    """Cox model with a time-dependent 0/1 exposure on counting-process rows.

    Parameters
    ----------
    rows : DataFrame
        One row per (subject, interval) ``(start, stop]``; the exposure is constant within
        a row (e.g. from :func:`rwe_cart.split_timeline`).
    start, stop, event : str
        Interval columns and the 0/1 event at ``stop``.
    exposure : str
        0/1 (or bool) column: the exposure status during the row.
    covariates : sequence of str
        Adjustment covariates (as :func:`rwe_cart.cox`: categorical columns become dummies).
    id : str, optional
        Subject id: patients are counted by it, and ``robust=True`` clusters on it.
    ties : {"efron", "breslow"}
        Efron (R's default) or Breslow.
    strata : str or sequence of str, optional
        Separate baseline hazards (several columns are crossed, as ``strata(a, b)``).
    robust : bool
        Sandwich variance clustered on ``cluster`` (default: ``id``), as R's
        ``+ cluster(id)``; the CI and p then use the robust SE.
    cluster : str, optional
        Cluster column for the robust variance (implies ``robust``).
    alpha : float
        1 − confidence level.
    firth : bool
        Fit the Firth-penalised Cox model (as :func:`rwe_cart.cox` with ``firth=True``),
        with a profile penalised-likelihood interval and p-value for the exposure: finite
        under monotone likelihood (no event among the exposed), less biased with few
        events. Not with ``robust``/``cluster``.

    Returns
    -------
    ExposureEstimate
        ``method="time_varying"``; ``hr`` etc. of the exposure term; ``extra["model"]``
        the :class:`~rwe_cart.CoxModel`.

    Notes
    -----
    Fits R's ``coxph(Surv(start, stop, event) ~ exposure + covariates)``; a row is at
    risk at t when start < t <= stop. Because exposure is switched on only when it
    happens, the comparison at each event time is between subjects exposed *by then* and
    those not (yet) exposed, which removes the immortal-time bias of an ever/never
    comparison (Mantel & Byar 1974; Suissa 2008). It remains a conditional (hazard)
    contrast and needs no unmeasured confounding of the exposure.

    References
    ----------
    .. [1] Mantel N, Byar DP. Evaluation of response-time data involving transient states:
           an illustration using heart-transplant data. J Am Stat Assoc. 1974;69:81-86.
    .. [2] Andersen PK, Gill RD. Cox's regression model for counting processes: a large
           sample study. Ann Stat. 1982;10:1100-1120.
    .. [3] Suissa S. Immortal time bias in pharmacoepidemiology. Am J Epidemiol.
           2008;167:492-499.
    .. [4] Therneau TM, Crowson C, Atkinson E. Using time dependent covariates and time
           dependent coefficients in the Cox model. R package survival vignette.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> rows = rc.exposure.hsct_rows(rc.datasets.rocca_like(), "PFS")
    >>> rows[["patient_id", "start", "stop", "event", "hsct"]].head(3)
      patient_id  start   stop  event  hsct
    0      R0001   80.0  828.0      0     0
    1      R0002   68.0   88.0      0     0
    2      R0002   88.0  638.0      0     1
    >>> est = rc.time_varying_cox(rows, start="start", stop="stop", event="event",
    ...                           exposure="hsct", id="patient_id")
    >>> round(est.hr, 3), round(est.lower, 3), round(est.upper, 3)
    (0.439, 0.182, 1.056)
    >>> est.n, est.events
    (143, 56)
    """
    covariates = as_list(covariates)
    V.check_frame(rows, [("start", start), ("stop", stop), ("event", event),
                         ("exposure", exposure), ("id", id), ("cluster", cluster)]
                  + [("covariates", c) for c in covariates])
    if exposure in covariates:
        raise ValueError(f"the exposure {exposure!r} is also listed among the covariates")
    if firth and (robust or cluster is not None):
        raise ValueError("firth=True has no robust (sandwich) variance; drop robust/cluster")
    data = with_exposure(rows, exposure)
    data, st = strata_column(data, strata)
    if cluster is None and robust:
        if id is None:
            raise ValueError("robust=True on (start, stop] rows needs id= (or cluster=): the "
                             "rows of one subject are not independent")
        cluster = id
    robust = bool(robust or cluster is not None)
    x = data[exposure].to_numpy()
    ev = V.event_array(data, event)
    check_numbers(int((x == 1).sum()), int((x == 0).sum()), int(ev.sum()), "time-varying Cox")
    model = cox(data, time=stop, start=start, event=event, covariates=[exposure, *covariates],
                ties=ties, strata=st, cluster=cluster if robust else None,
                robust=robust if robust else None, alpha=alpha, firth=firth,
                profile=[exposure] if firth else None)
    ids = data[id] if id is not None else None
    n_exposed = int(ids[x == 1].nunique()) if ids is not None else int((x == 1).sum())
    definition = rows.attrs.get("definition", "") or ""
    return ExposureEstimate(
        method="time_varying",
        estimand=(f"hazard ratio while exposed ({exposure} = 1) vs not (yet) exposed, the "
                  f"exposure a time-dependent covariate; {adjusted_words(covariates, strata)}"),
        population=rows.attrs.get("population", "all rows"),
        **exposure_row(model, exposure),
        n=count_ids(data, id), events=int(ev.sum()),
        note=("exposure switched on at its own time (no immortal time); "
              "needs no unmeasured confounding"
              + ("; Firth-penalised fit, profile-likelihood interval" if firth else "")),
        endpoint=definition,
        extra={"model": model, "n_rows": len(data), "n_exposed": n_exposed,
               "covariates": tuple(covariates), "strata": as_list(strata), "ties": ties,
               "robust": robust, "cluster": cluster, "firth": bool(firth)},
    )


def _observed_expected(start: np.ndarray, stop: np.ndarray, event: np.ndarray,
                       x: np.ndarray) -> tuple[float, float, float]:
    """Events while exposed (O), their expectation under no effect (E) and the variance
    of O − E (Breslow/binomial), summed over the distinct event times; vectorised."""
    t = np.unique(stop[event == 1])
    s_all, e_all = np.sort(start), np.sort(stop)
    s_x, e_x = np.sort(start[x == 1]), np.sort(stop[x == 1])
    # at risk at t: start < t <= stop  ->  #(start < t) - #(stop < t)
    n = np.searchsorted(s_all, t, side="left") - np.searchsorted(e_all, t, side="left")
    n1 = np.searchsorted(s_x, t, side="left") - np.searchsorted(e_x, t, side="left")
    d = np.bincount(np.searchsorted(t, stop[event == 1]), minlength=t.size)
    p1 = n1 / n
    return float(event[x == 1].sum()), float((d * p1).sum()), float((d * p1 * (1 - p1)).sum())


def mantel_byar_test(rows: pd.DataFrame, *, start: str, stop: str, event: str, exposure: str,
                     id: str | None = None, alpha: float = 0.05) -> ExposureEstimate:
    """Mantel–Byar test: the score test of a time-dependent 0/1 exposure (Breslow ties).

    Parameters
    ----------
    rows : DataFrame
        Counting-process rows ``(start, stop]`` with the exposure constant within a row.
    start, stop, event, exposure : str
        Column names (exposure 0/1 or bool).
    id : str, optional
        Subject id (patients are counted by it).
    alpha : float
        1 − confidence level of the hazard ratio reported with the test.

    Returns
    -------
    ExposureEstimate
        ``method="mantel_byar"``: ``p`` is the test's p-value; ``hr``/``lower``/``upper``
        come from the Breslow fit of the exposure alone. ``extra``: ``statistic``, ``df``,
        ``p_value``, ``test`` (a :class:`~rwe_cart.TestResult`), ``observed`` and
        ``expected`` events while exposed, ``variance`` of O − E, ``model``.

    Notes
    -----
    The test compares, at each event time, the events among subjects exposed *by then*
    with their expectation given the numbers at risk in each state, so a subject counts
    as unexposed until the exposure happens (Mantel & Byar 1974). It equals R's
    ``summary(coxph(Surv(start, stop, event) ~ exposure, ties = "breslow"))$sctest``:
    statistic (O − E)² / V with V = Σ d_j p_j (1 − p_j), p_j the exposed share at risk.

    References
    ----------
    .. [1] Mantel N, Byar DP. Evaluation of response-time data involving transient states:
           an illustration using heart-transplant data. J Am Stat Assoc. 1974;69:81-86.
    .. [2] Suissa S. Immortal time bias in pharmacoepidemiology. Am J Epidemiol.
           2008;167:492-499.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> rows = rc.exposure.hsct_rows(rc.datasets.rocca_like(), "PFS")
    >>> est = rc.mantel_byar_test(rows, start="start", stop="stop", event="event",
    ...                           exposure="hsct", id="patient_id")
    >>> est.method, round(est.p, 4)
    ('mantel_byar', 0.0595)
    """
    V.check_frame(rows, [("start", start), ("stop", stop), ("event", event),
                         ("exposure", exposure), ("id", id)])
    data = with_exposure(rows, exposure)
    x = data[exposure].to_numpy()
    ev = V.event_array(data, event)
    check_numbers(int((x == 1).sum()), int((x == 0).sum()), int(ev.sum()), "Mantel–Byar test")
    model = cox(data, time=stop, start=start, event=event, covariates=[exposure],
                ties="breslow", alpha=alpha)
    score = model.test("score")
    obs, exp_, var = _observed_expected(data[start].to_numpy(dtype=float),
                                        data[stop].to_numpy(dtype=float), ev.astype(np.int64), x)
    test = TestResult(name="Mantel–Byar test", statistic=score.statistic, df=score.df,
                      p_value=score.p_value,
                      meta={"model": model.formula, "observed": obs, "expected": exp_})
    row = exposure_row(model, exposure)
    row["p"] = score.p_value
    return ExposureEstimate(
        method="mantel_byar",
        estimand=(f"test of no difference in hazard between exposed ({exposure} = 1) and "
                  "not (yet) exposed time, the exposure time-dependent; HR from the "
                  "Breslow Cox fit, unadjusted"),
        population=rows.attrs.get("population", "all rows"),
        **row, n=count_ids(data, id), events=int(ev.sum()),
        note=(f"score test {score.statistic:.3g} on {score.df:g} df; observed {obs:g} vs "
              f"expected {exp_:.1f} events while exposed; unadjusted"),
        endpoint=rows.attrs.get("definition", "") or "",
        extra={"statistic": score.statistic, "df": score.df, "p_value": score.p_value,
               "test": test, "observed": obs, "expected": exp_, "variance": var,
               "model": model, "n_rows": len(data)},
    )


# ---------------------------------------------------------------------------------------
# Cohort level
# ---------------------------------------------------------------------------------------
def time_varying(cohort, endpoint: str = "PFS", *, covariates: Sequence[str] = (),
                 population: str = "responders", strata: str | Sequence[str] | None = None,
                 ties: str = "efron", robust: bool = False, alpha: float = 0.05,
                 firth: bool = False) -> ExposureEstimate:
    """Effect of HSCT in remission on an endpoint, HSCT a time-dependent covariate.

    Parameters
    ----------
    cohort : Cohort
    endpoint : {"PFS", "OS", "EFS", "RFS", "DOR"}
    covariates : sequence of str
        Baseline patient columns to adjust for (e.g. ``["mrd_negative", "prior_hsct",
        "age"]``, the confounders of the bundled cohorts' generator).
    population : {"responders", "all"}
        ``"responders"`` (default): CR/CRi/CRh patients, at risk from their response day on
        the infusion time scale (delayed entry / left truncation: only patients in
        remission can be transplanted, so the comparison starts there). ``"all"``: every
        infused patient from day 0.
    strata : str or sequence of str, optional
        Baseline factors given their own baseline hazard.
    ties : {"efron", "breslow"}
    robust : bool
        Sandwich SE clustered by patient.
    alpha : float
    firth : bool
        Firth-penalised fit, as :func:`time_varying_cox`.

    Returns
    -------
    ExposureEstimate
        ``extra["model"]`` is the Cox model, ``extra["rows"]`` the counting-process rows.

    Notes
    -----
    A patient is exposed from the day after the HSCT (``(start, stop]`` rows; an event on
    the HSCT day counts as unexposed). HSCT after relapse (salvage) is never exposure.
    Patients whose event or censoring falls on or before their entry day cannot be at risk
    and are listed in ``extra["excluded"]``.

    References
    ----------
    .. [1] Mantel N, Byar DP. J Am Stat Assoc. 1974;69:81-86.
    .. [2] Suissa S. Immortal time bias in pharmacoepidemiology. Am J Epidemiol.
           2008;167:492-499.
    """
    covariates = as_list(covariates)
    rows = hsct_rows(cohort, endpoint, population=population,
                     columns=covariates + as_list(strata))
    est = time_varying_cox(rows, start="start", stop="stop", event="event", exposure="hsct",
                           covariates=covariates, id="patient_id", ties=ties, strata=strata,
                           robust=robust, alpha=alpha, firth=firth)
    key = rows.attrs["endpoint"]
    adj = adjusted_words(covariates, strata)
    note = ("HSCT switched on at its date (no immortal time); "
            + ("unadjusted: confounding by MRD, prior HSCT, age possible"
               if not covariates and not strata else adj))
    if firth:
        note += "; Firth-penalised fit, profile-likelihood interval"
    if rows.attrs["n_excluded"]:
        note += f"; {rows.attrs['n_excluded']} patient(s) without follow-up after entry"
    extra = dict(est.extra, rows=rows, excluded=excluded_frame(rows), endpoint_name=key)
    return replace(est, estimand=(
        f"hazard ratio of {key} after allo-HSCT in remission vs not (yet) transplanted, "
        f"HSCT a time-dependent covariate, {adj}; among {est.population}"),
        note=note, extra=extra)


def mantel_byar(cohort, endpoint: str = "PFS", *, population: str = "responders",
                alpha: float = 0.05) -> ExposureEstimate:
    """Mantel–Byar test of HSCT in remission (time-dependent) on an endpoint.

    Parameters
    ----------
    cohort : Cohort
    endpoint : {"PFS", "OS", "EFS", "RFS", "DOR"}
    population : {"responders", "all"}
        As :func:`time_varying` (default: responders with delayed entry at response).
    alpha : float

    Returns
    -------
    ExposureEstimate
        ``p`` is the Mantel–Byar p-value; ``extra`` holds ``statistic``, ``df``,
        ``p_value``, ``test``, observed and expected events after HSCT.

    References
    ----------
    .. [1] Mantel N, Byar DP. Evaluation of response-time data involving transient states:
           an illustration using heart-transplant data. J Am Stat Assoc. 1974;69:81-86.
    """
    rows = hsct_rows(cohort, endpoint, population=population)
    est = mantel_byar_test(rows, start="start", stop="stop", event="event", exposure="hsct",
                           id="patient_id", alpha=alpha)
    key = rows.attrs["endpoint"]
    return replace(est, estimand=(
        f"test of equal {key} hazard after allo-HSCT in remission vs not (yet) "
        f"transplanted (HSCT time-dependent, unadjusted; HR from the Breslow fit); "
        f"among {est.population}"),
        extra=dict(est.extra, rows=rows, excluded=excluded_frame(rows)))

