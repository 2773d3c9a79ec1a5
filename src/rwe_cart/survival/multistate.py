"""Multi-state models with R ``mstate`` conventions (Putter, Fiocco & Geskus 2007;
de Wreede, Fiocco & Putter 2010, 2011).

Public: :func:`transitions` (:class:`Transitions`), :func:`multistate_frame` (``msprep``),
:func:`expand_covariates` (``expand.covs``), :func:`transition_hazards` (``msfit``,
:class:`TransitionHazards`), :func:`state_probabilities` (``probtrans``,
:class:`StateProbabilities`), :func:`landmark_aalen_johansen` (``LMAJ``) and
:func:`length_of_stay` (``ELOS``, :class:`LengthOfStay`).

Each public function validates its input once and calls the array code in
:mod:`rwe_cart.survival._multistate_core`. Cox models are fitted with
:func:`rwe_cart.survival.cox.cox` on the long frame.
"""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import _cox_core as cox_core
from . import _multistate_core as core
from . import validate as V
from .design import build_rows, is_numeric, level_name, numeric_column
from .cox import CoxModel, cox

__all__ = ["Transitions", "TransitionHazards", "StateProbabilities", "LengthOfStay",
           "transitions", "multistate_frame", "expand_covariates", "transition_hazards",
           "state_probabilities", "landmark_aalen_johansen", "length_of_stay"]

TRANSITIONS_ATTR = "multistate_transitions"   # frame.attrs key carrying the Transitions
_LONG_COLUMNS = ["id", "from", "to", "trans", "start", "stop", "time", "status"]


def _fmt_ids(ids) -> str:
    ids = [str(i) for i in ids]
    return ", ".join(ids[:5]) + (", …" if len(ids) > 5 else "")


# ---------------------------------------------------------------------------------------
# Transitions
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Transitions:
    """The states and numbered transitions of a multi-state model (``mstate::transMat``).

    Attributes
    ----------
    states : tuple
        State names in first-appearance order of the mapping (absorbing states included).
    table : pandas.DataFrame
        ``trans, from, to``: transitions numbered 1..K row by row in state order (the
        targets of a state in the order given).

    Examples
    --------
    >>> import rwe_cart as rc
    >>> tr = rc.transitions({"Tx": ["PR", "Death"], "PR": ["Death"]})
    >>> tr.states
    ('Tx', 'PR', 'Death')
    >>> tr.table
       trans from     to
    0      1   Tx     PR
    1      2   Tx  Death
    2      3   PR  Death
    """

    states: tuple
    tfrom: np.ndarray = field(repr=False)   # 0-based state codes of each transition
    tto: np.ndarray = field(repr=False)

    @property
    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"trans": np.arange(1, len(self.tfrom) + 1),
                             "from": [self.states[i] for i in self.tfrom],
                             "to": [self.states[i] for i in self.tto]})

    @property
    def n_states(self) -> int:
        return len(self.states)

    @property
    def n_transitions(self) -> int:
        return len(self.tfrom)

    @property
    def matrix(self) -> pd.DataFrame:
        """The transition matrix as ``transMat``: transition numbers, NaN where none."""
        S = self.n_states
        m = np.full((S, S), np.nan)
        m[self.tfrom, self.tto] = np.arange(1, self.n_transitions + 1)
        return pd.DataFrame(m, index=pd.Index(self.states, name="from"),
                            columns=pd.Index(self.states, name="to"))

    @property
    def absorbing(self) -> tuple:
        """States with no transition out."""
        out = set(self.tfrom.tolist())
        return tuple(s for i, s in enumerate(self.states) if i not in out)

    def code(self, state: Any, what: str = "state") -> int:
        """0-based position of a state name (error naming the states otherwise)."""
        try:
            return self.states.index(state)
        except ValueError:
            raise ValueError(f"{what} {state!r} is not a state of the model; states: "
                             f"{list(self.states)}") from None

    @classmethod
    def illness_death(cls, names: Sequence = ("Healthy", "Illness", "Death")) -> Transitions:
        """Illness-death model: 1 -> 2, 1 -> 3, 2 -> 3 (``trans.illdeath``)."""
        a, b, c = _three(names)
        return transitions({a: [b, c], b: [c]})

    @classmethod
    def competing_risks(cls, names: Sequence) -> Transitions:
        """Competing risks: the first state to each of the others (``trans.comprisk``)."""
        names = list(names)
        if len(names) < 3:
            raise ValueError("competing_risks needs the initial state and at least two "
                             f"outcomes, got {names}")
        return transitions({names[0]: names[1:]})

    def __repr__(self) -> str:
        rows = [f"  {r.trans}: {r[1]} -> {r[2]}" for r in self.table.itertuples(index=False)]
        return (f"Transitions: {self.n_states} states ({', '.join(map(str, self.states))}), "
                f"{self.n_transitions} transitions\n" + "\n".join(rows))

    def _repr_html_(self) -> str:
        head = html.escape(repr(self).split("\n")[0])
        return f"<p><b>{head}</b></p>" + self.table.to_html(index=False)


