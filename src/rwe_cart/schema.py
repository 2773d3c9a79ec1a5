"""The cohort contract: canonical columns, their types, and the validation rules of docs/data-contract.md.

Validation never stops at the first problem: every failure of every rule is collected into
one problems table (patient_id, column, rule, value) so a registry manager can fix a file in
one pass.
"""
from __future__ import annotations

import calendar
import datetime
import re
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = [
    # the contract
    "CohortValidationError", "RESPONSES_CR", "CATEGORIES", "DATE_COLUMNS", "EVENT_DATE_COLUMNS",
    "BOOL_COLUMNS", "INT_COLUMNS", "FLOAT_COLUMNS", "REQUIRED", "CONTRACT_COLUMNS", "RANGES",
    "PROBLEM_COLUMNS", "PARTIAL_RULES", "coerce", "validate", "format_problems",
    # the rules' building blocks, shared with the loaders
    "ALL", "EXCEL_EPOCHS", "blank_rows", "check_date_format", "clean_ids", "coerce_bool",
    "coerce_category", "coerce_dates", "coerce_number", "file_problems", "is_missing",
    "patient_labels", "problems_frame", "row_label", "row_problems",
]

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
# Marker for a problem that concerns the whole table (patient_id) or a whole row (column).
ALL = "<all>"
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
# ASCII digits only: "２０２３" (full-width) is not a year.
_FULL_ISO = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$"
_PARTIAL = r"^(\d{4})(?:-(\d{1,2}))?$"
_SERIAL = r"^-?\d+(\.\d*)?$"
_DAY_MONTH_YEAR = r"^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$"
_ISO_LIKE = r"^\d{4}-\d{1,2}-\d{1,2}"
_DECIMAL_COMMA = r"^[+-]?\d*,\d+$"
# Excel serial dates: day 1 is 1900-01-01 in the 1900 date system (with Lotus' fictitious
# 1900-02-29 as day 60, as Excel and openpyxl count) and day 0 is 1904-01-01 in the 1904 one.
EXCEL_EPOCHS = (1900, 1904)
_EXCEL_BASE = {1900: pd.Timestamp("1899-12-30"), 1904: pd.Timestamp("1904-01-01")}
_UNIX = pd.Timestamp("1970-01-01")
# Whole numbers beyond 15 digits lose precision as floats and overflow Int64 on the way.
_MAX_WHOLE = 1e15


