"""Transition probabilities (``mstate::probtrans``), the landmark Aalen–Johansen
estimator (``mstate::LMAJ``) and expected length of stay (``mstate::ELOS``).

The product integral and its variance recursions are in
:mod:`rwe_cart.survival._multistate_core`. Public through
:mod:`rwe_cart.survival.multistate`.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import _multistate_core as core
from . import validate as V
from ._ms_hazards import TransitionHazards, _cox_hazards, _long_arrays, _np_hazards
from ._ms_transitions import TRANSITIONS_ATTR, Transitions, _transitions_of
from .cox import cox
from .results import SummaryDisplay


@dataclass(frozen=True, eq=False)
class StateProbabilities:
    """Transition probabilities P(predt, t) (forward) or P(t, predt) (fixed horizon)
    from every starting state, with standard errors, as ``probtrans``.

    Attributes
    ----------
    transitions : Transitions
        The model.
    times : numpy.ndarray
        The times probtrans reports.
    probability, se : numpy.ndarray
        (T, S, S): ``probability[i, a, b]`` from state a to state b at ``times[i]``.
        ``se`` is NaN-free (0 where the variance is 0); ``None`` without variances.
    predt, direction, method
        Prediction time, ``"forward"``/``"fixedhorizon"``, variance recursion.
    start : str or None
        The default starting state of :meth:`table` (the landmark state for LMAJ).

    Examples
    --------
    >>> import rwe_cart as rc
    >>> ms = rc.datasets.rocca_like().multistate().frame   # long frame of the CAR-T pathway
    >>> pt = rc.state_probabilities(rc.transition_hazards(ms))
    >>> pt.probability.shape
    (119, 5, 5)
    >>> pt.table().query("time == 365").round(3)
          time      state  probability     se
    540  365.0    infused        0.000  0.000
    541  365.0  remission        0.300  0.039
    542  365.0       hsct        0.161  0.029
    543  365.0    relapse        0.178  0.035
    544  365.0      death        0.361  0.039
    """

    transitions: Transitions
    times: np.ndarray = field(repr=False)
    probability: np.ndarray = field(repr=False)
    se: np.ndarray | None = field(repr=False)
    predt: float
    direction: str
    method: str
    start: Any = None
    meta: dict = field(default_factory=dict, repr=False)

    def _code(self, start):
        if start is None:
            start = self.start if self.start is not None else self.transitions.states[0]
        return start, self.transitions.code(start, "start")

    def table(self, start: Any = None) -> pd.DataFrame:
        """Tidy ``time, state, probability, se`` from state `start` (name; default the
        first state, or the landmark state), one row per time and state."""
        _, a = self._code(start)
        T, S = self.times.size, self.transitions.n_states
        se = (self.se[:, a, :] if self.se is not None else np.full((T, S), np.nan))
        return pd.DataFrame({
            "time": np.repeat(self.times, S),
            "state": pd.Categorical(np.tile(np.array(self.transitions.states, dtype=object), T),
                                    categories=list(self.transitions.states)),
            "probability": self.probability[:, a, :].reshape(-1),
            "se": se.reshape(-1)})

    def wide(self, start: Any = None) -> pd.DataFrame:
        """probtrans's columns ``time, pstate1..S, se1..S`` from state `start`."""
        _, a = self._code(start)
        S = self.transitions.n_states
        out = {"time": self.times}
        for b in range(S):
            out[f"pstate{b + 1}"] = self.probability[:, a, b]
        if self.se is not None:
            for b in range(S):
                out[f"se{b + 1}"] = self.se[:, a, b]
        return pd.DataFrame(out)

    def __repr__(self) -> str:
        start, a = self._code(None)
        last = self.wide(start).iloc[-1]
        probs = ", ".join(f"{s} {last[f'pstate{b + 1}']:.3f}"
                          for b, s in enumerate(self.transitions.states))
        return (f"State probabilities ({self.direction}, predt = {self.predt:g}, "
                f"{self.method} variance) from {start!r}: at t = {self.times[-1]:g}: {probs}")

    def _repr_html_(self) -> str:
        start, _ = self._code(None)
        w = self.wide(start)
        rows = np.unique(np.linspace(0, len(w) - 1, min(len(w), 11)).round().astype(int))
        table = w.iloc[rows].to_html(index=False, float_format="{:.4g}".format)
        return f"<p><b>{html.escape(repr(self))}</b></p>{table}"