def _three(names):
    names = list(names)
    if len(names) != 3:
        raise ValueError(f"illness_death takes three state names, got {names}")
    return names


def transitions(mapping: Mapping[Any, Sequence]) -> Transitions:
    """Define the states and transitions of a multi-state model.

    Parameters
    ----------
    mapping
        ``{from_state: [to_state, ...]}``. States are numbered in order of first
        appearance (keys and targets as read), transitions 1..K row by row in that state
        order, as ``mstate::transMat``.

    Returns
    -------
    Transitions
        ``.states``, ``.table`` (``trans, from, to``), ``.matrix``; see also
        :meth:`Transitions.illness_death` and :meth:`Transitions.competing_risks`.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> tr = rc.transitions({"Tx": ["PR", "RelDeath"], "PR": ["RelDeath"]})
    >>> tr.states
    ('Tx', 'PR', 'RelDeath')
    >>> tr.table
       trans from        to
    0      1   Tx        PR
    1      2   Tx  RelDeath
    2      3   PR  RelDeath
    """
    if not isinstance(mapping, Mapping):
        raise TypeError(f"mapping must be a dict {{from_state: [to_state, ...]}}, got "
                        f"{type(mapping).__name__}")
    states: list = []
    for key, targets in mapping.items():
        if isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence | np.ndarray):
            raise TypeError(f"the targets of state {key!r} must be a list of states, got "
                            f"{targets!r}")
        for s in (key, *targets):
            if s not in states:
                states.append(s)
    tfrom, tto = [], []
    for key in states:
        targets = list(mapping.get(key, ()))
        if len(set(targets)) != len(targets):
            raise ValueError(f"state {key!r} lists a target twice: {targets}")
        if key in targets:
            raise ValueError(f"state {key!r} lists itself as a target; a transition goes "
                             "to another state")
        for t in targets:
            tfrom.append(states.index(key))
            tto.append(states.index(t))
    if not tfrom:
        raise ValueError("mapping defines no transition")
    return Transitions(tuple(states), np.asarray(tfrom, dtype=np.int64),
                       np.asarray(tto, dtype=np.int64))


def _topological(tr: Transitions) -> list[int] | None:
    S = tr.n_states
    indeg = np.bincount(tr.tto, minlength=S)
    order, ready = [], [h for h in range(S) if indeg[h] == 0]
    while ready:
        h = ready.pop(0)
        order.append(h)
        for j in tr.tto[tr.tfrom == h]:
            indeg[j] -= 1
            if indeg[j] == 0:
                ready.append(int(j))
    return order if len(order) == S else None


