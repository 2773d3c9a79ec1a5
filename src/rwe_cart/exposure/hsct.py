"""`hsct_effect`: every method's answer to the HSCT question, side by side.

Public: :func:`hsct_effect`, :class:`ExposureComparison`.
"""
from __future__ import annotations

import html
import inspect
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from .._deprecate import REMOVED_IN, keyword_only
from ..parallel import BootstrapError
from ..privacy import check_suppress, format_count
from ..schema import RESPONSES_CR
from ..survival.cox import NotEstimableError
from ._result import ExposureEstimate, comparison_table, format_hr, format_p
from ._ccw_cohort import ccw_cohort
from ._censor import censor
from ._competing import competing
from ._landmark import _landmark_day, landmark, supermodel
from ._naive import naive
from ._simon_makuch import simon_makuch
from ._common import as_list, endpoint_key
from .rows import require_hsct
from ._time_varying import mantel_byar, time_varying
__all__ = ["hsct_effect", "ExposureComparison", "METHODS", "DEFAULT_METHODS"]

DEFAULT_METHODS = ("naive", "censor", "time_varying", "landmark", "mantel_byar", "ccw")
METHODS = ("naive", "censor", "time_varying", "mantel_byar", "landmark", "supermodel",
           "simon_makuch", "competing", "ccw")
#: Options that apply to several methods (each method declares those it takes).
SHARED_OPTIONS = ("population", "alpha", "ties", "robust", "strata", "times", "window",
                  "landmarks", "degree", "horizon", "firth")


