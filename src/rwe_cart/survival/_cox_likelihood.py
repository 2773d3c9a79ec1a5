"""Cox partial likelihood on sorted arrays: preparation, risk-set sums, log-likelihood,
score and information at one beta (no pandas, no validation).

Everything here trusts its inputs: finite float times with ``start < stop``, 0/1 events,
positive weights, finite covariates, integer stratum codes. :func:`prepare` sorts once;
:func:`evaluate` is what every Newton step (:mod:`._cox_core`), the Firth fit
(:mod:`._firth`) and the post-fit helpers (:mod:`._cox_postfit`) call.

Layout of the computation
-------------------------
Rows are sorted once by (stratum, stop). The *event times* are the distinct
(stratum, stop) pairs of rows with an event, numbered ``k = 0..K-1`` in that order. Row
``i`` is at risk at event time ``k`` iff ``lo[i] <= k < hi[i]`` (risk set at t:
``start < t <= stop`` within the stratum). Risk-set sums are

    S(k) = sum over rows with stop-key >= key(k)  -  sum over rows with start-key >= key(k)

i.e. reverse cumulative sums sampled at ``searchsorted`` positions (the start term is
skipped for right-censored data in one stratum). Efron's tie correction is written on
"pseudo events" (the j-th of d tied events uses den_j = S0 - (j/d) D0), but only scalars
live at that level: every p-vector or p x p quantity is aggregated per event time with
``bincount`` sums of h_j f_j^m / den_j (h_j = mean event weight / den_j), e.g. the
score is sum_k (S1 a_k - D1 b_k) and the "mean outer product" term of the information
is sum_k (S1 S1' c0 - (S1 D1' + D1 S1') c1 + D1 D1' c2). b, c1 and c2 vanish where an
event time has one event, so D1 (and the event rows' covariates it is summed from) is
kept only for the event times with tied events. The risk-set second moments never
materialise either:

    sum_k a_k S2(k) = X' diag(r_i * sum_{k: i at risk at k} a_k) X

with the inner sum a difference of a cumulative sum over event times.
Nothing loops in Python over subjects or event times; the only loops are over
Newton iterations, covariates (p) and, in the concordance, over bits of the rank of
the linear predictor (log2 of the number of distinct values).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TIMEFIX_TOL", "CoxArrays", "FitState", "between", "dot", "evaluate", "gram",
           "information", "mv", "prefix_sums", "prepare", "suffix_at", "timefix"]

# R: sqrt(.Machine$double.eps), the all.equal tolerance used by aeqSurv().
TIMEFIX_TOL = float(np.sqrt(np.finfo(np.float64).eps))


# ---------------------------------------------------------------------------------------
# Preparation
# ---------------------------------------------------------------------------------------
def timefix(stop: np.ndarray, start: np.ndarray | None, tol: float = TIMEFIX_TOL):
    """R's ``aeqSurv``: merge times closer than `tol` (absolute or relative to the mean).

    Returns ``(stop, start, changed)``; raises ``ValueError`` if merging makes an
    interval empty.
    """
    allt = stop if start is None else np.concatenate((stop, start[np.isfinite(start)]))
    u = np.unique(allt)
    if u.size < 2:
        return stop, start, False
    dy = np.diff(u)
    mabs = float(np.mean(np.abs(u)))
    tied = (dy <= tol) | ((dy / mabs) <= tol if mabs > 0 else False)
    if not tied.any():
        return stop, start, False
    cuts = u[np.concatenate(([True], ~tied))]
    new_stop = cuts[np.searchsorted(cuts, stop, side="right") - 1]
    new_start = None
    if start is not None:
        fin = np.isfinite(start)
        new_start = start.astype(np.float64, copy=True)
        new_start[fin] = cuts[np.searchsorted(cuts, start[fin], side="right") - 1]
        if np.any(new_start >= new_stop):
            raise ValueError(
                "times closer than R's timefix tolerance were merged and left an "
                "interval of length 0; pass timefix=False or round the times"
            )
    return new_stop, new_start, True


@dataclass(eq=False)
class CoxArrays:
    """Data sorted by (stratum, stop) plus the index arrays every iteration reuses.

    Covariates are stored transposed, ``XT`` of shape (p, n), so per-covariate work is
    on contiguous rows. ``work`` is a (p, n) scratch buffer that every iteration of
    :func:`fit` reuses (large fresh allocations are the slowest thing numpy does on a
    big fit); it is ``None`` outside :func:`fit`, so a fitted model does not hold it.
    """

    n: int
    p: int
    XT: np.ndarray         # (p, n) sorted rows, centred by `center`
    center: np.ndarray     # (p,) subtracted from X
    w: np.ndarray          # (n,) case weights
    weighted: bool         # any weight != 1
    event: np.ndarray      # (n,) bool
    stop: np.ndarray       # (n,) sorted (after timefix)
    start: np.ndarray | None
    strata: np.ndarray     # (n,) int codes (sorted order)
    order: np.ndarray      # (n,) original row of each sorted row
    hi: np.ndarray         # (n,) event-time index range [lo, hi) at risk
    lo: np.ndarray | None  # None: lo == 0 for all (one stratum, right-censored)
    pos_stop: np.ndarray   # (K,) first sorted row with stop-key >= key(k), increasing
    sperm: np.ndarray | None      # sorted-row indices in start-key order
    XTs: np.ndarray | None        # XT[:, sperm]
    ups: np.ndarray | None        # distinct start positions < n (increasing)
    ups_inv: np.ndarray | None    # (K,) index into the suffix sums at `ups` (len = none)
    didx: np.ndarray       # (nd,) sorted-row index of each event row (grouped by k)
    kd: np.ndarray         # (nd,) event-time index of each event row
    gstart: np.ndarray     # (K,) first position in didx of each event time
    dcount: np.ndarray     # (K,) number of event rows at each event time
    frac: np.ndarray       # (nd,) Efron fraction j/d (0 for Breslow)
    etime: np.ndarray      # (K,) event times
    estrat: np.ndarray     # (K,) stratum of each event time
    efron_ties: bool       # Efron and some event time has > 1 event
    tk: np.ndarray | None  # (Kt,) event times with > 1 event (Efron ties only)
    trow: np.ndarray | None  # (nt,) positions in didx of their event rows
    tkd: np.ndarray | None   # (nt,) index into tk of each of those rows
    XTt: np.ndarray | None   # (p, nt) covariates of those rows
    wd: np.ndarray         # (nd,) weights of the event rows
    Wd: np.ndarray         # (K,) summed event weights per event time
    wb: np.ndarray         # (nd,) mean event weight at each event row's time
    Ud0: np.ndarray        # (p,) sum of w x over event rows
    work: np.ndarray | None  # (p, n) scratch while fit() runs
    efron: bool = True

    def scratch(self) -> np.ndarray:
        """The (p, n) scratch buffer: the fit's own, or a fresh one outside a fit."""
        return self.work if self.work is not None else np.empty((self.p, self.n))

    @property
    def K(self) -> int:
        return int(self.etime.size)

    @property
    def XTd(self) -> np.ndarray:
        """(p, nd) covariates of the event rows (built when asked: only the residuals
        and the PH test need all of them)."""
        return self.XT[:, self.didx]

    @property
    def nd(self) -> int:
        return int(self.didx.size)


