"""Result objects shared by several estimators."""
from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._common import z_value


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
    """Text and notebook display of a curve result: its ``_title()``, then ``summary``
    (a caption between them when ``_summary_caption`` is set). Dataclasses using it pass
    ``repr=False`` so that this display is the one shown."""

    _summary_caption = ""

    def __repr__(self) -> str:
        body = self.summary.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        caption = f"\n{self._summary_caption}:" if self._summary_caption else ""
        return f"{self._title()}{caption}\n{body}"

    def _repr_html_(self) -> str:
        title = html.escape(self._title()).replace("\n", "<br>")
        caption = f"<br>{html.escape(self._summary_caption)}" if self._summary_caption else ""
        table = self.summary.to_html(index=False, float_format="{:.4g}".format, na_rep="NA")
        return f"<p><b>{title}</b>{caption}</p>{table}"


class RegressionResult:
    """The statsmodels and broom names for a regression's coefficient table.

    For results whose ``summary`` has the columns ``term, coef, se, [robust_se], hr,
    lower, upper, z, p`` and which have an ``alpha``: ``params``, ``bse``, ``pvalues``
    and ``conf_int(alpha)`` as statsmodels, and ``tidy()`` with the column names of R's
    ``broom::tidy`` (``term, estimate, std.error, statistic, p.value, conf.low,
    conf.high``), so that a table goes to gtsummary or a manuscript unchanged.
    """

    @property
    def _inference_se(self) -> pd.Series:
        s = self.summary
        col = "robust_se" if "robust_se" in s else "se"
        return pd.Series(s[col].to_numpy(), index=pd.Index(s["term"], name="term"))

    @property
    def params(self) -> pd.Series:
        """Coefficients (log hazard ratios) indexed by term."""
        s = self.summary
        return pd.Series(s["coef"].to_numpy(), index=pd.Index(s["term"], name="term"),
                         name="coef")

    @property
    def bse(self) -> pd.Series:
        """Standard errors used for inference (the robust ones for a robust fit)."""
        return self._inference_se.rename("se")

    @property
    def pvalues(self) -> pd.Series:
        """p-values of the coefficients, indexed by term."""
        s = self.summary
        return pd.Series(s["p"].to_numpy(), index=pd.Index(s["term"], name="term"), name="p")

    def _fixed_limits(self) -> tuple[str, ...]:
        """Terms whose limits are not Wald limits (and so exist only at the fit's alpha)."""
        return ()

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """Confidence limits of the coefficients (log scale), columns 0 and 1 as
        statsmodels' ``conf_int``; the fit's own limits at its ``alpha``, Wald limits
        from ``bse`` at another level."""
        alpha = self.alpha if alpha is None else alpha
        z = z_value(alpha)
        s = self.summary
        index = pd.Index(s["term"], name="term")
        if alpha == self.alpha:
            return pd.DataFrame({0: np.log(s["lower"].to_numpy()),
                                 1: np.log(s["upper"].to_numpy())}, index=index)
        fixed = self._fixed_limits()
        if fixed:
            raise ValueError(f"the limits of {list(fixed)} are profile-likelihood limits at "
                             f"alpha={self.alpha:g}; refit with alpha={alpha:g} for others")
        b, se = self.params.to_numpy(), self._inference_se.to_numpy()
        return pd.DataFrame({0: b - z * se, 1: b + z * se}, index=index)

    def tidy(self, exponentiate: bool = False, conf_level: float | None = None
             ) -> pd.DataFrame:
        """The coefficient table with broom's column names.

        ``estimate`` is the coefficient, or the hazard ratio with ``exponentiate=True``
        (then ``conf.low``/``conf.high`` are its limits; ``std.error`` stays on the log
        scale, as broom). A robust fit adds ``robust.se`` and its ``statistic``,
        ``p.value`` and limits use it (as broom's ``tidy.coxph``).
        """
        s = self.summary
        ci = self.conf_int(None if conf_level is None else 1 - conf_level)
        out = pd.DataFrame({"term": s["term"].to_numpy(), "estimate": s["coef"].to_numpy(),
                            "std.error": s["se"].to_numpy()})
        if "robust_se" in s:
            out["robust.se"] = s["robust_se"].to_numpy()
        out["statistic"] = s["z"].to_numpy()
        out["p.value"] = s["p"].to_numpy()
        out["conf.low"], out["conf.high"] = ci[0].to_numpy(), ci[1].to_numpy()
        if exponentiate:
            for col in ("estimate", "conf.low", "conf.high"):
                out[col] = np.exp(out[col])
        return out
