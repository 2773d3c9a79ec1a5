"""Cumulative transition hazards with their (co)variances (``mstate::msfit``).

:func:`transition_hazards` takes the long frame (non-parametric, Nelson–Aalen) or a Cox
fit on it with one ``newdata`` row per transition; the array code is in
:mod:`rwe_cart.survival._multistate_core`. Public through
:mod:`rwe_cart.survival.multistate`.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from . import _cox_core as cox_core
from . import _multistate_core as core
from . import validate as V
from ._ms_transitions import Transitions, _transitions_of
from .cox import CoxModel
from .design import build_rows


@dataclass(frozen=True, eq=False)
class TransitionHazards:
    """Cumulative transition hazards with their (co)variances, as ``msfit``.

    Attributes
    ----------
    transitions : Transitions
        The model.
    times : numpy.ndarray
        The time grid (msfit's): event times of all transitions, plus the last follow-up
        time when later.
    cumhaz : numpy.ndarray
        (T, K) cumulative hazard of each transition at each time.
    cov : numpy.ndarray
        (T, K, K) covariance of the cumulative hazards (symmetric).
    variance : str
        ``"aalen"`` or ``"greenwood"`` (the variance recursion
        :func:`state_probabilities` uses).
    source : str
        ``"nonparametric"`` or ``"cox"``.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> ms = rc.datasets.rocca_like().multistate().frame   # long frame of the CAR-T pathway
    >>> haz = rc.transition_hazards(ms)
    >>> haz.variance, haz.source, haz.cumhaz.shape
    ('aalen', 'nonparametric', (118, 9))
    >>> haz.table.query("trans == 4").tail(2).round(4)
          time  trans  cumhaz
    470  681.0      4  0.3399
    471  932.0      4  0.3399
    """

    transitions: Transitions
    times: np.ndarray = field(repr=False)
    cumhaz: np.ndarray = field(repr=False)
    cov: np.ndarray = field(repr=False)
    variance: str
    source: str
    meta: dict = field(default_factory=dict, repr=False)

    @property
    def table(self) -> pd.DataFrame:
        """``time, trans, cumhaz``, transition by transition (msfit's ``Haz``)."""
        T, K = self.cumhaz.shape
        return pd.DataFrame({"time": np.tile(self.times, K),
                             "trans": np.repeat(np.arange(1, K + 1), T),
                             "cumhaz": self.cumhaz.T.reshape(-1)})

    @property
    def covariance(self) -> pd.DataFrame:
        """``time, trans1, trans2, cov`` for trans1 <= trans2 (msfit's ``varHaz``)."""
        T, K = self.cumhaz.shape
        a, b = np.triu_indices(K)
        return pd.DataFrame({"time": np.tile(self.times, a.size),
                             "trans1": np.repeat(a + 1, T), "trans2": np.repeat(b + 1, T),
                             "cov": self.cov[:, a, b].T.reshape(-1)})

    def __repr__(self) -> str:
        return (f"TransitionHazards ({self.source}, {self.variance} variance): "
                f"{self.transitions.n_transitions} transitions, {self.times.size} times")

    def _repr_html_(self) -> str:
        last = self.table.groupby("trans").tail(1)
        return f"<p><b>{html.escape(repr(self))}</b></p>" + last.to_html(index=False)


def transition_hazards(model_or_frame: CoxModel | pd.DataFrame,
                       newdata: pd.DataFrame | None = None,
                       transitions: Transitions | None = None,
                       variance: Literal["aalen", "greenwood"] = "aalen") -> TransitionHazards:
    """Cumulative transition hazards and their covariances, as ``mstate::msfit``.

    Parameters
    ----------
    model_or_frame
        Either a :func:`rwe_cart.cox` fit on the long frame (``start``/``stop``/
        ``status``, usually ``strata="trans"``, or a column shared by several
        transitions such as ``"to"``), or the long frame itself for the non-parametric
        (Nelson–Aalen) hazards.
    newdata
        Cox fit only: one row per transition with column ``trans`` (1..K), the model's
        covariate columns (the patient's values, e.g. expanded by
        :func:`expand_covariates`) and its strata column.
    transitions
        The model; by default the one the frame (or `newdata`) carries.
    variance
        ``"aalen"`` (default) or ``"greenwood"`` (non-parametric only, as msfit).

    Returns
    -------
    TransitionHazards
        ``.table`` (``time, trans, cumhaz``) and ``.covariance`` (``time, trans1,
        trans2, cov``), equal to msfit's ``Haz`` and ``varHaz``.

    Notes
    -----
    Non-parametric: Nelson–Aalen per transition (Breslow ties, as
    ``coxph(Surv(start, stop, status) ~ strata(trans), method = "breslow")``; times
    closer than sqrt(machine eps) are merged first, as R's ``timefix``).
    Cox: the hazard of transition k is Lambda0_s(t) exp((x_k - means) beta) in its
    stratum s, with the (co)variances of de Wreede et al. (2010, eq. 12), including the
    uncertainty of beta. With two transitions in one stratum but different covariates
    (``strata="to"`` with a transition-type term), msfit's covariance uses the risk
    score of the lower-numbered transition squared in its first term; this function
    reproduces msfit's numbers. Efron or Breslow increments follow the fit (msfit is
    checked for Breslow only). Case weights and robust fits are not supported (msfit
    neither).

    Examples
    --------
    >>> import rwe_cart as rc
    >>> ms = rc.datasets.rocca_like().multistate().frame   # long frame of the CAR-T pathway
    >>> haz = rc.transition_hazards(ms)
    >>> haz.transitions.table.head(4)
       trans       from         to
    0      1    infused  remission
    1      2    infused    relapse
    2      3    infused      death
    3      4  remission       hsct
    >>> haz.table.groupby("trans")["cumhaz"].max().round(3).tolist()[:4]
    [4.775, 0.396, 0.061, 0.34]
    """
    if variance not in ("aalen", "greenwood"):
        raise ValueError(f"variance must be 'aalen' or 'greenwood', got {variance!r}")
    if isinstance(model_or_frame, CoxModel):
        return _cox_hazards(model_or_frame, newdata, transitions, variance)
    if not isinstance(model_or_frame, pd.DataFrame):
        raise TypeError("model_or_frame must be an rc.cox fit or the long frame of "
                        f"rc.multistate_frame, got {type(model_or_frame).__name__}")
    if newdata is not None:
        raise ValueError("newdata applies to a Cox fit; the non-parametric hazards take "
                         "the long frame alone")
    return _np_hazards(model_or_frame, transitions, variance, ties="breslow")


def _long_arrays(frame: pd.DataFrame, tr: Transitions):
    V.check_frame(frame, [("start", "start"), ("stop", "stop"), ("status", "status"),
                          ("trans", "trans")])
    start, _, _ = V.time_array(frame, "start", what="start times")
    stop, _, _ = V.time_array(frame, "stop", what="stop times")
    start = start.astype(np.float64)
    stop = stop.astype(np.float64)
    V.check_entry_before_time(frame, "start", start, "stop", stop)
    status = V.event_array(frame, "status")
    trans = frame["trans"].to_numpy()
    K = tr.n_transitions
    if trans.dtype.kind not in "iu" or not np.isin(trans, np.arange(1, K + 1)).all():
        bad = ~np.isin(trans, np.arange(1, K + 1))
        raise ValueError(f"column 'trans' must hold transition numbers 1..{K}"
                         + (f" ({V.describe_rows(frame, bad)})" if bad.any() else
                            f", got dtype {trans.dtype}"))
    return trans.astype(np.int64) - 1, start, stop, status


def _np_hazards(frame, transitions, variance, ties):
    tr = _transitions_of(frame, transitions, "frame")
    trans, start, stop, status = _long_arrays(frame, tr)
    if not status.any():
        raise ValueError("the long frame has no transitions (column 'status' is all 0)")
    # R's coxph (behind msfit and LMAJ) merges times closer than sqrt(eps) (aeqSurv)
    stop, start, _ = cox_core.timefix(stop, start)
    grid, cum, cov = core.nelson_aalen(trans, start, stop, status, tr.n_transitions,
                                             tr.tfrom, ties=ties, variance=variance)
    return TransitionHazards(tr, grid, cum, cov, variance, "nonparametric",
                             meta={"frame": frame, "ties": ties})


def _cox_hazards(model: CoxModel, newdata, transitions, variance):
    if variance != "aalen":
        raise ValueError("variance='greenwood' is defined for the non-parametric hazards "
                         "only (as msfit); use 'aalen' with a Cox fit")
    if model.weights is not None or model.robust:
        raise ValueError("transition_hazards takes an unweighted Cox fit with the "
                         "model-based variance (as msfit); refit without weights/cluster")
    if model.meta.get("firth"):
        raise ValueError("transition_hazards does not take a Firth-penalised fit")
    if newdata is None:
        raise ValueError("a Cox fit needs newdata: one row per transition with 'trans', "
                         "the covariates and the strata column")
    if not isinstance(newdata, pd.DataFrame):
        raise TypeError(f"newdata must be a DataFrame, got {type(newdata).__name__}")
    tr = _transitions_of(newdata, transitions, "newdata")
    K = tr.n_transitions
    if "trans" not in newdata.columns:
        raise ValueError("newdata needs the column 'trans' (1..K, one row per transition)")
    tk = newdata["trans"].to_numpy()
    if len(newdata) != K or sorted(tk.tolist()) != list(range(1, K + 1)):
        raise ValueError(f"newdata must have one row per transition, 'trans' = 1..{K}; "
                         f"got {tk.tolist()}")
    nd = newdata.iloc[np.argsort(tk, kind="stable")]
    d = model._design
    c = model._core
    A, st = c.arrays, c.fit.state
    Xp = build_rows(nd, d)
    if model.strata is not None:
        if model.strata not in nd.columns:
            raise ValueError(f"newdata needs the strata column {model.strata!r} (the "
                             "stratum of each transition)")
        codes = d.strata_levels.get_indexer(nd[model.strata].to_numpy())
        if (codes < 0).any():
            bad = nd[model.strata].to_numpy()[codes < 0]
            raise ValueError(f"newdata column {model.strata!r} has values {list(bad)} not "
                             f"among the model's strata {list(d.strata_levels)}")
    else:
        codes = np.zeros(K, dtype=np.int64)
    beta = model.coef.to_numpy()
    means = model.means.to_numpy()
    x2 = Xp - means
    risk = np.exp(x2 @ beta)
    g, t, _, _, cum0 = cox_core.baseline_cumhaz(A, st, means)
    vh0, xb0 = cox_core.baseline_variance_terms(A, st)
    per = []
    for h in range(int(g.max()) + 1 if g.size else 0):     # strata (a few)
        rows = np.flatnonzero(g == h)
        per.append((t[rows], cum0[rows], vh0[rows], xb0[:, rows]))
    ev_times = np.unique(A.stop[A.event])
    last = A.stop.max()
    grid = ev_times if last <= ev_times[-1] else np.append(ev_times, last)
    haz, cov = core.cox_hazards(grid, codes, per, risk, x2, model.naive_var.to_numpy())
    return TransitionHazards(tr, grid, haz, cov, "aalen", "cox",
                             meta={"model": model, "formula": model.formula, "newdata": nd})