def _transitions_of(obj, transitions, what: str) -> Transitions:
    if transitions is not None:
        if not isinstance(transitions, Transitions):
            raise TypeError("transitions must be made by rc.transitions(...), got "
                            f"{type(transitions).__name__}")
        return transitions
    tr = getattr(obj, "attrs", {}).get(TRANSITIONS_ATTR) if obj is not None else None
    if tr is None:
        raise ValueError(f"{what} does not carry its transitions; pass transitions= "
                         "(made by rc.transitions)")
    return tr


# ---------------------------------------------------------------------------------------
# Long format (msprep)
# ---------------------------------------------------------------------------------------
def multistate_frame(data: pd.DataFrame, transitions: Transitions, *,
                     time: Mapping[Any, str], status: Mapping[Any, str], id: str = "id",
                     keep: Sequence[str] = ()) -> pd.DataFrame:
    """Long format of a multi-state model, as ``mstate::msprep``.

    Parameters
    ----------
    data
        One row per patient.
    transitions
        The model (:func:`transitions`); acyclic, every patient starts in its first
        state at time 0.
    time, status
        ``{state: column}`` for every state but the first: the time of entry into the
        state and its 0/1 indicator (1: entered at that time; 0: not entered, followed
        up to that time). A missing time is allowed with status 0 (never assessed).
    id
        Patient identifier column (unique, no missing values).
    keep
        Columns copied to every row of the patient (covariates).

    Returns
    -------
    pandas.DataFrame
        One row per patient per transition at risk: ``id, from, to, trans, start, stop,
        time, status`` (+ ``keep``), the rows and order of msprep (by id, start, from,
        to). ``from``/``to`` are categorical state names in model order, ``trans`` the
        transition number, ``time = stop - start``. ``attrs["multistate_transitions"]``
        holds the model.

    Raises
    ------
    ValueError
        Missing or negative times, a status other than 0/1, an event without a time,
        an entry that the path of the patient cannot reach (after an absorbing event,
        before the state it comes from, or after the patient is censored in another
        column), or a zero-length stay; each message names the patients and columns.

    Notes
    -----
    From a state entered at t0, the next state is the target with status 1 at the
    earliest time >= t0 (the first in transition order among equal times, as msprep);
    without one, the patient is censored at the earliest target time. Where msprep warns
    and goes on (an event after a censoring time of another target, simultaneous
    entries) or silently ignores an entry, this function raises.

    Examples
    --------
    >>> import pandas as pd
    >>> import rwe_cart as rc
    >>> tr = rc.transitions({"Tx": ["PR", "Death"], "PR": ["Death"]})
    >>> wide = pd.DataFrame({"id": [1, 2, 3], "pr_t": [1.0, 4.0, 2.0], "pr_s": [1, 0, 0],
    ...                      "d_t": [5.0, 4.0, 2.0], "d_s": [1, 0, 1]})
    >>> ms = rc.multistate_frame(wide, tr, time={"PR": "pr_t", "Death": "d_t"},
    ...                          status={"PR": "pr_s", "Death": "d_s"})
    >>> ms[["id", "from", "to", "trans", "start", "stop", "status"]]
       id from     to  trans  start  stop  status
    0   1   Tx     PR      1    0.0   1.0       1
    1   1   Tx  Death      2    0.0   1.0       0
    2   1   PR  Death      3    1.0   5.0       1
    3   2   Tx     PR      1    0.0   4.0       0
    4   2   Tx  Death      2    0.0   4.0       0
    5   3   Tx     PR      1    0.0   2.0       0
    6   3   Tx  Death      2    0.0   2.0       1
    """
    if not isinstance(transitions, Transitions):
        raise TypeError("transitions must be made by rc.transitions(...), got "
                        f"{type(transitions).__name__}")
    tr = transitions
    if not isinstance(time, Mapping) or not isinstance(status, Mapping):
        raise TypeError("time and status must be dicts {state: column}")
    keep = [keep] if isinstance(keep, str) else list(keep)
    need = list(tr.states[1:])
    for arg, m in (("time", time), ("status", status)):
        extra = [s for s in m if s not in tr.states]
        if extra:
            raise ValueError(f"{arg} names states {extra} that are not in the model "
                             f"({list(tr.states)})")
        if tr.states[0] in m:
            raise ValueError(f"{arg} gives a column for the initial state "
                             f"{tr.states[0]!r}; every patient starts there at time 0")
        miss = [s for s in need if s not in m]
        if miss:
            raise ValueError(f"{arg} has no column for states {miss}; give "
                             "{state: column} for every state but the first")
    V.check_frame(data, [("id", id)] + [("time", time[s]) for s in need]
                  + [("status", status[s]) for s in need] + [("keep", k) for k in keep])
    clash = [k for k in keep if k in _LONG_COLUMNS]
    if clash:
        raise ValueError(f"keep names {clash}, which the long frame already has; rename "
                         "them")
    order = _topological(tr)
    if order is None:
        raise ValueError("the transitions have a cycle; the long format needs an acyclic "
                         "model (as msprep)")
    indeg = np.bincount(tr.tto, minlength=tr.n_states)
    roots = [tr.states[h] for h in range(1, tr.n_states) if indeg[h] == 0]
    if roots:
        raise ValueError(f"states {roots} cannot be reached from the initial state "
                         f"{tr.states[0]!r}")
    ids = data[id]
    if ids.isna().any():
        bad = ids.isna().to_numpy()
        raise ValueError(f"column {id!r} has missing values ({V.describe_rows(data, bad)}); "
                         "every patient needs an id")
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        raise ValueError(f"column {id!r} repeats patients {_fmt_ids(pd.unique(ids[dup]))}; "
                         "the wide data has one row per patient")
    idv = ids.to_numpy()
    n, S = len(data), tr.n_states
    T = np.full((n, S), np.inf)
    D = np.zeros((n, S), dtype=np.int64)
    for h in range(1, S):
        tcol, scol = time[tr.states[h]], status[tr.states[h]]
        t = V._numeric(data, tcol, "times").astype(np.float64)
        if np.isinf(t).any():
            bad = np.isinf(t)
            raise ValueError(f"column {tcol!r} has infinite times for patients "
                             f"{_fmt_ids(idv[bad])}; times must be finite")
        s = data[scol]
        smiss = s.isna().to_numpy()
        if smiss.any():
            raise ValueError(f"column {scol!r} has no status for patients "
                             f"{_fmt_ids(idv[smiss])}; status must be 0 or 1")
        d = V.event_array(data, scol)
        tmiss = np.isnan(t)
        bad = tmiss & (d == 1)
        if bad.any():
            raise ValueError(f"patients {_fmt_ids(idv[bad])} have status 1 in {scol!r} but "
                             f"no time in {tcol!r}; an entry needs its time")
        neg = t < 0
        if neg.any():
            raise ValueError(f"column {tcol!r} has negative times for patients "
                             f"{_fmt_ids(idv[neg])}; times are measured from the start "
                             "(time 0) and must be >= 0")
        T[:, h] = np.where(tmiss, np.inf, t)
        D[:, h] = d
    targets = [tr.tto[tr.tfrom == h] for h in range(S)]
    trans_no = np.zeros((S, S), dtype=np.int64)
    trans_no[tr.tfrom, tr.tto] = np.arange(1, tr.n_transitions + 1)
    absorbing = np.bincount(tr.tfrom, minlength=S) == 0
    _check_paths(T, D, tr, targets, absorbing, order, idv, time, status)
    pat, fr, to, trn, start, stop, ev = core.long_rows(T, D, targets, trans_no, absorbing,
                                                        np.asarray(order))
    if not np.isfinite(stop).all():
        bad = np.unique(pat[~np.isfinite(stop)])
        cols = sorted({time[tr.states[h]] for h in range(1, S)})
        raise ValueError(f"patients {_fmt_ids(idv[bad])} have no follow-up time: every "
                         f"time column of the targets of their state is missing ({cols})")
    zero = stop <= start
    if zero.any():
        bad = np.unique(pat[zero])
        raise ValueError(f"patients {_fmt_ids(idv[bad])} leave a state at the time they "
                         "enter it (a stay of length 0: two entries at the same time, or "
                         "a follow-up time equal to the entry time); the long format needs "
                         "stop > start (as coxph) — check the time columns "
                         f"{[time[s] for s in need]}")
    id_rank = pd.factorize(data[id], sort=True)[0]
    o = np.lexsort((to, fr, start, id_rank[pat]))
    pat = pat[o]
    out = pd.DataFrame({
        "id": ids.to_numpy()[pat],
        "from": pd.Categorical.from_codes(fr[o], categories=list(tr.states)),
        "to": pd.Categorical.from_codes(to[o], categories=list(tr.states)),
        "trans": trn[o], "start": start[o], "stop": stop[o],
        "time": stop[o] - start[o], "status": ev[o],
    })
    for k in keep:
        out[k] = data[k].array.take(pat)  # keeps categorical levels and dtypes
    out.attrs[TRANSITIONS_ATTR] = tr
    return out


