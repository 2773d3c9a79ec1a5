"""Kaplan–Meier curves from risk-set counts (array core, trusts its inputs).

:func:`fit` is the unweighted estimator on the counts of ``_km_counts``;
:func:`fit_general` the weighted and/or clustered one (R's ``survfitKM`` with
``weights``, ``id``, ``robust``), whose infinitesimal-jackknife variance is evaluated in
O(n log n) by :func:`_ij_sumsq`. :func:`confint` gives the pointwise limits of every
``conf_type`` and :func:`findq` the quantiles of a step curve, both as R's survival 3.5.
The only Python loops are over groups (cumulative products restart in each group).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import TOL, group_column, merge_near_ties
from ._km_counts import aeq_cuts, count, merge_rows

# Accumulator of the IJ variance sums. The a^2 + 2ab C + b^2 C^2 expansion cancels where
# a row entered shortly before the time evaluated; float64 kept 5e-13 relative agreement
# with np.longdouble on 200,000 late-entry rows (and 1e-14 with R), at half the cost.
_ACC = np.float64


def fit(t, d, e, codes, levels, tmax, z, conf_type, timefix):
    """Counts, curve and confidence limits → (table, group row bounds, levels)."""
    n_groups = 1 if codes is None else len(levels)
    counts = count(t, d, e, codes, n_groups, tmax, timefix)
    if timefix and counts.needs_timefix_check:
        if e is None:
            fix = aeq_cuts(counts)
            if fix is not None:
                counts = merge_rows(counts, *fix)
        else:
            t, e = t.astype(np.float64, copy=False), e.astype(np.float64, copy=False)
            t_fixed, e_fixed = merge_near_ties(t, e)
            if t_fixed is not t or e_fixed is not e:   # re-count on the merged intervals
                counts = count(t_fixed, d, e_fixed, codes, n_groups, float(t_fixed.max()),
                               False)
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
    lower, upper = confint(surv, se_log, conf_type, z, overwrite_se=True)

    return _table(codes is None, levels, bounds, time, n_risk, n_event, n_censor, surv,
                  std_err, lower, upper, cumhaz, std_chaz)




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


def fit_general(t, d, e, w, ids, codes, levels, z, conf_type, timefix, robust):
    """Weighted and/or clustered fit (R's survfitKM with weights, id, robust)."""
    n = t.size
    n_groups = 1 if codes is None else len(levels)
    t = np.asarray(t, dtype=np.float64)
    if e is not None:
        e = np.asarray(e, dtype=np.float64)
    if timefix:
        t, e = merge_near_ties(t, e)
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
    lower, upper = confint(surv, se_log, conf_type, z)
    if w is None:  # clustered but unweighted: counts of rows stay integers
        n_risk, n_event, n_censor = (np.rint(x).astype(np.int64)
                                     for x in (n_risk, n_event, n_censor))
    return _table(codes is None, levels, bounds, time, n_risk, n_event, n_censor, surv,
                  std_err, lower, upper, cumhaz, std_chaz)



def _table(ungrouped: bool, levels, bounds: np.ndarray, time, n_risk, n_event, n_censor, surv,
           std_err, lower, upper, cumhaz, std_chaz):
    """The result table (one row per group and time) with its group column and levels."""
    levels_out = pd.Index(["all"], dtype=object) if ungrouped else levels
    table = pd.DataFrame({
        "group": group_column(None if ungrouped else levels, np.diff(bounds)),
        "time": time, "n_risk": n_risk, "n_event": n_event,
        "n_censor": n_censor, "survival": surv, "std_err": std_err, "lower": lower,
        "upper": upper, "cumhaz": cumhaz, "std_chaz": std_chaz,
    }, copy=False)
    return table, bounds, levels_out


def confint(surv: np.ndarray, se: np.ndarray, conf_type: str, z: float,
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



def findq(x: np.ndarray, y: np.ndarray, p: np.ndarray, tol: float = TOL) -> np.ndarray:
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