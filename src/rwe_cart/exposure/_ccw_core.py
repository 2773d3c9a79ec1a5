"""Clone–censor–weight, the numerical core: the patients' arrays, cloning and artificial
censoring, the treatment (weight) models, the weighted clone rows and the bootstrap
statistic. Everything is vectorised: no Python loop over patients, clones or event times.
The public functions are in :mod:`._ccw`, the cohort wrapper in :mod:`._ccw_cohort`.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from ..survival import validate as V
from ..survival.cox import NotEstimableError, cox
from ..survival.design import design_matrix
from ..survival.km import weighted_counts

WEIGHT_MODELS = ("logistic", "cox")
ARMS = (0, 1)  # 0 = never treat, 1 = treat within the grace period


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


def _prepare(data, id, time, event, exposure_time, eligible_time, covariates):
    cols = [("id", id), ("time", time), ("event", event), ("exposure_time", exposure_time)]
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
    col = data[exposure_time]
    if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        raise ValueError(f"column {exposure_time!r} must hold numeric times (NaN: never "
                         f"treated), got dtype {col.dtype}")
    A = col.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(A).any():
        bad = np.isinf(A)
        raise ValueError(f"column {exposure_time!r} has infinite values "
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


