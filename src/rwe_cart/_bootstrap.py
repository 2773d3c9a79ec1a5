"""What :func:`rwe_cart.bootstrap` runs in each replicate (resampling rows or whole
clusters, checking the statistic's terms) and what it returns: :class:`BootstrapResult`
with its confidence intervals, and :class:`BootstrapError`. Both classes are imported
from :mod:`rwe_cart.parallel`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ._replicates import ReplicateFailure

__all__ = ["CI_METHODS", "BootstrapError", "BootstrapResult", "Resampler", "boot_replicate",
           "check_ci", "intervals", "statistic_terms"]

CI_METHODS = ("percentile", "basic", "normal")


class BootstrapError(RuntimeError):
    """Too many bootstrap replicates failed; ``.failures`` lists them.

    Examples
    --------
    >>> import numpy as np, pandas as pd, rwe_cart as rc
    >>> df = pd.DataFrame({"x": np.arange(10.0)})
    >>> def fragile(d):
    ...     if d["x"].max() < 9:
    ...         raise ValueError("the largest value was not drawn")
    ...     return d["x"].mean()
    >>> try:
    ...     rc.bootstrap(df, fragile, 50, seed=1, backend="sequential")
    ... except rc.BootstrapError as error:
    ...     print(len(error.failures) > 0)
    True
    """

    def __init__(self, message: str, failures: list[ReplicateFailure]):
        super().__init__(message)
        self.failures = failures


@dataclass(frozen=True, eq=False)
class Resampler:
    """Draws row positions for one bootstrap sample (rows, or whole clusters)."""

    n: int
    cluster: str | None = None
    order: np.ndarray | None = None    # row positions sorted by cluster
    starts: np.ndarray | None = None   # first position in `order` of each cluster
    sizes: np.ndarray | None = None    # rows per cluster

    @classmethod
    def build(cls, data: pd.DataFrame, cluster: str | None) -> Resampler:
        if cluster is None:
            return cls(len(data))
        codes, _ = pd.factorize(data[cluster], sort=False)
        order = np.argsort(codes, kind="stable")
        sizes = np.bincount(codes)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        return cls(len(data), cluster, order, starts, sizes)

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        """(row positions, new cluster labels or None)."""
        if self.cluster is None:
            return rng.integers(0, self.n, size=self.n), None
        g = len(self.sizes)
        drawn = rng.integers(0, g, size=g)
        sz = self.sizes[drawn]
        ends = np.cumsum(sz)
        within = np.arange(ends[-1]) - np.repeat(ends - sz, sz)
        rows = self.order[np.repeat(self.starts[drawn], sz) + within]
        # each draw is a new cluster: one drawn twice counts as two
        return rows, np.repeat(np.arange(g), sz)


def statistic_terms(value: Any) -> tuple[list[str], np.ndarray]:
    """Term names and float values of a statistic's output."""
    if isinstance(value, Mapping):
        value = pd.Series(value)
    if isinstance(value, pd.Series):
        terms = [str(t) for t in value.index]
        if len(set(terms)) != len(terms):
            raise ValueError(f"statistic returned a Series with duplicate labels {terms}")
        return terms, value.to_numpy(dtype=np.float64)
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return ["statistic"], arr.reshape(1)
    if arr.ndim == 1:
        return [f"statistic_{j}" for j in range(arr.size)], arr
    raise TypeError(f"statistic must return a number, a 1-D array or a pandas Series; "
                    f"got an array of shape {arr.shape}")


def _conform(value: Any, terms: list[str]) -> np.ndarray:
    got, values = statistic_terms(value)
    if got != terms:
        raise ValueError(f"statistic returned terms {got}, but on the original data "
                         f"{terms}")
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError("statistic returned non-finite values for "
                         f"{[t for t, b in zip(terms, bad, strict=True) if b]}")
    return values


def boot_replicate(rng: np.random.Generator, data: pd.DataFrame | None,
                    statistic: Callable[[Any], Any], resampler: Resampler,
                    terms: list[str]) -> np.ndarray:
    """One replicate: the statistic of a resampled frame, or of the drawn row positions
    when `data` is None (``pass_rows``)."""
    rows, labels = resampler.draw(rng)
    if data is None:
        return _conform(statistic(rows), terms)
    frame = data.take(rows)
    frame.index = pd.RangeIndex(len(rows))  # a fresh index, without copying the frame
    if labels is not None:
        frame[resampler.cluster] = labels
    return _conform(statistic(frame), terms)