def _check_paths(T, D, tr, targets, absorbing, order, idv, time, status):
    """Every entry with status 1 must lie on the path the long format follows, and no
    target may be censored before an event from the same state (msprep warns and goes
    on; here it is an error naming the patients and columns)."""
    n, S = T.shape
    where = np.zeros(n, dtype=np.int64)
    cur = np.zeros(n)
    on_path = np.zeros((n, S), dtype=bool)
    on_path[:, 0] = True
    active = np.ones(n, dtype=bool)
    for h in order:
        tg = targets[h]
        sel = np.flatnonzero(active & (where == h))
        if sel.size == 0 or tg.size == 0:
            continue
        tt = T[np.ix_(sel, tg)]
        st = D[np.ix_(sel, tg)]
        t0 = cur[sel]
        early = (st == 1) & (tt < t0[:, None])
        if early.any():
            r, c = np.nonzero(early)
            j = tg[c[0]]
            raise ValueError(
                f"patients {_fmt_ids(idv[sel[np.unique(r)]])} enter {tr.states[j]!r} "
                f"(column {time[tr.states[j]]!r}) before they enter {tr.states[h]!r}, the "
                f"state that transition starts from; entries must follow the path")
        ev_t = np.where(st == 1, tt, np.inf)
        nxt = ev_t.min(axis=1)
        cens_before = (st == 0) & (tt >= t0[:, None]) & (tt < nxt[:, None]) & np.isfinite(
            nxt)[:, None]
        if cens_before.any():
            r, c = np.nonzero(cens_before)
            j = tg[c[0]]
            k = tg[np.argmin(ev_t[r[0]])]
            raise ValueError(
                f"patients {_fmt_ids(idv[sel[np.unique(r)]])} are censored for "
                f"{tr.states[j]!r} (column {status[tr.states[j]]!r} = 0 at "
                f"{time[tr.states[j]]!r}) before they enter {tr.states[k]!r} (column "
                f"{time[tr.states[k]]!r}); a patient followed up to the later event is at "
                f"risk of {tr.states[j]!r} until then — set {time[tr.states[j]]!r} to that "
                "time")
        ties = ((ev_t == nxt[:, None]) & np.isfinite(nxt)[:, None]).sum(axis=1) > 1
        if ties.any():
            raise ValueError(
                f"patients {_fmt_ids(idv[sel[ties]])} enter two states out of "
                f"{tr.states[h]!r} at the same time (columns "
                f"{[time[tr.states[j]] for j in tg]}); the next state is ambiguous")
        moved = np.isfinite(nxt)
        pick = tg[np.argmin(ev_t, axis=1)]
        where[sel[moved]] = pick[moved]
        cur[sel[moved]] = nxt[moved]
        on_path[sel[moved], pick[moved]] = True
        active[sel[~moved]] = False
        active[sel[moved]] &= ~absorbing[pick[moved]]
    off = (D == 1) & ~on_path
    if off.any():
        r, c = np.nonzero(off)
        j = c[0]
        who = np.unique(r[c == j])
        last = where[who[0]]
        why = (f"after the absorbing state {tr.states[last]!r}" if absorbing[last]
               else f"which cannot be reached from {tr.states[last]!r}")
        raise ValueError(
            f"patients {_fmt_ids(idv[who])} have status 1 in {status[tr.states[j]]!r} "
            f"(entry into {tr.states[j]!r} at {time[tr.states[j]]!r}) {why}, where their "
            "path ends; an entry after the path ends cannot be represented — correct the "
            "status or time columns")


