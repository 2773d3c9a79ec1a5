"""The CAR-T pathway as a multi-state model: infusion, remission, HSCT in remission,
relapse and death, with dynamic predictions of transplant strategies.

Public: :func:`rwe_cart.exposure.cart_transitions`, :func:`rwe_cart.exposure.cart_multistate` (``Cohort.multistate()``,
:class:`CartMultistate`), :meth:`~rwe_cart.CartMultistate.fit` (:class:`~rwe_cart.MultistateCox`) and
:func:`dynamic_prediction` (:class:`DynamicPrediction`).

The generic layer (:mod:`rwe_cart.survival.multistate`) knows nothing of CAR-T; this
module reads the cohort's day columns and its one rule for "HSCT in remission"
(``Cohort.patients["hsct_in_remission"]``) and builds the long frame with it.
"""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..schema import RESPONSES_CR
from ..survival.cox import CoxModel, cox
from ..survival.design import level_name
from ..survival.multistate import (TRANSITIONS_ATTR, StateProbabilities, TransitionHazards,
                                   Transitions, landmark_aalen_johansen, length_of_stay,
                                   multistate_frame, state_probabilities, transition_hazards)

__all__ = ["STATES", "MULTISTATE_NEEDS", "STRATEGIES", "cart_transitions", "cart_multistate",
           "CartMultistate", "MultistateCox", "DynamicPrediction", "dynamic_prediction"]

#: State names of the CAR-T pathway, in model order.
STATES = ("infused", "remission", "hsct", "relapse", "death")
#: Contract columns the pathway is read from (response, transplant, relapse and death dates).
MULTISTATE_NEEDS = ("best_response", "date_response", "date_hsct", "date_relapse", "date_death")
#: The three transplant strategies of the dynamic prediction.
STRATEGIES = ("transplant at s", "not yet", "never")
# Same-day entries along a patient's path are separated by this fraction of a day (at
# most three follow one another on one day, so an entry never reaches the next day).
_TIE = 0.25
# Landmark contrasts are bootstrapped only when every starting group has this many patients.
_LANDMARK_BOOT_MIN = 10
_OUTCOMES = {"alive in remission": ("remission", "hsct"), "alive after relapse": ("relapse",),
             "dead": ("death",)}
_REMISSION = ("remission", "hsct")


def cart_transitions() -> Transitions:
    """The CAR-T pathway: infused -> remission / relapse / death; remission -> hsct /
    relapse / death (non-relapse mortality); hsct -> relapse / death (transplant-related
    and other non-relapse mortality); relapse -> death. Transitions 1..9 in that order."""
    code = {s: i for i, s in enumerate(STATES)}
    pairs = [("infused", "remission"), ("infused", "relapse"), ("infused", "death"),
             ("remission", "hsct"), ("remission", "relapse"), ("remission", "death"),
             ("hsct", "relapse"), ("hsct", "death"), ("relapse", "death")]
    return Transitions(STATES, np.array([code[a] for a, _ in pairs], dtype=np.int64),
                       np.array([code[b] for _, b in pairs], dtype=np.int64))


def _label(tr: Transitions, k: int) -> str:
    """'from -> to' of transition number k (1-based)."""
    return f"{tr.states[tr.tfrom[k - 1]]} -> {tr.states[tr.tto[k - 1]]}"


