"""Array-only core of the Cox proportional-hazards model (no pandas, no validation).

Everything here trusts its inputs: finite float times with ``start < stop``, 0/1 events,
positive weights, finite covariates, integer stratum codes. :mod:`rwe_cart.survival.cox`
validates and calls :func:`prepare`, :func:`fit`, and the post-fit helpers.

Why our own core: lifelines' ``CoxPHFitter`` stops Newton–Raphson early (coefficients
3e-6 to 7e-5 relative off a converged fit, so it cannot pass a 1e-6 comparison with R),
and ``CoxTimeVaryingFitter`` loops in Python over event times (time grows as n^1.6–2.1),
has no Breslow ties and no robust variance. R's ``coxph`` conventions are followed
throughout (survival 3.x: ``coxfit6``/``agfit4``, ``coxscore2``/``agscore3``,
``zph1``/``zph2``, ``concordancefit``); the algorithms below are vectorised rewrites.

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

import contextlib
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CoxArrays",
    "FitState",
    "CoxFitError",
    "prepare",
    "fit",
    "evaluate",
    "information",
    "collinear_columns",
    "single_blas",
    "score_residuals",
    "robust_variance",
    "robust_score_test",
    "timefix",
    "zph_test",
    "concordance",
    "baseline_cumhaz",
    "baseline_variance_terms",
]

# R: sqrt(.Machine$double.eps), the all.equal tolerance used by aeqSurv().
TIMEFIX_TOL = float(np.sqrt(np.finfo(np.float64).eps))


class CoxFitError(ValueError):
    """The Newton–Raphson fit failed (separation, singular information, no convergence).

    ``kind`` is ``"separation"``, ``"singular"`` or ``"convergence"``; ``columns`` holds
    the positions of the covariates involved.
    """

    def __init__(self, message: str, kind: str, columns: tuple[int, ...] = (),
                 vector: np.ndarray | None = None):
        super().__init__(message)
        self.kind = kind
        self.columns = columns
        self.vector = vector  # the (scaled) null direction, for a singular matrix


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
    Ud0 = _mv(XT[:, didx], wd)
    return CoxArrays(
        n=n, p=p, XT=XT, center=center, w=ws, weighted=weighted, event=d_sorted,
        stop=s_stop, start=s_start, strata=s_g, order=order, hi=hi, lo=lo,
        pos_stop=pos_stop, sperm=sperm, XTs=XTs, ups=ups, ups_inv=ups_inv, didx=didx,
        kd=kd, gstart=gstart, dcount=dcount, frac=frac, etime=etime, estrat=estrat,
        efron_ties=efron_ties, tk=tk, trow=trow, tkd=tkd,
        XTt=None if trow is None else XT[:, didx[trow]], wd=wd, Wd=Wd, wb=wb, Ud0=Ud0,
        work=None, efron=efron,
    )


def _suffix_at(vals: np.ndarray, pos: np.ndarray, *, scratch: bool = False) -> np.ndarray:
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


def _prefix(a: np.ndarray) -> np.ndarray:
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


def _between(A: CoxArrays, cum: np.ndarray) -> np.ndarray:
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


def single_blas(n: int):
    """Context limiting BLAS to one thread for large fits (threadpoolctl, if installed).

    Our BLAS/LAPACK calls are tiny (p x p) or memory-bound; an idle multi-threaded
    OpenBLAS keeps its workers spinning after each call and, on a busy machine, they
    take the core the vectorised numpy work needs (fits measured 2x slower).
    """
    if n < 10_000:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


# Products along the long (n or K) axis use einsum's own loops, not BLAS: with p small
# they are memory-bound, and a multi-threaded BLAS on a busy machine (joblib workers,
# other processes) makes them several times slower.
def _gram(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b.T for (p, n) arrays."""
    return np.einsum("in,jn->ij", a, b)


