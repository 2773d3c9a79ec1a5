"""The states and numbered transitions of a multi-state model (``mstate::transMat``).

:class:`Transitions` and :func:`transitions` are public through
:mod:`rwe_cart.survival.multistate`; :data:`TRANSITIONS_ATTR` is the ``frame.attrs`` key
by which a long frame carries its model.
"""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

TRANSITIONS_ATTR = "multistate_transitions"   # frame.attrs key carrying the Transitions


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
    >>> tr = rc.Transitions.illness_death(["Tx", "PR", "Death"])
    >>> tr.states, tr.absorbing
    (('Tx', 'PR', 'Death'), ('Death',))
    >>> tr.matrix
    to      Tx   PR  Death
    from
    Tx     NaN  1.0    2.0
    PR     NaN  NaN    3.0
    Death  NaN  NaN    NaN
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
