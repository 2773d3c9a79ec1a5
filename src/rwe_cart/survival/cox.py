"""Cox proportional-hazards regression with R ``coxph`` conventions.

Public: :func:`cox`, :class:`CoxModel` (with :class:`Concordance`, :class:`LogLik`);
:func:`cox_coef` (:class:`CoxCoef`), the coefficients alone as a fast function of the
rows used, for bootstrap loops.

The public function validates once (``validate`` plus the design-matrix checks below)
and calls the array-only core in :mod:`rwe_cart.survival._cox_core`, which is our own
Newton–Raphson: lifelines stops early (it cannot match R at 1e-6) and its time-varying
fitter loops over event times in Python. Covariates, ties, counting-process data,
strata, case weights, clusters, robust variance, concordance and ``cox.zph`` all follow
R's survival package (3.x); see :func:`cox` for the conventions.
The result classes (:class:`CoxModel` and what it holds) live in
:mod:`rwe_cart.survival._cox_model` and are imported from here.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import chi2, norm

from . import _cox_core as core
from . import _firth, _formula
from . import validate as V
from ._common import z_value
from ._cox_design import Inputs, r_means, read_inputs
from ._cox_model import PH_TRANSFORMS, Concordance, CoxModel, LogLik, ModelCore
from .design import Design

__all__ = ["cox", "cox_coef", "CoxModel", "CoxCoef", "Concordance", "LogLik",
           "PH_TRANSFORMS"]


# ---------------------------------------------------------------------------------------
# Public estimators
# ---------------------------------------------------------------------------------------
def cox(data: pd.DataFrame | str, formula: str | pd.DataFrame | None = None, *,
        time: str | None = None, event: str | None = None,
        covariates: Sequence[str] | str | None = None,
        start: str | None = None, ties: Literal["efron", "breslow"] = "efron",
        strata: str | None = None, weights: str | None = None, cluster: str | None = None,
        robust: bool | None = None, alpha: float = 0.05, timefix: bool = True,
        firth: bool = False, profile: bool | Sequence[str] | None = None,
        ) -> CoxModel:
    """Fit a Cox proportional-hazards model as R's ``coxph`` (or, with ``firth=True``,
    the Firth-penalised model of R's ``coxphf``).

    Parameters
    ----------
    data
        One row per subject, or per ``(start, stop]`` interval for time-varying
        covariates / delayed entry. No row is ever dropped: missing values in a used
        column are an error that names the column and rows.
    formula
        Instead of the column arguments, an R formula
        ``"Surv(start, stop, event) ~ age + C(sex) + strata(site) + cluster(id)"``
        (``Surv(time, event)`` without delayed entry), given first or second:
        ``rc.cox(formula, data)`` or ``rc.cox(data, formula)``. The right side is a
        Wilkinson formula (formulaic): interactions ``a:b``/``a*b``, ``C(x)``,
        transformations such as ``np.log(x)``, splines ``bs(x, df=3)``/``cr(x, df=3)``,
        and R's ``strata()`` and ``cluster()``. Coefficients are named as R's
        ``model.matrix`` (``sexM``, ``age:sexM``, ``bs(x, df=3)1``); the fit equals the
        column-list call on the same columns.
    time
        Follow-up (stop) time column.
    event
        0/1 (or bool) event column.
    covariates
        Covariate columns. Numeric columns enter as they are. A string, boolean or
        categorical column is expanded to treatment dummies with the first level as
        reference (sorted values; a categorical keeps its category order), each named
        like R: column ``sex`` with levels F/M gives the coefficient ``sexM``.
    start
        Entry time column for counting-process data: a row is at risk at t when
        ``start < t <= time`` (R's ``Surv(start, stop, event)``).
    ties
        ``"efron"`` (R's default) or ``"breslow"``.
    strata
        Column whose levels get separate baseline hazards (R's ``strata()``).
    weights
        Case-weight column (> 0), as R's ``weights =``.
    cluster
        Column grouping correlated rows (e.g. the patient id in counting-process data):
        the robust variance sums dfbeta residuals within clusters (R's ``cluster()``).
    robust
        Sandwich variance. ``None`` (default) follows R: robust when ``cluster`` is
        given or any weight is not a whole number. ``True`` without ``cluster`` uses one
        cluster per row (right-censored data only; for ``(start, stop]`` data name the
        subject id in ``cluster``, as R requires).
    alpha
        1 - confidence level of the hazard-ratio limits (R's ``conf.int = 0.95``).
    timefix
        Merge times that differ by less than sqrt(machine eps) (R's default
        ``coxph.control(timefix = TRUE)``).
    firth
        Maximise Firth's penalised partial likelihood l(beta) + 1/2 log det I(beta)
        (Heinze & Schemper), as R's ``coxphf``: it removes the small-sample bias of
        the hazard ratio (large when one group has few events) and stays finite under
        monotone likelihood, where the ordinary fit diverges. Not with ``weights``,
        ``cluster`` or ``robust`` (no sandwich variance is defined for it).
    profile
        Firth fits only: terms (coefficient names) whose confidence limits and p-value
        come from the profile penalised likelihood (``coxphf``'s default, better than
        Wald under monotone likelihood). ``None``/``True``: every term; ``False``: Wald
        limits and p-values from I(beta)^-1 for all. Each profiled term costs about
        thirty constrained refits.

    Returns
    -------
    CoxModel
        Coefficient table, log-likelihoods, global tests, concordance, and methods for
        the PH test (``ph_test``), baseline hazard and predicted survival.

    Raises
    ------
    ValueError
        Missing or non-finite values (column and rows named), a constant or collinear
        covariate (named), no events, monotone likelihood / separation (the diverging
        covariate named), or no convergence.

    Notes
    -----
    * Estimation: Newton–Raphson from beta = 0 with step halving, as R's
      ``coxph``, but iterated past R's stopping rule (relative change in loglik
      < 1e-9) to the numerical optimum, so results agree with R to ~1e-9 or better.
      lifelines' ``CoxPHFitter`` stops earlier (coefficients 3e-6 to 7e-5 off).
    * Ties: Efron by default (R); SAS PHREG and Stata default to Breslow; lifelines
      has Efron only. ``loglik.null`` depends on the ties method.
    * Robust variance: ``se`` is always model-based; ``robust_se`` is the sandwich
      SE from weighted dfbeta residuals (Lin & Wei), summed within clusters. With a
      robust variance, ``z``, ``p``, the CI and the Wald test use ``robust_se`` while
      the LRT and score tests stay model-based and a ``robust_score`` test is added
      (R). With non-integer weights R (and we) report the robust SE by default; SAS
      needs ``COVS`` explicitly.
    * Weights are case weights: the score and information are weighted sums (R).
    * Concordance (Harrell's C, R's ``concordance``): pairs only within strata and risk
      sets, ties on the linear predictor count 1/2, ties on time excluded.
    * 0/1 covariates are not centred in ``means`` (R's ``nocenter``); the baseline
      hazard is at ``means``, as ``basehaz(fit)``.
    * Covariate expansion: string/categorical columns become treatment dummies named
      ``<column><level>``; the first level (sorted) is the reference, as R's factors.
    * Firth (``firth=True``): ``se`` is from I(beta)^-1 at the penalised estimate and
      ``z`` is the Wald statistic; for profiled terms ``lower``/``upper`` solve
      2 (l*max - l*profile) = chi2_1(1 - alpha) and ``p`` is the penalised likelihood-
      ratio test of the coefficient (as ``coxphf``). ``loglik`` holds the penalised
      log-likelihoods and ``tests`` the penalised likelihood-ratio and Wald tests.
      coxphf reports its log-likelihood on standardised covariates: it is ours minus
      sum(log sd(x_j)), so the likelihood-ratio statistics are equal. Any ties method
      (coxphf: Breslow only), strata and ``(start, stop]`` data are supported. With
      ``(start, stop]`` rows, a row whose start equals an event time is not at risk at
      it (R's ``coxph``); coxphf counts it, so on such data the two differ.

    References
    ----------
    .. [1] Cox DR. Regression models and life-tables. J R Stat Soc B. 1972;34:187-220.
    .. [2] Efron B. The efficiency of Cox's likelihood function for censored data.
           J Am Stat Assoc. 1977;72:557-565.
    .. [3] Lin DY, Wei LJ. The robust inference for the Cox proportional hazards model.
           J Am Stat Assoc. 1989;84:1074-1078.
    .. [4] Grambsch PM, Therneau TM. Proportional hazards tests and diagnostics based on
           weighted residuals. Biometrika. 1994;81:515-526.
    .. [5] Harrell FE, Califf RM, Pryor DB, Lee KL, Rosati RA. Evaluating the yield of
           medical tests. JAMA. 1982;247:2543-2546.
    .. [6] Heinze G, Schemper M. A solution to the problem of monotone likelihood in Cox
           regression. Biometrics. 2001;57:114-119.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> cohort = rc.datasets.rocca_like()
    >>> pfs = cohort.endpoint("PFS", with_columns=["age", "extramedullary"])
    >>> fit = rc.cox(pfs, time="time", event="event", covariates=["age", "extramedullary"])
    >>> fit.summary[["term", "hr", "lower", "upper", "p"]].round(3)
                     term     hr  lower  upper      p
    0                 age  1.008  0.993  1.023  0.273
    1  extramedullaryTRUE  1.484  0.946  2.326  0.086
    >>> fit.n, fit.n_events
    (189, 94)
    """
    data, parsed = _formula.split_call(data, formula, "cox", formula_second=True)
    if parsed is not None:
        data, columns, spec = _formula.model_arguments(
            parsed, data, {"time": time, "event": event, "covariates": covariates,
                           "start": start, "strata": strata, "cluster": cluster}, "cox")
        fit = cox(data, event=parsed.status, ties=ties, weights=weights, robust=robust,
                  alpha=alpha, timefix=timefix, firth=firth, profile=profile, **columns)
        return replace(fit, formula=parsed.text,
                       meta={**fit.meta, "model_spec": spec, "surv_formula": parsed})
    _formula.require("cox", time=time, event=event, covariates=covariates)
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    z_value(alpha)   # checks alpha before any work
    if robust is not None and not isinstance(robust, (bool, np.bool_)):
        raise TypeError(f"robust must be True, False or None, got {robust!r}")
    _check_firth_options(firth, profile, weights, cluster, robust)
    inp = read_inputs(data, time=time, event=event, covariates=covariates, start=start,
                  ties=ties, strata=strata, weights=weights, cluster=cluster)
    X, names, terms, levels = inp.X, inp.names, inp.terms, inp.levels
    profiled = _profiled_terms(firth, profile, names)
    stop, st_arr, ev, w, g = inp.stop, inp.start, inp.event, inp.weights, inp.strata
    s_levels = inp.strata_levels
    wname = weights
    del inp  # X is freed after prepare() below
    cl = None
    ncl = 0
    if cluster is not None:
        cm = data[cluster].isna().to_numpy()
        if cm.any():
            raise ValueError(f"column {cluster!r} has {int(cm.sum())} missing value(s) "
                             f"({V.describe_rows(data, cm)}); every row needs a cluster")
        cl, uniq = pd.factorize(data[cluster], sort=False)
        cl = cl.astype(np.intp)
        ncl = len(uniq)

    n_events = int(ev.sum())

    # R's robust default: cluster given, or non-integer weights
    nonint_w = w is not None and bool(np.any(w != np.floor(w)))
    robust_given = robust is not None
    if robust is None:
        robust = cluster is not None or nonint_w
    robust = bool(robust)
    if cluster is not None and not robust:
        raise ValueError("cluster= was given with robust=False; the cluster only enters "
                         "the robust variance — drop cluster or set robust=True")
    if robust and cl is None:
        if start is not None and robust_given:
            raise ValueError(
                "robust=True with (start, stop] data needs cluster= (the subject id), as "
                "R requires; rows of one subject are not independent")
        cl = None  # one cluster per row
        ncl = len(data)

    means = r_means(X, w, counting=start is not None)
    with core.single_blas(len(data)):
        A = core.prepare(X, stop, ev, start=st_arr, weights=w, strata=g, ties=ties,
                         center=means, fix_times=timefix)
        del X  # A holds the sorted, centred copy; the fit's peak memory is lower without X
        coll = core.collinear_columns(A)
        if coll:
            raise ValueError(
                f"covariates {', '.join(repr(names[j]) for j in coll)} are collinear (one "
                "is a linear combination of the others); their coefficients are not "
                "separately estimable — drop one of them")
        try:
            if firth:
                fr, summary, tests_df, loglik, var_used = _firth_inference(
                    A, names, alpha, profiled)
            else:
                fr, summary, tests_df, loglik, var_used = _inference(
                    A, names, alpha, robust, cl, ncl)
        except core.CoxFitError as exc:
            raise NotEstimableError(_fit_error_message(exc, names)) from None

    st = fr.state
    beta = st.beta.copy()
    p = len(beta)

    # R's linear predictor: X beta - sum(beta * means), in original row order; A.XT holds
    # X - means (sorted), summed column by column so identical rows give identical lp
    lp_sorted = np.zeros(len(data))
    for j in range(p):
        lp_sorted += A.XT[j] * beta[j]
    lp = np.empty(len(data))
    lp[A.order] = lp_sorted
    del lp_sorted

    lhs = f"Surv({start}, {time}, {event})" if start else f"Surv({time}, {event})"
    rhs = " + ".join(covariates)
    if strata:
        rhs += f" + strata({strata})"
    if cluster:
        rhs += f" + cluster({cluster})"
    formula = f"{lhs} ~ {rhs}"
    if weights:
        formula += f", weights = {weights}"

    vdf = pd.DataFrame(var_used, index=names, columns=names)
    ndf = pd.DataFrame(fr.var, index=names, columns=names)
    design = Design(covariates=tuple(covariates), terms=terms, levels=levels,
                     strata_levels=None if s_levels is None else pd.Index(s_levels))
    return CoxModel(
        summary=summary, loglik=loglik, tests=tests_df, n=len(data),
        n_events=n_events, ties=ties, strata=strata, weights=wname, cluster=cluster,
        robust=robust, alpha=alpha, formula=formula, covariates=tuple(covariates),
        terms=terms, var=vdf, naive_var=ndf, means=pd.Series(means, index=names),
        n_iter=fr.n_iter,
        meta={"time": time, "event": event, "start": start, "timefix": timefix,
              "definition": data.attrs.get("definition"), "n_clusters": ncl if robust else None,
              "firth": bool(firth), "profiled": profiled},
        _design=design,
        _core=ModelCore(arrays=A, fit=fr, cluster=cl, ncluster=ncl, lp=lp),
    )


def _inference(A, names, alpha, robust, cl, ncl):
    """Maximum partial likelihood: fit, coefficient table, global tests, log-likelihoods
    and the variance used for inference (robust when `robust`)."""
    fr = core.fit(A, keep_null=robust)
    rv = rscore = None
    if robust:
        rv = core.robust_variance(A, fr.state, fr.var, cl, ncl)
        rscore = core.robust_score_test(A, fr.state0, cl, ncl)
    beta = fr.state.beta
    se = np.sqrt(np.diag(fr.var))
    use_se = se
    summ = {"term": names, "coef": beta.copy(), "se": se}
    if robust:
        use_se = summ["robust_se"] = np.sqrt(np.diag(rv))
    z = beta / use_se
    q = z_value(alpha)
    summ.update({"hr": np.exp(beta), "lower": np.exp(beta - q * use_se),
                 "upper": np.exp(beta + q * use_se), "z": z, "p": 2 * norm.sf(np.abs(z))})
    summary = pd.DataFrame(summ)
    U0 = fr.state0.U
    tests = [("likelihood_ratio", 2.0 * (fr.state.loglik - fr.state0.loglik)),
             ("wald", float(beta @ np.linalg.solve(fr.var if rv is None else rv, beta))),
             ("score", float(U0 @ np.linalg.solve(fr.state0.imat, U0)))]
    if robust:
        tests.append(("robust_score", rscore))
    return (fr, summary, _tests_frame(tests, len(beta)),
            LogLik(fr.state0.loglik, fr.state.loglik), fr.var if rv is None else rv)


def _firth_inference(A, names, alpha, profiled):
    """Firth-penalised fit (coxphf conventions): Wald SE from I^-1, profile penalised-
    likelihood limits and p-values for the `profiled` terms, penalised LR test."""
    ff = _firth.fit(A)
    beta = ff.state.beta
    se = np.sqrt(np.diag(ff.var))
    z = beta / se
    q = z_value(alpha)
    lower, upper = beta - q * se, beta + q * se
    pval = 2 * norm.sf(np.abs(z))
    for t in profiled:
        j = names.index(t)
        try:
            lower[j], upper[j] = _firth.profile_limits(A, ff, j, alpha)
            pval[j] = _firth.profile_p(A, ff, j)[1]
        except core.CoxFitError as exc:
            raise NotEstimableError(
                f"the profile penalised likelihood of {t!r} could not be computed ({exc}); "
                f"leave {t!r} out of profile= or pass profile=False for Wald limits"
            ) from None
    summary = pd.DataFrame({"term": names, "coef": beta.copy(), "se": se,
                            "hr": np.exp(beta), "lower": np.exp(lower),
                            "upper": np.exp(upper), "z": z, "p": pval})
    tests = [("penalised_likelihood_ratio", 2.0 * (ff.pen_loglik - ff.pen_loglik0)),
             ("wald", float(beta @ np.linalg.solve(ff.var, beta)))]
    fr = core.FitResult(state=ff.state, state0=ff.state, var=ff.var, n_iter=ff.n_iter,
                        converged=True)
    return (fr, summary, _tests_frame(tests, len(beta)),
            LogLik(ff.pen_loglik0, ff.pen_loglik), ff.var)


def _tests_frame(tests, df):
    return pd.DataFrame({
        "test": [t for t, _ in tests],
        "statistic": [s for _, s in tests],
        "df": np.full(len(tests), df, dtype=np.int64),
        "p_value": [float(chi2.sf(s, df)) for _, s in tests],
    })


def _check_firth_options(firth, profile, weights, cluster, robust) -> None:
    if not isinstance(firth, (bool, np.bool_)):
        raise TypeError(f"firth must be True or False, got {firth!r}")
    if not firth:
        if profile is not None:
            raise ValueError("profile= applies to Firth fits only; pass firth=True")
        return
    used = [name for name, val in (("weights", weights), ("cluster", cluster),
                                   ("robust", robust)) if val]
    if used:
        raise ValueError(f"firth=True does not take {', '.join(used)}: the penalised fit "
                         "has no case-weighted or sandwich variance defined here (nor in "
                         "R's coxphf); fit without firth for a robust variance")


def _profiled_terms(firth, profile, names) -> tuple[str, ...]:
    if not firth or (isinstance(profile, (bool, np.bool_)) and not profile):
        return ()
    if profile is None or (isinstance(profile, (bool, np.bool_)) and profile):
        return tuple(names)
    if isinstance(profile, str):
        wanted = [profile]
    elif isinstance(profile, Sequence | np.ndarray | pd.Index):
        wanted = list(profile)
    else:
        raise TypeError(f"profile must be True, False, None or term names, got {profile!r}")
    unknown = [t for t in wanted if t not in names]
    if unknown:
        raise ValueError(f"profile= names {unknown}, which are not coefficients of the "
                         f"model; coefficients: {names}")
    return tuple(dict.fromkeys(wanted))


@dataclass(frozen=True, eq=False)
class CoxCoef:
    """The coefficients of one Cox model as a function of the rows it is fitted to.

    Made by :func:`cox_coef`; call it with row positions (``coef(rows)``) or with
    nothing (all rows). ``terms`` are the coefficient names, ``n`` the rows of the data.

    Examples
    --------
    >>> import numpy as np, rwe_cart as rc
    >>> pfs = rc.datasets.rocca_like().endpoint("PFS", with_columns=["age"])
    >>> coef = rc.cox_coef(pfs, time="time", event="event", covariates="age")
    >>> coef.n, coef.ties
    (189, 'efron')
    >>> np.round(coef(np.arange(0, coef.n, 2)), 4)
    term
    age    0.0182
    Name: coef, dtype: float64
    """

    terms: tuple[str, ...]
    n: int
    ties: str
    timefix: bool
    _inputs: Inputs = field(repr=False)

    def __call__(self, rows: Sequence[int] | np.ndarray | None = None) -> pd.Series:
        """Coefficients (log hazard ratios) of the model fitted to ``data.iloc[rows]``.

        Parameters
        ----------
        rows
            Integer positions into the data given to :func:`cox_coef`, repeats allowed
            (a bootstrap sample: a patient drawn twice counts twice); ``None`` for all
            rows.

        Returns
        -------
        pandas.Series
            Indexed by term, named ``"coef"``.

        Raises
        ------
        ValueError
            Rows out of range, no events among the rows, or a fit that fails (a
            covariate constant in these rows, separation), as :func:`cox` would.
        """
        inp = self._inputs
        if rows is None:
            rows = slice(None)
        else:
            rows = np.asarray(rows)
            if rows.ndim != 1 or rows.dtype.kind not in "iu":
                raise TypeError("rows must be a 1-D array of integer row positions, got "
                                f"shape {rows.shape} and dtype {rows.dtype}")
            if rows.size == 0:
                raise ValueError("rows is empty; give at least one row position")
            lo, hi = int(rows.min()), int(rows.max())
            if lo < 0 or hi >= self.n:
                raise ValueError(f"rows must be positions 0 .. {self.n - 1} of the data; "
                                 f"got values from {lo} to {hi}")
        ev = inp.event[rows]
        if not ev.any():
            raise ValueError("the rows hold no events; a Cox model needs at least one")
        X = inp.X[rows]
        stop = inp.stop[rows]
        start = None if inp.start is None else inp.start[rows]
        w = None if inp.weights is None else inp.weights[rows]
        g = None if inp.strata is None else inp.strata[rows]
        means = r_means(X, w, counting=start is not None)
        with core.single_blas(stop.size):
            A = core.prepare(X, stop, ev, start=start, weights=w, strata=g, ties=self.ties,
                             center=means, fix_times=self.timefix)
            del X
            try:
                fr = core.fit(A)
            except core.CoxFitError as exc:
                raise NotEstimableError(_fit_error_message(exc, inp.names)) from None
        return pd.Series(fr.state.beta, index=pd.Index(self.terms, name="term"), name="coef")


def cox_coef(data: pd.DataFrame, *, time: str, event: str, covariates: Sequence[str] | str,
             start: str | None = None, ties: Literal["efron", "breslow"] = "efron",
             strata: str | None = None, weights: str | None = None, timefix: bool = True,
             ) -> CoxCoef:
    """Cox coefficients as a fast function of the rows used, for bootstrap loops.

    Validates `data` once, as :func:`cox`, and returns a :class:`CoxCoef`: calling it
    with row positions fits the same model to those rows and returns only the
    coefficients. No data frame is built per call and no variance, test, summary table
    or concordance is computed, which is most of the cost of :func:`cox` on a few
    hundred patients.

    Parameters
    ----------
    data, time, event, covariates, start, ties, strata, weights, timefix
        As :func:`cox` (a robust variance and clusters play no part in the
        coefficients).

    Returns
    -------
    CoxCoef
        ``coef(rows)`` → coefficients of ``cox(data.iloc[rows], ...)`` as a Series
        indexed by term; ``coef()`` uses every row.

    Notes
    -----
    ``coef(rows)`` runs the same array code as :func:`cox` on the same arrays (the
    covariate means for centring are those of the rows, as R's), so it returns the
    coefficients :func:`cox` gives on ``data.iloc[rows]``. Categorical covariates keep
    the levels of the whole `data`: rows that miss a level give a constant dummy and
    the call raises (where :func:`cox` on those rows alone would drop the coefficient).
    With :func:`rwe_cart.bootstrap`, pass ``pass_rows=True`` so that the statistic gets
    the drawn row positions instead of a resampled frame.

    Examples
    --------
    >>> import numpy as np, rwe_cart as rc
    >>> pfs = rc.datasets.rocca_like().endpoint("PFS", with_columns=["age", "extramedullary"])
    >>> coef = rc.cox_coef(pfs, time="time", event="event", covariates=["age", "extramedullary"])
    >>> coef.terms
    ('age', 'extramedullaryTRUE')
    >>> np.round(coef(), 4)
    term
    age                   0.0083
    extramedullaryTRUE    0.3944
    Name: coef, dtype: float64
    >>> np.round(coef(np.arange(100)), 4)
    term
    age                   0.0145
    extramedullaryTRUE    0.3143
    Name: coef, dtype: float64
    """
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    inp = read_inputs(data, time=time, event=event, covariates=covariates, start=start,
                  ties=ties, strata=strata, weights=weights)
    return CoxCoef(terms=tuple(inp.names), n=len(data), ties=ties, timefix=bool(timefix),
                   _inputs=inp)


class NotEstimableError(ValueError):
    """The data cannot give the estimate (monotone likelihood, no convergence, no events,
    nobody exposed): a property of the data, not a mistake in the call.

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> df = pd.DataFrame({"time": [1, 2, 3, 4, 5, 6], "event": [1, 1, 1, 0, 0, 0],
    ...                    "x": [1, 1, 1, 0, 0, 0]})
    >>> try:
    ...     rc.cox(df, time="time", event="event", covariates=["x"])
    ... except rc.NotEstimableError as error:
    ...     print(str(error).split(":")[0])
    monotone likelihood
    >>> fit = rc.cox(df, time="time", event="event", covariates=["x"], firth=True)
    >>> round(float(fit.summary["hr"].iloc[0]), 2)
    13.0
    """


def _fit_error_message(exc: core.CoxFitError, names: list[str]) -> str:
    who = ", ".join(repr(names[j]) for j in exc.columns) or "(unidentified)"
    if exc.kind == "separation":
        what = "coefficient of" if len(exc.columns) <= 1 else "coefficients of"
        verb = "diverges" if len(exc.columns) <= 1 else "diverge"
        return (f"monotone likelihood: the {what} {who} {verb} to +/- infinity "
                "(the covariate separates the events, e.g. a group with no events or "
                "every event in one group); the hazard ratio is not estimable — drop, "
                "merge or recode it, or use a penalised (Firth) Cox model")
    if exc.kind == "singular":
        return (f"the information matrix is singular: covariates {who} are collinear "
                "within the risk sets (e.g. constant within every stratum, or a linear "
                "combination of other covariates) — drop one of them")
    return f"the Cox model did not converge ({exc}); covariates involved: {who}"