def state_probabilities(hazards: TransitionHazards, predt: float = 0,
                        direction: Literal["forward", "fixedhorizon"] = "forward",
                        variance: bool = True) -> StateProbabilities:
    """Aalen–Johansen transition probabilities with standard errors, as
    ``mstate::probtrans``.

    Parameters
    ----------
    hazards
        From :func:`transition_hazards`.
    predt
        ``"forward"``: probabilities P(predt, t) for t > predt; ``"fixedhorizon"``:
        P(t, predt) for t <= predt.
    direction
        ``"forward"`` or ``"fixedhorizon"``.
    variance
        Compute standard errors (the Aalen or Greenwood recursion of de Wreede, Fiocco &
        Putter 2009, following the hazards' variance type; with a Cox fit they include
        the uncertainty of the coefficients through the hazards' covariances).

    Returns
    -------
    StateProbabilities
        ``.table(start=)`` (``time, state, probability, se``) and ``.wide(start=)``
        (probtrans's columns), at every time probtrans reports: predt, then each
        hazard time after it (forward); 0, the hazard times up to predt and predt
        (fixed horizon).

    Examples
    --------
    >>> import pandas as pd
    >>> import rwe_cart as rc
    >>> tr = rc.transitions({"Tx": ["PR", "Death"], "PR": ["Death"]})
    >>> wide = pd.DataFrame({"id": range(1, 7), "pr_t": [1.0, 4, 2, 3, 1.5, 6],
    ...                      "pr_s": [1, 0, 0, 1, 1, 0], "d_t": [5.0, 4, 2, 7, 2.5, 6],
    ...                      "d_s": [1, 0, 1, 0, 1, 1]})
    >>> ms = rc.multistate_frame(wide, tr, time={"PR": "pr_t", "Death": "d_t"},
    ...                          status={"PR": "pr_s", "Death": "d_s"})
    >>> pt = rc.state_probabilities(rc.transition_hazards(ms))
    >>> pt.wide("Tx").round(3).iloc[:3]
       time  pstate1  pstate2  pstate3    se1    se2  se3
    0   0.0    1.000    0.000      0.0  0.000  0.000  0.0
    1   1.0    0.833    0.167      0.0  0.139  0.139  0.0
    2   1.5    0.667    0.333      0.0  0.174  0.174  0.0
    """
    if not isinstance(hazards, TransitionHazards):
        raise TypeError("hazards must come from rc.transition_hazards, got "
                        f"{type(hazards).__name__}")
    if direction not in ("forward", "fixedhorizon"):
        raise ValueError(f"direction must be 'forward' or 'fixedhorizon', got {direction!r}")
    if not isinstance(predt, (int, float, np.integer, np.floating)) or not np.isfinite(predt):
        raise ValueError(f"predt must be a finite number, got {predt!r}")
    predt = float(predt)
    return _probabilities(hazards, predt, direction, bool(variance))


def _probabilities(hz: TransitionHazards, predt, direction, variance, start=None,
                   meta=None) -> StateProbabilities:
    tr = hz.transitions
    S = tr.n_states
    dhaz = np.diff(hz.cumhaz, axis=0, prepend=0.0)
    dcov = np.diff(hz.cov, axis=0, prepend=0.0) if variance else None
    forward = direction == "forward"
    keep = hz.times > predt if forward else hz.times <= predt
    t = hz.times[keep]
    P, var = core.product_integral(dhaz[keep], dcov[keep] if variance else None,
                                   tr.tfrom, tr.tto, S, forward=forward,
                                   method=hz.variance, variance=variance)
    eye = np.eye(S)[None]
    zero = np.zeros((1, S, S))
    if forward:
        times = np.concatenate([[predt], t])
        prob = np.concatenate([eye, P])
        v = np.concatenate([zero, var]) if variance else None
    else:
        # row i (time t_{i-1}, 0 for the first) holds P over the jumps at t_i .. t_T
        tail = [t[-1]] if t.size else []
        if not t.size or t[-1] != predt:
            tail.append(predt)
        times = np.concatenate([[0.0], t[:-1], tail]) if t.size else np.array([predt])
        prob = np.concatenate([P, np.repeat(eye, len(tail), axis=0)]) if t.size else eye
        v = (np.concatenate([var, np.zeros((len(tail), S, S))]) if t.size else zero
             ) if variance else None
    se = np.sqrt(np.clip(v, 0.0, None)) if variance else None
    return StateProbabilities(tr, times, prob, se, predt, direction, hz.variance, start,
                              meta={"hazards": hz, **(meta or {})})


