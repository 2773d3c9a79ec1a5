"""Result objects shared by several estimators."""
from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True, eq=False)
class TestResult:
    """A chi-square-type test: statistic, df, p_value, and the test's name.

    ``table`` may hold per-group detail (e.g. observed and expected for a log-rank test).

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> df = pd.DataFrame({"time": [2, 3, 3, 5, 8, 9], "event": [1, 1, 0, 1, 0, 1],
    ...                    "arm": ["a", "a", "a", "b", "b", "b"]})
    >>> res = rc.logrank(df, "time", "event", "arm")
    >>> res.name, res.df
    ('Log-rank', 1)
    >>> round(res.statistic, 4), round(res.p_value, 4)
    (2.4694, 0.1161)
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


class SummaryDisplay:
    """Text and notebook display of a curve result: its ``_title()``, then ``summary()``
    (a caption between them when ``_summary_caption`` is set). Dataclasses using it pass
    ``repr=False`` so that this display is the one shown."""

    _summary_caption = ""

    def __repr__(self) -> str:
        body = self.summary().to_string(index=False, float_format=lambda v: f"{v:.4g}")
        caption = f"\n{self._summary_caption}:" if self._summary_caption else ""
        return f"{self._title()}{caption}\n{body}"

    def _repr_html_(self) -> str:
        title = html.escape(self._title()).replace("\n", "<br>")
        caption = f"<br>{html.escape(self._summary_caption)}" if self._summary_caption else ""
        table = self.summary().to_html(index=False, float_format="{:.4g}".format, na_rep="NA")
        return f"<p><b>{title}</b>{caption}</p>{table}"
