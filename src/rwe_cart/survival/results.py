"""Result objects shared by several estimators."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True, eq=False)
class TestResult:
    """A chi-square-type test: statistic, df, p_value, and the test's name.

    ``table`` may hold per-group detail (e.g. observed and expected for a log-rank test).
    """

    __test__ = False  # not a pytest test class

    name: str
    statistic: float
    df: float
    p_value: float
    table: pd.DataFrame | None = None
    meta: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"{self.name}: statistic {self.statistic:.4g} on {self.df:g} df, p = {self.p_value:.4g}"

    def _repr_html_(self) -> str:
        head = f"<p>{self!r}</p>"
        return head + (self.table.to_html(index=False, float_format="{:.4g}".format)
                       if self.table is not None else "")
