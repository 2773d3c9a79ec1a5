"""The cohort contract: canonical columns, their types, and the validation rules of DATA.md.

Validation never stops at the first problem: every failure of every rule is collected into
one problems table (patient_id, column, rule, value) so a registry manager can fix a file in
one pass.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

RESPONSES_CR = ("CR", "CRi", "CRh")
CATEGORIES: dict[str, tuple[str, ...]] = {
    "sex": ("F", "M"),
    "best_response": ("CR", "CRi", "CRh", "NR", "PD", "NE"),
    "death_cause": ("relapse", "nrm", "unknown"),
}
DATE_COLUMNS = (
    "date_infusion",
    "date_apheresis",
    "date_response",
    "date_relapse",
    "date_hsct",
    "date_death",
    "date_last_contact",
    "date_next_therapy",
)
# Dates that record something happening after the infusion (rule 2 and rule 3).
EVENT_DATE_COLUMNS = (
    "date_response",
    "date_relapse",
    "date_hsct",
    "date_death",
    "date_next_therapy",
)
BOOL_COLUMNS = (
    "prior_hsct",
    "extramedullary",
    "ph_positive",
    "prior_blinatumomab",
    "prior_inotuzumab",
    "mrd_negative",
)
INT_COLUMNS = ("prior_lines", "crs_grade", "icans_grade")
FLOAT_COLUMNS = ("age", "marrow_blasts_pct", "anc", "hb", "plt", "crp", "ferritin")
REQUIRED = ("patient_id", "date_infusion", "date_last_contact")
CONTRACT_COLUMNS = (
    ("patient_id",)
    + DATE_COLUMNS
    + FLOAT_COLUMNS[:1]
    + ("sex",)
    + BOOL_COLUMNS
    + INT_COLUMNS
    + FLOAT_COLUMNS[1:]
    + ("best_response", "death_cause")
)
# Rule 5: ranges of numeric columns, as (low, high) with None for unbounded.
RANGES: dict[str, tuple[float, float | None]] = {
    "age": (0, 120),
    "marrow_blasts_pct": (0, 100),
    "prior_lines": (0, None),
    "crs_grade": (0, 5),
    "icans_grade": (0, 5),
    "anc": (0, None),
    "hb": (0, None),
    "plt": (0, None),
    "crp": (0, None),
    "ferritin": (0, None),
}
PROBLEM_COLUMNS = ["patient_id", "column", "rule", "value"]
PARTIAL_RULES = ("mid", "first", "last")
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
_YEAR_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
_YEAR = re.compile(r"^\s*(\d{4})\s*$")
_FULL_ISO = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$"


class CohortValidationError(ValueError):
    """Raised when a table breaks the cohort contract.

    ``problems`` lists every failure: patient_id, column, rule and the offending value.
    """

    def __init__(self, problems: pd.DataFrame, n_rows: int | None = None, show: int = 10):
        self.problems = problems.reset_index(drop=True)[PROBLEM_COLUMNS]
        n_pat = self.problems["patient_id"].nunique(dropna=False)
        head = self.problems.head(show).astype(str).to_string(index=False)
        more = len(self.problems) - show
        tail = f"\n  … and {more} more (see .problems)" if more > 0 else ""
        first = "first rows shown" if more > 0 else "all shown"
        msg = (
            f"{len(self.problems)} problem{'s' * (len(self.problems) != 1)} in "
            f"{n_pat} patient{'s' * (n_pat != 1)} ({first})\n"
            + "\n".join("  " + line for line in head.splitlines())
            + tail
        )
        super().__init__(msg)


def problems_frame(rows: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames = [r for r in rows if len(r)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in PROBLEM_COLUMNS})
    return pd.concat(frames, ignore_index=True)[PROBLEM_COLUMNS]


def patient_labels(frame: pd.DataFrame) -> pd.Series:
    """Patient identifiers for messages; a row without one is named by its row number."""
    pid = frame["patient_id"] if "patient_id" in frame else pd.Series(pd.NA, index=frame.index)
    rows = pd.Series([f"<row {i}>" for i in frame.index], index=frame.index, dtype=object)
    return pid.astype(object).where(pid.notna(), rows)


def _problems(frame: pd.DataFrame, mask: pd.Series, column: str, rule: str,
              values: pd.Series | None = None) -> pd.DataFrame:
    mask = mask.fillna(False).astype(bool)
    if not mask.any():
        return pd.DataFrame(columns=PROBLEM_COLUMNS)
    vals = (frame[column] if values is None else values)[mask]
    return pd.DataFrame({
        "patient_id": patient_labels(frame)[mask].to_numpy(),
        "column": column,
        "rule": rule,
        "value": _display(vals).to_numpy(),
    })


def _display(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").astype(object).where(values.notna(), "<missing>")
    return values.astype(object).where(values.notna(), "<missing>")


# --------------------------------------------------------------------------- coercion
def _blank(raw: pd.Series) -> pd.Series:
    if raw.dtype == object or pd.api.types.is_string_dtype(raw):
        return raw.astype(object).map(lambda v: (v.strip() or None) if isinstance(v, str) else v)
    return raw


def coerce_dates(frame: pd.DataFrame, column: str, *, date_format: str | None,
                 partial_dates: str | None) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """Parse one date column strictly; return (dates, problems, imputations)."""
    raw = _blank(frame[column])
    empty = pd.DataFrame(columns=PROBLEM_COLUMNS)
    no_imputations = pd.DataFrame(columns=["patient_id", "column", "original", "imputed", "rule"])
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw.dt.tz_localize(None) if getattr(raw.dt, "tz", None) else raw
        return parsed.dt.normalize().astype("datetime64[ns]"), empty, no_imputations
    as_text = raw.astype(object).map(_date_text)
    if date_format is None:
        # pandas' ISO 8601 parser silently completes "2023-2" to 1 February; a partial date
        # must reach the partial-date rule instead, so only full dates are parsed here.
        full = as_text.astype(str).str.match(_FULL_ISO)
        parsed = pd.to_datetime(as_text.where(full), format="ISO8601", errors="coerce")
    else:
        parsed = pd.to_datetime(as_text, format=date_format, errors="coerce")
    failed = as_text.notna() & parsed.isna()
    partial = failed & as_text.astype(str).str.match(r"^\s*\d{4}(-\d{1,2})?\s*$")
    imputations = no_imputations
    if partial.any() and partial_dates is not None:
        imputed = pd.to_datetime(as_text[partial].map(lambda s: _impute_partial(s, partial_dates)),
                                 format="ISO8601", errors="coerce")
        parsed = parsed.copy()
        parsed[partial] = imputed
        done = partial & parsed.notna()
        imputations = pd.DataFrame({
            "patient_id": patient_labels(frame)[done].to_numpy(),
            "column": column,
            "original": as_text[done].to_numpy(),
            "imputed": parsed[done].dt.strftime("%Y-%m-%d").to_numpy(),
            "rule": partial_dates,
        })
        failed = failed & ~done
    # With a rule chosen, a partial date that still fails (month 13) is simply invalid.
    partial = partial & (partial_dates is None)
    expected = f"date as {date_format}" if date_format else "ISO 8601 date (YYYY-MM-DD)"
    problems = problems_frame([
        _problems(frame, partial, column,
                  "partial date: choose partial_dates='mid', 'first' or 'last'", as_text),
        _problems(frame, failed & ~partial, column, f"a valid {expected}", as_text),
    ])
    return parsed.dt.normalize().astype("datetime64[ns]"), problems, imputations


def _date_text(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


def _impute_partial(text: str, rule: str) -> str:
    ym = _YEAR_MONTH.match(text)
    if ym:
        year, month = int(ym.group(1)), int(ym.group(2))
        if not 1 <= month <= 12:
            return "invalid"
        first = pd.Timestamp(year=year, month=month, day=1)
        day = {"first": 1, "mid": 15, "last": first.days_in_month}[rule]
        return f"{year:04d}-{month:02d}-{day:02d}"
    year = int(_YEAR.match(text).group(1))
    return {"first": f"{year}-01-01", "mid": f"{year}-07-01", "last": f"{year}-12-31"}[rule]


def coerce_bool(frame: pd.DataFrame, column: str) -> tuple[pd.Series, pd.DataFrame]:
    raw = _blank(frame[column])
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype("boolean"), pd.DataFrame(columns=PROBLEM_COLUMNS)
    text = raw.astype(object).map(lambda v: None if pd.isna(v) else str(v).strip().lower())
    out = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    out[text.isin(_TRUE)] = True
    out[text.isin(_FALSE)] = False
    bad = text.notna() & out.isna()
    return out, _problems(frame, bad, column, "one of true/false, yes/no, 1/0", raw)


def coerce_number(frame: pd.DataFrame, column: str, *, integer: bool,
                  decimal: str = ".") -> tuple[pd.Series, pd.DataFrame]:
    raw = _blank(frame[column])
    text = raw
    if decimal != "." and (raw.dtype == object or pd.api.types.is_string_dtype(raw)):
        text = raw.map(lambda v: v.replace(decimal, ".") if isinstance(v, str) else v)
    num = pd.to_numeric(text, errors="coerce")
    bad = raw.notna() & num.isna()
    problems = [_problems(frame, bad, column, "a number", raw)]
    if integer:
        frac = num.notna() & (num != np.round(num))
        problems.append(_problems(frame, frac, column, "a whole number", raw))
        num = num.where(~frac)
        return num.astype("Int64"), problems_frame(problems)
    return num.astype("float64"), problems_frame(problems)


def coerce_category(frame: pd.DataFrame, column: str) -> pd.Series:
    raw = _blank(frame[column])
    return raw.astype(object).map(lambda v: None if pd.isna(v) else str(v).strip())


def coerce(frame: pd.DataFrame, *, date_format: str | None = None,
           partial_dates: str | None = None, decimal: str = ".") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Type every contract column present; return (typed frame, problems, imputations).

    Columns outside the contract are passed through unchanged.
    """
    if partial_dates is not None and partial_dates not in PARTIAL_RULES:
        raise ValueError(f"partial_dates must be one of {PARTIAL_RULES} or None, got {partial_dates!r}")
    out = frame.copy()
    problems, imputations = [], []
    if "patient_id" in out:
        pid = _blank(out["patient_id"])
        out["patient_id"] = pid.astype(object).map(
            lambda v: None if pd.isna(v) else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
        )
    # Each coercer reads the raw column from `out` before replacing it, and names patients
    # by the already-cleaned patient_id.
    for col in DATE_COLUMNS:
        if col in out:
            out[col], prob, imp = coerce_dates(out, col, date_format=date_format,
                                               partial_dates=partial_dates)
            problems.append(prob)
            imputations.append(imp)
    for col in BOOL_COLUMNS:
        if col in out:
            out[col], prob = coerce_bool(out, col)
            problems.append(prob)
    for col in INT_COLUMNS + FLOAT_COLUMNS:
        if col in out:
            out[col], prob = coerce_number(out, col, integer=col in INT_COLUMNS, decimal=decimal)
            problems.append(prob)
    for col in CATEGORIES:
        if col in out:
            out[col] = coerce_category(out, col)
    imp = [i for i in imputations if len(i)]
    imputations_frame = (pd.concat(imp, ignore_index=True) if imp else
                         pd.DataFrame(columns=["patient_id", "column", "original", "imputed", "rule"]))
    return out, problems_frame(problems), imputations_frame


