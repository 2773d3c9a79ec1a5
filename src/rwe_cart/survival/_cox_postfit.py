"""What a fitted Cox model gives beyond its coefficients, from the arrays of
:mod:`._cox_likelihood` and the state at the estimate: score residuals, robust (sandwich)
variance and robust score test, R's ``cox.zph`` test, and the baseline cumulative hazard
with the terms of its variance.
"""
from __future__ import annotations

import numpy as np

from ._cox_likelihood import CoxArrays, FitState, between, gram, information, mv, prefix_sums

__all__ = ["baseline_cumhaz", "baseline_variance_terms", "group_sum", "robust_score_test",
           "robust_variance", "score_residuals", "zph_test"]


# ---------------------------------------------------------------------------------------
# Residuals, robust variance
# ---------------------------------------------------------------------------------------
def score_residuals(A: CoxArrays, st: FitState) -> np.ndarray:
    """Unweighted score residuals, shape (p, n), sorted rows (R's coxscore2/agscore3).

    ``resid @ w`` equals the score vector U.
    """
    XT, e = A.XT, st.e
    kd = A.kd
    HX = st.S1 * st.c0  # sum_j h_j M_j
    if st.b is not None:
        HX[:, A.tk] -= st.D1 * st.c1[A.tk]
    chz = between(A, prefix_sums(st.a))
    chx = between(A, prefix_sums(HX))
    resid = chx
    resid -= XT * chz
    resid *= e
    Msum = st.S1 * st.a
    if st.b is not None:
        Msum[:, A.tk] -= st.D1 * st.b[A.tk]
    Mbar = Msum / A.Wd
    XTd = A.XTd
    extra = XTd - Mbar[:, kd]
    if st.b is not None:
        EX = st.S1 * st.c1
        EX[:, A.tk] -= st.D1 * st.c2[A.tk]
        extra += e[A.didx] * (XTd * st.b[kd] - EX[:, kd])
    resid[:, A.didx] += extra
    return resid


def group_sum(values: np.ndarray, codes: np.ndarray | None, ngroups: int) -> np.ndarray:
    """Columns of `values` (p, n) summed within integer `codes` -> (p, ngroups)."""
    if codes is None:
        return values
    out = np.empty((values.shape[0], ngroups))
    for j in range(values.shape[0]):
        out[j] = np.bincount(codes, weights=values[j], minlength=ngroups)
    return out


def robust_variance(A: CoxArrays, st: FitState, var: np.ndarray,
                    cluster: np.ndarray | None, ncluster: int) -> np.ndarray:
    """Sandwich variance D'D from weighted dfbeta residuals grouped by cluster (R)."""
    dfb = np.einsum("ij,jn->in", var, score_residuals(A, st))
    dfb *= A.w
    D = group_sum(dfb, None if cluster is None else cluster[A.order], ncluster)
    rv = gram(D, D)
    return (rv + rv.T) / 2.0


def robust_score_test(A: CoxArrays, st0: FitState, cluster: np.ndarray | None,
                      ncluster: int) -> float:
    """R's ``rscore``: u' (T'T)^-1 u with T the weighted score residuals at beta = 0."""
    T = score_residuals(A, st0)
    T *= A.w
    T = group_sum(T, None if cluster is None else cluster[A.order], ncluster)
    u = T.sum(axis=1)
    # R's coxph.wtest: a generalised inverse when T'T is singular
    return float(u @ np.linalg.pinv(gram(T, T), hermitian=True) @ u)


# ---------------------------------------------------------------------------------------
# cox.zph
# ---------------------------------------------------------------------------------------
def _km_left(A: CoxArrays, times: np.ndarray) -> np.ndarray:
    """Unweighted, unstratified KM just before each of `times` (R: survfitKM, left-cont.)."""
    stop = A.stop
    start = A.start
    ut = np.unique(stop[A.event])
    s_stop = np.sort(stop)
    nrisk = stop.size - np.searchsorted(s_stop, ut, side="left")
    if start is not None:
        s_start = np.sort(start)
        nrisk = nrisk - (start.size - np.searchsorted(s_start, ut, side="left"))
    dstop = np.sort(stop[A.event])
    nev = np.searchsorted(dstop, ut, side="right") - np.searchsorted(dstop, ut, side="left")
    surv = np.cumprod(1.0 - nev / nrisk)
    idx = np.searchsorted(ut, times, side="left")  # number of event times < t
    return np.concatenate(([1.0], surv))[idx]


