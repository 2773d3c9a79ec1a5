"""Endpoint definitions (docs/data-contract.md): a cohort becomes a tidy (patient_id, time, event) frame.

Each returned frame carries its definition in plain words in ``frame.attrs["definition"]``
so that results and reports can print exactly what was analysed.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .schema import RESPONSES_CR

__all__ = ["endpoint", "needs", "BASE_DEFINITIONS", "COMPETING", "ENDPOINTS", "NEEDS"]

BASE_DEFINITIONS = {
    "OS": "OS: time from CAR-T infusion to death from any cause; alive patients censored at last contact.",
    "PFS": "PFS: time from CAR-T infusion to relapse/progression or death from any cause, whichever "
           "came first; censored at last contact.",
    "EFS": "EFS: time from CAR-T infusion to no CR/CRi/CRh (event at day 0), relapse, or death from any "
           "cause; censored at last contact.",
    "RFS": "RFS: as EFS (ZUMA-3 convention: non-responders have an event at day 0); time from CAR-T "
           "infusion to relapse or death; censored at last contact.",
    "DOR": "DOR: responders (CR/CRi/CRh) only; time from first CR/CRi/CRh to relapse or death from any "
           "cause; censored at last contact.",
    "CIR": "CIR/NRM: competing risks from CAR-T infusion; cause 1 = relapse/progression, cause 2 = "
           "death without prior relapse (non-relapse mortality); censored (0) at last contact.",
}
BASE_DEFINITIONS["NRM"] = BASE_DEFINITIONS["CIR"]
ENDPOINTS = tuple(BASE_DEFINITIONS)
COMPETING = ("CIR", "NRM")
# The optional contract columns each endpoint is computed from (patient_id, the origin and
# date_last_contact are always there).
NEEDS = {
    "OS": ("date_death",),
    "PFS": ("date_relapse", "date_death"),
    "EFS": ("best_response", "date_relapse", "date_death"),
    "RFS": ("best_response", "date_relapse", "date_death"),
    "DOR": ("best_response", "date_response", "date_relapse", "date_death"),
    "CIR": ("date_relapse", "date_death"),
    "NRM": ("date_relapse", "date_death"),
}


def needs(name: str, *, censor_at_hsct: bool = False, censor_at_next_therapy: bool = False,
          origin: str = "infusion") -> tuple[str, ...]:
    """The contract columns endpoint ``name`` needs with these options (see `endpoint`)."""
    key = name.upper()
    if key not in NEEDS:
        raise ValueError(f"unknown endpoint {name!r}; choose one of {', '.join(ENDPOINTS)}")
    out = NEEDS[key]
    if origin == "response":
        out += ("best_response", "date_response")
    if censor_at_hsct:
        out += ("date_hsct",)
    if censor_at_next_therapy:
        out += ("date_next_therapy",)
    return tuple(dict.fromkeys(out))


def endpoint(cohort, name: str, *, censor_at_hsct: bool = False, censor_at_next_therapy: bool = False,
             horizon: float | None = None, origin: str = "infusion",
             with_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Derive an endpoint from a cohort.

    Parameters
    ----------
    cohort : Cohort
    name : {"OS", "PFS", "EFS", "RFS", "DOR", "CIR", "NRM"}
    censor_at_hsct : bool
        Sensitivity analysis: censor at any post-infusion allo-HSCT before the event. An event
        on the day of HSCT is kept (the ``(start, stop]`` convention counts that day as before
        the transplant).
    censor_at_next_therapy : bool
        Censor at the next anti-leukaemic therapy (other than HSCT) before the event.
    horizon : float, optional
        Administrative censoring at this many days.
    origin : {"infusion", "response"}
        For CIR/NRM only: ``"response"`` restricts to responders and starts at first CR/CRi/CRh.
    with_columns : sequence of str
        Patient columns to carry along (covariates, strata).

    Returns
    -------
    DataFrame
        patient_id, time (days), and event (0/1) or, for CIR/NRM, cause (0 censored,
        1 relapse, 2 non-relapse death); then ``with_columns``. ``attrs["definition"]`` holds
        the definition text and ``attrs["n_excluded"]`` the patients outside the endpoint's
        population (non-responders for DOR).

    Raises
    ------
    UnavailableInputError
        The endpoint needs a column the cohort's source does not provide (`needs`,
        `Cohort.unavailable`): DOR without response dates, PFS without relapse dates.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> cohort = rc.datasets.rocca_like()
    >>> pfs = rc.endpoint(cohort, "PFS", with_columns=["age"])
    >>> pfs.head(3)
      patient_id   time  event   age
    0      R0001  828.0      0  40.0
    1      R0002  638.0      0  38.0
    2      R0003   15.0      1  58.0
    >>> print(pfs.attrs["definition"])
    PFS: time from CAR-T infusion to relapse/progression or death from any cause, whichever came first; censored at last contact.
    >>> dor = cohort.endpoint("DOR")
    >>> len(dor), dor.attrs["n_excluded"]
    (151, 38)
    """
    key = name.upper()
    if key not in BASE_DEFINITIONS:
        raise ValueError(f"unknown endpoint {name!r}; choose one of {', '.join(ENDPOINTS)}")
    if origin not in ("infusion", "response"):
        raise ValueError(f"origin must be 'infusion' or 'response', got {origin!r}")
    if origin == "response" and key not in COMPETING:
        raise ValueError("origin='response' applies to CIR/NRM; DOR already starts at response")
    cohort.require(needs(key, censor_at_hsct=censor_at_hsct, censor_at_next_therapy=censor_at_next_therapy,
                         origin=origin), f"endpoint {key}")
    p = cohort.patients
    missing = [c for c in with_columns if c not in p]
    if missing:
        raise ValueError(f"with_columns names columns the cohort does not have: {missing}")
    relapse, death, last = (p[c].to_numpy(dtype=float) for c in ("t_relapse", "t_death", "t_last"))
    keep = np.ones(len(p), dtype=bool)
    zero = np.zeros(len(p))
    first_event = np.fmin(relapse, death)
    if key == "OS":
        t_event = death
    elif key == "PFS":
        t_event = first_event
    elif key in ("EFS", "RFS"):
        responder = _responders(p, key)
        t_event = np.where(responder, first_event, 0.0)
    elif key == "DOR" or origin == "response":
        keep = _responders(p, key)
        zero = p["t_response"].to_numpy(dtype=float)
        t_event = first_event
    else:
        t_event = first_event
    event = ~np.isnan(t_event)
    time = np.where(event, t_event, last)
    cause = None
    if key in COMPETING:
        # A relapse on the day of death counts as relapse (the relapse came first or with it).
        cause = np.where(~np.isnan(relapse), 1, np.where(event, 2, 0))
    definition = BASE_DEFINITIONS[key]
    if origin == "response":
        definition += " Population: responders; time from first CR/CRi/CRh."
    censors = []
    if censor_at_hsct:
        censors.append(("t_hsct", "censored at post-infusion allo-HSCT (sensitivity analysis)"))
    if censor_at_next_therapy:
        censors.append(("t_next_therapy", "censored at next anti-leukaemic therapy"))
    for column, words in censors:
        at = p[column].to_numpy(dtype=float)
        hit = ~np.isnan(at) & (at < time) & (at >= zero)
        time = np.where(hit, at, time)
        event = event & ~hit
        definition += f" Also {words}."
    time = time - zero
    if horizon is not None:
        if not np.isfinite(horizon) or horizon <= 0:
            raise ValueError(f"horizon must be a positive number of days, got {horizon!r}")
        late = time > horizon
        time = np.where(late, float(horizon), time)
        event = event & ~late
        definition += f" Administratively censored at day {horizon:g}."
    out = pd.DataFrame({"patient_id": p["patient_id"].to_numpy(), "time": time})
    if cause is None:
        out["event"] = event.astype(np.int64)
    else:
        out["cause"] = np.where(event, cause, 0).astype(np.int64)
    for col in with_columns:
        out[col] = p[col].to_numpy()
    out = out[keep].reset_index(drop=True)
    out.attrs.update(definition=definition, endpoint=key, n_excluded=int((~keep).sum()),
                     options={"censor_at_hsct": censor_at_hsct,
                              "censor_at_next_therapy": censor_at_next_therapy,
                              "horizon": horizon, "origin": origin})
    return out


def _responders(p: pd.DataFrame, key: str) -> np.ndarray:
    if "best_response" not in p:
        raise ValueError(f"endpoint {key} needs the column best_response, which the cohort lacks")
    unknown = p["best_response"].isna()
    if unknown.any():
        ids = ", ".join(map(str, p.loc[unknown, "patient_id"].head(5)))
        more = " …" if unknown.sum() > 5 else ""
        raise ValueError(f"endpoint {key} needs best_response for every patient; "
                         f"{int(unknown.sum())} have none (patients {ids}{more})")
    return p["best_response"].isin(RESPONSES_CR).to_numpy()
