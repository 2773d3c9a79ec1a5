"""`Cohort`: a validated, frozen patient table with times in days from the origin."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from . import schema
from .schema import CohortValidationError

__all__ = ["Cohort", "UnavailableInputError", "build_cohort", "hsct_in_remission", "derive",
           "ATTRITION_COLUMNS", "DAY_COLUMNS", "DERIVED_COLUMNS", "IMPUTATION_COLUMNS", "ORIGINS"]

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
DERIVED_COLUMNS = tuple(DAY_COLUMNS) + ("dead", "hsct_in_remission")
ATTRITION_COLUMNS = ["patient_id", "step", "reason"]
IMPUTATION_COLUMNS = ["patient_id", "column", "original", "imputed", "rule"]


class UnavailableInputError(ValueError):
    """An analysis needs a contract column that the cohort's source does not provide at all.

    ``analysis`` names what was asked for (``"endpoint DOR"``); ``missing`` maps each
    unavailable column it needs to the reason it is unavailable and how to supply it (from
    `Cohort.unavailable`).

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> frame = pd.DataFrame({"patient_id": ["P1", "P2"],
    ...                       "date_infusion": ["2023-01-10", "2023-02-01"],
    ...                       "date_death": [None, "2023-05-01"],
    ...                       "date_last_contact": ["2023-12-01", "2023-05-01"]})
    >>> cohort = rc.load_registry(frame)
    >>> sorted(cohort.unavailable)[:3]
    ['age', 'anc', 'best_response']
    >>> try:
    ...     cohort.endpoint("PFS")
    ... except rc.UnavailableInputError as error:
    ...     print(error.analysis, list(error.missing))
    endpoint PFS ['date_relapse']
    """

    def __init__(self, analysis: str, missing: dict[str, str]):
        self.analysis, self.missing = analysis, dict(missing)
        what = "; ".join(f"{LABELS.get(c, c)} ({c}): {why}" for c, why in self.missing.items())
        super().__init__(f"{analysis} needs {what}")


# How an analysis names a contract column in its error message.
LABELS = {
    "date_response": "response dates",
    "best_response": "best overall response",
    "date_relapse": "relapse/progression dates",
    "date_death": "death dates",
    "date_hsct": "post-infusion allo-HSCT dates",
    "date_next_therapy": "next-therapy dates",
    "mrd_negative": "MRD status",
}


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


@dataclass(frozen=True, eq=False)
class Cohort:
    """A validated cohort: one row per patient, times in days from the origin.

    Attributes
    ----------
    patients : DataFrame
        Contract columns (docs/data-contract.md), columns outside the contract unchanged, and the derived
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
    problems : DataFrame
        patient_id, column, rule, value: every problem found while loading with
        ``errors="exclude"`` (the reasons behind the "validation" rows of ``attrition``);
        empty for a cohort that loaded without problems.

    Notes
    -----
    A contract column that the source does not provide at all (a registry file without the
    column, an ADaM package without RSPDT, a DOR parameter or ADRS) is *unavailable*:
    ``unavailable`` (also ``meta["unavailable"]``) maps it to the reason and how to supply
    it. The contract's rules that need it are not checked, and every analysis that needs it
    raises `UnavailableInputError` saying so. A column that exists but is empty for some
    patients is not unavailable: the contract's rules apply to those patients.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> cohort = rc.datasets.rocca_like()
    >>> cohort
    Cohort(189 patients kept of 189 rows; 0 excluded, 0 dates imputed; origin=infusion, source=DataFrame)
    >>> len(cohort), cohort.meta["origin"]
    (189, 'infusion')
    >>> cohort.patients[["patient_id", "t_response", "t_hsct", "t_last", "dead"]].head(3)
      patient_id  t_response  t_hsct  t_last   dead
    0      R0001        80.0     NaN   828.0  False
    1      R0002        68.0    88.0   638.0  False
    2      R0003         NaN     NaN    15.0   True
    >>> responders = cohort.subset(cohort.patients["best_response"].isin(["CR", "CRi", "CRh"]),
    ...                            step="population", reason="no CR/CRi/CRh")
    >>> len(responders), len(responders.attrition)
    (151, 38)
    """

    patients: pd.DataFrame
    attrition: pd.DataFrame = field(default_factory=lambda: _empty(ATTRITION_COLUMNS))
    imputations: pd.DataFrame = field(default_factory=lambda: _empty(IMPUTATION_COLUMNS))
    meta: dict = field(default_factory=dict)
    labs: pd.DataFrame | None = None
    problems: pd.DataFrame = field(default_factory=lambda: _empty(schema.PROBLEM_COLUMNS))

    def __len__(self) -> int:
        return len(self.patients)

    @property
    def unavailable(self) -> dict[str, str]:
        """Contract column -> why the source does not provide it and how to supply it."""
        return dict(self.meta.get("unavailable", {}))

    def require(self, columns: Iterable[str], analysis: str) -> None:
        """Raise `UnavailableInputError` if ``analysis`` needs an unavailable column."""
        gone = self.meta.get("unavailable", {})
        missing = {c: gone[c] for c in dict.fromkeys(columns) if c in gone}
        if missing:
            raise UnavailableInputError(analysis, missing)

    @property
    def n_input(self) -> int:
        return int(self.meta.get("n_input", len(self.patients) + len(self.attrition)))

    def endpoint(self, name: str, **options) -> pd.DataFrame:
        """Tidy endpoint frame (patient_id, time, event[, cause]); see `rwe_cart.endpoints`."""
        from .endpoints import endpoint

        return endpoint(self, name, **options)

    def timeline(self, endpoint: str = "PFS", **options) -> pd.DataFrame:
        """Counting-process rows for an endpoint with HSCT-in-remission as a time-varying 0/1
        column ``hsct`` (switching on after ``t_hsct``), every infused patient from day 0.

        The rows of the exposure methods, from their one builder
        (:func:`rwe_cart.exposure.hsct_rows`, ``population="all"``); ``options`` go to
        :meth:`endpoint`. A patient whose event or censoring falls on day 0 has no
        ``(start, stop]`` row and is listed in ``attrs["excluded"]``.
        """
        from .endpoints import ENDPOINTS
        from .exposure.rows import hsct_rows

        return hsct_rows(self, endpoint, population="all", allowed=ENDPOINTS,
                         endpoint_options=options)

    def multistate(self, *, keep: Iterable[str] = ()):
        """The CAR-T pathway as a multi-state model (states ``infused``, ``remission``,
        ``hsct``, ``relapse``, ``death``); see :func:`rwe_cart.exposure.cart_multistate`."""
        from .exposure import cart_multistate

        return cart_multistate(self, keep=list(keep))

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

    def with_labs(self, labs: pd.DataFrame) -> Cohort:
        """This cohort with a long lab table attached (see `rwe_cart.load_labs`).

        Lab rows of patients excluded from the cohort (listed in ``attrition``) are left out
        and counted in ``meta["labs_rows_of_excluded"]``; a lab row of a patient the cohort
        never read raises `CohortValidationError` naming it.
        """
        if "patient_id" not in getattr(labs, "columns", ()):
            raise ValueError("labs must be a DataFrame with a patient_id column (see rc.load_labs)")
        ids = labs["patient_id"].astype(str)
        kept = ids.isin(set(self.patients["patient_id"].astype(str)))
        excluded = ids.isin(set(self.attrition["patient_id"].astype(str))) & ~kept
        unknown = ~kept & ~excluded
        if unknown.any():
            rows = ids[unknown].value_counts(sort=False)
            raise schema.CohortValidationError(pd.DataFrame({
                "patient_id": rows.index.to_numpy(), "column": "patient_id",
                "rule": "lab patient is in the cohort",
                "value": [f"{n} lab row(s)" for n in rows.to_numpy()]}))
        meta = {**self.meta, "labs_source": labs.attrs.get("source", "DataFrame"),
                "labs_rows_of_excluded": int(excluded.sum())}
        if "sha256" in labs.attrs:
            meta["labs_sha256"] = labs.attrs["sha256"]
        return replace(self, labs=labs[kept].reset_index(drop=True), meta=meta)

    def attrition_summary(self) -> pd.DataFrame:
        """Counts by step and reason, starting from the rows read (no identifiers)."""
        counts = (self.attrition.groupby(["step", "reason"], sort=False).size()
                  .rename("n_excluded").reset_index())
        return counts

    def validation_report(self) -> str:
        """What loading did, as text: rows read, kept, excluded (by step and reason), dates
        imputed, the contract columns the source does not give (`unavailable`), and every
        problem behind an exclusion grouped by column and rule.

        Contains patient identifiers (the problems name them); ``repr`` does not.
        """
        m = self.meta
        lines = [f"Validation report — {m.get('source', 'DataFrame')}",
                 f"  rows read        {self.n_input}",
                 f"  patients kept    {len(self.patients)}",
                 f"  rows excluded    {len(self.attrition)}",
                 f"  dates imputed    {len(self.imputations)}"]
        if len(self.attrition):
            lines.append("\nExcluded, by step and reason:")
            for step, grp in self.attrition.groupby("step", sort=False):
                lines.append(f"  {step}: {len(grp)}")
                if step != "validation":
                    for reason, n in grp["reason"].value_counts(sort=False).items():
                        lines.append(f"    {n} × {reason}")
        if len(self.imputations):
            lines.append("\nImputed partial dates, by column and rule:")
            for (col, rule), grp in self.imputations.groupby(["column", "rule"], sort=False):
                lines.append(f"  {col} ({rule}): {len(grp)}")
        if self.unavailable:
            lines.append("\nNot in the source at all (analyses that need them refuse to run):")
            lines += [f"  {col}: {why}" for col, why in self.unavailable.items()]
        if len(self.problems):
            lines.append("\nProblems behind the exclusions, grouped by rule — "
                         + schema.format_problems(self.problems))
        else:
            lines.append("\nNo problems: every row kept passed the six rules of the data contract.")
        return "\n".join(lines)

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
                 excel_dates: int | None = None, problems: pd.DataFrame | None = None,
                 source_names: dict[str, str] | None = None, meta: dict | None = None,
                 unavailable: Mapping[str, str] | None = None) -> Cohort:
    """Type, validate and derive a cohort from a table already in the contract's column names.

    Parameters
    ----------
    frame : DataFrame
        One row per patient, contract column names (docs/data-contract.md); other columns are kept.
    errors : {"raise", "exclude"}
        "raise": any problem raises `CohortValidationError` listing all of them. "exclude":
        patients with a problem go to ``attrition`` (step "validation") with their reasons;
        a problem of the whole table (patient_id ``"<all>"``) still raises.
    excel_dates : {1900, 1904}, optional
        Read numbers in date columns as Excel serial days of that date system.
    problems : DataFrame, optional
        Problems a loader found before the contract (patient_id, column, rule, value), e.g. in
        ADTTE. They are reported together with the contract's; with ``errors="exclude"`` their
        patients are excluded too, and a patient_id that is not in ``frame`` (a subject only in
        ADTTE, an event row without a patient_id) counts as one more row read and is recorded
        in attrition, so that rows read = patients kept + rows in attrition.
    source_names : dict, optional
        Contract column -> the column's name in the caller's table (``INF_DATE``,
        ``TRTSDT``): problems name the column as the caller knows it.
    unavailable : mapping, optional
        Contract column -> reason, for columns the loader knows its source does not provide
        (and has left out of ``frame``). Any other optional contract column absent from
        ``frame`` is unavailable too, with a generic reason. See `Cohort.unavailable`.

    Notes
    -----
    Rows whose every cell is empty (blank lines) are not patients: each is recorded in
    ``attrition`` (step "read", reason "blank row") and never raises. A table with no other
    row is an error (a cohort of nobody is almost always the wrong file or sheet).
    """
    if errors not in ("raise", "exclude"):
        raise ValueError(f"errors must be 'raise' or 'exclude', got {errors!r}")
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {tuple(ORIGINS)}, got {origin!r}")
    frame = frame.reset_index(drop=True)
    table = _table_problems(frame)
    if len(table):
        raise CohortValidationError(table)
    blank = schema.blank_rows(frame)
    rows = frame[~blank]
    origin_col = ORIGINS[origin]
    found = []
    if len(rows) == 0:
        found.append(schema.file_problems([schema.ALL], "at least one patient row (the table has no data rows)",
                                          "<no rows>"))
    if origin != "infusion" and origin_col not in frame:
        found.append(schema.file_problems([origin_col], f"required column for origin='{origin}'", "<absent>"))
    typed, coerced, imputations = schema.coerce(rows, date_format=date_format, partial_dates=partial_dates,
                                                decimal=decimal, excel_dates=excel_dates)
    # The loader's problems (an unknown event name) come before their consequences here
    # (no infusion date), so the first rows of the message show the cause.
    found += [problems if problems is not None else _empty(schema.PROBLEM_COLUMNS),
              coerced, schema.validate(typed)]
    if origin != "infusion" and origin_col in typed:
        if origin_col not in schema.DATE_COLUMNS:
            typed[origin_col], prob, _ = schema.coerce_dates(typed, origin_col, date_format=date_format,
                                                             partial_dates=None, excel_dates=excel_dates)
            found.append(prob)
        found.append(schema.row_problems(typed, typed[origin_col].isna(), origin_col,
                                      f"required for origin='{origin}'"))
    found = schema.problems_frame(found)
    if source_names:
        found["column"] = found["column"].map(lambda c: source_names.get(c, c))
    excluded, orphans = _empty(ATTRITION_COLUMNS), _empty(ATTRITION_COLUMNS)
    if len(found):
        if errors == "raise" or found["patient_id"].eq(schema.ALL).any():
            raise CohortValidationError(found)
        labels = schema.patient_labels(typed)
        reasons = (found.assign(text=found["column"].astype(str) + ": " + found["rule"].astype(str))
                   .groupby("patient_id", sort=False)["text"].agg(lambda t: "; ".join(dict.fromkeys(t))))
        bad = labels.isin(set(reasons.index))
        excluded = pd.DataFrame({"patient_id": labels[bad], "step": "validation",
                                 "reason": labels[bad].map(reasons)}, index=labels.index[bad])
        absent = reasons[~reasons.index.isin(set(labels))]
        orphans = pd.DataFrame({"patient_id": absent.index.to_numpy(), "step": "validation",
                                "reason": absent.to_numpy()})
        typed = typed[~bad]
        imputations = imputations[~imputations["patient_id"].isin(set(excluded["patient_id"]))]
    skipped = pd.DataFrame({"patient_id": [schema.row_label(i) for i in frame.index[blank]],
                            "step": "read", "reason": "blank row (every cell empty)"},
                           index=frame.index[blank])
    attrition = pd.concat([x for x in (excluded, skipped) if len(x)] or [_empty(ATTRITION_COLUMNS)])
    attrition = pd.concat([x for x in (attrition.sort_index(), orphans) if len(x)] or [attrition],
                          ignore_index=True)
    patients = derive(typed.reset_index(drop=True), origin_col)
    info = dict(meta or {})
    info.setdefault("source", "DataFrame")
    info.update(origin=origin, n_input=len(frame) + len(orphans), errors=errors,
                partial_dates=partial_dates, blank_rows=int(blank.sum()),
                unavailable=_unavailable(frame, unavailable or {}))
    info.setdefault("data_cutoff", patients["date_last_contact"].max() if len(patients) else None)
    if len(patients) + len(attrition) != info["n_input"]:  # the data contract's promise; a bug if broken
        raise RuntimeError(f"rwe_cart bug: {info['n_input']} rows read but {len(patients)} kept "
                           f"and {len(attrition)} in attrition")
    return Cohort(patients=patients, attrition=attrition[ATTRITION_COLUMNS].reset_index(drop=True),
                  imputations=imputations.reset_index(drop=True), meta=info,
                  problems=found if len(found) else _empty(schema.PROBLEM_COLUMNS))


def _unavailable(frame: pd.DataFrame, reasons: Mapping[str, str]) -> dict[str, str]:
    """Optional contract columns absent from ``frame``, each with its reason."""
    out = {}
    for col in schema.CONTRACT_COLUMNS:
        if col in frame or col in schema.REQUIRED:
            continue
        out[col] = reasons.get(col) or (f"the source has no {col} column (add it, or map the "
                                        "source's column onto it with columns=)")
    return out


def _table_problems(frame: pd.DataFrame) -> pd.DataFrame:
    """Problems of the column names: duplicates, and names the cohort derives itself."""
    names = pd.Index(frame.columns)
    dup = list(dict.fromkeys(names[names.duplicated()]))
    reserved = [c for c in names if isinstance(c, str) and c in DERIVED_COLUMNS]
    return schema.problems_frame([
        schema.file_problems(dup, "column names are unique", "<duplicated>"),
        schema.file_problems(reserved, "name reserved for a column the cohort derives (rename it)",
                             "<reserved>"),
    ])


def hsct_in_remission(patients: pd.DataFrame) -> pd.Series:
    """The package's one rule for "allo-HSCT in remission" (consolidation): a CR, CRi or
    CRh as best response, the response on or before the HSCT day, and no relapse on or
    before it. A transplant after relapse (salvage) is never in remission; a relapse on
    the HSCT day counts as before it. Every HSCT method reads this flag.
    """
    in_cr = (patients["best_response"].isin(schema.RESPONSES_CR)
             if "best_response" in patients else False)
    t_hsct = patients["t_hsct"]
    return (t_hsct.notna() & in_cr & (patients["t_response"] <= t_hsct)
            & (patients["t_relapse"].isna() | (patients["t_relapse"] > t_hsct))).astype(bool)


def derive(typed: pd.DataFrame, origin_col: str = "date_infusion") -> pd.DataFrame:
    """Add day columns (from the origin) and the HSCT-in-remission flag."""
    out = typed.copy()
    zero = out[origin_col]
    for name, col in DAY_COLUMNS.items():
        out[name] = ((out[col] - zero).dt.days.astype("float64") if col in out
                     else np.full(len(out), np.nan))
    out["dead"] = out["t_death"].notna()
    out["hsct_in_remission"] = hsct_in_remission(out)
    return out
