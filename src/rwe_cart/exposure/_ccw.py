"""Target-trial emulation by clone–censor–weight (CCW).

Public: :func:`ccw` (generic: one row per patient), :func:`ccw_cohort` (a CAR-T cohort,
allo-HSCT in remission), :func:`clone_censor` (the clones before weighting),
:class:`CCWResult`.

The emulated trial
------------------
At time zero every eligible patient is assigned to two strategies at once: **treat
within a grace period of G days** and **never treat**. Each patient is cloned into both
arms; a clone is censored when its own history stops being compatible with its arm
(the *artificial* censoring):

* never-treat arm: censored at the treatment, unless the endpoint came first (an event
  on the day of treatment counts, as the ``(start, stop]`` convention of R's ``tmerge``
  puts that day before the treatment);
* treat-within-G arm: censored at G when not treated by then, unless the endpoint or the
  end of follow-up came first. An event inside the grace period before the treatment is
  compatible with both strategies and counts in both arms.

The artificial censoring depends on who gets treated, so it is informative; inverse
probability of censoring weights (IPCW), from a model of the treatment hazard given
baseline covariates, rebuild in each arm the population that would have followed the
strategy (Hernán 2018; Maringe et al. 2020; Gaber et al. 2024). Weighted Kaplan–Meier
curves per arm then estimate survival under each strategy; their difference and ratio at
chosen horizons, and a weighted Cox hazard ratio (arm as the only covariate, clustered
on the patient), summarise the contrast. Confidence intervals come from a bootstrap of
*patients* (both clones together), re-running cloning, weight model and analysis in each
replicate, through :func:`rwe_cart.bootstrap` (identical on every backend).

Everything is vectorised: no Python loop over patients, clones or event times.
"""
from __future__ import annotations

import html
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from .._log import logger
from ..formatting import format_hr, format_p
from ..parallel import BootstrapResult, bootstrap
from ..survival import _validate as V
from ..survival.cox import CoxModel, NotEstimableError, cox
from ..survival.design import design_matrix
from ..survival.km import KaplanMeier, kaplan_meier, weighted_counts
from ._result import ExposureEstimate
from .rows import hsct_frame, require_hsct
__all__ = ["ccw", "ccw_cohort", "clone_censor", "CCWResult", "WEIGHT_MODELS"]

WEIGHT_MODELS = ("logistic", "cox")
ARMS = (0, 1)  # 0 = never treat, 1 = treat within the grace period

_ASSUMPTIONS = (
    "assumes no unmeasured confounding of treatment decisions given the weight-model "
    "covariates (exchangeability), positivity (every kind of patient could follow either "
    "strategy), a correct treatment model, and non-informative loss to follow-up; the "
    "treat-within-G arm follows the observed timing of treatment inside the grace period")


# ---------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)  # eq=False: DataFrames do not compare to a bool
class CCWResult:
    """Clone–censor–weight estimate of a treat-within-G vs never-treat trial.

    Attributes
    ----------
    table : pandas.DataFrame
        Every estimate, tidy: ``measure, arm, horizon, estimate, se, lower, upper, p``.
        Measures: ``hazard_ratio`` (treat vs never; horizon NaN; its ``se`` is that of
        log HR), ``survival`` (per arm),
        ``risk_difference`` (risk under treat-within-G minus risk under never-treat,
        risk = 1 − survival) and ``survival_ratio`` (treat / never) at each horizon.
        The hazard ratio's ``se``/``lower``/``upper``/``p`` follow ``hr_ci`` (robust
        sandwich by default, or percentile bootstrap). The other measures have bootstrap
        (percentile) limits when ``n_boot`` > 0; otherwise the IJ limits of the weighted
        Kaplan–Meier for survival, and NaN for the contrasts.
    km : KaplanMeier
        Weighted Kaplan–Meier curves, one per arm (groups in the order never, treat), on
        time since time zero; R's ``survfit(Surv(start, stop, event) ~ arm, weights = w,
        id = patient)`` with its infinitesimal-jackknife limits (weight estimation not
        accounted for). ``plot_km`` draws it.
    cox : CoxModel
        Weighted Cox model ``arm`` (1 = treat within G), robust SE clustered on patient.
    hr, lower, upper, p : float
        Hazard ratio treat vs never with its limits and p-value. ``hr_ci="sandwich"``
        (default): the robust (sandwich, clustered on patient) Cox limits and Wald
        p-value, which ignore that the weights are estimated. ``hr_ci="bootstrap"``:
        percentile limits, and the percentile-bootstrap test of HR = 1,
        p = 2 (k + 1) / (B + 1) with k the smaller number of replicates of log HR on
        either side of 0 (so p < 0.05 goes with limits that exclude 1).
    contrasts : pandas.DataFrame
        ``horizon, survival_never, survival_treat, risk_difference, survival_ratio`` and
        the limits ``*_lower``/``*_upper`` of each (one row per horizon).
    weights : pandas.DataFrame
        Weight summaries per arm and overall: ``arm, rows, mean, sd, min, median, max,
        n_truncated, truncated_below, truncated_above`` (over the clone rows).
    counts : pandas.DataFrame
        Per arm: ``arm, clones, events, artificially_censored, censored`` (patients).
    clones : pandas.DataFrame
        The weighted clone rows the curves and the Cox model were fitted on: ``patient,
        id, arm, start, stop, event, weight, weight_raw, artificial`` (times since time
        zero; ``artificial`` marks a row ending in artificial censoring).
    weight_model : dict
        ``kind`` ("logistic" or "cox"), the fitted treatment models (``model`` with the
        covariates, ``numerator`` without, for stabilised weights), ``covariates``,
        ``dropped`` (constant columns), ``n_treated``, ``note``.
    bootstrap : BootstrapResult or None
        The patient bootstrap (term names ``log_hr``, ``surv_never_<h>``,
        ``surv_treat_<h>``, ``rd_<h>``, ``ratio_<h>``).
    excluded : pandas.DataFrame
        ``id, reason`` of the rows not eligible at time zero.
    n, events : int
        Eligible patients and their endpoint events (patients, not clones).
    options : dict
        ``grace, horizons, weight_model, stabilized, truncate, interval, n_boot, seed,
        alpha, labels, time_zero``.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> frame = rc.exposure.hsct_frame(rc.datasets.rocca_like(), "PFS", population="responders",
    ...                                delayed_entry=False)
    >>> frame = frame.assign(time=frame["time"] - frame["t_response"],
    ...                      t_treat=frame["t_hsct_remission"] - frame["t_response"])
    >>> res = rc.ccw(frame, id="patient_id", time="time", event="event", treat_time="t_treat",
    ...              grace=120, horizons=[365], n_boot=0)
    >>> res.labels
    ('never treated', 'treated within 120 days')
    >>> res.table.query("measure == 'survival'")[["arm", "horizon", "estimate"]].round(3)
                           arm  horizon  estimate
    1            never treated    365.0     0.530
    2  treated within 120 days    365.0     0.693
    >>> res.counts.columns.tolist()
    ['arm', 'clones', 'events', 'artificially_censored', 'censored']
    """

    table: pd.DataFrame
    km: KaplanMeier
    cox: CoxModel
    hr: float
    lower: float
    upper: float
    p: float
    contrasts: pd.DataFrame
    weights: pd.DataFrame
    counts: pd.DataFrame
    clones: pd.DataFrame
    weight_model: dict
    bootstrap: BootstrapResult | None
    excluded: pd.DataFrame
    n: int
    events: int
    options: dict = field(default_factory=dict)

    @property
    def labels(self) -> tuple[str, str]:
        """Arm labels (never, treat), as the groups of ``km``."""
        return tuple(self.options["labels"])

    @property
    def hr_ci_words(self) -> str:
        """How the hazard ratio's interval was made, in words."""
        return ("percentile bootstrap" if self.options["hr_ci"] == "bootstrap"
                else "robust sandwich")

    def _header(self) -> str:
        o = self.options
        ci = (f"HR {self.hr_ci_words}; curves and contrasts: bootstrap of patients, {o['n_boot']} "
              "replicates" if o["n_boot"] else "robust / IJ limits (no bootstrap)")
        trunc = o["truncate"] if o["truncate"] is not None else "none"
        return (f"Clone–censor–weight: {self.labels[1]} vs {self.labels[0]}; "
                f"{self.n} patients, {self.events} events; weights: {o['weight_model']} "
                f"treatment model ({'stabilised' if o['stabilized'] else 'unstabilised'}, "
                f"truncation {trunc}); CI: {ci}")

    def __repr__(self) -> str:
        hr = f"HR {format_hr(self.hr, self.lower, self.upper)}, p = {format_p(self.p)}"
        body = self.contrasts.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        return f"{self._header()}\n{hr}\n{body}"

    def _repr_html_(self) -> str:
        head = html.escape(self._header())
        hr = f"HR {format_hr(self.hr, self.lower, self.upper)}, p = {format_p(self.p)}"
        return (f"<p><b>{head}</b><br>{html.escape(hr)}</p>"
                + self.table.to_html(index=False, float_format="{:.4g}".format, na_rep="")
                + "<p>Weights</p>"
                + self.weights.to_html(index=False, float_format="{:.3g}".format))


