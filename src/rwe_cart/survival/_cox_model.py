"""The fitted Cox model (:class:`CoxModel`) and the small results it holds
(:class:`LogLik`, :class:`Concordance`); :func:`rwe_cart.survival.cox.cox` builds it.

Import these from :mod:`rwe_cart.survival.cox` (or ``rwe_cart``); this module holds them
so that the fitting function and the result class each have a module of their own. The
result keeps the core's sorted arrays and fit state, from which concordance, ``cox.zph``,
the baseline hazard and predicted survival are computed on demand.
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy.stats import chi2

from . import _cox_core as core
from . import _formula
from ._common import z_value
from .design import Design, build_rows
from .km import CONF_TYPES, _confint
from .results import RegressionResult, TestResult

__all__ = ["Concordance", "CoxModel", "LogLik", "ModelCore", "PH_TRANSFORMS"]

PH_TRANSFORMS = ("km", "rank", "identity", "log")
_TEST_NAMES = {
    "likelihood_ratio": "Likelihood ratio test",
    "wald": "Wald test",
    "score": "Score (log-rank) test",
    "penalised_likelihood_ratio": "Penalised likelihood ratio test",
    "robust_score": "Robust score test",
}


class LogLik(NamedTuple):
    """Log partial likelihood at beta = 0 (``null``) and at the estimate (``fitted``).

    Examples
    --------
    >>> import rwe_cart as rc
    >>> pfs = rc.datasets.rocca_like().endpoint("PFS", with_columns=["age"])
    >>> fit = rc.cox(pfs, time="time", event="event", covariates=["age"])
    >>> round(fit.loglik.null, 3), round(fit.loglik.fitted, 3)
    (-441.213, -440.466)
    """

    null: float
    fitted: float


class Concordance(NamedTuple):
    """Harrell's C of the linear predictor with R's standard error and pair counts.

    ``float(c)`` gives ``c.value``. Counts are weighted pair counts as in R's
    ``fit$concordance`` (concordant, discordant, tied on the linear predictor, tied on
    time, tied on both).

    Examples
    --------
    >>> import rwe_cart as rc
    >>> pfs = rc.datasets.rocca_like().endpoint("PFS", with_columns=["age"])
    >>> c = rc.cox(pfs, time="time", event="event", covariates=["age"]).concordance
    >>> round(c.value, 3), round(c.se, 3)
    (0.541, 0.034)
    >>> float(c) == c.value
    True
    """

    value: float
    se: float
    concordant: float
    discordant: float
    tied_x: float
    tied_y: float
    tied_xy: float

    def __float__(self) -> float:
        return float(self.value)


@dataclass(eq=False)
class ModelCore:
    """What a fitted model keeps of the core for the results computed on demand."""

    arrays: Any            # core.CoxArrays
    fit: Any               # core.FitResult
    cluster: np.ndarray | None
    ncluster: int
    lp: np.ndarray         # linear predictor (R's, centred at `means`), original order


# ---------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)  # eq=False: DataFrames do not compare to a bool
class CoxModel(RegressionResult):
    """A fitted Cox model, laid out as R's ``summary(coxph(...))``.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per coefficient: ``term, coef, se, [robust_se], hr, lower, upper, z, p``.
        ``se`` is always the model-based SE; with a robust variance ``robust_se`` is the
        sandwich SE and ``z``, ``p``, ``lower``, ``upper`` use it (as R). ``hr`` is
        exp(coef) and ``lower``/``upper`` its ``1 - alpha`` confidence limits.
    loglik : LogLik
        ``(null, fitted)`` log partial likelihoods (the null one depends on ``ties``).
    tests : pandas.DataFrame
        Global tests, columns ``test, statistic, df, p_value``; rows
        ``likelihood_ratio``, ``wald``, ``score`` and, with a robust variance,
        ``robust_score``. The Wald test uses the robust variance when robust (as R);
        LRT and score are model-based. :meth:`test` returns one row as a
        :class:`~rwe_cart.TestResult`.
    n, n_events : int
        Rows used and rows with an event (R's ``n`` and ``nevent``).
    ties, strata, weights, cluster, robust, alpha
        Options used (column names for strata/weights/cluster, ``None`` if unused).
    formula : str
        R-like description, e.g. ``"Surv(start, stop, event) ~ age + strata(sex)"``.
    covariates : tuple of str
        The covariate columns as given; ``terms`` maps each to its coefficient names
        (a categorical column gives one coefficient per non-reference level).
    var, naive_var : pandas.DataFrame
        Variance matrix used for inference (robust when robust) and the model-based one.
    means : pandas.Series
        R's ``fit$means``: the centring used by :meth:`baseline_hazard` (0 for columns
        whose values are all in {-1, 0, 1}).
    n_iter : int
        Newton–Raphson iterations.
    meta : dict
        Column names used (time, event, start) and free-form provenance.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> pfs = rc.datasets.rocca_like().endpoint("PFS", with_columns=["age", "extramedullary"])
    >>> fit = rc.cox(pfs, time="time", event="event", covariates=["age", "extramedullary"])
    >>> fit.tests.round(3)
                   test  statistic  df  p_value
    0  likelihood_ratio      4.281   2    0.118
    1              wald      4.506   2    0.105
    2             score      4.550   2    0.103
    >>> round(float(fit.concordance), 3)
    0.565
    >>> fit.ph_test().round(3)
                 term  statistic  df  p_value
    0             age      0.064   1    0.800
    1  extramedullary      0.116   1    0.734
    2          GLOBAL      0.205   2    0.903
    """

    summary: pd.DataFrame
    loglik: LogLik
    tests: pd.DataFrame
    n: int
    n_events: int
    ties: str
    strata: str | None
    weights: str | None
    cluster: str | None
    robust: bool
    alpha: float
    formula: str
    covariates: tuple[str, ...]
    terms: dict
    var: pd.DataFrame
    naive_var: pd.DataFrame
    means: pd.Series
    n_iter: int
    meta: dict = field(default_factory=dict)
    _design: Design | None = field(default=None, repr=False)
    _core: ModelCore | None = field(default=None, repr=False)

    # -- simple accessors ---------------------------------------------------------------
    @property
    def coef(self) -> pd.Series:
        """Coefficients (log hazard ratios) indexed by term."""
        return pd.Series(self.summary["coef"].to_numpy(), index=self.summary["term"],
                         name="coef")

    @property
    def hr(self) -> pd.Series:
        """Hazard ratios exp(coef) indexed by term."""
        return pd.Series(self.summary["hr"].to_numpy(), index=self.summary["term"],
                         name="hr")

    def _fixed_limits(self) -> tuple[str, ...]:
        return tuple(self.meta.get("profiled") or ())

    def test(self, name: str) -> TestResult:
        """One global test (``"likelihood_ratio"``, ``"wald"``, ``"score"``,
        ``"robust_score"``) as a :class:`TestResult`."""
        rows = self.tests[self.tests["test"] == name]
        if rows.empty:
            raise KeyError(f"no test {name!r}; available: {', '.join(self.tests['test'])}")
        row = rows.iloc[0]
        return TestResult(name=_TEST_NAMES.get(name, name), statistic=float(row.statistic),
                          df=float(row.df), p_value=float(row.p_value),
                          meta={"test": name, "model": self.formula})

    # -- concordance --------------------------------------------------------------------
    @cached_property
    def concordance(self) -> Concordance:
        """Harrell's C (R's ``fit$concordance``), computed on first access.

        Pairs are compared within strata and risk sets; ties on the linear predictor
        count 1/2, pairs tied on time are excluded; case weights multiply. The SE is
        R's ``sqrt(fit$concordance["std"]^2)`` (infinitesimal jackknife), summed within
        clusters when the model has a cluster (or a robust variance).
        """
        c = self._core
        A = c.arrays
        lp_sorted = c.lp[A.order]
        cl = None if c.cluster is None else c.cluster[A.order]
        with core.single_blas(A.n):
            value, se, counts = core.concordance(
                A.stop, A.start, A.event, A.w, A.strata if self.strata else None,
                lp_sorted, cluster=cl)
        return Concordance(value, se, *map(float, counts))

    # -- proportional hazards test ------------------------------------------------------
    def ph_test(self, transform: Literal["km", "rank", "identity", "log"] = "km"
                ) -> pd.DataFrame:
        """Test of proportional hazards, as R's ``cox.zph(fit, transform)`` (survival >= 3).

        Parameters
        ----------
        transform
            Time scale g(t) for the interaction: ``"km"`` (R's default, 1 - the
            left-continuous KM of the pooled data), ``"rank"``, ``"identity"`` or
            ``"log"``.

        Returns
        -------
        pandas.DataFrame
            ``term, statistic, df, p_value``: one row per term (a categorical column is
            one term with one df per dummy, R's ``terms = TRUE``) and a ``GLOBAL`` row.

        Notes
        -----
        The statistic is the score test for adding g(t)·x at (beta-hat, 0) with the full
        information matrix, as R >= 3.0. It differs from the older
        Grambsch–Therneau approximation (survival 2.x) and from lifelines'
        ``proportional_hazard_test``.
        """
        if self.meta.get("firth"):
            raise ValueError("ph_test is not available for a Firth-penalised fit (cox.zph "
                             "assumes the unpenalised score is 0 at the estimate); test "
                             "proportional hazards on the fit without firth")
        if transform not in PH_TRANSFORMS:
            raise ValueError(
                f"transform must be one of {', '.join(map(repr, PH_TRANSFORMS))}, "
                f"got {transform!r}")
        c = self._core
        names = list(self.summary["term"])
        cols = [[names.index(cn) for cn in coefs] for coefs in self.terms.values()]
        with core.single_blas(c.arrays.n):
            stat, df = core.zph_test(c.arrays, c.fit.state, cols, transform)
        return pd.DataFrame({
            "term": list(self.terms) + ["GLOBAL"],
            "statistic": stat,
            "df": df.astype(np.int64),
            "p_value": chi2.sf(stat, df),
        })

    # -- baseline hazard and predictions ------------------------------------------------
    def baseline_hazard(self, centered: bool = True) -> pd.DataFrame:
        """Cumulative baseline hazard, as R's ``basehaz(fit, centered)``.

        Parameters
        ----------
        centered
            ``True`` (R's default): at the covariate means ``self.means``; ``False``: at
            all covariates 0.

        Returns
        -------
        pandas.DataFrame
            ``[stratum,] time, n_risk, n_event, cumhaz`` at every distinct observed time
            (event or censoring) of each stratum. Increments are Efron's (ties="efron",
            R's ``survfit.coxph`` ctype 2) or Breslow's; ``n_risk``/``n_event`` count
            rows (unweighted).
        """
        ref = self.means.to_numpy() if centered else np.zeros(len(self.means))
        return self._cumhaz_frame(ref)

    def _cumhaz_frame(self, ref: np.ndarray) -> pd.DataFrame:
        c = self._core
        g, t, nrisk, nev, cum = core.baseline_cumhaz(c.arrays, c.fit.state, ref)
        out = {}
        if self.strata is not None:
            out["stratum"] = self._design.strata_levels.take(g)
        out.update({"time": t, "n_risk": nrisk, "n_event": nev, "cumhaz": cum})
        return pd.DataFrame(out)

    def predict_survival(self, profile: pd.DataFrame, times: Sequence[float], *,
                         conf_type: str = "log", alpha: float | None = None
                         ) -> pd.DataFrame:
        """Predicted survival S(t | x) = exp(-Λ0(t) exp((x - means)β)) for covariate
        profiles, with pointwise confidence limits.

        Parameters
        ----------
        profile
            One row per covariate profile, with the covariate columns as in the fitted
            data (categorical columns as their levels, e.g. ``sex = "M"``) and, for a
            stratified model, the strata column.
        times
            Times at which to evaluate the curves.
        conf_type
            Transformation for the limits, as :func:`~rwe_cart.kaplan_meier`:
            ``"log"`` (R's default), ``"log-log"``, ``"plain"``, ``"logit"`` or
            ``"arcsin"``.
        alpha
            1 - confidence level; the model's ``alpha`` when ``None``.

        Returns
        -------
        pandas.DataFrame
            ``profile`` (the profile's index label), ``[stratum,]`` ``time``,
            ``cumhaz``, ``std_chaz``, ``survival``, ``std_err``, ``lower``, ``upper``;
            one row per profile and time. ``std_chaz`` is the standard error of the
            cumulative hazard, ``std_err`` that of the survival (``survival *
            std_chaz``). Times after the stratum's last observed time are NaN (R's
            ``extend = FALSE``); before the first event time the curve is 1 with
            limits [1, 1].

        Notes
        -----
        As R's ``summary(survfit(fit, newdata = profile), times = times)`` (``stype =
        2``; Efron or Breslow hazard as fitted). The variance of Λ(t | x) is R's
        (``agsurv``/``coxsurv.fit``): ``(sum_k v_k + d(t)' V d(t)) exp(2 x'β)`` over
        event times k <= t, with v_k the variance of the baseline hazard increment
        (Breslow: W_k / S0_k^2; Efron: averaged over the tied events), d(t) =
        Λ0(t) x - sum_k x̄_k dΛ0_k (x centred at ``means``) and V the model's ``var``
        (the robust variance for a robust fit, as R). The limits transform S with the
        SE of -log S = Λ, as R's ``survfit_confint(logse = TRUE)``.
        """
        d = self._design
        if not isinstance(profile, pd.DataFrame):
            raise TypeError("profile must be a pandas DataFrame")
        if conf_type not in CONF_TYPES:
            raise ValueError(f"conf_type must be one of {', '.join(map(repr, CONF_TYPES))}; "
                             f"got {conf_type!r}")
        alpha = self.alpha if alpha is None else alpha
        z = z_value(alpha)
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(times)):
            raise ValueError("times must be finite")
        parsed = self.meta.get("surv_formula")
        if parsed is not None:       # a formula fit: code the profile as the data were
            spec = self.meta["model_spec"]
            if spec is not None:
                profile = _formula.transform(spec, profile, parsed.text)
            if len(parsed.strata) > 1 and all(s in profile for s in parsed.strata):
                profile, _ = _formula.strata_column(parsed, profile)
        Xp = build_rows(profile, d)
        if self.strata is not None:
            if self.strata not in profile.columns:
                raise ValueError(f"profile needs the strata column {self.strata!r}")
            sv = profile[self.strata].to_numpy()
            known = set(d.strata_levels.tolist())
            bad = [v for v in sv if v not in known]
            if bad:
                raise ValueError(f"profile has strata {bad[:5]} not in the fitted model "
                                 f"(levels {list(d.strata_levels)})")
        beta = self.coef.to_numpy()
        means = self.means.to_numpy()
        x2 = Xp - means
        risk = np.exp(x2 @ beta)
        c = self._core
        g, t, _, _, cum0 = core.baseline_cumhaz(c.arrays, c.fit.state, means)
        varhaz, xbar = core.baseline_variance_terms(c.arrays, c.fit.state)
        V = self.var.to_numpy()
        codes = (np.zeros(len(profile), dtype=np.intp) if self.strata is None
                 else d.strata_levels.get_indexer(sv))
        frames = []
        for i, label in enumerate(profile.index):  # one curve per profile (a few)
            rows = np.flatnonzero(g == codes[i])
            bt = t[rows]
            idx = np.searchsorted(bt, times, side="right") - 1
            at = rows[np.clip(idx, 0, None)]
            before = idx < 0
            dt = cum0[at][:, None] * x2[i] - xbar[:, at].T
            var = (varhaz[at] + np.einsum("tj,jk,tk->t", dt, V, dt)) * risk[i] ** 2
            ch = cum0[at] * risk[i]
            se = np.sqrt(np.maximum(var, 0.0))
            ch[before] = 0.0
            se[before] = 0.0
            after = times > bt[-1]
            ch[after] = np.nan
            se[after] = np.nan
            surv = np.exp(-ch)
            lower, upper = _confint(surv, se, conf_type, z)
            fr = {"profile": label}
            if self.strata is not None:
                fr["stratum"] = sv[i]
            fr.update({"time": times, "cumhaz": ch, "std_chaz": se, "survival": surv,
                       "std_err": surv * se, "lower": lower, "upper": upper})
            frames.append(pd.DataFrame(fr))
        return pd.concat(frames, ignore_index=True)

    # -- display ------------------------------------------------------------------------
    def _header(self) -> list[str]:
        opts = [f"ties = {self.ties}"]
        if self.meta.get("firth"):
            prof = self.meta.get("profiled") or ()
            opts.append("Firth penalised likelihood; " + (
                "profile-likelihood limits and p-values" + (
                    "" if len(prof) == len(self.summary) else f" for {', '.join(prof)}")
                if prof else "Wald limits"))
        if self.robust:
            opts.append("robust SE" + (f" clustered on {self.cluster}" if self.cluster else ""))
        return [f"Cox model: {self.formula}", f"  ({', '.join(opts)})",
                f"  n = {self.n}, number of events = {self.n_events}"]

    def _test_lines(self) -> list[str]:
        lines = []
        for row in self.tests.itertuples(index=False):
            lines.append(f"{_TEST_NAMES.get(row.test, row.test)} = {row.statistic:.4g} "
                         f"on {row.df:g} df, p = {row.p_value:.3g}")
        return lines

    def __repr__(self) -> str:
        tab = self.summary.to_string(index=False, float_format="{:.4g}".format)
        lines = self._header() + ["", tab, ""] + self._test_lines()
        try:
            c = self.concordance
            lines.append(f"Concordance = {c.value:.3f} (se = {c.se:.3f})")
        except Exception:  # pragma: no cover - display must not fail
            pass
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "<br>".join(html.escape(s) for s in self._header())
        tab = self.summary.to_html(index=False, float_format="{:.4g}".format)
        tests = "<br>".join(html.escape(s) for s in self._test_lines())
        try:
            c = self.concordance
            tests += f"<br>Concordance = {c.value:.3f} (se = {c.se:.3f})"
        except Exception:  # pragma: no cover
            pass
        return f"<p>{head}</p>{tab}<p>{tests}</p>"
