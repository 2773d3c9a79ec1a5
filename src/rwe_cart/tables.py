"""Display tables: Table 1 (baseline characteristics), small-cell suppression of count
columns, and export of any result table to CSV, booktabs LaTeX or Word-friendly HTML.

Every number is written by :mod:`rwe_cart.formatting` here, once, into display strings;
the renderers in ``_table_render`` (great-tables for HTML) only lay those strings out."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import _table_render as _render
from ._deprecate import keyword_only, renamed
from .formatting import format_count_percent, format_fixed, format_p
from .privacy import check_suppress, format_count

__all__ = ["TableOne", "export_table", "format_table", "suppress_counts", "table_html", "table_one",
           "COUNT_COLUMNS", "DEFAULT_VARIABLES", "HEADERS", "LABELS"]

DEFAULT_VARIABLES = (
    "age", "sex", "prior_hsct", "prior_lines", "prior_blinatumomab", "prior_inotuzumab",
    "ph_positive", "extramedullary", "marrow_blasts_pct", "crs_grade", "icans_grade",
    "best_response", "mrd_negative",
)
LABELS = {
    "age": "Age, years", "sex": "Sex", "prior_hsct": "Prior allo-HSCT",
    "prior_lines": "Prior lines of therapy", "prior_blinatumomab": "Prior blinatumomab",
    "prior_inotuzumab": "Prior inotuzumab ozogamicin", "ph_positive": "Ph-positive",
    "extramedullary": "Extramedullary disease", "marrow_blasts_pct": "Marrow blasts, %",
    "crs_grade": "CRS grade (ASTCT)", "icans_grade": "ICANS grade (ASTCT)",
    "best_response": "Best response", "mrd_negative": "MRD-negative at response",
    "anc": "ANC, ×10⁹/L", "hb": "Haemoglobin, g/dL", "plt": "Platelets, ×10⁹/L",
    "crp": "CRP, mg/dL", "ferritin": "Ferritin, ng/mL",
}
# Ordinal integer columns shown as categories, not medians.
CATEGORICAL_INTS = ("crs_grade", "icans_grade")


@dataclass(frozen=True, eq=False)
class TableOne:
    """Baseline table: one row per variable (continuous) or level (categorical).

    ``table`` columns: variable, level, then one column per group ("Overall" first), then
    ``smd`` when there are exactly two groups. Cells are display strings: n (%) of the
    non-missing, or median [Q1, Q3]; a "Missing" level counts unknown values.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> t1 = rc.table_one(rc.datasets.rocca_like(), variables=["age", "crs_grade"],
    ...                   suppress_below=5)
    >>> t1.n, t1.suppress_below
    ({'Overall': 189}, 5)
    >>> t1.table.head(4)
                variable         level            Overall
    0                  N                              189
    1         Age, years  median [IQR]  44.0 [37.0, 54.0]
    2  CRS grade (ASTCT)             0         28 (14.8%)
    3  CRS grade (ASTCT)             1         80 (42.3%)
    """

    table: pd.DataFrame
    by: str | None
    n: dict
    suppress_below: int | None

    def display(self) -> pd.DataFrame:
        """The table as printed: repeated variable names blanked, SMD to 3 decimals."""
        out = self.table.copy()
        out.loc[out["variable"].eq(out["variable"].shift()), "variable"] = ""
        if "smd" in out:
            out["smd"] = out["smd"].map(lambda v: "" if pd.isna(v) else format_fixed(v, 3))
        return out.rename(columns={"variable": "", "level": "", "smd": "SMD"})

    def _repr_html_(self) -> str:
        # the journal layout that export_table writes, so the notebook shows the same table
        return table_html(self)

    def __repr__(self) -> str:
        return self.display().to_string(index=False, na_rep="")


def _count_cell(n: int, denom: int, k: int | None) -> str:
    return format_count_percent(n, denom, k)


def _median_cell(x: pd.Series) -> str:
    x = x.dropna().astype(float)
    if x.empty:
        return "–"
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return f"{format_fixed(med, 1)} [{format_fixed(q1, 1)}, {format_fixed(q3, 1)}]"


def _smd_continuous(a: pd.Series, b: pd.Series) -> float:
    a, b = a.dropna().astype(float), b.dropna().astype(float)
    pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    return float(abs(a.mean() - b.mean()) / pooled) if pooled > 0 else 0.0


def _smd_categorical(a: pd.Series, b: pd.Series, levels: Sequence) -> float:
    """Multi-level SMD of Yang & Dalton (2012), as R's tableone; binary reduces to the usual."""
    p = np.array([(a.dropna() == lv).mean() for lv in levels])[1:]
    q = np.array([(b.dropna() == lv).mean() for lv in levels])[1:]
    if p.size == 0:
        return 0.0
    def cov(x):
        return np.diag(x) - np.outer(x, x)
    s = (cov(p) + cov(q)) / 2
    d = p - q
    val = d @ np.linalg.pinv(s) @ d
    return float(np.sqrt(max(val, 0.0)))