# ---------------------------------------------------------------------------------------
# expand.covs
# ---------------------------------------------------------------------------------------
def expand_covariates(frame: pd.DataFrame, columns: Sequence[str] | str,
                      transitions: Transitions | None = None) -> pd.DataFrame:
    """Transition-specific covariates, as ``mstate::expand.covs`` (``longnames = TRUE``).

    Parameters
    ----------
    frame
        The long frame of :func:`multistate_frame` (column ``trans``).
    columns
        Covariate columns to expand.
    transitions
        The model; by default the one the frame carries.

    Returns
    -------
    pandas.DataFrame
        A copy of `frame` with, for each coefficient ``<term>`` of a column (named as
        :func:`rwe_cart.cox` names it: ``age`` for a numeric column, ``sexM`` for level
        ``M`` of a string, boolean or categorical one; the first level is the reference)
        and each transition k, the column ``<term>.<k>`` equal to the covariate on rows
        of transition k and 0 elsewhere. A categorical column keeps all its categories,
        so a ``newdata`` row gets the columns of the fitted data.

    Examples
    --------
    >>> import pandas as pd
    >>> import rwe_cart as rc
    >>> tr = rc.transitions({"Tx": ["PR", "Death"], "PR": ["Death"]})
    >>> wide = pd.DataFrame({"id": [1, 2], "pr_t": [1.0, 4.0], "pr_s": [1, 0],
    ...                      "d_t": [5.0, 4.0], "d_s": [1, 0], "sex": ["F", "M"]})
    >>> ms = rc.multistate_frame(wide, tr, time={"PR": "pr_t", "Death": "d_t"},
    ...                          status={"PR": "pr_s", "Death": "d_s"}, keep=["sex"])
    >>> rc.expand_covariates(ms, ["sex"])[["id", "trans", "sexM.1", "sexM.2", "sexM.3"]]
       id  trans  sexM.1  sexM.2  sexM.3
    0   1      1     0.0     0.0     0.0
    1   1      2     0.0     0.0     0.0
    2   1      3     0.0     0.0     0.0
    3   2      1     1.0     0.0     0.0
    4   2      2     0.0     1.0     0.0
    """
    tr = _transitions_of(frame, transitions, "frame")
    columns = [columns] if isinstance(columns, str) else list(columns)
    V.check_frame(frame, [("trans", "trans")] + [("columns", c) for c in columns])
    trans = frame["trans"].to_numpy()
    K = tr.n_transitions
    bad = ~np.isin(trans, np.arange(1, K + 1))
    if bad.any():
        raise ValueError(f"column 'trans' has values outside 1..{K} "
                         f"({V.describe_rows(frame, bad)})")
    out = frame.copy()
    new = {}
    for c in columns:
        for term, x in _term_columns(frame, c):
            for k in range(1, K + 1):
                name = f"{term}.{k}"
                if name in frame.columns:
                    raise ValueError(f"column {name!r} is already in the frame; drop it "
                                     "before expanding")
                new[name] = np.where(trans == k, x, 0.0)
    out = pd.concat([out, pd.DataFrame(new, index=frame.index)], axis=1)
    out.attrs[TRANSITIONS_ATTR] = tr
    return out


