"""`Cohort`: a validated, frozen patient table with times in days from the origin."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from . import schema
from .schema import CohortValidationError

ORIGINS = {"infusion": "date_infusion", "apheresis": "date_apheresis", "enrollment": "date_enrollment"}
# Derived day columns: name -> source date column.
DAY_COLUMNS = {
    "t_infusion": "date_infusion",
    "t_response": "date_response",
    "t_relapse": "date_relapse",
    "t_hsct": "date_hsct",
    "t_death": "date_death",
    "t_last": "date_last_contact",
    "t_next_therapy": "date_next_therapy",
}
ATTRITION_COLUMNS = ["patient_id", "step", "reason"]
IMPUTATION_COLUMNS = ["patient_id", "column", "original", "imputed", "rule"]


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


@dataclass(frozen=True, eq=False)
class Cohort:
    """A validated cohort: one row per patient, times in days from the origin.

    Attributes
    ----------
    patients : DataFrame
        Contract columns (DATA.md), columns outside the contract unchanged, and the derived
        day columns ``t_infusion``, ``t_response``, ``t_relapse``, ``t_hsct``, ``t_death``,
        ``t_last``, ``t_next_therapy`` and the flags ``dead`` and ``hsct_in_remission``.
    attrition : DataFrame
        patient_id, step, reason: one row for every input row that was excluded.
    imputations : DataFrame
        patient_id, column, original, imputed, rule: every partial date that was completed.
    meta : dict
        source, origin, n_input (rows read), data_cutoff, and what the loader was told.
    labs : DataFrame or None
        Optional long laboratory table.
    """

    patients: pd.DataFrame
    attrition: pd.DataFrame = field(default_factory=lambda: _empty(ATTRITION_COLUMNS))
    imputations: pd.DataFrame = field(default_factory=lambda: _empty(IMPUTATION_COLUMNS))
    meta: dict = field(default_factory=dict)
    labs: pd.DataFrame | None = None

    def __len__(self) -> int:
        return len(self.patients)

    @property
    def n_input(self) -> int:
        return int(self.meta.get("n_input", len(self.patients) + len(self.attrition)))

    def endpoint(self, name: str, **options) -> pd.DataFrame:
        """Tidy endpoint frame (patient_id, time, event[, cause]); see `rwe_cart.endpoints`."""
        from .endpoints import endpoint

        return endpoint(self, name, **options)

    def timeline(self, endpoint: str = "PFS", **options) -> pd.DataFrame:
        """Counting-process rows for an endpoint with HSCT-in-remission as a time-varying 0/1
        column ``hsct`` (switching on after ``t_hsct``); see `rwe_cart.timeline`."""
        from .timeline import cohort_timeline

        return cohort_timeline(self, endpoint, **options)

    def subset(self, keep: pd.Series | np.ndarray, *, step: str, reason: str | pd.Series) -> Cohort:
        """A new cohort of the patients where ``keep`` is True; the others go to attrition.

        ``reason`` is one text for all, or a Series from patient_id to each patient's reason.
        """
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != (len(self.patients),):
            raise ValueError(f"keep must have one value per patient ({len(self.patients)}), got shape {keep.shape}")
        ids = self.patients["patient_id"][~keep]
        why = ids.map(reason).to_numpy() if isinstance(reason, pd.Series) else reason
        dropped = pd.DataFrame({"patient_id": ids.to_numpy(), "step": step, "reason": why})
        return replace(
            self,
            patients=self.patients[keep].reset_index(drop=True),
            attrition=pd.concat([self.attrition, dropped], ignore_index=True),
        )

    def attrition_summary(self) -> pd.DataFrame:
        """Counts by step and reason, starting from the rows read (no identifiers)."""
        counts = (self.attrition.groupby(["step", "reason"], sort=False).size()
                  .rename("n_excluded").reset_index())
        return counts

    def __repr__(self) -> str:
        m = self.meta
        return (f"Cohort({len(self.patients)} patients kept of {self.n_input} rows; "
                f"{len(self.attrition)} excluded, {len(self.imputations)} dates imputed; "
                f"origin={m.get('origin', 'infusion')}, source={m.get('source', '?')})")

    def _repr_html_(self) -> str:
        return f"<p><code>{self!r}</code></p>"


def build_cohort(frame: pd.DataFrame, *, origin: str = "infusion",
                 errors: Literal["raise", "exclude"] = "raise", date_format: str | None = None,
                 partial_dates: str | None = None, decimal: str = ".",
                 meta: dict | None = None) -> Cohort:
    """Type, validate and derive a cohort from a table already in the contract's column names."""
    if errors not in ("raise", "exclude"):
        raise ValueError(f"errors must be 'raise' or 'exclude', got {errors!r}")
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {tuple(ORIGINS)}, got {origin!r}")
    frame = frame.reset_index(drop=True)
    if origin != "infusion" and ORIGINS[origin] not in frame:
        raise CohortValidationError(pd.DataFrame({
            "patient_id": ["<all>"], "column": [ORIGINS[origin]],
            "rule": [f"required column for origin='{origin}'"], "value": ["<absent>"]}))
    typed, problems, imputations = schema.coerce(frame, date_format=date_format,
                                                 partial_dates=partial_dates, decimal=decimal)
    problems = schema.problems_frame([problems, schema.validate(typed)])
    origin_col = ORIGINS[origin]
    if origin != "infusion":
        if origin_col not in schema.DATE_COLUMNS:
            typed[origin_col], prob, _ = schema.coerce_dates(typed, origin_col, date_format=date_format,
                                                             partial_dates=None)
            problems = schema.problems_frame([problems, prob])
        problems = schema.problems_frame([problems, schema._problems(
            typed, typed[origin_col].isna(), origin_col, f"required for origin='{origin}'")])
    attrition = _empty(ATTRITION_COLUMNS)
    if len(problems):
        file_level = problems["patient_id"].eq("<all>")
        if errors == "raise" or file_level.any():
            raise CohortValidationError(problems)
        labels = schema.patient_labels(typed)
        bad = labels.isin(set(problems["patient_id"]))
        reasons = (problems.assign(text=problems["column"] + ": " + problems["rule"])
                   .groupby("patient_id", sort=False)["text"].agg(lambda t: "; ".join(dict.fromkeys(t))))
        attrition = pd.DataFrame({"patient_id": labels[bad].to_numpy(), "step": "validation",
                                  "reason": labels[bad].map(reasons).to_numpy()})
        typed = typed[~bad].reset_index(drop=True)
        imputations = imputations[~imputations["patient_id"].isin(set(attrition["patient_id"]))]
    patients = derive(typed, origin_col)
    info = dict(meta or {})
    info.setdefault("source", "DataFrame")
    info.update(origin=origin, n_input=len(frame), errors=errors, partial_dates=partial_dates)
    info.setdefault("data_cutoff", patients["date_last_contact"].max() if len(patients) else None)
    return Cohort(patients=patients, attrition=attrition,
                  imputations=imputations.reset_index(drop=True), meta=info)


def derive(typed: pd.DataFrame, origin_col: str = "date_infusion") -> pd.DataFrame:
    """Add day columns (from the origin) and the HSCT-in-remission flag."""
    out = typed.copy()
    zero = out[origin_col]
    for name, col in DAY_COLUMNS.items():
        out[name] = ((out[col] - zero).dt.days.astype("float64") if col in out
                     else np.full(len(out), np.nan))
    out["dead"] = out["t_death"].notna()
    in_cr = out["best_response"].isin(schema.RESPONSES_CR) if "best_response" in out else False
    t_hsct = out["t_hsct"]
    out["hsct_in_remission"] = (
        t_hsct.notna() & in_cr & (out["t_response"] <= t_hsct)
        & (out["t_relapse"].isna() | (out["t_relapse"] > t_hsct))
    ).astype(bool)
    return out
