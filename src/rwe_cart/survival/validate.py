"""Cheap input checks shared by the generic survival estimators.

Each check runs once at the top of a public estimator, costs a few vectorised passes
over a column, and raises ``ValueError`` (``TypeError`` for a non-DataFrame) with a
message that names the column, the offending rows (labels from the frame's index, at
most five shown) and the rule, e.g.::

    column 'time' has 2 negative values (rows 14, 31); times must be >= 0

No check ever drops a row: a problem is reported, never repaired.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "check_frame",
    "time_array",
    "event_array",
    "check_entry_before_time",
    "group_codes",
    "describe_rows",
]

_MAX_ROWS_SHOWN = 5


def describe_rows(data: pd.DataFrame, bad: np.ndarray) -> str:
    """Return ``"row 14"`` / ``"rows 14, 31, …"`` for the rows where `bad` is true.

    `bad` is a boolean mask (or integer positions) over the rows of `data`; the labels
    come from ``data.index``.
    """
    pos = np.flatnonzero(bad) if np.asarray(bad).dtype == bool else np.asarray(bad)
    labels = [str(x) for x in data.index[pos[:_MAX_ROWS_SHOWN]]]
    text = ", ".join(labels)
    if len(pos) > _MAX_ROWS_SHOWN:
        text += ", …"
    return ("row " if len(pos) == 1 else "rows ") + text


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {plural or word + 's'}"


def check_frame(data: object, columns: Sequence[tuple[str, str | None]]) -> None:
    """Check that `data` is a non-empty DataFrame holding every named column once.

    Parameters
    ----------
    data
        The object passed as ``data``.
    columns
        ``(argument name, column name or None)`` pairs, e.g. ``[("time", "futime")]``;
        ``None`` (an unused optional argument) is skipped.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    cols = data.columns
    for arg, name in columns:
        if name is None:
            continue
        if not isinstance(name, str):
            raise TypeError(f"{arg} must be a column name (str), got {type(name).__name__}")
        if name not in cols:
            shown = ", ".join(repr(str(c)) for c in list(cols)[:10])
            more = ", …" if len(cols) > 10 else ""
            raise ValueError(
                f"column {name!r} (argument {arg}) not found in data; "
                f"columns are {shown}{more}"
            )
        if not cols.is_unique and int((cols == name).sum()) > 1:
            raise ValueError(f"column {name!r} appears more than once in data")
    if len(data) == 0:
        raise ValueError("data has no rows")


def _numeric(data: pd.DataFrame, name: str, what: str) -> np.ndarray:
    """The column as a float or integer numpy array, NaN for missing values."""
    col = data[name]
    dtype = col.dtype
    if isinstance(dtype, np.dtype):
        if dtype.kind in "iuf":
            return col.to_numpy()
    elif pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        # nullable Int64 / Float64: missing values become NaN, reported below
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    hint = " (use .dt.days for durations)" if pd.api.types.is_timedelta64_dtype(dtype) else ""
    raise ValueError(f"column {name!r} must hold numeric {what}, got dtype {dtype}{hint}")


def time_array(
    data: pd.DataFrame, name: str, *, what: str = "times", allow_negative: bool = False
) -> tuple[np.ndarray, float, float]:
    """Return a time column as a float or integer array, with its minimum and maximum.

    Raises ``ValueError`` for a non-numeric column, missing (NaN) or infinite values and,
    unless `allow_negative`, negative values.
    """
    arr = _numeric(data, name, what)
    lo = arr.min()
    hi = arr.max()
    if arr.dtype.kind == "f" and not (np.isfinite(lo) and np.isfinite(hi)):
        miss = np.isnan(arr)
        if miss.any():
            raise ValueError(
                f"column {name!r} has {_plural(int(miss.sum()), 'missing value')} "
                f"({describe_rows(data, miss)}); {what} must be known for every row"
            )
        inf = np.isinf(arr)
        raise ValueError(
            f"column {name!r} has {_plural(int(inf.sum()), 'infinite value')} "
            f"({describe_rows(data, inf)}); {what} must be finite"
        )
    if lo < 0 and not allow_negative:
        neg = arr < 0
        raise ValueError(
            f"column {name!r} has {_plural(int(neg.sum()), 'negative value')} "
            f"({describe_rows(data, neg)}); {what} must be >= 0"
        )
    return arr, float(lo), float(hi)