class CohortValidationError(ValueError):
    """Raised when a table breaks the cohort contract.

    ``problems`` lists every failure: patient_id, column, rule and the offending value.
    ``patient_id`` is the identifier from the input, ``"<row i>"`` for a row without one
    (``i``: 0-based position of the row in the table as read; loaders of long tables name
    the table, e.g. ``"<ADTTE row 3>"``), or ``"<all>"`` for a problem of the whole table
    (a missing column, no rows). ``column`` is a contract column (docs/data-contract.md), a column of the
    input (an ADaM variable, a column named in ``columns=``), or ``"<all>"`` for the whole row.

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> frame = pd.DataFrame({"patient_id": ["P1", "P2"],
    ...                       "date_infusion": ["2023-01-10", "2023-02-01"],
    ...                       "date_relapse": ["2023-01-04", None],
    ...                       "date_last_contact": ["2023-06-30", "2023-08-15"]})
    >>> try:
    ...     rc.load_registry(frame)
    ... except rc.CohortValidationError as error:
    ...     print(error.problems[["patient_id", "column", "rule"]].to_string(index=False))
    patient_id       column                      rule
            P1 date_relapse on or after date_infusion
    >>> cohort = rc.load_registry(frame, errors="exclude")
    >>> len(cohort), cohort.attrition["patient_id"].tolist()
    (1, ['P1'])
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

    def report(self) -> str:
        """Every problem as readable text, grouped by column and rule."""
        return format_problems(self.problems)


def format_problems(problems: pd.DataFrame) -> str:
    """Problems as text: a count line, then one block per (column, rule) with its rows."""
    n, n_pat = len(problems), problems["patient_id"].nunique(dropna=False)
    lines = [f"{n} problem(s) in {n_pat} patient(s)"]
    for (column, rule), grp in problems.groupby(["column", "rule"], sort=False, dropna=False):
        lines.append(f"\n[{column}] {rule} — {len(grp)} row(s)")
        table = grp[["patient_id", "value"]].astype(str).to_string(index=False)
        lines += ["  " + line for line in table.splitlines()]
    return "\n".join(lines)


# Returned (never modified) where nothing failed: building an empty frame is not free.
_NO_PROBLEMS = pd.DataFrame({c: pd.Series(dtype=object) for c in PROBLEM_COLUMNS})
_NO_IMPUTATIONS = pd.DataFrame({c: pd.Series(dtype=object)
                                for c in ("patient_id", "column", "original", "imputed", "rule")})


def problems_frame(rows: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames = [r[PROBLEM_COLUMNS].astype(object) for r in rows if len(r)]
    if not frames:
        return _NO_PROBLEMS.copy()
    return pd.concat(frames, ignore_index=True)[PROBLEM_COLUMNS]


def file_problems(columns: Iterable[object], rule: str, value: str) -> pd.DataFrame:
    """Problems of the whole table (patient_id ``"<all>"``), one per named column."""
    columns = list(columns)
    return pd.DataFrame({"patient_id": [ALL] * len(columns), "column": columns,
                         "rule": [rule] * len(columns), "value": [value] * len(columns)}, dtype=object)


def row_label(i: int, table: str | None = None) -> str:
    return f"<{table} row {i}>" if table else f"<row {i}>"


def patient_labels(frame: pd.DataFrame) -> pd.Series:
    """Patient identifiers for messages; a row without one is named by its row number."""
    pid = frame["patient_id"] if "patient_id" in frame else pd.Series(pd.NA, index=frame.index)
    labels = pid.astype(object).to_numpy(copy=True)
    missing = pid.isna().to_numpy()
    # Row labels only where an identifier is missing: every problem found asks for the
    # labels, and one text per row cost 0.3 s each time at 10^6 rows.
    labels[missing] = [row_label(i) for i in frame.index[missing]]
    return pd.Series(labels, index=frame.index, dtype=object, name=pid.name)


def row_problems(frame: pd.DataFrame, mask: pd.Series, column: str, rule: str | pd.Series,
              values: pd.Series | None = None) -> pd.DataFrame:
    """One problem per row of ``mask``; ``rule`` is one text, or a Series (one per row)."""
    mask = _flag(pd.Series(mask, index=frame.index))
    if not mask.any():
        return _NO_PROBLEMS
    vals = (frame[column] if values is None else values)[mask]
    rules = rule[mask].to_numpy() if isinstance(rule, pd.Series) else rule
    return pd.DataFrame({
        "patient_id": patient_labels(frame)[mask].to_numpy(),
        "column": column,
        "rule": rules,
        "value": _display(vals).to_numpy(),
    })


def _flag(mask: pd.Series) -> pd.Series:
    """A mask as plain bool, missing (NA) as False."""
    if mask.dtype == object:
        return mask.map(lambda v: v is True or v is np.True_).astype(bool)
    if pd.api.types.is_extension_array_dtype(mask):
        return mask.fillna(False).astype(bool)
    return mask.astype(bool)


def _display(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").astype(object).where(values.notna(), "<missing>")
    return values.astype(object).map(lambda v: "<missing>" if is_missing(v) else v)


def is_missing(value: object) -> bool:
    """True for None, NaN, NA and NaT; False for every other value, whatever its type."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    if isinstance(value, np.datetime64):
        return bool(np.isnat(value))
    return False


def blank_rows(frame: pd.DataFrame) -> pd.Series:
    """Rows whose every cell is missing or whitespace (blank lines of a file)."""
    blank = pd.Series(True, index=frame.index)
    # Column by column, fullest first, looking only at rows still blank: one pass over the
    # first column settles almost every row of a real table.
    for i in np.argsort(frame.isna().sum().to_numpy(), kind="stable"):
        if not blank.any():
            break
        cells = frame.iloc[:, i][blank]
        blank[blank] = _is_empty(cells).to_numpy()
    return blank


def _is_empty(values: pd.Series) -> pd.Series:
    missing = values.isna()
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        text = values.astype(object)
        return missing | text.map(lambda v: isinstance(v, str) and not v.strip())
    return missing


# --------------------------------------------------------------------------- coercion
def _blank(raw: pd.Series) -> pd.Series:
    """Text stripped; an empty or whitespace-only text is missing (None)."""
    if raw.dtype == object or pd.api.types.is_string_dtype(raw):
        raw = raw.astype(object)
        if _all_text(raw):
            stripped = raw.str.strip()
            return stripped.where(stripped.ne("") & stripped.notna(), None)
        return raw.map(lambda v: (v.strip() or None) if isinstance(v, str) else v)
    return raw


