"""Kaplan–Meier estimator with R ``survfit`` conventions.

Public: :func:`kaplan_meier`, :class:`KaplanMeier`, :func:`median_followup`.

The estimator has three layers, as every estimator in the package: the public functions
here validate once (``validate``); ``_km_counts`` counts the risk sets (by ``bincount``
for whole-number times in a modest range, else by one sort of packed ``uint64`` keys)
and ``_km_core`` builds the curves, their variances and confidence limits. No layer
loops over subjects or event times in Python; the only loop is over groups.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._deprecate import renamed, retired_call
from . import _formula
from . import validate as V
from ._common import as_times, z_value
from ._km_core import confint as _confint  # noqa: F401  (cox.py's limits come from here)
from ._km_core import findq, fit, fit_general
from ._km_core import weighted_counts  # noqa: F401  (the exposure cores count with it)
from .results import SummaryDisplay

__all__ = ["kaplan_meier", "KaplanMeier", "median_followup", "CONF_TYPES"]

CONF_TYPES = ("log", "log-log", "plain", "logit", "arcsin")

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
            out_q.append(findq(x, np.concatenate(([0.0], 1.0 - surv[a:b])), p))
            out_lo.append(findq(x, np.concatenate(([0.0], 1.0 - lower[a:b])), p))
            out_hi.append(findq(x, np.concatenate(([0.0], 1.0 - upper[a:b])), p))
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
        t = as_times(times)
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
        t = as_times(times)
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
    @property
    def summary(self) -> pd.DataFrame:
        """One row per group: ``group, n, events, median, lower, upper`` (a table
        attribute, as a model's ``summary``; the call ``summary()`` is retired)."""
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
        return retired_call(med, "KaplanMeier.summary")

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
        table, bounds, levels_out = fit(t, d, e, codes, levels, tmax, z, conf_type,
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
        table, bounds, levels_out = fit_general(
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
    table, bounds, levels_out = fit(t, d, None, codes, levels, tmax, z, conf_type, True)
    km = KaplanMeier(table=table, conf_type=conf_type, alpha=float(alpha), by=by,
                     meta={"time": time, "event": event, "reverse": True},
                     _index=(bounds, levels_out))
    med = km.median()
    return med if by is not None else med.drop(columns="group")


def _check_options(conf_type: str, alpha: float) -> float:
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {', '.join(map(repr, CONF_TYPES))}; "
                         f"got {conf_type!r}")
    return z_value(alpha)


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

