"""The CAR-T pathway as a multi-state model: its states and transitions, the long frame
built from a cohort (:func:`cart_multistate`, ``Cohort.multistate()``) and the model
object :class:`CartMultistate`. Public through :mod:`rwe_cart.exposure`.

The generic layer (:mod:`rwe_cart.survival.multistate`) knows nothing of CAR-T; this
module reads the cohort's day columns and its one rule for "HSCT in remission"
(``Cohort.patients["hsct_in_remission"]``) and builds the long frame with it.
"""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..schema import RESPONSES_CR
from ..survival.multistate import (TRANSITIONS_ATTR, StateProbabilities, Transitions,
                                   landmark_aalen_johansen, multistate_frame,
                                   state_probabilities, transition_hazards)
from ._ms_cox import MultistateCox, _fit

if TYPE_CHECKING:
    from ._ms_prediction import DynamicPrediction

#: State names of the CAR-T pathway, in model order.
STATES = ("infused", "remission", "hsct", "relapse", "death")
#: Contract columns the pathway is read from (response, transplant, relapse and death dates).
MULTISTATE_NEEDS = ("best_response", "date_response", "date_hsct", "date_relapse", "date_death")
# Same-day entries along a patient's path are separated by this fraction of a day (at
# most three follow one another on one day, so an entry never reaches the next day).
_TIE = 0.25
# the states of being alive in remission
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
        # imported here: the prediction module needs CartMultistate at import time
        from ._ms_prediction import dynamic_prediction

        return dynamic_prediction(self, profiles, s, **options)

    def __repr__(self) -> str:
        c = self.counts
        moves = ", ".join(f"{r['from']}->{r['to']} {r['n']}" for _, r in c.iterrows())
        return (f"CAR-T multi-state model: {self.frame['id'].nunique()} patients; "
                f"transitions: {moves}")

    def _repr_html_(self) -> str:
        head = html.escape(repr(self).split(";")[0])
        return f"<p><b>{head}</b></p>" + self.counts.to_html(index=False)