def _all_text(values: pd.Series) -> bool:
    """Every value is a str or missing (a CSV column): vectorised string methods apply."""
    return values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")


def _match(text: pd.Series, pattern: str) -> pd.Series:
    """Which values of a Series are text matching ``pattern`` (ASCII digits); others False."""
    try:
        return text.str.match(pattern, flags=re.ASCII, na=False).astype(bool)
    except AttributeError:  # no text at all: pandas refuses the .str accessor
        return pd.Series(False, index=text.index)


def _nanoseconds(dates: pd.Series) -> pd.Series:
    """Dates at nanosecond resolution; a date outside its range (before 1677, after 2262)
    becomes missing, so that it is reported as unreadable. pandas 2 parsed such dates to
    NaT itself; pandas 3 keeps them at a coarser resolution."""
    try:
        return dates.astype("datetime64[ns]")
    except (OverflowError, ValueError):   # pandas.errors.OutOfBoundsDatetime
        inside = (dates >= pd.Timestamp.min) & (dates <= pd.Timestamp.max)
        return dates.where(inside).astype("datetime64[ns]")


def coerce_dates(frame: pd.DataFrame, column: str, *, date_format: str | None,
                 partial_dates: str | None,
                 excel_dates: int | None = None) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """Parse one date column strictly; return (dates, problems, imputations).

    Accepted: datetime values, ISO 8601 text (or ``date_format``), partial dates when a
    ``partial_dates`` rule is chosen, and with ``excel_dates`` (1900 or 1904, the workbook's
    date system) whole or fractional numbers as Excel serial days. Anything else is a
    problem whose rule says what was expected and, where the value suggests it, which option
    reads it (``date_format=``, ``excel_dates=True``).
    """
    raw = _blank(frame[column])
    empty = _NO_PROBLEMS.copy()
    no_imputations = _NO_IMPUTATIONS.copy()
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw.dt.tz_localize(None) if getattr(raw.dt, "tz", None) else raw
        try:
            return parsed.dt.normalize().astype("datetime64[ns]"), empty, no_imputations
        except (OverflowError, ValueError):  # pandas.errors.OutOfBoundsDatetime: years past 2262
            raw = parsed.astype(object)
    text = raw.astype(object)
    text = text.where(text.notna(), None) if _all_text(text) else text.map(_date_text)
    if date_format is None:
        # pandas' ISO 8601 parser silently completes "2023-2" to 1 February; a partial date
        # must reach the partial-date rule instead, so only full dates are parsed here.
        full = _match(text, _FULL_ISO)
        parsed = pd.to_datetime(text.where(full), format="ISO8601", errors="coerce")
    else:
        parsed = pd.to_datetime(text, format=date_format, errors="coerce")
    parsed = _nanoseconds(pd.Series(parsed, index=raw.index))
    failed = text.notna() & parsed.isna()
    if not failed.any():
        return parsed.dt.normalize(), empty, no_imputations
    partial = failed & _match(text, _PARTIAL)
    year_like = partial & ~_match(text, r"^\d{4}-")
    problems = []
    if excel_dates is not None:
        serial = failed & _match(text, _SERIAL) & ~year_like
        days, bad_serial = _excel_serial(text.where(serial), excel_dates)
        parsed = parsed.where(~serial, days)
        failed = failed & ~(serial & ~bad_serial)
        limit = _excel_limit(excel_dates)
        low, skip = (1, ", not 60 (the fictitious 1900-02-29)") if excel_dates == 1900 else (0, "")
        problems.append(row_problems(frame, bad_serial, column,
                                  f"an Excel serial date ({excel_dates} date system) from {low} "
                                  f"to {limit}{skip}", text))
        failed = failed & ~bad_serial
    imputations = no_imputations
    if partial.any() and partial_dates is not None:
        completed = text.where(partial).map(
            lambda s: None if is_missing(s) else _impute_partial(s, partial_dates))
        imputed = pd.to_datetime(completed, format="ISO8601", errors="coerce")
        parsed = parsed.where(~partial, pd.Series(imputed, index=raw.index).astype("datetime64[ns]"))
        done = partial & parsed.notna()
        imputations = pd.DataFrame({
            "patient_id": patient_labels(frame)[done].to_numpy(),
            "column": column,
            "original": text[done].to_numpy(),
            "imputed": parsed[done].dt.strftime("%Y-%m-%d").to_numpy(),
            "rule": partial_dates,
        })
        failed = failed & ~done
    # With a rule chosen, a partial date that still fails (month 13) is simply invalid.
    partial = partial & (partial_dates is None)
    problems += [
        row_problems(frame, partial, column,
                  "partial date: choose partial_dates='mid', 'first' or 'last'", text),
        row_problems(frame, failed & ~partial, column,
                  _date_rules(text, date_format, excel_dates) if (failed & ~partial).any() else "", text),
    ]
    return parsed.dt.normalize(), problems_frame(problems), imputations


