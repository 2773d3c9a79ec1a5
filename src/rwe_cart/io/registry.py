"""Registry (ROCCA-style) loader: one row per patient, dates, local column names."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import pandas as pd

from ..cohort import Cohort, build_cohort
from ..schema import CohortValidationError

READERS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet",
           ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel"}


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_table(path: str | Path, *, sep: str | None = None,
               encoding: str | None = None, sheet_name: str | int = 0) -> pd.DataFrame:
    """Read a CSV, Parquet or Excel file with every cell as read (no type guessing for CSV)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"cannot read {path.name}: expected one of {', '.join(sorted(READERS))}")
    if kind == "parquet":
        return pd.read_parquet(path)
    if kind == "excel":
        return pd.read_excel(path, sheet_name=sheet_name, dtype=object)
    # Text is kept as text so that the contract, not pandas' guessing, decides each type
    # (the decimal mark is applied by the contract's number coercion).
    return pd.read_csv(path, sep=sep or ("\t" if path.suffix.lower() == ".tsv" else ","),
                       dtype=str, encoding=encoding or "utf-8-sig", skip_blank_lines=True)


def rename_columns(frame: pd.DataFrame, columns: Mapping[str, str] | None) -> pd.DataFrame:
    """Map local column names onto contract names; a map naming an absent column is an error."""
    if frame.columns.duplicated().any():
        dup = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise CohortValidationError(_file_problem(dup, "column names are unique", "<duplicated>"))
    if not columns:
        return frame
    absent = [local for local in columns if local not in frame.columns]
    if absent:
        raise CohortValidationError(_file_problem(absent, "column named in columns= is in the file",
                                                  "<absent>"))
    renamed = frame.rename(columns=dict(columns))
    if renamed.columns.duplicated().any():
        dup = sorted(set(renamed.columns[renamed.columns.duplicated()]))
        raise CohortValidationError(_file_problem(dup, "mapped column names are unique",
                                                  "<duplicated after renaming>"))
    return renamed


def _file_problem(columns: list[str], rule: str, value: str) -> pd.DataFrame:
    return pd.DataFrame({"patient_id": "<all>", "column": columns, "rule": rule, "value": value})


def load_registry(path_or_frame: str | Path | pd.DataFrame, *,
                  columns: Mapping[str, str] | None = None,
                  origin: Literal["infusion", "apheresis", "enrollment"] = "infusion",
                  errors: Literal["raise", "exclude"] = "raise",
                  partial_dates: Literal["mid", "first", "last"] | None = None,
                  date_format: str | None = None, sep: str | None = None, decimal: str = ".",
                  encoding: str | None = None, sheet_name: str | int = 0) -> Cohort:
    """Load a registry table (one row per patient) into a validated `Cohort`.

    Parameters
    ----------
    path_or_frame : path or DataFrame
        CSV (``sep``, ``decimal``, ``encoding``), Parquet or Excel (``sheet_name``), or a frame.
    columns : mapping, optional
        Local name -> contract name (DATA.md), e.g. ``{"ID": "patient_id"}``.
    origin : {"infusion", "apheresis", "enrollment"}
        Time zero. "apheresis" and "enrollment" give intention-to-treat time scales and need
        ``date_apheresis`` / ``date_enrollment`` for every patient.
    errors : {"raise", "exclude"}
        "raise" raises `CohortValidationError` listing every problem; "exclude" removes
        offending patients and records each in ``Cohort.attrition``.
    partial_dates : {"mid", "first", "last"}, optional
        Completion rule for ``2024-07`` / ``2024``; every completed date is listed in
        ``Cohort.imputations``. By default a partial date is a validation problem.
    date_format : str, optional
        strptime format for text dates; by default ISO 8601.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> frame = rc.datasets.rocca_like_frame()
    >>> cohort = rc.load_registry(frame)
    >>> len(cohort)
    189
    """
    meta: dict = {"columns": dict(columns or {}), "date_format": date_format}
    if isinstance(path_or_frame, pd.DataFrame):
        frame = path_or_frame
        meta["source"] = "DataFrame"
    else:
        frame = read_table(path_or_frame, sep=sep, encoding=encoding,
                           sheet_name=sheet_name)
        meta["source"] = str(path_or_frame)
        meta["sha256"] = file_sha256(path_or_frame)
    frame = rename_columns(frame, columns)
    return build_cohort(frame, origin=origin, errors=errors, date_format=date_format,
                        partial_dates=partial_dates, decimal=decimal, meta=meta)
