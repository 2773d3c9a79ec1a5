"""Long format of a multi-state model (``mstate::msprep``) and transition-specific
covariates (``mstate::expand.covs``).

:func:`multistate_frame` follows every patient's path once
(:func:`rwe_cart.survival._multistate_core.walk_paths`), checks that every entry lies on
it, and builds the rows from the same path (``long_rows``). Both functions are public
through :mod:`rwe_cart.survival.multistate`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import _multistate_core as core
from . import validate as V
from ._ms_transitions import TRANSITIONS_ATTR, Transitions, _topological, _transitions_of
from .design import is_numeric, level_name, numeric_column

_LONG_COLUMNS = ["id", "from", "to", "trans", "start", "stop", "time", "status"]


def _fmt_ids(ids) -> str:
    ids = [str(i) for i in ids]
    return ", ".join(ids[:5]) + (", …" if len(ids) > 5 else "")


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
    steps, last = core.walk_paths(T, D, targets, absorbing, np.asarray(order))
    _check_paths(steps, last, D, tr, absorbing, idv, time, status)
    pat, fr, to, trn, start, stop, ev = core.long_rows(steps, trans_no)
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


def _check_paths(steps, last, D, tr, absorbing, idv, time, status):
    """Every entry with status 1 must lie on the path the long format follows (the steps
    of ``core.walk_paths``), and no target may be censored before an event from the same
    state (msprep warns and goes on; here it is an error naming the patients and
    columns). The steps are checked in path order, so the first error is the one met
    first along the paths."""
    n, S = D.shape
    on_path = np.zeros((n, S), dtype=bool)
    on_path[:, 0] = True
    for step in steps:
        h, sel, tg, t0 = step.state, step.patients, step.targets, step.entry
        tt, st, nxt = step.times, step.status, step.next_time
        early = (st == 1) & (tt < t0[:, None])
        if early.any():
            r, c = np.nonzero(early)
            j = tg[c[0]]
            raise ValueError(
                f"patients {_fmt_ids(idv[sel[np.unique(r)]])} enter {tr.states[j]!r} "
                f"(column {time[tr.states[j]]!r}) before they enter {tr.states[h]!r}, the "
                f"state that transition starts from; entries must follow the path")
        cens_before = (st == 0) & (tt >= t0[:, None]) & (tt < nxt[:, None]) & np.isfinite(
            nxt)[:, None]
        if cens_before.any():
            r, c = np.nonzero(cens_before)
            j = tg[c[0]]
            k = tg[step.pick[r[0]]]
            raise ValueError(
                f"patients {_fmt_ids(idv[sel[np.unique(r)]])} are censored for "
                f"{tr.states[j]!r} (column {status[tr.states[j]]!r} = 0 at "
                f"{time[tr.states[j]]!r}) before they enter {tr.states[k]!r} (column "
                f"{time[tr.states[k]]!r}); a patient followed up to the later event is at "
                f"risk of {tr.states[j]!r} until then — set {time[tr.states[j]]!r} to that "
                "time")
        ties = ((st == 1) & (tt == nxt[:, None]) & np.isfinite(nxt)[:, None]).sum(axis=1) > 1
        if ties.any():
            raise ValueError(
                f"patients {_fmt_ids(idv[sel[ties]])} enter two states out of "
                f"{tr.states[h]!r} at the same time (columns "
                f"{[time[tr.states[j]] for j in tg]}); the next state is ambiguous")
        moved = np.isfinite(nxt)
        on_path[sel[moved], tg[step.pick[moved]]] = True
    off = (D == 1) & ~on_path
    if off.any():
        r, c = np.nonzero(off)
        j = c[0]
        who = np.unique(r[c == j])
        end = last[who[0]]
        why = (f"after the absorbing state {tr.states[end]!r}" if absorbing[end]
               else f"which cannot be reached from {tr.states[end]!r}")
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
