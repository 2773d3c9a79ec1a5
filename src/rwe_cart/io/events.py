"""Events loader (EHR-style): a long table (patient_id, event, date) folded to the wide form."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Literal

import pandas as pd

from ..cohort import ATTRITION_COLUMNS, Cohort, build_cohort
from ..schema import (ALL, CohortValidationError, row_problems, blank_rows, clean_ids, coerce_dates,
                      file_problems, problems_frame, row_label)
from .registry import excel_epoch, file_sha256, read_table_info, rename_columns

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
EVENT_COLUMNS = ("patient_id", "event", "date")


def _read(source: str | Path | pd.DataFrame, columns: Mapping[str, str] | None, encoding: str | None,
          what: str) -> tuple[pd.DataFrame, dict, dict]:
    """(frame in contract names, read info, meta) of the events or baseline table."""
    if isinstance(source, pd.DataFrame):
        frame, info, meta = source, {}, {f"{what}_source": "DataFrame"}
    else:
        local_id = next((k for k, v in (columns or {}).items() if v == "patient_id"), "patient_id")
        frame, info = read_table_info(source, encoding=encoding, id_column=local_id)
        meta = {f"{what}_source": str(source), f"{what}_sha256": file_sha256(source)}
    mapping = {k: v for k, v in (columns or {}).items() if k in frame.columns}
    return rename_columns(frame, mapping).reset_index(drop=True), info, meta


def load_events(events: str | Path | pd.DataFrame, baseline: pd.DataFrame | str | Path | None = None, *,
                columns: Mapping[str, str] | None = None, date_format: str | None = None,
                errors: Literal["raise", "exclude"] = "raise", encoding: str | None = None,
                excel_dates: bool | None = None) -> Cohort:
    """Fold a long event table into a `Cohort`.

    Parameters
    ----------
    events : path or DataFrame
        Columns patient_id, event, date (rename with ``columns``). ``event`` is one of
        ``EVENTS`` (case-insensitive): the first date of each event is kept (first relapse,
        first HSCT, first response), except last_contact, where the latest is kept. Death and
        last contact together give ``date_last_contact`` (the later of the two).
    baseline : path or DataFrame, optional
        One row per patient with the other contract columns (sex, best_response, ...). A
        date column that the events also give is taken from the events where they have it;
        when both give a different date, that is a problem ("baseline and events agree").
    errors : {"raise", "exclude"}
        As `load_registry`.

    Notes
    -----
    Every event row is accounted for. Rows with an unknown event name, a missing or invalid
    date, or a second, different death date are problems of their patient. An event row
    without a patient_id is a problem named ``"<events row i>"`` (and a baseline row without
    one ``"<baseline row i>"``); with ``errors="exclude"`` each counts as one more row read
    and is recorded in attrition, as is each blank event row (step "read"), so that
    ``meta["n_input"]`` = patients kept + rows in attrition.

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> events = pd.DataFrame({
    ...     "patient_id": ["P1", "P1", "P1", "P2", "P2", "P2"],
    ...     "event": ["infusion", "response", "last_contact", "infusion", "relapse", "death"],
    ...     "date": ["2023-01-10", "2023-02-07", "2023-12-01",
    ...              "2023-03-02", "2023-06-20", "2023-09-05"]})
    >>> baseline = pd.DataFrame({"patient_id": ["P1", "P2"], "best_response": ["CR", "NR"]})
    >>> cohort = rc.load_events(events, baseline)
    >>> cohort.patients[["patient_id", "t_response", "t_relapse", "t_death", "t_last"]]
      patient_id  t_response  t_relapse  t_death  t_last
    0         P1        28.0        NaN      NaN   325.0
    1         P2         NaN      110.0    187.0   187.0
    """
    ev, info, meta = _read(events, columns, encoding, "events")
    meta["source"] = meta.pop("events_source")
    meta["sha256"] = meta.pop("events_sha256", None)
    absent = [c for c in EVENT_COLUMNS if c not in ev]
    if ev.columns.duplicated().any() or absent:
        raise CohortValidationError(problems_frame([
            file_problems(list(dict.fromkeys(ev.columns[ev.columns.duplicated()])), "column names are unique",
                          "<duplicated>"),
            file_problems(absent, "required events column", "<absent>")]))
    blank = blank_rows(ev)
    skipped = pd.DataFrame({"patient_id": [row_label(i, "events") for i in ev.index[blank]],
                            "step": "read", "reason": "blank event row (every cell empty)"})
    ev = ev[~blank]
    if ev.empty:
        raise CohortValidationError(file_problems([ALL], "at least one event row (the table has no data rows)",
                                                  "<no rows>"))
    ids = clean_ids(ev["patient_id"])
    labels = ids.where(ids.notna(), pd.Series([row_label(i, "events") for i in ev.index], index=ev.index))
    named = pd.DataFrame({"patient_id": labels, "event": ev["event"], "date": ev["date"]}, index=ev.index)
    name = clean_ids(ev["event"]).map(lambda v: v if v is None else v.lower())
    known = name.isin(list(EVENTS))
    epoch = excel_epoch(excel_dates, info)
    dates, date_problems, _ = coerce_dates(named, "date", date_format=date_format, partial_dates=None,
                                           excel_dates=epoch)
    raw_date = clean_ids(ev["date"])
    problems = [
        row_problems(named, ids.isna(), "patient_id", "required (missing value)", ids),
        row_problems(named, name.isna(), "event", "required (missing value)", name),
        row_problems(named, name.notna() & ~known, "event", f"one of {', '.join(EVENTS)}"),
        date_problems,
        row_problems(named, known & raw_date.isna(), "date", "required (missing value)", raw_date),
    ]
    long = pd.DataFrame({"patient_id": ids, "event": name, "date": dates})
    long = long[ids.notna() & known & dates.notna()]
    long = long.assign(column=long["event"].map(lambda e: EVENTS[e][0]))
    deaths = long[long["event"] == "death"].groupby("patient_id")["date"].agg(["nunique", "min", "max"])
    several = deaths[deaths["nunique"] > 1]
    problems.append(pd.DataFrame({
        "patient_id": several.index, "column": "date", "rule": "one death date per patient",
        "value": [f"{n} dates, {a:%Y-%m-%d} to {b:%Y-%m-%d}" for n, a, b in several.itertuples(index=False)]}))
    patients = pd.Index(ids.dropna().unique(), name="patient_id")
    wide = pd.DataFrame(index=patients)
    for col, keep in dict.fromkeys(EVENTS.values()):
        rows = long[long["column"] == col].groupby("patient_id")["date"]
        wide[col] = (rows.min() if keep == "first" else rows.max()).reindex(patients).astype("datetime64[ns]")
    contact = pd.concat([wide["date_last_contact"], wide["date_death"]], axis=1).max(axis=1)
    wide["date_last_contact"] = contact.astype("datetime64[ns]")
    wide = wide.reset_index()
    if baseline is not None:
        wide, base_meta, base_problems = _with_baseline(wide, baseline, columns, encoding,
                                                        date_format=date_format, excel_dates=epoch)
        meta.update(base_meta)
        problems.append(base_problems)
    # Folded dates go back to text in the caller's format, so one parser reads every date.
    for col in dict.fromkeys(c for c, _ in EVENTS.values()):
        if pd.api.types.is_datetime64_any_dtype(wide[col]):
            wide[col] = wide[col].dt.strftime(date_format or "%Y-%m-%d").astype(object).where(
                wide[col].notna(), None)
    cohort = build_cohort(wide, errors=errors, date_format=date_format, excel_dates=epoch, meta=meta,
                          problems=problems_frame(problems),
                          source_names={v: k for k, v in (columns or {}).items()})
    if len(skipped):
        cohort = replace(cohort, attrition=pd.concat([cohort.attrition, skipped[ATTRITION_COLUMNS]],
                                                     ignore_index=True),
                         meta={**cohort.meta, "n_input": cohort.meta["n_input"] + len(skipped)})
    return cohort


def _with_baseline(wide: pd.DataFrame, baseline: pd.DataFrame | str | Path,
                   columns: Mapping[str, str] | None, encoding: str | None, *,
                   date_format: str | None, excel_dates: int | None) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Outer-join the baseline table onto the folded events; dates both give must agree."""
    base, _, meta = _read(baseline, columns, encoding, "baseline")
    if base.columns.duplicated().any() or "patient_id" not in base:
        raise CohortValidationError(problems_frame([
            file_problems(list(dict.fromkeys(base.columns[base.columns.duplicated()])),
                          "column names are unique", "<duplicated>"),
            file_problems([] if "patient_id" in base else ["patient_id"], "required baseline column",
                          "<absent>")]))
    base = base[~blank_rows(base)]
    ids = clean_ids(base["patient_id"])
    labels = ids.where(ids.notna(), pd.Series([row_label(i, "baseline") for i in base.index], index=base.index))
    problems = [row_problems(base.assign(patient_id=labels), ids.isna(), "patient_id",
                          "required (missing value)", ids)]
    base = base.assign(patient_id=ids)[ids.notna()]
    shared = [c for c in wide if c in base and c != "patient_id"]
    merged = base.merge(wide, on="patient_id", how="outer", suffixes=("", "__events"), sort=False)
    for col in shared:
        from_events = merged.pop(f"{col}__events")
        ours, _, _ = coerce_dates(merged, col, date_format=date_format, partial_dates=None,
                                  excel_dates=excel_dates)
        given = clean_ids(merged[col]).notna()
        differ = from_events.notna() & given & ~(ours == from_events)
        shown = merged[col].astype(object).map(str) + " (events: " + from_events.dt.strftime("%Y-%m-%d").fillna("") + ")"
        problems.append(row_problems(merged, differ, col, "baseline and events agree", shown))
        as_text = from_events.dt.strftime(date_format or "%Y-%m-%d").astype(object)
        merged[col] = as_text.where(from_events.notna(), merged[col])
    return merged, meta, problems_frame(problems)