def _date_rules(text: pd.Series, date_format: str | None, excel_dates: int | None) -> pd.Series:
    """The rule each unparsed date broke, with a hint where the value suggests the fix."""
    expected = f"a valid date as {date_format}" if date_format else "a valid ISO 8601 date (YYYY-MM-DD)"
    rules = pd.Series(expected, index=text.index, dtype=object)
    if date_format is None:
        dmy = _match(text, _DAY_MONTH_YEAR)
        rules[dmy] = expected + "; looks like DD/MM/YYYY or MM/DD/YYYY: pass date_format="
    else:
        iso = _match(text, _ISO_LIKE)
        rules[iso] = expected + "; looks like ISO 8601: the column mixes date formats"
    if excel_dates is None:
        number = _match(text, _SERIAL)
        rules[number] = expected + "; a number: an Excel serial date? pass excel_dates=True"
    return rules


def _excel_serial(text: pd.Series, epoch: int) -> tuple[pd.Series, pd.Series]:
    """Excel serial days (text of numbers, None elsewhere) -> (dates, out-of-range mask)."""
    if epoch not in EXCEL_EPOCHS:
        raise ValueError(f"excel_dates must be one of {EXCEL_EPOCHS}, got {epoch!r}")
    number = pd.to_numeric(text, errors="coerce").astype("float64")
    day = np.floor(number)
    limit = _excel_limit(epoch)
    if epoch == 1900:
        ok = (day >= 1) & (day <= limit) & (day != 60)
        offset = day.where(day >= 60, day + 1)  # days 1-59 precede the fictitious 29 February
    else:
        ok = (day >= 0) & (day <= limit)
        offset = day
    # Counted from 1970 so that the timedelta stays within pandas' ±292 years.
    since_1970 = offset.where(ok) + (_EXCEL_BASE[epoch] - _UNIX).days
    dates = _UNIX + pd.to_timedelta(since_1970, unit="D")
    return dates.astype("datetime64[ns]"), number.notna() & ~ok


def _excel_limit(epoch: int) -> int:
    """The largest serial day pandas can hold as a date (in 2262)."""
    return (pd.Timestamp.max.normalize() - _UNIX).days - 1 - (_EXCEL_BASE[epoch] - _UNIX).days


def _date_text(value: object) -> object:
    """One cell of a date column as stripped text (None when missing)."""
    if is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date)):  # includes pd.Timestamp
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    if isinstance(value, np.datetime64):
        return str(np.datetime_as_string(value, unit="D"))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value).strip() or None


def _impute_partial(text: str, rule: str) -> str | None:
    """Complete ``YYYY-MM`` or ``YYYY`` by ``rule``; None when the month or year is impossible."""
    found = re.match(_PARTIAL, text, flags=re.ASCII)
    if found is None:
        return None
    year = int(found.group(1))
    if year < 1:
        return None
    if found.group(2) is not None:
        month = int(found.group(2))
        if not 1 <= month <= 12:
            return None
        day = {"first": 1, "mid": 15, "last": calendar.monthrange(year, month)[1]}[rule]
        return f"{year:04d}-{month:02d}-{day:02d}"
    return {"first": f"{year:04d}-01-01", "mid": f"{year:04d}-07-01", "last": f"{year:04d}-12-31"}[rule]


def coerce_bool(frame: pd.DataFrame, column: str) -> tuple[pd.Series, pd.DataFrame]:
    raw = _blank(frame[column])
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype("boolean"), _NO_PROBLEMS.copy()
    raw = raw.astype(object)
    text = (raw.str.lower() if _all_text(raw) else
            raw.map(lambda v: None if is_missing(v) else str(v).strip().lower()))
    out = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    out[text.isin(_TRUE)] = True
    out[text.isin(_FALSE)] = False
    bad = text.notna() & out.isna()
    return out, row_problems(frame, bad, column, "one of true/false, yes/no, 1/0", raw)