def table_one(cohort, by: str | None = None, *, variables: Sequence[str] | None = None,
              suppress_below: int | None = None, labels: dict | None = None,
              group_labels: dict | None = None) -> TableOne:
    """Table 1 of baseline characteristics, overall and by a baseline factor.

    Parameters
    ----------
    cohort : Cohort or DataFrame
    by : str, optional
        Baseline grouping column (e.g. ``prior_hsct``). Post-infusion events (HSCT after
        CAR-T) are not baseline factors and should not be used here.
    variables : sequence of str, optional
        Columns to describe; default: the contract's baseline columns present in the data.
    suppress_below : int, optional
        Counts from 1 to k−1 are shown as "<k" (small-cell suppression), with their
        percentages. There is no secondary suppression: with two groups, a masked cell
        can be the Overall cell minus the other group's; check before release.
    labels : dict, optional
        Variable -> display name (defaults cover the contract's columns).
    group_labels : dict, optional
        Level of ``by`` -> column heading, e.g. ``{True: "Prior allo-HSCT"}``.

    Notes
    -----
    Percentages use the non-missing values as denominator; missing values get their own
    "Missing" row. SMD: Cohen's d with the pooled SD for continuous variables and the
    multivariate SMD of Yang & Dalton (2012) for categorical ones, as R's tableone.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> t1 = rc.table_one(rc.datasets.rocca_like(), by="extramedullary",
    ...                   variables=["age", "sex", "mrd_negative"])
    >>> t1.table.columns.tolist()
    ['variable', 'level', 'Overall', 'extramedullary = False', 'extramedullary = True', 'smd']
    >>> t1.table[["variable", "level", "Overall"]].iloc[1:4]
         variable         level            Overall
    1  Age, years  median [IQR]  44.0 [37.0, 54.0]
    2         Sex             F         87 (46.0%)
    3         Sex             M        102 (54.0%)
    """
    check_suppress(suppress_below)
    frame = cohort.patients if hasattr(cohort, "patients") else cohort
    if by is not None and by not in frame:
        raise ValueError(f"by={by!r} is not a column of the cohort")
    if variables is None:
        variables = [v for v in DEFAULT_VARIABLES if v in frame and frame[v].notna().any() and v != by]
    absent = [v for v in variables if v not in frame]
    if absent:
        raise ValueError(f"variables not in the cohort: {absent}")
    names = {**LABELS, **(labels or {})}
    groups: list[tuple[str, pd.DataFrame]] = [("Overall", frame)]
    if by is not None:
        if frame[by].isna().any():
            raise ValueError(f"by={by!r} has {int(frame[by].isna().sum())} missing values; "
                             "fill or exclude them before grouping")
        for level, sub in frame.groupby(by, sort=True):
            groups.append(((group_labels or {}).get(level, f"{by} = {level}"), sub))
    two = len(groups) == 3
    rows = [{"variable": "N", "level": "",
             **{g: format_count(len(sub), suppress_below) for g, sub in groups}}]
    for var in variables:
        col = frame[var]
        label = names.get(var, var)
        categorical = not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col) \
            or var in CATEGORICAL_INTS
        if categorical:
            levels = sorted(col.dropna().unique(), key=lambda v: (str(type(v)), v))
            is_bool = pd.api.types.is_bool_dtype(col)
            if is_bool:
                levels = [True, False]
            smd = _smd_categorical(groups[1][1][var], groups[2][1][var], levels) if two else np.nan
            for i, lv in enumerate(levels):
                row = {"variable": label, "level": ("Yes" if lv else "No") if is_bool else str(lv)}
                for g, sub in groups:
                    x = sub[var].dropna()
                    row[g] = _count_cell(int((x == lv).sum()), len(x), suppress_below)
                if two:
                    row["smd"] = smd if i == 0 else np.nan
                rows.append(row)
        else:
            row = {"variable": label, "level": "median [IQR]",
                   **{g: _median_cell(sub[var]) for g, sub in groups}}
            if two:
                row["smd"] = _smd_continuous(groups[1][1][var], groups[2][1][var])
            rows.append(row)
        if col.isna().any():
            rows.append({"variable": label, "level": "Missing",
                         **{g: format_count(int(sub[var].isna().sum()), suppress_below)
                            for g, sub in groups}})
    table = pd.DataFrame(rows)
    if two:
        table["smd"] = table["smd"].astype(float)
    return TableOne(table=table, by=by, n={g: len(sub) for g, sub in groups},
                    suppress_below=suppress_below)


