"""Display tables: Table 1 (baseline characteristics) with small-cell suppression."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
            out["smd"] = out["smd"].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
        return out.rename(columns={"variable": "", "level": "", "smd": "SMD"})

    def _repr_html_(self) -> str:
        return self.display().to_html(index=False, na_rep="")

    def __repr__(self) -> str:
        return self.display().to_string(index=False, na_rep="")


def _suppress(n: int, k: int | None) -> str:
    return f"<{k}" if k is not None and 0 < n < k else str(n)


def _count_cell(n: int, denom: int, k: int | None) -> str:
    if k is not None and 0 < n < k:
        return f"<{k}"
    pct = 100 * n / denom if denom else float("nan")
    return f"{n} ({pct:.1f}%)" if denom else f"{n}"


def _median_cell(x: pd.Series) -> str:
    x = x.dropna().astype(float)
    if x.empty:
        return "–"
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return f"{med:.1f} [{q1:.1f}, {q3:.1f}]"


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
        Counts from 1 to k−1 are shown as "<k" (small-cell suppression).
    labels : dict, optional
        Variable -> display name (defaults cover the contract's columns).
    group_labels : dict, optional
        Level of ``by`` -> column heading, e.g. ``{True: "Prior allo-HSCT"}``.

    Notes
    -----
    Percentages use the non-missing values as denominator; missing values get their own
    "Missing" row. SMD: Cohen's d with the pooled SD for continuous variables and the
    multivariate SMD of Yang & Dalton (2012) for categorical ones, as R's tableone.
    """
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
             **{g: _suppress(len(sub), suppress_below) for g, sub in groups}}]
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
                         **{g: _suppress(int(sub[var].isna().sum()), suppress_below) for g, sub in groups}})
    table = pd.DataFrame(rows)
    if two:
        table["smd"] = table["smd"].astype(float)
    return TableOne(table=table, by=by, n={g: len(sub) for g, sub in groups},
                    suppress_below=suppress_below)