def _to_float(values: pd.Series) -> pd.Series:
    """Numbers as float64; anything that is not a number becomes NaN (never an exception)."""
    if pd.api.types.is_bool_dtype(values):
        values = values.astype(object)
    try:
        return pd.to_numeric(values, errors="coerce").astype("float64")
    except (TypeError, ValueError, OverflowError):
        return values.astype(object).map(_one_float).astype("float64")


def _one_float(value: object) -> float:
    if is_missing(value) or isinstance(value, (bool, np.bool_)):
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return np.nan


def coerce_number(frame: pd.DataFrame, column: str, *, integer: bool,
                  decimal: str = ".") -> tuple[pd.Series, pd.DataFrame]:
    """A numeric column: text or numbers in, float64 (or Int64) out, every failure listed.

    ``decimal`` is the decimal mark of text values: with ``","``, ``"45,5"`` is 45.5 and a
    text holding a ``"."`` is a problem (it may be a thousands separator: ``1.234``).
    Non-finite values (``inf``) and whole numbers beyond 15 digits are problems.
    """
    raw = _blank(frame[column])
    text = raw
    is_text = raw.dtype == object or pd.api.types.is_string_dtype(raw)
    rule = pd.Series("a number", index=raw.index, dtype=object)
    if is_text and decimal != ".":
        strings = raw.map(lambda v: isinstance(v, str))
        dotted = strings & raw.map(lambda v: isinstance(v, str) and "." in v)
        rule[dotted] = f"a number with decimal mark {decimal!r} (found '.')"
        text = raw.map(lambda v: v.replace(decimal, ".") if isinstance(v, str) else v)
        text = text.where(~dotted, None)
    num = _to_float(text)
    bad = raw.notna() & num.isna()
    if is_text and decimal == "." and bad.any():
        # A decimal comma is never a number, so only failed values need the hint; looking at
        # those alone spares two Python-level passes over every value (10^6 rows: the ten
        # numeric columns take 5 s instead of 9).
        failed = raw[bad]
        failed = failed.where(failed.map(lambda v: isinstance(v, str)))
        comma = bad.copy()
        comma[bad] = _match(failed, _DECIMAL_COMMA).to_numpy()
        rule[comma] = "a number; decimal comma? pass decimal=','"
    infinite = num.notna() & ~np.isfinite(num)
    problems = [row_problems(frame, bad, column, rule, raw),
                row_problems(frame, infinite, column, "a finite number", raw)]
    num = num.where(~infinite)
    if integer:
        huge = num.abs() >= _MAX_WHOLE
        frac = num.notna() & ~huge & (num != np.round(num))
        problems.append(row_problems(frame, frac, column, "a whole number", raw))
        problems.append(row_problems(frame, huge, column, "a whole number of at most 15 digits", raw))
        num = num.where(~(frac | huge))
        return num.astype("Int64"), problems_frame(problems)
    return num, problems_frame(problems)


def coerce_category(frame: pd.DataFrame, column: str) -> pd.Series:
    raw = _blank(frame[column])
    raw = raw.astype(object)
    if _all_text(raw):
        return raw.where(raw.notna(), None)
    return raw.map(lambda v: None if is_missing(v) else str(v).strip())


def clean_ids(values: pd.Series) -> pd.Series:
    """Identifiers as stripped text (a whole float 12.0 is "12"); missing stays None."""
    def one(v: object) -> object:
        if is_missing(v):
            return None
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        return str(v).strip() or None
    values = values.astype(object)
    if _all_text(values):
        stripped = values.str.strip()
        return stripped.where(stripped.ne("") & stripped.notna(), None)
    return values.map(one)


def check_date_format(date_format: str | None) -> None:
    """A strptime format of a calendar date (no time zone), or ValueError saying why not."""
    if date_format is None:
        return
    if not isinstance(date_format, str) or "%z" in date_format or "%Z" in date_format:
        raise ValueError(f"date_format must be a strptime format of a date without time zone, "
                         f"got {date_format!r}")
    try:
        pd.to_datetime(pd.Series(["2000-01-01"]), format=date_format, errors="coerce")
    except ValueError as err:
        raise ValueError(f"date_format {date_format!r} is not a strptime format: {err}") from None