# ---------------------------------------------------------------------------------------
# Small-cell suppression of result tables
# ---------------------------------------------------------------------------------------
#: Column names recognised as patient counts (besides any name starting with ``n_``).
COUNT_COLUMNS = frozenset({"n", "events", "count", "at_risk", "censored", "deaths"})
PERCENT_MASK = "–"


def _is_percent_name(name: Any) -> bool:
    s = str(name).lower()
    return "pct" in s or "percent" in s or s.endswith("%")


def _is_count_name(name: Any) -> bool:
    s = str(name).lower()
    return (s in COUNT_COLUMNS or s.startswith("n_")) and not _is_percent_name(s)


def _masked_marker(v: Any) -> bool:
    return isinstance(v, str) and re.fullmatch(r"<\d+", v) is not None


def _count_values(table: pd.DataFrame, column: Any, *, strict: bool) -> pd.Series | None:
    """The column as floats (masked "<m" cells and missing values as NaN), or None when it
    holds no counts; with ``strict`` a cell that is neither a number nor "<m" is an error."""
    col = table[column]
    if pd.api.types.is_bool_dtype(col):
        if strict:
            raise ValueError(f"column {column!r} is boolean, not a count column")
        return None
    x = pd.to_numeric(col, errors="coerce")
    bad = col.notna() & x.isna() & ~col.map(_masked_marker)
    if bad.any():
        if strict:
            row = bad.to_numpy().nonzero()[0][0]
            raise ValueError(f"column {column!r} is not a count column: row {row} holds "
                             f"{col.iloc[row]!r} (counts must be numbers)")
        return None
    return x.astype(float) if x.notna().any() else None


