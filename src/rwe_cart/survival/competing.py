"""Competing risks: Aalen–Johansen cumulative incidence, Gray's test, Fine–Gray regression.

Public: :func:`cumulative_incidence` (:class:`CumulativeIncidence`), :func:`gray_test`,
:func:`fine_gray` (:class:`FineGrayModel`), :func:`finegray_expand`,
:func:`cause_specific_cox`.

Conventions are R's (``survival`` 3.5 multi-state ``survfit`` and ``finegray``;
``cmprsk`` 2.2 ``cuminc`` and ``crr``); see each function's Notes. Every public function
validates once, then calls the array cores in ``_competing_core`` (vectorised numpy: no
Python loop over subjects or event times; the only loops are over groups, causes and
strata).

Why our own code: lifelines' ``AalenJohansenFitter`` jitters tied times and computes a
different (delta-method) variance with a per-time loop; there is no maintained Python
Fine–Gray (``crr``) or Gray's test, so these follow Fine & Gray (1999), Gray (1988) and
cmprsk's Fortran, written as cumulative sums.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri
from scipy.stats import chi2, norm

from . import _competing_core as core
from .._deprecate import renamed
from . import _formula
from . import validate as V
from .design import design_matrix
from .results import RegressionResult, SummaryDisplay

__all__ = [
    "cumulative_incidence",
    "CumulativeIncidence",
    "gray_test",
    "fine_gray",
    "FineGrayModel",
    "finegray_expand",
    "cause_specific_cox",
    "VARIANCES",
]

VARIANCES = ("aalen-johansen-ij", "cuminc")
EVENT_FREE = "(s0)"   # R's name of the initial (event-free) state

_TABLE_COLUMNS = ["group", "cause", "time", "cif", "std_err", "lower", "upper",
                  "n_risk", "n_event", "n_censor"]
_STATE_COLUMNS = ["group", "state", "time", "pstate", "std_err", "lower", "upper", "n_risk"]


# ---------------------------------------------------------------------------------------
# Shared validation
# ---------------------------------------------------------------------------------------
def _z(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) \
            or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number strictly between 0 and 1, got {alpha!r}")
    conf_int = 1.0 - float(alpha)
    return float(ndtri(1.0 - (1.0 - conf_int) / 2.0))  # as R: qnorm(1 - (1 - conf.int)/2)


def _cause_array(data: pd.DataFrame, name: str, censored: Any) -> tuple[np.ndarray, list]:
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


def _groups(data, by):
    if by is None:
        return None, None
    return V.group_codes(data, by)


def _log_ci(p: np.ndarray, se: np.ndarray, z: float):
    """R survfit_confint(logse = FALSE, "log"): p exp(+-z se/p), upper clipped at 1, NA at
    p = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        xx = np.where(p == 0, np.nan, p)
        se2 = z * se / xx
        lx = np.log(xx)
        return np.exp(lx - se2), np.minimum(np.exp(lx + se2), 1.0)


def _group_values(levels, by, sizes) -> Any:
    """The ``group`` column: each level repeated sizes[j] times ("all" without `by`)."""
    if by is None:   # (fancy indexing: np.full with dtype=object is ~10x slower)
        return np.array(["all"], dtype=object)[np.zeros(int(np.sum(sizes)), dtype=np.intp)]
    if isinstance(levels, pd.CategoricalIndex):
        return pd.Categorical.from_codes(np.repeat(np.arange(len(levels)), sizes),
                                         dtype=levels.dtype)
    return np.repeat(np.asarray(levels), sizes)


