"""Array cores of the competing-risks estimators (they trust their inputs).

Everything here is vectorised numpy over the *distinct times* (or the sorted subjects):
cumulative sums and products replace the loops over subjects and event times of the
reference implementations. The public layer (``competing.py``) validates the data,
codes causes as 1..K (0 = censored) and groups as 0..G-1, and calls in here.

* :func:`aj_counts` - risk sets and events per (group, distinct time, cause);
* :func:`aj_curves` - Aalen-Johansen state probabilities with the infinitesimal-jackknife
  (IJ) variance of R's multi-state ``survfit`` computed in linear time, and the variance of
  ``cmprsk::cuminc`` (Gray's ``cinc``);
* :func:`gray_scores` - Gray's (1988) K-sample score and its variance (``cmprsk`` ``crst``);
* :func:`crr_*` - Fine-Gray (1999) estimating equations, information and sandwich
  variance, as ``cmprsk::crr`` (``crrfsv``, ``crrf``, ``crrvv``);
* :func:`finegray_rows` - the counting-process expansion of ``survival::finegray``.
"""
from __future__ import annotations

import numpy as np

from ._common import near_tie_heads

# Counting path (bincount on whole-number times) when the bins are at most n + this.
_BIN_SLACK = 4096
_BIN_MAX_TIME = 1 << 26
_EPS = float(np.finfo(np.float64).eps)