def _fix_sorted(s: np.ndarray, tol: float = TIMEFIX_TOL) -> np.ndarray:
    """aeqSurv on already sorted times: map each value to the start of its tie chain."""
    n = s.size
    if n < 2:
        return s
    brk = np.empty(n, dtype=bool)
    brk[0] = True
    np.not_equal(s[1:], s[:-1], out=brk[1:])
    first = np.flatnonzero(brk)
    u = s[first]
    if u.size < 2:
        return s
    dy = np.diff(u)
    mabs = float(np.mean(np.abs(u)))
    tied = dy <= tol
    if mabs > 0:
        tied |= (dy / mabs) <= tol
    if not tied.any():
        return s
    lead = np.concatenate(([True], ~tied))
    leader = np.maximum.accumulate(np.where(lead, np.arange(u.size), 0))
    newu = u[leader]
    gid = np.cumsum(brk) - 1
    return newu[gid]


def prepare(X: np.ndarray, stop: np.ndarray, event: np.ndarray, *,
            start: np.ndarray | None = None, weights: np.ndarray | None = None,
            strata: np.ndarray | None = None, ties: str = "efron",
            center: np.ndarray | None = None, fix_times: bool = True) -> CoxArrays:
    """Sort the data once and build the index arrays (cost O(n log n)).

    `fix_times` applies R's ``aeqSurv`` (``timefix = TRUE``) first.
    """
    n, p = X.shape
    stop = np.asarray(stop, dtype=np.float64)
    ev = np.asarray(event).astype(bool)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    g = np.zeros(n, dtype=np.int64) if strata is None else np.asarray(strata, np.int64)
    nstrat = int(g.max()) + 1 if n else 1
    simple = start is None and nstrat == 1
    XTs = ups = ups_inv = sperm = None
    s_start = None

    if simple:
        order = np.argsort(stop, kind="stable")
        s_stop = stop[order]
        if fix_times:
            s_stop = _fix_sorted(s_stop)
        d_sorted = ev[order]
        brk = np.empty(n, dtype=bool)
        brk[0] = True
        np.not_equal(s_stop[1:], s_stop[:-1], out=brk[1:])
        gfirst = np.flatnonzero(brk)
        has_ev = np.logical_or.reduceat(d_sorted, gfirst)
        gid = np.cumsum(brk) - 1
        hi = np.cumsum(has_ev)[gid]
        pos_stop = gfirst[has_ev]
        etime = s_stop[pos_stop]
        estrat = np.zeros(etime.size, dtype=np.int64)
        lo = None
        s_g = np.zeros(n, dtype=np.int64)
    else:
        st_in = None if start is None else np.asarray(start, dtype=np.float64)
        if fix_times:
            stop, st_in, _ = timefix(stop, st_in)
        u = np.unique(stop)
        base = np.int64(u.size + 1)
        kstop = g * base + np.searchsorted(u, stop, side="right")
        if st_in is None:
            kstart = g * base  # f(-inf) = 0: before every time in the stratum
        else:
            kstart = g * base + np.searchsorted(u, st_in, side="right")
        order = np.argsort(kstop, kind="stable")
        ks = kstop[order]
        d_sorted = ev[order]
        ekey = np.unique(ks[d_sorted])
        pos_stop = np.searchsorted(ks, ekey, side="left")
        hi = np.searchsorted(ekey, ks, side="right")
        kst = kstart[order]
        lo = np.searchsorted(ekey, kst, side="right")
        sperm = np.argsort(kst, kind="stable")
        pos_start = np.searchsorted(kst[sperm], ekey, side="left")
        ups, ups_inv = np.unique(pos_start, return_inverse=True)
        ups_inv = ups_inv.reshape(-1)
        if ups.size and ups[-1] >= n:
            ups = ups[:-1]  # position n: no start at or after that time
        s_stop = stop[order]
        s_start = None if st_in is None else st_in[order]
        s_g = g[order]
        etime = s_stop[pos_stop]
        estrat = s_g[pos_stop]

    didx = np.flatnonzero(d_sorted)
    kd = hi[didx] - 1
    K = etime.size
    dcount = np.bincount(kd, minlength=K)
    gstart = np.concatenate(([0], np.cumsum(dcount)[:-1])).astype(np.intp)
    efron = ties == "efron"
    efron_ties = efron and bool(np.any(dcount > 1))
    tk = trow = tkd = None
    if efron_ties:
        j = np.arange(didx.size) - gstart[kd]
        frac = j / dcount[kd]
        tk = np.flatnonzero(dcount > 1)
        trow = np.flatnonzero(dcount[kd] > 1)
        tkd = np.searchsorted(tk, kd[trow])
    else:
        frac = np.zeros(didx.size)

    if center is None:
        center = np.zeros(p)
    center = np.asarray(center, dtype=np.float64)
    XT = np.empty((p, n))
    for j in range(p):  # one covariate at a time: no (n, p) temporaries
        np.subtract(X[:, j].take(order), center[j], out=XT[j])
    ws = w[order]
    weighted = bool(np.any(ws != 1.0))
    if sperm is not None:
        XTs = XT[:, sperm]
    wd = ws[didx]
    Wd = np.bincount(kd, weights=wd, minlength=K)
    wb = (Wd / dcount)[kd]
    Ud0 = mv(XT[:, didx], wd)
    return CoxArrays(
        n=n, p=p, XT=XT, center=center, w=ws, weighted=weighted, event=d_sorted,
        stop=s_stop, start=s_start, strata=s_g, order=order, hi=hi, lo=lo,
        pos_stop=pos_stop, sperm=sperm, XTs=XTs, ups=ups, ups_inv=ups_inv, didx=didx,
        kd=kd, gstart=gstart, dcount=dcount, frac=frac, etime=etime, estrat=estrat,
        efron_ties=efron_ties, tk=tk, trow=trow, tkd=tkd,
        XTt=None if trow is None else XT[:, didx[trow]], wd=wd, Wd=Wd, wb=wb, Ud0=Ud0,
        work=None, efron=efron,
    )