def zph_test(A: CoxArrays, st: FitState, terms: list[list[int]],
             transform: str = "km") -> tuple[np.ndarray, np.ndarray]:
    """R survival >= 3.0 ``cox.zph`` score tests: per term and GLOBAL.

    Returns ``(chisq, df)``, with the GLOBAL test last. The test is the score test for
    adding ``g(t) * x`` to the model at (beta-hat, 0), using the full 2p x 2p
    information matrix (R: ``solve(imat, u)`` in ``cox.zph``); g is centred at its mean
    over the event rows.
    """
    p = A.p
    times = A.stop
    if transform == "identity":
        tt = times
    elif transform == "rank":
        from scipy.stats import rankdata
        tt = rankdata(times)  # average ranks over all rows, as R's rank()
    elif transform == "km":
        tt = 1.0 - _km_left(A, times)
    elif transform == "log":
        tt = np.log(times)
    else:  # pragma: no cover - validated by the caller
        raise ValueError(transform)
    gtime = tt - tt[A.event].mean()
    gk = gtime[A.didx[A.gstart]]  # one value per event time
    u2 = mv(A.XTd, A.wd * gtime[A.didx]) - mv(st.S1, st.a * gk)
    if st.b is not None:
        u2 += mv(st.D1, (st.b * gk)[A.tk])
    i11 = information(A, st)
    i12 = information(A, st, gk)
    i22 = information(A, st, gk * gk)
    imat = np.block([[i11, i12], [i12.T, i22]])
    u = np.concatenate((np.zeros(p), u2))
    stats, dfs = [], []
    for cols in terms:
        kk = list(range(p)) + [p + j for j in cols]
        uu = u[kk]
        stats.append(float(uu @ np.linalg.solve(imat[np.ix_(kk, kk)], uu)))
        dfs.append(len(cols))
    stats.append(float(u @ np.linalg.solve(imat, u)))
    dfs.append(p)
    return np.asarray(stats), np.asarray(dfs, dtype=np.float64)



# ---------------------------------------------------------------------------------------
# Baseline hazard (R: survfit.coxph / basehaz)
# ---------------------------------------------------------------------------------------
def baseline_cumhaz(A: CoxArrays, st: FitState, ref: np.ndarray):
    """Cumulative hazard at covariate vector `ref` (uncentred) at every distinct time.

    Increments at event times are Efron's ``sum_j wbar / den_j`` or Breslow's
    ``W_d / S0`` with risk scores ``exp((x - ref) beta)`` (R's ``survfit.coxph``:
    ctype 2 for Efron, 1 for Breslow). Evaluated at every distinct stop time of each
    stratum (event or censoring).

    Returns arrays ``(stratum, time, n_risk, n_event, cumhaz)``; ``n_risk`` and
    ``n_event`` are unweighted row counts (risk set ``start < t <= stop``).
    """
    off = float((ref - A.center) @ st.beta) - st.shift
    inc = st.a * np.exp(off)
    first, ug, ut, fs = _time_rows(A)
    CK = prefix_sums(inc)
    cum = CK[A.hi[first]] - CK[fs]
    g, t = A.strata, A.stop
    n_event = np.add.reduceat(A.event.astype(np.float64), first)
    # rows of the stratum with stop >= t: from `first` to the stratum's end
    send = np.searchsorted(g, ug, side="right")
    n_risk = (send - first).astype(np.float64)
    if A.start is not None:
        u = np.unique(t)
        base = np.int64(u.size + 1)
        kst = np.sort(g * base + np.searchsorted(u, A.start, side="right"))
        kq = ug * base + np.searchsorted(u, ut, side="right")
        n_risk -= np.searchsorted(kst, (ug + 1) * base, side="left") - np.searchsorted(
            kst, kq, side="left")
    return ug, ut, n_risk, n_event, cum


def _time_rows(A: CoxArrays):
    """First sorted row of each distinct (stratum, stop time), its stratum and time, and
    the first event time of its stratum (sums over event times restart there)."""
    g, t = A.strata, A.stop  # sorted by (stratum, stop)
    brk = np.empty(t.size, dtype=bool)
    brk[0] = True
    brk[1:] = (g[1:] != g[:-1]) | (t[1:] != t[:-1])
    first = np.flatnonzero(brk)
    ug, ut = g[first], t[first]
    fs = np.searchsorted(A.estrat, ug, side="left")
    return first, ug, ut, fs


def baseline_variance_terms(A: CoxArrays, st: FitState) -> tuple[np.ndarray, np.ndarray]:
    """The two sums in R's variance of a predicted cumulative hazard, at the covariate
    centre and at the rows of :func:`baseline_cumhaz` (R: ``agsurv``, vartype = ctype+1).

    Returns ``(varhaz, xbar)``: per stratum, cumulated over event times k,
    ``sum_j wbar / den_j^2`` (Breslow: W_d / S0^2) and the p-vectors
    ``sum_j wbar (S1 - f_j D1) / den_j^2`` (Breslow: W_d S1 / S0^2). For a profile with
    centred covariates x and risk r = exp(x'beta), R's variance of Lambda(t | x) is
    ``(varhaz + d' V d) r^2`` with ``d = Lambda_0(t) x - xbar`` (``coxsurv.fit``).
    """
    s = np.exp(-st.shift)  # the state's risk scores are exp(eta - shift)
    HX = st.S1 * st.c0
    if st.b is not None:
        HX[:, A.tk] -= st.D1 * st.c1[A.tk]
    first, _, _, fs = _time_rows(A)
    hi = A.hi[first]
    V = prefix_sums(st.c0 * (s * s))
    X = prefix_sums(HX * s)
    return V[hi] - V[fs], X[:, hi] - X[:, fs]
