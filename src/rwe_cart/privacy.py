"""Small-cell suppression, shared by tables, result displays and figures: a count from 1 to
k - 1 is shown as "<k" so that a report cannot single out a handful of patients."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def check_suppress(suppress_below: Any) -> None:
    """Raise unless ``suppress_below`` is None or a positive integer."""
    if suppress_below is not None and (
        isinstance(suppress_below, bool) or not isinstance(suppress_below, (int, float, np.integer, np.floating))
        or int(suppress_below) != suppress_below or suppress_below < 1
    ):
        raise ValueError(f"suppress_below must be a positive integer, got {suppress_below!r}")


def format_count(v: Any, suppress_below: int | None) -> str:
    """A count as text: "<k" from 1 to k - 1, "–" when missing, one decimal if not whole
    (a weighted count)."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or pd.isna(v):
        return "–"
    x = float(v)
    if suppress_below is not None and 0 < x < suppress_below:
        return f"<{int(suppress_below)}"
    return f"{int(round(x))}" if x.is_integer() else f"{x:.1f}"