# --------------------------------------------------------------------------- rules
def _column_schema(columns: Iterable[str]):
    """Per-column rules 1, 5 and 6 as a pandera schema; cross-column rules are in `validate`.

    Cross-column date rules are vectorised pandas in `validate` because pandera's wide checks
    report a row but not which column broke the rule.
    """
    import pandera.pandas as pa  # imported on first validation: it costs ~0.3 s

    specs: dict[str, pa.Column] = {}
    for col in columns:
        checks = []
        if col in RANGES:
            low, high = RANGES[col]
            if high is None:
                checks.append(pa.Check.ge(low, error=f">= {low}"))
            else:
                checks.append(pa.Check.in_range(low, high, error=f"between {low} and {high}"))
        if col in CATEGORIES:
            allowed = ", ".join(CATEGORIES[col])
            checks.append(pa.Check.isin(CATEGORIES[col], error=f"one of {allowed}"))
        if not checks and col not in REQUIRED:
            continue
        specs[col] = pa.Column(
            None, checks=checks, nullable=col not in REQUIRED,
            unique=col == "patient_id", required=False,
        )
    return pa.DataFrameSchema(specs, coerce=False)


_PANDERA_RULES = {
    "field_uniqueness": "unique (patient_id appears more than once)",
    "not_nullable": "required (missing value)",
}


