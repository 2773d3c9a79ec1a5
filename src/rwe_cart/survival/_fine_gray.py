"""Fine–Gray proportional subdistribution hazards regression.

Public (re-exported by ``competing``): :func:`fine_gray` (:class:`FineGrayModel`) and
:func:`finegray_expand`. ``fine_gray`` validates once, codes the causes
(``_competing_design``) and builds the covariates (``design``), then either fits
``cmprsk::crr``'s estimating equations (``_competing_core.crr_fit``) or expands the data
as ``survival::finegray`` (``_competing_core.finegray_rows``) for a weighted Cox fit.
There is no maintained Python Fine–Gray, so ``crr`` follows Fine & Gray (1999) and
cmprsk's Fortran, written as cumulative sums.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2, norm

from . import _competing_core as core
from . import _formula
from . import validate as V
from ._common import z_value
from ._competing_design import cause_codes, failure_code
from .design import design_matrix
from .results import RegressionResult

__all__ = ["fine_gray", "FineGrayModel", "finegray_expand"]


@dataclass(frozen=True, eq=False)
class FineGrayModel(RegressionResult):
    """A Fine–Gray subdistribution hazards model.

    Attributes
    ----------
    summary : pandas.DataFrame
        ``term, coef, se, hr, lower, upper, z, p`` (subdistribution hazard ratios; with
        ``method="finegray"`` also ``robust_se`` when the Cox fit reports one, and then z,
        p and the limits use it, as R).
    loglik : tuple
        (null, fitted) log pseudo-likelihood.
    converged : bool
    method : str
        ``"crr"`` or ``"finegray"``.
    failure_cause
        The cause modelled.
    n, n_event : int
        Subjects and events of the failure cause.
    vcov : pandas.DataFrame
        Variance matrix of the coefficients (the sandwich for crr).
    alpha : float
    iterations : int
    tests : pandas.DataFrame
        ``test, statistic, df, p_value``: pseudo likelihood ratio and Wald.
    cox : object
        The weighted Cox fit on the expanded data (``method="finegray"`` only).
    meta : dict

    Examples
    --------
    >>> import rwe_cart as rc
    >>> cir = rc.datasets.rocca_like().endpoint("CIR", with_columns=["age"])
    >>> fg = rc.fine_gray(cir, time="time", cause="cause", covariates=["age"], failure_cause=2)
    >>> fg.method, fg.failure_cause, fg.n, fg.n_event, fg.converged
    ('crr', 2, 189, 26, True)
    >>> fg.vcov.round(6)
              age
    age  0.000175
    """

    summary: pd.DataFrame
    loglik: tuple
    converged: bool
    method: str
    failure_cause: Any
    n: int
    n_event: int
    vcov: pd.DataFrame
    alpha: float = 0.05
    iterations: int = 0
    tests: pd.DataFrame | None = None
    cox: Any = None
    meta: dict = field(default_factory=dict)

    @property
    def coef(self) -> pd.Series:
        return pd.Series(self.summary["coef"].to_numpy(), index=self.summary["term"])

    def _title(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        conv = "" if self.converged else " (NOT converged)"
        return (f"Fine–Gray model for cause {self.failure_cause!r} ({self.method}){conv}: "
                f"n = {self.n}, events = {self.n_event}; sHR with {level} CI; "
                f"log pseudo-likelihood {self.loglik[1]:.6g} (null {self.loglik[0]:.6g})")

    def __repr__(self) -> str:
        body = self.summary.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        return f"{self._title()}\n{body}"

    def _repr_html_(self) -> str:
        title = self._title().replace("&", "&amp;").replace("<", "&lt;")
        return (f"<p><b>{title}</b></p>"
                + self.summary.to_html(index=False, float_format="{:.4g}".format,
                                       na_rep="NA"))


def _check_design(x: np.ndarray, covariates: Sequence[str]) -> None:
    const = [c for c, col in zip(covariates, x.T) if np.ptp(col) == 0]
    if const:
        raise ValueError(f"covariate {', '.join(map(repr, const))} is constant; "
                         "its coefficient cannot be estimated")
    xc = x - x.mean(axis=0)
    if np.linalg.matrix_rank(xc) < x.shape[1]:
        raise ValueError(f"covariates {', '.join(map(repr, covariates))} are collinear "
                         "(one is a linear combination of the others)")


def fine_gray(
    data: pd.DataFrame | str,
    formula: str | pd.DataFrame | None = None,
    *,
    time: str | None = None,
    cause: str | None = None,
    covariates: Sequence[str] | None = None,
    failure_cause: Any = 1,
    method: str = "crr",
    censored: Any = 0,
    alpha: float = 0.05,
    ties: str = "efron",
    cluster: str | None = None,
    maxiter: int = 10,
    gtol: float = 1e-6,
) -> FineGrayModel:
    """Fine–Gray proportional subdistribution hazards regression.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject.
    formula
        Instead of `time`, `cause`, `covariates` and `cluster`, an R formula
        ``"Surv(time, cause) ~ age + C(sex) + cluster(id)"``, given first or second
        (``rc.fine_gray(formula, data, failure_cause=1)``); terms as in
        :func:`rwe_cart.cox`, named as R's ``model.matrix``, so a logical column ``x``
        gives the coefficient ``xTRUE`` with either method.
    time, cause, censored
        As :func:`cumulative_incidence`.
    covariates : sequence of str
        Covariate columns, expanded as :func:`rwe_cart.cox` does with either method
        (``rwe_cart.survival.design``): a string, categorical or logical column
        becomes treatment dummies named as R (``sexM``, ``xTRUE``).
    failure_cause
        The cause whose subdistribution hazard is modelled.
    method : {"crr", "finegray"}
        ``"crr"`` (default) reproduces ``cmprsk::crr``; ``"finegray"`` expands the data as
        ``survival::finegray`` and fits a weighted Cox model with :func:`rwe_cart.cox`, as
        ``coxph(Surv(fgstart, fgstop, fgstatus) ~ ..., weights = fgwt)``.
    alpha : float
        1 − confidence level of the hazard-ratio limits.
    ties, cluster
        ``"finegray"`` only: Cox ties method (R's default Efron) and an optional cluster
        column (e.g. the subject id) for the robust variance.
    maxiter, gtol
        ``"crr"`` only: cmprsk's Newton–Raphson settings.

    Returns
    -------
    FineGrayModel

    Notes
    -----
    ``"crr"`` follows cmprsk 2.2 step by step: rows sorted by time; the censoring
    distribution G is the Kaplan–Meier of the censorings with failures at a tied time
    kept in its risk set, evaluated just before each time; a subject failing from another
    cause stays in later risk sets with weight G(t−)/G(T_i−); Breslow-type handling of tied
    failures; Newton–Raphson from 0 with cmprsk's step halving and stopping rule
    (``max|score| * max(|b|, 1) < gtol * max(|loglik|, 1)``); the variance is Fine & Gray's
    sandwich, whose middle includes the term for estimating G. Rows with missing
    covariates are an error (crr silently drops them). p-values are not rounded (crr's
    summary rounds them to 2 significant digits).

    ``"finegray"`` handles censoring tied with failures differently when building the
    weights (failures leave before censorings), so it differs from crr by about 0.2% on
    tied data; with Efron ties it differs again. With non-integer weights R's coxph
    reports the robust (per-row) SE; with ``cluster`` the clustered one.

    References
    ----------
    .. [1] Fine JP, Gray RJ. A proportional hazards model for the subdistribution of a
           competing risk. J Am Stat Assoc. 1999;94:496-509.
    .. [2] Gray RJ. cmprsk: Subdistribution Analysis of Competing Risks. R package 2.2.
    .. [3] Geskus RB. Cause-specific cumulative incidence estimation and the Fine and
           Gray model under both left truncation and right censoring. Biometrics.
           2011;67:39-49.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> cir = rc.datasets.rocca_like().endpoint("CIR", with_columns=["age", "extramedullary"])
    >>> fg = rc.fine_gray(cir, time="time", cause="cause", covariates=["age", "extramedullary"])
    >>> fg.summary[["term", "hr", "lower", "upper", "p"]].round(3)
                     term     hr  lower  upper      p
    0                 age  1.002  0.984   1.02  0.859
    1  extramedullaryTRUE  2.138  1.314   3.48  0.002
    """
    if method not in ("crr", "finegray"):
        raise ValueError(f"method must be 'crr' or 'finegray', got {method!r}")
    data, parsed = _formula.split_call(data, formula, "fine_gray", formula_second=True)
    if parsed is not None:
        if parsed.start is not None or parsed.strata:
            raise ValueError(f"fine_gray takes Surv(time, cause) ~ covariates [+ cluster()], "
                             f"without delayed entry or strata (formula {parsed.text!r})")
        data, a, spec = _formula.model_arguments(
            parsed, data, {"time": time, "cause": cause, "covariates": covariates,
                           "cluster": cluster}, "fine_gray")
        fit = fine_gray(data, time=a["time"], cause=parsed.status, covariates=a["covariates"],
                        failure_cause=failure_cause, method=method, censored=censored,
                        alpha=alpha, ties=ties, cluster=a["cluster"], maxiter=maxiter,
                        gtol=gtol)
        return replace(fit, meta={**fit.meta, "formula": parsed.text, "model_spec": spec})
    _formula.require("fine_gray", time=time, cause=cause, covariates=covariates)
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates)
    if not covariates:
        raise ValueError("covariates must name at least one column")
    V.check_frame(data, [("time", time), ("cause", cause), ("cluster", cluster)]
                  + [("covariates", c) for c in covariates])
    zq = z_value(alpha)
    if method == "finegray":
        return _fine_gray_cox(data, time, cause, covariates, failure_cause, censored, alpha,
                              ties, cluster)
    t, _, _ = V.time_array(data, time)
    status, causes = cause_codes(data, cause, censored)
    k = failure_code(causes, failure_cause, cause)
    st = np.where(status == 0, 0, np.where(status == k, 1, 2)).astype(np.int64)
    if not (st == 1).any():
        raise ValueError(f"no events of cause {failure_cause!r}")
    x, names, _, _ = design_matrix(data, covariates)
    _check_design(x, names)
    # no maintained Python Fine-Gray; follows Fine & Gray (1999) and cmprsk's crr
    D = core.CrrData(t.astype(np.float64), st, x)
    p = x.shape[1]
    try:
        b, lik, score, hess, converged, iters = core.crr_fit(D, np.zeros(p), maxiter, gtol)
        h = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"the Fine-Gray information matrix is singular (covariates "
            f"{', '.join(map(repr, names))}): a covariate may be constant among the "
            f"subjects at risk at the failure times of cause {failure_cause!r}") from None
    if not converged:
        warnings.warn(f"crr did not converge in {maxiter} Newton-Raphson iterations "
                      f"(cause {failure_cause!r}); the estimates are not reliable",
                      RuntimeWarning, stacklevel=2)
    vcov = h @ D.sandwich_middle(b) @ h
    se = np.sqrt(np.diag(vcov))
    zval = b / se
    summary = pd.DataFrame({
        "term": names, "coef": b, "se": se, "hr": np.exp(b),
        "lower": np.exp(b - zq * se), "upper": np.exp(b + zq * se),
        "z": zval, "p": 2.0 * norm.sf(np.abs(zval)),
    })
    loglik = (-D.neg_loglik(np.zeros(p)), -lik)
    wald = float(b @ np.linalg.solve(vcov, b))
    lrt = 2.0 * (loglik[1] - loglik[0])
    tests = pd.DataFrame({"test": ["likelihood_ratio", "wald"], "statistic": [lrt, wald],
                          "df": [p, p], "p_value": [chi2.sf(lrt, p), chi2.sf(wald, p)]})
    return FineGrayModel(
        summary=summary, loglik=loglik, converged=bool(converged), method="crr",
        failure_cause=causes[k - 1], n=int(t.size), n_event=int((st == 1).sum()),
        vcov=pd.DataFrame(vcov, index=names, columns=names), alpha=float(alpha),
        iterations=int(iters), tests=tests,
        meta={"time": time, "cause": cause, "censored": censored,
              "definition": data.attrs.get("definition"), "score": score,
              "information": hess})


def _fine_gray_cox(data, time, cause, covariates, failure_cause, censored, alpha, ties,
                   cluster):
    from .cox import cox  # the Cox module; imported here so crr works without it

    expanded = finegray_expand(data, time=time, cause=cause, failure_cause=failure_cause,
                               censored=censored)
    # robust left to cox's default, which follows R: the sandwich SE (per row, or per
    # cluster) because the weights are not whole numbers
    fit = cox(expanded, time="fgstop", event="fgstatus", covariates=covariates,
              start="fgstart", weights="fgwt", ties=ties, cluster=cluster, alpha=alpha)
    loglik = (float(fit.loglik[0]), float(fit.loglik[1]))
    status, causes = cause_codes(data, cause, censored)
    k = failure_code(causes, failure_cause, cause)
    return FineGrayModel(
        summary=fit.summary.copy(), loglik=loglik, converged=True,  # cox raises otherwise
        method="finegray", failure_cause=causes[k - 1], n=int(len(data)),
        n_event=int((status == k).sum()), vcov=fit.var, alpha=float(alpha),
        iterations=int(fit.n_iter), tests=fit.tests, cox=fit,
        meta={"time": time, "cause": cause, "censored": censored, "ties": ties,
              "cluster": cluster, "n_expanded": int(len(expanded)),
              "definition": data.attrs.get("definition")})


def finegray_expand(
    data: pd.DataFrame,
    *,
    time: str,
    cause: str,
    failure_cause: Any = 1,
    id: str | None = None,
    censored: Any = 0,
    timefix: bool = True,
    max_rows: int | None = 20_000_000,
) -> pd.DataFrame:
    """Counting-process data for a Fine–Gray model, as R's ``survival::finegray``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject (right-censored data).
    time, cause, censored
        As :func:`cumulative_incidence`.
    failure_cause
        The cause of interest (R's ``etype``).
    id : str, optional
        Subject identifier column; checked to be unique (one row per subject).
    timefix : bool
        Merge near-equal times first, as R (``aeqSurv``).
    max_rows : int or None
        Refuse (ValueError, before allocating) an expansion with more rows than this;
        the expansion grows like n² with continuous times (``None``: no limit).

    Returns
    -------
    pandas.DataFrame
        The columns of `data` other than `time` and `cause` (as R keeps the model frame
        without the response), each row repeated as needed, then ``fgstart, fgstop,
        fgstatus, fgwt``. Fit ``cox(..., time="fgstop", event="fgstatus",
        start="fgstart", weights="fgwt")``.

    Notes
    -----
    As survival 3.5: the censoring Kaplan–Meier G is computed with failures leaving the
    risk set just before censorings at the same time. Rows that end in censoring or in
    the failure of interest are kept as (0, T]. A row ending in a competing event is
    extended with weight 1 to the next censoring time (or the last follow-up time), and
    gets one more row for each later censoring interval that contains a failure of
    interest, with weight G(start of interval)/G(T−). The start is 0 (or 2·min(time) − 1
    when some time is <= 0).

    References
    ----------
    .. [1] Fine JP, Gray RJ. A proportional hazards model for the subdistribution of a
           competing risk. J Am Stat Assoc. 1999;94:496-509.
    .. [2] Geskus RB. Cause-specific cumulative incidence estimation and the Fine and
           Gray model under both left truncation and right censoring. Biometrics.
           2011;67:39-49.

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> df = pd.DataFrame({"id": [1, 2, 3, 4], "time": [2, 3, 5, 7], "cause": [1, 2, 0, 1]})
    >>> rc.finegray_expand(df, time="time", cause="cause", id="id").round(3)
       id  fgstart  fgstop  fgstatus  fgwt
    0   1      0.0     2.0         1   1.0
    1   2      0.0     5.0         0   1.0
    2   2      5.0     7.0         0   0.5
    3   3      0.0     5.0         0   1.0
    4   4      0.0     7.0         1   1.0
    """
    V.check_frame(data, [("time", time), ("cause", cause), ("id", id)])
    t, _, _ = V.time_array(data, time)
    status, causes = cause_codes(data, cause, censored)
    k = failure_code(causes, failure_cause, cause)
    if id is not None:
        dup = data[id].duplicated(keep=False).to_numpy()
        if dup.any():
            raise ValueError(f"column {id!r} has repeated ids ({V.describe_rows(data, dup)}); "
                             "finegray_expand takes one row per subject")
    row, start, stop, wt, fgstatus = core.finegray_rows(t, status, k, timefix, max_rows)
    rest = data.drop(columns=[time, cause])
    out = rest.iloc[row].reset_index(drop=True)
    out["fgstart"] = start
    out["fgstop"] = stop
    out["fgstatus"] = fgstatus
    out["fgwt"] = wt
    return out