def _mv(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """m @ v for m (p, n), v (n,)."""
    return np.einsum("in,n->i", m, v)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
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
    eta_events = _dot(A.wd, eta[A.didx])
    e = np.subtract(eta, shift, out=eta)  # eta is not needed any more: reuse it
    np.exp(e, out=e)
    r = e * A.w if A.weighted else e
    np.multiply(XT, r, out=W)
    S0 = _suffix_at(r, A.pos_stop)
    S1 = _suffix_at(W, A.pos_stop, scratch=True)
    if A.sperm is not None and A.ups.size:
        rs = r[A.sperm]
        s0 = np.append(_suffix_at(rs, A.ups), 0.0)
        S0 = S0 - s0[A.ups_inv]
        np.multiply(A.XTs, rs, out=W)
        s1 = np.concatenate((_suffix_at(W, A.ups, scratch=True), np.zeros((A.p, 1))),
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
    loglik = eta_events - _dot(wb, logden) - shift * float(A.wd.sum())
    h = wb / den
    hd = h / den
    if many:
        a = _by_event(A, h)
        c0 = _by_event(A, hd)
    else:
        a, c0 = h, hd
    U = A.Ud0 - _mv(S1, a)
    if A.efron_ties:
        hd *= f
        b = _by_event(A, h * f)
        c1 = _by_event(A, hd)
        hd *= f
        c2 = _by_event(A, hd)
        U += _mv(D1, b[A.tk])
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
    v = st.r * _between(A, _prefix(a))
    if b is not None:
        v[A.didx] -= st.r[A.didx] * b[A.kd]
    W = A.scratch()
    np.multiply(A.XT, v, out=W)
    imat = _gram(W, A.XT)
    S1 = st.S1
    K = S1.shape[1]
    T = W[:, :K]  # reuse the scratch buffer for the (p, K) products
    np.multiply(S1, c0, out=T)
    imat -= _gram(T, S1)
    if b is not None:
        D1, tk = st.D1, A.tk
        cross = _gram(S1[:, tk] * c1[tk], D1)
        imat += cross + cross.T
        imat -= _gram(D1 * c2[tk], D1)
    return (imat + imat.T) / 2.0


# ---------------------------------------------------------------------------------------
# Newton-Raphson
# ---------------------------------------------------------------------------------------
@dataclass(eq=False)
class FitResult:
    state: FitState
    state0: FitState
    var: np.ndarray
    n_iter: int
    converged: bool


def collinear_columns(A: CoxArrays, tol: float = 1e-10) -> tuple[int, ...]:
    """Design columns that are (numerically) linearly dependent, from the correlation
    matrix of XT (one p x n product); empty when the design has full rank."""
    if A.p < 2:
        return ()
    m = A.XT.mean(axis=1)
    cov = _gram(A.XT, A.XT) / A.n - np.outer(m, m)
    sd = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
    corr = cov / np.outer(sd, sd)
    vals, vecs = np.linalg.eigh(corr)
    if vals[0] >= tol * max(1.0, vals[-1]):
        return ()
    v = vecs[:, 0] / np.abs(vecs[:, 0]).max()
    return tuple(int(j) for j in np.flatnonzero(np.abs(v) > 1e-6))


def _null_vector_columns(mat: np.ndarray) -> tuple[tuple[int, ...], np.ndarray]:
    """Columns involved in the (near) null space of a symmetric matrix, and the
    null vector (on the correlation scale, largest entry 1 in absolute value)."""
    d = np.sqrt(np.clip(np.diag(mat), 1e-300, None))
    corr = mat / np.outer(d, d)
    _, vecs = np.linalg.eigh(corr)
    v = vecs[:, 0]
    v = v / np.abs(v).max()
    return tuple(int(j) for j in np.flatnonzero(np.abs(v) > 1e-6)), v


def _singular(mat: np.ndarray) -> CoxFitError:
    cols, v = _null_vector_columns(mat)
    return CoxFitError("information matrix is singular", "singular", cols, v)


def _solve(imat: np.ndarray, rhs: np.ndarray, toler: float = np.finfo(float).eps ** 0.75,
           ref: np.ndarray | None = None):
    """Solve imat x = rhs by Cholesky; raise CoxFitError naming a singular direction.

    ``toler`` is R's ``toler.chol``: a pivot below it (relative) means singular; a
    diagonal below ``toler * ref`` (``ref``: the same covariate's information if it
    varied within risk sets as it does overall) too.
    """
    d = np.diag(imat)
    bad = ~(d > 0) if ref is None else ~(d > toler * ref)
    if imat.size and (not np.all(np.isfinite(imat)) or np.any(bad)):
        cols = tuple(int(j) for j in np.flatnonzero(bad))
        raise CoxFitError("information matrix is singular", "singular", cols)
    scale = np.sqrt(d)
    corr = imat / np.outer(scale, scale)
    try:
        L = np.linalg.cholesky(corr)
    except np.linalg.LinAlgError:
        raise _singular(imat) from None
    if np.min(np.diag(L)) ** 2 < toler:
        raise _singular(imat)
    if rhs.ndim > 1:
        y = np.linalg.solve(L, rhs / scale[:, None])
        return np.linalg.solve(L.T, y) / scale[:, None]
    y = np.linalg.solve(L, rhs / scale)
    return np.linalg.solve(L.T, y) / scale


def _newton(A, beta, st, step, max_iter, eps, toler_inf):
    """The Newton-Raphson loop of :func:`fit` (returns beta, state, variance,
    iterations, ok).

    The information was fine at beta = 0; if it turns singular along the path, the
    likelihood keeps rising while coefficients run off (monotone likelihood). The
    diverging ones are those with the largest standardised |beta_j| * sd(x_j).
    """
    path = {"beta": beta}
    try:
        return _newton_loop(A, beta, st, step, max_iter, eps, toler_inf, path)
    except CoxFitError as exc:
        if exc.kind != "singular":
            raise
        b = np.abs(path["beta"]) * A.XT.std(axis=1)
        cols = tuple(int(j) for j in np.flatnonzero(b >= 0.5 * b.max())) if b.max() > 0 \
            else exc.columns
        raise CoxFitError("the information vanished while coefficients diverge",
                          "separation", cols) from None


def _newton_loop(A, beta, st, step, max_iter, eps, toler_inf, path):
    p = A.p
    r_converged = False
    it = 0
    converged = False
    while it < max_iter:
        it += 1
        new = beta + step
        halving = 0
        st = st.slimmed()  # only its loglik is compared while a step is tried
        while True:
            cand = evaluate(A, new)
            if np.isfinite(cand.loglik) and cand.loglik >= st.loglik - 1e-12 * abs(
                    st.loglik):
                break
            cand = None  # not kept while the next step is tried
            halving += 1
            if halving > 40:
                break
            new = (new + beta) / 2.0
        if halving > 40:
            if np.isfinite(st.loglik) and r_converged:
                converged = True  # at the numerical optimum
                break
            raise CoxFitError("the log-likelihood cannot be improved", "separation",
                              tuple(int(j) for j in np.flatnonzero(
                                  np.abs(step) > toler_inf * (1.0 + np.abs(beta)))))
        change = cand.loglik - st.loglik
        beta, st, cand = new, cand, None
        path["beta"] = beta
        # one factorisation gives the step and the variance (for the stopping rule)
        sol = _solve(st.imat, np.column_stack((st.U, np.eye(p))))
        step, var = sol[:, 0], sol[:, 1:]
        if not r_converged and abs(change) <= eps * abs(st.loglik) and halving == 0:
            r_converged = True
            infs = np.abs(step) > toler_inf * (1.0 + np.abs(beta))
            if np.any(infs) or not np.all(np.isfinite(st.U)):
                raise CoxFitError("the log-likelihood converged while coefficients "
                                  "diverge", "separation",
                                  tuple(int(j) for j in np.flatnonzero(infs)))
        se = np.sqrt(np.abs(np.diag(var)))
        # Past R's criterion, a log-likelihood that moves only by rounding noise (summing
        # tens of thousands of terms in many strata leaves a few ulps) is at the optimum.
        if np.all(np.abs(step) <= 1e-10 * se) or (
                r_converged and abs(change) <= 64 * np.finfo(float).eps * abs(st.loglik)):
            converged = True
            break
    if not converged:
        cols = tuple(int(j) for j in np.flatnonzero(
            np.abs(step) > toler_inf * (1.0 + np.abs(beta))))
        raise CoxFitError(f"Newton-Raphson did not converge in {max_iter} iterations",
                          "convergence", cols)
    if st.slim:  # no step was accepted in the last iteration: rebuild the state whole
        st = evaluate(A, beta)
        var = _solve(st.imat, np.eye(p))
    return beta, st, var, it, converged


def fit(A: CoxArrays, *, max_iter: int = 40, eps: float = 1e-9,
        toler_inf: float | None = None, keep_null: bool = False) -> FitResult:
    """Newton–Raphson from beta = 0 with step halving, to full convergence.

    R stops when the relative change in the log-likelihood is below ``eps`` (1e-9).
    We use that point only to run R's check for infinite coefficients (the next Newton
    step larger than ``toler_inf * (1 + |beta|)``, toler_inf = sqrt(eps)), then keep
    iterating until the Newton step is below 1e-10 standard errors, so coefficients are
    at the optimum to ~1e-12 (R's own are within its tolerance of it).

    ``state`` is whole; ``state0`` (beta = 0) keeps only beta, loglik, U and imat unless
    `keep_null` (the robust score test needs its residuals). At most one whole state
    besides the result is alive at any time, so the peak memory is that of about two
    states whatever the number of iterations.
    """
    if toler_inf is None:
        toler_inf = float(np.sqrt(eps))
    A.work = np.empty((A.p, A.n))
    try:
        return _fit(A, max_iter, eps, toler_inf, keep_null)
    finally:
        A.work = None


def _fit(A: CoxArrays, max_iter: int, eps: float, toler_inf: float,
         keep_null: bool) -> FitResult:
    p = A.p
    beta = np.zeros(p)
    st = evaluate(A, beta)
    if p == 0:
        return FitResult(st, st, np.zeros((0, 0)), 0, True)
    st0 = st if keep_null else st.slimmed()
    ref = float(A.wd.sum()) * np.array([A.XT[j].var() for j in range(p)])
    step = _solve(st.imat, st.U, ref=ref)  # singular at beta = 0: collinear covariates
    st = None  # the whole initial state lives on only as st0, when keep_null
    beta, st, var, it, converged = _newton(A, beta, st0, step, max_iter, eps, toler_inf)
    var = (var + var.T) / 2.0
    return FitResult(st, st0, var, it, converged)


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
    chz = _between(A, _prefix(st.a))
    chx = _between(A, _prefix(HX))
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
    rv = _gram(D, D)
    return (rv + rv.T) / 2.0


def robust_score_test(A: CoxArrays, st0: FitState, cluster: np.ndarray | None,
                      ncluster: int) -> float:
    """R's ``rscore``: u' (T'T)^-1 u with T the weighted score residuals at beta = 0."""
    T = score_residuals(A, st0)
    T *= A.w
    T = group_sum(T, None if cluster is None else cluster[A.order], ncluster)
    u = T.sum(axis=1)
    # R's coxph.wtest: a generalised inverse when T'T is singular
    return float(u @ np.linalg.pinv(_gram(T, T), hermitian=True) @ u)


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
    u2 = _mv(A.XTd, A.wd * gtime[A.didx]) - _mv(st.S1, st.a * gk)
    if st.b is not None:
        u2 += _mv(st.D1, (st.b * gk)[A.tk])
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
# Concordance (R's concordancefit with reverse=TRUE, timewt="n")
# ---------------------------------------------------------------------------------------
def concordance(stop: np.ndarray, start: np.ndarray | None, event: np.ndarray,
                w: np.ndarray, strata: np.ndarray | None, lp: np.ndarray,
                cluster: np.ndarray | None = None) -> tuple[float, float, np.ndarray]:
    """Harrell's C of the linear predictor and R's standard error.

    Pairs: an event at t against every row at risk at t (start < t <= stop, same
    stratum) that is not itself an event at t; a row censored at t counts as surviving
    longer. Pair weight w_event * w_other. Ties on `lp` count 1/2; ties on time are
    excluded. The variance is R's (``concordancefit``): the sum of squared per-row (or
    per-cluster) influence values ``((I_conc - I_disc) - (I_conc + I_disc + I_tied) *
    somers_d) * w / (2 * npair)``.

    Returns ``(C, se, counts)`` with counts = concordant, discordant, tied_x, tied_y,
    tied_xy (weighted, as R's ``fit$concordance``). Rows sorted by stop time sort
    fastest (the fitted model passes them so).

    Algorithm (O(n log m) for m distinct values of `lp`, no Python loop over rows):
    one sort puts every row on a reverse-time "timeline" (it enters the comparison set
    at its stop time, an event row queries the set there, and in counting-process data
    it leaves at its start time). For every event we need the weight of comparators with
    a smaller `lp`, and for every comparator the weight of the events it meets that have
    a smaller `lp`. Both are dominance counts, done wavelet-style: for each bit of the
    rank of `lp`, from the top, a cumulative sum within each group of equal higher bits
    gives the contributions of pairs that first differ at that bit, and a stable
    partition on the bit (keeping time order) forms the next groups. Totals and ties
    come from the same cumulative sums at the first and last level. Events tied on
    time are placed next to each other in `lp` order and the pairs among them removed
    afterwards.
    """
    n = stop.size
    # work on the rows in reverse order: the timeline (reverse time) then sorts fast
    stop = stop[::-1]
    start = None if start is None else start[::-1]
    ev = event[::-1].astype(bool)
    w = np.asarray(w[::-1], dtype=np.float64)
    # one stratum: a read-only broadcast zero, no memory
    g = (np.broadcast_to(np.int64(0), (n,)) if strata is None
         else strata[::-1].astype(np.int64))
    xr = np.unique(lp[::-1], return_inverse=True)[1].astype(np.int64).reshape(-1)
    bx = max(1, int(xr.max()).bit_length())

    u = np.unique(stop)
    U = int(u.size)
    bt = (U + 1).bit_length()
    bg = max(1, int(g.max()).bit_length())
    tr_stop = U - np.searchsorted(u, stop, side="right")  # 0 = latest time
    cls = np.where(ev, 2, 0)
    counting = start is not None
    if counting:
        tr_start = U - np.searchsorted(u, start, side="right")
    del u
    if bg + bt + 2 + bx <= 62:
        key = (((g << bt | tr_stop) << 2 | cls) << bx) | xr
        if counting:
            krem = ((g << bt | tr_start) << 2 | 1) << bx
            key = np.concatenate((key, krem))
        perm = np.argsort(key, kind="stable")
        del key
    else:  # pragma: no cover - more than ~2^60 combinations
        if counting:
            perm = np.lexsort((np.concatenate((xr, np.zeros(n, np.int64))),
                               np.concatenate((cls, np.ones(n, np.int64))),
                               np.concatenate((tr_stop, tr_start)),
                               np.concatenate((g, g))))
        else:
            perm = np.lexsort((xr, cls, tr_stop, g))
    del cls
    item_row = perm % n if counting else perm
    is_rem = perm >= n if counting else np.zeros(perm.size, dtype=bool)
    del perm
    wi = w[item_row]
    isd = ev[item_row] & ~is_rem
    # a row that never leaves before the last event of its stratum needs no REM item:
    # it meets every later event of the group (flag 1: "until the group end")
    if counting:
        big = np.iinfo(np.int64).max
        first_ev = np.full(int(g.max()) + 1, big, dtype=np.int64)  # reverse-time rank
        np.minimum.at(first_ev, g[ev], -tr_stop[ev])
        # REM at start s is followed by events at times <= s: tr_stop >= tr_start
        leaves = -first_ev[g] >= tr_start  # some event at or before the start time
        leaves_i = leaves[item_row]
        keep = ~is_rem | leaves_i
        if not keep.all():
            item_row, is_rem, wi, isd = item_row[keep], is_rem[keep], wi[keep], isd[keep]
            leaves_i = leaves_i[keep]
        flag = ~is_rem & ~leaves_i
    else:
        flag = np.ones(item_row.size, dtype=bool)
    # exact integer arithmetic when the weights are whole numbers (half the memory)
    intw = bool(np.all(w == np.floor(w))) and float(w.sum()) < 2.0**30
    fdt = np.int32 if intw else np.float64
    wi = wi.astype(fdt)
    cfl = np.where(is_rem, -wi, wi)           # comparator flow (REM leaves the set)
    qfl = np.where(isd, wi, 0).astype(fdt)    # query flow (event rows)
    N = item_row.size
    kdt = np.int32 if bg + bx + 1 <= 31 and N < 2**31 else np.int64
    kx = ((((g[item_row] << bx) | xr[item_row]) << 1) | flag).astype(kdt)
    item_row = item_row.astype(kdt)
    del is_rem, wi, flag
    ar = np.arange(N, dtype=kdt)

    def bounds(grp):
        """First and last position of each item's group (groups are contiguous)."""
        brk = np.empty(N, dtype=bool)
        brk[0] = True
        np.not_equal(grp[1:], grp[:-1], out=brk[1:])
        st_of = np.maximum.accumulate(np.where(brk, ar, 0))
        last = np.empty(N, dtype=bool)
        last[-1] = True
        last[:-1] = brk[1:]
        en_of = np.minimum.accumulate(np.where(last, ar, N)[::-1])[::-1]
        return st_of, en_of

    def level_sums(cf, qf, st_of, en_of, rem, flg):
        """Query role: comparator flow before the item in its group; comparator role:
        event flow after it (until its REM item, or the group end)."""
        C = np.cumsum(cf, dtype=fdt)
        C -= cf
        vq = C - C[st_of]
        Q = np.cumsum(qf, dtype=fdt)
        if not counting:  # every row stays until the group end
            return vq, Q[en_of] - Q  # inclusive: an event row is not its own partner
        vc = -Q
        np.copyto(vc, Q, where=rem)  # +Q where the row leaves
        vc += np.where(flg, Q[en_of], 0)
        return vq, vc

    # totals over the stratum (initial order: no permutation needed)
    st_of, en_of = bounds(kx >> (bx + 1))
    Td, Tc = level_sums(cfl, qfl, st_of, en_of, cfl < 0, (kx & 1) == 1)
    Rd = np.bincount(item_row, weights=np.where(isd, Td, 0), minlength=n)
    Rc = np.bincount(item_row, weights=Tc, minlength=n)
    del Td, Tc

    def level(lev, live, spare):
        """Add the pairs that first differ at bit `lev` to acc (in `live`), then
        partition `live` stably on that bit within each group, into `spare`."""
        kx, cfl, qfl, item_row, acc = live
        bitk = (kx >> (lev + 1)) & 1
        nbk = 1 - bitk
        b1 = bitk if fdt is kdt else bitk.astype(fdt)
        nb = nbk if fdt is kdt else nbk.astype(fdt)
        st_of, en_of = bounds(kx >> (lev + 2))
        vq, vc = level_sums(cfl * nb, qfl * nb, st_of, en_of,
                            cfl < 0 if counting else None, (kx & 1) == 1)
        # bit-1 items only: comparators meet bit-0 events; events meet bit-0 comparators
        vq *= qfl > 0
        vc -= vq
        vc *= b1
        acc += vc
        # stable partition on the bit within each group
        Z = np.cumsum(nbk, dtype=kdt)
        zb = Z[st_of] - nbk[st_of]
        n0 = Z[en_of] - zb
        newpos = np.where(nbk.astype(bool), Z - 1 - zb + st_of, n0 + ar - Z + zb)
        for src, dst in zip(live, spare):
            dst[newpos] = src

    acc = np.zeros(N, dtype=fdt)  # per item: Pc - Pq (comparator minus query "smaller")
    live = [kx, cfl, qfl, item_row, acc]
    spare = [np.empty_like(x) for x in live]  # double buffers for the partitions
    del kx, cfl, qfl, item_row, acc
    for lev in range(bx - 1, -1, -1):
        level(lev, live, spare)
        live, spare = spare, live
    del spare
    kx, cfl, qfl, item_row, acc = live
    del live
    st_of, en_of = bounds(kx >> 1)
    isd = qfl > 0
    tied_d, tied_c = level_sums(cfl, qfl, st_of, en_of, cfl < 0, (kx & 1) == 1)
    Rtd = np.bincount(item_row, weights=np.where(isd, tied_d, 0), minlength=n)
    Rtc = np.bincount(item_row, weights=tied_c, minlength=n)
    Racc = np.bincount(item_row, weights=acc, minlength=n)  # Pc - Pq
    del kx, cfl, qfl, item_row, acc, st_of, en_of, tied_d, tied_c, isd, ar

    # remove pairs among events tied on (stratum, time): they sit together, lp ascending
    ty = txy = 0.0
    e_rows = np.flatnonzero(ev)
    if e_rows.size:
        eo = np.lexsort((xr[e_rows], tr_stop[e_rows], g[e_rows]))
        er = e_rows[eo]
        ew = w[er]
        b_new = np.empty(er.size, dtype=bool)
        b_new[0] = True
        b_new[1:] = (g[er][1:] != g[er][:-1]) | (tr_stop[er][1:] != tr_stop[er][:-1])
        x_new = b_new.copy()
        x_new[1:] |= xr[er][1:] != xr[er][:-1]
        cw = np.cumsum(ew)
        cex = cw - ew

        def within(flags):
            starts = np.flatnonzero(flags)
            sizes = np.diff(np.append(starts, er.size))
            st = np.repeat(starts, sizes)
            en = st + np.repeat(sizes - 1, sizes)
            tot = np.add.reduceat(ew, starts)
            sq = np.add.reduceat(ew * ew, starts)
            pairs = float(((tot * tot - sq) / 2.0).sum())
            return cex - cex[st], cw[en] - cw, pairs   # before / after in the block

        b_before, b_after, ty = within(b_new)
        x_before, x_after, txy = within(x_new)
        Rd[er] -= b_before
        Rtd[er] -= x_before
        Rc[er] -= b_after
        Rtc[er] -= x_after
        Racc[er] += b_before - x_before      # earlier in the block with a smaller lp
        del eo, er, ew, cw, cex, b_before, b_after, x_before, x_after
    del e_rows, xr, tr_stop, g

    wev = np.where(ev, w, 0.0)
    npair = _dot(wev, Rd)
    c_tied = _dot(wev, Rtd)
    del wev
    # sum_w (Pc - Pq) = pairs where the event's partner has a larger lp minus smaller
    sdiff = _dot(w, Racc)
    c_conc_raw = (npair - c_tied + sdiff) / 2.0  # the event's partner has a larger lp
    c_disc_raw = (npair - c_tied - sdiff) / 2.0  # ... a smaller lp
    # reverse=TRUE: a higher risk score should go with a shorter time
    counts = np.array([c_disc_raw, c_conc_raw, c_tied, ty - txy, txy])
    if npair <= 0:
        return float("nan"), float("nan"), counts
    somer = (c_conc_raw - c_disc_raw) / npair
    # dfb = (diff - total * somer) * w / (2 npair) with diff = (Rd - Rtd) - (Rc - Rtc)
    # + 2 Racc (I_conc - I_disc, raw orientation) and total = Rd + Rc (I_conc + I_disc
    # + I_tied); the same operations, in place
    total = Rd + Rc
    dfb = np.subtract(Rd, Rtd, out=Rd)
    dfb -= np.subtract(Rc, Rtc, out=Rc)
    Racc *= 2.0
    dfb += Racc
    total *= somer
    dfb -= total
    dfb *= w
    dfb /= 2.0 * npair
    if cluster is not None:
        dfb = np.bincount(cluster[::-1], weights=dfb)
    return 1.0 - (somer + 1.0) / 2.0, float(np.sqrt(_dot(dfb, dfb))), counts


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
    CK = _prefix(inc)
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
    V = _prefix(st.c0 * (s * s))
    X = _prefix(HX * s)
    return V[hi] - V[fs], X[:, hi] - X[:, fs]