def _pandera_problems(frame: pd.DataFrame) -> pd.DataFrame:
    import pandera.pandas as pa

    schema = _column_schema([c for c in frame.columns if c in CONTRACT_COLUMNS])
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        fc = fc[fc["index"].notna()]
        rows = fc["index"].to_numpy()
        labels = patient_labels(frame).loc[rows]
        return pd.DataFrame({
            "patient_id": labels.to_numpy(),
            "column": fc["column"].to_numpy(),
            "rule": fc["check"].map(lambda c: _PANDERA_RULES.get(c, c)).to_numpy(),
            "value": fc["failure_case"].astype(object).where(fc["failure_case"].notna(), "<missing>").to_numpy(),
        })
    return pd.DataFrame(columns=PROBLEM_COLUMNS)


def validate(frame: pd.DataFrame) -> pd.DataFrame:
    """All six DATA.md rules on a typed frame; returns the problems table (empty when valid)."""
    problems = [_pandera_problems(frame)]
    missing = [c for c in REQUIRED if c not in frame]
    if missing:
        # A missing required column is one problem for the file, not one per patient.
        problems.append(pd.DataFrame({"patient_id": "<all>", "column": missing,
                                      "rule": "required column is absent", "value": "<absent>"}))
    has = frame.columns.__contains__
    infusion = frame["date_infusion"] if has("date_infusion") else None
    if infusion is not None:
        for col in EVENT_DATE_COLUMNS + ("date_last_contact",):
            if has(col):
                problems.append(_problems(frame, frame[col] < infusion, col, "on or after date_infusion"))
        if has("date_apheresis"):
            problems.append(_problems(frame, frame["date_apheresis"] > infusion, "date_apheresis",
                                      "on or before date_infusion"))
    if has("date_death"):
        death = frame["date_death"]
        for col in EVENT_DATE_COLUMNS:
            if has(col) and col != "date_death":
                problems.append(_problems(frame, frame[col] > death, col, "not after date_death"))
        if has("date_last_contact"):
            problems.append(_problems(frame, death.notna() & (frame["date_last_contact"] != death),
                                      "date_last_contact", "equals date_death when dead"))
    if has("date_last_contact"):
        last = frame["date_last_contact"]
        for col in EVENT_DATE_COLUMNS:
            if has(col) and col != "date_death":
                problems.append(_problems(frame, frame[col] > last, col, "on or before date_last_contact"))
    if has("date_response") and has("date_relapse"):
        problems.append(_problems(frame, frame["date_relapse"] < frame["date_response"], "date_relapse",
                                  "on or after date_response"))
    if has("date_response") or has("best_response"):
        problems.append(_response_date_rule(frame))
    if has("death_cause") and has("date_death"):
        problems.append(_problems(frame, frame["death_cause"].notna() & frame["date_death"].isna(),
                                  "death_cause", "only when date_death is present"))
    return problems_frame(problems)


def _response_date_rule(frame: pd.DataFrame) -> pd.DataFrame:
    date = frame["date_response"] if "date_response" in frame else pd.Series(pd.NaT, index=frame.index)
    best = frame["best_response"] if "best_response" in frame else pd.Series(None, index=frame.index, dtype=object)
    is_cr = best.isin(RESPONSES_CR)
    known = best.isin(CATEGORIES["best_response"])
    return problems_frame([
        _problems(frame, is_cr & date.isna(), "date_response" if "date_response" in frame else "best_response",
                  "date_response required when best_response is CR/CRi/CRh",
                  best if "date_response" not in frame else None),
        _problems(frame, known & ~is_cr & date.notna(), "date_response",
                  "date_response only when best_response is CR/CRi/CRh"),
        _problems(frame, best.isna() & date.notna(), "best_response",
                  "best_response required when date_response is present"),
    ])