# ---------------------------------------------------------------------------------------
# Cumulative incidence
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)  # eq=False: DataFrames do not compare to a bool
class CumulativeIncidence(SummaryDisplay):
    """Aalen–Johansen cumulative incidence of each cause, per group.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (group, cause, distinct observed time), sorted that way, with columns
        ``group, cause, time, cif, std_err, lower, upper, n_risk, n_event, n_censor``.
        ``std_err`` is the standard error of the CIF itself (probability scale),
        ``lower``/``upper`` the pointwise limits, ``n_risk`` the number event-free and
        under follow-up at t (R's ``n.risk`` of state ``(s0)``), ``n_event`` the events of
        this cause at t and ``n_censor`` the censorings at t.
    event_free : pandas.DataFrame
        The event-free state ``(s0)``: ``group, time, pstate, std_err, lower, upper,
        n_risk`` (pstate = 1 − sum of the CIFs, the all-cause Kaplan–Meier).
    method : str
        The variance: ``"aalen-johansen-ij"`` (R survfit's infinitesimal jackknife) or
        ``"cuminc"`` (cmprsk's, Gray's).
    alpha : float
        1 − confidence level.
    causes : tuple
        Cause labels in order (the codes of the cause column other than the censoring code).
    by : str or None
        Grouping column.
    conf_type : str
        ``"log"``: p·exp(±z·se/p).
    meta : dict
        Column names used, ``n`` per group, the endpoint definition if the frame had one.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> cir = rc.datasets.rocca_like().endpoint("CIR")
    >>> ci = rc.cumulative_incidence(cir, "time", "cause")
    >>> ci.causes
    (1, 2)
    >>> ci.at([365])[["cause", "time", "cif", "lower", "upper"]].round(3)
      cause   time    cif  lower  upper
    0     1  365.0  0.398  0.326  0.487
    1     2  365.0  0.137  0.094  0.200
    """

    _summary_caption = "at the last follow-up time"

    table: pd.DataFrame
    event_free: pd.DataFrame
    method: str
    alpha: float
    causes: tuple
    by: str | None = None
    conf_type: str = "log"
    meta: dict = field(default_factory=dict)
    _index: Any = field(default=None, repr=False)  # (bounds in event_free, levels)

    # -- groups -------------------------------------------------------------------------
    @property
    def groups(self) -> tuple:
        """Group labels in table order (``("all",)`` when ungrouped)."""
        return tuple(self._index[1].tolist())

    def _slices(self):
        bounds, levels = self._index
        for j, label in enumerate(levels.tolist()):
            yield j, label, int(bounds[j]), int(bounds[j + 1])

    def _group_column(self, counts) -> Any:
        return _group_values(self._index[1], self.by, counts)

    # -- values at chosen times ----------------------------------------------------------
    def _evaluate(self, times) -> tuple[list, dict]:
        """Rows for summary(fit, times=): per group, the requested times not after the
        group's last time, each state's value at the last row <= t (the start values
        p0 = 1, CIF = 0, se = 0 before the first row)."""
        t = np.atleast_1d(np.asarray(times, dtype=np.float64)).ravel()
        if np.isnan(t).any():
            raise ValueError("times must not contain NaN")
        t = np.sort(t)
        ef = self.event_free
        tab = self.table
        K = len(self.causes)
        etime = ef["time"].to_numpy()
        p0, se0 = ef["pstate"].to_numpy(), ef["std_err"].to_numpy()
        lo0, up0 = ef["lower"].to_numpy(), ef["upper"].to_numpy()
        nrisk = ef["n_risk"].to_numpy()
        cif, se = tab["cif"].to_numpy(), tab["std_err"].to_numpy()
        lo, up = tab["lower"].to_numpy(), tab["upper"].to_numpy()
        nev = tab["n_event"].to_numpy()
        counts, out = [], {"time": [], "n_risk": [], "s0": [], "cause": []}
        for _, _, a, b in self._slices():
            gt = etime[a:b]
            tt = t[t <= gt[-1]]
            i1 = np.searchsorted(gt, tt, side="right") - 1
            i2 = np.searchsorted(gt, tt, side="left")
            before = i1 < 0
            j = a + np.maximum(i1, 0)
            s0 = [np.where(before, 1.0, p0[j]), np.where(before, 0.0, se0[j]),
                  np.where(before, 1.0, lo0[j]), np.where(before, 1.0, up0[j])]
            per_cause = []
            J = b - a
            for k in range(K):
                base = K * a + k * J
                r = base + np.maximum(i1, 0)
                cum = np.concatenate(([0], np.cumsum(nev[base:base + J])))[i1 + 1]
                per_cause.append([np.where(before, 0.0, cif[r]), np.where(before, 0.0, se[r]),
                                  np.where(before, np.nan, lo[r]),
                                  np.where(before, np.nan, up[r]),
                                  np.diff(cum, prepend=0)])
            out["time"].append(tt)
            out["n_risk"].append(nrisk[a + np.minimum(i2, J - 1)])
            out["s0"].append(s0)
            out["cause"].append(per_cause)
            counts.append(tt.size)
        return counts, out

    def at(self, times: float | Sequence[float]) -> pd.DataFrame:
        """Cumulative incidences at chosen times, as R's ``summary(fit, times=)``.

        Parameters
        ----------
        times
            Time points; sorted, and times after a group's last observed time are dropped
            for that group (R's default ``extend = FALSE``).

        Returns
        -------
        pandas.DataFrame
            Columns ``group, cause, time, cif, std_err, lower, upper, n_risk, n_event``:
            the values of the step functions at t, ``n_risk`` the number event-free at t,
            ``n_event`` the events of that cause in (previous requested time, t].
        """
        counts, out = self._evaluate(times)
        K = len(self.causes)
        cols = {c: [] for c in ("cause", "time", "cif", "std_err", "lower", "upper",
                                "n_risk", "n_event")}
        for g, m in enumerate(counts):
            for k in range(K):
                vals = out["cause"][g][k]
                cols["cause"].append(np.full(m, k, dtype=np.intp))
                cols["time"].append(out["time"][g])
                for name, v in zip(("cif", "std_err", "lower", "upper", "n_event"), vals):
                    cols[name].append(v)
                cols["n_risk"].append(out["n_risk"][g])
        res = {"group": _group_values(self._index[1], self.by, [m * K for m in counts])}
        causes = np.empty(len(self.causes), dtype=object)
        causes[:] = list(self.causes)
        for name in cols:
            arr = np.concatenate(cols[name]) if cols[name] else np.empty(0)
            res[name] = causes[arr.astype(np.intp)] if name == "cause" else arr
        df = pd.DataFrame(res)
        df["n_risk"] = df["n_risk"].astype(np.int64)
        df["n_event"] = df["n_event"].astype(np.int64)
        return df

    def state_probabilities(self, times: float | Sequence[float] | None = None
                            ) -> pd.DataFrame:
        """Probabilities of every state: event-free ``"(s0)"`` and each cause.

        Parameters
        ----------
        times
            ``None`` (default) for every distinct time, as R's ``fit$pstate``; otherwise
            the values at these times, as ``summary(fit, times=)``.

        Returns
        -------
        pandas.DataFrame
            Columns ``group, state, time, pstate, std_err, lower, upper, n_risk``, states in
            the order ``"(s0)"``, then the causes; at every time the states sum to 1.
        """
        K = len(self.causes)
        if times is None:
            ef, tab = self.event_free, self.table
            cols = {c: ([], []) for c in ("pstate", "std_err", "lower", "upper")}
            src = {"pstate": "cif", "std_err": "std_err", "lower": "lower", "upper": "upper"}
            e_time, e_risk = ef["time"].to_numpy(), ef["n_risk"].to_numpy()
            times_, risk_, state_, sizes = [], [], [], []
            for _, _, a, b in self._slices():
                J = b - a
                for c, (ls, _) in cols.items():
                    ls.append(ef[c].to_numpy()[a:b])
                    ls.append(tab[src[c]].to_numpy()[K * a:K * b])
                times_.append(np.tile(e_time[a:b], K + 1))
                risk_.append(np.tile(e_risk[a:b], K + 1))
                state_.append(np.repeat(np.arange(K + 1), J))
                sizes.append(J * (K + 1))
            labels = np.empty(K + 1, dtype=object)
            labels[:] = [EVENT_FREE, *self.causes]
            res = {"group": _group_values(self._index[1], self.by, sizes),
                   "state": labels[np.concatenate(state_)],
                   "time": np.concatenate(times_)}
            for c, (ls, _) in cols.items():
                res[c] = np.concatenate(ls)
            res["n_risk"] = np.concatenate(risk_)
            return pd.DataFrame(res)[_STATE_COLUMNS]
        counts, out = self._evaluate(times)
        names = [EVENT_FREE, *self.causes]
        cols = {c: [] for c in ("state", "time", "pstate", "std_err", "lower", "upper",
                                "n_risk")}
        gcounts = []
        for g, m in enumerate(counts):
            vals_list = [out["s0"][g]] + [v[:4] for v in out["cause"][g]]
            for s, vals in enumerate(vals_list):
                cols["state"].append(np.full(m, s, dtype=np.intp))
                cols["time"].append(out["time"][g])
                for name, v in zip(("pstate", "std_err", "lower", "upper"), vals):
                    cols[name].append(v)
                cols["n_risk"].append(out["n_risk"][g])
            gcounts.append(m * (K + 1))
        res = {"group": _group_values(self._index[1], self.by, gcounts)}
        labels = np.empty(K + 1, dtype=object)
        labels[:] = names
        for name in cols:
            arr = np.concatenate(cols[name]) if cols[name] else np.empty(0)
            res[name] = labels[arr.astype(np.intp)] if name == "state" else arr
        df = pd.DataFrame(res)
        df["n_risk"] = df["n_risk"].astype(np.int64)
        return df[_STATE_COLUMNS]

    # -- display ------------------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        """One row per (group, cause): ``n, n_event, time`` (last follow-up time) and the
        CIF there with its limits."""
        tab = self.table
        K = len(self.causes)
        rows = []
        n = self.meta.get("n", [])
        for j, label, a, b in self._slices():
            J = b - a
            for k in range(K):
                last = K * a + (k + 1) * J - 1
                sl = slice(K * a + k * J, last + 1)
                rows.append({"group": label, "cause": self.causes[k],
                             "n": n[j] if j < len(n) else np.nan,
                             "n_event": int(tab["n_event"].to_numpy()[sl].sum()),
                             "time": tab["time"].to_numpy()[last],
                             "cif": tab["cif"].to_numpy()[last],
                             "lower": tab["lower"].to_numpy()[last],
                             "upper": tab["upper"].to_numpy()[last]})
        return pd.DataFrame(rows, columns=["group", "cause", "n", "n_event", "time", "cif",
                                           "lower", "upper"])

    def _title(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        by = f" by {self.by!r}" if self.by else ""
        text = (f"Cumulative incidence (Aalen–Johansen){by}: {len(self.causes)} causes; "
                f"{level} CI ({self.conf_type}), variance {self.method}")
        definition = self.meta.get("definition")
        if definition:
            text += f"\nendpoint: {definition}"
        return text



def cumulative_incidence(
    data: pd.DataFrame | str,
    time: str | pd.DataFrame | None = None,
    cause: str | None = None,
    *,
    by: str | None = None,
    alpha: float = 0.05,
    variance: str = "aalen-johansen-ij",
    censored: Any = 0,
    timefix: bool = True,
) -> CumulativeIncidence:
    """Aalen–Johansen cumulative incidence functions of competing causes.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject. Or an R formula given first,
        ``rc.cumulative_incidence("Surv(time, cause) ~ group", data)``, which replaces
        `time`, `cause` and `by`.
    time : str
        Column of follow-up times (>= 0).
    cause : str
        Column of cause codes: `censored` (default 0) for censored rows, any other value
        a cause (causes are ordered by value, e.g. 1 = relapse, 2 = non-relapse death).
    by : str, optional
        Column defining separate curves (sorted levels; a categorical keeps its order).
    alpha : float
        1 − confidence level.
    variance : {"aalen-johansen-ij", "cuminc"}
        ``"aalen-johansen-ij"`` (default): R ``survfit``'s multi-state infinitesimal
        jackknife standard error. ``"cuminc"``: the variance of ``cmprsk::cuminc``
        (Gray's), for comparison with older analyses.
    censored
        The code of censored rows in `cause`.
    timefix : bool
        Merge times closer than sqrt(machine epsilon), as R's ``aeqSurv`` (survfit's
        default). No effect on whole-number times.

    Returns
    -------
    CumulativeIncidence
        ``.table`` (group, cause, time, cif, std_err, lower, upper, n_risk, n_event,
        n_censor), ``.event_free``, ``.state_probabilities()``, ``.at(times)``.

    Notes
    -----
    Conventions follow R's ``survfit(Surv(time, factor(cause)) ~ by)`` (survival 3.5):

    * One row per distinct observed time (event or censoring) per group and cause. At a
      tied time all events (of every cause) enter one transition matrix, so ties between
      causes are handled exactly; nothing is jittered (lifelines' AalenJohansenFitter
      jitters tied times).
    * CIF_k(t) = sum_{t_j <= t} S(t_{j-1}) d_kj/n_j with S the all-cause Kaplan–Meier;
      the event-free state is S, so the CIFs and S sum to 1.
    * ``std_err`` is on the probability scale. With the default ``variance``, it is the
      infinitesimal-jackknife SE R reports for multi-state curves (R computes it in
      O(n·J); here it is the same quantity in O(J) by cumulative sums, see
      ``_competing_core.aj_curves``). For the event-free state it is the IJ SE as well,
      not Greenwood's (they differ after the first time). With ``variance="cuminc"`` the
      CIF variances are cmprsk's, which change only at the cause's own event times
      (``timepoints()``); the event-free state then gets Greenwood's SE.
    * Confidence limits: ``log``, p·exp(±z·se/p), the upper limit clipped at 1, NaN where
      p = 0 (R: NA).
    * ``.at(times)`` follows R's ``summary(fit, times=)``: the value at the last time
      <= t, start values before the first time, times after the last one dropped.

    References
    ----------
    .. [1] Aalen OO, Johansen S. An empirical transition matrix for non-homogeneous
           Markov chains based on censored observations. Scand J Stat. 1978;5:141-150.
    .. [2] Gray RJ. A class of K-sample tests for comparing the cumulative incidence of a
           competing risk. Ann Stat. 1988;16:1141-1154.
    .. [3] Therneau TM. A Package for Survival Analysis in R (survival), multi-state
           vignette; Efron B. The jackknife, the bootstrap and other resampling plans.
           SIAM; 1982 (infinitesimal jackknife).

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> df = pd.DataFrame({"time": [1, 2, 2, 3, 4], "cause": [1, 2, 1, 0, 1]})
    >>> ci = rc.cumulative_incidence(df, "time", "cause")
    >>> ci.table.query("cause == 1")[["time", "cif"]]
       time  cif
    0   1.0  0.2
    1   2.0  0.4
    2   3.0  0.4
    3   4.0  0.8
    """
    data, parsed = _formula.split_call(data, time, "cumulative_incidence")
    if parsed is not None:
        data, a = _formula.curve_arguments(parsed, data, {"cause": cause, "by": by},
                                           "cumulative_incidence", entry=False)
        return cumulative_incidence(data, a["time"], a["status"], by=a["group"], alpha=alpha,
                                    variance=variance, censored=censored, timefix=timefix)
    _formula.require("cumulative_incidence", time=time, cause=cause)
    V.check_frame(data, [("time", time), ("cause", cause), ("by", by)])
    z = _z(alpha)
    if variance not in VARIANCES:
        raise ValueError(f"variance must be one of {', '.join(map(repr, VARIANCES))}; "
                         f"got {variance!r}")
    t, tmin, tmax = V.time_array(data, time)
    status, causes = _cause_array(data, cause, censored)
    codes, levels = _groups(data, by)
    K = len(causes)
    n_groups = 1 if codes is None else len(levels)
    time_u, n_risk, n_event, n_censor, bounds = core.aj_counts(
        t, status, codes, K, n_groups, tmin, tmax, timefix)

    J = time_u.size
    p0 = np.empty(J)
    se0 = np.empty(J)
    cif = np.empty(K * J)
    se = np.empty(K * J)
    for g in range(n_groups):   # loop over groups only
        a, b = int(bounds[g]), int(bounds[g + 1])
        pg, sg, cg, eg = core.aj_curves(n_risk[a:b], n_event[a:b], n_censor[a:b], variance)
        p0[a:b] = pg
        se0[a:b] = sg
        cif[K * a:K * b] = cg.ravel()     # cause-major within the group
        se[K * a:K * b] = eg.ravel()
    lo0, up0 = _log_ci(p0, se0, z)
    lo, up = _log_ci(cif, se, z)

    sizes = np.diff(bounds)
    rep = np.repeat(sizes, K)                        # (group, cause) block sizes
    # row index into the per-time arrays for each (group, cause, time) row
    starts = np.repeat(bounds[:-1], K)
    offsets = np.cumsum(rep) - rep
    idx = np.repeat(starts - offsets, rep) + np.arange(rep.sum())
    cause_idx = np.tile(np.arange(K), n_groups)
    cause_lab = np.empty(K, dtype=object)
    cause_lab[:] = causes
    levels_out = pd.Index(["all"], dtype=object) if codes is None else levels
    table = pd.DataFrame({
        "group": _group_values(levels_out, by, sizes * K),
        "cause": cause_lab[np.repeat(cause_idx, rep)],
        "time": time_u[idx],
        "cif": cif, "std_err": se, "lower": lo, "upper": up,
        "n_risk": n_risk[idx],
        "n_event": n_event[idx, np.repeat(cause_idx, rep)],
        "n_censor": n_censor[idx],
    }, copy=False)
    event_free = pd.DataFrame({
        "group": _group_values(levels_out, by, sizes),
        "time": time_u, "pstate": p0, "std_err": se0, "lower": lo0, "upper": up0,
        "n_risk": n_risk,
    }, copy=False)
    n = [int(x) for x in (np.bincount(codes, minlength=n_groups) if codes is not None
                          else [t.size])]
    meta = {"definition": data.attrs.get("definition"), "time": time, "cause": cause,
            "censored": censored, "n": n}
    return CumulativeIncidence(table=table, event_free=event_free, method=variance,
                               alpha=float(alpha), causes=tuple(causes), by=by, meta=meta,
                               _index=(bounds, levels_out))


# ---------------------------------------------------------------------------------------
# Gray's test
# ---------------------------------------------------------------------------------------
@renamed(group="by")
def gray_test(
    data: pd.DataFrame,
    time: str,
    cause: str,
    by: str,
    *,
    strata: str | None = None,
    rho: float = 0.0,
    censored: Any = 0,
) -> pd.DataFrame:
    """Gray's K-sample test of equal cumulative incidence, one test per cause.

    Parameters
    ----------
    data, time, cause, censored
        As :func:`cumulative_incidence`.
    by : str
        Column whose levels are compared (at least two levels).
    strata : str, optional
        Column of strata; scores and variances are summed over strata, as cmprsk.
    rho : float
        Power of the weight (1 − F(t−))^rho; 0 (cmprsk's default) is the log-rank-like
        test.

    Returns
    -------
    pandas.DataFrame
        Columns ``cause, statistic, df, p_value``: one row per cause, as
        ``cmprsk::cuminc(...)$Tests``. ``attrs`` holds the test name, `rho` and the
        group levels.

    Notes
    -----
    The statistic s'V⁻¹s from the scores of the first G − 1 groups and their covariance,
    exactly as cmprsk's Fortran ``crstm``/``crst`` (Gray 1988), computed with cumulative
    sums over the distinct event times. df = G − 1, p from the chi-square upper tail. Where
    V is singular cmprsk reports −1; here the statistic and p-value are NaN.

    References
    ----------
    .. [1] Gray RJ. A class of K-sample tests for comparing the cumulative incidence of a
           competing risk. Ann Stat. 1988;16:1141-1154.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> cir = rc.datasets.rocca_like().endpoint("CIR", with_columns=["extramedullary"])
    >>> rc.gray_test(cir, "time", "cause", "extramedullary").round(3)
       cause  statistic  df  p_value
    0      1      9.278   1    0.002
    1      2      2.241   1    0.134
    """
    V.check_frame(data, [("time", time), ("cause", cause), ("by", by),
                         ("strata", strata)])
    t, _, _ = V.time_array(data, time)
    t = t.astype(np.float64, copy=False)
    status, causes = _cause_array(data, cause, censored)
    codes, levels = V.group_codes(data, by)
    G = len(levels)
    if G < 2:
        raise ValueError(f"column {by!r} has a single group ({levels[0]!r}); "
                         "Gray's test compares at least two")
    if not isinstance(rho, (int, float, np.floating)) or isinstance(rho, bool) \
            or not np.isfinite(rho):
        raise ValueError(f"rho must be a finite number, got {rho!r}")
    if strata is None:
        strata_rows = [np.arange(t.size)]
    else:
        scodes, _ = V.group_codes(data, strata)
        order = np.argsort(scodes, kind="stable")
        cuts = np.cumsum(np.bincount(scodes))
        strata_rows = np.split(order, cuts[:-1])
    rows = []
    for k, lab in enumerate(causes, start=1):   # loop over causes and strata only
        m = np.where(status == 0, 0, np.where(status == k, 1, 2)).astype(np.intp)
        s = np.zeros(G - 1)
        v = np.zeros((G - 1, G - 1))
        for idx in strata_rows:
            sk, vk = core.gray_scores(t[idx], m[idx], codes[idx], G, float(rho))
            s += sk
            v += vk
        stat = np.nan
        if np.linalg.matrix_rank(v) == G - 1:
            stat = float(s @ np.linalg.solve(v, s))
        rows.append({"cause": lab, "statistic": stat, "df": G - 1,
                     "p_value": float(chi2.sf(stat, G - 1)) if np.isfinite(stat) else np.nan})
    out = pd.DataFrame(rows, columns=["cause", "statistic", "df", "p_value"])
    out.attrs.update({"name": "Gray's test", "rho": float(rho), "group": by,
                      "levels": list(levels.tolist()), "strata": strata})
    return out


# ---------------------------------------------------------------------------------------
# Fine-Gray
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class FineGrayModel(RegressionResult):
    """A Fine–Gray subdistribution hazards model.

    Attributes
    ----------
    summary : pandas.DataFrame
        ``term, coef, se, hr, lower, upper, z, p`` (subdistribution hazard ratios; with
        ``method="finegray"`` also ``robust_se`` when the Cox fit reports one, and then z,
        p and the limits use it, as R).
    loglik : tuple
        (null, fitted) log pseudo-likelihood.
    converged : bool
    method : str
        ``"crr"`` or ``"finegray"``.
    failure_cause
        The cause modelled.
    n, n_event : int
        Subjects and events of the failure cause.
    vcov : pandas.DataFrame
        Variance matrix of the coefficients (the sandwich for crr).
    alpha : float
    iterations : int
    tests : pandas.DataFrame
        ``test, statistic, df, p_value``: pseudo likelihood ratio and Wald.
    cox : object
        The weighted Cox fit on the expanded data (``method="finegray"`` only).
    meta : dict

    Examples
    --------
    >>> import rwe_cart as rc
    >>> cir = rc.datasets.rocca_like().endpoint("CIR", with_columns=["age"])
    >>> fg = rc.fine_gray(cir, time="time", cause="cause", covariates=["age"], failure_cause=2)
    >>> fg.method, fg.failure_cause, fg.n, fg.n_event, fg.converged
    ('crr', 2, 189, 26, True)
    >>> fg.vcov.round(6)
              age
    age  0.000175
    """

    summary: pd.DataFrame
    loglik: tuple
    converged: bool
    method: str
    failure_cause: Any
    n: int
    n_event: int
    vcov: pd.DataFrame
    alpha: float = 0.05
    iterations: int = 0
    tests: pd.DataFrame | None = None
    cox: Any = None
    meta: dict = field(default_factory=dict)

    @property
    def coef(self) -> pd.Series:
        return pd.Series(self.summary["coef"].to_numpy(), index=self.summary["term"])

    def _title(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        conv = "" if self.converged else " (NOT converged)"
        return (f"Fine–Gray model for cause {self.failure_cause!r} ({self.method}){conv}: "
                f"n = {self.n}, events = {self.n_event}; sHR with {level} CI; "
                f"log pseudo-likelihood {self.loglik[1]:.6g} (null {self.loglik[0]:.6g})")

    def __repr__(self) -> str:
        body = self.summary.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        return f"{self._title()}\n{body}"

    def _repr_html_(self) -> str:
        title = self._title().replace("&", "&amp;").replace("<", "&lt;")
        return (f"<p><b>{title}</b></p>"
                + self.summary.to_html(index=False, float_format="{:.4g}".format,
                                       na_rep="NA"))


def _check_design(x: np.ndarray, covariates: Sequence[str]) -> None:
    const = [c for c, col in zip(covariates, x.T) if np.ptp(col) == 0]
    if const:
        raise ValueError(f"covariate {', '.join(map(repr, const))} is constant; "
                         "its coefficient cannot be estimated")
    xc = x - x.mean(axis=0)
    if np.linalg.matrix_rank(xc) < x.shape[1]:
        raise ValueError(f"covariates {', '.join(map(repr, covariates))} are collinear "
                         "(one is a linear combination of the others)")


def _failure_code(causes: list, failure_cause: Any, cause: str) -> int:
    for k, lab in enumerate(causes, start=1):
        if lab == failure_cause:
            return k
    raise ValueError(f"failure_cause={failure_cause!r} is not a cause in column {cause!r} "
                     f"(causes: {', '.join(map(repr, causes))})")


def fine_gray(
    data: pd.DataFrame | str,
    formula: str | pd.DataFrame | None = None,
    *,
    time: str | None = None,
    cause: str | None = None,
    covariates: Sequence[str] | None = None,
    failure_cause: Any = 1,
    method: str = "crr",
    censored: Any = 0,
    alpha: float = 0.05,
    ties: str = "efron",
    cluster: str | None = None,
    maxiter: int = 10,
    gtol: float = 1e-6,
) -> FineGrayModel:
    """Fine–Gray proportional subdistribution hazards regression.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject.
    formula
        Instead of `time`, `cause`, `covariates` and `cluster`, an R formula
        ``"Surv(time, cause) ~ age + C(sex) + cluster(id)"``, given first or second
        (``rc.fine_gray(formula, data, failure_cause=1)``); terms as in
        :func:`rwe_cart.cox`, named as R's ``model.matrix``, so a logical column ``x``
        gives the coefficient ``xTRUE`` with either method.
    time, cause, censored
        As :func:`cumulative_incidence`.
    covariates : sequence of str
        Covariate columns, expanded as :func:`rwe_cart.cox` does with either method
        (``rwe_cart.survival.design``): a string, categorical or logical column
        becomes treatment dummies named as R (``sexM``, ``xTRUE``).
    failure_cause
        The cause whose subdistribution hazard is modelled.
    method : {"crr", "finegray"}
        ``"crr"`` (default) reproduces ``cmprsk::crr``; ``"finegray"`` expands the data as
        ``survival::finegray`` and fits a weighted Cox model with :func:`rwe_cart.cox`, as
        ``coxph(Surv(fgstart, fgstop, fgstatus) ~ ..., weights = fgwt)``.
    alpha : float
        1 − confidence level of the hazard-ratio limits.
    ties, cluster
        ``"finegray"`` only: Cox ties method (R's default Efron) and an optional cluster
        column (e.g. the subject id) for the robust variance.
    maxiter, gtol
        ``"crr"`` only: cmprsk's Newton–Raphson settings.

    Returns
    -------
    FineGrayModel

    Notes
    -----
    ``"crr"`` follows cmprsk 2.2 step by step: rows sorted by time; the censoring
    distribution G is the Kaplan–Meier of the censorings with failures at a tied time
    kept in its risk set, evaluated just before each time; a subject failing from another
    cause stays in later risk sets with weight G(t−)/G(T_i−); Breslow-type handling of tied
    failures; Newton–Raphson from 0 with cmprsk's step halving and stopping rule
    (``max|score| * max(|b|, 1) < gtol * max(|loglik|, 1)``); the variance is Fine & Gray's
    sandwich, whose middle includes the term for estimating G. Rows with missing
    covariates are an error (crr silently drops them). p-values are not rounded (crr's
    summary rounds them to 2 significant digits).

    ``"finegray"`` handles censoring tied with failures differently when building the
    weights (failures leave before censorings), so it differs from crr by about 0.2% on
    tied data; with Efron ties it differs again. With non-integer weights R's coxph
    reports the robust (per-row) SE; with ``cluster`` the clustered one.

    References
    ----------
    .. [1] Fine JP, Gray RJ. A proportional hazards model for the subdistribution of a
           competing risk. J Am Stat Assoc. 1999;94:496-509.
    .. [2] Gray RJ. cmprsk: Subdistribution Analysis of Competing Risks. R package 2.2.
    .. [3] Geskus RB. Cause-specific cumulative incidence estimation and the Fine and
           Gray model under both left truncation and right censoring. Biometrics.
           2011;67:39-49.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> cir = rc.datasets.rocca_like().endpoint("CIR", with_columns=["age", "extramedullary"])
    >>> fg = rc.fine_gray(cir, time="time", cause="cause", covariates=["age", "extramedullary"])
    >>> fg.summary[["term", "hr", "lower", "upper", "p"]].round(3)
                     term     hr  lower  upper      p
    0                 age  1.002  0.984   1.02  0.859
    1  extramedullaryTRUE  2.138  1.314   3.48  0.002
    """
    if method not in ("crr", "finegray"):
        raise ValueError(f"method must be 'crr' or 'finegray', got {method!r}")
    data, parsed = _formula.split_call(data, formula, "fine_gray", formula_second=True)
    if parsed is not None:
        if parsed.start is not None or parsed.strata:
            raise ValueError(f"fine_gray takes Surv(time, cause) ~ covariates [+ cluster()], "
                             f"without delayed entry or strata (formula {parsed.text!r})")
        data, a, spec = _formula.model_arguments(
            parsed, data, {"time": time, "cause": cause, "covariates": covariates,
                           "cluster": cluster}, "fine_gray")
        fit = fine_gray(data, time=a["time"], cause=parsed.status, covariates=a["covariates"],
                        failure_cause=failure_cause, method=method, censored=censored,
                        alpha=alpha, ties=ties, cluster=a["cluster"], maxiter=maxiter,
                        gtol=gtol)
        return replace(fit, meta={**fit.meta, "formula": parsed.text, "model_spec": spec})
    _formula.require("fine_gray", time=time, cause=cause, covariates=covariates)
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates)
    if not covariates:
        raise ValueError("covariates must name at least one column")
    V.check_frame(data, [("time", time), ("cause", cause), ("cluster", cluster)]
                  + [("covariates", c) for c in covariates])
    zq = _z(alpha)
    if method == "finegray":
        return _fine_gray_cox(data, time, cause, covariates, failure_cause, censored, alpha,
                              ties, cluster)
    t, _, _ = V.time_array(data, time)
    status, causes = _cause_array(data, cause, censored)
    k = _failure_code(causes, failure_cause, cause)
    st = np.where(status == 0, 0, np.where(status == k, 1, 2)).astype(np.int64)
    if not (st == 1).any():
        raise ValueError(f"no events of cause {failure_cause!r}")
    x, names, _, _ = design_matrix(data, covariates)
    _check_design(x, names)
    # no maintained Python Fine-Gray; follows Fine & Gray (1999) and cmprsk's crr
    D = core.CrrData(t.astype(np.float64), st, x)
    p = x.shape[1]
    try:
        b, lik, score, hess, converged, iters = core.crr_fit(D, np.zeros(p), maxiter, gtol)
        h = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"the Fine-Gray information matrix is singular (covariates "
            f"{', '.join(map(repr, names))}): a covariate may be constant among the "
            f"subjects at risk at the failure times of cause {failure_cause!r}") from None
    if not converged:
        warnings.warn(f"crr did not converge in {maxiter} Newton-Raphson iterations "
                      f"(cause {failure_cause!r}); the estimates are not reliable",
                      RuntimeWarning, stacklevel=2)
    vcov = h @ D.sandwich_middle(b) @ h
    se = np.sqrt(np.diag(vcov))
    zval = b / se
    summary = pd.DataFrame({
        "term": names, "coef": b, "se": se, "hr": np.exp(b),
        "lower": np.exp(b - zq * se), "upper": np.exp(b + zq * se),
        "z": zval, "p": 2.0 * norm.sf(np.abs(zval)),
    })
    loglik = (-D.neg_loglik(np.zeros(p)), -lik)
    wald = float(b @ np.linalg.solve(vcov, b))
    lrt = 2.0 * (loglik[1] - loglik[0])
    tests = pd.DataFrame({"test": ["likelihood_ratio", "wald"], "statistic": [lrt, wald],
                          "df": [p, p], "p_value": [chi2.sf(lrt, p), chi2.sf(wald, p)]})
    return FineGrayModel(
        summary=summary, loglik=loglik, converged=bool(converged), method="crr",
        failure_cause=causes[k - 1], n=int(t.size), n_event=int((st == 1).sum()),
        vcov=pd.DataFrame(vcov, index=names, columns=names), alpha=float(alpha),
        iterations=int(iters), tests=tests,
        meta={"time": time, "cause": cause, "censored": censored,
              "definition": data.attrs.get("definition"), "score": score,
              "information": hess})


def _fine_gray_cox(data, time, cause, covariates, failure_cause, censored, alpha, ties,
                   cluster):
    from .cox import cox  # the Cox module; imported here so crr works without it

    expanded = finegray_expand(data, time=time, cause=cause, failure_cause=failure_cause,
                               censored=censored)
    # robust left to cox's default, which follows R: the sandwich SE (per row, or per
    # cluster) because the weights are not whole numbers
    fit = cox(expanded, time="fgstop", event="fgstatus", covariates=covariates,
              start="fgstart", weights="fgwt", ties=ties, cluster=cluster, alpha=alpha)
    loglik = (float(fit.loglik[0]), float(fit.loglik[1]))
    status, causes = _cause_array(data, cause, censored)
    k = _failure_code(causes, failure_cause, cause)
    return FineGrayModel(
        summary=fit.summary.copy(), loglik=loglik, converged=True,  # cox raises otherwise
        method="finegray", failure_cause=causes[k - 1], n=int(len(data)),
        n_event=int((status == k).sum()), vcov=fit.var, alpha=float(alpha),
        iterations=int(fit.n_iter), tests=fit.tests, cox=fit,
        meta={"time": time, "cause": cause, "censored": censored, "ties": ties,
              "cluster": cluster, "n_expanded": int(len(expanded)),
              "definition": data.attrs.get("definition")})


def finegray_expand(
    data: pd.DataFrame,
    *,
    time: str,
    cause: str,
    failure_cause: Any = 1,
    id: str | None = None,
    censored: Any = 0,
    timefix: bool = True,
    max_rows: int | None = 20_000_000,
) -> pd.DataFrame:
    """Counting-process data for a Fine–Gray model, as R's ``survival::finegray``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject (right-censored data).
    time, cause, censored
        As :func:`cumulative_incidence`.
    failure_cause
        The cause of interest (R's ``etype``).
    id : str, optional
        Subject identifier column; checked to be unique (one row per subject).
    timefix : bool
        Merge near-equal times first, as R (``aeqSurv``).
    max_rows : int or None
        Refuse (ValueError, before allocating) an expansion with more rows than this;
        the expansion grows like n² with continuous times (``None``: no limit).

    Returns
    -------
    pandas.DataFrame
        The columns of `data` other than `time` and `cause` (as R keeps the model frame
        without the response), each row repeated as needed, then ``fgstart, fgstop,
        fgstatus, fgwt``. Fit ``cox(..., time="fgstop", event="fgstatus",
        start="fgstart", weights="fgwt")``.

    Notes
    -----
    As survival 3.5: the censoring Kaplan–Meier G is computed with failures leaving the
    risk set just before censorings at the same time. Rows that end in censoring or in
    the failure of interest are kept as (0, T]. A row ending in a competing event is
    extended with weight 1 to the next censoring time (or the last follow-up time), and
    gets one more row for each later censoring interval that contains a failure of
    interest, with weight G(start of interval)/G(T−). The start is 0 (or 2·min(time) − 1
    when some time is <= 0).

    References
    ----------
    .. [1] Fine JP, Gray RJ. A proportional hazards model for the subdistribution of a
           competing risk. J Am Stat Assoc. 1999;94:496-509.
    .. [2] Geskus RB. Cause-specific cumulative incidence estimation and the Fine and
           Gray model under both left truncation and right censoring. Biometrics.
           2011;67:39-49.

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> df = pd.DataFrame({"id": [1, 2, 3, 4], "time": [2, 3, 5, 7], "cause": [1, 2, 0, 1]})
    >>> rc.finegray_expand(df, time="time", cause="cause", id="id").round(3)
       id  fgstart  fgstop  fgstatus  fgwt
    0   1      0.0     2.0         1   1.0
    1   2      0.0     5.0         0   1.0
    2   2      5.0     7.0         0   0.5
    3   3      0.0     5.0         0   1.0
    4   4      0.0     7.0         1   1.0
    """
    V.check_frame(data, [("time", time), ("cause", cause), ("id", id)])
    t, _, _ = V.time_array(data, time)
    status, causes = _cause_array(data, cause, censored)
    k = _failure_code(causes, failure_cause, cause)
    if id is not None:
        dup = data[id].duplicated(keep=False).to_numpy()
        if dup.any():
            raise ValueError(f"column {id!r} has repeated ids ({V.describe_rows(data, dup)}); "
                             "finegray_expand takes one row per subject")
    row, start, stop, wt, fgstatus = core.finegray_rows(t, status, k, timefix, max_rows)
    rest = data.drop(columns=[time, cause])
    out = rest.iloc[row].reset_index(drop=True)
    out["fgstart"] = start
    out["fgstop"] = stop
    out["fgstatus"] = fgstatus
    out["fgwt"] = wt
    return out


# ---------------------------------------------------------------------------------------
# Cause-specific Cox
# ---------------------------------------------------------------------------------------
def cause_specific_cox(
    data: pd.DataFrame,
    *,
    time: str,
    cause: str,
    covariates: Sequence[str],
    censored: Any = 0,
    **cox_kwargs: Any,
) -> dict:
    """Cause-specific Cox models: one per cause, other causes treated as censored.

    Parameters
    ----------
    data, time, cause, censored
        As :func:`cumulative_incidence`.
    covariates : sequence of str
        Covariate columns.
    **cox_kwargs
        Passed to :func:`rwe_cart.cox` (``ties``, ``strata``, ``cluster``, ``robust``, …).

    Returns
    -------
    dict
        ``{cause: CoxModel}``, causes in order; each is
        ``coxph(Surv(time, cause == k) ~ covariates)``.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> cir = rc.datasets.rocca_like().endpoint("CIR", with_columns=["age"])
    >>> fits = rc.cause_specific_cox(cir, time="time", cause="cause", covariates=["age"])
    >>> sorted(fits)
    [1, 2]
    >>> fits[1].summary[["term", "hr", "p"]].round(3)
      term     hr      p
    0  age  1.007  0.425
    """
    from .cox import cox

    V.check_frame(data, [("time", time), ("cause", cause)])
    status, causes = _cause_array(data, cause, censored)
    name = "__event__"
    while name in data.columns:
        name = "_" + name
    out = {}
    for k, lab in enumerate(causes, start=1):   # loop over causes only
        frame = data.assign(**{name: (status == k).astype(np.int64)})
        frame.attrs = dict(data.attrs)
        out[lab] = cox(frame, time=time, event=name, covariates=list(covariates),
                       **cox_kwargs)
    return out
