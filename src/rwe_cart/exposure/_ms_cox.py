"""The transition-specific Cox model of the CAR-T pathway (``expand.covs`` columns,
stratified by transition): :meth:`CartMultistate.fit` and :class:`MultistateCox`.
Public through :mod:`rwe_cart.exposure`.
"""
from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..survival.cox import CoxModel, cox
from ..survival.design import level_name
from ..survival.multistate import (TRANSITIONS_ATTR, TransitionHazards, Transitions,
                                   transition_hazards)

if TYPE_CHECKING:
    from ._ms_pathway import CartMultistate


def _label(tr: Transitions, k: int) -> str:
    """'from -> to' of transition number k (1-based)."""
    return f"{tr.states[tr.tfrom[k - 1]]} -> {tr.states[tr.tto[k - 1]]}"


def _levels(col: pd.Series) -> list | None:
    """Levels of a covariate (first = reference), None for a number. A flag has levels
    False and True, so that its term is ``<name>TRUE`` as in every model (survival/design)."""
    if pd.api.types.is_bool_dtype(col.dtype):
        return [False, True]
    if pd.api.types.is_numeric_dtype(col.dtype):
        return None
    if isinstance(col.dtype, pd.CategoricalDtype):
        return list(col.cat.categories)
    return sorted(col.dropna().unique().tolist(), key=str)


def _terms(c: str, col: pd.Series, levels: list | None) -> list[tuple[str, np.ndarray]]:
    """The coefficient columns of a covariate: itself as a number, or one 0/1 column per
    level but the first, named as :func:`rwe_cart.cox` names them."""
    if levels is None:
        return [(c, col.astype("float64").to_numpy(na_value=np.nan))]
    miss = col.isna().to_numpy()
    return [(f"{c}{level_name(lev)}", np.where(miss, np.nan, (col == lev).to_numpy(dtype=float)))
            for lev in levels[1:]]


def _design(rows: pd.DataFrame, trans: np.ndarray, covs: dict[int, list[str]],
            levels: dict[str, list | None]) -> pd.DataFrame:
    """Transition-specific columns ``<term>.<k>`` (expand.covs' names): the covariate on
    rows of transition k, 0 elsewhere (a value missing off transition k is not used)."""
    out, source = {}, {}
    for k in sorted(covs):
        for c in covs[k]:
            for term, v in _terms(c, rows[c], levels[c]):
                out[f"{term}.{k}"] = np.where(trans == k, v, 0.0)
                source[f"{term}.{k}"] = c
    frame = pd.DataFrame(out, index=rows.index)
    frame.attrs["covariate"] = source   # column -> the covariate it codes, for messages
    return frame


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
        raise ValueError(f"covariate column {X.attrs['covariate'][col]!r} is missing for "
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
