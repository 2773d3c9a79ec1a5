"""HSCT as a time-dependent covariate: Cox model and the Mantel–Byar test.

Public, generic (plain frames, no CAR-T names): :func:`time_varying_cox`,
:func:`mantel_byar_test`. Cohort level: :func:`time_varying`, :func:`mantel_byar`, on the
counting-process rows of :func:`rwe_cart.exposure.rows.hsct_rows`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from .._deprecate import renamed
from ..survival import validate as V
from ..survival.cox import cox
from ..survival.results import TestResult
from ._common import (adjusted_words, as_list, check_numbers, count_ids, exposure_row,
                      strata_column, with_exposure)
from ._result import ExposureEstimate
from .rows import excluded_frame, hsct_rows

__all__ = ["time_varying_cox", "mantel_byar_test", "time_varying", "mantel_byar"]


# ---------------------------------------------------------------------------------------
# Generic estimators
# ---------------------------------------------------------------------------------------
@renamed(stop="time")
def time_varying_cox(rows: pd.DataFrame, *, start: str, time: str, event: str, exposure: str,
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
    start, time, event : str
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
    >>> est = rc.time_varying_cox(rows, start="start", time="stop", event="event",
    ...                           exposure="hsct", id="patient_id")
    >>> round(est.hr, 3), round(est.lower, 3), round(est.upper, 3)
    (0.439, 0.182, 1.056)
    >>> est.n, est.events
    (143, 56)
    """
    covariates = as_list(covariates)
    V.check_frame(rows, [("start", start), ("time", time), ("event", event),
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
    model = cox(data, time=time, start=start, event=event, covariates=[exposure, *covariates],
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


@renamed(stop="time")
def mantel_byar_test(rows: pd.DataFrame, *, start: str, time: str, event: str, exposure: str,
                     id: str | None = None, alpha: float = 0.05) -> ExposureEstimate:
    """Mantel–Byar test: the score test of a time-dependent 0/1 exposure (Breslow ties).

    Parameters
    ----------
    rows : DataFrame
        Counting-process rows ``(start, stop]`` with the exposure constant within a row.
    start, time, event, exposure : str
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
    >>> est = rc.mantel_byar_test(rows, start="start", time="stop", event="event",
    ...                           exposure="hsct", id="patient_id")
    >>> est.method, round(est.p, 4)
    ('mantel_byar', 0.0595)
    """
    V.check_frame(rows, [("start", start), ("time", time), ("event", event),
                         ("exposure", exposure), ("id", id)])
    data = with_exposure(rows, exposure)
    x = data[exposure].to_numpy()
    ev = V.event_array(data, event)
    check_numbers(int((x == 1).sum()), int((x == 0).sum()), int(ev.sum()), "Mantel–Byar test")
    model = cox(data, time=time, start=start, event=event, covariates=[exposure],
                ties="breslow", alpha=alpha)
    score = model.test("score")
    obs, exp_, var = _observed_expected(data[start].to_numpy(dtype=float),
                                        data[time].to_numpy(dtype=float), ev.astype(np.int64), x)
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
    est = time_varying_cox(rows, start="start", time="stop", event="event", exposure="hsct",
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
    est = mantel_byar_test(rows, start="start", time="stop", event="event", exposure="hsct",
                           id="patient_id", alpha=alpha)
    key = rows.attrs["endpoint"]
    return replace(est, estimand=(
        f"test of equal {key} hazard after allo-HSCT in remission vs not (yet) "
        f"transplanted (HSCT time-dependent, unadjusted; HR from the Breslow fit); "
        f"among {est.population}"),
        extra=dict(est.extra, rows=rows, excluded=excluded_frame(rows)))

