"""Numerics of the multi-state layer: long-format rows, Nelson–Aalen transition hazards
with Aalen or Greenwood (co)variances, the hazards of a Cox fit for one patient per
transition, and the Aalen–Johansen product integral with its variance recursions.

Arrays only (no DataFrames, no validation): the public functions of
:mod:`rwe_cart.survival.multistate` (written in ``_ms_frame``, ``_ms_hazards`` and
``_ms_probabilities``) check the input once and call these. States are
0-based integer codes here, transitions 0-based too; ``tfrom``/``tto`` (K,) give the
from- and to-state of each transition.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["PathStep", "walk_paths", "long_rows", "nelson_aalen", "cox_hazards", "product_integral",
           "increment_map"]


# ---------------------------------------------------------------------------------------
# msprep
# ---------------------------------------------------------------------------------------
class PathStep(NamedTuple):
    """The patients in one state and the entries into its targets (:func:`walk_paths`)."""

    state: int
    patients: np.ndarray     # (m,) rows of the patients in the state
    targets: np.ndarray      # (k,) its to-states in transition order
    entry: np.ndarray        # (m,) their entry time into the state
    times: np.ndarray        # (m, k) entry times into the targets as recorded (inf: none)
    status: np.ndarray       # (m, k) their 0/1 indicators
    next_time: np.ndarray    # (m,) entry time of the next state; inf: censored here
    pick: np.ndarray         # (m,) position of the next state among the targets


def walk_paths(times: np.ndarray, status: np.ndarray, targets: list[np.ndarray],
               absorbing: np.ndarray, order: np.ndarray) -> tuple[list[PathStep], np.ndarray]:
    """The path of every patient through the model, as ``mstate::msprep`` follows it.

    ``times``/``status`` are (n, S) entry times and indicators (column of the initial
    state unused, inf for no time); ``targets[h]`` the to-states of state h in transition
    order. ``order`` is a topological order of the states (the path of every patient
    follows it), so the loop below runs over states, never over patients.

    Each patient starts in state 0 at time 0. From state h entered at t0, the next state
    is the first (in transition order) target entered with status 1 at the earliest such
    time >= t0; without one the patient is censored in h.

    Returns the steps (one per state with patients in it and targets, in ``order``) and
    the last state of each patient. The long rows (:func:`long_rows`) and the checks of
    the public layer read the same steps.
    """
    n = times.shape[0]
    cur_t = np.zeros(n)
    where = np.zeros(n, dtype=np.int64)       # current state
    active = np.ones(n, dtype=bool)
    steps = []
    for h in order:
        tg = targets[h]
        sel = np.flatnonzero(active & (where == h))
        if sel.size == 0 or tg.size == 0:
            continue
        t0 = cur_t[sel]
        tt = times[np.ix_(sel, tg)]
        st = status[np.ix_(sel, tg)]
        # an entry before the current state's start is not on the path
        ev_t = np.where((st == 1) & (tt >= t0[:, None]), tt, np.inf)
        nxt = ev_t.min(axis=1)
        pick = np.argmin(ev_t, axis=1)      # first target among equal times, as R
        steps.append(PathStep(int(h), sel, tg, t0, tt, st, nxt, pick))
        moved = np.isfinite(nxt)
        where[sel[moved]] = tg[pick[moved]]
        cur_t[sel[moved]] = nxt[moved]
        active[sel[~moved]] = False
        active[sel[moved]] &= ~absorbing[tg[pick[moved]]]
    return steps, where


def long_rows(steps: list[PathStep], trans_no: np.ndarray):
    """One row per patient per transition at risk, as ``mstate::msprep``, from the steps
    of :func:`walk_paths`; ``trans_no[h, j]`` is the transition number of h -> j. A
    patient censored in a state is followed up to the earliest target time >= its entry.

    Returns ``(patient, from, to, trans, start, stop, status)`` arrays, unsorted.
    """
    out = []
    for s in steps:
        m, k = s.patients.size, s.targets.size
        censored = ~np.isfinite(s.next_time)
        follow = np.where(s.times >= s.entry[:, None], s.times, np.inf).min(axis=1)
        stop = np.where(censored, follow, s.next_time)
        ev = np.zeros((m, k), dtype=np.int64)
        ev[np.flatnonzero(~censored), s.pick[~censored]] = 1
        out.append((np.repeat(s.patients, k), np.full(m * k, s.state), np.tile(s.targets, m),
                    np.tile(trans_no[s.state, s.targets], m), np.repeat(s.entry, k),
                    np.repeat(stop, k), ev.reshape(-1)))
    cols = list(zip(*out))
    return tuple(np.concatenate(c) for c in cols)


# ---------------------------------------------------------------------------------------
# Transition hazards
# ---------------------------------------------------------------------------------------
def _ranks(grid: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Number of grid values <= each x. Sorted needles make searchsorted walk the grid
    once (several times faster than random look-ups on a million rows)."""
    o = np.argsort(x, kind="stable")
    r = np.empty(x.size, dtype=np.int64)
    r[o] = np.searchsorted(grid, x[o], side="right")
    return r


