"""Effect modification: the time-varying HSCT effect within levels of a baseline factor.

Public: :class:`EffectModification`, :func:`effect_modification_cox` (generic),
:func:`effect_modification` (cohort).
"""
from __future__ import annotations

import functools
import html
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtri
from scipy.stats import chi2

from .._deprecate import renamed
from .._deprecate import REMOVED_IN
from ..endpoints import ENDPOINTS
from ..survival import validate as V
from ..survival.cox import CoxModel, NotEstimableError, cox
from ..survival.design import level_name
from ..survival.results import TestResult
from ._common import adjusted_words, as_list, with_exposure
from .rows import hsct_rows
from ._time_varying import time_varying_cox

__all__ = ["EffectModification", "effect_modification_cox", "effect_modification"]

TABLE_COLUMNS = ["factor", "level", "n", "exposed", "events", "hr", "lower", "upper", "p",
                 "hr_model", "lower_model", "upper_model", "note"]


@dataclass(frozen=True, eq=False)
class EffectModification:
    """The exposure effect within levels of a factor, and tests of no modification.

    Attributes
    ----------
    factor : str
        The modifying baseline factor.
    table : DataFrame
        One row per level: ``factor, level, n, exposed, events`` and the hazard ratio
        ``hr, lower, upper, p`` from a separate time-varying Cox model within the level
        (same covariates), then ``hr_model, lower_model, upper_model``: the level's hazard
        ratio from the interaction model (exp(γ + δ_level)); ``note`` says why a level's
        separate fit is not estimable.
    tests : DataFrame
        ``test, statistic, df, p_value``: ``likelihood_ratio`` (interaction model vs the
        main-effects model) and ``wald`` (the interaction terms jointly; robust variance
        when robust).
    main_model, interaction_model : CoxModel
        The interaction model is None when it is not estimable (e.g. no event after
        exposure in one level: monotone likelihood); then the tests are NaN and ``note``
        says why.
    estimates : list of ExposureEstimate
        The per-level fits (estimable levels).
    reference : object
        The reference level.
    note : str
        Why the interaction model could not be fitted ("" when it was).
    population, definition, estimand : str

    Examples
    --------
    >>> import rwe_cart as rc
    >>> em = rc.exposure.effect_modification(rc.datasets.rocca_like(), "PFS",
    ...                                      factor="mrd_negative")
    >>> em.factor, bool(em.reference)
    ('mrd_negative', False)
    >>> test = em.test("likelihood_ratio")
    >>> test.df, round(test.p_value, 3)
    (1.0, 0.751)
    """

    factor: str
    table: pd.DataFrame
    tests: pd.DataFrame
    main_model: CoxModel
    interaction_model: CoxModel | None
    estimates: list
    reference: object
    note: str = ""
    population: str = ""
    definition: str = ""
    estimand: str = ""
    meta: dict = field(default_factory=dict)

    def test(self, name: str = "likelihood_ratio") -> TestResult:
        """``"likelihood_ratio"`` or ``"wald"`` test of no effect modification."""
        row = self.tests[self.tests["test"] == name]
        if row.empty:
            raise KeyError(f"no test {name!r}; available: {', '.join(self.tests['test'])}")
        r = row.iloc[0]
        return TestResult(name=f"interaction {name} test ({self.factor})",
                          statistic=float(r.statistic), df=float(r.df),
                          p_value=float(r.p_value))

    def __repr__(self) -> str:
        t = self.tests
        tests = "; ".join(f"{r.test}: {r.statistic:.3g} on {r.df:g} df, p = {r.p_value:.3g}"
                          for r in t.itertuples())
        return (f"Effect of the exposure by {self.factor} ({self.population})\n"
                + self.table.drop(columns="note").to_string(
                    index=False, float_format=lambda v: f"{v:.3g}")
                + f"\ninteraction: {tests}" + (f"\nnote: {self.note}" if self.note else ""))

    def _repr_html_(self) -> str:
        return (f"<p><b>Effect modification by {html.escape(self.factor)}</b><br>"
                f"<i>{html.escape(self.estimand)}</i></p>"
                + self.table.to_html(index=False, float_format="{:.3g}".format, na_rep="—")
                + self.tests.to_html(index=False, float_format="{:.4g}".format, na_rep="—")
                + (f"<p><i>{html.escape(self.note)}</i></p>" if self.note else ""))