def _term_columns(frame: pd.DataFrame, name: str) -> list[tuple[str, np.ndarray]]:
    """The coefficient columns of one covariate, named as :func:`rwe_cart.cox` names
    them (``design_matrix``). A categorical column keeps all its declared categories
    (first = reference), so that a one-patient ``newdata`` gets the same columns as the
    data the model was fitted to."""
    col = frame[name]
    if is_numeric(col):
        return [(name, numeric_column(frame, name))]
    if isinstance(col.dtype, pd.CategoricalDtype):
        if col.isna().any():
            bad = col.isna().to_numpy()
            raise ValueError(f"column {name!r} has missing values "
                             f"({V.describe_rows(frame, bad)}); every row needs a value")
        levels, codes = list(col.cat.categories), col.cat.codes.to_numpy()
    else:
        codes, levels = V.group_codes(frame, name)
        levels = list(levels)
    return [(f"{name}{level_name(lev)}", (codes == j).astype(np.float64))
            for j, lev in enumerate(levels) if j > 0]


# ---------------------------------------------------------------------------------------
# msfit
# ---------------------------------------------------------------------------------------
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
    >>> import pandas as pd, rwe_cart as rc
    >>> tr = rc.transitions({"Tx": ["PR", "Death"], "PR": ["Death"]})
    >>> wide = pd.DataFrame({"id": range(1, 7), "pr_t": [1.0, 4, 2, 3, 1.5, 6],
    ...                      "pr_s": [1, 0, 0, 1, 1, 0], "d_t": [5.0, 4, 2, 7, 2.5, 6],
    ...                      "d_s": [1, 0, 1, 0, 1, 1]})
    >>> ms = rc.multistate_frame(wide, tr, time={"PR": "pr_t", "Death": "d_t"},
    ...                          status={"PR": "pr_s", "Death": "d_s"})
    >>> haz = rc.transition_hazards(ms)
    >>> haz.variance, haz.cumhaz.shape
    ('aalen', (8, 3))
    >>> haz.table.query("trans == 1")[["time", "cumhaz"]].round(3).head(3)
       time  cumhaz
    0   1.0   0.167
    1   1.5   0.367
    2   2.0   0.367
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
    >>> import pandas as pd
    >>> import rwe_cart as rc
    >>> tr = rc.transitions({"Tx": ["PR", "Death"], "PR": ["Death"]})
    >>> wide = pd.DataFrame({"id": range(1, 7), "pr_t": [1.0, 4, 2, 3, 1.5, 6],
    ...                      "pr_s": [1, 0, 0, 1, 1, 0], "d_t": [5.0, 4, 2, 7, 2.5, 6],
    ...                      "d_s": [1, 0, 1, 0, 1, 1]})
    >>> ms = rc.multistate_frame(wide, tr, time={"PR": "pr_t", "Death": "d_t"},
    ...                          status={"PR": "pr_s", "Death": "d_s"})
    >>> haz = rc.transition_hazards(ms)
    >>> haz.table.groupby("trans")["cumhaz"].max().round(4).tolist()
    [0.7, 1.25, 1.0]
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