def _counts(trans, start, stop, status, K, grid):
    """Rows at risk (start < t <= stop) and events of each transition at the grid times:
    two (T, K) arrays, from sorted (transition, time-rank) keys."""
    T = grid.size
    base = np.int64(T + 1)
    # a row is at risk at grid[r] for ra <= r < rr (start < grid[r] <= stop)
    rr = _ranks(grid, stop)
    ra = _ranks(grid, start)
    q = (np.arange(K)[:, None] * base + np.arange(T)[None, :]).reshape(-1)
    end = np.repeat((np.arange(K) + 1) * base, T)

    def above(key):  # rows of the transition whose key exceeds the rank of t
        key = np.sort(trans * base + key)
        return np.searchsorted(key, end, side="left") - np.searchsorted(key, q, side="right")

    nrisk = (above(rr) - above(ra)).reshape(K, T).T.astype(np.float64)
    ev = status == 1
    nev = np.bincount((_ranks(grid, stop[ev]) - 1) * K + trans[ev],
                      minlength=T * K).reshape(T, K).astype(np.float64)
    return nrisk, nev


def nelson_aalen(trans, start, stop, status, K, tfrom, *, ties="breslow",
                 variance="aalen"):
    """Non-parametric cumulative transition hazards, as ``msfit`` on
    ``coxph(Surv(start, stop, status) ~ strata(trans))``.

    Grid: the distinct event times of all transitions, plus the largest stop time when
    it is later (msfit's ``lasty``). With d events among n at risk, the increment is
    d/n (Breslow ties) or sum_{j<d} 1/(n - j) (Efron, the coxph default used by LMAJ).
    Aalen variance: d/n^2 (Efron: sum 1/(n - j)^2), transitions uncorrelated. Greenwood:
    (n - d) d / n^3 and, for two transitions out of one state with events at the same
    time, the covariance -d1 d2 / n^3 (msfit's ``vartype = "greenwood"``).

    Returns ``(grid (T,), cumhaz (T, K), cov (T, K, K))``, cumulative.
    """
    ev_times = np.unique(stop[status == 1])
    last = stop.max()
    grid = ev_times if ev_times.size and last <= ev_times[-1] else np.append(ev_times, last)
    nrisk, nev = _counts(trans, start, stop, status, K, grid)
    with np.errstate(divide="ignore", invalid="ignore"):
        if ties == "efron" and (nev > 1).any():
            inc, vinc = _efron_increments(nrisk, nev)
        else:
            inc = np.where(nev > 0, nev / nrisk, 0.0)
            vinc = np.where(nev > 0, nev / nrisk**2, 0.0)
        cov = np.zeros((grid.size, K, K))
        if variance == "greenwood":
            vinc = np.where(nev > 0, (nrisk - nev) * nev / nrisk**3, 0.0)
            for a in range(K):              # pairs of transitions (a few), not times
                for b in range(a + 1, K):
                    if tfrom[a] != tfrom[b]:
                        continue
                    c = np.where((nev[:, a] > 0) & (nev[:, b] > 0),
                                 -nev[:, a] * nev[:, b] / nrisk[:, a]**3, 0.0)
                    cov[:, a, b] = cov[:, b, a] = np.cumsum(c)
    idx = np.arange(K)
    cov[:, idx, idx] = np.cumsum(vinc, axis=0)
    return grid, np.cumsum(inc, axis=0), cov


def _efron_increments(nrisk, nev):
    """sum_{j<d} 1/(n - j) and sum_{j<d} 1/(n - j)^2 for every (time, transition); the
    tied counts are small, so the loop runs over the largest tie size only."""
    inc = np.zeros_like(nrisk)
    vinc = np.zeros_like(nrisk)
    for j in range(int(nev.max())):
        m = nev > j
        den = np.where(m, nrisk - j, 1.0)
        inc += np.where(m, 1.0 / den, 0.0)
        vinc += np.where(m, 1.0 / den**2, 0.0)
    return inc, vinc


