"""Array-only core of the Cox proportional-hazards model (no pandas, no validation).

Everything here trusts its inputs: finite float times with ``start < stop``, 0/1 events,
positive weights, finite covariates, integer stratum codes. :mod:`rwe_cart.survival.cox`
validates and calls :func:`prepare`, :func:`fit`, and the post-fit helpers.

Why our own core: lifelines' ``CoxPHFitter`` stops Newton–Raphson early (coefficients
3e-6 to 7e-5 relative off a converged fit, so it cannot pass a 1e-6 comparison with R),
and ``CoxTimeVaryingFitter`` loops in Python over event times (time grows as n^1.6–2.1),
has no Breslow ties and no robust variance. R's ``coxph`` conventions are followed
throughout (survival 3.x: ``coxfit6``/``agfit4``, ``coxscore2``/``agscore3``,
``zph1``/``zph2``, ``concordancefit``); the algorithms are vectorised rewrites.

This module is the Newton–Raphson fit, and it re-exports the rest of the core so that
callers use one namespace (``from . import _cox_core as core``). The work is split by job:

* :mod:`._cox_likelihood`: sorting and index arrays (:func:`prepare`, R's ``timefix``),
  risk-set sums, log partial likelihood, score and information at one beta;
* here: Newton–Raphson with step halving to full convergence, and the checks for
  collinear covariates and monotone likelihood;
* :mod:`._cox_postfit`: score residuals, robust variance and score test, ``cox.zph``,
  baseline cumulative hazard and its variance;
* :mod:`._cox_concordance`: Harrell's C and its standard error.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from ._cox_concordance import concordance
from ._cox_likelihood import CoxArrays, FitState, evaluate, gram, information, prepare, timefix
from ._cox_postfit import (baseline_cumhaz, baseline_variance_terms, robust_score_test,
                           robust_variance, score_residuals, zph_test)

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
    cov = gram(A.XT, A.XT) / A.n - np.outer(m, m)
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