def suffix_at(vals: np.ndarray, pos: np.ndarray, *, scratch: bool = False) -> np.ndarray:
    """Sums of `vals` along the last axis from each increasing position in `pos` to the end.

    Dense positions (continuous times): one reverse cumulative sum, then a take
    (in place when `scratch`, i.e. `vals` may be overwritten). Sparse positions (many
    ties): ``reduceat`` over the segments, then a reverse cumulative sum of those.
    Summing from the end keeps late, small risk sets free of cancellation.
    """
    n = vals.shape[-1]
    if pos.size * 8 >= n:
        if vals.ndim == 1:
            c = np.cumsum(vals[::-1])[::-1]
            return c[pos]
        if not scratch:
            vals = vals.copy()
        for j in range(vals.shape[0]):
            v = vals[j, ::-1]
            np.cumsum(v, out=v)
        return vals[:, pos]
    p0 = int(pos[0])
    if vals.ndim == 1:
        seg = np.add.reduceat(vals[p0:], pos - p0)
        return np.cumsum(seg[::-1])[::-1]
    out = np.empty((vals.shape[0], pos.size))
    for j in range(vals.shape[0]):
        seg = np.add.reduceat(vals[j, p0:], pos - p0)
        out[j] = np.cumsum(seg[::-1])[::-1]
    return out


