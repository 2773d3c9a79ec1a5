"""Log-rank and Fleming–Harrington tests with R ``survdiff`` conventions.

Public: :func:`logrank`.

Two layers, as every estimator in the package: :func:`logrank` validates once
(``validate``) and builds the result; :func:`_logrank_arrays` trusts its inputs and does
the arithmetic. Only the numbers at risk and of events per group at each distinct event
time are needed; they are counted in one of three vectorised ways:

* whole-number times in a modest range (the registry case: days, many ties): one
  :func:`numpy.bincount` of (stratum, group, day, event) keys, linear in n;
* other times: one ``np.sort`` of uint64 keys that hold the time's bit pattern (scaled
  by an exact power of two to free the low bits) with the group and the record type
  (event, censored, entry) in the low bits, then run boundaries and cumulative sums;
* when the times' range is too wide for that packing (beyond ~1e±300 or very many
  groups): each group's times sorted and counted with ``np.searchsorted``.

No Python loop runs over subjects or event times; loops run over strata and groups.
Lifelines' ``logrank_test`` and statsmodels' ``survdiff`` exist, but neither follows R's
merging of near-equal times, lifelines has no strata or left truncation, and both are
slower at registry scale (``benchmarks/bench_logrank.py``).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import chi2

from .._deprecate import renamed
from . import _formula
from . import validate as V
from ._common import TOL, merge_near_ties, small_uint
from .results import TestResult

__all__ = ["logrank"]

# ---------------------------------------------------------------------------------------
# Public function
# ---------------------------------------------------------------------------------------
@renamed(group="by", entry="start")
def logrank(
    data: pd.DataFrame | str,
    time: str | pd.DataFrame | None = None,
    event: str | None = None,
    by: str | None = None,
    *,
    strata: str | None = None,
    start: str | None = None,
    rho: float = 0.0,
    gamma: float = 0.0,
    timefix: bool = True,
) -> TestResult:
    """Log-rank test (or a Fleming–Harrington G(rho, gamma) test) of k >= 2 groups.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject (or per ``(start, time]`` interval with `start`). Or an R
        formula given first, ``rc.logrank("Surv(time, event) ~ group + strata(s)",
        data)``, which replaces `time`, `event`, `by`, `strata` and `start`.
    time : str
        Column of follow-up times (>= 0).
    event : str
        Column of event indicators: 1 (or True) = event, 0 = censored.
    by : str
        Column whose values define the groups compared, in sorted order (a categorical
        column keeps its category order), as R's ``survdiff(... ~ group)``.
    strata : str, optional
        Column of strata: the test statistic is the stratified one (risk sets, expected
        counts and variances computed within each stratum, then summed), as
        ``survdiff(... ~ group + strata(s))``.
    start : str, optional
        Column of interval start (delayed entry) times: a row is at risk at t iff
        ``start < t <= time``, as R's ``Surv(start, time, event)`` (``entry`` before
        0.2.0).
    rho : float
        Fleming–Harrington rho >= 0: each event time is weighted by S(t−)^rho, where S
        is the pooled Kaplan–Meier curve (within the stratum) just before t. ``rho=0``
        (with ``gamma=0``) is the log-rank test, ``rho=1`` the Peto–Peto modification
        of the Gehan–Wilcoxon test, both as R's ``survdiff(rho=)``.
    gamma : float
        Fleming–Harrington gamma >= 0: an extra weight factor (1 − S(t−))^gamma, which
        stresses late differences (not in R's ``survdiff``; R's case is ``gamma=0``).
    timefix : bool
        Treat times that differ by less than sqrt(machine epsilon) (absolute, or
        relative to the mean of the distinct times) as tied, as R's ``survdiff`` does by
        default (``aeqSurv``). No effect on whole-number times.

    Returns
    -------
    TestResult
        ``statistic`` (chi-square), ``df``, ``p_value``, ``name`` (``"Log-rank"`` or
        ``"Fleming–Harrington G(rho,gamma)"`` with the numbers filled in), and
        ``table`` with one row per group: ``group, n, observed, expected, o_minus_e,
        variance, events``. ``observed`` and ``expected`` are summed over strata (and
        weighted when rho or gamma is not 0, as R prints them); ``variance`` is the
        diagonal of the variance matrix of O − E; ``events`` is the unweighted number
        of events. ``meta["var"]`` holds the full k × k variance matrix (a numpy
        array, rows and columns in table order); ``meta["by_stratum"]`` the per-stratum
        ``n``, ``observed`` and ``expected`` (as R's ``fit$obs``/``fit$exp`` matrices).

    Raises
    ------
    ValueError
        For a missing column, non-numeric or negative times, event values other than
        0/1, missing groups or strata, ``entry >= time``, fewer than two groups, or
        weights that are not finite and >= 0. Messages name the column and rows.

    Notes
    -----
    Conventions follow R's ``survdiff`` (survival 3.5):

    * At each distinct event time t (within a stratum) with n_g at risk and d_g events
      in group g (n, d in total) and weight w(t), O_g = sum w d_g,
      E_g = sum w d n_g / n and
      Var(O − E)_gh = sum w² d (n − d) / (n − 1) · (n_g / n)(δ_gh − n_h / n)
      (hypergeometric; no variance term when n = 1).
    * The weight is w = S(t−)^rho (1 − S(t−))^gamma with S the Kaplan–Meier curve of
      the pooled data in the stratum, left-continuous (the value just before t). R's
      ``survdiff(rho=1)`` reports the *weighted* observed and expected counts; so do we.
    * Groups with expected > 0 enter the statistic: the first of them is dropped and
      chi² = (O − E)' V⁻¹ (O − E) over the others; df = (number of groups with
      expected > 0) − 1. A group with no events still counts and gives a finite
      statistic. If fewer than two groups have expected > 0 (no events at all), the
      statistic is 0 and the p-value NaN (R's ``pchisq(0, df <= 0)``).
    * Should the variance matrix be singular (groups never at risk together), a
      Moore–Penrose inverse is used (R stops with an error); O − E always lies in the
      range of V, so this is the generalised-inverse statistic. ``meta["singular"]``
      says when that happened.
    * p = ``scipy.stats.chi2.sf(chi2, df)``.
    * Left truncation (not offered by R's ``survdiff``, which accepts right-censored
      data only): the risk set at t is {entry < t <= time}, as R's ``survfit`` and
      ``coxph`` for ``Surv(entry, time, event)``; the weights use the left-truncated
      pooled Kaplan–Meier curve. Without tied event times this statistic equals the
      score test of ``coxph(Surv(entry, time, event) ~ group)``.

    lifelines (``multivariate_logrank_test``, ``weightings="fleming-harrington"``) and
    statsmodels (``survdiff``, ``weight_type="fh"``) use the same S(t−) weights and give
    the same statistics, except that neither merges near-equal times as R's
    ``timefix`` does (on continuous data with near-ties the last digits differ; pass
    ``timefix=False`` to match them).

    References
    ----------
    .. [1] Mantel N. Evaluation of survival data and two new rank order statistics
           arising in its consideration. Cancer Chemother Rep. 1966;50:163-170.
    .. [2] Peto R, Peto J. Asymptotically efficient rank invariant test procedures.
           J R Stat Soc Ser A. 1972;135:185-207.
    .. [3] Harrington DP, Fleming TR. A class of rank test procedures for censored
           survival data. Biometrika. 1982;69:553-566.
    .. [4] Therneau TM. A Package for Survival Analysis in R. R package survival.

    Examples
    --------
    >>> import pandas as pd
    >>> from rwe_cart.survival.logrank import logrank
    >>> df = pd.DataFrame({"time": [1, 2, 3, 4, 5, 6], "event": [1, 1, 1, 0, 1, 1],
    ...                    "arm": ["a", "b", "a", "b", "a", "b"]})
    >>> res = logrank(df, "time", "event", "arm")
    >>> round(res.statistic, 4), res.df
    (1.2222, 1)
    >>> res.table[["group", "n", "observed", "expected"]]
      group  n  observed  expected
    0     a  3       3.0       1.9
    1     b  3       2.0       3.1
    """
    data, parsed = _formula.split_call(data, time, "logrank")
    if parsed is not None:
        data, a = _formula.curve_arguments(
            parsed, data, {"event": event, "by": by, "strata": strata, "start": start},
            "logrank", strata=True)
        if a["group"] is None:
            raise ValueError(f"logrank compares groups: formula {parsed.text!r} names none")
        return logrank(data, a["time"], a["status"], a["group"], strata=a["strata"],
                       start=a["entry"], rho=rho, gamma=gamma, timefix=timefix)
    _formula.require("logrank", time=time, event=event, by=by)
    V.check_frame(data, [("time", time), ("event", event), ("by", by),
                         ("strata", strata), ("start", start)])
    if strata is not None and strata == by:
        raise ValueError(f"column {by!r} is given both as by and as strata")
    rho = _check_weight("rho", rho)
    gamma = _check_weight("gamma", gamma)
    t, _, tmax = V.time_array(data, time)
    d = V.event_array(data, event)
    e = None
    emin = 0.0
    if start is not None:
        e, emin, _ = V.time_array(data, start, what="start times", allow_negative=True)
        V.check_entry_before_time(data, start, e, time, t)
    codes, levels = V.group_codes(data, by)
    if len(levels) < 2:
        raise ValueError(
            f"column {by!r} has a single group ({levels[0]!r}) in all {len(data)} rows; "
            "the log-rank test compares at least 2 groups"
        )
    s_codes, s_levels = (None, None) if strata is None else V.group_codes(data, strata)
    n_strata = 1 if s_codes is None else len(s_levels)
    # Whole numbers below 2**26 can never be merged by aeqSurv (gap 1 > tol * mean).
    need_fix = timefix and not (
        t.dtype.kind in "iu" and (e is None or e.dtype.kind in "iu")
        and tmax < 2**26 and emin > -(2**26))

    obs, exp, var, n, events = _logrank_arrays(
        t, d, codes, len(levels), s_codes, n_strata, e, rho, gamma, need_fix)
    O, E, Vm = obs.sum(0), exp.sum(0), var
    statistic, df, singular = _chisq(O, E, Vm)
    p_value = float(chi2.sf(statistic, df)) if df >= 1 else math.nan

    group_col = (pd.Categorical(levels, dtype=levels.dtype)
                 if isinstance(levels, pd.CategoricalIndex) else np.asarray(levels))
    table = pd.DataFrame({
        "group": group_col,
        "n": n.sum(0).astype(np.int64),
        "observed": O,
        "expected": E,
        "o_minus_e": O - E,
        "variance": np.diag(Vm).copy(),
        "events": events.sum(0).astype(np.int64),
    })
    weighted = rho != 0 or gamma != 0
    name = f"Fleming–Harrington G({rho:g},{gamma:g})" if weighted else "Log-rank"
    by_stratum = None
    if s_codes is not None:
        by_stratum = pd.DataFrame({
            "stratum": np.repeat(np.asarray(s_levels), len(levels)),
            "group": np.tile(np.asarray(levels), n_strata),
            "n": n.ravel().astype(np.int64),
            "observed": obs.ravel(),
            "expected": exp.ravel(),
        })
    meta = {
        "var": Vm,
        "groups": list(levels),
        "time": time, "event": event, "group": by, "strata": strata, "start": start,
        "rho": rho, "gamma": gamma, "timefix": bool(timefix),
        "n_strata": n_strata, "by_stratum": by_stratum, "singular": singular,
        "definition": data.attrs.get("definition"),
    }
    return TestResult(name=name, statistic=float(statistic), df=int(df), p_value=p_value,
                      table=table, meta=meta)


def _check_weight(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number >= 0, got {value!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def _chisq(O: np.ndarray, E: np.ndarray, Vm: np.ndarray) -> tuple[float, int, bool]:
    """R survdiff's statistic: drop groups with E = 0, then the first; (O-E)' V^-1 (O-E)."""
    keep = np.flatnonzero(E > 0)
    df = max(keep.size - 1, 0)
    if keep.size < 2:
        return 0.0, df, False
    idx = keep[1:]
    x = (O - E)[idx]
    vv = Vm[np.ix_(idx, idx)]
    try:
        return float(x @ np.linalg.solve(vv, x)), df, False
    except np.linalg.LinAlgError:
        return float(x @ (np.linalg.pinv(vv) @ x)), df, True


# ---------------------------------------------------------------------------------------
# Array core (trusts its inputs)
# ---------------------------------------------------------------------------------------
def _logrank_arrays(t, d, codes, n_groups, s_codes, n_strata, e, rho, gamma, timefix):
    """Per-stratum weighted observed and expected counts (n_strata × G), the summed
    variance matrix (G × G), cell sizes and unweighted event counts (n_strata × G)."""
    t = t.astype(np.float64, copy=False)
    if t.min() == 0:
        t = t + 0.0                        # -0.0 → +0.0 (the bit patterns are sorted)
    if e is not None:
        e = e.astype(np.float64, copy=False) + 0.0
    n_cells = n_groups * n_strata
    cell = codes if s_codes is None else s_codes * n_groups + codes
    ne = np.bincount(2 * cell + d, minlength=2 * n_cells).reshape(n_strata, n_groups, 2)
    n = ne.sum(axis=2)
    events = ne[:, :, 1]

    obs = np.zeros((n_strata, n_groups))
    exp = np.zeros((n_strata, n_groups))
    var = np.zeros((n_groups, n_groups))

    def add(s, risk, dead):
        nonlocal var
        if dead.shape[1]:
            obs[s], exp[s], v = _accumulate(risk, dead, rho, gamma)
            var = var + v

    binned = _whole_bins(t, e, n_cells, cell.size)
    if binned is not None:  # whole-number times in a modest range: linear counting
        for s, (risk, dead) in enumerate(_counts_bins(*binned, d, cell, n_strata, n_groups)):
            add(s, risk, dead)
        return obs, exp, var, n, events

    shift = _pack_shift(t, e, n_groups)
    fix_in_sort = timefix and shift is not None and n_strata == 1 and e is None
    if timefix and not fix_in_sort:
        t, e = merge_near_ties(t, e)
    if n_strata == 1:
        parts = [(t, d, codes, e)]
    else:
        order = np.argsort(s_codes.astype(small_uint(n_strata), copy=False), kind="stable")
        bounds = np.concatenate(([0], np.cumsum(n.sum(axis=1))))
        tc, dc, gc = t.take(order), d.take(order), codes.take(order)
        ec = None if e is None else e.take(order)
        del order
        parts = [(tc[a:b], dc[a:b], gc[a:b], None if ec is None else ec[a:b])
                 for a, b in zip(bounds[:-1], bounds[1:])]
    for s, (ts, ds, gs, es) in enumerate(parts):
        if shift is not None:
            add(s, *_counts_packed(ts, ds, gs, n_groups, es, shift, fix_in_sort))
        else:
            add(s, *_counts_search(ts, ds, gs, n_groups, es))
    return obs, exp, var, n, events


def _accumulate(risk, dead, rho, gamma):
    """O, E (length G) and Var(O − E) (G × G) from the numbers at risk and of events at
    the K distinct event times of one stratum (G × K float arrays), as survdiff2.c."""
    n_tot = risk.sum(axis=0)
    d_tot = dead.sum(axis=0)
    if rho != 0 or gamma != 0:
        km = np.cumprod(1.0 - d_tot / n_tot)
        s_minus = np.concatenate(([1.0], km[:-1]))       # pooled KM just before t
        w = s_minus**rho * (1.0 - s_minus) ** gamma
        obs = dead @ w
        e_t = w * d_tot / n_tot
    else:
        w = None
        obs = dead.sum(axis=1)
        e_t = d_tot / n_tot
    exp = risk @ e_t
    n1 = n_tot - 1.0
    n1[n1 <= 0] = np.inf                  # n = 1: no variance term (as R)
    c_t = d_tot * (n_tot - d_tot) / (n_tot * n1)
    if w is not None:
        c_t *= w * w
    var = np.diag(risk @ c_t) - (risk * (c_t / n_tot)) @ risk.T
    return obs, exp, var


# -- counting, path 0: whole-number times, np.bincount ---------------------------------
_BIN_MAX_TIME = 1 << 26   # whole numbers below this are exact and never merged by aeqSurv
_BIN_SLACK = 4096         # use bins when cells × (max time + 1) <= n + this


def _whole_bins(t, e, n_cells, n):
    """(times, entries, width) as integer arrays when every time (and entry) is a whole
    number and the (cell, time) table is no larger than about n; else None."""
    tmax = float(t.max())
    if not (tmax < _BIN_MAX_TIME and n_cells * (tmax + 1) <= n + _BIN_SLACK):
        return None
    head = t[:256]
    if t.dtype.kind == "f" and not np.array_equal(np.floor(head), head):
        return None                  # cheap early exit for continuous times
    ti = t.astype(np.intp)
    if not np.array_equal(ti, t):
        return None
    ei = None
    if e is not None:
        emin = float(e.min())
        if not emin > -_BIN_MAX_TIME:
            return None
        ei = e.astype(np.intp)
        if not np.array_equal(ei, e):
            return None
        np.maximum(ei, -1, out=ei)   # entries before 0 all act alike
    return ti, ei, int(tmax) + 1


def _counts_bins(ti, ei, width, d, cell, n_strata, n_groups):
    """Per stratum (risk, dead), G × K at its K event times, from a bincount of
    (cell, time, event) keys: linear in n."""
    n_cells = n_strata * n_groups
    key = (cell * width + ti) * 2 + d
    tab = np.bincount(key, minlength=n_cells * width * 2).reshape(n_strata, n_groups, width, 2)
    dead_all = tab[..., 1]
    ge = np.cumsum((tab[..., 0] + dead_all)[..., ::-1], axis=-1)[..., ::-1]  # time >= t
    if ei is not None:
        etab = np.bincount(cell * (width + 1) + (ei + 1), minlength=n_cells * (width + 1))
        etab = etab.reshape(n_strata, n_groups, width + 1)
        entered_ge = np.cumsum(etab[..., ::-1], axis=-1)[..., ::-1]   # [.., t + 1]: entry >= t
        ge = ge - entered_ge[..., 1:]
    out = []
    for s in range(n_strata):
        idx = np.flatnonzero(dead_all[s].sum(axis=0))
        out.append((ge[s][:, idx].astype(np.float64), dead_all[s][:, idx].astype(np.float64)))
    return out


# -- counting, path 1: one sort of packed keys -----------------------------------------
_NORMAL_MIN_EXP = -1021   # frexp exponent of the smallest normal double (2**-1022)


def _pack_shift(t, e, n_groups):
    """(low bits, scale exponent) for packing (time, group, type) into one uint64 key,
    or None when the times' dynamic range does not leave room for the low bits.

    A non-negative double's bit pattern orders as its value. Scaling every time by the
    same power of two is exact (while the results stay normal) and, when the largest is
    below 2**(2**(12 - F) - 1023), clears the top F bits, so ``bits << F | low`` sorts by
    time first. F = group bits + 1 (event/censor) or + 2 (with entry records)."""
    type_bits = 1 if e is None else 2
    low = type_bits + max(1, (n_groups - 1).bit_length())
    if low > 10:
        return None
    e_pos = None if e is None else e[e >= 0]
    hi = float(t.max()) if e_pos is None or e_pos.size == 0 else max(float(t.max()),
                                                                      float(e_pos.max()))
    lo = float(np.min(t, where=t > 0, initial=np.inf))
    if e_pos is not None and e_pos.size:
        lo = min(lo, float(np.min(e_pos, where=e_pos > 0, initial=np.inf)))
    if hi == 0:
        return low, 0
    top = 2 ** (12 - low) - 1023          # scaled values must be < 2**top
    k = int(np.frexp(hi)[1]) - top        # hi < 2**frexp_exp
    if np.isfinite(lo) and int(np.frexp(lo)[1]) - k < _NORMAL_MIN_EXP:
        return None                       # the smallest time would lose precision
    return low, k


def _scaled_keys(x, k, low):
    """uint64 keys: bits of x · 2**-k (exact: a power of two, results stay normal),
    shifted left by `low` bits."""
    if k == 0:
        y = x.copy()
    elif -1022 <= -k <= 1023:
        y = x * (2.0 ** -k)
    else:
        y = np.ldexp(x, -k)
    key = y.view(np.uint64)
    key <<= np.uint64(low)
    return key


def _counts_packed(t, d, g, n_groups, e, shift, fix):
    """Numbers at risk and of events (G × K) at the K distinct event times, from one
    ``np.sort`` of uint64 keys ``scaled time bits | type | group``.

    type: 0 event, 1 censored, 2 entry. Counting uses the boundaries of runs of equal
    times, so the order of records within a run does not matter. With `fix`, runs whose
    times are closer than R's aeqSurv tolerance are merged here (one stratum, no
    entries; otherwise :func:`_aeq_rows` has merged the rows before)."""
    low, k = shift
    gbits = low - (1 if e is None else 2)
    key = _scaled_keys(t, k, low)
    lo = d ^ 1
    lo <<= gbits
    lo |= g
    key |= lo.view(np.uint64)
    del lo
    if e is not None:
        keep = np.flatnonzero(e >= 0)      # entries before 0 never leave a risk set
        ek = _scaled_keys(e.take(keep) + 0.0, k, low)   # -0.0 → +0.0
        ek |= (g.take(keep) | (2 << gbits)).view(np.uint64)
        key = np.concatenate((key, ek))
    key.sort()
    m = key.size
    tb = key >> np.uint64(low)
    new = np.empty(m, dtype=bool)
    new[0] = True
    np.not_equal(tb[1:], tb[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    if fix and starts.size > 1:
        y = tb.take(starts).view(np.float64)   # scaled distinct times
        dy = np.diff(y)
        tied = (dy <= np.ldexp(TOL, -k)) | (dy / np.mean(y) <= TOL)
        if tied.any():
            new[starts[1:][tied]] = False
            starts = np.flatnonzero(new)
    del tb
    lowk = (key & np.uint64((1 << low) - 1)).view(np.int64)
    del key
    ev_idx = np.flatnonzero(lowk < (1 << gbits))        # type 0: events
    if ev_idx.size == 0:
        return np.zeros((n_groups, 0)), np.zeros((n_groups, 0))
    run = np.cumsum(new, dtype=np.int64)   # run (distinct time) number, from 1
    erun = run.take(ev_idx)
    del run
    enew = np.empty(erun.size, dtype=bool)
    enew[0] = True
    np.not_equal(erun[1:], erun[:-1], out=enew[1:])
    est = np.flatnonzero(enew)             # first event record of each event time
    pos = starts.take(erun.take(est) - 1)  # first record of its run
    n_ev_times = est.size
    dead = np.empty((n_groups, n_ev_times))
    risk = np.empty((n_groups, n_ev_times))
    d_rest = np.diff(est, append=ev_idx.size).astype(np.float64)
    if e is None:
        r_rest = (m - pos).astype(np.float64)   # records at or after t: time >= t
    else:
        sgn = 1 - 2 * (lowk >> gbits == 2)      # stop +1, entry −1
        c = np.cumsum(sgn)
        r_rest = ((c[-1] - c.take(pos)) + sgn.take(pos)).astype(np.float64)
    if n_groups > 1:
        grp = lowk & ((1 << gbits) - 1)
        ev_grp = grp.take(ev_idx)
        for j in range(1, n_groups):       # group 0 by subtraction from the totals
            x = grp if n_groups == 2 else (grp == j).astype(np.int64)
            dead[j] = np.add.reduceat(ev_grp if n_groups == 2 else x.take(ev_idx), est)
            if e is not None:
                x = x * sgn
            c = np.cumsum(x)
            risk[j] = (c[-1] - c.take(pos)) + x.take(pos)
            d_rest -= dead[j]
            r_rest -= risk[j]
    dead[0] = d_rest
    risk[0] = r_rest
    return risk, dead


# -- counting, path 2: sorted cells and searchsorted ----------------------------------
def _counts_search(t, d, g, n_groups, e):
    """As :func:`_counts_packed`, from each group's sorted times and ``np.searchsorted``
    (any range of times; slower). Times must already be merged (timefix)."""
    order = np.argsort(g.astype(small_uint(n_groups), copy=False), kind="stable")
    sizes = np.bincount(g, minlength=n_groups)
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    tc, dc = t[order], d[order].astype(bool)
    ec = None if e is None else e[order]
    stop, evt, ent = [], [], []
    for a, b in zip(bounds[:-1], bounds[1:]):
        x = tc[a:b]
        stop.append(np.sort(x))
        evt.append(np.sort(x[dc[a:b]]))
        ent.append(None if ec is None else np.sort(ec[a:b]))
    u = np.unique(np.concatenate(evt))     # distinct event times
    risk = np.empty((n_groups, u.size))
    dead = np.empty((n_groups, u.size))
    for j in range(n_groups):
        # every event time is in u, so differences of #{event time <= u} count ties
        dead[j] = np.diff(np.searchsorted(evt[j], u, side="right"), prepend=0)
        ge = stop[j].size - np.searchsorted(stop[j], u, side="left")          # time >= u
        if ent[j] is not None:
            ge -= ent[j].size - np.searchsorted(ent[j], u, side="left")       # entry >= u
        risk[j] = ge
    return risk, dead