# ---------------------------------------------------------------------------------------
# The long frame
# ---------------------------------------------------------------------------------------
def _entries(p: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Entry day into remission, hsct, relapse and death of each patient (NaN: never),
    separated where they fall on one day, and the end of follow-up."""
    t = {c: p[c].to_numpy(dtype=float) for c in ("t_response", "t_hsct", "t_relapse",
                                                  "t_death", "t_last")}
    cr = p["best_response"].isin(RESPONSES_CR).to_numpy() & ~np.isnan(t["t_response"])
    remission = np.where(cr, t["t_response"], np.nan)
    in_rem = p["hsct_in_remission"].to_numpy(dtype=bool)
    # a death on the HSCT day counts as before the transplant ((start, stop] convention)
    hsct = np.where(in_rem & ~(t["t_hsct"] >= t["t_death"]), t["t_hsct"], np.nan)
    path = np.column_stack([remission, hsct, t["t_relapse"], t["t_death"]])
    adj = np.full_like(path, np.nan)
    prev = np.zeros(len(p))
    for j in range(path.shape[1]):          # the four states of the path, not patients
        e = path[:, j]
        a = np.where(e > prev, e, prev + _TIE)   # a later day keeps its day
        adj[:, j] = np.where(np.isnan(e), np.nan, a)
        prev = np.where(np.isnan(e), prev, adj[:, j])
    return adj, prev, t["t_last"], ~np.isnan(t["t_death"])


def cart_multistate(cohort, *, keep: Sequence[str] = ()) -> CartMultistate:
    """The CAR-T pathway of a cohort as a multi-state model (``Cohort.multistate()``).

    Parameters
    ----------
    cohort : Cohort
    keep : sequence of str
        Patient columns copied to every row of the long frame.

    Returns
    -------
    CartMultistate
        ``.frame`` (the long frame of :func:`rwe_cart.multistate_frame`, ``id`` = patient
        id), ``.transitions``, ``.fit(covariates=...)``, ``.state_probabilities()`` and
        ``.dynamic_prediction(...)``.

    Raises
    ------
    UnavailableInputError
        The cohort's source lacks response, transplant, relapse or death dates
        (``MULTISTATE_NEEDS``), e.g. an ADaM package without ADRS.

    Notes
    -----
    States: ``infused`` from day 0; ``remission`` from the response day of a CR/CRi/CRh;
    ``hsct`` from the transplant day when the cohort's rule says the transplant was given
    in remission (``patients["hsct_in_remission"]``, the one rule every HSCT method uses);
    ``relapse`` from the relapse/progression day (treatment failure of a non-responder
    included); ``death``. A salvage HSCT after relapse never enters ``hsct``.

    Days follow the package's ``(start, stop]`` convention: a patient enters a state on
    the day recorded and is in it after that day. The long format needs every stay to
    last (stop > start, as ``coxph``), so

    * entries on the same day keep the order of the path (remission, hsct, relapse,
      death) and each is placed a quarter of a day after the previous one: a response on
      the infusion day is entered at day 0.25; a transplant on the response day enters
      ``hsct`` at response + 0.25; a death on the relapse day follows the relapse by 0.25
      (as the endpoints, a relapse on the day of death counts as relapse);
    * a death on the HSCT day counts as before the transplant (as an event on the HSCT
      day counts as unexposed in every HSCT method): the patient dies from ``remission``
      and never enters ``hsct``. A relapse on the HSCT day already makes the transplant
      not "in remission";
    * a living patient whose last contact is the day (or the shifted time) they entered
      their last state has no time at risk in it: the censored rows out of that state
      are left out (``coxph`` drops rows with stop = start too); the entry itself is
      kept. A patient with no follow-up at all (last contact on day 0, no event) has no
      row; both are listed in ``frame.attrs["no_follow_up"]``.
    """
    from ..cohort import Cohort

    if not isinstance(cohort, Cohort):
        raise TypeError(f"cohort must be an rc.Cohort, got {type(cohort).__name__}")
    cohort.require(MULTISTATE_NEEDS, "the multi-state model of the CAR-T pathway")
    keep = [keep] if isinstance(keep, str) else list(keep)
    p = cohort.patients
    missing = [c for c in keep if c not in p]
    if missing:
        raise ValueError(f"keep names columns the cohort's patient table does not have: "
                         f"{missing}")
    tr = cart_transitions()
    adj, last_entry, t_last, dead = _entries(p)
    ids = p["patient_id"].to_numpy()
    zero = ~dead & (t_last <= last_entry)
    # the follow-up end given to msprep; rows of a stay without follow-up are removed below
    end = np.where(zero, last_entry + _TIE / 2, np.maximum(t_last, last_entry))
    wide = pd.DataFrame({"id": ids})
    for j, s in enumerate(STATES[1:]):
        entered = ~np.isnan(adj[:, j])
        wide[f"t_{s}"] = np.where(entered, adj[:, j], end)
        wide[f"s_{s}"] = entered.astype(np.int64)
    for c in keep:
        wide[c] = p[c].array   # keeps nullable and categorical dtypes
    long = multistate_frame(wide, tr, time={s: f"t_{s}" for s in STATES[1:]},
                            status={s: f"s_{s}" for s in STATES[1:]}, id="id", keep=keep)
    drop = _last_state_rows(long, ids[zero], last_entry[zero])
    long = long.loc[~drop].reset_index(drop=True)
    long.attrs[TRANSITIONS_ATTR] = tr
    long.attrs["no_follow_up"] = tuple(ids[zero])
    return CartMultistate(frame=long, transitions=tr, patients=p.copy(),
                          meta={"source": cohort.meta.get("source"), "n_patients": len(p)})


def _last_state_rows(long: pd.DataFrame, ids: np.ndarray, entry: np.ndarray) -> np.ndarray:
    """Rows out of the state a patient entered at ``entry`` (their last), for ``ids``."""
    at = pd.Series(entry, index=ids)
    e = long["id"].map(at).to_numpy(dtype=float)
    return ~np.isnan(e) & (long["start"].to_numpy() == e)


# ---------------------------------------------------------------------------------------
# The model object
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CartMultistate:
    """The CAR-T pathway of a cohort as a multi-state model (see :func:`rwe_cart.exposure.cart_multistate`).

    Attributes
    ----------
    frame : pandas.DataFrame
        Long frame (``id, from, to, trans, start, stop, time, status``), as ``msprep``.
    transitions : Transitions
        The model (:func:`rwe_cart.exposure.cart_transitions`).
    patients : pandas.DataFrame
        The cohort's patient table (covariates for :meth:`fit`).

    Examples
    --------
    >>> import rwe_cart as rc
    >>> ms = rc.datasets.rocca_like().multistate()
    >>> ms.counts.head(4)
       trans       from         to    n
    0      1    infused  remission  151
    1      2    infused    relapse   27
    2      3    infused      death   11
    3      4  remission       hsct   30
    """

    frame: pd.DataFrame = field(repr=False)
    transitions: Transitions
    patients: pd.DataFrame = field(repr=False)
    meta: dict = field(default_factory=dict, repr=False)

    @property
    def counts(self) -> pd.DataFrame:
        """``trans, from, to, n``: the transitions made (patients, one each)."""
        f = self.frame
        n = np.bincount(f["trans"].to_numpy()[f["status"].to_numpy() == 1] - 1,
                        minlength=self.transitions.n_transitions)
        return self.transitions.table.assign(n=n)

    def fit(self, covariates: Sequence[str] | Mapping[Any, Sequence[str]] = (), *,
            min_events: int = 10) -> MultistateCox:
        """Transition-specific Cox model (stratified by transition, Breslow ties, as
        ``coxph(Surv(start, stop, status) ~ ... + strata(trans))`` on ``expand.covs``).

        Parameters
        ----------
        covariates
            Patient columns. A list applies to every transition that has no missing
            value of the columns among its rows (MRD status exists for responders only,
            so it enters the transitions out of ``remission`` and ``hsct``) and at least
            `min_events` transitions per column; a mapping ``{transition: [columns]}``
            (transition number or ``"from -> to"``) sets them explicitly.
        min_events
            With a list: transitions (events) needed per covariate (the usual ten events
            per variable); a transition with fewer keeps its baseline hazard alone, and
            ``.table`` says so.

        Returns
        -------
        MultistateCox
        """
        return _fit(self, covariates, min_events)

    def state_probabilities(self, predt: float = 0, *, variance: bool = True
                            ) -> StateProbabilities:
        """Non-parametric Aalen–Johansen state probabilities from ``predt`` (default from
        infusion): ``.table(start="infused")`` is the state occupation of the cohort.
        Consistent for the occupation from day 0 without the Markov assumption (Datta &
        Satten 2001); from another ``predt`` it assumes Markov (see
        :meth:`landmark`)."""
        return state_probabilities(transition_hazards(self.frame), predt=predt,
                                   variance=variance)

    def landmark(self, s: float, start: str = "remission") -> StateProbabilities:
        """Landmark Aalen–Johansen (LMAJ) from `start` at day `s`: no Markov assumption."""
        return landmark_aalen_johansen(self.frame, self.transitions, s, start)

    def current_remission(self) -> pd.DataFrame:
        """``time, probability`` of being alive in remission (``remission`` or ``hsct``)
        from infusion, the current-remission probability. PFS also counts the patients
        not yet in remission as event-free; once every responder has responded the two
        agree, as nobody returns to remission after a relapse in this model."""
        pt = self.state_probabilities(variance=False)
        tab = pt.table("infused")
        tab = tab[tab["state"].isin(_REMISSION)]
        return (tab.groupby("time", sort=True, observed=True)["probability"].sum()
                .rename("probability").reset_index())

    def dynamic_prediction(self, profiles, s: float | Sequence[float] = 100, **options
                           ) -> DynamicPrediction:
        """See :func:`dynamic_prediction`."""
        return dynamic_prediction(self, profiles, s, **options)

    def __repr__(self) -> str:
        c = self.counts
        moves = ", ".join(f"{r['from']}->{r['to']} {r['n']}" for _, r in c.iterrows())
        return (f"CAR-T multi-state model: {self.frame['id'].nunique()} patients; "
                f"transitions: {moves}")

    def _repr_html_(self) -> str:
        head = html.escape(repr(self).split(";")[0])
        return f"<p><b>{head}</b></p>" + self.counts.to_html(index=False)


# ---------------------------------------------------------------------------------------
# Transition-specific Cox
# ---------------------------------------------------------------------------------------
def _levels(col: pd.Series) -> list | None:
    """Levels of a covariate (first = reference), None for a number or a 0/1 flag."""
    if (pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype)):
        return None
    if isinstance(col.dtype, pd.CategoricalDtype):
        return list(col.cat.categories)
    return sorted(col.dropna().unique().tolist(), key=str)


def _terms(c: str, col: pd.Series, levels: list | None) -> list[tuple[str, np.ndarray]]:
    """The coefficient columns of a covariate: itself as a number (a flag as 0/1), or one
    0/1 column per level but the first, named as :func:`rwe_cart.cox` names them."""
    if levels is None:
        return [(c, col.astype("float64").to_numpy(na_value=np.nan))]
    miss = col.isna().to_numpy()
    return [(f"{c}{level_name(lev)}", np.where(miss, np.nan, (col == lev).to_numpy(dtype=float)))
            for lev in levels[1:]]


def _design(rows: pd.DataFrame, trans: np.ndarray, covs: dict[int, list[str]],
            levels: dict[str, list | None]) -> pd.DataFrame:
    """Transition-specific columns ``<term>.<k>`` (expand.covs' names): the covariate on
    rows of transition k, 0 elsewhere (a value missing off transition k is not used)."""
    out = {}
    for k in sorted(covs):
        for c in covs[k]:
            for term, v in _terms(c, rows[c], levels[c]):
                out[f"{term}.{k}"] = np.where(trans == k, v, 0.0)
    return pd.DataFrame(out, index=rows.index)


def _resolve_covariates(ms: CartMultistate, covariates, min_events) -> dict[int, list[str]]:
    tr = ms.transitions
    K = tr.n_transitions
    names = {_label(tr, k): k for k in range(1, K + 1)}
    p = ms.patients
    if isinstance(covariates, Mapping):
        out: dict[int, list[str]] = {}
        for key, cols in covariates.items():
            k = names.get(key, key)
            if k not in range(1, K + 1):
                raise ValueError(f"covariates names transition {key!r}; transitions are 1..{K} "
                                 f"or {list(names)}")
            out[int(k)] = [cols] if isinstance(cols, str) else list(cols)
        chosen = out
    else:
        cols = [covariates] if isinstance(covariates, str) else list(covariates)
        absent = [c for c in cols if c not in p]
        if absent:
            raise ValueError(f"covariates {absent} are not in the cohort's patient table")
        counts = ms.counts["n"].to_numpy()
        chosen = {}
        pid = p.set_index("patient_id")
        for k in range(1, K + 1):
            ids = ms.frame.loc[ms.frame["trans"].to_numpy() == k, "id"]
            use = [c for c in cols if not pid.loc[ids, c].isna().any()]
            if use and counts[k - 1] >= min_events * len(use):
                chosen[k] = use
    absent = sorted({c for v in chosen.values() for c in v if c not in p})
    if absent:
        raise ValueError(f"covariates {absent} are not in the cohort's patient table")
    return chosen


def _fit(ms: CartMultistate, covariates, min_events) -> MultistateCox:
    covs = _resolve_covariates(ms, covariates, min_events)
    used = sorted({c for v in covs.values() for c in v})
    p = ms.patients.set_index("patient_id")
    rows = ms.frame.copy()
    levels = {}
    for c in used:
        rows[c] = p[c].reindex(rows["id"].to_numpy()).set_axis(rows.index)
        levels[c] = _levels(p[c])
    trans = rows["trans"].to_numpy()
    X = _design(rows, trans, covs, levels)
    bad = X.isna().to_numpy()
    if bad.any():
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        col = X.columns[j]
        who = pd.unique(rows["id"].to_numpy()[bad[:, j]])
        raise ValueError(f"covariate column {col.rsplit('.', 1)[0]!r} is missing for "
                         f"patients {sorted(map(str, who))[:5]} on "
                         f"transition {_label(ms.transitions, int(col.rsplit('.', 1)[1]))}; "
                         "give it a value or leave it out of that transition")
    data = pd.concat([rows, X], axis=1)
    data.attrs[TRANSITIONS_ATTR] = ms.transitions
    model = _cox(data, list(X.columns))
    return MultistateCox(model=model, transitions=ms.transitions, covariates=covs,
                         levels=levels, data=data, events=ms.counts["n"].to_numpy())


def _cox(data: pd.DataFrame, terms: list[str]) -> CoxModel | None:
    """The stratified fit; None without terms (its baseline hazards are the Nelson–Aalen
    hazards of the transitions, which :meth:`MultistateCox.hazards` then uses)."""
    if not terms:
        return None
    return cox(data, time="stop", event="status", start="start", covariates=terms,
               strata="trans", ties="breslow")


def _hazards(model: CoxModel | None, data: pd.DataFrame, newdata: pd.DataFrame,
             tr: Transitions) -> TransitionHazards:
    if model is None:
        return transition_hazards(data, transitions=tr)
    return transition_hazards(model, newdata, tr)


@dataclass(frozen=True, eq=False)
class MultistateCox:
    """A transition-specific Cox model of the CAR-T pathway.

    Attributes
    ----------
    model : CoxModel or None
        The stratified fit (stratum = transition; terms ``<covariate>.<transition>``);
        None when no transition has a covariate (the hazards are then Nelson–Aalen's,
        the baseline hazards of that model).
    transitions : Transitions
    covariates : dict
        Transition number -> its covariates (transitions absent: baseline hazard only).
    table : pandas.DataFrame
        ``transition, from, to, events, covariate, hr, lower, upper, p``: one row per
        term, and one row with no covariate for each transition without terms.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> fit = rc.datasets.rocca_like().multistate().fit(covariates=["age"])
    >>> fit.table[["transition", "from", "to", "events", "covariate"]].head(3)
       transition     from         to  events covariate
    0           1  infused  remission     151       age
    1           2  infused    relapse      27       age
    2           3  infused      death      11       age
    """

    model: CoxModel | None = field(repr=False)
    transitions: Transitions
    covariates: dict
    levels: dict = field(repr=False)
    data: pd.DataFrame = field(repr=False)
    events: np.ndarray = field(repr=False)

    @property
    def table(self) -> pd.DataFrame:
        s = (self.model.summary.set_index("term") if self.model is not None
             else pd.DataFrame(index=pd.Index([], dtype=str)))
        tr = self.transitions
        rows = []
        for k in range(1, tr.n_transitions + 1):
            base = {"transition": k, "from": tr.states[tr.tfrom[k - 1]],
                    "to": tr.states[tr.tto[k - 1]], "events": int(self.events[k - 1])}
            terms = [t for t in s.index if t.rsplit(".", 1)[1] == str(k)]
            if not terms:
                rows.append({**base, "covariate": "(baseline hazard only)", "hr": np.nan,
                             "lower": np.nan, "upper": np.nan, "p": np.nan})
            for t in terms:
                rows.append({**base, "covariate": t.rsplit(".", 1)[0], "hr": s.loc[t, "hr"],
                             "lower": s.loc[t, "lower"], "upper": s.loc[t, "upper"],
                             "p": s.loc[t, "p"]})
        return pd.DataFrame(rows)

    def newdata(self, profile: Mapping[str, Any]) -> pd.DataFrame:
        """One row per transition for a covariate profile (input of msfit)."""
        K = self.transitions.n_transitions
        used = sorted({c for v in self.covariates.values() for c in v})
        missing = [c for c in used if c not in profile]
        if missing:
            raise ValueError(f"the profile needs values of {missing} (the model's covariates)")
        nd = pd.DataFrame({"trans": np.arange(1, K + 1)})
        for c in used:
            nd[c] = [profile[c]] * K
        X = _design(nd, nd["trans"].to_numpy(), self.covariates, self.levels)
        out = pd.concat([nd[["trans"]], X], axis=1)
        out.attrs[TRANSITIONS_ATTR] = self.transitions
        return out

    def hazards(self, profile: Mapping[str, Any]) -> TransitionHazards:
        """Cumulative transition hazards of a profile, as ``msfit``."""
        return _hazards(self.model, self.data, self.newdata(profile), self.transitions)

    def __repr__(self) -> str:
        n = sum(len(v) for v in self.covariates.values())
        return (f"Transition-specific Cox model: {n} terms on "
                f"{len(self.covariates)} of {self.transitions.n_transitions} transitions "
                "(stratified by transition, Breslow ties)")

    def _repr_html_(self) -> str:
        return (f"<p><b>{html.escape(repr(self))}</b></p>"
                + self.table.to_html(index=False, float_format="{:.3g}".format, na_rep=""))


# ---------------------------------------------------------------------------------------
# Dynamic prediction
# ---------------------------------------------------------------------------------------
ASSUMPTIONS = {
    "markov": "Markov Cox: transition hazards depend on time since infusion and the "
              "profile only (not on the time spent in a state nor on time since HSCT); "
              "proportional hazards within each transition.",
    "transplant at s": "Transplant at s starts the patient in 'hsct' at s: the hazards "
                       "after HSCT are those of patients transplanted at any time, read on "
                       "the time-since-infusion clock.",
    "never": "Never removes the remission -> hsct transition: untransplanted patients' "
             "relapse and death hazards stand for what transplanted patients would have had "
             "without HSCT, i.e. no unmeasured confounding of the transplant decision given "
             "the profile's covariates.",
    "landmark": "Landmark Aalen–Johansen: no Markov assumption and no model, but no "
                "covariates either — the patients in the state at s as a whole; 'transplant "
                "at s' is the patients already transplanted by s, 'never' censors at HSCT "
                "(independent censoring, i.e. no confounding by indication).",
    "bootstrap": "Intervals: nonparametric bootstrap over patients (percentile), refitting "
                 "the Cox model (Markov) or recomputing the landmark estimates on each "
                 "resample.",
}


def _at(times: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Right-continuous step function (times, values[i]) at grid (first value before)."""
    i = np.searchsorted(times, grid, side="right") - 1
    return values[np.clip(i, 0, None)]


def _markov_keys(*strategies: str) -> str:
    """The assumptions (keys of ``ASSUMPTIONS``) of Markov numbers of these strategies."""
    return ", ".join(["markov", *(g for g in ("transplant at s", "never") if g in strategies)])


def _grid(s: float, span: float, step: float, horizons: Sequence[float]) -> np.ndarray:
    """s, s + step, ... up to s + span, and s + each horizon and s + span exactly."""
    return s + np.unique(np.concatenate([np.arange(0.0, span, step), horizons, [span]]))


def _strategy_probs(hz: TransitionHazards, s: float, variance: bool
                    ) -> dict[str, StateProbabilities]:
    tr = hz.transitions
    k = int(np.flatnonzero((tr.tfrom == STATES.index("remission"))
                           & (tr.tto == STATES.index("hsct")))[0])
    cum = hz.cumhaz.copy()
    cum[:, k] = 0.0
    cov = hz.cov.copy()
    cov[:, k, :] = 0.0
    cov[:, :, k] = 0.0
    never = replace(hz, cumhaz=cum, cov=cov)
    pt = state_probabilities(hz, predt=s, direction="forward", variance=variance)
    return {"transplant at s": (pt, "hsct"), "not yet": (pt, "remission"),
            "never": (state_probabilities(never, predt=s, direction="forward",
                                          variance=variance), "remission")}


def _outcomes(pt: StateProbabilities, start: str, grid: np.ndarray) -> dict[str, np.ndarray]:
    a = STATES.index(start)
    out = {}
    for name, states in _OUTCOMES.items():
        cols = [STATES.index(x) for x in states]
        out[name] = _at(pt.times, pt.probability[:, a, cols].sum(axis=1), grid)
    return out


def _rmtr(pt: StateProbabilities, start: str, s: float, tau: float) -> float:
    """Restricted mean time alive in remission over (s, s + tau] (days): the expected
    length of stay in the remission states (``pt`` is forward from s)."""
    los = length_of_stay(pt, s + tau, start).table
    return float(los.loc[los["state"].isin(_REMISSION), "length_of_stay"].sum())


def _contrasts(res: dict[str, tuple[StateProbabilities, str]], s: float,
               horizons: Sequence[float], tau: float) -> dict[str, float]:
    free = {g: _outcomes(pt, st, s + np.asarray(horizons, float))["alive in remission"]
            for g, (pt, st) in res.items()}
    rm = {g: _rmtr(pt, st, s, tau) for g, (pt, st) in res.items()}
    out = {}
    for a, b in (("transplant at s", "never"), ("transplant at s", "not yet"),
                 ("not yet", "never")):
        for h, d in zip(horizons, free[a] - free[b]):
            out[f"{a} vs {b}|alive in remission at s + {h:g} days (risk difference)"] = d
        out[f"{a} vs {b}|restricted mean days alive in remission over (s, s + {tau:g}]"] = \
            rm[a] - rm[b]
    return out


@dataclass(frozen=True, eq=False)
class DynamicPrediction:
    """Predictions for patients in remission at day s under three transplant strategies.

    Attributes
    ----------
    table : pandas.DataFrame
        ``profile, s, method, strategy, time, outcome, probability, n_at_s,
        assumptions``: ``time`` in days
        from infusion (s + the horizon grid); ``outcome`` one of "alive in remission"
        (``remission`` or ``hsct``), "alive after relapse", "dead"; ``method`` "markov
        cox" (for the profile) or "landmark AJ" (profile "all in the state at s", with
        ``n_at_s`` the patients in the starting state at s; NaN for the Markov rows);
        ``assumptions`` the keys of ``assumptions`` each number rests on.
    contrasts : pandas.DataFrame
        ``profile, s, method, contrast, measure, estimate, lower, upper, se,
        assumptions``: risk differences of being alive in remission at s + each horizon
        and differences in restricted mean time alive in remission, with bootstrap
        intervals for the Markov Cox version.
    assumptions : dict
        Key -> the assumption in words; the ``assumptions`` column names the keys each
        number rests on.
    meta : dict
        ``n_failed`` (bootstrap replicates that failed) and ``landmark_skipped`` (the
        landmark estimates not made: nobody in the starting state at s). When nobody in
        it at s leaves it afterwards, the landmark estimate keeps them all there.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> ms = rc.datasets.rocca_like().multistate()
    >>> dp = ms.dynamic_prediction({"age 40": {"age": 40.0}}, s=100, covariates=["age"],
    ...                            landmark=False)
    >>> dp.horizons, dp.tau, dp.n_boot
    ((365.0, 730.0), 730.0, 0)
    >>> rm = dp.contrasts[dp.contrasts["measure"].str.startswith("restricted mean")]
    >>> print(rm[["contrast", "estimate"]].round(1).to_string(index=False))
                      contrast  estimate
      transplant at s vs never     135.5
    transplant at s vs not yet     118.6
              not yet vs never      16.8
    """

    table: pd.DataFrame
    contrasts: pd.DataFrame
    assumptions: dict
    horizons: tuple
    tau: float
    n_boot: int
    seed: Any
    meta: dict = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        prof = self.table.loc[self.table["method"] == "markov cox", "profile"].unique()
        ss = sorted(self.table["s"].unique().tolist())
        return (f"Dynamic prediction from remission at day(s) {', '.join(f'{x:g}' for x in ss)} "
                f"for {len(prof)} profile(s); strategies: {', '.join(STRATEGIES)}; "
                f"bootstrap replicates: {self.n_boot}")

    def _repr_html_(self) -> str:
        notes = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>"
                        for k, v in self.assumptions.items())
        return (f"<p><b>{html.escape(repr(self))}</b></p>"
                + self.contrasts.to_html(index=False, float_format="{:.3f}".format, na_rep="")
                + f"<ul>{notes}</ul>")

    def plot(self, profile: Any = None, s: float | None = None, *, method: str = "markov cox",
             ax=None, figsize=(7.0, 4.0)):
        """Probability of being alive in remission after s under the three strategies."""
        import matplotlib.pyplot as plt

        from ..plots.theme import themed

        t = self.table
        profile = t["profile"].iloc[0] if profile is None else profile
        s = t["s"].iloc[0] if s is None else s
        sub = t[(t["profile"] == profile) & (t["s"] == s) & (t["method"] == method)
                & (t["outcome"] == "alive in remission")]
        if sub.empty:
            raise ValueError(f"no prediction for profile {profile!r}, s = {s}, method {method!r}")
        with themed():
            if ax is None:
                fig, ax = plt.subplots(figsize=figsize)
            else:
                fig = ax.figure
            for g, style in zip(STRATEGIES, ("-", "--", ":")):
                d = sub[sub["strategy"] == g]
                ax.step((d["time"] - s) / 30.4375, d["probability"], where="post", ls=style,
                        label=g)
            ax.set_ylim(0, 1)
            ax.set_xlabel(f"Months after day {s:g}")
            ax.set_ylabel("Alive in remission")
            ax.set_title(f"{profile}, in remission at day {s:g} ({method})")
            ax.legend(frameon=False)
        return fig


def _profiles(profiles) -> dict[str, dict]:
    if isinstance(profiles, pd.DataFrame):
        return {str(i): r.to_dict() for i, r in profiles.iterrows()}
    if isinstance(profiles, Mapping):
        if all(isinstance(v, Mapping) for v in profiles.values()):
            return {str(k): dict(v) for k, v in profiles.items()}
        return {"profile": dict(profiles)}
    raise TypeError("profiles must be a dict {label: {covariate: value}} or a DataFrame "
                    f"(one row per profile), got {type(profiles).__name__}")


def dynamic_prediction(ms: CartMultistate, profiles, s: float | Sequence[float] = 100, *,
                       covariates: Sequence[str] | Mapping | None = None,
                       model: MultistateCox | None = None,
                       horizons: Sequence[float] = (365, 730), tau: float = 730,
                       step: float = 7, landmark: bool = True, n_boot: int = 0,
                       seed: Any = None, backend: str | None = "sequential",
                       max_failed: float = 0.05, min_events: int = 10) -> DynamicPrediction:
    """For a patient in remission at day s: probabilities of being alive in remission,
    alive after relapse and dead over the next years under three strategies.

    Parameters
    ----------
    ms : CartMultistate
    profiles
        ``{label: {covariate: value}}`` or a DataFrame with one row per profile (index:
        labels); the values of every covariate of the model.
    s
        Landmark day(s) since infusion.
    covariates, model
        The transition-specific Cox model: a fitted :class:`~rwe_cart.MultistateCox`, or the
        covariates for :meth:`~rwe_cart.CartMultistate.fit` (default: the profiles' columns).
    horizons
        Days after s for the risk differences of being alive in remission.
    tau
        Horizon (days after s) of the restricted mean time alive in remission.
    step
        Spacing (days) of the time grid in ``.table``: s, s + step, ... up to s +
        max(horizons, tau), with s + each horizon and s + tau included.
    landmark
        Add the landmark Aalen–Johansen sensitivity version (no covariates).
    n_boot, seed, backend, max_failed
        Bootstrap replicates over patients for intervals of the contrasts
        (:func:`rwe_cart.bootstrap`, percentile; the Cox model refitted on each, and the
        landmark estimates recomputed in a second run with the same seed); 0: none.
        A replicate whose refit is not estimable (a covariate separating the few
        transitions of a resample) fails; up to `max_failed` of them are tolerated, with
        a warning, and counted in ``meta["n_failed"]``. A landmark bootstrap with more
        failures (resamples with nobody in a starting state at s), or a starting state
        with fewer than 10 patients at s, leaves the intervals of that day NaN and says
        why in ``meta["landmark_bootstrap_error"]`` (day -> reason).
    min_events
        Passed to :meth:`~rwe_cart.CartMultistate.fit` when `model` is not given.

    Returns
    -------
    DynamicPrediction

    Notes
    -----
    Strategies: (a) ``"transplant at s"``: start in ``hsct`` at s; (b) ``"not yet"``:
    start in ``remission`` at s, the observed transplant hazard continues; (c)
    ``"never"``: start in ``remission`` with the remission -> hsct hazard removed. The
    Markov version uses the Aalen–Johansen product integral of the profile's Cox
    transition hazards from s (``msfit`` + ``probtrans``); the landmark version uses
    LMAJ on the patients in ``hsct`` (a) or ``remission`` (b) at s, and for (c) LMAJ
    on the frame with the remission -> hsct transitions censored. See
    ``DynamicPrediction.assumptions`` for what each number rests on.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> ms = rc.datasets.rocca_like().multistate()
    >>> dp = rc.dynamic_prediction(ms, {"age 40": {"age": 40.0}}, s=100, covariates=["age"],
    ...                            landmark=False)
    >>> t = dp.table
    >>> one_year = t[(t["outcome"] == "alive in remission") & (t["time"] == 465)]
    >>> print(one_year[["strategy", "probability"]].round(2).to_string(index=False))
           strategy  probability
    transplant at s         0.74
            not yet         0.57
              never         0.55
    """
    if not isinstance(ms, CartMultistate):
        raise TypeError(f"ms must come from cohort.multistate(), got {type(ms).__name__}")
    prof = _profiles(profiles)
    ss = [float(x) for x in np.atleast_1d(np.asarray(s, dtype=float))]
    if any(not np.isfinite(x) or x < 0 for x in ss):
        raise ValueError(f"s must be days >= 0, got {s!r}")
    horizons = tuple(float(h) for h in horizons)
    if not horizons or min(horizons) <= 0 or tau <= 0:
        raise ValueError("horizons and tau must be positive numbers of days")
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 0 or n_boot == 1:
        raise ValueError(f"n_boot must be 0 (no intervals) or an integer >= 2, got {n_boot!r}")
    if model is None:
        cols = covariates if covariates is not None else sorted(
            {c for v in prof.values() for c in v})
        model = ms.fit(cols, min_events=min_events)
    elif not isinstance(model, MultistateCox):
        raise TypeError(f"model must come from CartMultistate.fit, got {type(model).__name__}")
    span = max(max(horizons), float(tau))
    rows, contrasts = [], []
    est = {}
    for label, values in prof.items():
        hz = model.hazards(values)
        for x in ss:
            res = _strategy_probs(hz, x, variance=False)
            grid = _grid(x, span, step, horizons)
            for g, (pt, st) in res.items():
                for outcome, v in _outcomes(pt, st, grid).items():
                    rows.append(pd.DataFrame({"profile": label, "s": x, "method": "markov cox",
                                              "strategy": g, "time": grid, "outcome": outcome,
                                              "probability": v, "n_at_s": np.nan,
                                              "assumptions": _markov_keys(g)}))
            for key, v in _contrasts(res, x, horizons, tau).items():
                est[f"{label}|{x:g}|{key}"] = v
    if landmark:
        lm_rows, lm_est, skipped = _landmark(ms, ss, horizons, tau, step, span)
        rows += lm_rows
    else:
        lm_est, skipped = {}, []
    boot = lm_boot = lm_error = None
    if n_boot:
        boot = _bootstrap(model, prof, ss, horizons, tau, n_boot, seed, backend, max_failed)
        # one run per landmark day: a day with few patients in a state fails alone
        lm_boot, lm_error = {}, {}
        n_at = {(r["s"], r["strategy"]): r["n_at_s"] for r in
                (d.iloc[0] for d in lm_rows)} if landmark else {}
        for x in sorted({float(k.split("|")[1]) for k in lm_est}):
            fewest = min(v for (d, _), v in n_at.items() if d == x)
            if fewest < _LANDMARK_BOOT_MIN:
                # resamples of a handful of patients tie their events, and Efron's
                # increments of such ties exceed 1: the replicates are not estimates
                lm_boot[x], lm_error[x] = None, (
                    f"a starting state has {fewest} patients on day {x:g}, fewer than "
                    f"{_LANDMARK_BOOT_MIN}")
                continue
            lm_boot[x], lm_error[x] = _landmark_bootstrap(ms, [x], horizons, tau, n_boot,
                                                          seed, backend, max_failed)
    for key, v in {**est, **lm_est}.items():
        label, x, contrast, measure = key.split("|")
        method = "markov cox" if key in est else "landmark AJ"
        lo = hi = se = np.nan
        b = boot if key in est else (lm_boot or {}).get(float(x))
        if b is not None:
            lo, hi, se = b.lower[key], b.upper[key], b.se[key]
        keys = (_markov_keys(*contrast.split(" vs ")).split(", ") if method == "markov cox"
                else ["landmark"])
        if not np.isnan(se):
            keys.append("bootstrap")
        contrasts.append({"profile": label, "s": float(x), "method": method,
                          "contrast": contrast, "measure": measure, "estimate": v,
                          "lower": lo, "upper": hi, "se": se, "assumptions": ", ".join(keys)})
    table = pd.concat(rows, ignore_index=True)
    return DynamicPrediction(table=table, contrasts=pd.DataFrame(contrasts),
                             assumptions=dict(ASSUMPTIONS), horizons=horizons, tau=float(tau),
                             n_boot=int(n_boot), seed=seed,
                             meta={"model": model, "bootstrap": boot, "step": step,
                                   "landmark_skipped": skipped,
                                   "n_failed": boot.n_failed if boot is not None else 0,
                                   "landmark_bootstrap": lm_boot or {},
                                   "landmark_bootstrap_error": {
                                       k: v for k, v in (lm_error or {}).items() if v}})


def _without_hsct_transition(frame: pd.DataFrame) -> pd.DataFrame:
    """The long frame with every remission -> hsct transition censored: the patient
    leaves the frame at the transplant (strategy "never" of the landmark version)."""
    tr = frame.attrs[TRANSITIONS_ATTR]
    k = 1 + int(np.flatnonzero((tr.tfrom == STATES.index("remission"))
                               & (tr.tto == STATES.index("hsct")))[0])
    f = frame.copy()
    f.loc[f["trans"].to_numpy() == k, "status"] = 0
    f = f[f["from"].astype(str).to_numpy() != "hsct"]
    hsct_after = f["id"].isin(set(frame.loc[frame["from"].astype(str) == "hsct", "id"]))
    # relapse/death rows after an HSCT are gone with the hsct state
    f = f[~(hsct_after.to_numpy() & (f["from"].astype(str).to_numpy() == "relapse"))]
    f.attrs[TRANSITIONS_ATTR] = tr
    return f.reset_index(drop=True)


def _lmaj(frame: pd.DataFrame, tr: Transitions, s: float, start: str) -> StateProbabilities:
    """LMAJ; when nobody in `start` at s makes a transition afterwards the estimate is
    that they all stay there (hazards 0), which LMAJ itself refuses to compute."""
    try:
        return landmark_aalen_johansen(frame, tr, s, start)
    except ValueError as err:
        if "no transitions" not in str(err):
            raise
    at = (frame["from"].astype(str).to_numpy() == start) & (frame["start"].to_numpy() <= s) \
        & (frame["stop"].to_numpy() > s)
    S = tr.n_states
    return StateProbabilities(tr, np.array([s]), np.eye(S)[None], np.zeros((1, S, S)), s,
                              "forward", "aalen", start,
                              meta={"landmark": s, "n_patients": int(frame.loc[at, "id"].nunique())})


def _landmark(ms: CartMultistate, ss, horizons, tau, step, span):
    rows, est, skipped = [], {}, []
    never_frame = _without_hsct_transition(ms.frame)
    for x in ss:
        grid = _grid(x, span, step, horizons)
        res = {}
        for g, frame, start in (("transplant at s", ms.frame, "hsct"),
                                ("not yet", ms.frame, "remission"),
                                ("never", never_frame, "remission")):
            try:
                pt = _lmaj(frame, ms.transitions, x, start)
            except ValueError as err:
                if "no patient is in state" not in str(err):
                    raise
                skipped.append({"s": x, "strategy": g, "reason": str(err)})
                continue
            res[g] = (pt, start)
            for outcome, v in _outcomes(pt, start, grid).items():
                rows.append(pd.DataFrame({"profile": "all in the state at s", "s": x,
                                          "method": "landmark AJ", "strategy": g,
                                          "time": grid, "outcome": outcome,
                                          "probability": v,
                                          "n_at_s": pt.meta["n_patients"],
                                          "assumptions": "landmark"}))
        if len(res) == 3:
            for key, v in _contrasts(res, x, horizons, tau).items():
                est[f"all in the state at s|{x:g}|{key}"] = v
    return rows, est, skipped


def _landmark_bootstrap(ms: CartMultistate, days, horizons, tau, n_boot, seed, backend,
                        max_failed):
    """Bootstrap of the landmark contrasts over patients; ``(None, reason)`` when more
    resamples than `max_failed` leave a starting state empty."""
    from ..parallel import BootstrapError, bootstrap

    tr = ms.transitions

    def stat(f: pd.DataFrame) -> pd.Series:
        f.attrs[TRANSITIONS_ATTR] = tr
        never = _without_hsct_transition(f)
        out = {}
        for x in days:
            res = {g: (_lmaj(frame, tr, x, start), start)
                   for g, frame, start in (("transplant at s", f, "hsct"),
                                           ("not yet", f, "remission"),
                                           ("never", never, "remission"))}
            for key, v in _contrasts(res, x, horizons, tau).items():
                out[f"all in the state at s|{x:g}|{key}"] = v
        return pd.Series(out)

    try:
        res = bootstrap(ms.frame, stat, n_boot, seed=seed, cluster="id", method="percentile",
                        backend=backend, max_failed=max_failed)
    except BootstrapError as err:
        return None, str(err).split("\n")[0]
    return res, None


def _bootstrap(model: MultistateCox, prof, ss, horizons, tau, n_boot, seed, backend,
               max_failed):
    from ..parallel import bootstrap

    tr = model.transitions
    terms = list(model.model.covariates) if model.model is not None else []
    nd = {label: model.newdata(v) for label, v in prof.items()}

    def stat(f: pd.DataFrame) -> pd.Series:
        f.attrs[TRANSITIONS_ATTR] = tr
        fit = _cox(f, terms)
        out = {}
        for label, newdata in nd.items():
            hz = _hazards(fit, f, newdata, tr)
            for x in ss:
                res = _strategy_probs(hz, x, variance=False)
                for key, v in _contrasts(res, x, horizons, tau).items():
                    out[f"{label}|{x:g}|{key}"] = v
        return pd.Series(out)

    return bootstrap(model.data, stat, n_boot, seed=seed, cluster="id",
                     method="percentile", backend=backend, max_failed=max_failed)