def intervals(estimate: np.ndarray, reps: np.ndarray, alpha: float,
               method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(se, lower, upper) from the successful replicates (rows)."""
    se = reps.std(axis=0, ddof=1)
    if method == "normal":
        # boot::norm.ci: bias-corrected, t0 - bias -/+ z * se
        bias = reps.mean(axis=0) - estimate
        z = ndtri(1.0 - alpha / 2.0)
        return se, estimate - bias - z * se, estimate - bias + z * se
    q_lo, q_hi = np.quantile(reps, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    if method == "percentile":
        return se, q_lo, q_hi
    return se, 2.0 * estimate - q_hi, 2.0 * estimate - q_lo  # basic


def check_ci(method: str, alpha: float) -> None:
    if method not in CI_METHODS:
        raise ValueError(f"method must be one of {CI_METHODS}, got {method!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, float | int) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


@dataclass(frozen=True, eq=False)  # eq=False: DataFrames do not compare to a bool
class BootstrapResult:
    """Nonparametric bootstrap of a statistic.

    Attributes
    ----------
    estimate : pandas.Series
        The statistic on the original data, indexed by term.
    replicates : pandas.DataFrame
        ``n_boot`` rows (index ``replicate``) × one column per term; rows of failed
        replicates are NaN.
    se : pandas.Series
        Standard deviation of the successful replicates (ddof=1, as R's boot).
    lower, upper : pandas.Series
        Confidence limits by ``method`` at level ``1 - alpha``.
    n_boot, seed, n_failed, alpha, method, cluster
        The run: replicates asked for, seed, how many failed, CI level and method, the
        cluster column resampled (None: rows).
    failures : pandas.DataFrame
        ``replicate, error_type, message, traceback`` of each failed replicate.

    ``.table`` gives ``term, estimate, se, lower, upper``; ``.ci(method, alpha)`` the same
    table for another interval without resampling again.

    Examples
    --------
    >>> import numpy as np, pandas as pd, rwe_cart as rc
    >>> df = pd.DataFrame({"x": np.arange(20.0)})
    >>> res = rc.bootstrap(df, lambda d: d["x"].mean(), 200, seed=1, backend="sequential")
    >>> res.n_boot, res.n_failed, res.method
    (200, 0, 'percentile')
    >>> res.table.round(2)
            term  estimate    se  lower  upper
    0  statistic       9.5  1.23    7.1  11.65
    """

    estimate: pd.Series
    replicates: pd.DataFrame
    se: pd.Series
    lower: pd.Series
    upper: pd.Series
    n_boot: int
    seed: Any
    n_failed: int
    alpha: float = 0.05
    method: str = "percentile"
    cluster: str | None = None
    failures: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["replicate", "error_type", "message", "traceback"]))

    @property
    def table(self) -> pd.DataFrame:
        """``term, estimate, se, lower, upper``, one row per term."""
        return pd.DataFrame({
            "term": self.estimate.index.astype(str),
            "estimate": self.estimate.to_numpy(),
            "se": self.se.to_numpy(),
            "lower": self.lower.to_numpy(),
            "upper": self.upper.to_numpy(),
        })

    def ci(self, method: str | None = None, alpha: float | None = None) -> pd.DataFrame:
        """The ``.table`` for another interval ``method`` and/or ``alpha``."""
        method = self.method if method is None else method
        alpha = self.alpha if alpha is None else alpha
        check_ci(method, alpha)
        reps = self.replicates.dropna().to_numpy()
        se, lo, hi = intervals(self.estimate.to_numpy(), reps, alpha, method)
        table = self.table
        table["se"], table["lower"], table["upper"] = se, lo, hi
        return table

    def _header(self) -> str:
        unit = f"clusters of {self.cluster!r}" if self.cluster else "rows"
        return (f"Bootstrap ({unit}): {self.n_boot} replicates, {self.n_failed} failed, "
                f"seed={self.seed!r}; {self.method} CI, "
                f"{100 * (1 - self.alpha):g}%")

    def __repr__(self) -> str:
        return f"{self._header()}\n{self.table.to_string(index=False)}"

    def _repr_html_(self) -> str:
        return (f"<p>{self._header()}</p>"
                + self.table.to_html(index=False, float_format="{:.4g}".format))
