"""Lab loader: a long laboratory table (patient_id, day, test, value, unit) checked and put
in canonical units, ready for `Cohort.with_labs`, `icaht_grade`, `lab_summary` and the
trajectory plots."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .._lab_common import QUANTITY, UNIT_FACTORS, standardise_lab_units, unit_key
from ..schema import (CohortValidationError, row_problems, blank_rows, clean_ids, file_problems,
                      problems_frame, row_label)
from .registry import file_sha256, read_table, rename_columns

LAB_COLUMNS = ("patient_id", "day", "test", "value", "unit")


def load_labs(path_or_frame: str | Path | pd.DataFrame, *, columns: Mapping[str, str] | None = None,
              encoding: str | None = None) -> pd.DataFrame:
    """Read and check a long lab table; return it with every value in its test's canonical unit.

    Parameters
    ----------
    path_or_frame : path or DataFrame
        CSV, Parquet or Excel (as `load_registry`), or a DataFrame. Columns patient_id, day
        (days from infusion; negative before it), test, value, unit; other columns are kept.
    columns : mapping, optional
        Local column name -> contract name, e.g. ``{"SUBJID": "patient_id", "LBTESTCD": "test"}``.
    encoding : str, optional
        Text encoding of a CSV (UTF-8 by default).

    Returns
    -------
    DataFrame
        The rows in input order, ``test`` lower-cased for the known tests (`rwe_cart.labs.LAB_UNITS`)
        and their values converted to the canonical unit (counts /µL, Hb g/dL, CRP mg/dL,
        ferritin ng/mL). Tests outside `LAB_UNITS` are kept as given. Blank lines of a file
        are not rows; ``.attrs``: source, sha256 (of a file), n_blank_rows.

    Raises
    ------
    CohortValidationError
        Listing every problem (patient_id, column, rule, value): a missing column, a row
        without a patient, a day or value that is not a number, a negative value, a unit
        that is not known for its test. Rows without an identifier are named ``<labs row i>``.
        Nothing is dropped silently: a table with a problem is not returned at all.

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> labs = pd.DataFrame({"patient_id": ["P1", "P1", "P1"], "day": [-5, 7, 7],
    ...                      "test": ["ANC", "ANC", "Hb"], "value": [1.8, 0.3, 85.0],
    ...                      "unit": ["10^9/L", "10^9/L", "g/L"]})
    >>> rc.load_labs(labs)
      patient_id  day test   value  unit
    0         P1 -5.0  anc  1800.0   /µL
    1         P1  7.0  anc   300.0   /µL
    2         P1  7.0   hb     8.5  g/dL
    """
    if isinstance(path_or_frame, pd.DataFrame):
        frame, meta = path_or_frame, {"source": "DataFrame"}
    else:
        frame = read_table(path_or_frame, encoding=encoding)
        meta = {"source": str(path_or_frame), "sha256": file_sha256(path_or_frame)}
    frame = rename_columns(frame, {k: v for k, v in (columns or {}).items() if k in frame.columns})
    missing = [c for c in LAB_COLUMNS if c not in frame.columns]
    if missing:
        raise CohortValidationError(file_problems(missing, "required column present",
                                                  f"columns are {list(frame.columns)}"))
    blank = blank_rows(frame.reset_index(drop=True))
    frame = frame.reset_index(drop=True).loc[~blank].reset_index(drop=True)
    meta["n_blank_rows"] = int(blank.sum())
    ids = clean_ids(frame["patient_id"])
    named = frame.assign(patient_id=ids.astype(object).where(
        ids.notna(), pd.Series([row_label(i, "labs") for i in frame.index], dtype=object)))
    day = pd.to_numeric(frame["day"], errors="coerce")
    value = pd.to_numeric(frame["value"], errors="coerce")
    problems = [
        row_problems(named, ids.isna(), "patient_id", "patient_id present", frame["patient_id"]),
        row_problems(named, day.isna(), "day", "day is a number (days from infusion)"),
        row_problems(named, value.isna(), "value", "value is a number"),
        row_problems(named, value < 0, "value", "value is not negative"),
        row_problems(named, ~_known_unit(frame["test"], frame["unit"]), "unit", "unit known for the test",
                  frame["test"].astype(str) + " in " + frame["unit"].astype(str)),
    ]
    found = problems_frame(problems)
    if len(found):
        raise CohortValidationError(found)
    out = standardise_lab_units(frame.assign(patient_id=ids, day=day.astype("float64"),
                                             value=value.astype("float64")))
    out.attrs.update(meta)
    return out


def _known_unit(tests: pd.Series, units: pd.Series) -> pd.Series:
    """True where the test is outside the canonical list or its unit converts to canonical."""
    quantity = tests.astype(str).str.lower().map(QUANTITY)
    key = quantity + "|" + units.map(unit_key)
    accepted = {f"{q}|{u}" for q, table in UNIT_FACTORS.items() for u in table}
    return quantity.isna() | key.isin(accepted)