# ---------------------------------------------------------------------------------------
# LMAJ
# ---------------------------------------------------------------------------------------
def landmark_aalen_johansen(frame: pd.DataFrame, transitions: Transitions | None, s: float,
                            start: Any) -> StateProbabilities:
    """Landmark Aalen–Johansen estimator (Putter & Spitoni 2018), as ``mstate::LMAJ``:
    valid without the Markov assumption.

    Parameters
    ----------
    frame
        The long frame of :func:`multistate_frame`.
    transitions
        The model (``None``: the one the frame carries).
    s
        Landmark time.
    start
        State (name) the patients occupy at `s`.

    Returns
    -------
    StateProbabilities
        P(start at s -> state at t), t >= s, estimated on the patients in `start` at s
        (``.table()`` defaults to `start`), with Aalen-type standard errors.

    Notes
    -----
    The patients in `start` at time s (a row with start <= s < stop from that state)
    keep their rows that end after s, entry times raised to s; the non-parametric
    hazards on these rows use Efron's increments for tied times, as LMAJ (its ``coxph``
    fit uses R's default ties), and feed :func:`state_probabilities` from predt = s.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> ms = rc.datasets.rocca_like().multistate().frame   # long frame of the CAR-T pathway
    >>> lm = rc.landmark_aalen_johansen(ms, None, s=100, start="remission")
    >>> lm.meta["n_patients"]
    89
    >>> lm.table().query("time == 459").round(3)
          time      state  probability     se
    210  459.0    infused        0.000  0.000
    211  459.0  remission        0.460  0.068
    212  459.0       hsct        0.107  0.035
    213  459.0    relapse        0.190  0.057
    214  459.0      death        0.243  0.055
    """
    tr = _transitions_of(frame, transitions, "frame")
    if not isinstance(s, (int, float, np.integer, np.floating)) or not np.isfinite(s):
        raise ValueError(f"s must be a finite number, got {s!r}")
    s = float(s)
    h = tr.code(start, "start")
    trans, st, sp, status = _long_arrays(frame, tr)
    V.check_frame(frame, [("id", "id")])
    ids = pd.factorize(frame["id"])[0]
    inside = (st <= s) & (sp > s)
    fr = tr.tfrom[trans]
    # the state at s: the from-state of the first such row by transition (xsect)
    o = np.lexsort((st, trans, ids))
    o = o[inside[o]]
    first = o[np.unique(ids[o], return_index=True)[1]]
    there = np.unique(ids[first[fr[first] == h]])
    if there.size == 0:
        entered = st[fr == h]
        when = (f"; the first patient enters at t = {entered.min():g}" if entered.size
                else "; no patient ever enters it")
        raise ValueError(f"no patient is in state {start!r} at the landmark s = {s:g}{when}")
    rows = np.isin(ids, there) & (sp > s)
    sub = frame.loc[rows].copy()
    sub["start"] = np.maximum(st[rows], s)
    sub["time"] = sub["stop"] - sub["start"]
    sub.attrs[TRANSITIONS_ATTR] = tr
    hz = _np_hazards(sub, tr, "aalen", ties="efron")
    return _probabilities(hz, s, "forward", True, start=start,
                          meta={"landmark": s, "n_patients": int(there.size)})


# ---------------------------------------------------------------------------------------
# ELOS
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)  # SummaryDisplay shows it
class LengthOfStay(SummaryDisplay):
    """Expected length of stay in each state up to `tau`, as ``mstate::ELOS``.

    Attributes
    ----------
    table : pandas.DataFrame
        ``state, length_of_stay, se``, one row per state in model order; the SE is a
        bootstrap over patients (NaN when not requested).
    start, tau, predt
        Starting state, horizon and prediction time.
    n_boot : int
        Bootstrap replicates behind ``se`` (0: none).

    Examples
    --------
    >>> import rwe_cart as rc
    >>> ms = rc.datasets.rocca_like().multistate().frame   # long frame of the CAR-T pathway
    >>> pt = rc.state_probabilities(rc.transition_hazards(ms))
    >>> los = rc.length_of_stay(pt, tau=365)
    >>> los.tau, los.n_boot
    (365.0, 0)
    >>> round(float(los.table["length_of_stay"].sum()), 6)   # the days of (predt, tau]
    365.0
    """

    table: pd.DataFrame
    start: Any
    tau: float
    predt: float
    n_boot: int
    meta: dict = field(default_factory=dict, repr=False)

    @property
    def summary(self) -> pd.DataFrame:
        """``state, length_of_stay, se`` (the table), displayed as every curve's summary."""
        return self.table

    def _title(self) -> str:
        return f"Expected length of stay from {self.start!r} over ({self.predt:g}, {self.tau:g}]"


def _elos(pt: StateProbabilities, tau: float, a: int) -> np.ndarray:
    keep = pt.times <= tau
    t = np.append(pt.times[keep], tau)
    return (np.diff(t)[:, None] * pt.probability[keep, a, :]).sum(axis=0)