def prefix_sums(a: np.ndarray) -> np.ndarray:
    """Cumulative sum along the last axis with a leading zero (length K + 1)."""
    if a.ndim == 1:
        out = np.empty(a.size + 1)
        out[0] = 0.0
        np.cumsum(a, out=out[1:])
        return out
    out = np.empty((a.shape[0], a.shape[1] + 1))
    out[:, 0] = 0.0
    np.cumsum(a, axis=1, out=out[:, 1:])
    return out


def between(A: CoxArrays, cum: np.ndarray) -> np.ndarray:
    """For each row, cum[hi] - cum[lo]: a sum over the event times it is at risk at."""
    if cum.ndim == 1:
        return cum[A.hi] if A.lo is None else cum[A.hi] - cum[A.lo]
    return cum[:, A.hi] if A.lo is None else cum[:, A.hi] - cum[:, A.lo]


@dataclass(eq=False)
class FitState:
    """Everything computed at one beta; the post-fit helpers reuse it.

    Per event time k (Efron's j-th of d tied events uses den_j = S0 - (j/d) D0):
    a = sum_j h_j, b = sum_j h_j f_j, c_m = sum_j h_j f_j^m / den_j with
    h_j = wbar / den_j (the hazard increments).
    """

    beta: np.ndarray
    loglik: float
    U: np.ndarray
    imat: np.ndarray | None
    shift: float        # risk scores are exp(eta - shift), eta the centred predictor
    e: np.ndarray | None   # (n,) exp(eta - shift), sorted rows
    r: np.ndarray | None   # w * e
    S1: np.ndarray | None  # (p, K)
    D1: np.ndarray | None  # (p, Kt) event-row sums at the tied event times A.tk
    a: np.ndarray | None
    b: np.ndarray | None
    c0: np.ndarray | None
    c1: np.ndarray | None
    c2: np.ndarray | None

    @property
    def slim(self) -> bool:
        """True when only beta, loglik, U, imat (and shift) are kept."""
        return self.e is None

    def slimmed(self) -> FitState:
        """The same state without its (n,) and (p, K) arrays (a large fit keeps only
        the states it needs whole)."""
        return FitState(beta=self.beta, loglik=self.loglik, U=self.U, imat=self.imat,
                        shift=self.shift, e=None, r=None, S1=None, D1=None, a=None,
                        b=None, c0=None, c1=None, c2=None)


