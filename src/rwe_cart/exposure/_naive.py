"""The naive ever-vs-never comparison — computed only to show its immortal-time bias.

Public: :func:`naive_cox` (generic), :func:`naive` (cohort).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..survival import validate as V
from ..survival.cox import cox
from ._result import BIASED_NOTE, ExposureEstimate
from ._common import (adjusted_words, as_list, check_numbers, count_ids, exposure_row,
                      with_exposure)
from .rows import hsct_frame

__all__ = ["naive_cox", "naive"]

_WHY = ("patients must survive event-free until their transplant to be counted as "
        "transplanted, so the exposed group is credited with that event-free time "
        "(Suissa 2008); shown only to illustrate the bias")


def naive_cox(data, *, time: str, event: str, exposure: str, covariates: Sequence[str] = (),
              id: str | None = None, ties: str = "efron", alpha: float = 0.05
              ) -> ExposureEstimate:
    """Cox model with *ever exposed* as a baseline covariate (immortal-time biased).

    Parameters
    ----------
    data : DataFrame
        One row per subject.
    time, event : str
        Follow-up from time zero and the 0/1 event.
    exposure : str
        0/1 (or bool): exposed at any time during follow-up.
    covariates : sequence of str
        Adjustment covariates.
    id : str, optional
        Subject id (counted as patients; one row per subject is expected).
    ties : {"efron", "breslow"}
    alpha : float

    Returns
    -------
    ExposureEstimate
        ``method="naive"``, note ``"biased: immortal time …"``; ``extra["model"]``.

    Notes
    -----
    R's ``coxph(Surv(time, event) ~ exposure + covariates)``. When the exposure happens
    after time zero, the time before it is "immortal" for the exposed group: the hazard
    ratio is biased towards benefit, often grossly (Stanford heart transplant: HR 0.17 for
    ever transplanted vs 1.0 with transplant time-dependent). Never report it as an effect.

    References
    ----------
    .. [1] Suissa S. Immortal time bias in pharmacoepidemiology. Am J Epidemiol.
           2008;167:492-499.
    .. [2] Mantel N, Byar DP. Evaluation of response-time data involving transient states:
           an illustration using heart-transplant data. J Am Stat Assoc. 1974;69:81-86.
    .. [3] Anderson JR, Cain KC, Gelber RD. Analysis of survival by tumor response.
           J Clin Oncol. 1983;1:710-719.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> frame = rc.exposure.hsct_frame(rc.datasets.rocca_like(), "PFS")
    >>> est = rc.naive_cox(frame, time="time", event="event", exposure="hsct_ever")
    >>> round(est.hr, 3), est.biased
    (0.201, True)
    >>> est.note.split(" — ")[0]
    'biased: immortal time'
    """
    covariates = as_list(covariates)
    V.check_frame(data, [("time", time), ("event", event), ("exposure", exposure), ("id", id)]
                  + [("covariates", c) for c in covariates])
    if exposure in covariates:
        raise ValueError(f"the exposure {exposure!r} is also listed among the covariates")
    frame = with_exposure(data, exposure)
    x = frame[exposure].to_numpy()
    ev = V.event_array(frame, event)
    check_numbers(int((x == 1).sum()), int((x == 0).sum()), int(ev.sum()), "naive Cox")
    model = cox(frame, time=time, event=event, covariates=[exposure, *covariates], ties=ties,
                alpha=alpha)
    return ExposureEstimate(
        method="naive",
        estimand=(f"NOT a valid effect: hazard ratio of ever exposed ({exposure} = 1) vs "
                  f"never, from time zero, as if the exposure were known at time zero; "
                  f"{adjusted_words(covariates)}"),
        population=data.attrs.get("population", "all rows"),
        **exposure_row(model, exposure),
        n=count_ids(frame, id), events=int(ev.sum()),
        note=f"{BIASED_NOTE} — {_WHY}",
        endpoint=data.attrs.get("definition", "") or "",
        extra={"model": model, "n_exposed": int(x.sum()), "covariates": tuple(covariates),
               "ties": ties},
    )


def naive(cohort, endpoint: str = "PFS", *, covariates: Sequence[str] = (),
          population: str = "all", alpha: float = 0.05) -> ExposureEstimate:
    """Naive Cox: ever-HSCT-in-remission as a baseline covariate, from CAR-T infusion.

    Parameters
    ----------
    cohort : Cohort
    endpoint : {"PFS", "OS", "EFS", "RFS", "DOR"}
    covariates : sequence of str
        Baseline patient columns to adjust for.
    population : {"all", "responders"}
        All infused patients (default) or responders only — both from infusion (DOR:
        from response), as naive analyses are done.
    alpha : float

    Returns
    -------
    ExposureEstimate
        The note always starts with ``"biased: immortal time"``.

    References
    ----------
    .. [1] Suissa S. Immortal time bias in pharmacoepidemiology. Am J Epidemiol.
           2008;167:492-499.
    """
    covariates = as_list(covariates)
    frame = hsct_frame(cohort, endpoint, population=population, columns=covariates,
                       delayed_entry=False)
    est = naive_cox(frame, time="time", event="event", exposure="hsct_ever",
                    covariates=covariates, id="patient_id", alpha=alpha)
    key = frame.attrs["endpoint"]
    return replace(est, estimand=(
        f"NOT a valid effect: {key} hazard ratio of ever vs never allo-HSCT in remission, "
        f"counted from {'response' if key == 'DOR' else 'infusion'} as if HSCT were known "
        f"on day 0; {adjusted_words(covariates)}"),
        extra=dict(est.extra, frame=frame))
