"""What every lab function shares: the canonical unit of each test, unit conversion
(:func:`standardise_lab_units`, re-exported by :mod:`rwe_cart.labs`), and the checks on
the tables they are given.
"""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from ._deprecate import renamed

__all__ = ["LAB_UNITS", "PATIENT_LAB_UNITS", "QUANTITY", "UNIT_FACTORS", "patients_of",
           "require_columns", "row_list", "scale", "standardise_lab_units", "unit_factor",
           "unit_key"]

# --------------------------------------------------------------------------- units
#: Canonical unit of each test of the long lab table.
LAB_UNITS: dict[str, str] = {
    "anc": "/µL", "alc": "/µL", "wbc": "/µL", "plt": "/µL", "car_t": "/µL",
    "hb": "g/dL", "crp": "mg/dL", "ferritin": "ng/mL",
}
#: Units of the baseline labs in the patient table (docs/data-contract.md, synthetic cohorts).
PATIENT_LAB_UNITS: dict[str, str] = {
    "anc": "10^9/L", "plt": "10^9/L", "hb": "g/dL", "crp": "mg/dL", "ferritin": "ng/mL",
}
QUANTITY = {"anc": "count", "alc": "count", "wbc": "count", "plt": "count", "car_t": "count",
             "hb": "hb", "crp": "crp", "ferritin": "ferritin"}
_CANONICAL = {"count": "/µL", "hb": "g/dL", "crp": "mg/dL", "ferritin": "ng/mL"}
# Factors to the canonical unit, exact where the conversion is exact (Fraction), so that a
# value given exactly at a cut-off in another unit lands exactly on the cut-off (90 g/L is
# 9.0 g/dL, not 9.000000000000002).
UNIT_FACTORS: dict[str, dict[str, Fraction | float]] = {
    "count": {  # to cells/µL
        "/ul": Fraction(1), "cells/ul": Fraction(1), "/mm3": Fraction(1), "cells/mm3": Fraction(1),
        "10^9/l": Fraction(1000), "x10^9/l": Fraction(1000), "10e9/l": Fraction(1000),
        "g/l": Fraction(1000),  # giga per litre (G/L), as counts are often reported in Europe
        "10^3/ul": Fraction(1000), "x10^3/ul": Fraction(1000), "k/ul": Fraction(1000),
        "10^6/l": Fraction(1, 1000), "x10^6/l": Fraction(1, 1000),
    },
    "hb": {"g/dl": Fraction(1), "g/l": Fraction(1, 10), "mmol/l": 1.6114},  # Hb monomer 16.114 g/mol
    "crp": {"mg/dl": Fraction(1), "mg/l": Fraction(1, 10)},
    "ferritin": {"ng/ml": Fraction(1), "ug/l": Fraction(1), "mcg/l": Fraction(1),
                 "pmol/l": 1 / 2.247},
}


def unit_key(unit: object) -> str:
    text = str(unit).strip().lower()
    for micro in ("µ", "μ", "mc"):
        text = text.replace(micro + "l", "ul")
    text = text.replace("µ", "u").replace("μ", "u").replace(" ", "").replace("×", "x")
    text = text.replace("**", "^").replace("10⁹", "10^9").replace("10³", "10^3").replace("10⁶", "10^6")
    text = text.replace("mm³", "mm3").replace("cells/", "/")
    return {"/ul": "/ul", "ul": "/ul"}.get(text, text)


def unit_factor(quantity: str, unit: object, what: str) -> Fraction | float:
    table = UNIT_FACTORS[quantity]
    key = unit_key(unit)
    if key not in table:
        known = ", ".join(sorted(table))
        raise ValueError(f"{what}: unknown unit {unit!r}; known units for {quantity} are {known}")
    return table[key]


def scale(values: pd.Series | np.ndarray, factor: Fraction | float) -> np.ndarray:
    x = np.asarray(values, dtype="float64")
    if isinstance(factor, Fraction):
        x = x * factor.numerator / factor.denominator
    else:
        x = x * factor
    # round away binary noise (1.2 * 1000 and the like) so exact cut-offs stay exact
    return np.round(x, 9)


@renamed(test="test_col", value="value_col", unit="unit_col")
def standardise_lab_units(labs: pd.DataFrame, *, test_col: str = "test",
                          value_col: str = "value", unit_col: str = "unit") -> pd.DataFrame:
    """Convert every row of a long lab table to the canonical unit of its test (`LAB_UNITS`).

    Counts go to cells/µL (from 10⁹/L, G/L, 10³/µL, …), haemoglobin to g/dL (from g/L or
    mmol/L), CRP to mg/dL (from mg/L), ferritin to ng/mL (from µg/L or pmol/L). Rows of
    tests outside `LAB_UNITS` are returned unchanged. An unknown unit raises, naming it.

    Parameters
    ----------
    labs : pandas.DataFrame
        Long lab table, one row per measurement.
    test_col, value_col, unit_col : str
        Its columns of test names, values and units, as in :func:`icaht_grade` and
        :func:`lab_summary` (named ``test``, ``value``, ``unit`` before 0.2.0).

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> labs = pd.DataFrame({"test": ["anc", "hb", "crp", "ferritin"],
    ...                      "value": [1.2, 95.0, 31.0, 800.0],
    ...                      "unit": ["10^9/L", "g/L", "mg/L", "µg/L"]})
    >>> rc.standardise_lab_units(labs)
           test   value   unit
    0       anc  1200.0    /µL
    1        hb     9.5   g/dL
    2       crp     3.1  mg/dL
    3  ferritin   800.0  ng/mL
    """
    require_columns(labs, [test_col, value_col, unit_col], "labs")
    out = labs.copy()
    tests = out[test_col].astype(str).str.lower().to_numpy()
    units = out[unit_col].astype(str).to_numpy()
    vals = out[value_col].to_numpy(dtype="float64", copy=True)
    new_unit = out[unit_col].astype(object).to_numpy(copy=True)
    # one pass over the distinct (test, unit) pairs, not over rows
    groups = pd.DataFrame({"t": tests, "u": units}).groupby(["t", "u"], sort=False).indices
    for (t, u), rows in groups.items():
        quantity = QUANTITY.get(t)
        if quantity is None:
            continue
        vals[rows] = scale(vals[rows], unit_factor(quantity, u, f"test {t!r}"))
        new_unit[rows] = _CANONICAL[quantity]
    known = np.isin(tests, list(QUANTITY))
    out[test_col] = np.where(known, tests, out[test_col].to_numpy(dtype=object))
    out[value_col] = vals
    out[unit_col] = new_unit
    return out


# --------------------------------------------------------------------------- helpers
def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; it has {list(frame.columns)}")


def row_list(mask: np.ndarray, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in idx[:limit])
    return shown + (", …" if len(idx) > limit else "")


def patients_of(obj: Any) -> pd.DataFrame:
    return obj.patients if hasattr(obj, "patients") and isinstance(obj.patients, pd.DataFrame) else obj