@keyword_only("suppress_below", "columns")
@renamed(k="suppress_below")
def suppress_counts(table: pd.DataFrame, *, suppress_below: int | None,
                    columns: Sequence[str] | None = None, percent_columns: Mapping[str, str | Sequence[str]] | None = None
                    ) -> pd.DataFrame:
    """A copy of ``table`` with small counts masked (small-cell suppression).

    Parameters
    ----------
    table : DataFrame
        A result table, e.g. ``km.at_risk(times)``, ``km.summary`` or
        ``rc.hsct_effect(...).table``.
    suppress_below : int or None
        Threshold k: counts from 1 to k−1 are masked (``k`` before 0.2.0). ``None`` (the default everywhere in
        rwe_cart) masks nothing and returns an unchanged copy.
    columns : sequence of str, optional
        Count columns to mask. Default: every column named ``n``, ``events``, ``count``,
        ``at_risk``, ``censored``, ``deaths`` or ``n_…`` (``n_risk``, ``n_event``,
        ``n_censor``, …; not ``n_pct``) that holds numbers.
    percent_columns : mapping, optional
        Count column -> the percentage column(s) computed from it, e.g.
        ``{"events": "events_pct"}``. Count columns named here are masked too.

    Returns
    -------
    DataFrame
        A copy; a column with a masked cell becomes ``object`` dtype (numbers and strings).

    Notes
    -----
    Exactly what is masked:

    - in each count column, every number x with 0 < x < k becomes the string ``"<k"``
      (a count from 1 to k−1; a weighted count below k as well). Zero, counts of k or
      more, missing values and cells already masked are kept;
    - in each paired percentage column, the cell of every row whose count was masked
      becomes ``"–"``, so the percentage cannot give the count back.

    Nothing else is masked. There is no secondary (complementary) suppression: a masked
    count that can be recovered by subtraction (from a total row, from ``n_risk`` minus
    events at the next time, from the other groups) stays recoverable, and estimates
    computed from few patients (a survival probability after the last events) are kept.
    Check such tables before release.

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> table = pd.DataFrame({"grade": [1, 2, 3], "n": [40, 3, 12], "percent": [72.7, 5.5, 21.8]})
    >>> rc.suppress_counts(table, suppress_below=5, columns=["n"], percent_columns={"n": "percent"})
       grade   n percent
    0      1  40    72.7
    1      2  <5       –
    2      3  12    21.8
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"suppress_counts needs a DataFrame, got {type(table).__name__}")
    try:
        check_suppress(suppress_below)
    except (TypeError, ValueError):
        raise ValueError(f"suppress_below must be a positive integer (counts from 1 to "
                         f"suppress_below - 1 are masked) or None, got {suppress_below!r}") from None
    out = table.copy()
    if isinstance(columns, str):
        columns = [columns]
    pairs = {c: [p] if isinstance(p, str) else list(p) for c, p in (percent_columns or {}).items()}
    named = list(columns or []) + [c for c in pairs if c not in (columns or [])]
    absent = [c for c in named + [p for ps in pairs.values() for p in ps] if c not in out]
    if absent:
        raise ValueError(f"columns not in the table: {absent}; it has {list(out.columns)}")
    if suppress_below is None:
        return out
    k = int(suppress_below)
    if columns is None:
        named += [c for c in out.columns
                  if c not in named and _is_count_name(c) and _count_values(out, c, strict=False) is not None]
    for c in named:
        x = _count_values(out, c, strict=True)
        if x is None:
            continue
        hide = ((x > 0) & (x < k)).to_numpy()
        if hide.any():
            out[c] = out[c].astype(object).where(~hide, f"<{k}")
            for p in pairs.get(c, ()):
                out[p] = out[p].astype(object).where(~hide, PERCENT_MASK)
    return out


# ---------------------------------------------------------------------------------------
# Display formatting
# ---------------------------------------------------------------------------------------
HEADERS = {
    "method": "Method", "estimand": "Estimand", "term": "Term", "group": "Group",
    "stratum": "Stratum", "cause": "Cause", "endpoint": "Endpoint", "note": "Note",
    "hr": "HR", "lower": "Lower CL", "upper": "Upper CL", "coef": "log HR", "se": "SE",
    "robust_se": "Robust SE", "std_err": "SE", "z": "z", "p": "p", "p_value": "p",
    "statistic": "Statistic", "df": "df", "n": "n", "events": "Events", "time": "Time",
    "n_risk": "At risk", "n_event": "Events", "n_censor": "Censored", "survival": "Survival",
    "cif": "Cumulative incidence", "median": "Median", "rmst": "RMST", "smd": "SMD",
}
_P_NAMES = frozenset({"p", "pvalue", "p.value"})
_TIME_NAMES = frozenset({"time", "tau", "landmark", "day", "days", "start", "stop", "median"})


def _kind(name: Any, columns: Sequence = ()) -> str:
    s = str(name).lower()
    # next to a median survival time (km.median(), median_followup) the limits are times
    if s in ("lower", "upper") and "median" in columns:
        return "time"
    if s in _P_NAMES or s.startswith("p_") or s.endswith("_p"):
        return "p"
    if _is_count_name(s) or s == "df":
        return "count"
    if _is_percent_name(s):
        return "percent"
    if s in _TIME_NAMES or s.startswith(("time", "day", "landmark")):
        return "time"
    return "estimate"


def _format_cell(v: Any, kind: str, decimals: int, whole: bool, na_rep: str) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return na_rep
    if isinstance(v, (bool, np.bool_)):
        return "Yes" if v else "No"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if kind == "p":
            return format_p(x, decimals)
        if whole and (np.isinf(x) or x.is_integer()):
            return format_fixed(x, 0)
        return format_fixed(x, decimals)
    return str(v)


def _decimals(kind: str, digits: int) -> int:
    return {"p": 3, "percent": 1, "count": 1, "time": 1}.get(kind, digits)


@dataclass(frozen=True)
class _Display:
    frame: pd.DataFrame      # display strings, positional columns
    headers: tuple[str, ...]
    numeric: tuple[bool, ...]
    k: int | None            # suppression threshold in force (for the note)


def _check_digits(digits: Any, columns: Sequence) -> tuple[int, dict]:
    def ok(d: Any) -> bool:
        return isinstance(d, (int, np.integer)) and not isinstance(d, bool) and 0 <= d <= 15
    if isinstance(digits, Mapping):
        bad = {c: d for c, d in digits.items() if not ok(d)}
        unknown = [c for c in digits if c not in columns]
        if bad or unknown:
            raise ValueError("digits: " + (f"decimals must be integers 0-15, got {bad}" if bad else
                             f"columns not in the table: {unknown}; it has {list(columns)}"))
        return 2, dict(digits)
    if not ok(digits):
        raise ValueError(f"digits must be an integer from 0 to 15 or a column -> decimals "
                         f"mapping, got {digits!r}")
    return int(digits), {}


def _check_headers(headers: Mapping | None, columns: Sequence, defaults: Mapping) -> dict:
    unknown = [c for c in (headers or {}) if c not in columns]
    if unknown:
        raise ValueError(f"headers: columns not in the table: {unknown}; it has {list(columns)}")
    return {**defaults, **(headers or {})}


def _result_frame(table: Any) -> pd.DataFrame:
    """The DataFrame behind a result: the frame itself, ``.table`` or ``.summary``."""
    frame = table
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    if not isinstance(frame, pd.DataFrame):
        frame = getattr(table, "table", None)
        if not isinstance(frame, pd.DataFrame):
            frame = getattr(table, "summary", None)
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"cannot make a table of a {type(table).__name__}: pass a DataFrame, "
                            "a TableOne or a result with a .table or .summary DataFrame "
                            "(for a Kaplan–Meier fit, e.g. km.median() or km.at_risk(times))")
    if isinstance(frame.columns, pd.MultiIndex):
        frame = frame.set_axis([" ".join(str(x) for x in c if str(x)) for c in frame.columns], axis=1)
    # a named or non-integer index carries labels (terms, endpoints); a plain row number does not
    index = frame.index
    if isinstance(index, pd.MultiIndex) or index.name is not None \
            or not pd.api.types.is_integer_dtype(index.dtype):
        frame = frame.reset_index()
    dup = frame.columns[frame.columns.duplicated()].unique().tolist()
    if dup:
        raise ValueError(f"the table has repeated column names {dup}; rename them first")
    return frame


def _suppressed_frame(table: Any, suppress_below: int | None) -> tuple[pd.DataFrame, int | None]:
    """The result's frame with its counts masked, and the threshold used: the larger of
    ``suppress_below`` and the one the result carries (``effect.suppressed(k)``)."""
    check_suppress(suppress_below)
    frame = _result_frame(table)
    own = None if isinstance(table, pd.DataFrame) else getattr(table, "suppress_below", None)
    ks = [int(v) for v in (suppress_below, own) if v is not None]
    k = max(ks) if ks else None
    return (frame if k is None else suppress_counts(frame, suppress_below=k)), k


def _table_one_k(t1: TableOne, suppress_below: int | None) -> int | None:
    check_suppress(suppress_below)
    have = t1.suppress_below
    if suppress_below is not None and (have is None or have < suppress_below):
        raise ValueError(f"this Table 1 was built with suppress_below={have!r}, less than the "
                         f"{suppress_below} asked: its cells are text and cannot be masked "
                         f"afterwards; rebuild it with rc.table_one(..., suppress_below={suppress_below})")
    return have


def _table_one_display(t1: TableOne, digits: Any, headers: Mapping | None,
                        suppress_below: int | None) -> _Display:
    """Journal layout: a heading row per categorical variable with its levels indented
    below, continuous variables on one row, the group sizes in the column headings."""
    k = _table_one_k(t1, suppress_below)
    t = t1.table
    groups = [c for c in t.columns if c not in ("variable", "level", "smd")]
    _, smd_digits = _check_digits(digits, list(t.columns))
    names = _check_headers(headers, list(t.columns), {"variable": "Characteristic", "smd": "SMD"})
    smd_decimals = smd_digits.get("smd", 3)
    indent = "\u2003"  # an em space survives HTML whitespace collapsing and pastes into Word

    def smd(v: Any) -> str:
        return "" if pd.isna(v) else format_fixed(float(v), smd_decimals)

    has_smd = "smd" in t
    rows = []
    for var, block in t[t["variable"] != "N"].groupby("variable", sort=False):
        first = block.iloc[0]
        tail = [smd(first["smd"])] if has_smd else []
        if first["level"] == "median [IQR]":
            rows.append([f"{var}, median [IQR]", *first[groups], *tail])
            block = block.iloc[1:]
        else:
            rows.append([var, *[""] * len(groups), *tail])
        for _, r in block.iterrows():
            rows.append([indent + str(r["level"]), *r[groups]] + ([""] if has_smd else []))
    heads = [names["variable"]]
    heads += [f"{names.get(g, g)} (n = {format_count(t1.n[g], k)})" for g in groups]
    heads += [names["smd"]] if has_smd else []
    frame = pd.DataFrame(rows, columns=range(len(heads)))
    return _Display(frame, tuple(heads), (False,) + (True,) * (len(heads) - 1), k)


def _display(table: Any, digits: Any, headers: Mapping | None, suppress_below: int | None,
             na_rep: str) -> _Display:
    if isinstance(table, TableOne):
        return _table_one_display(table, digits, headers, suppress_below)
    frame, k = _suppressed_frame(table, suppress_below)
    default, per_column = _check_digits(digits, list(frame.columns))
    names = _check_headers(headers, list(frame.columns), HEADERS)
    cols, numeric = {}, []
    for i, c in enumerate(frame.columns):
        kind = _kind(c, list(frame.columns))
        decimals = per_column.get(c, _decimals(kind, default))
        col = frame[c]
        whole = kind in ("count", "time")
        cols[i] = [_format_cell(v, kind, decimals, whole, na_rep) for v in col.to_numpy(dtype=object)]
        is_number = col.map(lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                            or _masked_marker(v))
        numeric.append(bool(is_number[col.notna()].all()) and col.notna().any())
    out = pd.DataFrame(cols, columns=range(len(frame.columns)), index=range(len(frame)))
    heads = tuple(str(names.get(c, c)) for c in frame.columns)
    return _Display(out, heads, tuple(numeric), k)


def format_table(table: Any, *, digits: int | Mapping[str, int] = 2,
                 headers: Mapping[str, str] | None = None, suppress_below: int | None = None,
                 na_rep: str = "–") -> pd.DataFrame:
    """A result table as display strings, rounded as biostatistics journals print them.

    Parameters
    ----------
    table : DataFrame, TableOne or result
        A DataFrame, a :class:`TableOne`, or a result with a ``.table`` DataFrame
        (``rc.hsct_effect(...)``, a landmark grid, …) or a ``.summary`` one (a Cox model).
        A named or non-integer index becomes the first column.
    digits : int or mapping, default 2
        Decimals of estimates (HR, limits, coefficients, survival); a mapping sets
        decimals per column (including p-value, percentage and count columns). A Table 1's
        cells are text already: only its SMD decimals can be set, ``digits={"smd": 2}``.
    headers : mapping, optional
        Column -> heading, over the defaults (``hr`` -> "HR", ``lower`` -> "Lower CL",
        ``n_risk`` -> "At risk", …).
    suppress_below : int, optional
        Small-cell suppression: counts from 1 to k−1 show as "<k" (see
        :func:`suppress_counts`). A Table 1 must already have been built with this
        threshold or a higher one.
    na_rep : str, default "–"
        Shown for missing values (a median not reached, a method without an HR).

    Returns
    -------
    DataFrame
        All cells are strings; columns are the headings.

    Notes
    -----
    By column name: p-values (``p``, ``p_value``, ``p_…``) to 3 decimals with "<0.001"
    below (``digits={"p": 4}`` gives "<0.0001"); counts (``n``, ``events``, ``n_…``) and
    times (``time``, ``tau``, ``landmark``, ``day…``, ``median`` and, in a table with a
    ``median``, its ``lower``/``upper``) as integers when whole, else to 1 decimal;
    percentages (``…pct…``, ``…percent…``) to 1 decimal; other numbers to ``digits``;
    integers as integers; booleans as Yes/No. A Table 1 shows
    each categorical variable as a heading with its levels indented below, the group
    sizes in the column headings and SMDs to 3 decimals.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> cohort = rc.datasets.rocca_like()
    >>> km = rc.kaplan_meier(cohort.endpoint("PFS"), "time", "event")
    >>> rc.format_table(km.median(), digits=1, headers={"median": "Median PFS (days)"})
      Group Median PFS (days) Lower CL Upper CL
    0   all               293      213      453
    """
    d = _display(table, digits, headers, suppress_below, na_rep)
    return d.frame.set_axis(list(d.headers), axis=1)


# ---------------------------------------------------------------------------------------
# HTML (great-tables, inline styles only) and LaTeX (booktabs): see _table_render
# ---------------------------------------------------------------------------------------
def _suppression_note(k: int | None) -> str:
    return f"Counts from 1 to {k - 1} are shown as <{k}." if k is not None and k > 1 else ""


def _full_note(note: str | None, k: int | None) -> str:
    return " ".join(s for s in (note, _suppression_note(k)) if s)


def table_html(table: Any, *, caption: str | None = None, note: str | None = None,
               digits: int | Mapping[str, int] = 2, headers: Mapping[str, str] | None = None,
               suppress_below: int | None = None, na_rep: str = "–") -> str:
    """A result table as an HTML fragment in the three-line journal style.

    The same table that :func:`export_table` writes to ``.html``, without the document
    around it; show it in a notebook with ``IPython.display.HTML(rc.table_html(x))``.
    Arguments as :func:`format_table`; ``caption`` goes above the table and ``note``
    (with the suppression rule, when one is in force) below it, as the title row and the
    source note of a great-tables table whose styles are all inline.

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> table = pd.DataFrame({"group": ["a", "b"], "n": [12, 3], "hr": [1.0, 0.4567]})
    >>> html = rc.table_html(table, caption="Table 2", suppress_below=5)
    >>> html.count("<tr"), "&lt;5" in html, "<style" in html
    (5, True, False)
    """
    d = _display(table, digits, headers, suppress_below, na_rep)
    return _render.html_fragment(d, caption, _full_note(note, d.k))


def export_table(table: Any, path: str | Path, *, caption: str | None = None,
                 note: str | None = None, digits: int | Mapping[str, int] = 2,
                 headers: Mapping[str, str] | None = None, label: str | None = None,
                 suppress_below: int | None = None, na_rep: str = "–") -> Path:
    """Write a result table to CSV, LaTeX or Word-friendly HTML, chosen by the suffix.

    Parameters
    ----------
    table : DataFrame, TableOne or result
        As :func:`format_table`: a DataFrame, a :class:`TableOne`, ``rc.hsct_effect(...)``
        or any result with a ``.table`` DataFrame, ``cox_model.summary``,
        ``km.median()``, ``km.at(times)``, …
    path : str or Path
        ``.csv``, ``.tex`` or ``.html``/``.htm``.
    caption, note : str, optional
        Title above the table and footnote below it (HTML and LaTeX). When counts are
        suppressed, a sentence saying so is added to the note.
    digits, headers, na_rep
        Display rounding and headings, as :func:`format_table` (HTML and LaTeX).
    label : str, optional
        LaTeX ``\\label``; default ``tab:`` and the file name.
    suppress_below : int, optional
        Small-cell suppression threshold k, applied to every format (see
        :func:`suppress_counts`). A result that carries its own threshold
        (``effect.suppressed(k)``, a Table 1 built with one) keeps it; the larger is used.

    Returns
    -------
    Path
        The file written.

    Notes
    -----
    - ``.csv`` is for machines: the table's own columns at full precision, no caption
      or note (a Table 1 as its ``.table``: one row per level, the N row, SMDs unrounded).
      Counts masked by suppression are the strings "<k". Floats are written with all
      their digits; ``pd.read_csv(path, float_precision="round_trip")`` reads them back
      exactly.
    - ``.tex``: a ``table`` float with a booktabs ``tabular`` (``\\usepackage{booktabs}``;
      a column of long text is a ragged-right paragraph column, which needs
      ``\\usepackage{array}``), every cell escaped for LaTeX (plain ASCII out), the note as
      a footnote-size paragraph under it.
    - ``.html``: a self-contained UTF-8 document, rendered by great-tables with its CSS
      inlined (no ``<style>``, nothing external; the class names it leaves do nothing
      without its stylesheet), three horizontal rules drawn as cell borders as in journals;
      opened in a browser it can be copied and pasted into Word, or opened by Word directly.

    Examples
    --------
    >>> import pathlib, tempfile, pandas as pd, rwe_cart as rc
    >>> table = pd.DataFrame({"group": ["a", "b"], "n": [12, 30], "hr": [1.0, 0.4567]})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     for suffix in (".csv", ".tex", ".html"):
    ...         path = rc.export_table(table, pathlib.Path(folder) / f"table2{suffix}")
    ...         print(path.name, path.stat().st_size > 0)
    table2.csv True
    table2.tex True
    table2.html True
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".tex", ".html", ".htm"):
        raise ValueError(f"cannot tell the format of {path.name!r}: use a file name ending in "
                         ".csv, .tex or .html")
    if suffix == ".csv":
        if isinstance(table, TableOne):
            _table_one_k(table, suppress_below)
            frame = table.table
        else:
            frame, _ = _suppressed_frame(table, suppress_below)
        frame.to_csv(path, index=False)
        return path
    d = _display(table, digits, headers, suppress_below, na_rep)
    full_note = _full_note(note, d.k)
    if suffix == ".tex":
        tag = label if label is not None else "tab:" + re.sub(r"[^A-Za-z0-9]+", "-", path.stem)
        path.write_text(_render.latex(d, caption, full_note, tag), encoding="utf-8")
    else:
        path.write_text(_render.html_document(_render.html_fragment(d, caption, full_note),
                                               caption or path.stem),
                        encoding="utf-8")
    return path