def cox_hazards(grid, strata_of, tk_list, risk, x2, var):
    """Cumulative hazards and (co)variances of K transitions for one patient from a Cox
    fit, as ``msfit`` (de Wreede, Fiocco & Putter 2010, eq. 12; mstate's ``agmssurv``).

    ``tk_list[h]`` holds, for stratum h, ``(times, cumhaz0, varhaz0, xbar0)``: the
    baseline cumulative hazard at the covariate means, the sum of squared increments and
    the p-vector sum of xbar dLambda0 at every distinct time of the stratum
    (``core.baseline_cumhaz`` / ``baseline_variance_terms``). Transition k uses stratum
    ``strata_of[k]``, risk score ``risk[k]`` = exp((x_k - means) beta) and centred
    covariates ``x2[k]``. With eta_k(t) = r_k (xbar0(t) - x2_k Lambda0(t)):

    Cov(k1, k2)(t) = [same stratum] r_k1^2 varhaz0(t) + eta_k1' V eta_k2   (k1 <= k2).

    The first term uses r_k1^2 also when r_k1 != r_k2 (two transitions sharing a
    stratum with different covariates): mstate does so, and the values here reproduce
    msfit's.
    """
    K = len(strata_of)
    T = grid.size
    p = x2.shape[1]
    haz = np.zeros((T, K))
    v0 = np.zeros((T, K))
    eta = np.zeros((T, K, p))
    for k in range(K):                      # transitions (a few)
        t, cum0, vh0, xb0 = tk_list[strata_of[k]]
        idx = np.searchsorted(t, grid, side="right") - 1
        ok = idx >= 0
        i = np.clip(idx, 0, None)
        c = np.where(ok, cum0[i], 0.0)
        haz[:, k] = risk[k] * c
        v0[:, k] = risk[k] ** 2 * np.where(ok, vh0[i], 0.0)
        eta[:, k, :] = risk[k] * (np.where(ok[:, None], xb0[:, i].T, 0.0) - c[:, None] * x2[k])
    cov = np.einsum("tkp,pq,tlq->tkl", eta, var, eta)
    same = np.equal.outer(strata_of, strata_of)
    first = np.minimum.outer(np.arange(K), np.arange(K))
    cov += np.where(same[None], v0[:, first], 0.0)
    return haz, cov


# ---------------------------------------------------------------------------------------
# Aalen–Johansen product integral
# ---------------------------------------------------------------------------------------
def increment_map(tfrom, tto, S):
    """M (S^2, K) with vec(dA) = M dLambda: +1 at (h, j) and -1 at (h, h) for the
    transition h -> j. vec is column-major (index h + S j), the layout of R's
    ``matrix(varP, S^2, S^2)`` in probtrans, so the variance of vec(dA) is M C M'."""
    K = len(tfrom)
    M = np.zeros((S * S, K))
    k = np.arange(K)
    M[tfrom + S * tto, k] = 1.0
    M[tfrom + S * tfrom, k] = -1.0
    return M