# ---------------------------------------------------------------------------------------
# probtrans
# ---------------------------------------------------------------------------------------
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
    >>> import pandas as pd, rwe_cart as rc
    >>> tr = rc.transitions({"Tx": ["PR", "Death"], "PR": ["Death"]})
    >>> wide = pd.DataFrame({"id": range(1, 7), "pr_t": [1.0, 4, 2, 3, 1.5, 6],
    ...                      "pr_s": [1, 0, 0, 1, 1, 0], "d_t": [5.0, 4, 2, 7, 2.5, 6],
    ...                      "d_s": [1, 0, 1, 0, 1, 1]})
    >>> ms = rc.multistate_frame(wide, tr, time={"PR": "pr_t", "Death": "d_t"},
    ...                          status={"PR": "pr_s", "Death": "d_s"})
    >>> pt = rc.state_probabilities(rc.transition_hazards(ms))
    >>> pt.probability.shape
    (9, 3, 3)
    >>> pt.table().query("time == 5.0").round(3)
        time  state  probability     se
    18   5.0     Tx        0.333  0.164
    19   5.0     PR        0.167  0.113
    20   5.0  Death        0.500  0.164
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
    >>> import pandas as pd
    >>> import rwe_cart as rc
    >>> tr = rc.transitions({"Tx": ["PR", "Death"], "PR": ["Death"]})
    >>> wide = pd.DataFrame({"id": range(1, 7), "pr_t": [1.0, 4, 2, 3, 1.5, 6],
    ...                      "pr_s": [1, 0, 0, 1, 1, 0], "d_t": [5.0, 4, 2, 7, 2.5, 6],
    ...                      "d_s": [1, 0, 1, 0, 1, 1]})
    >>> ms = rc.multistate_frame(wide, tr, time={"PR": "pr_t", "Death": "d_t"},
    ...                          status={"PR": "pr_s", "Death": "d_s"})
    >>> lm = rc.landmark_aalen_johansen(ms, None, s=1.2, start="Tx")
    >>> lm.table().query("time == 3.0").round(3)
        time  state  probability     se
    12   3.0     Tx          0.4  0.185
    13   3.0     PR          0.2  0.148
    14   3.0  Death          0.4  0.192
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
@dataclass(frozen=True, eq=False)
class LengthOfStay:
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
    >>> import pandas as pd, rwe_cart as rc
    >>> tr = rc.transitions({"Tx": ["PR", "Death"], "PR": ["Death"]})
    >>> wide = pd.DataFrame({"id": range(1, 7), "pr_t": [1.0, 4, 2, 3, 1.5, 6],
    ...                      "pr_s": [1, 0, 0, 1, 1, 0], "d_t": [5.0, 4, 2, 7, 2.5, 6],
    ...                      "d_s": [1, 0, 1, 0, 1, 1]})
    >>> ms = rc.multistate_frame(wide, tr, time={"PR": "pr_t", "Death": "d_t"},
    ...                          status={"PR": "pr_s", "Death": "d_s"})
    >>> pt = rc.state_probabilities(rc.transition_hazards(ms))
    >>> los = rc.length_of_stay(pt, tau=5)
    >>> los.tau, los.n_boot
    (5.0, 0)
    >>> round(float(los.table["length_of_stay"].sum()), 6)
    5.0
    """

    table: pd.DataFrame
    start: Any
    tau: float
    predt: float
    n_boot: int
    meta: dict = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        body = self.table.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        return (f"Expected length of stay from {self.start!r} over ({self.predt:g}, "
                f"{self.tau:g}]\n{body}")

    def _repr_html_(self) -> str:
        head = html.escape(repr(self).split("\n")[0])
        return (f"<p><b>{head}</b></p>"
                + self.table.to_html(index=False, float_format="{:.4g}".format, na_rep="NA"))


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
    >>> import pandas as pd
    >>> import rwe_cart as rc
    >>> tr = rc.transitions({"Tx": ["PR", "Death"], "PR": ["Death"]})
    >>> wide = pd.DataFrame({"id": range(1, 7), "pr_t": [1.0, 4, 2, 3, 1.5, 6],
    ...                      "pr_s": [1, 0, 0, 1, 1, 0], "d_t": [5.0, 4, 2, 7, 2.5, 6],
    ...                      "d_s": [1, 0, 1, 0, 1, 1]})
    >>> ms = rc.multistate_frame(wide, tr, time={"PR": "pr_t", "Death": "d_t"},
    ...                          status={"PR": "pr_s", "Death": "d_s"})
    >>> pt = rc.state_probabilities(rc.transition_hazards(ms))
    >>> rc.length_of_stay(pt, tau=5).table.round(3)
       state  length_of_stay  se
    0     Tx           2.917 NaN
    1     PR           1.167 NaN
    2  Death           0.917 NaN
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
