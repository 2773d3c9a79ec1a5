"""Risk-set counting of the Kaplan–Meier estimator: per (group, distinct time) numbers at
risk, of events and of censorings (array core, trusts its inputs).

Two vectorised paths:

* whole-number times in a modest range (the registry case: days, many ties) are counted
  with :func:`numpy.bincount`, which is linear in n and beats a sort;
* anything else is sorted once, with the event flag packed into the lowest bit of the
  time's IEEE-754 bit pattern, so one ``np.sort`` of ``uint64`` keys gives both the
  distinct times and the event/censor split (no ``argsort`` of the times, no second
  sort). R's ``timefix`` (merging near-equal times) is fused into the same scan.

Neither path loops over subjects or event times in Python.
"""
from __future__ import annotations

import numpy as np

from ._common import TOL, near_tie_heads, small_uint

# Counting path when the number of (group, day) bins is at most n + this.
_BIN_SLACK = 4096
# Whole-number times beyond this never use the counting path (and are exact in float64).
_BIN_MAX_TIME = 1 << 26


class Counts:
    """Per-(group, distinct time) counts, rows sorted by group then time."""

    __slots__ = ("time", "n_risk", "n_event", "n_censor", "bounds", "needs_timefix_check")

    def __init__(self, time, n_risk, n_event, n_censor, bounds, needs_timefix_check):
        self.time = time
        self.n_risk = n_risk
        self.n_event = n_event
        self.n_censor = n_censor
        self.bounds = bounds
        self.needs_timefix_check = needs_timefix_check


def count(t, d, e, codes, n_groups, tmax, timefix=False) -> Counts:
    n = t.size
    if tmax < _BIN_MAX_TIME and n_groups * (tmax + 1) <= n + _BIN_SLACK:
        ti = _whole(t)
        ei = None
        if ti is not None and e is not None:
            ei = _whole(e, allow_negative=True)
        if ti is not None and (e is None or ei is not None):
            return _count_bins(ti, d, ei, codes, n_groups, int(tmax))
    return _count_sorted(t, d, e, codes, n_groups, timefix)


def _whole(x: np.ndarray, allow_negative: bool = False) -> np.ndarray | None:
    """`x` as intp if every value is a whole number (else None)."""
    if x.dtype.kind in "iu":
        xi = x.astype(np.intp, copy=False)
    else:
        head = x[:64]
        if not np.array_equal(np.floor(head), head):  # continuous times: give up at once
            return None
        with np.errstate(invalid="ignore"):  # huge negative entries: cast fails → None
            xi = x.astype(np.intp)
        if not np.array_equal(xi, x):
            return None
    if allow_negative:
        xi = np.maximum(xi, -1)  # every entry < 0 acts alike: never >= a stop time >= 0
    return xi


def _count_bins(ti, d, ei, codes, n_groups, tmax) -> Counts:
    """Counting path: bincount of (group, day, event) keys; linear in n."""
    width = tmax + 1
    key = ti << 1
    if codes is not None:
        key += codes * (2 * width)
    key |= d
    tab = np.bincount(key, minlength=2 * n_groups * width).reshape(n_groups, width, 2)
    cens = tab[:, :, 0]
    ev = tab[:, :, 1]
    tot = cens + ev
    at_or_after = np.cumsum(tot[:, ::-1], axis=1)[:, ::-1]
    if ei is not None:
        # entries shifted by one so that -1 (before every stop time) is bin 0
        ekey = ei + 1
        if codes is not None:
            ekey = ekey + codes * (width + 1)
        etab = np.bincount(ekey, minlength=n_groups * (width + 1)).reshape(n_groups, width + 1)
        entered_ge = np.cumsum(etab[:, ::-1], axis=1)[:, ::-1]   # [g, t+1] = #{entry >= t}
        at_or_after = at_or_after - entered_ge[:, 1:]
    gi, tj = np.nonzero(tot)
    bounds = np.searchsorted(gi, np.arange(n_groups + 1))
    return Counts(tj.astype(np.float64), at_or_after[gi, tj], ev[gi, tj], cens[gi, tj],
                   bounds, needs_timefix_check=False)


def _count_sorted(t, d, e, codes, n_groups, timefix=False) -> Counts:
    """Sort path: one sort of uint64 keys (time bits << 1 | event) per group."""
    t = t.astype(np.float64, copy=False)
    if codes is None and e is None:
        # one group, right-censored: R's timefix is fused into the scan of the sorted keys
        time, n_risk, n_event, n_censor = _sorted_one(t, d, None, timefix)
        return Counts(time, n_risk, n_event, n_censor, np.array([0, time.size]),
                       needs_timefix_check=False)
    if codes is None:
        parts = [_sorted_one(t, d, e)]
    else:
        order = np.argsort(codes.astype(small_uint(n_groups), copy=False), kind="stable")
        sizes = np.bincount(codes, minlength=n_groups)
        cuts = np.concatenate(([0], np.cumsum(sizes)))
        parts = []
        for j in range(n_groups):
            idx = order[cuts[j]:cuts[j + 1]]
            parts.append(_sorted_one(t[idx], d[idx], None if e is None else e[idx]))
    sizes = [p[0].size for p in parts]
    bounds = np.concatenate(([0], np.cumsum(sizes))).astype(np.intp)
    cat = [np.concatenate([p[i] for p in parts]) if len(parts) > 1 else parts[0][i]
           for i in range(4)]
    return Counts(*cat, bounds, needs_timefix_check=True)


_ONE = np.uint64(1)