def _chunk(S: int) -> int:
    """Event times per vectorised block: about 32 MB per (S^2 x S^2) array of the block."""
    return max(64, (1 << 22) // S ** 4)


def _quadratic_blocks(Q, vd):
    """G[t, a, b, b'] = sum_{c, c'} Q[t, a, c] Q[t, a, c'] vd[t, c, b, c', b']."""
    n, S = Q.shape[:2]
    X = (Q @ vd.reshape(n, S, S ** 3)).reshape(n, S, S, S, S)     # [t, a, b, c', b']
    return np.einsum("tabcd,tac->tabd", X, Q)


def product_integral(dhaz, dcov, tfrom, tto, S, *, forward=True, method="aalen",
                     variance=True):
    """P(s, t) = prod (I + dA) over the given event times and its variance, as
    ``probtrans`` (de Wreede, Fiocco & Putter 2009, Aalen or Greenwood recursions).

    ``dhaz`` (T, K) and ``dcov`` (T, K, K) are the increments of the cumulative hazards
    and of their covariance at the T event times in time order. ``forward``: P(s, t_i)
    for every i (s before the first time); otherwise the fixed-horizon P(t_i-, u)
    accumulated from the last time backwards. Returns ``(P, var)``, both (T, S, S) with
    ``P[i, a, b]`` the probability from a to b and ``var`` its variance.

    probtrans carries the full S^2 x S^2 covariance of vec P. Only its S diagonal blocks
    are reported, and they evolve on their own: forward, the covariance V_a of row a of P
    (the start state a) follows V_a <- (I + dA)' V_a (I + dA) + G_a; fixed horizon, the
    covariance W_b of column b follows W_b <- (I + dA) W_b (I + dA)' + G_b; with vec(V_a)
    as the columns of one (S^2, S) matrix, a step is one product with kron((I + dA)',
    (I + dA)') and one addition. Everything that does not depend on the previous step
    (I + dA, the kron factors, the G terms once P is known) is built for a block of times
    at once in numpy, and the two loops over times do one or two small products per time
    (about 1 microsecond each). A loop over event times is the natural algorithm of the
    product integral (each step needs the previous one); with O(1) numpy work per time it
    is linear in the number of event times and measured to meet the speed target
    (``benchmarks/bench_multistate.py``: over 100 times faster than probtrans) without a
    compiled kernel, which the package does not depend on.
    """
    T, K = dhaz.shape
    S2, S3 = S * S, S ** 3
    eye = np.eye(S)
    M = increment_map(tfrom, tto, S)
    P = np.eye(S)
    V = np.zeros((S2, S))      # column a: vec of the a-th diagonal block of Var(vec P)
    Pout = np.empty((T, S, S))
    Vout = np.empty((T, S, S)) if variance else None
    size = _chunk(S)
    steps = range(0, T, size) if forward else range(((T - 1) // size) * size, -1, -size)
    # position of var P[a, b] among the stacked blocks: forward vec(V_a)[b, b], backward
    # vec(W_b)[a, a]
    a_, b_ = np.meshgrid(np.arange(S), np.arange(S), indexing="ij")
    pos = (a_ * S2 + b_ * (S + 1)) if forward else (b_ * S2 + a_ * (S + 1))
    for c0 in steps:                                       # blocks of event times
        sl = slice(c0, min(c0 + size, T))
        dA = (dhaz[sl] @ M.T).reshape(-1, S, S).transpose(0, 2, 1)   # dA[t, h, j]
        IA = dA + eye
        n = IA.shape[0]
        # P after each step, the times of the block taken in the direction of the
        # recursion; lists of small arrays and .dot keep the per-step cost near 1 us
        order = np.arange(n) if forward else np.arange(n - 1, -1, -1)
        after = [P]
        for a in IA[order]:                                 # sequential in time
            P = P.dot(a) if forward else a.dot(P)
            after.append(P)
        Pall = np.stack(after)
        Pb, Pa = Pall[:-1], Pall[1:]                        # P before / after each step
        Pout[c0 + order] = Pa
        if not variance:
            continue
        IAo = IA[order]
        # Cov(dA[h, j], dA[h', j']) as vd[t, h, j, h', j'] (vec index h + S j)
        vd = (M @ dcov[sl][order] @ M.T).reshape(n, S, S, S, S).transpose(0, 2, 1, 4, 3)
        if forward:
            # G_a[b, b'] = sum_{c, c'} P[a, c] P[a, c'] vd[c, b, c', b'], P after the step
            # (Aalen) or before it (Greenwood); the diagonal blocks of probtrans's
            # kron(I, P) vardA kron(I, P')
            G = _quadratic_blocks(Pa if method == "aalen" else Pb, vd)
            step = np.einsum("tba,tdc->tacbd", IAo, IAo).reshape(n, S2, S2)  # kron(IA', IA')
        else:
            # W_b gets sum_{c, c'} P[c, b] P[c', b] vd[., c, ., c'] through (I + dA) on
            # both sides (Aalen) or not (Greenwood), P before the step
            G = _quadratic_blocks(Pb.transpose(0, 2, 1), vd.transpose(0, 2, 1, 4, 3))
            if method == "aalen":
                G = np.einsum("tad,tbde,tge->tbag", IAo, G, IAo)
            step = np.einsum("tab,tcd->tacbd", IAo, IAo).reshape(n, S2, S2)  # kron(IA, IA)
        Gc = G.transpose(0, 1, 3, 2).reshape(n, S, S2).transpose(0, 2, 1)  # column a: vec G_a
        out = []
        for m, g in zip(step, Gc):                          # sequential in time
            V = m.dot(V)
            V += g
            out.append(V)
        Vout[c0 + order] = np.stack(out).transpose(0, 2, 1).reshape(n, S3)[:, pos]
    return Pout, Vout
