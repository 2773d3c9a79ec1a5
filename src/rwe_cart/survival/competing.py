"""Competing risks: Aalen–Johansen cumulative incidence, Gray's test, Fine–Gray regression.

Public: :func:`cumulative_incidence` (:class:`CumulativeIncidence`), :func:`gray_test`,
:func:`fine_gray` (:class:`FineGrayModel`), :func:`finegray_expand`,
:func:`cause_specific_cox`.

Conventions are R's (``survival`` 3.5 multi-state ``survfit`` and ``finegray``;
``cmprsk`` 2.2 ``cuminc`` and ``crr``); see each function's Notes. Every public function
validates once, codes the causes (``_competing_design``), then calls the array cores in
``_competing_core`` (vectorised numpy: no Python loop over subjects or event times; the
only loops are over groups, causes and strata). Fine–Gray regression lives in
``_fine_gray`` and is re-exported here.

Why our own code: lifelines' ``AalenJohansenFitter`` jitters tied times and computes a
different (delta-method) variance with a per-time loop; there is no maintained Python
Gray's test, so it follows Gray (1988) and cmprsk's Fortran, written as cumulative sums.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2

from .._deprecate import renamed, retired_call
from . import _competing_core as core
from . import _formula
from . import validate as V
from ._common import as_times, group_column, z_value
from ._competing_design import cause_codes
from ._fine_gray import FineGrayModel, fine_gray, finegray_expand
from .results import SummaryDisplay

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

_STATE_COLUMNS = ["group", "state", "time", "pstate", "std_err", "lower", "upper", "n_risk"]


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


def _stack(group, cols: dict, label_col: str, labels) -> pd.DataFrame:
    """The frame of the concatenated column pieces after `group`, the integer codes in
    `label_col` replaced by `labels`, ``n_risk`` as int64."""
    lab = np.empty(len(labels), dtype=object)
    lab[:] = list(labels)
    res = {"group": group}
    for name, pieces in cols.items():
        arr = np.concatenate(pieces) if pieces else np.empty(0)
        res[name] = lab[arr.astype(np.intp)] if name == label_col else arr
    df = pd.DataFrame(res)
    df["n_risk"] = df["n_risk"].astype(np.int64)
    return df


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

    @property
    def _levels(self) -> pd.Index | None:
        """The group levels for ``group_column`` (None when ungrouped)."""
        return None if self.by is None else self._index[1]

    # -- values at chosen times ----------------------------------------------------------
    def _evaluate(self, times) -> tuple[list, dict]:
        """Rows for summary(fit, times=): per group, the requested times not after the
        group's last time, each state's value at the last row <= t (the start values
        p0 = 1, CIF = 0, se = 0 before the first row)."""
        t = np.sort(as_times(times))
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
        df = _stack(group_column(self._levels, [m * K for m in counts]), cols, "cause",
                    self.causes)
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
            res = {"group": group_column(self._levels, sizes),
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
        return _stack(group_column(self._levels, gcounts), cols, "state", names)[_STATE_COLUMNS]

    # -- display ------------------------------------------------------------------------
    @property
    def summary(self) -> pd.DataFrame:
        """One row per (group, cause): ``n, n_event, time`` (last follow-up time) and the
        CIF there with its limits (a table attribute, as a model's ``summary``; the call
        ``summary()`` is retired)."""
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
        return retired_call(pd.DataFrame(rows, columns=["group", "cause", "n", "n_event",
                                                        "time", "cif", "lower", "upper"]),
                            "CumulativeIncidence.summary")

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
    z = z_value(alpha)
    if variance not in VARIANCES:
        raise ValueError(f"variance must be one of {', '.join(map(repr, VARIANCES))}; "
                         f"got {variance!r}")
    t, tmin, tmax = V.time_array(data, time)
    status, causes = cause_codes(data, cause, censored)
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
        "group": group_column(levels, sizes * K),
        "cause": cause_lab[np.repeat(cause_idx, rep)],
        "time": time_u[idx],
        "cif": cif, "std_err": se, "lower": lo, "upper": up,
        "n_risk": n_risk[idx],
        "n_event": n_event[idx, np.repeat(cause_idx, rep)],
        "n_censor": n_censor[idx],
    }, copy=False)
    event_free = pd.DataFrame({
        "group": group_column(levels, sizes),
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
    status, causes = cause_codes(data, cause, censored)
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
    status, causes = cause_codes(data, cause, censored)
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
