"""Helpers shared by the exposure methods: argument lists, the exposure column, counts,
strata, plain-words descriptions, estimability checks."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..survival import validate as V
from ..survival.cox import CoxModel, NotEstimableError

POPULATIONS = ("responders", "all")
#: Endpoints with one event (0/1) that the HSCT methods accept.
EVENT_ENDPOINTS = ("PFS", "OS", "EFS", "RFS", "DOR")


def as_list(x: str | Sequence[str] | None) -> list[str]:
    """``None`` → [], ``"a"`` → ["a"], a sequence → list (order kept, duplicates removed)."""
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    return list(dict.fromkeys(x))


def exposure_array(data: pd.DataFrame, name: str) -> np.ndarray:
    """The 0/1 exposure column as int64; bool accepted; anything else is an error."""
    col = data[name]
    if pd.api.types.is_bool_dtype(col.dtype):
        if col.isna().any():
            bad = col.isna().to_numpy()
            raise ValueError(f"exposure column {name!r} has missing values "
                             f"({V.describe_rows(data, bad)})")
        return col.to_numpy(dtype=bool).astype(np.int64)
    if not pd.api.types.is_numeric_dtype(col.dtype):
        raise ValueError(f"exposure column {name!r} must be 0/1 (or bool), got dtype {col.dtype}")
    arr = col.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isin(arr, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"exposure column {name!r} must hold only 0 and 1; "
                         f"{int(bad.sum())} other or missing values ({V.describe_rows(data, bad)})")
    return arr.astype(np.int64)


def with_exposure(data: pd.DataFrame, name: str) -> pd.DataFrame:
    """`data` with the exposure column as int64 0/1 (so its Cox term is named `name`)."""
    arr = exposure_array(data, name)
    if data[name].dtype == np.int64:
        return data
    out = data.copy()
    out[name] = arr
    out.attrs = dict(data.attrs)
    return out


def count_ids(data: pd.DataFrame, id: str | None) -> int:
    """Patients: distinct ids, or rows when no id column is given."""
    return int(data[id].nunique()) if id is not None else len(data)


def strata_column(data: pd.DataFrame, strata: str | Sequence[str] | None
                  ) -> tuple[pd.DataFrame, str | None]:
    """One strata column from several (their values joined), as R's ``strata(a, b)``."""
    cols = as_list(strata)
    if not cols:
        return data, None
    if len(cols) == 1:
        return data, cols[0]
    V.check_frame(data, [("strata", c) for c in cols])
    name = "strata(" + ", ".join(cols) + ")"
    out = data.copy()
    out[name] = data[cols[0]].astype(str)
    for c in cols[1:]:
        out[name] = out[name] + ", " + data[c].astype(str)
    out.attrs = dict(data.attrs)
    return out, name


def adjusted_words(covariates: Sequence[str], strata: str | Sequence[str] | None = None) -> str:
    """``"adjusted for age, prior_hsct"`` / ``"unadjusted"`` (+ strata)."""
    cov = list(covariates)
    st = as_list(strata)
    words = ("adjusted for " + ", ".join(cov)) if cov else "unadjusted"
    if st:
        words += ("; " if cov else ", ") + "stratified by " + ", ".join(st)
    return words


def check_numbers(n_exposed: int, n_unexposed: int, events: int, what: str) -> None:
    if events == 0:
        raise NotEstimableError(f"{what}: no events, a hazard ratio is not estimable")
    if n_exposed == 0:
        raise NotEstimableError(f"{what}: nobody is exposed, a hazard ratio is not estimable")
    if n_unexposed == 0:
        raise NotEstimableError(f"{what}: everybody is exposed, a hazard ratio is not estimable")


def exposure_row(model: CoxModel, term: str) -> dict:
    """hr, lower, upper, p of one term of a fitted Cox model."""
    s = model.summary.set_index("term").loc[term]
    return {"hr": float(s["hr"]), "lower": float(s["lower"]), "upper": float(s["upper"]),
            "p": float(s["p"])}


# ---------------------------------------------------------------------------------------
# Cohort → patient frame / counting-process rows
# ---------------------------------------------------------------------------------------
def endpoint_key(endpoint: str, allowed: Sequence[str] = EVENT_ENDPOINTS) -> str:
    key = str(endpoint).upper()
    if key not in allowed:
        hint = (" (for CIR/NRM use rwe_cart.exposure.competing)" if key in ("CIR", "NRM") else "")
        raise ValueError(f"endpoint must be one of {', '.join(allowed)}, got {endpoint!r}{hint}")
    return key


def population_words(population: str, key: str, *, delayed_entry: bool = True) -> str:
    """Plain-words description of an analysis population."""
    if key == "DOR":
        return "responders (CR/CRi/CRh), from their first CR/CRi/CRh"
    if population == "responders":
        if delayed_entry:
            return ("responders (CR/CRi/CRh), at risk from their response day on the "
                    "infusion time scale (delayed entry)")
        return "responders (CR/CRi/CRh), from CAR-T infusion"
    return "all infused patients, from CAR-T infusion"


def check_population(population: str) -> None:
    if population not in POPULATIONS:
        raise ValueError(f"population must be one of {POPULATIONS}, got {population!r}")


def clean_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> pd.DataFrame:
    """Nullable (pandas NA) columns to plain numpy dtypes; a missing value is an error that
    names the patients."""
    for c in columns:
        col = frame[c]
        miss = col.isna().to_numpy()
        if miss.any():
            ids = ", ".join(map(str, frame.loc[miss, "patient_id"].head(5)))
            more = ", …" if miss.sum() > 5 else ""
            raise ValueError(
                f"column {c!r} is missing for {int(miss.sum())} of {len(frame)} patients in "
                f"{what} (patients {ids}{more}); drop the covariate, restrict the population "
                "(e.g. population='responders': MRD status exists only for responders) or "
                "impute it explicitly")
        if isinstance(col.dtype, pd.BooleanDtype):
            frame[c] = col.to_numpy(dtype=bool)
        elif isinstance(col.dtype, pd.api.extensions.ExtensionDtype) and \
                pd.api.types.is_numeric_dtype(col.dtype):
            frame[c] = col.to_numpy(dtype=np.float64)
    return frame