def length_of_stay(probabilities: StateProbabilities, tau: float, start: Any = None, *,
                   n_boot: int = 0, seed: Any = None,
                   frame: pd.DataFrame | None = None) -> LengthOfStay:
    """Expected length of stay in each state over (predt, tau], as ``mstate::ELOS``.

    Parameters
    ----------
    probabilities
        Forward probabilities from :func:`state_probabilities` or
        :func:`landmark_aalen_johansen`.
    tau
        Horizon (> predt).
    start
        Starting state (name); default the first state (the landmark state for LMAJ).
    n_boot, seed
        Bootstrap replicates over patients for the SE (0: no SE, NaN), through
        :func:`rwe_cart.bootstrap` with the patient id as cluster: the whole estimate
        is recomputed on each resample of the long frame (the non-parametric hazards,
        LMAJ, or the Cox model refitted with the same options and predicted for the
        same patient). mstate has no closed-form SE of the integrated Aalen–Johansen
        estimator.
    frame
        For a Cox-based prediction with ``n_boot``: the long frame the model was
        fitted to (the fit does not keep its data).

    Returns
    -------
    LengthOfStay
        ``.table`` with ``state, length_of_stay, se``.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> ms = rc.datasets.rocca_like().multistate().frame   # long frame of the CAR-T pathway
    >>> pt = rc.state_probabilities(rc.transition_hazards(ms))
    >>> rc.length_of_stay(pt, tau=365).table.round(1)
           state  length_of_stay  se
    0    infused            29.7 NaN
    1  remission           152.1 NaN
    2       hsct            43.1 NaN
    3    relapse            62.3 NaN
    4      death            77.7 NaN
    """
    if not isinstance(probabilities, StateProbabilities):
        raise TypeError("probabilities must come from rc.state_probabilities or "
                        f"rc.landmark_aalen_johansen, got {type(probabilities).__name__}")
    pt = probabilities
    if pt.direction != "forward":
        raise ValueError("length_of_stay needs forward probabilities (as ELOS)")
    if not isinstance(tau, (int, float, np.integer, np.floating)) or not tau > pt.predt:
        raise ValueError(f"tau must be a number larger than predt = {pt.predt:g}, got {tau!r}")
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 0 or n_boot == 1:
        raise ValueError(f"n_boot must be 0 (no SE) or an integer >= 2, got {n_boot!r}")
    start, a = pt._code(start)
    tau = float(tau)
    est = _elos(pt, tau, a)
    se = np.full(est.size, np.nan)
    if n_boot:
        se = _elos_bootstrap(pt, tau, start, a, int(n_boot), seed, frame)
    tab = pd.DataFrame({"state": pd.Categorical(list(pt.transitions.states),
                                                categories=list(pt.transitions.states)),
                        "length_of_stay": est, "se": se})
    return LengthOfStay(tab, start, tau, pt.predt, int(n_boot),
                        meta={"se": "bootstrap over patients" if n_boot else None})


def _elos_bootstrap(pt: StateProbabilities, tau, start, a, n_boot, seed,
                    cox_frame) -> np.ndarray:
    from ..parallel import bootstrap

    hz = pt.meta["hazards"]
    tr = pt.transitions
    if hz.source == "nonparametric":
        frame = hz.meta["frame"]
        if "landmark" in pt.meta:
            def recompute(f):
                return landmark_aalen_johansen(f, tr, pt.meta["landmark"], start)
        else:
            def recompute(f):
                h = _np_hazards(f, tr, hz.variance, ties=hz.meta["ties"])
                return _probabilities(h, pt.predt, "forward", False)
    else:
        if cox_frame is None:
            raise ValueError("the bootstrap SE of a Cox-based prediction refits the model: "
                             "pass frame= (the long frame the model was fitted to)")
        model, newdata = hz.meta["model"], hz.meta["newdata"]
        frame = cox_frame

        def recompute(f):
            fit = cox(f, time=model.meta["time"], event=model.meta["event"],
                      start=model.meta["start"], covariates=list(model.covariates),
                      strata=model.strata, ties=model.ties, timefix=model.meta["timefix"])
            h = _cox_hazards(fit, newdata, tr, "aalen")
            return _probabilities(h, pt.predt, "forward", False)
    if "id" not in frame.columns:
        raise ValueError("the long frame needs its 'id' column for the bootstrap")

    def stat(f):
        f.attrs[TRANSITIONS_ATTR] = tr
        return pd.Series(_elos(recompute(f), tau, a), index=list(map(str, tr.states)))

    res = bootstrap(frame, stat, n_boot, seed=seed, cluster="id", method="normal")
    return res.se.to_numpy()