# ---------------------------------------------------------------------------------------
# Input preparation
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Patients:
    """Validated, eligible patients on the data's clock (arrays trust each other)."""

    ids: np.ndarray        # original identifiers
    T: np.ndarray          # end of follow-up
    D: np.ndarray          # 0/1 event at T
    A: np.ndarray          # treatment time (NaN: not treated during follow-up)
    E: np.ndarray          # time zero
    X: np.ndarray          # n × p numeric design
    names: tuple           # design column names


def _design(data: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Numeric design matrix of the weight models, by the package's one design rule."""
    for name in covariates:
        miss = data[name].isna().to_numpy()
        if miss.any():
            k = int(miss.sum())
            raise ValueError(f"covariate {name!r} has {k} missing value{'s' if k != 1 else ''}"
                             f" ({V.describe_rows(data, miss)}); the weight model needs it "
                             "for every eligible patient")
    if not covariates:
        return np.empty((len(data), 0)), []
    # constant columns are dropped (and listed) by the weight models themselves
    X, names, _, _ = design_matrix(data, covariates, constant="keep")
    return X, names


def _prepare(data, id, time, event, treat_time, eligible_time, covariates):
    cols = [("id", id), ("time", time), ("event", event), ("treat_time", treat_time)]
    if isinstance(eligible_time, str):
        cols.append(("eligible_time", eligible_time))
    cols += [("covariates", c) for c in covariates]
    V.check_frame(data, cols)
    if len(set(covariates)) != len(covariates):
        raise ValueError(f"covariates lists a column twice: {list(covariates)}")
    ids = data[id]
    if ids.isna().any():
        bad = ids.isna().to_numpy()
        raise ValueError(f"column {id!r} has missing ids ({V.describe_rows(data, bad)})")
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        shown = ", ".join(map(str, pd.unique(ids[dup])[:5]))
        raise ValueError(f"column {id!r} must identify one row per patient; {int(dup.sum())} "
                         f"rows share ids ({shown}); CCW clones each patient itself")
    T, _, _ = V.time_array(data, time, allow_negative=True)
    T = T.astype(np.float64)
    D = V.event_array(data, event)
    col = data[treat_time]
    if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        raise ValueError(f"column {treat_time!r} must hold numeric times (NaN: never "
                         f"treated), got dtype {col.dtype}")
    A = col.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(A).any():
        bad = np.isinf(A)
        raise ValueError(f"column {treat_time!r} has infinite values "
                         f"({V.describe_rows(data, bad)}); use NaN for never treated")
    if isinstance(eligible_time, str):
        E, _, _ = V.time_array(data, eligible_time, what="eligibility times",
                               allow_negative=True)
        E = E.astype(np.float64)
    else:
        if not np.isfinite(eligible_time):
            raise ValueError(f"eligible_time must be a column name or a finite number, got "
                             f"{eligible_time!r}")
        E = np.full(len(data), float(eligible_time))
    reasons = np.full(len(data), None, dtype=object)
    reasons[~(T > E)] = "no follow-up after time zero (event or censoring on or before it)"
    early = ~np.isnan(A) & (A <= E) & (T > E)
    reasons[early] = "treated on or before time zero"
    keep = np.array([r is None for r in reasons])
    excluded = pd.DataFrame({"id": ids.to_numpy()[~keep], "reason": reasons[~keep]})
    if not keep.any():
        raise NotEstimableError("no patient is eligible: every patient's follow-up ends, or "
                         "treatment starts, on or before time zero")
    sub = data.loc[keep] if not keep.all() else data
    X, names = _design(sub, list(covariates))
    # a treatment after the end of follow-up was not observed during it
    A = np.where(A > T, np.nan, A)
    pts = _Patients(ids=ids.to_numpy()[keep], T=T[keep], D=D[keep].astype(np.float64),
                    A=A[keep], E=E[keep], X=X, names=tuple(names))
    return pts, excluded


# ---------------------------------------------------------------------------------------
# Cloning and artificial censoring
# ---------------------------------------------------------------------------------------
def _treated_obs(p: _Patients) -> np.ndarray:
    """Treatment seen during follow-up and not after the endpoint: a treatment on the
    day of an event comes after it (tmerge's convention)."""
    A = p.A
    return ~np.isnan(A) & ((A < p.T) | ((A == p.T) & (p.D == 0)))


def _clone_arrays(p: _Patients, grace: float) -> dict[str, np.ndarray]:
    """One clone per patient and arm: stop (since time zero), event, artificial."""
    treated = _treated_obs(p)
    # never-treat arm: censored at the treatment
    stop0 = np.where(treated, p.A, p.T) - p.E
    event0 = np.where(treated, 0.0, p.D)
    art0 = treated
    # treat-within-G arm: censored at G when untreated by then (endpoint first: counts)
    deadline = p.E + grace
    on_time = ~np.isnan(p.A) & (p.A <= deadline)
    late = ~on_time & (p.T > deadline)
    stop1 = np.where(late, grace, p.T - p.E)
    event1 = np.where(late, 0.0, p.D)
    return {"stop0": stop0, "event0": event0, "art0": art0, "stop1": stop1,
            "event1": event1, "art1": late, "on_time": on_time, "treated": treated}


def clone_censor(data: pd.DataFrame, *, id: str, time: str, event: str, treat_time: str,
                 grace: float, eligible_time: str | float = 0) -> pd.DataFrame:
    """The cloned and artificially censored data, before weighting (one row per clone).

    Parameters
    ----------
    data, id, time, event, treat_time, eligible_time, grace
        As :func:`ccw`.

    Returns
    -------
    pandas.DataFrame
        ``id, arm`` (0 = never treat, 1 = treat within `grace`), ``stop`` (time since
        time zero), ``event``, ``artificial`` (True when the clone was censored for
        deviating from its arm), ``treated_in_grace``. Clones with no follow-up (a
        treatment at time zero in the never-treat arm) are dropped. ``attrs["excluded"]``
        lists the patients not eligible at time zero.

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> df = pd.DataFrame({"id": [1, 2, 3], "time": [300.0, 50.0, 200.0], "event": [0, 1, 1],
    ...                    "t_treat": [60.0, None, 150.0]})
    >>> clones = rc.clone_censor(df, id="id", time="time", event="event", treat_time="t_treat",
    ...                          grace=90)
    >>> clones
       id  arm   stop  event  artificial  treated_in_grace
    0   1    0   60.0      0        True              True
    1   2    0   50.0      1       False             False
    2   3    0  150.0      0        True             False
    3   1    1  300.0      0       False              True
    4   2    1   50.0      1       False             False
    5   3    1   90.0      0        True             False
    """
    _check_grace(grace)
    p, excluded = _prepare(data, id, time, event, treat_time, eligible_time, ())
    c = _clone_arrays(p, float(grace))
    n = p.T.size
    out = pd.DataFrame({
        "id": np.concatenate([p.ids, p.ids]),
        "arm": np.repeat(np.array([0, 1], dtype=np.int64), n),
        "stop": np.concatenate([c["stop0"], c["stop1"]]),
        "event": np.concatenate([c["event0"], c["event1"]]).astype(np.int64),
        "artificial": np.concatenate([c["art0"], c["art1"]]),
        "treated_in_grace": np.concatenate([c["on_time"], c["on_time"]]),
    })
    out = out[out["stop"] > 0].reset_index(drop=True)
    out.attrs["excluded"] = excluded
    return out


# ---------------------------------------------------------------------------------------
# Treatment (censoring) models
# ---------------------------------------------------------------------------------------
def _split(s: np.ndarray, e: np.ndarray, cuts: list[np.ndarray] | None = None, *,
           grid: tuple | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split intervals (s, e] at cut points strictly inside them.

    Cut points are either one sorted global array (``cuts=[tau]``) or, with
    ``grid=(origin, step, lo, hi)``, every ``origin + k*step`` (k >= 1) in ``[lo, hi)``
    (per-interval origin). Returns (row index, piece start, piece stop), pieces in order.
    """
    if grid is None:
        tau = cuts[0]
        lo_i = np.searchsorted(tau, s, side="right")
        hi_i = np.searchsorted(tau, e, side="left")
        k = np.maximum(hi_i - lo_i, 0)
    else:
        origin, step, lo, hi = grid
        # cuts origin + k*step with k >= 1, > s, >= lo, < e and < hi
        ka = np.floor((s - origin) / step) + 1
        ka = np.where(origin + ka * step <= s, ka + 1, ka)        # guard rounding
        kb = np.ceil((lo - origin) / step)
        first = np.maximum(np.maximum(ka, kb), 1)
        last = np.ceil((np.minimum(e, hi) - origin) / step) - 1
        k = np.maximum(last - first + 1, 0).astype(np.intp)
    n_piece = k + 1
    row = np.repeat(np.arange(s.size), n_piece)
    offset = np.arange(row.size) - np.repeat(np.cumsum(n_piece) - n_piece, n_piece)
    # cut j of a row (0-based) sits before piece j + 1
    if grid is None:
        cut_val = tau[np.minimum(np.repeat(lo_i, n_piece) + offset - 1, tau.size - 1)] \
            if tau.size else np.zeros(row.size)
    else:
        cut_val = origin[row] + (np.repeat(first, n_piece) + offset - 1) * step
    is_first = offset == 0
    is_last = offset == n_piece[row] - 1
    start = np.where(is_first, s[row], cut_val)
    nxt = np.empty(row.size)
    nxt[:-1] = start[1:]
    nxt[-1] = 0.0
    stop = np.where(is_last, e[row], nxt)
    return row, start, stop


def _drop_constant(X: np.ndarray, names: Sequence[str], rows: np.ndarray | None = None):
    Xs = X if rows is None else X[rows]
    if Xs.shape[1] == 0:
        return np.arange(0), []
    keep = np.array([np.ptp(Xs[:, j]) > 0 for j in range(Xs.shape[1])], dtype=bool)
    return np.flatnonzero(keep), [n for n, k in zip(names, keep, strict=True) if not k]


@dataclass(eq=False)
class _CoxTreatment:
    """Cox model of the treatment hazard (data clock, delayed entry at time zero)."""

    model: Any            # CoxModel or None (no covariates: Nelson–Aalen)
    times: np.ndarray     # jump times of the baseline cumulative hazard
    cumhaz: np.ndarray    # baseline cumulative hazard at `times` (at the centring)
    lp: np.ndarray        # per patient (x - means) beta
    E: np.ndarray

    def log_k(self, idx: np.ndarray, s: np.ndarray) -> np.ndarray:
        """log P(untreated through s | untreated at time zero, x) for patients idx."""
        h_s = _step(self.times, self.cumhaz, s)
        h_e = _step(self.times, self.cumhaz, self.E[idx])
        return -(h_s - h_e) * np.exp(self.lp[idx])

    def cuts(self) -> dict:
        return {"cuts": [self.times]}


def _step(times: np.ndarray, values: np.ndarray, s: np.ndarray) -> np.ndarray:
    i = np.searchsorted(times, s, side="right") - 1
    return np.where(i >= 0, values[np.maximum(i, 0)], 0.0)


def _fit_cox_treatment(p: _Patients, use: np.ndarray | None) -> _CoxTreatment:
    """Treatment hazard by Cox (Efron), or Nelson–Aalen when there are no covariates."""
    treated = _treated_obs(p)
    stop = np.where(treated, p.A, p.T)
    cols = use if use is not None else np.arange(0)
    if cols.size == 0:
        time, n_risk, n_event, _, _, _ = weighted_counts(
            stop, treated.astype(np.float64), p.E, np.ones(stop.size))
        has = n_event > 0
        return _CoxTreatment(None, time[has], np.cumsum(n_event[has] / n_risk[has]),
                             np.zeros(stop.size), p.E)
    names = [f"x{j}" for j in range(cols.size)]
    frame = pd.DataFrame(p.X[:, cols], columns=names)
    frame["start"], frame["stop"], frame["treated"] = p.E, stop, treated.astype(np.int64)
    model = cox(frame, time="stop", start="start", event="treated", covariates=names,
                robust=False)
    base = model.baseline_hazard(centered=True)
    jumps = np.diff(np.concatenate(([0.0], base["cumhaz"].to_numpy()))) > 0
    beta = model.coef.to_numpy()
    lp = (p.X[:, cols] - model.means.to_numpy()) @ beta
    return _CoxTreatment(model, base["time"].to_numpy()[jumps],
                         base["cumhaz"].to_numpy()[jumps], lp, p.E)


@dataclass(eq=False)
class _LogisticTreatment:
    """Pooled logistic model of the treatment probability per interval of `step` days
    from each patient's time zero; piecewise-constant time effect on the data clock."""

    model: Any            # statsmodels GLMResults or None (no treatment)
    step: float
    t_first: float
    t_last: float
    edges: np.ndarray     # bin edges (data clock) of the time effect
    alpha: np.ndarray     # logit per time bin
    lp: np.ndarray        # per patient x beta
    E: np.ndarray
    note: str = ""

    def prob(self, idx: np.ndarray, start: np.ndarray) -> np.ndarray:
        """P(treated in the interval starting at `start` | untreated at its start)."""
        rel = (start < self.t_last) & (start + self.step >= self.t_first)
        b = np.searchsorted(self.edges, start, side="right")
        return np.where(rel, expit(self.alpha[b] + self.lp[idx]), 0.0)

    def log_k(self, idx: np.ndarray, s: np.ndarray) -> np.ndarray:
        """log P(untreated through s | untreated at time zero): whole intervals before
        s, and the interval holding s in proportion (geometric interpolation)."""
        u = (s - self.E[idx]) / self.step
        n_full = np.floor(u + 1e-12)
        frac = np.clip(u - n_full, 0.0, 1.0)
        kmax = int(n_full.max()) + 1 if n_full.size else 0
        k = np.arange(kmax)
        starts = self.E[idx][:, None] + k[None, :] * self.step
        lp = np.broadcast_to(idx[:, None], starts.shape)
        pr = self.prob(lp.ravel(), starts.ravel()).reshape(starts.shape)
        with np.errstate(divide="ignore"):
            lq = np.log1p(-pr)
        whole = np.where(k[None, :] < n_full[:, None], lq, 0.0).sum(axis=1)
        part_k = np.minimum(n_full.astype(np.intp), kmax - 1)
        part = lq[np.arange(idx.size), part_k] if kmax else np.zeros(idx.size)
        return whole + np.where(n_full < kmax, frac * part, 0.0)

    def cuts(self) -> dict:
        return {"grid": (self.step, self.t_first - self.step, self.t_last + self.step)}


def _fit_logistic_treatment(p: _Patients, use: np.ndarray | None, step: float,
                            n_bins: int | None = None) -> _LogisticTreatment:
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import (ConvergenceWarning, DomainWarning,
                                                 PerfectSeparationWarning)

    treated = _treated_obs(p)
    end = np.where(treated, p.A, p.T)
    cols = use if use is not None else np.arange(0)
    n = end.size
    if not treated.any():
        return _LogisticTreatment(None, step, np.inf, -np.inf, np.array([]), np.zeros(1),
                                  np.zeros(n), p.E, "no treatment observed")
    t_first, t_last = float(p.A[treated].min()), float(p.A[treated].max())
    row, s, e = _split(p.E, end, grid=(p.E, step, t_first - step, t_last + step))
    rel = (s < t_last) & (e >= t_first)
    last = np.ones(row.size, dtype=bool)
    last[:-1] = row[1:] != row[:-1]
    y = (last & treated[row]).astype(np.float64)
    row, s, y = row[rel], s[rel], y[rel]
    if n_bins is None:
        n_bins = int(min(6, max(1, treated.sum() // 10)))
    qs = np.quantile(s[y == 1], np.linspace(0, 1, n_bins + 1)[1:-1]) if n_bins > 1 \
        else np.array([])
    edges = np.unique(qs)
    b = np.searchsorted(edges, s, side="right")
    present = np.unique(b)
    # The likelihood only depends on (time bin, covariates): intervals of one patient in
    # one bin are binomial trials with the same design row. Aggregating them (then equal
    # rows across patients) gives the same fit as the person-interval rows, much faster.
    nb = edges.size + 1
    key = row * nb + b
    ukey, inv = np.unique(key, return_inverse=True)
    trials = np.bincount(inv).astype(np.float64)
    succ = np.bincount(inv, weights=y)
    g_row, g_bin = ukey // nb, ukey % nb
    B = (g_bin[:, None] == present[None, :]).astype(np.float64)
    # one column per time bin (no intercept): every bin has a treatment by construction
    Xd = np.column_stack([B, p.X[g_row][:, cols]]) if cols.size else B
    grp = pd.DataFrame(Xd).groupby(list(range(Xd.shape[1])), sort=False).ngroup().to_numpy()
    first = np.unique(grp, return_index=True)[1]
    Xd = Xd[first]
    trials = np.bincount(grp, weights=trials)
    succ = np.bincount(grp, weights=succ)
    endog = np.column_stack([succ, trials - succ])
    note = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = sm.GLM(endog, Xd, family=sm.families.Binomial(), hasconst=True).fit(maxiter=100)
    odd = [w for w in caught if issubclass(w.category, (ConvergenceWarning, DomainWarning,
                                                         PerfectSeparationWarning,
                                                         RuntimeWarning))]
    if odd:
        note = "weight model: " + "; ".join(sorted({str(w.message)[:80] for w in odd}))
    params = np.asarray(fit.params, dtype=np.float64)
    alpha = np.full(edges.size + 1, -np.inf)
    alpha[present] = params[:present.size]
    # a bin without person-time (possible only between data points): nearest bin's value
    if np.isinf(alpha).any():
        ok = np.flatnonzero(np.isfinite(alpha))
        for j in np.flatnonzero(~np.isfinite(alpha)):  # at most a handful of bins
            alpha[j] = alpha[ok[np.argmin(np.abs(ok - j))]]
    beta = params[present.size:]
    lp = p.X[:, cols] @ beta if cols.size else np.zeros(n)
    return _LogisticTreatment(fit, step, t_first, t_last, edges, alpha, lp, p.E, note)


def _fit_treatment(kind: str, p: _Patients, use, step):
    if kind == "cox":
        return _fit_cox_treatment(p, use)
    return _fit_logistic_treatment(p, use, step)


# ---------------------------------------------------------------------------------------
# Weighted clone rows
# ---------------------------------------------------------------------------------------
def _weighted_rows(p: _Patients, grace: float, model, numer, stabilized: bool,
                   truncate) -> dict[str, np.ndarray]:
    """Clone rows on time since time zero with their IPC weights."""
    c = _clone_arrays(p, grace)
    n = p.T.size
    # never-treat arm: 1 / P(untreated through the piece's start), split where it changes
    keep0 = c["stop0"] > 0
    idx0 = np.flatnonzero(keep0)
    s0, e0 = p.E[idx0], p.E[idx0] + c["stop0"][idx0]
    cuts = model.cuts()
    if "grid" in cuts:
        step, lo, hi = cuts["grid"]
        r0, ps, pe = _split(s0, e0, grid=(p.E[idx0], step, lo, hi))
    else:
        r0, ps, pe = _split(s0, e0, cuts["cuts"])
    pid0 = idx0[r0]
    if isinstance(model, _LogisticTreatment):
        # K at a piece's start = product over the intervals that ended before it
        logk = _cum_before(pid0, model, ps)
        logk_num = _cum_before(pid0, numer, ps) if stabilized else 0.0
    else:
        logk = model.log_k(pid0, ps)
        logk_num = numer.log_k(pid0, ps) if stabilized else 0.0
    w0 = np.exp(logk_num - logk)
    last0 = np.ones(pid0.size, dtype=bool)
    last0[:-1] = pid0[1:] != pid0[:-1]
    ev0 = np.where(last0, c["event0"][pid0], 0.0)
    art_row0 = last0 & c["art0"][pid0]
    # treat-within-G arm: 1 up to G, then 1 / P(treated by G) for the compliant clones
    deadline = p.E + grace
    split1 = c["stop1"] > grace          # only compliant clones are followed past G
    idx1 = np.concatenate([np.arange(n), np.flatnonzero(split1)])
    second = np.concatenate([np.zeros(n, dtype=bool), np.ones(int(split1.sum()), dtype=bool)])
    order = np.lexsort((second, idx1))
    idx1, second = idx1[order], second[order]
    st1 = np.where(second, grace, 0.0)
    sp1 = np.where(second | ~split1[idx1], c["stop1"][idx1], grace)
    w1 = np.ones(idx1.size)
    if second.any():
        ids2 = idx1[second]
        pk = -np.expm1(model.log_k(ids2, deadline[ids2]))
        w = 1.0 / pk
        if stabilized:
            w = w * -np.expm1(numer.log_k(ids2, deadline[ids2]))
        w1[second] = w
    last1 = second | ~split1[idx1]
    ev1 = np.where(last1, c["event1"][idx1], 0.0)
    art_row1 = last1 & c["art1"][idx1]
    pid = np.concatenate([pid0, idx1])
    arm = np.concatenate([np.zeros(pid0.size, np.int64), np.ones(idx1.size, np.int64)])
    start = np.concatenate([ps - p.E[pid0], st1])
    stop = np.concatenate([pe - p.E[pid0], sp1])
    weight_raw = np.concatenate([w0, w1])
    bad = ~np.isfinite(weight_raw) | (weight_raw <= 0)
    if bad.any():
        raise NotEstimableError(f"{int(bad.sum())} clone rows got a weight that is not a positive "
                         "number (a predicted probability of following the strategy of 0): "
                         "a positivity problem; simplify the weight model or truncate")
    weight, lo_hi, n_trunc = _truncate(weight_raw, truncate)
    return {"pid": pid, "arm": arm, "start": start, "stop": stop,
            "event": np.concatenate([ev0, ev1]), "weight": weight,
            "weight_raw": weight_raw, "artificial": np.concatenate([art_row0, art_row1]),
            "bounds": lo_hi, "n_truncated": n_trunc, "clones": c}


def _cum_before(pid: np.ndarray, model: _LogisticTreatment, ps: np.ndarray) -> np.ndarray:
    """log K at each piece's start for the pooled-logistic model: the sum of
    log(1 − p) over the patient's earlier pieces (each piece is one interval, or a run of
    intervals where p = 0)."""
    pr = model.prob(pid, ps)
    # pieces that are runs of several intervals have p = 0 throughout (outside the
    # treatment window), so their value from the first interval is exact
    lq = np.log1p(-pr)
    cs = np.cumsum(lq)
    first = np.ones(pid.size, dtype=bool)
    first[1:] = pid[1:] != pid[:-1]
    grp_start = np.maximum.accumulate(np.where(first, np.arange(pid.size), 0))
    before = cs - lq                                   # exclusive cumulative sum
    return before - (cs[grp_start] - lq[grp_start])


def _truncate(w: np.ndarray, truncate) -> tuple[np.ndarray, tuple, int]:
    if truncate is None:
        return w, (np.nan, np.nan), 0
    lo_q, hi_q = truncate
    lo = np.percentile(w, lo_q) if lo_q is not None else -np.inf
    hi = np.percentile(w, hi_q) if hi_q is not None else np.inf
    out = np.clip(w, lo, hi)
    return out, (float(lo) if np.isfinite(lo) else np.nan,
                 float(hi) if np.isfinite(hi) else np.nan), int(np.sum(out != w))


def _check_truncate(truncate):
    if truncate is None:
        return None
    if isinstance(truncate, (int, float, np.integer, np.floating)) and not isinstance(
            truncate, bool):
        pair = (None, float(truncate)) if truncate > 50 else (float(truncate), None)
    else:
        try:
            lo, hi = truncate
        except (TypeError, ValueError):
            raise ValueError(f"truncate must be None, a percentile (e.g. 99) or a pair "
                             f"(e.g. (1, 99)), got {truncate!r}") from None
        pair = (None if lo is None else float(lo), None if hi is None else float(hi))
    for q in pair:
        if q is not None and not 0 <= q <= 100:
            raise ValueError(f"truncation percentiles must be in [0, 100], got {truncate!r}")
    if pair[0] is not None and pair[1] is not None and pair[0] >= pair[1]:
        raise ValueError(f"truncate=(lower, upper) needs lower < upper, got {truncate!r}")
    return pair


# ---------------------------------------------------------------------------------------
# One analysis (also the bootstrap statistic)
# ---------------------------------------------------------------------------------------
def _fit_models(p: _Patients, kind: str, step: float, stabilized: bool):
    use, dropped = _drop_constant(p.X, p.names)
    model = _fit_treatment(kind, p, use, step)
    numer = _fit_treatment(kind, p, None, step) if stabilized else None
    return model, numer, dropped


def _curve_at(stop, event, start, w, horizons):
    """Weighted KM of one arm at the horizons (no variance): the bootstrap's fast path."""
    time, n_risk, n_event, _, _, _ = weighted_counts(stop, event, start, w)
    has = n_event > 0
    surv = np.cumprod(1.0 - np.where(has, n_event / np.where(has, n_risk, 1.0), 0.0))
    i = np.searchsorted(time, horizons, side="right") - 1
    val = np.where(i >= 0, surv[np.maximum(i, 0)], 1.0)
    return np.where(horizons > time[-1], np.nan, val)


def _outcome_cox(rows: dict, robust: bool):
    frame = pd.DataFrame({"start": rows["start"], "stop": rows["stop"],
                          "event": rows["event"].astype(np.int64), "arm": rows["arm"],
                          "weight": rows["weight"], "patient": rows["pid"]})
    # timefix=False: the clone rows are split at computed times (time zero + k * interval,
    # G); merging near-equal ones could leave an empty interval
    if robust:
        return cox(frame, time="stop", start="start", event="event", covariates=["arm"],
                   weights="weight", cluster="patient", timefix=False)
    return cox(frame, time="stop", start="start", event="event", covariates=["arm"],
               weights="weight", robust=False, timefix=False)


def _terms(horizons: np.ndarray) -> list[str]:
    out = ["log_hr"]
    for h in horizons:
        out += [f"surv_never_{h:g}", f"surv_treat_{h:g}", f"rd_{h:g}", f"ratio_{h:g}"]
    return out


def _estimates(rows: dict, horizons: np.ndarray, log_hr: float) -> np.ndarray:
    vals = [log_hr]
    arm = rows["arm"]
    s = {}
    for a in ARMS:
        m = arm == a
        s[a] = _curve_at(rows["stop"][m], rows["event"][m], rows["start"][m],
                         rows["weight"][m], horizons)
    for j in range(horizons.size):
        s0, s1 = s[0][j], s[1][j]
        vals += [s0, s1, s0 - s1, s1 / s0 if s0 > 0 else np.nan]
    return np.asarray(vals, dtype=np.float64)


def _patients_from_frame(frame: pd.DataFrame, names: tuple) -> _Patients:
    X = frame[list(names)].to_numpy(dtype=np.float64) if names else \
        np.empty((len(frame), 0))
    return _Patients(ids=np.arange(len(frame)), T=frame["_T"].to_numpy(),
                     D=frame["_D"].to_numpy(), A=frame["_A"].to_numpy(),
                     E=frame["_E"].to_numpy(), X=X, names=names)


def _boot_statistic(frame: pd.DataFrame, *, names, grace, kind, step, stabilized, truncate,
                    horizons) -> pd.Series:
    p = _patients_from_frame(frame, names)
    model, numer, _ = _fit_models(p, kind, step, stabilized)
    rows = _weighted_rows(p, grace, model, numer, stabilized, truncate)
    log_hr = float(_outcome_cox(rows, robust=False).coef.iloc[0])
    return pd.Series(_estimates(rows, horizons, log_hr), index=_terms(horizons))


# ---------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------
def _check_grace(grace) -> None:
    if isinstance(grace, bool) or not isinstance(grace, (int, float, np.integer, np.floating)) \
            or not np.isfinite(grace) or grace <= 0:
        raise ValueError(f"grace must be a positive number of days, got {grace!r}")


def ccw(data: pd.DataFrame, *, id: str, time: str, event: str, treat_time: str,
        grace: float, eligible_time: str | float = 0, covariates: Sequence[str] = (),
        horizons: Sequence[float] = (365.0,),
        weight_model: Literal["logistic", "cox"] = "logistic", stabilized: bool = True,
        truncate: float | tuple | None = None, interval: float = 7.0, n_boot: int = 200,
        seed: int = 20240630, backend: Literal["sequential", "joblib", "dask"] | None = None,
        n_jobs: int = -1, alpha: float = 0.05, max_failed: float = 0.05,
        progress: bool = False, labels: tuple[str, str] | None = None,
        time_zero: str = "time zero",
        hr_ci: Literal["sandwich", "bootstrap"] = "sandwich") -> CCWResult:
    """Emulate a trial of *treat within a grace period* vs *never treat* by CCW.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient.
    id : str
        Patient identifier (unique).
    time, event : str
        End of follow-up and the 0/1 endpoint event, on the data's clock.
    treat_time : str
        Time treatment started on the same clock; NaN if never (a value after ``time``
        counts as not treated during follow-up).
    grace : float
        Grace period G (days from time zero) within which the treat arm starts treatment.
    eligible_time : str or float
        Time zero of each patient on the data's clock (a column, or one number for all):
        when the eligibility criteria are met and both strategies are assigned. Patients
        whose follow-up ends on or before it, or who were treated on or before it, are not
        eligible (``.excluded``).
    covariates : sequence of str
        Baseline covariates of the treatment (artificial-censoring) model; numeric, bool or
        categorical (indicators of every level but the first).
    horizons : sequence of float
        Times since time zero for survival, risk difference and survival ratio.
    weight_model : {"logistic", "cox"}
        Treatment hazard model. ``"logistic"``: pooled logistic regression (statsmodels
        GLM) on person-intervals of `interval` days from time zero, with a
        piecewise-constant time effect on the data clock (up to six bins holding equal
        numbers of treatments) plus the covariates. ``"cox"``: Cox model (Efron) of the
        time to treatment on the data clock with delayed entry at time zero; the baseline
        cumulative hazard (Breslow–Efron) gives P(untreated through t | x).
    stabilized : bool
        Multiply each weight by the same probability from the model without covariates.
    truncate : float, (float, float) or None
        Truncate the weights at percentiles of their distribution over the clone rows:
        ``99`` caps at the 99th percentile, ``(1, 99)`` also raises the smallest.
    interval : float
        Interval length (days) of the pooled logistic model.
    n_boot : int
        Bootstrap replicates (patients resampled, both clones together; 0: none).
    seed, backend, n_jobs, progress, max_failed
        Passed to :func:`rwe_cart.bootstrap`: the same seed gives the same
        intervals on every backend.
    alpha : float
        1 − confidence level.
    labels : (str, str), optional
        Names of the never-treat and treat-within-G arms (``km`` groups).
    time_zero : str
        Words for time zero, used in the result's description.
    hr_ci : {"sandwich", "bootstrap"}
        Interval and p-value of the hazard ratio: the robust sandwich of the weighted Cox
        model (clustered on patient; default) or the percentile bootstrap (needs
        ``n_boot``). The survival and contrast limits at the horizons are bootstrap
        limits whenever ``n_boot`` > 0. In the package's simulation study (n = 400,
        500 cohorts) the sandwich interval covered 94.4% under both no effect and an
        effect; the percentile interval with B = 200 covered 91.8% and 93.0%
        (``studies/README.md``).

    Returns
    -------
    CCWResult

    Notes
    -----
    Cloning and censoring (times since time zero): the never-treat clone follows the
    patient until the treatment (censored there; an event on the treatment day counts)
    or the end of follow-up. The treat-within-G clone is censored at G if the patient was
    untreated then and still event-free and followed; an event, or the end of follow-up,
    inside the grace period counts in both arms.

    Weights: K(t | x) = P(untreated through t | untreated and event-free at time zero, x)
    from the treatment model (cause-specific: an endpoint event ends the risk of
    treatment). A never-treat clone at risk at t weighs 1/K(t− | x); a treat-within-G
    clone weighs 1 until G and, if treated by G, 1/(1 − K(G | x)) after it (the
    probability of being treated within the grace period). Stabilised weights multiply
    by the same quantities without covariates. Rows are split wherever K changes
    (every treatment time for Cox, every interval end inside the window of treatment
    times for the logistic model), so the weights are exact step functions.

    The treat-within-G arm is a strategy whose treatment *timing* inside the grace period
    follows the observed timing given x; with a short grace period it approaches "treat
    at G", with a long one it depends on when treatment is usually given.

    References
    ----------
    .. [1] Hernán MA. How to estimate the effect of treatment duration on survival
           outcomes using observational data. BMJ. 2018;360:k182.
    .. [2] Maringe C, Benitez Majano S, Exarchakou A, et al. Reflection on modern methods:
           trial emulation in the presence of immortal-time bias. Int J Epidemiol.
           2020;49:1719-1729.
    .. [3] Gaber CE, Ghazarian AA, Strassle PD, et al. De-mystifying the clone-censor-
           weight method for causal research using observational data: a primer for
           cancer researchers. Cancer Med. 2024;13:e70461.
    .. [4] Cain LE, Robins JM, Lanoy E, et al. When to start treatment? A systematic
           approach to the comparison of dynamic regimes using observational data. Int J
           Biostat. 2010;6:Article 18.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> frame = rc.exposure.hsct_frame(rc.datasets.rocca_like(), "PFS", population="responders",
    ...                                columns=["mrd_negative", "age"], delayed_entry=False)
    >>> frame = frame.assign(time=frame["time"] - frame["t_response"],
    ...                      t_treat=frame["t_hsct_remission"] - frame["t_response"])
    >>> res = rc.ccw(frame, id="patient_id", time="time", event="event", treat_time="t_treat",
    ...              grace=120, covariates=["mrd_negative", "age"], n_boot=0)
    >>> res.n, res.events
    (143, 56)
    >>> round(res.hr, 3), round(res.lower, 3), round(res.upper, 3)
    (0.826, 0.684, 0.997)
    """
    _check_grace(grace)
    grace = float(grace)
    if weight_model not in WEIGHT_MODELS:
        raise ValueError(f"weight_model must be one of {WEIGHT_MODELS}, got {weight_model!r}")
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates)
    hz = np.atleast_1d(np.asarray(horizons, dtype=np.float64))
    if hz.size == 0 or not np.all(np.isfinite(hz)) or np.any(hz <= 0):
        raise ValueError(f"horizons must be positive times since time zero, got {horizons!r}")
    hz = np.unique(hz)
    trunc = _check_truncate(truncate)
    if not (isinstance(interval, (int, float, np.integer, np.floating))
            and np.isfinite(interval) and interval > 0):
        raise ValueError(f"interval must be a positive number of days, got {interval!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0 \
            or n_boot == 1:
        raise ValueError(f"n_boot must be 0 (no bootstrap) or an int >= 2, got {n_boot!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if hr_ci not in ("sandwich", "bootstrap"):
        raise ValueError(f"hr_ci must be 'sandwich' or 'bootstrap', got {hr_ci!r}")
    if hr_ci == "bootstrap" and not n_boot:
        raise ValueError("hr_ci='bootstrap' needs n_boot >= 2 bootstrap replicates")
    labels = tuple(labels) if labels is not None else (
        "never treated", f"treated within {grace:g} days")
    if len(labels) != 2 or labels[0] == labels[1]:
        raise ValueError(f"labels must be two different names, got {labels!r}")

    p, excluded = _prepare(data, id, time, event, treat_time, eligible_time, covariates)
    c0 = _clone_arrays(p, grace)
    if not c0["on_time"].any():
        raise NotEstimableError(f"no eligible patient was treated within the grace period of "
                         f"{grace:g} days; the treat-within-G strategy has no one to follow")
    model, numer, dropped = _fit_models(p, weight_model, float(interval), stabilized)
    rows = _weighted_rows(p, grace, model, numer, stabilized, trunc)
    if rows["n_truncated"]:
        logger.info("ccw: %d of %d clone-row weights truncated to [%g, %g]",
                    rows["n_truncated"], rows["weight"].size, *rows["bounds"])
    n, n_events = int(p.T.size), int(p.D.sum())
    if not (rows["event"][rows["arm"] == 0].any() and rows["event"][rows["arm"] == 1].any()):
        raise NotEstimableError("an arm has no endpoint event after cloning and censoring; CCW "
                         "cannot compare the strategies")

    clones = pd.DataFrame({
        "patient": rows["pid"], "id": p.ids[rows["pid"]], "arm": rows["arm"],
        "start": rows["start"], "stop": rows["stop"],
        "event": rows["event"].astype(np.int64), "weight": rows["weight"],
        "weight_raw": rows["weight_raw"], "artificial": rows["artificial"]})
    arm_cat = pd.Categorical.from_codes(clones["arm"].to_numpy(), categories=list(labels))
    km_frame = clones.assign(arm=arm_cat)
    km = kaplan_meier(km_frame, "stop", "event", entry="start", weights="weight",
                      id="patient", by="arm", alpha=alpha, timefix=False)
    km.meta["definition"] = data.attrs.get("definition")
    model_out = _outcome_cox(rows, robust=True)
    point = _estimates(rows, hz, float(model_out.coef.iloc[0]))
    for a in ARMS:
        last = float(rows["stop"][rows["arm"] == a].max())
        beyond = hz[hz > last]
        if beyond.size:
            raise NotEstimableError(f"horizon {beyond[0]:g} is after the last follow-up time "
                             f"({last:g}) of arm {labels[a]!r}; choose earlier horizons")
    terms = _terms(hz)

    boot = None
    if n_boot:
        frame = pd.DataFrame({"_T": p.T, "_D": p.D, "_A": p.A, "_E": p.E})
        for j, name in enumerate(p.names):
            frame[name] = p.X[:, j]
        stat = partial(_boot_statistic, names=p.names, grace=grace, kind=weight_model,
                       step=float(interval), stabilized=stabilized, truncate=trunc,
                       horizons=hz)
        boot = bootstrap(frame, stat, int(n_boot), seed=seed, alpha=alpha,
                         backend=backend, n_jobs=n_jobs, max_failed=max_failed,
                         progress=progress)

    summ = model_out.summary.iloc[0]
    if hr_ci == "bootstrap":
        se_log = float(boot.se["log_hr"])
        hr = math.exp(point[0])
        lower, upper = math.exp(boot.lower["log_hr"]), math.exp(boot.upper["log_hr"])
        # percentile-bootstrap test of log HR = 0, consistent with the percentile limits:
        # twice the smaller tail share of replicates beyond 0, (k + 1) / (B + 1)
        reps = boot.replicates["log_hr"].dropna().to_numpy()
        k = min(int(np.sum(reps <= 0)), int(np.sum(reps >= 0)))
        pval = min(1.0, 2 * (k + 1) / (reps.size + 1))
    else:
        se_log = float(summ["robust_se"])
        hr, lower, upper, pval = (float(summ["hr"]), float(summ["lower"]),
                                  float(summ["upper"]), float(summ["p"]))
    table, contrasts = _tables(point, terms, hz, boot, km, labels, hr, lower, upper, pval,
                               se_log)
    weights_tab = _weight_summary(rows, labels)
    c = rows["clones"]
    counts = pd.DataFrame({
        "arm": list(labels),
        "clones": [int((c["stop0"] > 0).sum()), n],
        "events": [int(c["event0"].sum()), int(c["event1"].sum())],
        "artificially_censored": [int(c["art0"].sum()), int(c["art1"].sum())],
        "censored": [int(((c["event0"] == 0) & ~c["art0"] & (c["stop0"] > 0)).sum()),
                     int(((c["event1"] == 0) & ~c["art1"]).sum())],
    })
    wm = {"kind": weight_model, "model": getattr(model, "model", None),
          "numerator": getattr(numer, "model", None), "covariates": list(p.names),
          "dropped": dropped, "n_treated": int(_treated_obs(p).sum()),
          "note": getattr(model, "note", "")}
    options = {"grace": grace, "horizons": tuple(hz.tolist()), "weight_model": weight_model,
               "stabilized": bool(stabilized), "truncate": trunc, "interval": float(interval),
               "n_boot": int(n_boot), "seed": seed, "alpha": float(alpha),
               "labels": labels, "time_zero": time_zero, "hr_ci": hr_ci}
    return CCWResult(table=table, km=km, cox=model_out, hr=hr, lower=lower, upper=upper,
                     p=pval, contrasts=contrasts, weights=weights_tab, counts=counts,
                     clones=clones, weight_model=wm, bootstrap=boot, excluded=excluded,
                     n=n, events=n_events, options=options)


def _tables(point, terms, hz, boot, km, labels, hr, lower, upper, pval, se_log):
    est = pd.Series(point, index=terms)
    if boot is not None:
        se, lo, hi = boot.se, boot.lower, boot.upper
    else:
        nan = pd.Series(np.nan, index=terms)
        se, lo, hi = nan, nan.copy(), nan.copy()
        at = km.at(hz)
        for a, key in ((0, "never"), (1, "treat")):
            sub = at[at["group"].astype(str) == labels[a]].set_index("time")
            for h in hz:
                if h in sub.index:
                    t = f"surv_{key}_{h:g}"
                    se[t] = sub.loc[h, "std_err"]
                    lo[t], hi[t] = sub.loc[h, "lower"], sub.loc[h, "upper"]
    rows = [{"measure": "hazard_ratio", "arm": f"{labels[1]} vs {labels[0]}",
             "horizon": np.nan, "estimate": hr, "se": se_log, "lower": lower,
             "upper": upper, "p": pval}]
    cont = []
    for h in hz:
        k = f"{h:g}"
        for measure, term, arm in (("survival", f"surv_never_{k}", labels[0]),
                                   ("survival", f"surv_treat_{k}", labels[1]),
                                   ("risk_difference", f"rd_{k}",
                                    f"{labels[1]} minus {labels[0]}"),
                                   ("survival_ratio", f"ratio_{k}",
                                    f"{labels[1]} / {labels[0]}")):
            rows.append({"measure": measure, "arm": arm, "horizon": h,
                         "estimate": est[term], "se": se[term], "lower": lo[term],
                         "upper": hi[term], "p": np.nan})
        cont.append({"horizon": h,
                     "survival_never": est[f"surv_never_{k}"],
                     "survival_never_lower": lo[f"surv_never_{k}"],
                     "survival_never_upper": hi[f"surv_never_{k}"],
                     "survival_treat": est[f"surv_treat_{k}"],
                     "survival_treat_lower": lo[f"surv_treat_{k}"],
                     "survival_treat_upper": hi[f"surv_treat_{k}"],
                     "risk_difference": est[f"rd_{k}"], "risk_difference_lower": lo[f"rd_{k}"],
                     "risk_difference_upper": hi[f"rd_{k}"],
                     "survival_ratio": est[f"ratio_{k}"],
                     "survival_ratio_lower": lo[f"ratio_{k}"],
                     "survival_ratio_upper": hi[f"ratio_{k}"]})
    return pd.DataFrame(rows), pd.DataFrame(cont)


def _weight_summary(rows: dict, labels) -> pd.DataFrame:
    out = []
    lo, hi = rows["bounds"]
    for name, m in ((labels[0], rows["arm"] == 0), (labels[1], rows["arm"] == 1),
                    ("all", np.ones(rows["arm"].size, dtype=bool))):
        w, raw = rows["weight"][m], rows["weight_raw"][m]
        out.append({"arm": name, "rows": int(m.sum()), "mean": float(w.mean()),
                    "sd": float(w.std(ddof=1)) if w.size > 1 else np.nan,
                    "min": float(w.min()), "median": float(np.median(w)),
                    "max": float(w.max()), "max_untruncated": float(raw.max()),
                    "n_truncated": int(np.sum(w != raw)),
                    "truncated_below": lo, "truncated_above": hi})
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------------------
# CAR-T cohort
# ---------------------------------------------------------------------------------------
_EVENT_ENDPOINTS = ("PFS", "OS", "EFS", "RFS", "DOR")


def ccw_cohort(cohort, endpoint: str = "PFS", grace: float = 120, covariates: Sequence[str] = (),
               *, time_zero: Literal["response", "infusion"] = "response",
               horizons: Sequence[float] = (365.0,),
               weight_model: Literal["logistic", "cox"] = "logistic", stabilized: bool = True,
               truncate: float | tuple | None = None, n_boot: int = 200,
               seed: int = 20240630, backend: Literal["sequential", "joblib", "dask"] | None = None,
               **options: Any) -> ExposureEstimate:
    """Emulated target trial: allo-HSCT in remission within `grace` days vs no allo-HSCT.

    Parameters
    ----------
    cohort : Cohort
    endpoint : {"PFS", "OS", "EFS", "RFS", "DOR"}
        The outcome (definitions in docs/data-contract.md).
    grace : float
        Grace period in days from time zero.
    covariates : sequence of str
        Patient columns for the HSCT (censoring) model, e.g. ``("mrd_negative",
        "prior_hsct", "age")``: the confounders of the transplant decision.
    time_zero : {"response", "infusion"}
        ``"response"`` (default): responders (CR/CRi/CRh) from their first CR/CRi, the
        day they become eligible for a consolidative transplant (being in remission is
        the eligibility criterion). ``"infusion"``: every infused patient from the
        infusion, strategies "HSCT in remission within G days of infusion" vs none; a
        patient who never reaches remission cannot be transplanted in remission and is
        censored at G in the HSCT arm unless the endpoint came first, so use it with PFS
        or EFS (non-responders progress early) and only as a sensitivity analysis.
    horizons, weight_model, stabilized, truncate, n_boot, seed, backend, **options
        As :func:`ccw` (``options``: ``hr_ci``, ``interval``, ``n_jobs``, ``alpha``,
        ``max_failed``, ``progress``).

    Returns
    -------
    ExposureEstimate
        method ``"ccw"``; ``hr``/``lower``/``upper``/``p`` from the weighted Cox model
        (limits as ``hr_ci``); ``n`` eligible patients and their ``events``; ``extra``:
        ``result`` (the :class:`~rwe_cart.CCWResult`), ``km`` (weighted curves per arm, for
        ``plot_km``), ``contrasts`` (survival per arm, risk difference and survival ratio
        at the horizons with bootstrap limits), ``table``, ``weights`` (weight
        summaries), ``counts``, ``excluded``.

    Notes
    -----
    The exposure is consolidative allo-HSCT in remission (``hsct_in_remission``); HSCT
    after relapse is salvage, never the exposure, so it neither censors the no-HSCT clone
    nor counts as compliance. Loss to follow-up is assumed non-informative. The weight
    model runs on days from infusion (transplant programmes plan on that clock), with
    each patient entering at time zero.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> from rwe_cart.exposure import ccw_cohort
    >>> est = ccw_cohort(rc.datasets.rocca_like(), "PFS", grace=120,
    ...                  covariates=("mrd_negative", "prior_hsct", "age"), n_boot=0)
    >>> est.method, est.n
    ('ccw', 143)
    >>> est.extra["km"].groups
    ('no allo-HSCT', 'allo-HSCT within 120 days')
    """
    key = str(endpoint).upper()
    if key not in _EVENT_ENDPOINTS:
        raise ValueError(f"endpoint must be one of {_EVENT_ENDPOINTS} for CCW, got "
                         f"{endpoint!r}")
    if time_zero not in ("response", "infusion"):
        raise ValueError(f"time_zero must be 'response' or 'infusion', got {time_zero!r}")
    if key == "DOR" and time_zero != "response":
        raise ValueError("DOR starts at response; use time_zero='response'")
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    pts = cohort.patients
    missing = [c for c in covariates if c not in pts]
    if missing:
        raise ValueError(f"covariates {missing} are not columns of the cohort's patients")
    reserved = {"_time", "_event", "_t_zero", "_t_hsct"}
    clash = [c for c in covariates if c in reserved or c == "patient_id"]
    if clash:
        raise ValueError(f"covariate names {clash} are reserved; rename them")
    require_hsct(cohort, key, "clone-censor-weight")
    from_response = key == "DOR" or time_zero == "response"
    # the HSCT rows' builder: exposure, the DOR time shift and the responders
    ep = hsct_frame(cohort, key, population="responders" if from_response else "all",
                    columns=covariates, delayed_entry=False, allowed=_EVENT_ENDPOINTS)
    frame = pd.DataFrame({"patient_id": ep["patient_id"].to_numpy(),
                          "_time": ep["time"].to_numpy(dtype=float),
                          "_event": ep["event"].to_numpy(),
                          "_t_zero": ep["t_response"].to_numpy(dtype=float) if from_response
                          else 0.0,
                          "_t_hsct": ep["t_hsct_remission"].to_numpy(dtype=float)})
    population = ("responders (CR/CRi/CRh), from first CR/CRi" if from_response
                  else "all infused patients, from CAR-T infusion")
    for col in covariates:
        frame[col] = ep[col].to_numpy()
    G = float(grace)
    labels = ("no allo-HSCT", f"allo-HSCT within {G:g} days")
    zero_words = "first CR/CRi" if time_zero == "response" or key == "DOR" else "CAR-T infusion"
    res = ccw(frame, id="patient_id", time="_time", event="_event", treat_time="_t_hsct",
              eligible_time="_t_zero", grace=G, covariates=covariates, horizons=horizons,
              weight_model=weight_model, stabilized=stabilized, truncate=truncate,
              n_boot=n_boot, seed=seed, backend=backend, labels=labels,
              time_zero=zero_words, **options)
    res.km.meta["definition"] = ep.attrs.get("definition")
    hz = res.options["horizons"]
    when = ", ".join(_horizon_words(h) for h in hz)
    estimand = (f"per-protocol effect of allo-HSCT in remission within {G:g} days of "
                f"{zero_words} vs no allo-HSCT (emulated target trial, clone–censor–weight):"
                f" HR averaged over follow-up; risk difference and survival ratio at {when}")
    adj = (f"weights from a {weight_model} model of the HSCT hazard on "
           f"{', '.join(covariates)}" if covariates else
           f"weights from a {weight_model} model of the HSCT hazard without covariates "
           "(no confounding adjustment)")
    first = res.contrasts.iloc[0]
    rd = (f"risk difference at {_horizon_words(first['horizon'])} "
          f"{first['risk_difference']:+.3f}")
    if np.isfinite(first["risk_difference_lower"]):
        rd += (f" ({first['risk_difference_lower']:+.3f} to "
               f"{first['risk_difference_upper']:+.3f})")
    note = f"{rd}; {adj}; HR interval: {res.hr_ci_words}; {_ASSUMPTIONS}"
    if res.weight_model["note"]:
        note += f"; {res.weight_model['note']}"
    n_excl = len(res.excluded)
    if n_excl:
        population += f"; {n_excl} not eligible at time zero (see extra['excluded'])"
    extra = {"result": res, "km": res.km, "contrasts": res.contrasts, "table": res.table,
             "weights": res.weights, "counts": res.counts, "excluded": res.excluded,
             "bootstrap": res.bootstrap}
    return ExposureEstimate(method="ccw", estimand=estimand, population=population,
                            hr=res.hr, lower=res.lower, upper=res.upper, p=res.p, n=res.n,
                            events=res.events, note=note,
                            endpoint=ep.attrs.get("definition", key), extra=extra)


def _horizon_words(h: float) -> str:
    if h == 365:
        return "1 year"
    if h % 365 == 0:
        return f"{h / 365:g} years"
    return f"day {h:g}"