def event_array(data: pd.DataFrame, name: str) -> np.ndarray:
    """Return a 0/1 event indicator as an ``int64`` array.

    Accepts bool, integer and float columns whose values are exactly 0 or 1; anything
    else (missing, 2, 0.5, strings) is reported with its rows.
    """
    col = data[name]
    dtype = col.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return col.to_numpy().view(np.uint8).astype(np.int64)
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        arr = col.to_numpy()
        if arr.min() >= 0 and arr.max() <= 1:
            return arr.astype(np.int64, copy=False)
        bad = (arr != 0) & (arr != 1)
    elif (isinstance(dtype, np.dtype) and dtype.kind == "f") or (
        not isinstance(dtype, np.dtype) and pd.api.types.is_numeric_dtype(dtype)
    ):
        arr = col.to_numpy(dtype=np.float64, na_value=np.nan)
        ok = (arr == 0) | (arr == 1)
        if ok.all():
            return arr.astype(np.int64)
        miss = np.isnan(arr)
        if miss.any():
            raise ValueError(
                f"column {name!r} has {_plural(int(miss.sum()), 'missing value')} "
                f"({describe_rows(data, miss)}); the event indicator must be 0 or 1 "
                "for every row"
            )
        bad = ~ok
    else:
        raise ValueError(
            f"column {name!r} must be a 0/1 (or bool) event indicator, got dtype {dtype}"
        )
    values = ", ".join(str(v) for v in pd.unique(np.asarray(arr)[bad])[:_MAX_ROWS_SHOWN])
    raise ValueError(
        f"column {name!r} has {_plural(int(bad.sum()), 'value')} other than 0/1 "
        f"({describe_rows(data, bad)}: {values}); the event indicator must be 0 "
        "(censored) or 1 (event)"
    )


def check_entry_before_time(
    data: pd.DataFrame, entry_name: str, entry: np.ndarray, time_name: str, time: np.ndarray
) -> None:
    """Raise unless ``entry < time`` on every row (counting-process intervals)."""
    bad = entry >= time
    if bad.any():
        raise ValueError(
            f"column {entry_name!r} is not before column {time_name!r} in "
            f"{_plural(int(bad.sum()), 'row')} ({describe_rows(data, bad)}); each row is "
            f"the interval ({entry_name}, {time_name}] and must have {entry_name} < {time_name}"
        )


def group_codes(data: pd.DataFrame, name: str) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (0..G-1) of a grouping column and its levels in R's factor order.

    Levels are the sorted distinct values (a categorical column keeps its category
    order, unused categories dropped), as R's ``factor``/``strata`` would order them.
    Missing values are an error, never a silently dropped row.
    """
    col = data[name]
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy()
        missing = codes < 0
        if missing.any():
            raise ValueError(
                f"column {name!r} has {_plural(int(missing.sum()), 'missing value')} "
                f"({describe_rows(data, missing)}); every row needs a group"
            )
        used = np.bincount(codes, minlength=len(col.cat.categories)) > 0
        if used.all():
            return codes.astype(np.intp), pd.CategoricalIndex(
                col.cat.categories, categories=col.cat.categories, ordered=col.cat.ordered
            )
        remap = np.cumsum(used) - 1
        cats = col.cat.categories[used]
        return remap[codes].astype(np.intp), pd.CategoricalIndex(
            cats, categories=cats, ordered=col.cat.ordered
        )
    missing = col.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"column {name!r} has {_plural(int(missing.sum()), 'missing value')} "
            f"({describe_rows(data, missing)}); every row needs a group"
        )
    try:
        codes, levels = pd.factorize(col, sort=True)
    except TypeError as exc:
        raise ValueError(
            f"column {name!r} mixes values that cannot be ordered ({exc}); "
            "use one type for the groups"
        ) from None
    return codes.astype(np.intp, copy=False), levels
