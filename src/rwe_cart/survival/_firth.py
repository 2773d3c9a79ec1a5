"""Firth's penalised partial likelihood for the Cox model (array level, no validation).

Maximises l*(beta) = l(beta) + 1/2 log det I(beta) (Firth 1993; Heinze & Schemper 2001),
which removes the O(1/n) bias of the maximum partial-likelihood estimate and stays finite
under monotone likelihood (a covariate level with no events). Written here because no
Python library has it (lifelines, statsmodels and scikit-survival fit no penalised Cox
of this kind); R's ``coxphf`` is the reference the tests compare with.

Conventions follow ``coxphf`` 1.13: the estimate solves the penalised score
U* = U + 1/2 tr(I^-1 dI/dbeta) = 0, the variance is I(beta*)^-1, and confidence limits
and per-coefficient p-values come from the profile penalised likelihood. Any ties method of :mod:`._cox_core` works (coxphf
has Breslow only); so do strata and ``(start, stop]`` data.

The gradient of the penalty needs, per event, the third central moment of the
covariates over the risk set contracted with I^-1. With A = I^-1, m, M2 the risk-set
mean and second moment, s = E[x'Ax] and v = E[(x'Ax) x]:

    E[(x - m)'A(x - m)(x - m)] = v - s m - 2 M2 A m + 2 (m'Am) m

so only risk-set sums of r, r x, r x x', r q and r q x (q = x'Ax) are needed: one pass of
the same reverse cumulative sums the likelihood uses, O(n p^2), no loop over events.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.stats import chi2

from . import _cox_core as core
from ._cox_likelihood import suffix_at

__all__ = ["FirthFit", "fit", "profile_limits", "profile_p"]


@dataclass(eq=False)
class FirthFit:
    state: core.FitState      # at the penalised estimate (loglik is the unpenalised l)
    var: np.ndarray           # I(beta*)^-1
    pen_loglik: float         # l*(beta*)
    pen_loglik0: float        # l*(0)
    n_iter: int


def _risk_sums(A: core.CoxArrays, V: np.ndarray) -> np.ndarray:
    """Sums of the rows of V (m, n) over the risk set of each event time: (m, K)."""
    S = suffix_at(V, A.pos_stop)
    if A.sperm is not None and A.ups.size:
        s = suffix_at(V[:, A.sperm], A.ups, scratch=True)
        s = np.concatenate((s, np.zeros((V.shape[0], 1))), axis=1)
        S = S - s[:, A.ups_inv]
    return S


def _penalty_gradient(A: core.CoxArrays, st: core.FitState, var: np.ndarray) -> np.ndarray:
    """1/2 tr(I^-1 dI/dbeta_r) for every r, at the state `st` (var = I^-1)."""
    p, XT, r = A.p, A.XT, st.r
    iu, ju = np.triu_indices(p)
    q = np.einsum("in,ij,jn->n", XT, var, XT)
    qr = q * r
    V = np.concatenate((r[None], XT * r, XT[iu] * XT[ju] * r, qr[None], XT * qr))
    S = _risk_sums(A, V)[:, A.kd]  # per event row ("pseudo event" for Efron)
    if A.efron_ties:
        Vd = V[:, A.didx]
        D = np.stack([np.bincount(A.kd, weights=v, minlength=A.K) for v in Vd])
        S -= A.frac * D[:, A.kd]
    s0 = S[0]
    m = S[1:1 + p] / s0
    nt = iu.size
    M2 = np.empty((p, p, s0.size))
    M2[iu, ju] = S[1 + p:1 + p + nt] / s0
    M2[ju, iu] = M2[iu, ju]
    s = S[1 + p + nt] / s0
    v = S[2 + p + nt:] / s0
    g = var @ m
    T = v - s * m - 2.0 * np.einsum("ijn,jn->in", M2, g) + 2.0 * np.einsum("in,in->n", m, g) * m
    return 0.5 * (T @ A.wb)


def _pen_loglik(st: core.FitState) -> float:
    sign, logdet = np.linalg.slogdet(st.imat)
    if not (sign > 0 and np.isfinite(st.loglik)):
        return -np.inf
    return float(st.loglik + 0.5 * logdet)


def _inverse(imat: np.ndarray, free: np.ndarray) -> np.ndarray | None:
    """I^-1 restricted to the free coefficients (zeros elsewhere); None when singular."""
    out = np.zeros_like(imat)
    sub = imat[np.ix_(free, free)]
    try:
        np.linalg.cholesky(sub)
    except np.linalg.LinAlgError:
        return None
    out[np.ix_(free, free)] = np.linalg.inv(sub)
    return out


def _penalty_jacobian(A: core.CoxArrays, beta: np.ndarray, g: np.ndarray,
                      free: np.ndarray) -> np.ndarray:
    """Forward differences of the penalty gradient over the free coefficients (its
    second derivatives need fourth moments; p more evaluations are cheaper to write)."""
    idx = np.flatnonzero(free)
    J = np.zeros((A.p, A.p))
    for r in idx:
        h = 1e-6 * max(1.0, abs(beta[r]))
        b = beta.copy()
        b[r] += h
        st = core.evaluate(A, b)
        J[:, r] = (_penalty_gradient(A, st, np.linalg.inv(st.imat)) - g) / h
    return (J + J.T) / 2.0


def _maximise(A: core.CoxArrays, beta: np.ndarray, free: np.ndarray, max_iter: int
              ) -> tuple[core.FitState, float, int]:
    """Maximise l* over the `free` coefficients from `beta` (the others stay fixed).

    Newton steps on the penalised score with the Hessian of l*, I minus the Jacobian of
    the penalty gradient (coxphf steps with I alone, which converges only linearly, or
    not at all when the penalty is as curved as the likelihood, e.g. one event); I
    alone where that Hessian is not negative definite, far from the optimum. Steps are
    capped at 5 standard errors and halved while l* does not increase.

    Stops when every step is below 1e-10 standard errors, or below the resolution of
    beta, or, for a step below 1e-6 standard errors, after taking it: Newton's last step
    lands within rounding of the optimum, and l* itself is too noisy to judge steps that
    small when (start, stop] data have a wide linear predictor.
    """
    st = core.evaluate(A, beta)
    pl = _pen_loglik(st)
    if not np.isfinite(pl):
        raise core._singular(st.imat)  # names the covariates in the null direction
    ff = np.ix_(free, free)
    for it in range(1, max_iter + 1):
        g = _penalty_gradient(A, st, np.linalg.inv(st.imat))
        ustar = (st.U + g)[free]
        info = st.imat[ff]
        se = np.maximum(np.sqrt(np.abs(np.diag(np.linalg.inv(info)))), 1e-300)
        exact = info - _penalty_jacobian(A, beta, g, free)[ff]
        try:
            np.linalg.cholesky(exact)
            info = exact
        except np.linalg.LinAlgError:
            pass
        step = np.zeros(A.p)
        step[free] = np.linalg.solve(info, ustar)
        size = float(np.max(np.abs(step[free]) / se))
        if size <= 1e-10 or np.all(beta + step == beta):
            return st, pl, it
        if size > 5.0:
            step *= 5.0 / size
        for _ in range(60):
            cand = core.evaluate(A, beta + step)
            cpl = _pen_loglik(cand)
            if cpl >= pl - 1e-13 * abs(pl):
                break
            step /= 2.0
        else:
            if size <= 1e-6:
                return st, pl, it
            raise core.CoxFitError("the penalised likelihood cannot be improved",
                                   "convergence", tuple(int(j) for j in np.flatnonzero(free)))
        beta, st, pl = beta + step, cand, cpl
        if size <= 1e-6:
            return st, pl, it
    raise core.CoxFitError(f"the penalised fit did not converge in {max_iter} iterations",
                           "convergence", tuple(int(j) for j in np.flatnonzero(free)))


def fit(A: core.CoxArrays, *, max_iter: int = 200) -> FirthFit:
    """Firth-penalised estimate from beta = 0."""
    free = np.ones(A.p, dtype=bool)
    A.work = np.empty((A.p, A.n))
    try:
        st0 = core.evaluate(A, np.zeros(A.p))
        pl0 = _pen_loglik(st0)
        st, pl, it = _maximise(A, np.zeros(A.p), free, max_iter)
    finally:
        A.work = None
    var = np.linalg.inv(st.imat)
    return FirthFit(state=st, var=(var + var.T) / 2.0, pen_loglik=pl, pen_loglik0=pl0,
                    n_iter=it)


def _profile(A: core.CoxArrays, ff: FirthFit, j: int, b: float, max_iter: int) -> float:
    """max of l* over the other coefficients with beta_j fixed at b."""
    free = np.ones(A.p, dtype=bool)
    free[j] = False
    beta = ff.state.beta.copy()
    beta[j] = b
    if A.p == 1:
        st = core.evaluate(A, beta)
        return _pen_loglik(st)
    _, pl, _ = _maximise(A, beta, free, max_iter)
    return pl


def profile_p(A: core.CoxArrays, ff: FirthFit, j: int, *, max_iter: int = 200
              ) -> tuple[float, float]:
    """Penalised likelihood-ratio test of beta_j = 0: (chi-square on 1 df, p)."""
    A.work = np.empty((A.p, A.n))
    try:
        stat = max(2.0 * (ff.pen_loglik - _profile(A, ff, j, 0.0, max_iter)), 0.0)
    finally:
        A.work = None
    return stat, float(chi2.sf(stat, 1))


def profile_limits(A: core.CoxArrays, ff: FirthFit, j: int, alpha: float, *,
                   max_iter: int = 200) -> tuple[float, float]:
    """Profile penalised-likelihood confidence limits of beta_j (log scale).

    The limits solve 2 (l*max - l*_j(b)) = chi2_1(1 - alpha); each side is bracketed by
    doubling a multiple of the Wald SE, then solved by Brent's method to 1e-10. A side
    not bracketed within 2^10 SE is infinite. Where the constrained fit cannot be
    computed (the risk sets underflow far out), the bracket is sought between the last
    point that worked and that one; if the limit lies beyond every computable point,
    CoxFitError says so.
    """
    crit = float(chi2.ppf(1.0 - alpha, 1))
    bj = float(ff.state.beta[j])
    se = float(np.sqrt(ff.var[j, j]))
    A.work = np.empty((A.p, A.n))

    def h(b: float) -> float:
        return 2.0 * (ff.pen_loglik - _profile(A, ff, j, b, max_iter)) - crit

    def outer_end(sign: float) -> tuple[float, float]:
        """(inner, outer) with h(inner) < 0 <= h(outer); outer = +-inf if none."""
        inner, k = bj, 1.0
        while k <= 2.0 ** 10:
            outer = bj + sign * k * se
            try:
                if h(outer) >= 0:
                    return inner, outer
                inner, k = outer, 2.0 * k
            except core.CoxFitError:
                for _ in range(40):  # the computable edge between inner and outer
                    mid = (inner + outer) / 2.0
                    try:
                        if h(mid) >= 0:
                            return inner, mid
                        inner = mid
                    except core.CoxFitError:
                        outer = mid
                raise core.CoxFitError(
                    f"the profile penalised likelihood stays inside the "
                    f"{1 - alpha:.0%} region up to {inner:.4g}, beyond which it cannot be "
                    "computed", "convergence", (j,)) from None
        return inner, sign * np.inf

    try:
        out = []
        for sign in (-1.0, 1.0):
            inner, outer = outer_end(sign)
            if np.isinf(outer):
                out.append(outer)
                continue
            try:
                out.append(brentq(h, min(inner, outer), max(inner, outer), xtol=1e-10,
                                  rtol=1e-12))
            except (RuntimeError, ValueError) as exc:
                raise core.CoxFitError(f"the profile limit was not found ({exc})",
                                       "convergence", (j,)) from None
    finally:
        A.work = None
    return out[0], out[1]
