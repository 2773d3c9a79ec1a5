"""Kaplan–Meier estimator with R ``survfit`` conventions.

Public: :func:`kaplan_meier`, :class:`KaplanMeier`, :func:`median_followup`.

The estimator has two layers, as every estimator in the package: the public function
validates once (``validate``), then a private array-only core counts the risk sets and
builds the curve. Counting has two vectorised paths:

* whole-number times in a modest range (the registry case: days, many ties) are counted
  with :func:`numpy.bincount`, which is linear in n and beats a sort;
* anything else is sorted once, with the event flag packed into the lowest bit of the
  time's IEEE-754 bit pattern, so one ``np.sort`` of ``uint64`` keys gives both the
  distinct times and the event/censor split (no ``argsort`` of the times, no second
  sort). R's ``timefix`` (merging near-equal times) is fused into the same scan.

Neither path loops over subjects or event times in Python; the only loop is over groups
(for the cumulative products, which must restart in each group).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from .._deprecate import renamed
from . import _formula
from . import validate as V
from .results import SummaryDisplay

__all__ = ["kaplan_meier", "KaplanMeier", "median_followup", "CONF_TYPES"]

CONF_TYPES = ("log", "log-log", "plain", "logit", "arcsin")

# R: quantile.survfit(tolerance = sqrt(.Machine$double.eps)) and aeqSurv's tolerance.
_TOL = float(np.sqrt(np.finfo(np.float64).eps))
# Accumulator of the IJ variance sums. The a^2 + 2ab C + b^2 C^2 expansion cancels where
# a row entered shortly before the time evaluated; float64 kept 5e-13 relative agreement
# with np.longdouble on 200,000 late-entry rows (and 1e-14 with R), at half the cost.
_ACC = np.float64
# Counting path when the number of (group, day) bins is at most n + this.
_BIN_SLACK = 4096
# Whole-number times beyond this never use the counting path (and are exact in float64).
_BIN_MAX_TIME = 1 << 26

_TABLE_COLUMNS = [
    "group", "time", "n_risk", "n_event", "n_censor", "survival", "std_err",
    "lower", "upper", "cumhaz", "std_chaz",
]


# ---------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)  # eq=False: DataFrames do not compare to a bool
class KaplanMeier(SummaryDisplay):
    """Kaplan–Meier curves, one per group, as R's ``survfit`` reports them.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per distinct observed time (event or censoring) per group, sorted by
        group then time, with columns ``group, time, n_risk, n_event, n_censor,
        survival, std_err, lower, upper, cumhaz, std_chaz``. ``std_err`` is the standard
        error of S(t) (Greenwood), ``lower``/``upper`` the pointwise confidence limits,
        ``cumhaz`` the Nelson–Aalen cumulative hazard and ``std_chaz`` its standard
        error. ``group`` is ``"all"`` without ``by``.
    conf_type : str
        Transformation used for the confidence limits.
    alpha : float
        1 − confidence level.
    by : str or None
        The grouping column, ``None`` when ungrouped.
    meta : dict
        Free-form provenance: ``definition`` (``data.attrs["definition"]``, the endpoint
        definition, if any), the column names used (``weights``, ``id`` too), ``n`` per
        group (subjects when ``id`` was given; ``records`` counts rows) and ``variance``
        (``"greenwood"``, or the infinitesimal jackknife and its clusters).

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> df = pd.DataFrame({"time": [2, 3, 3, 5, 8, 9], "event": [1, 1, 0, 1, 0, 1],
    ...                    "arm": ["a", "a", "a", "b", "b", "b"]})
    >>> km = rc.kaplan_meier(df, "time", "event", by="arm")
    >>> km.groups
    ('a', 'b')
    >>> km.median()
      group  median  lower  upper
    0     a     3.0    2.0    NaN
    1     b     9.0    5.0    NaN
    >>> km.at([2.5])[["group", "time", "survival", "lower", "upper"]].round(3)
      group  time  survival  lower  upper
    0     a   2.5     0.667    0.3    1.0
    1     b   2.5     1.000    1.0    1.0
    """

    table: pd.DataFrame
    conf_type: str
    alpha: float
    by: str | None = None
    meta: dict = field(default_factory=dict)

    _index: Any = field(default=None, repr=False)  # (row bounds, levels), set by the fit

    # -- groups -------------------------------------------------------------------------
    def _group_index(self) -> tuple[np.ndarray, list]:
        """Row bounds per group (length G + 1) and the group labels in table order."""
        if self._index is not None:
            bounds, levels = self._index
            return bounds, list(levels.tolist())
        codes, uniques = pd.factorize(self.table["group"], sort=False)
        change = np.flatnonzero(np.diff(codes)) + 1
        bounds = np.concatenate(([0], change, [codes.size])).astype(np.intp)
        return bounds, list(pd.Index(uniques).tolist())

    @property
    def groups(self) -> tuple:
        """Group labels in table order (``("all",)`` when ungrouped)."""
        return tuple(self._group_index()[1])

    def _slices(self):
        """Yield (label, start, stop) row ranges of the table, one per group."""
        bounds, labels = self._group_index()
        for j, label in enumerate(labels):
            yield label, int(bounds[j]), int(bounds[j + 1])

    def _col(self, name: str) -> np.ndarray:
        return self.table[name].to_numpy()

    def _group_column(self, counts: list[int]) -> pd.Series:
        """The table's group column (same dtype), group j repeated counts[j] times."""
        bounds, _ = self._group_index()
        rows = np.repeat(np.asarray(bounds[:-1], dtype=np.intp), counts)
        return self.table["group"].take(rows).reset_index(drop=True)

    # -- quantiles ----------------------------------------------------------------------
    def quantile(self, probs: float | Sequence[float] = (0.25, 0.5, 0.75)) -> pd.DataFrame:
        """Quantiles of the event-time distribution with confidence limits (R's rules).

        Parameters
        ----------
        probs
            Probabilities p in [0, 1] of the *event* distribution F = 1 − S, as in R's
            ``quantile.survfit``: p = 0.5 is the median, p = 0.25 the time by which a
            quarter of subjects have had the event.

        Returns
        -------
        pandas.DataFrame
            Columns ``group, prob, quantile, lower, upper``; ``NaN`` where the curve
            (or the confidence band) never reaches 1 − p.

        Notes
        -----
        The p-quantile is the smallest t with S(t) <= 1 − p. Where S equals 1 − p (within
        sqrt(machine epsilon)) on a flat segment [t_j, t_{j+1}) the midpoint
        (t_j + t_{j+1})/2 is returned; on a flat segment that ends the curve, the midpoint
        of t_j and the last observed time. The lower limit applies the same rule to the
        lower confidence band, the upper limit to the upper band (Brookmeyer & Crowley
        1982), all as R's ``quantile.survfit`` (survival 3.5). On such a flat segment
        lifelines returns its left end t_j and statsmodels its right end t_{j+1}.
        """
        p = np.atleast_1d(np.asarray(probs, dtype=np.float64))
        if p.ndim != 1 or p.size == 0 or np.isnan(p).any() or (p < 0).any() or (p > 1).any():
            raise ValueError(f"probs must be probabilities in [0, 1], got {probs!r}")
        time = self._col("time")
        surv, lower, upper = self._col("survival"), self._col("lower"), self._col("upper")
        out_q, out_lo, out_hi = [], [], []
        for _, a, b in self._slices():
            # R: findq(c(start, time), c(0, 1 - curve)) with start = 0, for the curve
            # and for each band (the lower band gives the lower limit)
            x = np.concatenate(([0.0], time[a:b]))
            out_q.append(_findq(x, np.concatenate(([0.0], 1.0 - surv[a:b])), p))
            out_lo.append(_findq(x, np.concatenate(([0.0], 1.0 - lower[a:b])), p))
            out_hi.append(_findq(x, np.concatenate(([0.0], 1.0 - upper[a:b])), p))
        return pd.DataFrame({
            "group": self._group_column([p.size] * len(out_q)),
            "prob": np.tile(p, len(out_q)),
            "quantile": np.concatenate(out_q),
            "lower": np.concatenate(out_lo),
            "upper": np.concatenate(out_hi),
        })

    def median(self) -> pd.DataFrame:
        """Median survival time with its confidence interval, per group.

        Returns
        -------
        pandas.DataFrame
            Columns ``group, median, lower, upper`` (``NaN`` when never reached).

        Notes
        -----
        Smallest time with S(t) <= 0.5; at an exact plateau at 0.5 the midpoint of the
        plateau, as R's ``quantile.survfit`` (see :meth:`quantile`).
        """
        q = self.quantile(0.5)
        return q.drop(columns="prob").rename(columns={"quantile": "median"})

    # -- values at chosen times -----------------------------------------------------------
    def at(self, times: float | Sequence[float]) -> pd.DataFrame:
        """Survival and its confidence limits at chosen times, as ``summary(fit, times=)``.

        Parameters
        ----------
        times
            Time points; sorted, and (as R's default ``extend=FALSE``) times after a
            group's last observed time are dropped for that group.

        Returns
        -------
        pandas.DataFrame
            Columns ``group, time, n_risk, n_event, n_censor, survival, std_err, lower,
            upper, cumhaz, std_chaz``. ``n_risk`` is the number at risk at t; ``n_event``
            and ``n_censor`` count what happened in (previous requested time, t], as R's
            summary does; ``std_err`` is on the survival scale.
        """
        t = _as_times(times)
        t = np.sort(t[np.isfinite(t)])
        tab = {c: self._col(c) for c in _TABLE_COLUMNS[1:]}
        parts: dict[str, list] = {c: [] for c in _TABLE_COLUMNS[1:]}
        counts = []
        for _, a, b in self._slices():
            gt = tab["time"][a:b]
            tt = t[t <= gt[-1]]
            i1 = np.searchsorted(gt, tt, side="right") - 1   # last row with time <= t
            i2 = np.searchsorted(gt, tt, side="left")        # first row with time >= t
            # R's survfit0 puts a row (S = 1, SE 0) at time 0 unless the curve starts
            # there; earlier times select that row (the first row when it starts at 0).
            before = (i1 < 0) & (gt[0] != 0)
            rows = np.maximum(i1, 0) + a
            for c in ("survival", "std_err", "lower", "upper", "cumhaz", "std_chaz"):
                v = tab[c][rows].astype(np.float64)
                v[before] = 1.0 if c in ("survival", "lower", "upper") else 0.0
                parts[c].append(v)
            parts["time"].append(tt)
            parts["n_risk"].append(tab["n_risk"][i2 + a])
            for c in ("n_event", "n_censor"):
                cum = np.concatenate(([0], np.cumsum(tab[c][a:b])))[i1 + 1]
                parts[c].append(np.diff(cum, prepend=0))
            counts.append(tt.size)
        out = {"group": self._group_column(counts)}
        for c in _TABLE_COLUMNS[1:]:
            out[c] = np.concatenate(parts[c])
        for c in ("n_risk", "n_event", "n_censor"):
            out[c] = out[c].astype(self._count_dtype())  # weighted counts stay float
        return pd.DataFrame(out)

    def at_risk(self, times: float | Sequence[float]) -> pd.DataFrame:
        """Numbers at risk, events and censored at chosen times (for a risk table).

        Parameters
        ----------
        times
            Time points, kept in the order given (every one, also after the end of
            follow-up, where ``n_risk`` is 0).

        Returns
        -------
        pandas.DataFrame
            Columns ``group, time, n_risk, n_event, n_censor``: ``n_risk`` is the number
            at risk at t (as R's ``summary(fit, times=)``), ``n_event`` and ``n_censor``
            are *cumulative* counts over [0, t] (the KMunicate extended table).
        """
        t = _as_times(times)
        time, n_risk = self._col("time"), self._col("n_risk")
        n_event, n_censor = self._col("n_event"), self._col("n_censor")
        risk, ev, ce = [], [], []
        for _, a, b in self._slices():
            gt = time[a:b]
            i1 = np.searchsorted(gt, t, side="right")        # rows with time <= t
            i2 = np.searchsorted(gt, t, side="left")         # first row with time >= t
            risk.append(np.concatenate((n_risk[a:b], [0]))[i2])
            ev.append(np.concatenate(([0], np.cumsum(n_event[a:b])))[i1])
            ce.append(np.concatenate(([0], np.cumsum(n_censor[a:b])))[i1])
        return pd.DataFrame({
            "group": self._group_column([t.size] * len(risk)),
            "time": np.tile(t, len(risk)),
            "n_risk": np.concatenate(risk).astype(self._count_dtype()),
            "n_event": np.concatenate(ev).astype(self._count_dtype()),
            "n_censor": np.concatenate(ce).astype(self._count_dtype()),
        })

    def _count_dtype(self):
        """int64 for counts of rows, float64 for weighted counts (``weights=``)."""
        return np.float64 if self.meta.get("weights") else np.int64

    # -- display ------------------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        """One row per group: ``group, n, events, median, lower, upper``."""
        med = self.median()
        n = self.meta.get("n")
        as_count = float if self.meta.get("weights") else int
        ev = [as_count(self._col("n_event")[a:b].sum()) for _, a, b in self._slices()]
        nn = list(n) if n is not None else [
            int((self._col("n_event")[a:b] + self._col("n_censor")[a:b]).sum())
            for _, a, b in self._slices()
        ]
        med.insert(1, "n", nn)
        med.insert(2, "events", ev)
        return med

    def _title(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        curves = "1 curve" if len(self.groups) == 1 else f"{len(self.groups)} curves"
        by = f" by {self.by!r}" if self.by else ""
        text = f"Kaplan–Meier: {curves}{by}; median with {level} CI ({self.conf_type})"
        if self.meta.get("weights"):
            text += f"; weighted by {self.meta['weights']!r}; SE: {self.meta.get('variance')}"
        definition = self.meta.get("definition")
        if definition:
            text += f"\nendpoint: {definition}"
        return text



def _as_times(times) -> np.ndarray:
    t = np.atleast_1d(np.asarray(times, dtype=np.float64)).ravel()
    if np.isnan(t).any():
        raise ValueError("times must not contain NaN")
    return t


# ---------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------
@renamed(entry="start")
def kaplan_meier(
    data: pd.DataFrame | str,
    time: str | pd.DataFrame | None = None,
    event: str | None = None,
    *,
    by: str | None = None,
    start: str | None = None,
    weights: str | None = None,
    id: str | None = None,
    robust: bool | None = None,
    conf_type: str = "log",
    alpha: float = 0.05,
    timefix: bool = True,
) -> KaplanMeier:
    """Kaplan–Meier estimate of the survival function, as R's ``survfit``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject (or per ``(start, time]`` interval with `start`). Or an R
        formula given first, ``rc.kaplan_meier("Surv(time, event) ~ group", data)``
        (``Surv(start, time, event)`` for delayed entry, ``~ 1`` for one curve, ``~ a + b``
        for a curve per combination); the formula replaces `time`, `event`, `start`
        and `by`.
    time : str
        Column of follow-up times (>= 0).
    event : str
        Column of event indicators: 1 (or True) = event, 0 = censored.
    by : str, optional
        Column whose values define separate curves, in sorted order (a categorical
        column keeps its category order), as R's ``survfit(... ~ by)``.
    start : str, optional
        Column of interval start (delayed entry, left truncation) times: the row is at
        risk on ``(start, time]``, as R's ``Surv(start, time, event)`` (``entry`` before
        0.2.0).
    weights : str, optional
        Column of case weights (finite, >= 0; rows of weight 0 are kept, as R keeps
        them), as R's ``survfit(..., weights = w)``. Weights may change from one
        ``(start, time]`` row of a subject to the next (time-varying inverse-probability
        weights). ``n_risk``, ``n_event`` and ``n_censor`` are then weighted sums
        (floats).
    id : str, optional
        Subject identifier when a subject has several rows, as R's ``id =``: the
        clusters of the robust variance and, with `start`, which row ends are real
        censorings (only a subject's last row, or a row followed by a gap, counts in
        ``n_censor``, as R's ``survflag``).
    robust : bool, optional
        Infinitesimal-jackknife (IJ) variance instead of Greenwood's. ``None`` (default)
        follows R: robust when any weight is not a whole number, or when `id` is given
        and some subject has more than one event. Clusters are the `id` values, else
        the rows (``robust=True`` with `start` needs `id`, as R).
    conf_type : {"log", "log-log", "plain", "logit", "arcsin"}
        Transformation for the pointwise confidence limits; ``"log"`` is R's default,
        ``"log-log"`` is the SAS and lifelines default.
    alpha : float
        1 − confidence level (0.05 gives 95% limits).
    timefix : bool
        Treat times that differ by less than sqrt(machine epsilon) (absolute, or
        relative to the mean of the distinct times) as tied, as R's ``survfit`` does by
        default (``aeqSurv``). No effect on whole-number times.

    Returns
    -------
    KaplanMeier
        ``.table`` (one row per distinct time per group), ``.median()``,
        ``.quantile()``, ``.at()``, ``.at_risk()``.

    Notes
    -----
    Conventions follow R's survival package (3.5), where R, SAS and lifelines differ:

    * The table has one row per distinct observed time, event or censoring; at a tied
      time events precede censorings, so subjects censored at t are at risk at t.
    * S(t) = prod (1 − d_j/n_j). ``std_err`` is the Greenwood standard error of S(t),
      S(t)·sqrt(sum d_j / (n_j (n_j − d_j))); R's ``fit$std.err`` is the SE of −log S,
      i.e. ``std_err / survival``. Where S = 0 the SE is undefined (NaN, as R's summary).
    * Confidence limits, with z = Φ⁻¹(1 − alpha/2) and se the SE of −log S:
      ``log`` S·exp(±z·se), upper clipped at 1; ``log-log``
      exp(−exp(log(−log S) ∓ z·se/log S)); ``plain`` S ± z·S·se clipped to [0, 1];
      ``logit`` on log(S/(1−S)) with SE se/(1 − S); ``arcsin`` on asin(sqrt S) with SE
      se·sqrt(S/(1−S))/2. Limits are NaN where S = 0, and where S = 1 for ``log-log``,
      ``logit`` and ``arcsin`` (NA in survival 3.5, the version of the reference values;
      survival >= 3.8 reports [1, 1] there); ``log`` and ``plain`` give [1, 1].
    * ``cumhaz`` is Nelson–Aalen, sum d_j/n_j, with SE sqrt(sum d_j/n_j²).
    * Left truncation: at risk at t iff start < t <= time; a subject entering at t is not
      at risk for an event at t. Rows are stop times only, so ``n_risk`` may rise.
    * Medians and quantiles: see :meth:`KaplanMeier.quantile`.
    * Weights (R's ``survfitKM``): S(t) = prod (1 − d_j/n_j) with weighted d_j, n_j; a
      time whose events all have weight 0 leaves S unchanged but keeps its row. Without
      a robust variance, ``std_err`` is Greenwood's formula on the weighted counts
      (R does this for whole-number weights). With a robust variance, ``std_err`` is the
      IJ standard error of S(t), sqrt(sum_k (sum_{i in k} w_i dS(t)/dw_i)^2) over
      clusters k, and ``std_chaz`` the same for the Nelson–Aalen hazard; it is 0 where
      S = 0 (R). The confidence limits use ``std_err / survival`` as the SE of −log S,
      exactly as R's ``survfit_confint(logse = FALSE)``. The IJ sums are evaluated in
      O(n log n) from per-cluster piecewise-linear influence paths (R loops over
      clusters at every event time).

    References
    ----------
    .. [1] Kaplan EL, Meier P. Nonparametric estimation from incomplete observations.
           J Am Stat Assoc. 1958;53:457-481.
    .. [2] Greenwood M. The natural duration of cancer. Reports on Public Health and
           Medical Subjects 33. London: HMSO; 1926.
    .. [3] Brookmeyer R, Crowley J. A confidence interval for the median survival time.
           Biometrics. 1982;38:29-41.
    .. [4] Therneau TM. A Package for Survival Analysis in R. R package survival.
    .. [5] Therneau TM, Crowson C, Atkinson E. Methods document "survfitkm" (robust
           variance), R package survival 3.x.

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> df = pd.DataFrame({"time": [2, 3, 3, 5, 8], "event": [1, 1, 0, 1, 0]})
    >>> km = rc.kaplan_meier(df, "time", "event")
    >>> km.table[["time", "n_risk", "n_event", "survival"]]
       time  n_risk  n_event  survival
    0   2.0       5        1       0.8
    1   3.0       4        1       0.6
    2   5.0       2        1       0.3
    3   8.0       1        0       0.3
    >>> float(km.median()["median"].iloc[0])
    5.0
    """
    data, parsed = _formula.split_call(data, time, "kaplan_meier")
    if parsed is not None:
        data, a = _formula.curve_arguments(
            parsed, data, {"event": event, "by": by, "start": start}, "kaplan_meier")
        return kaplan_meier(data, a["time"], a["status"], by=a["group"], start=a["entry"],
                            weights=weights, id=id, robust=robust, conf_type=conf_type,
                            alpha=alpha, timefix=timefix)
    _formula.require("kaplan_meier", time=time, event=event)
    V.check_frame(data, [("time", time), ("event", event), ("by", by), ("start", start),
                         ("weights", weights), ("id", id)])
    z = _check_options(conf_type, alpha)
    if robust is not None and not isinstance(robust, (bool, np.bool_)):
        raise TypeError(f"robust must be True, False or None, got {robust!r}")
    t, _, tmax = V.time_array(data, time)
    d = V.event_array(data, event)
    e = None
    if start is not None:
        e, _, _ = V.time_array(data, start, what="start times", allow_negative=True)
        V.check_entry_before_time(data, start, e, time, t)
    codes, levels = (None, None) if by is None else V.group_codes(data, by)
    variance = "greenwood"
    if weights is None and id is None and not robust:
        # the unweighted fast paths, unchanged
        table, bounds, levels_out = _fit(t, d, e, codes, levels, tmax, z, conf_type,
                                         timefix)
    else:
        w = None if weights is None else _weight_array(data, weights)
        ids = None
        if id is not None:
            ids = _id_codes(data, id)
        robust_given = robust is not None
        if robust is None:  # R's survfitKM default
            nonint = w is not None and bool(np.any(w != np.floor(w)))
            multi = (ids is not None and bool(d.any())
                     and bool(np.any(np.bincount(ids[d == 1]) > 1)))
            robust = nonint or multi
        robust = bool(robust)
        if robust and robust_given and ids is None and e is not None:
            raise ValueError("robust=True with (start, time] rows needs id= (the subject "
                             "of each row), as R's survfit; or leave robust=None")
        if robust:
            variance = ("infinitesimal jackknife, clustered on " + repr(id) if ids is not None
                        else "infinitesimal jackknife (rows)")
        elif w is not None:
            variance = "greenwood (weighted counts)"
        table, bounds, levels_out = _fit_general(
            t, d, e, w, ids, codes, levels, z, conf_type, timefix, robust)
    n = [int(x) for x in (np.bincount(codes, minlength=len(levels)) if codes is not None
                          else [len(t)])]
    records = n
    if id is not None:  # n counts subjects (R prints the rows as "records")
        sub = pd.DataFrame({"g": 0 if codes is None else codes, "id": ids})
        n = [int(x) for x in sub.drop_duplicates().groupby("g").size()
             .reindex(range(len(n)), fill_value=0)]
    meta = {
        "definition": data.attrs.get("definition"),
        "time": time, "event": event, "start": start, "n": n, "records": records,
        "weights": weights, "id": id, "variance": variance,
    }
    return KaplanMeier(table=table, conf_type=conf_type, alpha=float(alpha), by=by, meta=meta,
                       _index=(bounds, levels_out))


def median_followup(
    data: pd.DataFrame,
    time: str,
    event: str,
    *,
    by: str | None = None,
    conf_type: str = "log",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Median (potential) follow-up by the reverse Kaplan–Meier method.

    The censoring indicator is treated as the event (``1 - event``) and the median of
    that curve is reported, as R's ``quantile(survfit(Surv(time, 1 - event) ~ 1), 0.5)``.

    Parameters
    ----------
    data, time, event
        As :func:`kaplan_meier`.
    by : str, optional
        Grouping column; adds a leading ``group`` column.
    conf_type, alpha
        Confidence limits of the reverse KM curve (R's default ``"log"``, 95%).

    Returns
    -------
    pandas.DataFrame
        Columns ``median, lower, upper`` (``group`` first when `by` is given).

    Notes
    -----
    At a time where a death and a censoring coincide, the censoring (the reverse-KM
    event) is counted first and the death stays in the risk set, as R does. The median
    and its limits follow :meth:`KaplanMeier.quantile`.

    References
    ----------
    .. [1] Schemper M, Smith TL. A note on quantifying follow-up in studies of failure
           time. Control Clin Trials. 1996;17:343-346.

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> df = pd.DataFrame({"time": [2, 3, 3, 5, 8, 9], "event": [1, 1, 0, 1, 0, 0]})
    >>> rc.median_followup(df, "time", "event")
       median  lower  upper
    0     8.0    8.0    NaN
    """
    V.check_frame(data, [("time", time), ("event", event), ("by", by)])
    z = _check_options(conf_type, alpha)
    t, _, tmax = V.time_array(data, time)
    d = 1 - V.event_array(data, event)
    codes, levels = (None, None) if by is None else V.group_codes(data, by)
    table, bounds, levels_out = _fit(t, d, None, codes, levels, tmax, z, conf_type, True)
    km = KaplanMeier(table=table, conf_type=conf_type, alpha=float(alpha), by=by,
                     meta={"time": time, "event": event, "reverse": True},
                     _index=(bounds, levels_out))
    med = km.median()
    return med if by is not None else med.drop(columns="group")


def _check_options(conf_type: str, alpha: float) -> float:
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {', '.join(map(repr, CONF_TYPES))}; "
                         f"got {conf_type!r}")
    if not isinstance(alpha, (int, float, np.floating)) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number strictly between 0 and 1, got {alpha!r}")
    conf_int = 1.0 - float(alpha)
    return float(ndtri(1.0 - (1.0 - conf_int) / 2.0))  # as R: qnorm(1 - (1 - conf.int)/2)


# ---------------------------------------------------------------------------------------
# Array core (trusts its inputs)
# ---------------------------------------------------------------------------------------
def _fit(t, d, e, codes, levels, tmax, z, conf_type, timefix):
    """Counts, curve and confidence limits → (table, group row bounds, levels)."""
    n_groups = 1 if codes is None else len(levels)
    counts = _count(t, d, e, codes, n_groups, tmax, timefix)
    if timefix and counts.needs_timefix_check:
        fix = _aeq_cuts(counts, e)
        if fix is not None:
            u, first_of_chain = fix
            if e is None:
                counts = _merge_rows(counts, u, first_of_chain)
            else:  # re-count on remapped (entry, time] intervals
                t, e = _remap_intervals(t, e, u, first_of_chain)
                counts = _count(t, d, e, codes, n_groups, float(t.max()), False)
    time, n_risk, n_event, n_censor, bounds = (
        counts.time, counts.n_risk, counts.n_event, counts.n_censor, counts.bounds)

    # Same operations, in the same order, as survfitkm.c, so results match R to the last
    # bit or two. At 10^6 rows memory traffic is the cost, above all the first touch of
    # each new array, so buffers are reused (most end up as result columns).
    r = n_risk.astype(np.float64)
    dd = n_event.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.subtract(r, dd)                  # n - d
        green = np.multiply(surv, r)               # n (n - d)
        np.divide(surv, r, out=surv)               # R: km *= (n - d) / n
        np.divide(dd, green, out=green)            # Greenwood d / (n (n - d)); Inf if n = d
        cumhaz = np.divide(dd, r)                  # Nelson–Aalen increment d / n
        np.multiply(r, r, out=r)
        var_haz = np.divide(dd, r, out=r)          # d / n^2
    for j in range(n_groups):  # cumulative sums restart in each group (sequential, as R)
        lo, hi = bounds[j], bounds[j + 1]
        np.cumprod(surv[lo:hi], out=surv[lo:hi])
        np.cumsum(green[lo:hi], out=green[lo:hi])
        np.cumsum(cumhaz[lo:hi], out=cumhaz[lo:hi])
        np.cumsum(var_haz[lo:hi], out=var_haz[lo:hi])
    se_log = np.sqrt(green, out=green)
    std_chaz = np.sqrt(var_haz, out=var_haz)
    with np.errstate(invalid="ignore"):
        std_err = np.multiply(surv, se_log, out=dd)  # Inf * 0 = NaN where S = 0, as R
    lower, upper = _confint(surv, se_log, conf_type, z, overwrite_se=True)

    return _table(codes is None, levels, bounds, time, n_risk, n_event, n_censor, surv,
                  std_err, lower, upper, cumhaz, std_chaz)


def _weight_array(data: pd.DataFrame, name: str) -> np.ndarray:
    """Case weights as float64; finite and >= 0 on every row (rows named otherwise)."""
    col = data[name]
    if pd.api.types.is_bool_dtype(col.dtype) or not pd.api.types.is_numeric_dtype(col.dtype):
        raise ValueError(f"column {name!r} must hold numeric weights, got dtype {col.dtype}")
    w = col.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(w)
    if bad.any():
        k = int(bad.sum())
        raise ValueError(f"column {name!r} has {k} missing or infinite weight"
                         f"{'s' if k != 1 else ''} ({V.describe_rows(data, bad)}); case "
                         "weights must be finite")
    bad = w < 0
    if bad.any():
        k = int(bad.sum())
        raise ValueError(f"column {name!r} has {k} negative weight{'s' if k != 1 else ''} "
                         f"({V.describe_rows(data, bad)}); case weights must be >= 0")
    return w


def _id_codes(data: pd.DataFrame, name: str) -> np.ndarray:
    col = data[name]
    missing = col.isna().to_numpy()
    if missing.any():
        raise ValueError(f"column {name!r} has {int(missing.sum())} missing values "
                         f"({V.describe_rows(data, missing)}); every row needs an id")
    codes, _ = pd.factorize(col, sort=False)
    return codes.astype(np.intp, copy=False)


def _timefix_raw(t: np.ndarray, e: np.ndarray | None):
    """R's aeqSurv on raw (entry, time] values: times closer than sqrt(eps) (absolute,
    or relative to the mean distinct value) become the first of their chain."""
    parts = [t] if e is None else [t, e]
    u = np.unique(np.concatenate([np.asarray(x, dtype=np.float64) for x in parts]))
    if u.size < 2:
        return t, e
    dy = np.diff(u)
    scale = float(np.mean(np.abs(u) if u[0] < 0 else u))
    tied = dy <= _TOL * max(1.0, scale)
    if not tied.any():
        return t, e
    first = np.concatenate(([True], ~tied))
    t_new = _apply_cuts(np.asarray(t, dtype=np.float64), u, first)
    if e is None:
        return t_new, None
    e_new = _apply_cuts(np.asarray(e, dtype=np.float64), u, first)
    if np.any(e_new >= t_new):
        raise ValueError("after merging times closer than sqrt(machine epsilon) "
                         "(timefix=True, as R's aeqSurv), an (entry, time] interval has "
                         "length 0; pass timefix=False")
    return t_new, e_new


def _real_censor(t: np.ndarray, e: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """R's ``survflag(y, id) & 2``: the row is a subject's last, or followed by a gap."""
    order = np.lexsort((t, ids))
    ts, es, ids_s = t[order], e[order], ids[order]
    last = np.ones(t.size, dtype=bool)
    last[:-1] = (ids_s[1:] != ids_s[:-1]) | (ts[:-1] < es[1:])
    out = np.empty(t.size, dtype=bool)
    out[order] = last
    return out


def _group_rows(codes, n_groups, n):
    """Row positions of each group (one slice of `order` per group)."""
    if codes is None:
        return [np.arange(n)]
    order = np.argsort(codes, kind="stable")
    cuts = np.concatenate(([0], np.cumsum(np.bincount(codes, minlength=n_groups))))
    return [order[cuts[j]:cuts[j + 1]] for j in range(n_groups)]


def weighted_counts(t, d, e, w, censor_flag=None):
    """Weighted risk-set counts of one curve (array core, trusts its inputs).

    Returns ``(time, n_risk, n_event, n_censor, hi, lo)``: the distinct stop times, the
    weighted number at risk (entry < t <= stop), events and censorings at each, and for
    every row the index of its stop time (``hi``) and of the first distinct time after
    its entry (``lo``; 0 without entries), so that the row is at risk at times
    ``lo .. hi``.
    """
    time, hi = np.unique(t, return_inverse=True)
    m = time.size
    wd = w * d
    n_event = np.bincount(hi, weights=wd, minlength=m)
    wc = w - wd if censor_flag is None else np.where(censor_flag, w - wd, 0.0)
    n_censor = np.bincount(hi, weights=wc, minlength=m)
    n_risk = np.cumsum(np.bincount(hi, weights=w, minlength=m)[::-1])[::-1]
    if e is None:
        lo = np.zeros(t.size, dtype=np.intp)
    else:
        lo = np.searchsorted(time, e, side="right")   # first time > entry
        entered_before = np.bincount(lo, weights=w, minlength=m + 1)[:m]
        # rows with entry >= time_j are not yet at risk at time_j
        n_risk = n_risk - (w.sum() - np.cumsum(entered_before))
    return time, n_risk, n_event, n_censor, hi.astype(np.intp), lo


def _ij_sumsq(lo, hi, w, d, cl, pairs, m):
    """sum over clusters k of U_k(t_j)^2 at every distinct time j, for each (g, c) pair.

    U_k(t) = sum_{rows r in k} w_r sum_{t_i <= t} (dN_r(t_i) g_i - Y_r(t_i) c_i), the
    cluster's weighted influence on −log S (g = 1/(n − d), c = d/(n (n − d))) or on the
    Nelson–Aalen hazard (g = 1/n, c = d/n^2). A row at risk on indices lo..hi adds
    −w (C_j − C_{lo−1}) for lo <= j < hi and the constant K = −w (C_hi − C_{lo−1}) +
    d w g_hi from hi on, so each cluster's U is a + b C_j with (a, b) piecewise constant
    between the cluster's own breakpoints. Summing a^2, 2ab and b^2 over clusters with
    difference arrays gives every time in O(n log n) (accumulated in ``_ACC``). The
    breakpoints, their order and b are shared by all pairs.
    """
    # two breakpoints per row: (cluster, index); one sort of a combined integer key
    key = np.concatenate((cl, cl)).astype(np.int64) * (m + 1) + np.concatenate((lo, hi))
    order = np.argsort(key, kind="stable")
    key = key[order]
    key_cl, key_j = np.divmod(key, m + 1)
    n2 = key.size
    new_cl = np.empty(n2, dtype=bool)
    new_cl[0] = True
    np.not_equal(key_cl[1:], key_cl[:-1], out=new_cl[1:])
    start_idx = np.flatnonzero(new_cl)
    run = np.cumsum(new_cl) - 1                             # cluster run of each entry
    last = np.empty(n2, dtype=bool)                         # last entry of (cluster, j)
    last[-1] = True
    last[:-1] = new_cl[1:] | (key[1:] != key[:-1])
    seg_j = key_j[last]
    seg_cl = key_cl[last]
    seg_first = np.empty(seg_j.size, dtype=bool)           # a cluster's first segment
    seg_first[0] = True
    np.not_equal(seg_cl[1:], seg_cl[:-1], out=seg_first[1:])

    def running(delta):  # cumulative sum restarted at each cluster, at segment ends
        cs = np.cumsum(delta.astype(_ACC)[order])
        off = np.concatenate(([0], cs))[start_idx][run]
        return (cs - off)[last]

    seg_b = running(np.concatenate((-w, w)))
    values, Cs = [], []
    for g, c in pairs:
        C = np.cumsum(c)
        Cm1 = np.concatenate(([0.0], C))[lo]             # C just before the row entered
        K = -w * (C[hi] - Cm1) + d * w * g[hi]
        seg_a = running(np.concatenate((w * Cm1, K - w * Cm1)))
        values += [seg_a * seg_a, 2 * seg_a * seg_b, seg_b * seg_b]
        Cs.append(C.astype(_ACC))
    sums = _scatter(seg_j, seg_first, values, m)
    out = []
    for k, Cl in enumerate(Cs):
        s0, s1, s2 = sums[3 * k: 3 * k + 3]
        out.append(np.maximum((s0 + s1 * Cl + s2 * Cl * Cl).astype(np.float64), 0.0))
    return out


def _scatter(seg_j, first, values, m):
    """For each value array (one value per segment, segments sorted by cluster then
    index, ``first`` marking each cluster's first), the sum over clusters of the value of
    the segment covering each index 0..m-1. A cluster's segments tile [its first index,
    m), so each segment adds its change from the previous one at its start; one sort of
    the starts, then cumulative sums."""
    order = np.argsort(seg_j, kind="stable")
    pos = np.searchsorted(seg_j[order], np.arange(m), side="right")   # entries at <= j
    out = []
    for v in values:
        delta = v.copy()
        delta[1:] -= np.where(first[1:], 0, v[:-1])
        cs = np.concatenate(([0], np.cumsum(delta[order])))
        out.append(cs[pos])
    return out


def _fit_general(t, d, e, w, ids, codes, levels, z, conf_type, timefix, robust):
    """Weighted and/or clustered fit (R's survfitKM with weights, id, robust)."""
    n = t.size
    n_groups = 1 if codes is None else len(levels)
    t = np.asarray(t, dtype=np.float64)
    if e is not None:
        e = np.asarray(e, dtype=np.float64)
    if timefix:
        t, e = _timefix_raw(t, e)
    t = t + 0.0                                          # -0.0 → +0.0
    df = d.astype(np.float64)
    wt = np.ones(n) if w is None else w
    cl = ids if ids is not None else np.arange(n, dtype=np.intp)
    parts = []
    for rows in _group_rows(codes, n_groups, n):
        tg, dg, wg = t[rows], df[rows], wt[rows]
        eg = None if e is None else e[rows]
        # a subject's rows are followed within its own curve (R's survflag per group)
        cf = None if ids is None or e is None else _real_censor(tg, eg, ids[rows])
        time, n_risk, n_event, n_censor, hi, lo = weighted_counts(tg, dg, eg, wg, cf)
        has = n_event > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            haz = np.where(has, n_event / np.where(has, n_risk, 1.0), 0.0)
            surv = np.cumprod(1.0 - haz)
            rest = n_risk - n_event
            cumhaz = np.cumsum(haz)
            if robust:
                full = has & (rest <= 0)                 # everyone at risk has the event
                ok = has & ~full
                g = np.where(ok, 1.0 / np.where(ok, rest, 1.0), 0.0)
                gh = np.where(has, 1.0 / np.where(has, n_risk, 1.0), 0.0)
                clg = cl[rows]
                v_s, v_h = _ij_sumsq(lo, hi, wg, dg, clg, [(g, haz * g), (gh, haz * gh)],
                                     time.size)
                std_err = surv * np.sqrt(v_s)
                std_err[surv == 0] = 0.0                 # R: the influence is 0 there
                std_chaz = np.sqrt(v_h)
                se_log = np.where(std_err == 0, 0.0, std_err / surv)
            else:
                green = np.cumsum(np.where(has, n_event / (n_risk * rest), 0.0))
                se_log = np.sqrt(green)
                std_err = surv * se_log                  # NaN where S = 0, as R
                std_chaz = np.sqrt(np.cumsum(np.where(
                    has, n_event / np.where(has, n_risk, 1.0) ** 2, 0.0)))
        parts.append((time, n_risk, n_event, n_censor, surv, std_err, se_log, cumhaz,
                      std_chaz))
    sizes = [p[0].size for p in parts]
    bounds = np.concatenate(([0], np.cumsum(sizes))).astype(np.intp)
    cols = [np.concatenate([p[i] for p in parts]) for i in range(9)]
    time, n_risk, n_event, n_censor, surv, std_err, se_log, cumhaz, std_chaz = cols
    lower, upper = _confint(surv, se_log, conf_type, z)
    if w is None:  # clustered but unweighted: counts of rows stay integers
        n_risk, n_event, n_censor = (np.rint(x).astype(np.int64)
                                     for x in (n_risk, n_event, n_censor))
    return _table(codes is None, levels, bounds, time, n_risk, n_event, n_censor, surv,
                  std_err, lower, upper, cumhaz, std_chaz)



def _table(ungrouped: bool, levels, bounds: np.ndarray, time, n_risk, n_event, n_censor, surv,
           std_err, lower, upper, cumhaz, std_chaz):
    """The result table (one row per group and time) with its group column and levels."""
    if ungrouped:
        # plain text, not a one-level categorical: grouping a categorical makes pandas
        # warn in every user's groupby. fill(), not np.full: np.full casts a str through
        # a '<U3' array and builds a new Python string per row (59 ms vs 3 ms at 10^6)
        group: Any = np.empty(time.size, dtype=object)
        group.fill("all")
        levels_out = pd.Index(["all"], dtype=object)
    else:
        sizes = np.diff(bounds)
        if isinstance(levels, pd.CategoricalIndex):
            group = pd.Categorical.from_codes(
                np.repeat(np.arange(len(levels)), sizes), dtype=levels.dtype)
        else:
            group = np.repeat(np.asarray(levels), sizes)
        levels_out = levels
    table = pd.DataFrame({
        "group": group, "time": time, "n_risk": n_risk, "n_event": n_event,
        "n_censor": n_censor, "survival": surv, "std_err": std_err, "lower": lower,
        "upper": upper, "cumhaz": cumhaz, "std_chaz": std_chaz,
    }, copy=False)
    return table, bounds, levels_out

def _confint(surv: np.ndarray, se: np.ndarray, conf_type: str, z: float,
             overwrite_se: bool = False):
    """Pointwise limits from S and the SE of −log S, exactly as survival 3.5's
    ``survfit_confint`` (NA there → NaN here). `overwrite_se`: `se` may be used as
    scratch."""
    p = surv
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            se2 = se * p * z
            return np.maximum(p - se2, 0.0), np.minimum(p + se2, 1.0)
        if conf_type == "log":
            lx = np.log(p)
            if p.min() == 0:
                lx[p == 0] = np.nan                # R: xx <- ifelse(p == 0, NA, p)
            se2 = np.multiply(se, z, out=se if overwrite_se else None)
            lower = np.subtract(lx, se2)
            np.exp(lower, out=lower)
            upper = np.add(lx, se2, out=lx)
            np.exp(upper, out=upper)
            return lower, np.minimum(upper, 1.0, out=upper)
        if conf_type == "log-log":
            xx = np.where((p == 0) | (p == 1), np.nan, p)
            lx = np.log(xx)
            se2 = z * se / lx
            llx = np.log(-lx)
            return np.exp(-np.exp(llx - se2)), np.exp(-np.exp(llx + se2))
        if conf_type == "logit":
            xx = np.where(p == 0, np.nan, p)
            se2 = z * se * (1 + xx / (1 - xx))
            lo = np.log(p / (1 - p))
            return 1 - 1 / (1 + np.exp(lo - se2)), 1 - 1 / (1 + np.exp(lo + se2))
        if conf_type == "arcsin":
            xx = np.where(p == 0, np.nan, p)
            se2 = 0.5 * z * se * np.sqrt(xx / (1 - xx))
            a = np.arcsin(np.sqrt(xx))
            # R's pmax/pmin propagate NA, np.maximum/np.minimum propagate NaN alike
            return (np.sin(np.maximum(0.0, a - se2)) ** 2,
                    np.sin(np.minimum(np.pi / 2, a + se2)) ** 2)
    raise ValueError(f"unknown conf_type {conf_type!r}")  # pragma: no cover


class _Counts:
    """Per-(group, distinct time) counts, rows sorted by group then time."""

    __slots__ = ("time", "n_risk", "n_event", "n_censor", "bounds", "needs_timefix_check")

    def __init__(self, time, n_risk, n_event, n_censor, bounds, needs_timefix_check):
        self.time = time
        self.n_risk = n_risk
        self.n_event = n_event
        self.n_censor = n_censor
        self.bounds = bounds
        self.needs_timefix_check = needs_timefix_check


def _count(t, d, e, codes, n_groups, tmax, timefix=False) -> _Counts:
    n = t.size
    if tmax < _BIN_MAX_TIME and n_groups * (tmax + 1) <= n + _BIN_SLACK:
        ti = _whole(t)
        ei = None
        if ti is not None and e is not None:
            ei = _whole(e, allow_negative=True)
        if ti is not None and (e is None or ei is not None):
            return _count_bins(ti, d, ei, codes, n_groups, int(tmax))
    return _count_sorted(t, d, e, codes, n_groups, timefix)


def _whole(x: np.ndarray, allow_negative: bool = False) -> np.ndarray | None:
    """`x` as intp if every value is a whole number (else None)."""
    if x.dtype.kind in "iu":
        xi = x.astype(np.intp, copy=False)
    else:
        head = x[:64]
        if not np.array_equal(np.floor(head), head):  # continuous times: give up at once
            return None
        with np.errstate(invalid="ignore"):  # huge negative entries: cast fails → None
            xi = x.astype(np.intp)
        if not np.array_equal(xi, x):
            return None
    if allow_negative:
        xi = np.maximum(xi, -1)  # every entry < 0 acts alike: never >= a stop time >= 0
    return xi


def _count_bins(ti, d, ei, codes, n_groups, tmax) -> _Counts:
    """Counting path: bincount of (group, day, event) keys; linear in n."""
    width = tmax + 1
    key = ti << 1
    if codes is not None:
        key += codes * (2 * width)
    key |= d
    tab = np.bincount(key, minlength=2 * n_groups * width).reshape(n_groups, width, 2)
    cens = tab[:, :, 0]
    ev = tab[:, :, 1]
    tot = cens + ev
    at_or_after = np.cumsum(tot[:, ::-1], axis=1)[:, ::-1]
    if ei is not None:
        # entries shifted by one so that -1 (before every stop time) is bin 0
        ekey = ei + 1
        if codes is not None:
            ekey = ekey + codes * (width + 1)
        etab = np.bincount(ekey, minlength=n_groups * (width + 1)).reshape(n_groups, width + 1)
        entered_ge = np.cumsum(etab[:, ::-1], axis=1)[:, ::-1]   # [g, t+1] = #{entry >= t}
        at_or_after = at_or_after - entered_ge[:, 1:]
    gi, tj = np.nonzero(tot)
    bounds = np.searchsorted(gi, np.arange(n_groups + 1))
    return _Counts(tj.astype(np.float64), at_or_after[gi, tj], ev[gi, tj], cens[gi, tj],
                   bounds, needs_timefix_check=False)


def _count_sorted(t, d, e, codes, n_groups, timefix=False) -> _Counts:
    """Sort path: one sort of uint64 keys (time bits << 1 | event) per group."""
    t = t.astype(np.float64, copy=False)
    if codes is None and e is None:
        # one group, right-censored: R's timefix is fused into the scan of the sorted keys
        time, n_risk, n_event, n_censor = _sorted_one(t, d, None, timefix)
        return _Counts(time, n_risk, n_event, n_censor, np.array([0, time.size]),
                       needs_timefix_check=False)
    if codes is None:
        parts = [_sorted_one(t, d, e)]
    else:
        order = np.argsort(codes.astype(_small_uint(n_groups), copy=False), kind="stable")
        sizes = np.bincount(codes, minlength=n_groups)
        cuts = np.concatenate(([0], np.cumsum(sizes)))
        parts = []
        for j in range(n_groups):
            idx = order[cuts[j]:cuts[j + 1]]
            parts.append(_sorted_one(t[idx], d[idx], None if e is None else e[idx]))
    sizes = [p[0].size for p in parts]
    bounds = np.concatenate(([0], np.cumsum(sizes))).astype(np.intp)
    cat = [np.concatenate([p[i] for p in parts]) if len(parts) > 1 else parts[0][i]
           for i in range(4)]
    return _Counts(*cat, bounds, needs_timefix_check=True)


def _small_uint(k: int):
    return np.uint8 if k <= 255 else np.uint16 if k <= 65535 else np.intp


_ONE = np.uint64(1)


def _sorted_one(t, d, e, timefix=False):
    """Counts of one curve from one sort of (time bits << 1 | event) keys.

    Times are >= 0, so their IEEE-754 bit patterns sort as the values; the shift drops
    the sign bit, which makes -0.0 and +0.0 one key. Within a tied time the order of
    events and censorings does not matter: only their numbers are used.
    """
    n = t.size
    key = np.left_shift(t.view(np.uint64), _ONE)
    key |= d.view(np.uint64)
    key.sort()
    tb = key >> _ONE                    # the time's bits
    ts = tb.view(np.float64)
    new = np.empty(n, dtype=bool)       # first row of each distinct time
    new[0] = True
    # buffers of n values (key, tb, spare) end up holding result columns: at 10^6 rows
    # the first touch of a new array costs more than the arithmetic on it
    spare = np.empty(n)
    if n > 1:
        gap = np.subtract(ts[1:], ts[:-1], out=spare[1:])
        threshold = 0.0
        if timefix:
            # R's aeqSurv on the sorted values: a new time starts where the gap to the
            # previous value exceeds tol * max(1, mean of the distinct values); the
            # mean is the sum of all values less the (few) exact repeats
            repeats = np.flatnonzero(gap == 0.0) + 1
            scale = (float(np.sum(ts)) - float(np.sum(ts[repeats]))) / (n - repeats.size)
            threshold = _TOL * max(1.0, scale)
        np.greater(gap, threshold, out=new[1:])
        del gap
    k = np.count_nonzero(new)
    events = np.bitwise_and(key, _ONE, out=key).view(np.int64)   # 1 = event row
    if k == n:                          # no tied times: every row is its own time
        time = ts
        n_event = events
        n_censor = np.subtract(1, n_event, out=spare.view(np.int64))
        n_risk = np.arange(n, 0, -1)
    elif 16 * (n - k) < n:              # few ties: keep the first rows, add the others in
        starts = np.flatnonzero(new)
        later = np.flatnonzero(~new)
        time_index = later - np.arange(1, later.size + 1)     # distinct time of each
        later_events = events[later]
        # mode="clip": take writes straight into `out` (positions are valid anyway)
        time = np.take(ts, starts, out=spare[:k], mode="clip")
        n_event = np.take(events, starts, out=tb.view(np.int64)[:k], mode="clip")
        n_censor = np.subtract(1, n_event, out=events[:k])    # events is read no more
        n_risk = np.subtract(n, starts, out=starts)
        np.add.at(n_event, time_index, later_events)
        np.add.at(n_censor, time_index, 1 - later_events)
    else:
        starts = np.flatnonzero(new)
        time = ts[starts]
        ends = np.empty_like(starts)
        ends[:-1] = starts[1:] - 1
        ends[-1] = n - 1
        n_event = np.diff(np.cumsum(events)[ends], prepend=0)
        n_censor = (ends - starts + 1) - n_event
        n_risk = n - starts
    if e is not None:
        # at risk at t: entry < t <= stop  =  #{stop >= t} − #{entry >= t}
        n_risk = np.searchsorted(np.sort(e), time, side="left") - (n - n_risk)
    return time, n_risk, n_event, n_censor


def _aeq_cuts(counts: _Counts, e) -> tuple[np.ndarray, np.ndarray] | None:
    """R's aeqSurv: distinct times closer than sqrt(eps) (absolute, or relative to the
    mean distinct time, over all groups and entry times) are one time, the smallest of
    the chain. Returns (distinct values, flags marking each chain's first), or None when
    nothing is tied."""
    u = counts.time
    if counts.bounds.size > 2 or e is not None:
        parts = [u] if e is None else [u, e.astype(np.float64)]
        u = np.sort(np.concatenate(parts), kind="stable")   # merges sorted runs
        keep = np.empty(u.size, dtype=bool)
        keep[0] = True
        np.not_equal(u[1:], u[:-1], out=keep[1:])
        u = u[keep]
    if u.size < 2:
        return None
    dy = np.diff(u)
    scale = float(np.mean(np.abs(u) if u[0] < 0 else u))
    # R: (dy <= tol) | (dy / mean(abs(y)) <= tol), in one comparison
    tied = dy <= _TOL * max(1.0, scale)
    if not tied.any():
        return None
    return u, np.concatenate(([True], ~tied))


def _apply_cuts(x: np.ndarray, u: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Replace each value of `x` that is a later member of a chain by the chain's first
    value. Only the (few) merged values are looked up."""
    chain = np.cumsum(first) - 1
    moved = ~first
    merged, target = u[moved], u[first][chain[moved]]
    pos = np.minimum(np.searchsorted(merged, x), merged.size - 1)
    hit = merged[pos] == x
    out = x.astype(np.float64)          # always a copy: never modify the caller's data
    out[hit] = target[pos[hit]]
    return out


def _merge_rows(counts: _Counts, u: np.ndarray, first_of_chain: np.ndarray) -> _Counts:
    """Right-censored data: map each row's time to its chain's first value and add up
    the merged rows. The number at risk at a merged time is that of its first row."""
    if counts.bounds.size == 2:            # one group: its rows are the distinct values
        first = first_of_chain
        new_time = counts.time
    else:
        new_time = _apply_cuts(counts.time, u, first_of_chain)
        first = np.empty(new_time.size, dtype=bool)
        first[0] = True
        np.not_equal(new_time[1:], new_time[:-1], out=first[1:])
        first[counts.bounds[:-1]] = True   # a group never merges into another
    starts = np.flatnonzero(first)
    later = np.flatnonzero(~first)         # rows merged into the row before them (few)
    chain = np.searchsorted(starts, later, side="right") - 1
    n_event = counts.n_event[starts]
    n_censor = counts.n_censor[starts]
    np.add.at(n_event, chain, counts.n_event[later])
    np.add.at(n_censor, chain, counts.n_censor[later])
    bounds = np.searchsorted(starts, counts.bounds)
    return _Counts(new_time[starts], counts.n_risk[starts], n_event, n_censor, bounds,
                   needs_timefix_check=False)


def _remap_intervals(t, e, u, first):
    t_new = _apply_cuts(t, u, first)
    e_new = _apply_cuts(e, u, first)
    if np.any(e_new >= t_new):
        raise ValueError("after merging times closer than sqrt(machine epsilon) "
                         "(timefix=True, as R's aeqSurv), an (entry, time] interval has "
                         "length 0; pass timefix=False")
    return t_new, e_new


def _findq(x: np.ndarray, y: np.ndarray, p: np.ndarray, tol: float = _TOL) -> np.ndarray:
    """Quantiles of a step CDF, exactly as survival's internal ``findq``.

    `x` are the jump times with the start time first, `y` the CDF (1 − S, or one minus
    a confidence band, which need not be monotone and may hold NaN) with 0 first.
    """
    if np.nanmax(y) < p.min():
        return np.full(p.size, np.nan)
    xmax = x[-1]
    _, first = np.unique(y, return_index=True)     # R duplicated(): NaN equals NaN
    keep = np.zeros(y.size, dtype=bool)
    keep[first] = True
    x, y = x[keep], y[keep]
    idx1 = _approx_index(y + tol, p)
    idx2 = _approx_index(y - tol, p)
    x_ = np.append(x, np.nan)                      # index -1 → NaN (R's NA)
    quant = (x_[idx1] + x_[idx2]) / 2
    quant[p == 0] = x[0]
    if not np.isnan(y[-1]):
        last = np.abs(p - y[-1]) < tol             # flat to the end of the curve
        quant[last] = (x_[idx1[last]] + xmax) / 2
    return quant


def _approx_index(xv: np.ndarray, p: np.ndarray) -> np.ndarray:
    """R ``approx(xv, seq_along(xv), p, method="constant", f=1)$y`` as 0-based indices,
    with -1 where R gives NA (outside the range, NaN pairs dropped, x sorted)."""
    idx = np.flatnonzero(~np.isnan(xv))
    xs = xv[idx]
    if xs.size > 1 and np.any(xs[1:] < xs[:-1]):
        o = np.argsort(xs, kind="stable")
        xs, idx = xs[o], idx[o]
    pos = np.searchsorted(xs, p, side="left")
    out = np.full(p.size, -1, dtype=np.intp)
    ok = (p >= xs[0]) & (p <= xs[-1])
    out[ok] = idx[pos[ok]]
    return out
