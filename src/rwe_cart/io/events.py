"""Events loader (EHR-style): a long table (patient_id, event, date) folded to the wide form."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import pandas as pd

from ..cohort import Cohort, build_cohort
from ..schema import CohortValidationError, coerce_dates, problems_frame, _problems
from .registry import file_sha256, read_table

# event name -> (contract date column, which date to keep when a patient has several rows)
EVENTS: dict[str, tuple[str, str]] = {
    "apheresis": ("date_apheresis", "first"),
    "infusion": ("date_infusion", "first"),
    "response": ("date_response", "first"),
    "relapse": ("date_relapse", "first"),
    "progression": ("date_relapse", "first"),
    "hsct": ("date_hsct", "first"),
    "next_therapy": ("date_next_therapy", "first"),
    "death": ("date_death", "first"),
    "last_contact": ("date_last_contact", "last"),
}


def load_events(events: str | Path | pd.DataFrame, baseline: pd.DataFrame | str | Path | None = None, *,
                columns: Mapping[str, str] | None = None, date_format: str | None = None,
                errors: Literal["raise", "exclude"] = "raise") -> Cohort:
    """Fold a long event table into a `Cohort`.

    Parameters
    ----------
    events : path or DataFrame
        Columns patient_id, event, date (rename with ``columns``). ``event`` is one of
        ``EVENTS``: the first date of each event is kept (first relapse, first HSCT, first
        response), except last_contact, where the latest is kept. Death and last contact
        together give ``date_last_contact`` (the later of the two).
    baseline : path or DataFrame, optional
        One row per patient with the other contract columns (sex, best_response, ...).
    """
    meta: dict = {"source": "DataFrame" if isinstance(events, pd.DataFrame) else str(events)}
    if not isinstance(events, pd.DataFrame):
        meta["sha256"] = file_sha256(events)
        events = read_table(events)
    events = events.rename(columns=dict(columns or {})).reset_index(drop=True)
    absent = [c for c in ("patient_id", "event", "date") if c not in events]
    if absent:
        raise CohortValidationError(pd.DataFrame({"patient_id": "<all>", "column": absent,
                                                  "rule": "required events column", "value": "<absent>"}))
    events["patient_id"] = events["patient_id"].astype(str).str.strip()
    name = events["event"].astype(str).str.strip().str.lower()
    dates, date_problems, _ = coerce_dates(events, "date", date_format=date_format, partial_dates=None)
    problems = problems_frame([
        date_problems,
        _problems(events, ~name.isin(list(EVENTS)), "event", f"one of {', '.join(EVENTS)}"),
        _problems(events, dates.isna() & name.isin(list(EVENTS)) & events["date"].isna(), "date",
                  "required (missing value)"),
    ])
    long = pd.DataFrame({"patient_id": events["patient_id"], "event": name, "date": dates})
    long = long[name.isin(list(EVENTS)) & dates.notna()]
    long["column"] = long["event"].map(lambda e: EVENTS[e][0])
    long["keep"] = long["event"].map(lambda e: EVENTS[e][1])
    first = long[long["keep"] == "first"].groupby(["patient_id", "column"])["date"].min()
    last = long[long["keep"] == "last"].groupby(["patient_id", "column"])["date"].max()
    wide = pd.concat([first, last]).unstack("column")
    deaths = long[long["event"] == "death"].groupby("patient_id")["date"].nunique()
    several = deaths[deaths > 1]
    problems = problems_frame([problems, pd.DataFrame({
        "patient_id": several.index, "column": "date", "rule": "one death date per patient",
        "value": several.astype(str).to_numpy()})])
    if len(problems) and errors == "raise":
        raise CohortValidationError(problems)
    if "date_death" in wide:
        contact = wide.get("date_last_contact", pd.Series(pd.NaT, index=wide.index))
        wide["date_last_contact"] = pd.concat([contact, wide["date_death"]], axis=1).max(axis=1)
    ids = pd.Index(events["patient_id"].unique(), name="patient_id")
    wide = wide.reindex(ids).reset_index()
    if baseline is not None:
        base = baseline if isinstance(baseline, pd.DataFrame) else read_table(baseline)
        base = base.rename(columns=dict(columns or {}))
        base = base.assign(patient_id=base["patient_id"].astype(str).str.strip())
        wide = base.drop(columns=[c for c in wide if c in base and c != "patient_id"]).merge(
            wide, on="patient_id", how="outer")
    for col in [c for c in wide if c.startswith("date_")]:
        wide[col] = wide[col].dt.strftime("%Y-%m-%d") if pd.api.types.is_datetime64_any_dtype(wide[col]) else wide[col]
    cohort = build_cohort(wide, errors=errors, meta=meta)
    if len(problems):
        # errors="exclude": a patient with a bad event row leaves with the reasons.
        reasons = problems.groupby("patient_id")["rule"].agg(
            lambda r: "events: " + "; ".join(dict.fromkeys(r)))
        bad = cohort.patients["patient_id"].isin(set(reasons.index)).to_numpy()
        cohort = cohort.subset(~bad, step="validation", reason=reasons)
    return cohort
