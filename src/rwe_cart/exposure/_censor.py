"""Censoring at the exposure (the ZUMA-3 sensitivity convention): no exposure effect.

Public: :func:`censor_at_exposure` (generic), :func:`censor` (cohort).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from .._deprecate import renamed
from ..survival import validate as V
from ..survival.km import KaplanMeier, kaplan_meier
from ._result import ExposureEstimate
from ._common import count_ids
from .rows import hsct_frame
__all__ = ["censor_at_exposure", "censor", "DEFAULT_TIMES"]

#: Days at which survival is reported by default (6, 12 and 24 months, roughly).
DEFAULT_TIMES = (180.0, 365.0, 730.0)

_NOTE = ("not an exposure effect: estimates the endpoint in a world without the exposure "
         "only if censoring at it is independent of the outcome (exposed patients are "
         "selected, so it rarely is)")


def _summaries(kms: dict[str, KaplanMeier], times: np.ndarray, counts: dict) -> tuple:
    med, surv = [], []
    for label, km in kms.items():
        m = km.median().iloc[0]
        med.append({"analysis": label, "n": counts[label][0], "events": counts[label][1],
                    "censored_at_exposure": counts[label][2], "median": float(m["median"]),
                    "lower": float(m["lower"]), "upper": float(m["upper"])})
        at = km.at(times).set_index("time")
        for t in times:
            if t in at.index:
                r = at.loc[t]
                surv.append({"analysis": label, "time": float(t), "n_risk": int(r["n_risk"]),
                             "survival": float(r["survival"]), "lower": float(r["lower"]),
                             "upper": float(r["upper"])})
            else:  # after the last observation (R's extend = FALSE)
                surv.append({"analysis": label, "time": float(t), "n_risk": 0,
                             "survival": np.nan, "lower": np.nan, "upper": np.nan})
    return pd.DataFrame(med), pd.DataFrame(surv)


@renamed(entry="start")
def censor_at_exposure(data: pd.DataFrame, *, time: str, event: str, exposure_time: str,
                       times: Sequence[float] = DEFAULT_TIMES, start: str | None = None,
                       id: str | None = None, conf_type: str = "log", alpha: float = 0.05
                       ) -> ExposureEstimate:
    """Kaplan–Meier with and without censoring at the exposure time.

    Parameters
    ----------
    data : DataFrame
        One row per subject.
    time, event : str
        Follow-up and 0/1 event.
    exposure_time : str
        Time of the exposure (NaN: never). A subject exposed before ``time`` is censored
        at the exposure; an event on the exposure day is kept (the ``(start, stop]``
        convention puts that day before the exposure).
    times : sequence of float
        Times for survival estimates.
    start : str, optional
        Interval start (delayed entry) column, as :func:`rwe_cart.kaplan_meier`
        (``entry`` before 0.2.0).
    id : str, optional
        Subject id (counted as patients).
    conf_type, alpha
        Confidence limits, as :func:`rwe_cart.kaplan_meier`.

    Returns
    -------
    ExposureEstimate
        ``hr``, ``lower``, ``upper``, ``p`` are NaN (no exposure contrast). ``events`` count
        the events left after censoring. ``extra``: ``km`` (all follow-up), ``km_censored``,
        ``medians`` (analysis, n, events, censored_at_exposure, median, lower, upper) and
        ``survival`` (analysis, time, n_risk, survival, lower, upper), ``frame`` (the
        censored data).

    Notes
    -----
    This is the convention of trials that censor at a subsequent transplant (e.g. ZUMA-3's
    sensitivity analyses). The censored curve estimates the endpoint had nobody been
    exposed only if exposure is independent censoring, which selection for the exposure
    (being alive, in remission, fit) violates; and it says nothing about the exposure's
    effect. Report it as a description, next to the methods that do estimate an effect.

    References
    ----------
    .. [1] Shah BD, Ghobadi A, Oluwole OO, et al. KTE-X19 for relapsed or refractory adult
           B-cell acute lymphoblastic leukaemia: phase 2 results of the single-arm,
           open-label, multicentre ZUMA-3 study. Lancet. 2021;398:491-502.
    .. [2] Suissa S. Immortal time bias in pharmacoepidemiology. Am J Epidemiol.
           2008;167:492-499.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> frame = rc.exposure.hsct_frame(rc.datasets.rocca_like(), "PFS")
    >>> est = rc.censor_at_exposure(frame, time="time", event="event",
    ...                             exposure_time="t_hsct_remission", times=[365])
    >>> est.method, est.has_hr
    ('censor', False)
    >>> est.extra["n_censored_at_exposure"]
    30
    >>> est.extra["survival"].round(3)
                   analysis   time  n_risk  survival  lower  upper
    0         all follow-up  365.0      40     0.465  0.389  0.554
    1  censored at exposure  365.0      23     0.419  0.333  0.526
    """
    V.check_frame(data, [("time", time), ("event", event), ("exposure_time", exposure_time),
                         ("start", start), ("id", id)])
    t = data[time].to_numpy(dtype=float)
    ev = V.event_array(data, event).astype(np.int64)
    xt = data[exposure_time].to_numpy(dtype=float, na_value=np.nan)
    lo = data[start].to_numpy(dtype=float) if start is not None else np.full(len(data), -np.inf)
    hit = ~np.isnan(xt) & (xt < t)
    cens = data.copy()
    cens[time] = np.where(hit, xt, t)
    cens[event] = np.where(hit, 0, ev)
    # exposed on or before entry: censored before ever being at risk
    never = hit & (xt <= lo)
    cens = cens[~never]
    cens.attrs = dict(data.attrs)
    tt = np.sort(np.asarray(times, dtype=float).ravel())
    km = kaplan_meier(data, time, event, start=start, conf_type=conf_type, alpha=alpha)
    kmc = kaplan_meier(cens, time, event, start=start, conf_type=conf_type, alpha=alpha)
    n = count_ids(data, id)
    n_hit = int(hit.sum())
    labels = ("all follow-up", "censored at exposure")
    counts = {labels[0]: (n, int(ev.sum()), 0),
              labels[1]: (n - int(never.sum()), int(cens[event].sum()), n_hit)}
    med, surv = _summaries({labels[0]: km, labels[1]: kmc}, tt, counts)
    return ExposureEstimate(
        method="censor",
        estimand=("no exposure effect: the endpoint with follow-up censored at the exposure "
                  "(Kaplan–Meier median and survival with vs without that censoring)"),
        population=data.attrs.get("population", "all rows"),
        hr=np.nan, lower=np.nan, upper=np.nan, p=np.nan,
        n=n, events=int(cens[event].sum()),
        note=_NOTE + f"; {n_hit} censored at the exposure",
        endpoint=data.attrs.get("definition", "") or "",
        extra={"km": km, "km_censored": kmc, "medians": med, "survival": surv,
               "n_censored_at_exposure": n_hit, "times": tuple(tt), "frame": cens},
    )


def censor(cohort, endpoint: str = "PFS", *, times: Sequence[float] = DEFAULT_TIMES,
           population: str = "all", alpha: float = 0.05) -> ExposureEstimate:
    """The endpoint censored at post-infusion allo-HSCT, with vs without that censoring.

    Parameters
    ----------
    cohort : Cohort
    endpoint : {"PFS", "OS", "EFS", "RFS", "DOR"}
    times : sequence of float
        Days for survival estimates (default 180, 365, 730).
    population : {"all", "responders"}
        All infused (default) or responders (at risk from their response day).
    alpha : float

    Returns
    -------
    ExposureEstimate
        No hazard ratio (NaN); ``extra["medians"]`` and ``extra["survival"]`` compare the
        Kaplan–Meier estimates with and without censoring at HSCT.

    Notes
    -----
    Censors at the first post-infusion allo-HSCT of any kind, as
    ``Cohort.endpoint(..., censor_at_hsct=True)`` (for PFS a salvage HSCT comes after the
    event, so only consolidative HSCTs censor; for OS a salvage HSCT censors too). It
    estimates the endpoint in a world without HSCT only under independent censoring — not
    an effect of HSCT.
    """
    frame = hsct_frame(cohort, endpoint, population=population)
    entry = "entry" if population == "responders" and frame.attrs["endpoint"] != "DOR" else None
    if entry is not None:  # no follow-up after the response day: never at risk
        attrs = frame.attrs
        frame = frame[frame["time"] > frame["entry"]].reset_index(drop=True)
        frame.attrs = attrs
    est = censor_at_exposure(frame, time="time", event="event", exposure_time="t_hsct_any",
                             times=times, start=entry, id="patient_id", alpha=alpha)
    key = frame.attrs["endpoint"]
    ref = cohort.endpoint(key, censor_at_hsct=True)
    labels = {"all follow-up": "all follow-up", "censored at exposure": "censored at HSCT"}
    med = est.extra["medians"].replace({"analysis": labels})
    surv = est.extra["survival"].replace({"analysis": labels})
    n_hit = est.extra["n_censored_at_exposure"]
    m = med.set_index("analysis")["median"]
    return replace(
        est,
        estimand=(f"no HSCT effect: {key} with follow-up censored at allo-HSCT (Kaplan–Meier "
                  f"median {_days(m['censored at HSCT'])} censored vs "
                  f"{_days(m['all follow-up'])} uncensored)"),
        note=("not an HSCT effect: estimates the endpoint in a world without HSCT only under "
              f"independent censoring (transplanted patients are selected); {n_hit} patient(s) "
              "censored at HSCT"),
        endpoint=ref.attrs.get("definition", est.endpoint),
        extra=dict(est.extra, medians=med, survival=surv, frame=frame),
    )


def _days(x: float) -> str:
    return "not reached" if not np.isfinite(x) else f"{x:g} days"
