"""Clone–censor–weight on a CAR-T cohort: allo-HSCT in remission within a grace period
vs no allo-HSCT, from the rows of the one HSCT-row builder."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from .._deprecate import keyword_only
from ._ccw import ccw
from ._result import ExposureEstimate
from .rows import hsct_frame, require_hsct

__all__ = ["ccw_cohort"]

_ASSUMPTIONS = (
    "assumes no unmeasured confounding of treatment decisions given the weight-model "
    "covariates (exchangeability), positivity (every kind of patient could follow either "
    "strategy), a correct treatment model, and non-informative loss to follow-up; the "
    "treat-within-G arm follows the observed timing of treatment inside the grace period")

# ---------------------------------------------------------------------------------------
# CAR-T cohort
# ---------------------------------------------------------------------------------------
_EVENT_ENDPOINTS = ("PFS", "OS", "EFS", "RFS", "DOR")


@keyword_only("grace", "covariates")
def ccw_cohort(cohort, endpoint: str = "PFS", *, grace: float = 120,
               covariates: Sequence[str] = (), time_zero: Literal["response", "infusion"] = "response",
               horizons: Sequence[float] = (365.0,),
               weight_model: Literal["logistic", "cox"] = "logistic", stabilized: bool = True,
               truncate: float | tuple | None = None, n_boot: int = 200,
               seed: int = 20240630, backend: Literal["sequential", "joblib", "dask"] | None = None,
               interval: float = 7.0, n_jobs: int = -1, alpha: float = 0.05,
               max_failed: float = 0.05, progress: bool = False,
               hr_ci: Literal["sandwich", "bootstrap"] = "sandwich") -> ExposureEstimate:
    """Emulated target trial: allo-HSCT in remission within `grace` days vs no allo-HSCT.

    Parameters
    ----------
    cohort : Cohort
    endpoint : {"PFS", "OS", "EFS", "RFS", "DOR"}
        The outcome (definitions in docs/data-contract.md).
    grace : float
        Grace period in days from time zero.
    covariates : sequence of str
        Patient columns for the HSCT (censoring) model, e.g. ``("mrd_negative",
        "prior_hsct", "age")``: the confounders of the transplant decision.
    time_zero : {"response", "infusion"}
        ``"response"`` (default): responders (CR/CRi/CRh) from their first CR/CRi/CRh, the
        day they become eligible for a consolidative transplant (being in remission is
        the eligibility criterion). ``"infusion"``: every infused patient from the
        infusion, strategies "HSCT in remission within G days of infusion" vs none; a
        patient who never reaches remission cannot be transplanted in remission and is
        censored at G in the HSCT arm unless the endpoint came first, so use it with PFS
        or EFS (non-responders progress early) and only as a sensitivity analysis.
    horizons, weight_model, stabilized, truncate, n_boot, seed, backend
        As :func:`ccw`.
    interval, n_jobs, alpha, max_failed, progress, hr_ci
        As :func:`ccw`.

    Returns
    -------
    ExposureEstimate
        method ``"ccw"``; ``hr``/``lower``/``upper``/``p`` from the weighted Cox model
        (limits as ``hr_ci``); ``n`` eligible patients and their ``events``; ``extra``:
        ``result`` (the :class:`~rwe_cart.CCWResult`), ``km`` (weighted curves per arm, for
        ``plot_km``), ``contrasts`` (survival per arm, risk difference and survival ratio
        at the horizons with bootstrap limits), ``table``, ``weights`` (weight
        summaries), ``counts``, ``excluded``.

    Notes
    -----
    The exposure is consolidative allo-HSCT in remission (``hsct_in_remission``); HSCT
    after relapse is salvage, never the exposure, so it neither censors the no-HSCT clone
    nor counts as compliance. Loss to follow-up is assumed non-informative. The weight
    model runs on days from infusion (transplant programmes plan on that clock), with
    each patient entering at time zero.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> from rwe_cart.exposure import ccw_cohort
    >>> est = ccw_cohort(rc.datasets.rocca_like(), "PFS", grace=120,
    ...                  covariates=("mrd_negative", "prior_hsct", "age"), n_boot=0)
    >>> est.method, est.n
    ('ccw', 143)
    >>> est.extra["km"].groups
    ('no allo-HSCT', 'allo-HSCT within 120 days')
    """
    key = str(endpoint).upper()
    if key not in _EVENT_ENDPOINTS:
        raise ValueError(f"endpoint must be one of {_EVENT_ENDPOINTS} for CCW, got "
                         f"{endpoint!r}")
    if time_zero not in ("response", "infusion"):
        raise ValueError(f"time_zero must be 'response' or 'infusion', got {time_zero!r}")
    if key == "DOR" and time_zero != "response":
        raise ValueError("DOR starts at response; use time_zero='response'")
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    pts = cohort.patients
    missing = [c for c in covariates if c not in pts]
    if missing:
        raise ValueError(f"covariates {missing} are not columns of the cohort's patients")
    reserved = {"_time", "_event", "_t_zero", "_t_hsct"}
    clash = [c for c in covariates if c in reserved or c == "patient_id"]
    if clash:
        raise ValueError(f"covariate names {clash} are reserved; rename them")
    require_hsct(cohort, key, "clone-censor-weight")
    from_response = key == "DOR" or time_zero == "response"
    # the HSCT rows' builder: exposure, the DOR time shift and the responders
    ep = hsct_frame(cohort, key, population="responders" if from_response else "all",
                    columns=covariates, delayed_entry=False, allowed=_EVENT_ENDPOINTS)
    frame = pd.DataFrame({"patient_id": ep["patient_id"].to_numpy(),
                          "_time": ep["time"].to_numpy(dtype=float),
                          "_event": ep["event"].to_numpy(),
                          "_t_zero": ep["t_response"].to_numpy(dtype=float) if from_response
                          else 0.0,
                          "_t_hsct": ep["t_hsct_remission"].to_numpy(dtype=float)})
    population = ("responders (CR/CRi/CRh), from first CR/CRi/CRh" if from_response
                  else "all infused patients, from CAR-T infusion")
    for col in covariates:
        frame[col] = ep[col].to_numpy()
    G = float(grace)
    labels = ("no allo-HSCT", f"allo-HSCT within {G:g} days")
    zero_words = "first CR/CRi/CRh" if time_zero == "response" or key == "DOR" else "CAR-T infusion"
    res = ccw(frame, id="patient_id", time="_time", event="_event", exposure_time="_t_hsct",
              eligible_time="_t_zero", grace=G, covariates=covariates, horizons=horizons,
              weight_model=weight_model, stabilized=stabilized, truncate=truncate,
              n_boot=n_boot, seed=seed, backend=backend, labels=labels,
              time_zero=zero_words, interval=interval, n_jobs=n_jobs, alpha=alpha,
              max_failed=max_failed, progress=progress, hr_ci=hr_ci)
    res.km.meta["definition"] = ep.attrs.get("definition")
    hz = res.options["horizons"]
    when = ", ".join(_horizon_words(h) for h in hz)
    estimand = (f"per-protocol effect of allo-HSCT in remission within {G:g} days of "
                f"{zero_words} vs no allo-HSCT (emulated target trial, clone–censor–weight):"
                f" HR averaged over follow-up; risk difference and survival ratio at {when}")
    adj = (f"weights from a {weight_model} model of the HSCT hazard on "
           f"{', '.join(covariates)}" if covariates else
           f"weights from a {weight_model} model of the HSCT hazard without covariates "
           "(no confounding adjustment)")
    first = res.contrasts.iloc[0]
    rd = (f"risk difference at {_horizon_words(first['horizon'])} "
          f"{first['risk_difference']:+.3f}")
    if np.isfinite(first["risk_difference_lower"]):
        rd += (f" ({first['risk_difference_lower']:+.3f} to "
               f"{first['risk_difference_upper']:+.3f})")
    note = f"{rd}; {adj}; HR interval: {res.hr_ci_words}; {_ASSUMPTIONS}"
    if res.weight_model["note"]:
        note += f"; {res.weight_model['note']}"
    n_excl = len(res.excluded)
    if n_excl:
        population += f"; {n_excl} not eligible at time zero (see extra['excluded'])"
    extra = {"result": res, "km": res.km, "contrasts": res.contrasts, "table": res.table,
             "weights": res.weights, "counts": res.counts, "excluded": res.excluded,
             "bootstrap": res.bootstrap}
    return ExposureEstimate(method="ccw", estimand=estimand, population=population,
                            hr=res.hr, lower=res.lower, upper=res.upper, p=res.p, n=res.n,
                            events=res.events, note=note,
                            endpoint=ep.attrs.get("definition", key), extra=extra)


def _horizon_words(h: float) -> str:
    if h == 365:
        return "1 year"
    if h % 365 == 0:
        return f"{h / 365:g} years"
    return f"day {h:g}"