@dataclass(frozen=True, eq=False)
class ExposureComparison:
    """All methods' estimates of the effect of HSCT in remission on one endpoint.

    Attributes
    ----------
    estimates : list of ExposureEstimate
        One per method that ran, in the order asked.
    endpoint : str
        The endpoint's name (``"PFS"``, …).
    definition : str
        The endpoint definition text.
    skipped : dict
        Method → reason, for methods that did not run (e.g. clone–censor–weight not
        available, a landmark with nobody transplanted).
    cohort : str
        One-line description of the cohort.
    options : dict
        The options used (landmark, covariates, …).
    suppress_below : int or None
        Small-cell suppression of the displayed patient and event counts (see
        `suppressed`); ``.table`` always holds the numbers.

    Notes
    -----
    ``.table`` has exactly the columns ``method, estimand, hr, lower, upper, p, n, events,
    note`` (one row per estimate); ``.forest`` adds what a forest plot needs (label,
    population, whether the row is biased, and whether it has a hazard ratio).

    Examples
    --------
    >>> import rwe_cart as rc
    >>> res = rc.hsct_effect(rc.datasets.rocca_like(), "OS",
    ...                      methods=("naive", "time_varying", "landmark", "mantel_byar"))
    >>> res.methods
    ('naive', 'time_varying', 'landmark', 'mantel_byar')
    >>> res.table[["method", "hr", "lower", "upper"]].round(2)
             method    hr  lower  upper
    0         naive  0.18   0.06   0.58
    1  time_varying  0.34   0.10   1.12
    2      landmark  0.71   0.14   2.27
    3   mantel_byar  0.34   0.10   1.12
    """

    estimates: list
    endpoint: str
    definition: str = ""
    skipped: dict = field(default_factory=dict)
    cohort: str = ""
    options: dict = field(default_factory=dict)
    suppress_below: int | None = None

    def suppressed(self, suppress_below: int | None) -> ExposureComparison:
        """The same result, displayed with counts from 1 to ``suppress_below - 1`` as "<k"."""
        check_suppress(suppress_below)
        return replace(self, suppress_below=suppress_below)

    def _count(self, v: Any) -> str:
        return format_count(v, self.suppress_below)

    @property
    def table(self) -> pd.DataFrame:
        """method, estimand, hr, lower, upper, p, n, events, note — one row per method."""
        return comparison_table(self.estimates)

    @property
    def forest(self) -> pd.DataFrame:
        """Rows for a forest plot: ``method, label, hr, lower, upper, p, n, events,
        estimand, population, biased, has_hr`` (also rows without a hazard ratio, with
        ``has_hr`` False, so a plot can list them)."""
        return pd.DataFrame([{
            "method": e.method, "label": e.label, "hr": e.hr, "lower": e.lower,
            "upper": e.upper, "p": e.p, "n": e.n, "events": e.events, "estimand": e.estimand,
            "population": e.population, "biased": e.biased, "has_hr": e.has_hr,
        } for e in self.estimates])

    @property
    def methods(self) -> tuple:
        return tuple(e.method for e in self.estimates)

    def __getitem__(self, method: str) -> ExposureEstimate:
        for e in self.estimates:
            if e.method == method:
                return e
        raise KeyError(f"no estimate {method!r}; available: {', '.join(self.methods)}"
                       + (f" (skipped: {', '.join(self.skipped)})" if self.skipped else ""))

    def __iter__(self):
        return iter(self.estimates)

    def __len__(self) -> int:
        return len(self.estimates)

    def _title(self) -> str:
        return f"Effect of consolidative allo-HSCT in remission after CAR-T on {self.endpoint}"

    def __repr__(self) -> str:
        lines = [self._title(), f"endpoint: {self.definition}"] if self.definition else \
            [self._title()]
        w = max((len(e.label) for e in self.estimates), default=10)
        for e in self.estimates:
            flag = "  ⚠ BIASED" if e.biased else ""
            lines.append(f"  {e.label:<{w}}  HR {format_hr(e.hr, e.lower, e.upper):<18} "
                         f"p {format_p(e.p):<7} n={self._count(e.n):<5} events={self._count(e.events):<4}{flag}")
            lines.append(f"  {'':<{w}}  estimates: {e.estimand}")
            lines.append(f"  {'':<{w}}  note: {e.note}")
        for m, why in self.skipped.items():
            lines.append(f"  not run: {m} — {why}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e_ = html.escape
        # notebook style sheets right-align cells: words read left-aligned, from the top
        cell = ' style="text-align:left;vertical-align:top"'
        head = "<tr>" + "".join(
            f"<th{cell if words else ''}>{name}</th>" for name, words in (
                ("Method", True), ("What it estimates", True), ("HR (95% CI)", False), ("p", False),
                ("Patients", False), ("Events", False), ("Caveat", True))) + "</tr>"
        body = []
        for e in self.estimates:
            style = ' style="color:#b00020;background:#fdecea"' if e.biased else ""
            label = e_(e.label) + (" <b>— BIASED, not an effect</b>" if e.biased else "")
            body.append(
                f"<tr{style}><td{cell}>{label}</td><td{cell}>{e_(e.estimand)}<br><small>Population: "
                f"{e_(e.population)}</small></td><td>{e_(format_hr(e.hr, e.lower, e.upper))}"
                f"</td><td>{e_(format_p(e.p))}</td><td>{e_(self._count(e.n))}</td>"
                f"<td>{e_(self._count(e.events))}</td>"
                f"<td{cell}>{e_(e.note)}</td></tr>")
        skipped = "".join(f"<li>{e_(m)}: {e_(why)}</li>" for m, why in self.skipped.items())
        foot = (f"<p><small>Not run:</small></p><ul>{skipped}</ul>" if skipped else "")
        return (f"<div><p><b>{e_(self._title())}</b><br><small>{e_(self.definition)}</small>"
                f"</p><table>{head}{''.join(body)}</table>"
                "<p><small>HR &lt; 1 favours HSCT. Rows marked biased are shown only to "
                "illustrate immortal-time bias. Time-varying, Mantel–Byar, landmark and "
                "clone–censor–weight rows answer different, valid questions: read each "
                "row's estimand.</small></p>" + foot + "</div>")


# ---------------------------------------------------------------------------------------
# The methods: each one's runner and the options it takes
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Method:
    """One method of the comparison: ``run(cohort, endpoint, landmark_day, covariates,
    options)`` returns its estimates; ``shared`` are the comparison-wide options it takes;
    its own options (``hsct_effect(..., <method>={...})``) are the keyword parameters of
    ``function`` (the public cohort-level function it calls)."""

    run: Callable[..., list]
    function: Callable
    shared: tuple[str, ...]

    def own_options(self) -> tuple[str, ...]:
        fixed = {"cohort", "endpoint", "covariates"}
        names = [n for n, p in inspect.signature(self.function).parameters.items()
                 if n not in fixed and p.kind is not inspect.Parameter.VAR_KEYWORD]
        return tuple(names)


def _responder_only(cohort, covariates: list) -> list[str]:
    """Covariates missing for some non-responders but known for every responder."""
    p = cohort.patients
    if "best_response" not in p:
        return []
    resp = p["best_response"].isin(RESPONSES_CR).to_numpy()
    out = []
    for c in covariates:
        miss = p[c].isna().to_numpy()
        if miss.any() and not miss[resp].any():
            out.append(c)
    return out


def _run_naive(cohort, endpoint, day, covariates, options):
    only = _responder_only(cohort, covariates) if "population" not in options else []
    if only:   # e.g. MRD status: defined for responders only
        options = {**options, "population": "responders"}
    est = naive(cohort, endpoint, covariates=covariates, **options)
    if only:
        est = replace(est, note=est.note + f"; restricted to responders because "
                      f"{', '.join(only)} is known only for them")
    return [est]


def _run_ccw(cohort, endpoint, day, covariates, options):
    return [ccw_cohort(cohort, endpoint=endpoint, covariates=covariates, **options)]


_REGISTRY = {
    "naive": _Method(_run_naive, naive, ("population", "alpha")),
    "censor": _Method(lambda c, e, day, cov, o: [censor(c, e, **o)], censor,
                      ("population", "alpha", "times")),
    "time_varying": _Method(
        lambda c, e, day, cov, o: [time_varying(c, e, covariates=cov, **o)], time_varying,
        ("population", "alpha", "strata", "ties", "robust")),
    "mantel_byar": _Method(lambda c, e, day, cov, o: [mantel_byar(c, e, **o)], mantel_byar,
                           ("population", "alpha")),
    "landmark": _Method(
        lambda c, e, day, cov, o: [landmark(c, e, **{"at": day, "covariates": cov, **o})],
        landmark, ("alpha", "horizon", "strata", "firth")),
    "supermodel": _Method(
        lambda c, e, day, cov, o: [supermodel(c, e, covariates=cov, **o).estimate(day)],
        supermodel, ("alpha", "landmarks", "window", "degree")),
    "simon_makuch": _Method(
        lambda c, e, day, cov, o: [simon_makuch(c, e, **o).estimate()], simon_makuch,
        ("population", "alpha", "times")),
    "competing": _Method(
        lambda c, e, day, cov, o: competing(c, covariates=cov, **o).estimates, competing,
        ("population", "alpha", "times", "ties", "robust")),
    "ccw": _Method(_run_ccw, ccw_cohort, ("alpha",)),
}


def _options_by_method(methods: list[str], options: dict) -> dict[str, dict]:
    """Each selected method's options: the shared ones it takes, then its own dict.

    A shared option that no selected method takes, a method's dict for a method not
    selected, and a name a method does not know are errors: nothing is dropped silently.
    """
    per_method = {k: v for k, v in options.items() if k in METHODS}
    shared = {k: v for k, v in options.items() if k not in per_method}
    unknown = [k for k in shared if k not in SHARED_OPTIONS]
    if unknown:
        raise ValueError(f"unknown option(s) {unknown}; shared options are "
                         f"{', '.join(SHARED_OPTIONS)}, or pass a dict per method "
                         f"(e.g. time_varying={{'robust': True}})")
    for k in shared:
        if not any(k in _REGISTRY[m].shared for m in methods):
            takers = [m for m in METHODS if k in _REGISTRY[m].shared]
            raise ValueError(f"option {k}= is used by {', '.join(takers)}, none of which is "
                             f"among the methods asked for ({', '.join(methods)})")
    out = {}
    for m in methods:
        spec = _REGISTRY[m]
        own = per_method.get(m, {})
        if not isinstance(own, dict):
            raise TypeError(f"option {m}= must be a dict of that method's options, got "
                            f"{type(own).__name__}")
        known = spec.own_options()
        bad = [k for k in own if k not in known]
        if bad:
            raise ValueError(f"{m} does not take option(s) {bad}; its options are "
                             f"{', '.join(known)}")
        out[m] = {**{k: v for k, v in shared.items() if k in spec.shared}, **own}
    stray = [k for k in per_method if k not in methods]
    if stray:
        raise ValueError(f"options given for {stray}, which are not among the methods asked "
                         f"for ({', '.join(methods)})")
    return out


@keyword_only("methods", "at", "covariates")
def hsct_effect(cohort, endpoint: str = "PFS", *, methods: Sequence[str] = DEFAULT_METHODS,
                at: float | str = 100.0, covariates: Sequence[str] = (),
                **options: Any) -> ExposureComparison:
    """Does a consolidative allo-HSCT in remission after CAR-T change the endpoint?

    Runs each requested method and lays the answers side by side, each with what it
    estimates, in whom, and its caveat.

    Parameters
    ----------
    cohort : Cohort
    endpoint : {"PFS", "OS", "EFS", "RFS", "DOR"}
    methods : sequence of str
        Any of ``"naive"`` (ever vs never, biased — shown to expose the bias),
        ``"censor"`` (censored at HSCT, no HR), ``"time_varying"`` (HSCT time-dependent
        Cox), ``"mantel_byar"``, ``"landmark"`` (at day ``at``), ``"supermodel"``
        (landmark supermodel HR at day ``at``), ``"simon_makuch"`` (medians, no HR),
        ``"competing"`` (cause-specific relapse and NRM rows) and ``"ccw"``
        (clone–censor–weight, when :mod:`rwe_cart.exposure.ccw` is available; otherwise
        listed as not run).
    at : float or "median"
        Landmark day (default 100) for the landmark and supermodel rows, as
        ``exposure.landmark(at=)``; ``"median"`` = median day of HSCT in remission
        (``landmark=`` before 0.2.0: ``landmark=`` now names the landmark method's own
        options, as for every method). (The clone–censor–weight grace period is its own
        option: ``ccw={"grace": 120}``.)
    covariates : sequence of str
        Baseline adjustment covariates for the methods that adjust (naive, time-varying,
        landmark, supermodel, competing, ccw). When a covariate is known only for
        responders (MRD status), the naive row is computed among responders (from
        infusion) unless a population is given, and its note says so.
    **options
        Options shared by the methods that accept them — ``population``, ``alpha``,
        ``ties``, ``robust``, ``strata``, ``times``, ``window``, ``landmarks``,
        ``degree``, ``horizon``, ``firth`` (the landmark row's model: Firth-penalised
        by default, ``firth=False`` for the ordinary Cox fit; the time-varying row takes
        it as its own option, ``time_varying={"firth": True}``) — or a dict per method, e.g.
        ``time_varying={"robust": True}``, ``ccw={"n_boot": 200}``. Each method declares
        the shared options it takes; a shared option that none of the selected methods
        takes, a dict for a method not selected, or a name the method does not know is an
        error, never silently dropped.

    Returns
    -------
    ExposureComparison
        ``.table`` (method, estimand, hr, lower, upper, p, n, events, note),
        ``.estimates``, ``.forest``, ``.skipped``.

    Raises
    ------
    UnavailableInputError
        The cohort's source gives no response dates, best response, relapse dates or HSCT
        dates at all (`Cohort.unavailable`): who was transplanted in remission is unknown.

    Notes
    -----
    The exposure is HSCT in remission (``Cohort.patients.hsct_in_remission``) from the
    day after the transplant; salvage HSCT after relapse is never exposure. The rows
    answer different questions: the naive row is biased by immortal time; the censored
    row is no effect at all; time-varying and Mantel–Byar compare transplanted with
    not-yet-transplanted time; landmark rows are conditional on being event-free at the
    landmark; clone–censor–weight emulates a trial of strategies. A method that is not
    estimable on these data (e.g. nobody transplanted by the landmark:
    :class:`~rwe_cart.NotEstimableError`) is listed in ``.skipped`` with the reason, not
    silently dropped; any other error (a misspelt column, a bad option) is raised.

    References
    ----------
    .. [1] Suissa S. Immortal time bias in pharmacoepidemiology. Am J Epidemiol.
           2008;167:492-499.
    .. [2] Mantel N, Byar DP. J Am Stat Assoc. 1974;69:81-86.
    .. [3] Simon R, Makuch RW. Stat Med. 1984;3:35-44.
    .. [4] Anderson JR, Cain KC, Gelber RD. J Clin Oncol. 1983;1:710-719.
    .. [5] van Houwelingen HC. Dynamic prediction by landmarking in event history
           analysis. Scand J Stat. 2007;34:70-85.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> res = rc.hsct_effect(rc.datasets.rocca_like(), "PFS",
    ...                      covariates=["mrd_negative", "prior_hsct", "age"], ccw={"n_boot": 0})
    >>> list(res.table.columns)
    ['method', 'estimand', 'hr', 'lower', 'upper', 'p', 'n', 'events', 'note']
    >>> res.table[["method", "hr", "lower", "upper", "n", "events"]].round(2)
             method    hr  lower  upper    n  events
    0         naive  0.29   0.12   0.70  151      56
    1        censor   NaN    NaN    NaN  189      88
    2  time_varying  0.47   0.19   1.16  143      56
    3      landmark  0.64   0.20   1.65  108      33
    4   mantel_byar  0.44   0.18   1.06  143      56
    5           ccw  0.81   0.66   0.98  143      56
    >>> res.skipped
    {}
    """
    if "landmark" in options and not isinstance(options["landmark"], dict):
        warnings.warn("hsct_effect(landmark=<day>) is now hsct_effect(at=<day>); landmark= "
                      f"names the landmark method's options; the day stops working in "
                      f"rwe_cart {REMOVED_IN}", FutureWarning, stacklevel=2)
        at = options.pop("landmark")
    if isinstance(methods, str):
        methods = [methods]
    methods = list(dict.fromkeys(methods))
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {', '.join(METHODS)}")
    key = endpoint_key(endpoint)
    covariates = as_list(covariates)
    absent = [c for c in covariates if c not in cohort.patients]
    if absent:
        raise ValueError(f"covariates {absent} are not columns of the cohort's patient table")
    by_method = _options_by_method(methods, options)
    # Before any method runs: without these inputs every row would be "nobody transplanted".
    require_hsct(cohort, key, "hsct_effect")
    day = _landmark_day(cohort, at)
    estimates, skipped = [], {}
    for m in methods:
        try:
            estimates.extend(_REGISTRY[m].run(cohort, key, day, covariates, by_method[m]))
        except NotEstimableError as exc:  # not estimable on these data: say so, do not drop it
            skipped[m] = f"not estimable: {exc}"
        except BootstrapError as exc:  # a small cohort: too many resamples not estimable
            skipped[m] = f"no bootstrap interval: {str(exc).splitlines()[0]}"
    definition = cohort.endpoint(key).attrs.get("definition", "")
    return ExposureComparison(
        estimates=estimates, endpoint=key, definition=definition, skipped=skipped,
        cohort=repr(cohort), options={"landmark": day, "covariates": tuple(covariates),
                                      "methods": tuple(methods), **options})