@renamed(stop="time")
def effect_modification_cox(rows: pd.DataFrame, *, start: str, time: str, event: str,
                            exposure: str, modifier: str, covariates: Sequence[str] = (),
                            id: str | None = None, ties: str = "efron", robust: bool = False,
                            alpha: float = 0.05, firth: bool = False) -> EffectModification:
    """Exposure (time-dependent) × baseline-factor interaction in a Cox model.

    Parameters
    ----------
    rows : DataFrame
        Counting-process rows ``(start, stop]``.
    start, time, event, exposure : str
        As :func:`time_varying_cox`.
    modifier : str
        Baseline factor (bool, string, categorical or a numeric code); its first level
        (sorted, or category order) is the reference.
    covariates : sequence of str
        Adjustment covariates (in every model).
    id : str, optional
        Subject id (patients; the robust variance clusters on it).
    ties, robust, alpha
        As :func:`time_varying_cox`.
    firth : bool
        Firth-penalised fits (as :func:`time_varying_cox`): each level's hazard ratio
        with its profile-likelihood interval, finite where a level has no event after
        exposure (monotone likelihood); the interaction tests compare penalised fits
        (penalised likelihood ratio, and Wald from the penalised information).

    Returns
    -------
    EffectModification

    Notes
    -----
    Main-effects model: exposure + factor + covariates. Interaction model: adds
    exposure × (each non-reference level). The likelihood-ratio test compares the two
    (df = levels − 1; model-based even when ``robust``, as R's ``anova``); the Wald test
    is δ' V⁻¹ δ of the interaction coefficients. Within-level hazard ratios come from
    separate fits in each level, and from the interaction model as exp(γ + δ_level).

    References
    ----------
    .. [1] Mantel N, Byar DP. J Am Stat Assoc. 1974;69:81-86.
    .. [2] Suissa S. Immortal time bias in pharmacoepidemiology. Am J Epidemiol.
           2008;167:492-499.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> rows = rc.exposure.hsct_rows(rc.datasets.rocca_like(), "PFS", columns=["mrd_negative"])
    >>> em = rc.effect_modification_cox(rows, start="start", time="stop", event="event",
    ...                                 exposure="hsct", modifier="mrd_negative", id="patient_id")
    >>> em.table[["level", "n", "exposed", "events", "hr"]].round(3)
       level    n  exposed  events     hr
    0  False   30        5      17  0.874
    1   True  113       25      39  0.359
    >>> em.tests[["test", "statistic", "df", "p_value"]].round(3)
                   test  statistic  df  p_value
    0  likelihood_ratio      0.100   1    0.751
    1              wald      0.103   1    0.748
    """
    covariates = as_list(covariates)
    V.check_frame(rows, [("start", start), ("time", time), ("event", event),
                         ("exposure", exposure), ("modifier", modifier), ("id", id)]
                  + [("covariates", c) for c in covariates])
    if modifier in covariates or modifier == exposure:
        raise ValueError(f"the modifier {modifier!r} must not also be the exposure or a "
                         "covariate (it enters the models by itself)")
    data = with_exposure(rows, exposure).copy()
    codes, levels = V.group_codes(data, modifier)
    if len(levels) < 2:
        raise ValueError(f"modifier {modifier!r} has a single level ({levels[0]!r}); "
                         "nothing to compare")
    x = data[exposure].to_numpy().astype(float)
    dummies, inter = [], []
    for k in range(1, len(levels)):
        d = f"{modifier}={level_name(levels[k])}"
        i = f"{exposure}:{d}"
        clash = [c for c in (d, i) if c in rows.columns]
        if clash:
            raise ValueError(f"columns {clash} are used for the interaction terms; rename them")
        data[d] = (codes == k).astype(float)
        data[i] = x * data[d].to_numpy()
        dummies.append(d)
        inter.append(i)
    cluster = id if robust else None
    if robust and id is None:
        raise ValueError("robust=True on (start, stop] rows needs id=")
    if firth and robust:
        raise ValueError("firth=True has no robust (sandwich) variance; drop robust")
    # Firth: Wald limits (profile=False) in the joint models, whose per-level hazard
    # ratios are linear combinations; the separate per-level fits below are profiled
    common = dict(time=time, start=start, event=event, ties=ties, cluster=cluster,
                  robust=True if robust else None, alpha=alpha, firth=firth,
                  profile=False if firth else None)
    main = cox(data, covariates=[exposure, *dummies, *covariates], **common)
    k = len(inter)
    note = ""
    try:
        full = cox(data, covariates=[exposure, *dummies, *inter, *covariates], **common)
    except NotEstimableError as exc:   # e.g. no event after exposure in one level
        full = None
        note = f"interaction model not estimable: {exc}"
        lrt = wald = np.nan
    else:
        lrt = 2.0 * (full.loglik.fitted - main.loglik.fitted)
        b = full.coef[inter].to_numpy()
        v = full.var.loc[inter, inter].to_numpy()
        wald = float(b @ np.linalg.solve(v, b))
    tests = pd.DataFrame({"test": ["likelihood_ratio", "wald"], "statistic": [lrt, wald],
                          "df": [k, k], "p_value": [chi2.sf(lrt, k), chi2.sf(wald, k)]})
    # per-level hazard ratio from the interaction model: exp(gamma + delta_k)
    q = ndtri(1 - alpha / 2)
    if full is not None:
        names = list(full.summary["term"])
        beta = full.coef.to_numpy()
        var = full.var.to_numpy()
    rows_out, fits = [], []
    ids = data[id] if id is not None else None
    ev_all = V.event_array(data, event)
    for j, lev in enumerate(levels):
        if full is not None:
            c = np.zeros(len(names))
            c[names.index(exposure)] = 1.0
            if j > 0:
                c[names.index(inter[j - 1])] = 1.0
            lp, se = float(c @ beta), float(np.sqrt(c @ var @ c))
        else:
            lp = se = np.nan
        sel = codes == j
        sub = data.loc[sel, list(rows.columns)]
        sub.attrs = dict(rows.attrs)
        row = {"factor": modifier, "level": lev,
               "n": int(ids[sel].nunique()) if ids is not None else int(sel.sum()),
               "exposed": int(ids[sel & (x == 1)].nunique()) if ids is not None
               else int((sel & (x == 1)).sum()),
               "events": int(ev_all[sel].sum()), "hr": np.nan, "lower": np.nan,
               "upper": np.nan, "p": np.nan, "hr_model": np.exp(lp),
               "lower_model": np.exp(lp - q * se), "upper_model": np.exp(lp + q * se),
               "note": ""}
        try:
            est = time_varying_cox(sub, start=start, time=time, event=event, exposure=exposure,
                                   covariates=covariates, id=id, ties=ties, robust=robust,
                                   alpha=alpha, firth=firth)
        except NotEstimableError as exc:
            row["note"] = f"not estimable: {exc}"
        else:
            row.update(hr=est.hr, lower=est.lower, upper=est.upper, p=est.p)
            fits.append(est)
        rows_out.append(row)
    table = pd.DataFrame(rows_out, columns=TABLE_COLUMNS)
    return EffectModification(
        factor=modifier, table=table, tests=tests, main_model=main, interaction_model=full,
        estimates=fits, reference=levels[0], note=note,
        population=rows.attrs.get("population", "all rows"),
        definition=rows.attrs.get("definition", "") or "",
        estimand=(f"hazard ratio of the time-dependent exposure within each level of "
                  f"{modifier}; {adjusted_words(covariates)}; interaction tests of equal "
                  "hazard ratios across levels"),
        meta={"robust": robust, "ties": ties, "firth": bool(firth),
              "covariates": tuple(covariates),
              "levels": list(levels), "p_value_interaction": float(tests.p_value.iloc[0])})