# Products along the long (n or K) axis use einsum's own loops, not BLAS: with p small
# they are memory-bound, and a multi-threaded BLAS on a busy machine (joblib workers,
# other processes) makes them several times slower.
def gram(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b.T for (p, n) arrays."""
    return np.einsum("in,jn->ij", a, b)


def mv(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """m @ v for m (p, n), v (n,)."""
    return np.einsum("in,n->i", m, v)


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """a @ b for 1-D arrays, without BLAS."""
    return float(np.einsum("i,i->", a, b))


def _by_event(A: CoxArrays, x: np.ndarray) -> np.ndarray:
    """Sum a per-event-row array within event times (K,)."""
    return np.bincount(A.kd, weights=x, minlength=A.K)


def evaluate(A: CoxArrays, beta: np.ndarray, *, info: bool = True) -> FitState:
    """Log partial likelihood, score and information at `beta` (R's coxfit6/agfit4).

    A trial step far out (before step halving) may underflow a whole risk set; the
    log-likelihood is then -inf or NaN and :func:`fit` halves the step.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        return _evaluate(A, beta, info)


def _evaluate(A: CoxArrays, beta: np.ndarray, info: bool) -> FitState:
    XT, W = A.XT, A.scratch()
    eta = np.einsum("j,jn->n", beta, XT) if A.p else np.zeros(A.n)
    shift = float(eta.max())
    eta_events = dot(A.wd, eta[A.didx])
    e = np.subtract(eta, shift, out=eta)  # eta is not needed any more: reuse it
    np.exp(e, out=e)
    r = e * A.w if A.weighted else e
    np.multiply(XT, r, out=W)
    S0 = suffix_at(r, A.pos_stop)
    S1 = suffix_at(W, A.pos_stop, scratch=True)
    if A.sperm is not None and A.ups.size:
        rs = r[A.sperm]
        s0 = np.append(suffix_at(rs, A.ups), 0.0)
        S0 = S0 - s0[A.ups_inv]
        np.multiply(A.XTs, rs, out=W)
        s1 = np.concatenate((suffix_at(W, A.ups, scratch=True), np.zeros((A.p, 1))),
                            axis=1)
        S1 = S1 - s1[:, A.ups_inv]
    kd = A.kd
    wb = A.wb
    many = A.nd > A.K  # some event time has tied events
    D1 = b = c1 = c2 = None
    if A.efron_ties:
        # Efron's correction only where an event time has several events (f = 0 else)
        rt = r[A.didx[A.trow]]
        Kt = A.tk.size
        D0 = np.bincount(A.tkd, weights=rt, minlength=Kt)
        D1 = np.empty((A.p, Kt))
        for j in range(A.p):
            D1[j] = np.bincount(A.tkd, weights=A.XTt[j] * rt, minlength=Kt)
        f = A.frac
        den = S0[kd]
        den[A.trow] -= f[A.trow] * D0[A.tkd]
    else:
        den = S0[kd] if many else S0
    logden = np.log(den)
    loglik = eta_events - dot(wb, logden) - shift * float(A.wd.sum())
    h = wb / den
    hd = h / den
    if many:
        a = _by_event(A, h)
        c0 = _by_event(A, hd)
    else:
        a, c0 = h, hd
    U = A.Ud0 - mv(S1, a)
    if A.efron_ties:
        hd *= f
        b = _by_event(A, h * f)
        c1 = _by_event(A, hd)
        hd *= f
        c2 = _by_event(A, hd)
        U += mv(D1, b[A.tk])
    st = FitState(beta=beta, loglik=loglik, U=U, imat=None, shift=shift, e=e,
                  r=r, S1=S1, D1=D1, a=a, b=b, c0=c0, c1=c1, c2=c2)
    if info:
        st.imat = information(A, st)
    return st


def information(A: CoxArrays, st: FitState, gk: np.ndarray | None = None) -> np.ndarray:
    """Information matrix, optionally with a time weight gk (K,) on every event time.

    sum_k gk [ sum_j h_j (S2 - f_j D2)/den_j - h_j M_j M_j' ] with M_j the Efron mean,
    written as X' diag(v) X minus event-level outer products (no per-time p x p sums).
    """
    a, c0, b, c1, c2 = st.a, st.c0, st.b, st.c1, st.c2
    if gk is not None:
        a, c0 = a * gk, c0 * gk
        if b is not None:
            b, c1, c2 = b * gk, c1 * gk, c2 * gk
    v = st.r * between(A, prefix_sums(a))
    if b is not None:
        v[A.didx] -= st.r[A.didx] * b[A.kd]
    W = A.scratch()
    np.multiply(A.XT, v, out=W)
    imat = gram(W, A.XT)
    S1 = st.S1
    K = S1.shape[1]
    T = W[:, :K]  # reuse the scratch buffer for the (p, K) products
    np.multiply(S1, c0, out=T)
    imat -= gram(T, S1)
    if b is not None:
        D1, tk = st.D1, A.tk
        cross = gram(S1[:, tk] * c1[tk], D1)
        imat += cross + cross.T
        imat -= gram(D1 * c2[tk], D1)
    return (imat + imat.T) / 2.0