def _sorted_one(t, d, e, timefix=False):
    """Counts of one curve from one sort of (time bits << 1 | event) keys.

    Times are >= 0, so their IEEE-754 bit patterns sort as the values; the shift drops
    the sign bit, which makes -0.0 and +0.0 one key. Within a tied time the order of
    events and censorings does not matter: only their numbers are used.
    """
    n = t.size
    key = np.left_shift(t.view(np.uint64), _ONE)
    key |= d.view(np.uint64)
    key.sort()
    tb = key >> _ONE                    # the time's bits
    ts = tb.view(np.float64)
    new = np.empty(n, dtype=bool)       # first row of each distinct time
    new[0] = True
    # buffers of n values (key, tb, spare) end up holding result columns: at 10^6 rows
    # the first touch of a new array costs more than the arithmetic on it
    spare = np.empty(n)
    if n > 1:
        gap = np.subtract(ts[1:], ts[:-1], out=spare[1:])
        threshold = 0.0
        if timefix:
            # R's aeqSurv on the sorted values: a new time starts where the gap to the
            # previous value exceeds tol * max(1, mean of the distinct values); the
            # mean is the sum of all values less the (few) exact repeats
            repeats = np.flatnonzero(gap == 0.0) + 1
            scale = (float(np.sum(ts)) - float(np.sum(ts[repeats]))) / (n - repeats.size)
            threshold = TOL * max(1.0, scale)
        np.greater(gap, threshold, out=new[1:])
        del gap
    k = np.count_nonzero(new)
    events = np.bitwise_and(key, _ONE, out=key).view(np.int64)   # 1 = event row
    if k == n:                          # no tied times: every row is its own time
        time = ts
        n_event = events
        n_censor = np.subtract(1, n_event, out=spare.view(np.int64))
        n_risk = np.arange(n, 0, -1)
    elif 16 * (n - k) < n:              # few ties: keep the first rows, add the others in
        starts = np.flatnonzero(new)
        later = np.flatnonzero(~new)
        time_index = later - np.arange(1, later.size + 1)     # distinct time of each
        later_events = events[later]
        # mode="clip": take writes straight into `out` (positions are valid anyway)
        time = np.take(ts, starts, out=spare[:k], mode="clip")
        n_event = np.take(events, starts, out=tb.view(np.int64)[:k], mode="clip")
        n_censor = np.subtract(1, n_event, out=events[:k])    # events is read no more
        n_risk = np.subtract(n, starts, out=starts)
        np.add.at(n_event, time_index, later_events)
        np.add.at(n_censor, time_index, 1 - later_events)
    else:
        starts = np.flatnonzero(new)
        time = ts[starts]
        ends = np.empty_like(starts)
        ends[:-1] = starts[1:] - 1
        ends[-1] = n - 1
        n_event = np.diff(np.cumsum(events)[ends], prepend=0)
        n_censor = (ends - starts + 1) - n_event
        n_risk = n - starts
    if e is not None:
        # at risk at t: entry < t <= stop  =  #{stop >= t} − #{entry >= t}
        n_risk = np.searchsorted(np.sort(e), time, side="left") - (n - n_risk)
    return time, n_risk, n_event, n_censor


def aeq_cuts(counts: Counts) -> tuple[np.ndarray, np.ndarray] | None:
    """R's aeqSurv on right-censored counts: distinct times closer than sqrt(eps) (over
    all groups) are one time, the smallest of the chain. Returns (distinct values, flags
    marking each chain's first), or None when nothing is tied."""
    u = counts.time
    if counts.bounds.size > 2:
        u = np.sort(u, kind="stable")                      # merges sorted runs
        keep = np.empty(u.size, dtype=bool)
        keep[0] = True
        np.not_equal(u[1:], u[:-1], out=keep[1:])
        u = u[keep]
    first = near_tie_heads(u)
    return None if first is None else (u, first)


def _apply_cuts(x: np.ndarray, u: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Replace each value of `x` that is a later member of a chain by the chain's first
    value. Only the (few) merged values are looked up."""
    chain = np.cumsum(first) - 1
    moved = ~first
    merged, target = u[moved], u[first][chain[moved]]
    pos = np.minimum(np.searchsorted(merged, x), merged.size - 1)
    hit = merged[pos] == x
    out = x.astype(np.float64)          # always a copy: never modify the caller's data
    out[hit] = target[pos[hit]]
    return out


def merge_rows(counts: Counts, u: np.ndarray, first_of_chain: np.ndarray) -> Counts:
    """Right-censored data: map each row's time to its chain's first value and add up
    the merged rows. The number at risk at a merged time is that of its first row."""
    if counts.bounds.size == 2:            # one group: its rows are the distinct values
        first = first_of_chain
        new_time = counts.time
    else:
        new_time = _apply_cuts(counts.time, u, first_of_chain)
        first = np.empty(new_time.size, dtype=bool)
        first[0] = True
        np.not_equal(new_time[1:], new_time[:-1], out=first[1:])
        first[counts.bounds[:-1]] = True   # a group never merges into another
    starts = np.flatnonzero(first)
    later = np.flatnonzero(~first)         # rows merged into the row before them (few)
    chain = np.searchsorted(starts, later, side="right") - 1
    n_event = counts.n_event[starts]
    n_censor = counts.n_censor[starts]
    np.add.at(n_event, chain, counts.n_event[later])
    np.add.at(n_censor, chain, counts.n_censor[later])
    bounds = np.searchsorted(starts, counts.bounds)
    return Counts(new_time[starts], counts.n_risk[starts], n_event, n_censor, bounds,
                   needs_timefix_check=False)