# ---------------------------------------------------------------------------------------
# Counts per (group, distinct time, cause)
# ---------------------------------------------------------------------------------------
def time_index(t: np.ndarray, tmin: float, tmax: float, n_bins_per_time: int,
               timefix: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Integer index of each time among the distinct times, and the distinct time grid.

    Whole-number times in a modest range are binned directly (the grid then also holds
    unobserved whole numbers; callers drop empty bins); anything else goes through one
    sort (``np.unique``). With `timefix`, distinct times closer than sqrt(eps) (absolute,
    or relative to the mean distinct time) are merged onto the first of them, as R's
    ``aeqSurv`` (never needed for whole numbers below 2^26).
    """
    n = t.size
    span = tmax - tmin
    if span < _BIN_MAX_TIME and (span + 1) * n_bins_per_time <= 2 * n + _BIN_SLACK:
        if t.dtype.kind in "iu":
            ti = (t - int(tmin)).astype(np.intp, copy=False)
            return ti, np.arange(int(tmin), int(tmax) + 1, dtype=np.float64)
        lo = np.floor(tmin)
        if lo == tmin:
            ti = (t - lo).astype(np.intp)
            if np.array_equal(ti + lo, t):
                return ti, lo + np.arange(ti.max() + 1, dtype=np.float64)
    grid, inv = np.unique(t, return_inverse=True)
    inv = inv.astype(np.intp, copy=False).reshape(-1)
    grid = grid.astype(np.float64)
    head = near_tie_heads(grid) if timefix else None
    if head is not None:
        inv = (np.cumsum(head) - 1)[inv]
        grid = grid[head]
    return inv, grid


def aj_counts(t, status, codes, n_causes, n_groups, tmin, tmax, timefix=True):
    """Risk sets and events per (group, distinct time).

    Returns ``time, n_risk, n_event (rows x K), n_censor, bounds`` with rows sorted by
    group then time (only times observed in the group), ``bounds`` the group row ranges.
    """
    k1 = n_causes + 1
    ti, grid = time_index(t, tmin, tmax, n_groups * k1, timefix)
    width = grid.size
    key = ti * k1 + status
    if codes is not None:
        key += codes * (width * k1)
    tab = np.bincount(key, minlength=n_groups * width * k1).reshape(n_groups, width, k1)
    tot = tab.sum(axis=2)
    at_or_after = np.cumsum(tot[:, ::-1], axis=1)[:, ::-1]
    gi, tj = np.nonzero(tot)
    bounds = np.searchsorted(gi, np.arange(n_groups + 1)).astype(np.intp)
    sel = tab[gi, tj]
    return grid[tj], at_or_after[gi, tj], sel[:, 1:], sel[:, 0], bounds


# ---------------------------------------------------------------------------------------
# Aalen-Johansen curves and their variances
# ---------------------------------------------------------------------------------------
def _shift(x: np.ndarray, fill: float) -> np.ndarray:
    """x lagged by one row (first row = fill)."""
    out = np.empty_like(x)
    out[0] = fill
    out[1:] = x[:-1]
    return out


def _exclusive_cumsum(x: np.ndarray) -> np.ndarray:
    """Cumulative sum along the last axis over the entries strictly before each one."""
    out = np.zeros_like(x)
    if x.shape[-1] > 1:
        np.cumsum(x[..., :-1], axis=-1, out=out[..., 1:])
    return out


def aj_curves(n_risk, n_event, n_censor, variance: str):
    """Aalen-Johansen state probabilities and standard errors for one group.

    Parameters
    ----------
    n_risk, n_censor : (J,) arrays; n_event : (J, K) array, for the group's distinct times.
    variance : ``"aalen-johansen-ij"`` or ``"cuminc"``.

    Returns
    -------
    p0, se0 : (J,) event-free probability and its standard error;
    cif, se : (K, J) cumulative incidences and their standard errors (cause-major).

    Notes
    -----
    IJ variance (R ``survfit``, multi-state, no id, unit weights): with h_j = d_j/n_j the
    all-cause hazard, p0 the event-free probability and P_k the CIFs, subject i's
    influence obeys U_i(t_j) = U_i(t_{j-1}) H_j + p0(t_{j-1}) dH_ij, where H_j = I + dA_j
    and dA_ij = (dN_ij - Y_ij dA_j)/n_j (survival's ``survfitci.c``). All subjects still
    at risk share one influence (f for the event-free state, g_k for cause k), subjects
    who leave at t_m with the same status share one, and afterwards a subject's influence
    is affine in the CIF: U_k,i(t) = alpha_i + b_i P_k(t), U_0,i(t) = b_i p0(t). So
    sum_i U_i(t)^2 is n_j g_j^2 (plus a correction for this time's events) plus
    A2 + 2 P_k A1 + P_k^2 B2 where A2, A1, B2 are cumulative sums over earlier exits -
    linear in the number of distinct times, with f_j = p0_j * sum d/(n(n-d)) (Greenwood).
    """
    n = n_risk.astype(np.float64)
    dkT = np.ascontiguousarray(n_event.T, dtype=np.float64)   # (K, J): cause-major
    d = dkT.sum(axis=0)
    c = n_censor.astype(np.float64)
    inv_n = 1.0 / n
    p0 = np.cumprod(1.0 - d * inv_n)
    p0prev = _shift(p0, 1.0)
    jump = p0prev * inv_n                                  # p0(t-)/n_j
    hk = dkT * inv_n                                       # (K, J) cause hazards
    cif = np.cumsum(hk * p0prev, axis=1)
    if variance == "cuminc":
        se = np.sqrt(_cuminc_var(n, dkT.T, d, p0prev, p0, cif.T)).T
        # event-free state: Greenwood, the single-state survfit/KM variance
        with np.errstate(divide="ignore", invalid="ignore"):
            green = np.cumsum(d / (n * (n - d)))
            se0 = np.where(p0 > 0, p0 * np.sqrt(green), np.nan)
        return p0, se0, cif, se
    alive = n > d                                          # false only at a last time
    nd = n - d
    zero = np.zeros_like(n)
    gw = np.cumsum(np.divide(d, n * nd, out=zero.copy(), where=alive))
    f = np.where(alive, p0 * gw, jump)
    g = np.cumsum(hk * (_shift(f, 0.0) - jump), axis=1)    # (K, J)
    # influences of those who left at t_m: b = U_0/p0 for censored / any event
    b_c = np.where(alive, gw, 0.0)
    b_e = b_c - np.divide(1.0, nd, out=zero, where=alive)
    alpha_c = g - b_c * cif
    alpha_e = g - b_e * cif                                # + jump for the own cause
    a2 = c * alpha_c**2 + (d - dkT) * alpha_e**2 + dkT * (alpha_e + jump)**2
    a1 = (b_c * c) * alpha_c + b_e * (d * alpha_e + dkT * jump)
    b2 = c * b_c**2 + d * b_e**2
    A2 = _exclusive_cumsum(a2)
    A1 = _exclusive_cumsum(a1)
    B2 = _exclusive_cumsum(b2)
    # still at risk at t_j (sums of squares, no cancellation) + left before t_j
    var = (n - dkT) * g**2 + dkT * (g + jump)**2 + A2 + cif * (2.0 * A1 + cif * B2)
    var0 = nd * f**2 + d * (f - jump)**2 + p0**2 * B2
    np.maximum(var, 0.0, out=var)
    var0 = np.maximum(var0, 0.0)
    # Exact identity: influences sum to zero over states, and a cause without events has
    # none, so with a single active cause U_k = -U_0. Using it avoids the cancellation of
    # the expanded squares where that CIF reaches 1 (true variance 0).
    active = np.flatnonzero(dkT.any(axis=1))
    if active.size == 1:
        var[active[0]] = var0
    return p0, np.sqrt(var0), cif, np.sqrt(var)


def _cuminc_var(n, dk, d, p0prev, p0, cif):
    """Variance of cmprsk::cuminc (Gray's ``cinc``), per time and cause.

    For each time with events, increments (t4^2, t3 t4, t3^2) * t6 of three running sums
    v1, v2, v3 come from the other causes (t3 = 1/S, t4 = F/S) and from the cause itself
    (t3 = 1/S or 0 when S = 0, t4 = 1 + t3 F), with t6 = S(t-)^2 t5 d/n^2 and the tie
    factor t5 = 1 - (d - 1)/(n - 1); var = v1 + F^2 v3 - 2 F v2 is recorded at the
    cause's own event times and carried forward (as ``timepoints`` reads it).
    """
    nd1 = dk
    nd2 = d[:, None] - dk
    fk2 = (p0prev**2 / n**2)[:, None]
    fkn = p0[:, None]
    pos = fkn > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(pos, 1.0 / fkn, 0.0)
        n1 = (n - 1.0)[:, None]
        t5_2 = np.where(nd2 > 1, 1.0 - (nd2 - 1.0) / n1, 1.0)
        t5_1 = np.where(nd1 > 1, 1.0 - (nd1 - 1.0) / n1, 1.0)
    t6_2 = np.where((nd2 > 0) & pos, fk2 * t5_2 * nd2, 0.0)
    t6_1 = np.where(nd1 > 0, fk2 * t5_1 * nd1, 0.0)
    t4_2 = cif * inv
    t4_1 = 1.0 + inv * cif
    v1 = np.cumsum(t4_2 * t4_2 * t6_2 + t4_1 * t4_1 * t6_1, axis=0)
    v2 = np.cumsum(inv * t4_2 * t6_2 + inv * t4_1 * t6_1, axis=0)
    v3 = np.cumsum(inv * inv * (t6_2 + t6_1), axis=0)
    var = v1 + cif * cif * v3 - 2.0 * cif * v2
    # keep the value at the last event time of the cause (0 before the first)
    rows = np.arange(var.shape[0])[:, None]
    last = np.maximum.accumulate(np.where(nd1 > 0, rows, -1), axis=0)
    out = np.take_along_axis(var, np.maximum(last, 0), axis=0)
    return np.where(last >= 0, out, 0.0)


# ---------------------------------------------------------------------------------------
# Gray's K-sample test (one stratum)
# ---------------------------------------------------------------------------------------
def gray_scores(t, m, codes, n_groups, rho=0.0):
    """Score vector (first G-1 groups) and its covariance for one cause in one stratum.

    ``m`` is 0 = censored, 1 = the cause tested, 2 = any other cause; ``codes`` the groups
    0..G-1. Follows cmprsk's ``crst`` (Gray 1988) step by step, vectorised over the
    distinct event times: per-group risk sets, left-continuous KM and CIF, the pooled
    estimate F, the weight matrices a(t) and their running sum c(t), then the variance
    sums over times.
    """
    G = n_groups
    ti, grid = time_index(t, float(t.min()), float(t.max()), G * 3)
    width = grid.size
    tab = np.bincount((codes * width + ti) * 3 + m, minlength=G * width * 3)
    tab = tab.reshape(G, width, 3).transpose(1, 0, 2)          # (time, group, status)
    tot = tab.sum(axis=2)
    rs_all = np.cumsum(tot[::-1], axis=0)[::-1]                 # at risk, by group
    ev = (tab[:, :, 1] + tab[:, :, 2]).sum(axis=1) > 0
    rs = rs_all[ev].astype(np.float64)                          # (J, G), event times only
    d1 = tab[ev, :, 1].astype(np.float64)
    d2 = tab[ev, :, 2].astype(np.float64)
    td = d1 + d2
    nd1 = d1.sum(axis=1)
    nd2 = d2.sum(axis=1)
    live = rs > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        fac = np.where(live, (rs - td) / rs, 1.0)
        skm = np.cumprod(fac, axis=0)
        skmm = _shift(skm, 1.0) if skm.shape[0] else skm
        f1 = np.cumsum(np.where(live, skmm * d1 / rs, 0.0), axis=0)
        f1m = _shift(f1, 0.0) if f1.shape[0] else f1
        t1 = np.where(live, rs / skmm, 0.0)                     # (J, G)
        tr = t1.sum(axis=1)
        tq = np.where(live, rs * (1.0 - f1m) / skmm, 0.0).sum(axis=1)
        step = nd1 / tr
        f = np.cumsum(step)
        fm = _shift(f, 0.0) if f.shape[0] else f
        fb = (1.0 - fm) ** rho
        # a(t) = fb (diag(t1) - t1 t1'/tr), built in place (J x G x G)
        a = t1[:, :, None] * t1[:, None, :]
        a *= (-fb / tr)[:, None, None]
        diag = np.arange(G)
        a[:, diag, diag] += fb[:, None] * t1
        scale = nd1 / (tr * (1.0 - fm))
        if np.isfinite(scale).all():
            c = np.cumsum(a * scale[:, None, None], axis=0)
        else:   # F(t-) = 1: cmprsk 2.2-12 skips the a = 0 entries (0 * Inf)
            c = np.cumsum(np.where(a != 0, a * scale[:, None, None], 0.0), axis=0)
        s = (fb[:, None] * np.where(live, d1 - nd1[:, None] * rs * (1.0 - f1m)
                                    / (skmm * tq[:, None]), 0.0)).sum(axis=0)[: G - 1]
        # part 1: events of the tested cause
        p1 = (nd1 > 0)[:, None] & live
        t4 = np.where(skm > 0, 1.0 - (1.0 - f[:, None]) / skm, 1.0)
        t5 = np.where(nd1[:, None] > 1, 1.0 - (nd1[:, None] - 1.0) / (tr[:, None] * skmm - 1.0),
                      1.0)
        t3 = np.where(p1, t5 * skmm * nd1[:, None] / (tr[:, None] * rs), 0.0)
        # part 2: events of the other causes
        p2 = (nd2 > 0)[:, None] & (skm > 0) & (d2 > 0)
        u4 = np.where(p2, (1.0 - f[:, None]) / skm, 0.0)
        u5 = np.where(d2 > 1, 1.0 - (d2 - 1.0) / (rs - 1.0), 1.0)
        u3 = np.where(p2, u5 * skmm**2 * d2 / rs**2, 0.0)
    t4 = np.where(p1, t4, 0.0)
    v3 = (t4 * t4 * t3 + u4 * u4 * u3).sum(axis=0)                # (G,)
    ai = a[:, : G - 1, :]
    ci = c[:, : G - 1, :]
    T1 = ai - t4[:, None, :] * ci                                 # (J, G-1, G)
    v2 = (T1 * (t4 * t3)[:, None, :]).sum(axis=0) - (ci * (u4 * u4 * u3)[:, None, :]).sum(axis=0)
    v = (np.tensordot(T1 * t3[:, None, :], T1, axes=([0, 2], [0, 2]))
         + np.tensordot(ci * (u4 * u4 * u3)[:, None, :], ci, axes=([0, 2], [0, 2])))
    cf = c[-1, : G - 1, :] if c.shape[0] else np.zeros((G - 1, G))
    v = v + (cf * v3) @ cf.T + cf @ v2.T + v2 @ cf.T
    return s, v


# ---------------------------------------------------------------------------------------
# Fine-Gray regression as cmprsk::crr (single censoring group, fixed covariates)
# ---------------------------------------------------------------------------------------
class CrrData:
    """Sorted data and the pieces of crr's estimating equations that do not depend on b.

    Rows are sorted by time (stable). ``st`` is 1 = failure of interest, 2 = other
    failure, 0 = censored; ``x`` the covariates centred at their means (this changes
    neither the estimate, the likelihood nor the variance, and keeps the risk-set
    covariance free of cancellation); ``wt`` the censoring KM at T_i- (crr's ``uuu``).
    """

    def __init__(self, t, st, x):
        order = np.argsort(t, kind="stable")
        self.t = t = t[order].astype(np.float64)
        self.st = st = st[order]
        x = x[order].astype(np.float64)
        self.center = x.mean(axis=0)
        self.x = x - self.center
        n = t.size
        # censoring KM (survfit(Surv(t, st == 0)) : failures at t stay at risk at t)
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.not_equal(t[1:], t[:-1], out=new[1:])
        first = np.flatnonzero(new)                      # first row of each distinct time
        u = t[first]
        nrisk = n - first
        ncens = np.add.reduceat((st == 0).astype(np.float64), first)
        G = np.cumprod(1.0 - ncens / nrisk)
        # crr: approx(c(min(0,u)-10eps, u, ...), c(1, G, 0), xout = t (1 - 100 eps),
        #      method="constant", f=0, rule=2): the KM at the last distinct time <= xout
        xout = t * (1.0 - 100.0 * _EPS)
        pos = np.searchsorted(u, xout, side="right") - 1
        self.wt = np.where(pos >= 0, G[np.maximum(pos, 0)], 1.0)
        self.first_of_row = np.repeat(first, np.diff(np.append(first, n)))
        self.nrisk_row = n - self.first_of_row           # #{T >= T_i}
        # distinct failure times of interest
        ev = st == 1
        ev_first = np.unique(self.first_of_row[ev])
        self.ev_first = ev_first                          # first sorted row at each tau
        self.m = np.bincount(np.searchsorted(ev_first, self.first_of_row[ev]),
                             minlength=ev_first.size).astype(np.float64)
        self.W = self.wt[ev_first]                        # G(tau-)
        self.comp = st == 2
        self.inv_wt_comp = np.where(self.comp, 1.0 / self.wt, 0.0)
        self.sum_x_events = self.x[ev].sum(axis=0)
        self.n_events = int(ev.sum())

    # -- risk-set sums at the failure times -------------------------------------------
    def _sums(self, b, order: int):
        x = self.x
        eta = x @ b
        shift = eta.max() if eta.size else 0.0
        e = np.exp(eta - shift)
        ec = e * self.inv_wt_comp                        # competing: e_i / G(T_i-)
        k = self.ev_first
        W = self.W
        # sum over T_i >= tau (reverse cumsum at the first row of tau) + W_tau times the
        # sum over competing failures with T_i < tau (exclusive forward cumsum)
        def at_risk(v, vc):
            rev = np.cumsum(v[::-1], axis=0)[::-1]
            fwd = np.cumsum(vc, axis=0) - vc
            if v.ndim == 1:
                return rev[k] + W * fwd[k]
            return rev[k] + W.reshape((-1,) + (1,) * (v.ndim - 1)) * fwd[k]
        S0 = at_risk(e, ec)
        if order == 0:
            return shift, e, S0, None, None
        S1 = at_risk(e[:, None] * x, ec[:, None] * x)
        if order == 1:
            return shift, e, S0, S1, None
        xx = x[:, :, None] * x[:, None, :]
        S2 = at_risk(e[:, None, None] * xx, ec[:, None, None] * xx)
        return shift, e, S0, S1, S2

    def neg_loglik(self, b) -> float:
        """crr's ``crrf``: minus the log pseudo-likelihood (Breslow ties)."""
        shift, _, S0, _, _ = self._sums(b, 0)
        return float(-self.sum_x_events @ b + self.m @ (np.log(S0) + shift))

    def value_score_hessian(self, b):
        """crr's ``crrfsv``: minus log pseudo-likelihood, its gradient and Hessian."""
        shift, _, S0, S1, S2 = self._sums(b, 2)
        lik = float(-self.sum_x_events @ b + self.m @ (np.log(S0) + shift))
        xbar = S1 / S0[:, None]
        score = -self.sum_x_events + self.m @ xbar
        w = self.m / S0
        hess = np.einsum("j,jkl->kl", w, S2) - np.einsum("j,jk,jl->kl", self.m, xbar, xbar)
        return lik, score, hess

    def sandwich_middle(self, b):
        """crr's ``crrvv`` second matrix: sum_i (eta_i + psi_i)(eta_i + psi_i)'.

        eta_i is the subject's term of the estimating equation (its own failure minus
        its share of each risk set it belongs to, with weight G(tau-)/G(T_i-) after a
        competing failure); psi_i the term for estimating G (Fine & Gray 1999, q(u)/R(u)).
        """
        x, st, t = self.x, self.st, self.t
        n, p = x.shape
        shift, e, S0, S1, _ = self._sums(b, 1)
        xbar = S1 / S0[:, None]
        D0 = self.m / S0                                  # per failure time tau
        D1 = D0[:, None] * xbar
        k = self.ev_first
        # position of each row among the failure times: number of taus <= T_i
        tau = t[k]
        n_le = np.searchsorted(tau, t, side="right")
        C0 = np.concatenate(([0.0], np.cumsum(D0)))[n_le]
        C1 = np.vstack((np.zeros((1, p)), np.cumsum(D1, axis=0)))[n_le]
        WD0 = self.W * D0
        WD1 = self.W[:, None] * D1
        R0 = np.concatenate((np.cumsum(WD0[::-1])[::-1], [0.0]))       # sum over tau >= .
        R1 = np.vstack((np.cumsum(WD1[::-1], axis=0)[::-1], np.zeros((1, p))))
        # competing failures: sum over tau > T_i = R at index n_le
        eta = -e[:, None] * (x * C0[:, None] - C1)
        comp = self.comp
        ec = e * self.inv_wt_comp
        eta[comp] -= ec[comp, None] * (x[comp] * R0[n_le[comp], None] - R1[n_le[comp]])
        ev = st == 1
        idx_tau = n_le[ev] - 1
        eta[ev] += x[ev] - xbar[idx_tau]
        # psi: censoring-distribution term. q(u) at the distinct censoring times u
        cens = st == 0
        psi = np.zeros((n, p))
        if cens.any():
            first_c = np.unique(self.first_of_row[cens])          # first row at each u
            cnt = np.bincount(np.searchsorted(first_c, self.first_of_row[cens]),
                              minlength=first_c.size).astype(np.float64)
            u = t[first_c]
            R = (n - first_c).astype(np.float64)
            # A(u): competing failures with T < u, weights e/G(T-)
            A0 = (np.cumsum(ec) - ec)[first_c]
            A1 = (np.cumsum(ec[:, None] * x, axis=0) - ec[:, None] * x)[first_c]
            # B(u): failure times tau >= u
            ge = np.searchsorted(tau, u, side="left")
            q = A1 * R0[ge, None] - A0[:, None] * R1[ge]
            # psi_i = 1[censored] q(T_i)/R(T_i) - sum_{u <= T_i} c_u q(u)/R(u)^2
            incr = np.cumsum(cnt[:, None] * q / (R * R)[:, None], axis=0)
            nc_le = np.searchsorted(u, t, side="right")
            psi -= np.vstack((np.zeros((1, p)), incr))[nc_le]
            iu = np.searchsorted(u, t[cens])
            psi[cens] += q[iu] / R[iu, None]
        r = eta + psi
        return r.T @ r


def crr_fit(data: CrrData, init, maxiter: int = 10, gtol: float = 1e-6):
    """Newton-Raphson with backtracking exactly as ``cmprsk::crr`` (same start, steps,
    step-halving rule and stopping rule). Returns b, lik, score, hessian, converged, iters.
    """
    b = np.array(init, dtype=np.float64)
    stepf = 0.5
    converged = False
    it = 0
    for ll in range(maxiter + 1):
        lik, score, hess = data.value_score_hessian(b)
        it = ll
        if np.max(np.abs(score) * np.maximum(np.abs(b), 1.0)) < max(abs(lik), 1.0) * gtol:
            converged = True
            break
        if ll == maxiter:
            break
        sc = -np.linalg.solve(hess, score)
        bn = b + sc
        fbn = data.neg_loglik(bn)
        i = 0
        while not np.isfinite(fbn) or fbn > lik + 1e-4 * float(sc @ score):
            i += 1
            sc = sc * stepf
            bn = b + sc
            fbn = data.neg_loglik(bn)
            if i > 20:
                break
        if i > 20:
            break
        b = bn
    return b, lik, score, hess, converged, it


# ---------------------------------------------------------------------------------------
# survival::finegray expansion (right-censored data, one stratum)
# ---------------------------------------------------------------------------------------
def finegray_rows(t, status, enum: int, timefix: bool = True, max_rows: int | None = None):
    """Rows of ``survival::finegray`` for right-censored data.

    ``status`` is 0 = censored, else the state number; ``enum`` the event of interest.
    Returns ``row`` (index into the input, each input row then its added rows),
    ``start``, ``stop``, ``wt`` and ``fgstatus``.

    As survival (3.5): the censoring KM G is computed with failures leaving the risk set
    just before censorings at the same time; a competing-event row is extended with
    weight 1 to the next censoring time (or the last follow-up time) and then gets one
    row per later censoring interval that contains an event of interest, weight
    G(interval start)/G(T_i-).
    """
    n = t.size
    tmin = float(t.min())
    zero = 0.0 if tmin > 0 else 2.0 * tmin - 1.0
    # censoring KM with failures removed before censorings at a tie
    ti, grid = time_index(t, tmin, float(t.max()), 3, timefix)
    t = grid[ti]                                              # aeqSurv-merged times
    width = grid.size
    cens = status == 0
    tab = np.bincount(ti * 2 + cens, minlength=2 * width).reshape(width, 2)
    ncens = tab[:, 1].astype(np.float64)
    tot = tab.sum(axis=1)
    after = np.cumsum(tot[::-1])[::-1] - tot                  # T > t
    risk = after + ncens                                      # T > t or censored at t
    cj = np.flatnonzero(ncens > 0)
    ctime = grid[cj]
    cprob = np.cumprod(1.0 - ncens[cj] / risk[cj])
    maxtime = float(t.max())
    event_times = np.unique(t[status == enum])
    ct2 = np.append(ctime, maxtime)
    cp2 = np.concatenate(([1.0], cprob))
    M = ct2.size
    keep = np.zeros(M, dtype=bool)
    keep[0] = True
    iv = np.searchsorted(ct2, event_times, side="left")       # #{ct2 < t}
    keep[iv[(iv >= 1) & (iv < M)]] = True
    expand = (status != 0) & (status != enum)
    # per expanded row: j0 = first j with ct2[j] >= stop; added rows at kept j > j0
    j0 = np.searchsorted(ct2, t, side="left")
    kept_idx = np.flatnonzero(keep)
    kept_after = kept_idx.size - np.searchsorted(kept_idx, j0, side="right")
    n_add = np.where(expand, kept_after, 0)
    counts = 1 + n_add
    total = int(counts.sum())
    if max_rows is not None and total > max_rows:
        raise ValueError(
            f"the Fine-Gray expansion would have {total:,} rows (more than max_rows="
            f"{max_rows:,}): every competing-event row gets one row per later censoring "
            "interval holding an event of interest, which grows like n^2 with continuous "
            "times. Use fine_gray(method='crr') (linear time), round the times, or raise "
            "max_rows")
    row = np.repeat(np.arange(n), counts)
    offs = np.concatenate(([0], np.cumsum(counts)[:-1]))
    k_in_row = np.arange(total) - np.repeat(offs, counts)     # 0 = original row
    start = np.full(total, zero)
    stop = t[row].astype(np.float64)
    wt = np.ones(total)
    orig = offs
    ext = np.flatnonzero(expand)
    if ext.size:
        jj = j0[ext]
        stop[orig[ext]] = ct2[jj]
        added = k_in_row > 0
        r_add = row[added]
        pos = np.searchsorted(kept_idx, j0[r_add], side="right") + k_in_row[added] - 1
        j = kept_idx[pos]
        start[added] = ct2[j - 1]
        stop[added] = ct2[j]
        wt[added] = cp2[j] / cp2[j0[r_add]]
    fgstatus = (status[row] == enum).astype(np.int64)
    return row, start, stop, wt, fgstatus