def _factor_first(fn):
    """``effect_modification(cohort, factor, endpoint)``, the order before 0.2.0, still
    works (with a FutureWarning) for one minor version."""
    @functools.wraps(fn)
    def wrapper(cohort, *args, **kwargs):
        if args and "factor" not in kwargs and str(args[0]).upper() not in ENDPOINTS:
            warnings.warn("effect_modification(cohort, factor, endpoint) is now "
                          "effect_modification(cohort, endpoint, factor=...); the old order "
                          f"stops working in rwe_cart {REMOVED_IN}", FutureWarning, stacklevel=2)
            kwargs["factor"], args = args[0], args[1:]
        return fn(cohort, *args, **kwargs)

    return wrapper


@_factor_first
def effect_modification(cohort, endpoint: str = "PFS", *, factor: str,
                        covariates: Sequence[str] = (), population: str = "responders",
                        ties: str = "efron", robust: bool = False, alpha: float = 0.05,
                        firth: bool = False) -> EffectModification:
    """Does the HSCT effect differ by a baseline factor (prior HSCT, MRD status, …)?

    Parameters
    ----------
    cohort : Cohort
    endpoint : {"PFS", "OS", "EFS", "RFS", "DOR"}
    factor : str
        Baseline patient column (e.g. ``"prior_hsct"``, ``"mrd_negative"``, ``"sex"``);
        keyword-only, as every option after ``(cohort, endpoint)`` (before 0.2.0 it came
        second: ``effect_modification(cohort, factor, endpoint)``).
    covariates : sequence of str
        Adjustment covariates (not the factor).
    population : {"responders", "all"}
        As :func:`rwe_cart.exposure.time_varying`.
    ties, robust, alpha, firth
        As :func:`rwe_cart.exposure.time_varying`; ``firth=True`` keeps a level with no
        event after HSCT estimable (a finite, penalised hazard ratio).

    Returns
    -------
    EffectModification
        Per-level HSCT hazard ratios and the likelihood-ratio and Wald tests of the
        HSCT × factor interaction.

    Notes
    -----
    Subgroup hazard ratios are imprecise in cohorts of this size (a few dozen
    transplants); read the interaction test, not the separate p-values.
    """
    covariates = as_list(covariates)
    rows = hsct_rows(cohort, endpoint, population=population, columns=[factor, *covariates])
    res = effect_modification_cox(rows, start="start", time="stop", event="event",
                                  exposure="hsct", modifier=factor, covariates=covariates,
                                  id="patient_id", ties=ties, robust=robust, alpha=alpha,
                                  firth=firth)
    key = rows.attrs["endpoint"]
    from dataclasses import replace

    return replace(res, estimand=(
        f"{key} hazard ratio after allo-HSCT in remission vs not (yet) transplanted "
        f"(time-dependent) within each level of {factor}; {adjusted_words(covariates)}; "
        f"among {res.population}; interaction tests of equal hazard ratios across levels"))