def coerce(frame: pd.DataFrame, *, date_format: str | None = None,
           partial_dates: str | None = None, decimal: str = ".",
           excel_dates: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Type every contract column present; return (typed frame, problems, imputations).

    Columns outside the contract are passed through unchanged.
    """
    if partial_dates is not None and partial_dates not in PARTIAL_RULES:
        raise ValueError(f"partial_dates must be one of {PARTIAL_RULES} or None, got {partial_dates!r}")
    if excel_dates is not None and excel_dates not in EXCEL_EPOCHS:
        raise ValueError(f"excel_dates must be one of {EXCEL_EPOCHS} or None, got {excel_dates!r}")
    if not isinstance(decimal, str) or len(decimal) != 1 or decimal.isdigit():
        raise ValueError(f"decimal must be one character such as '.' or ',', got {decimal!r}")
    check_date_format(date_format)
    out = frame.copy()
    problems, imputations = [], []
    if "patient_id" in out:
        out["patient_id"] = clean_ids(out["patient_id"])
    # Each coercer reads the raw column from `out` before replacing it, and names patients
    # by the already-cleaned patient_id.
    for col in DATE_COLUMNS:
        if col in out:
            out[col], prob, imp = coerce_dates(out, col, date_format=date_format,
                                               partial_dates=partial_dates, excel_dates=excel_dates)
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
    imputations_frame = pd.concat(imp, ignore_index=True) if imp else _NO_IMPUTATIONS.copy()
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
        with warnings.catch_warnings():
            # pandera concatenates its failure cases, and a missing required value is an
            # all-NA case: pandas' FutureWarning about such concatenations comes from inside
            # pandera and does not touch the columns we read (index, column, check, value).
            warnings.filterwarnings("ignore", category=FutureWarning,
                                    message="The behavior of DataFrame concatenation with empty or all-NA")
            schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        # A failure without a row (none expected: no dtype checks) concerns the whole table.
        labels = patient_labels(frame)
        who = [labels.loc[i] if not is_missing(i) and i in labels.index else ALL for i in fc["index"]]
        return pd.DataFrame({
            "patient_id": who,
            "column": fc["column"].to_numpy(),
            "rule": fc["check"].map(lambda c: _PANDERA_RULES.get(c, c)).to_numpy(),
            "value": fc["failure_case"].astype(object).where(fc["failure_case"].notna(), "<missing>").to_numpy(),
        })
    return _NO_PROBLEMS.copy()


def validate(frame: pd.DataFrame) -> pd.DataFrame:
    """All six data-contract rules on a typed frame; returns the problems table (empty when valid)."""
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
                problems.append(row_problems(frame, frame[col] < infusion, col, "on or after date_infusion"))
        if has("date_apheresis"):
            problems.append(row_problems(frame, frame["date_apheresis"] > infusion, "date_apheresis",
                                      "on or before date_infusion"))
    if has("date_death"):
        death = frame["date_death"]
        for col in EVENT_DATE_COLUMNS:
            if has(col) and col != "date_death":
                problems.append(row_problems(frame, frame[col] > death, col, "not after date_death"))
        if has("date_last_contact"):
            problems.append(row_problems(frame, death.notna() & (frame["date_last_contact"] != death),
                                      "date_last_contact", "equals date_death when dead"))
    if has("date_last_contact"):
        last = frame["date_last_contact"]
        for col in EVENT_DATE_COLUMNS:
            if has(col) and col != "date_death":
                problems.append(row_problems(frame, frame[col] > last, col, "on or before date_last_contact"))
    if has("date_response") and has("date_relapse"):
        problems.append(row_problems(frame, frame["date_relapse"] < frame["date_response"], "date_relapse",
                                  "on or after date_response"))
    # A source without one of the two columns at all leaves the pair unchecked: the cohort
    # lists that column as unavailable and analyses that need it refuse to run.
    if has("date_response") and has("best_response"):
        problems.append(_response_date_rule(frame))
    if has("death_cause") and has("date_death"):
        problems.append(row_problems(frame, frame["death_cause"].notna() & frame["date_death"].isna(),
                                  "death_cause", "only when date_death is present"))
    return problems_frame(problems)


def _response_date_rule(frame: pd.DataFrame) -> pd.DataFrame:
    date, best = frame["date_response"], frame["best_response"]
    is_cr = best.isin(RESPONSES_CR)
    known = best.isin(CATEGORIES["best_response"])
    return problems_frame([
        row_problems(frame, is_cr & date.isna(), "date_response",
                  "date_response required when best_response is CR/CRi/CRh"),
        row_problems(frame, known & ~is_cr & date.notna(), "date_response",
                  "date_response only when best_response is CR/CRi/CRh"),
        row_problems(frame, best.isna() & date.notna(), "best_response",
                  "best_response required when date_response is present", best),
    ])
