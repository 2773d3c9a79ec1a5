"""Design step of the competing-risks estimators: the cause column as codes 0 (censored),
1..K (the causes in sorted order), checked once, with errors naming the rows."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import validate as V


def cause_codes(data: pd.DataFrame, name: str, censored: Any) -> tuple[np.ndarray, list]:
    """Status codes 0 (censored), 1..K (causes in sorted order) and the cause labels."""
    col = data[name]
    miss = col.isna().to_numpy()
    if miss.any():
        raise ValueError(
            f"column {name!r} has {int(miss.sum())} missing value"
            f"{'' if miss.sum() == 1 else 's'} ({V.describe_rows(data, miss)}); every row "
            f"needs a cause code ({censored!r} = censored)"
        )
    try:
        codes, uniques = pd.factorize(col, sort=True)
    except TypeError as exc:
        raise ValueError(f"column {name!r} mixes values that cannot be ordered ({exc}); "
                         "use one type for the cause codes") from None
    labels = list(pd.Index(uniques).tolist())
    numeric = pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype)
    cens_is_number = isinstance(censored, (int, float, np.number))   # bool is an int
    if numeric and not cens_is_number:
        raise ValueError(f"column {name!r} holds numeric cause codes; censored must be the "
                         f"number that marks censored rows, got {censored!r}")
    if not numeric and not isinstance(censored, str):
        raise ValueError(
            f"column {name!r} holds non-numeric cause codes "
            f"({', '.join(map(repr, labels[:5]))}); pass censored=<the label of censored "
            f"rows> (got {censored!r})")
    is_cens = [bool(v == censored) for v in labels]
    cens_pos = [i for i, c in enumerate(is_cens) if c]
    remap = np.zeros(len(labels), dtype=np.int64)
    causes = []
    k = 0
    for i, lab in enumerate(labels):
        if i in cens_pos:
            continue
        k += 1
        remap[i] = k
        causes.append(lab.item() if isinstance(lab, np.generic) else lab)
    return remap[codes], causes


def failure_code(causes: list, failure_cause: Any, cause: str) -> int:
    """The code 1..K of `failure_cause` among the cause labels of column `cause`."""
    for k, lab in enumerate(causes, start=1):
        if lab == failure_cause:
            return k
    raise ValueError(f"failure_cause={failure_cause!r} is not a cause in column {cause!r} "
                     f"(causes: {', '.join(map(repr, causes))})")


