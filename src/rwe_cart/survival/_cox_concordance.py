"""Harrell's C of a Cox model's linear predictor with R's standard error
(``concordancefit`` with ``reverse = TRUE``, ``timewt = "n"``), in O(n log m) without a
Python loop over rows.
"""
from __future__ import annotations

import numpy as np

from ._cox_likelihood import dot

__all__ = ["concordance"]


def concordance(stop: np.ndarray, start: np.ndarray | None, event: np.ndarray,
                w: np.ndarray, strata: np.ndarray | None, lp: np.ndarray,
                cluster: np.ndarray | None = None) -> tuple[float, float, np.ndarray]:
    """Harrell's C of the linear predictor and R's standard error.

    Pairs: an event at t against every row at risk at t (start < t <= stop, same
    stratum) that is not itself an event at t; a row censored at t counts as surviving
    longer. Pair weight w_event * w_other. Ties on `lp` count 1/2; ties on time are
    excluded. The variance is R's (``concordancefit``): the sum of squared per-row (or
    per-cluster) influence values ``((I_conc - I_disc) - (I_conc + I_disc + I_tied) *
    somers_d) * w / (2 * npair)``.

    Returns ``(C, se, counts)`` with counts = concordant, discordant, tied_x, tied_y,
    tied_xy (weighted, as R's ``fit$concordance``). Rows sorted by stop time sort
    fastest (the fitted model passes them so).

    Algorithm (O(n log m) for m distinct values of `lp`, no Python loop over rows):
    one sort puts every row on a reverse-time "timeline" (it enters the comparison set
    at its stop time, an event row queries the set there, and in counting-process data
    it leaves at its start time). For every event we need the weight of comparators with
    a smaller `lp`, and for every comparator the weight of the events it meets that have
    a smaller `lp`. Both are dominance counts, done wavelet-style: for each bit of the
    rank of `lp`, from the top, a cumulative sum within each group of equal higher bits
    gives the contributions of pairs that first differ at that bit, and a stable
    partition on the bit (keeping time order) forms the next groups. Totals and ties
    come from the same cumulative sums at the first and last level. Events tied on
    time are placed next to each other in `lp` order and the pairs among them removed
    afterwards.
    """
    n = stop.size
    # work on the rows in reverse order: the timeline (reverse time) then sorts fast
    stop = stop[::-1]
    start = None if start is None else start[::-1]
    ev = event[::-1].astype(bool)
    w = np.asarray(w[::-1], dtype=np.float64)
    # one stratum: a read-only broadcast zero, no memory
    g = (np.broadcast_to(np.int64(0), (n,)) if strata is None
         else strata[::-1].astype(np.int64))
    xr = np.unique(lp[::-1], return_inverse=True)[1].astype(np.int64).reshape(-1)
    bx = max(1, int(xr.max()).bit_length())

    u = np.unique(stop)
    U = int(u.size)
    bt = (U + 1).bit_length()
    bg = max(1, int(g.max()).bit_length())
    tr_stop = U - np.searchsorted(u, stop, side="right")  # 0 = latest time
    cls = np.where(ev, 2, 0)
    counting = start is not None
    if counting:
        tr_start = U - np.searchsorted(u, start, side="right")
    del u
    if bg + bt + 2 + bx <= 62:
        key = (((g << bt | tr_stop) << 2 | cls) << bx) | xr
        if counting:
            krem = ((g << bt | tr_start) << 2 | 1) << bx
            key = np.concatenate((key, krem))
        perm = np.argsort(key, kind="stable")
        del key
    else:  # pragma: no cover - more than ~2^60 combinations
        if counting:
            perm = np.lexsort((np.concatenate((xr, np.zeros(n, np.int64))),
                               np.concatenate((cls, np.ones(n, np.int64))),
                               np.concatenate((tr_stop, tr_start)),
                               np.concatenate((g, g))))
        else:
            perm = np.lexsort((xr, cls, tr_stop, g))
    del cls
    item_row = perm % n if counting else perm
    is_rem = perm >= n if counting else np.zeros(perm.size, dtype=bool)
    del perm
    wi = w[item_row]
    isd = ev[item_row] & ~is_rem
    # a row that never leaves before the last event of its stratum needs no REM item:
    # it meets every later event of the group (flag 1: "until the group end")
    if counting:
        big = np.iinfo(np.int64).max
        first_ev = np.full(int(g.max()) + 1, big, dtype=np.int64)  # reverse-time rank
        np.minimum.at(first_ev, g[ev], -tr_stop[ev])
        # REM at start s is followed by events at times <= s: tr_stop >= tr_start
        leaves = -first_ev[g] >= tr_start  # some event at or before the start time
        leaves_i = leaves[item_row]
        keep = ~is_rem | leaves_i
        if not keep.all():
            item_row, is_rem, wi, isd = item_row[keep], is_rem[keep], wi[keep], isd[keep]
            leaves_i = leaves_i[keep]
        flag = ~is_rem & ~leaves_i
    else:
        flag = np.ones(item_row.size, dtype=bool)
    # exact integer arithmetic when the weights are whole numbers (half the memory)
    intw = bool(np.all(w == np.floor(w))) and float(w.sum()) < 2.0**30
    fdt = np.int32 if intw else np.float64
    wi = wi.astype(fdt)
    cfl = np.where(is_rem, -wi, wi)           # comparator flow (REM leaves the set)
    qfl = np.where(isd, wi, 0).astype(fdt)    # query flow (event rows)
    N = item_row.size
    kdt = np.int32 if bg + bx + 1 <= 31 and N < 2**31 else np.int64
    kx = ((((g[item_row] << bx) | xr[item_row]) << 1) | flag).astype(kdt)
    item_row = item_row.astype(kdt)
    del is_rem, wi, flag
    ar = np.arange(N, dtype=kdt)

    def bounds(grp):
        """First and last position of each item's group (groups are contiguous)."""
        brk = np.empty(N, dtype=bool)
        brk[0] = True
        np.not_equal(grp[1:], grp[:-1], out=brk[1:])
        st_of = np.maximum.accumulate(np.where(brk, ar, 0))
        last = np.empty(N, dtype=bool)
        last[-1] = True
        last[:-1] = brk[1:]
        en_of = np.minimum.accumulate(np.where(last, ar, N)[::-1])[::-1]
        return st_of, en_of

    def level_sums(cf, qf, st_of, en_of, rem, flg):
        """Query role: comparator flow before the item in its group; comparator role:
        event flow after it (until its REM item, or the group end)."""
        C = np.cumsum(cf, dtype=fdt)
        C -= cf
        vq = C - C[st_of]
        Q = np.cumsum(qf, dtype=fdt)
        if not counting:  # every row stays until the group end
            return vq, Q[en_of] - Q  # inclusive: an event row is not its own partner
        vc = -Q
        np.copyto(vc, Q, where=rem)  # +Q where the row leaves
        vc += np.where(flg, Q[en_of], 0)
        return vq, vc

    # totals over the stratum (initial order: no permutation needed)
    st_of, en_of = bounds(kx >> (bx + 1))
    Td, Tc = level_sums(cfl, qfl, st_of, en_of, cfl < 0, (kx & 1) == 1)
    Rd = np.bincount(item_row, weights=np.where(isd, Td, 0), minlength=n)
    Rc = np.bincount(item_row, weights=Tc, minlength=n)
    del Td, Tc

    def level(lev, live, spare):
        """Add the pairs that first differ at bit `lev` to acc (in `live`), then
        partition `live` stably on that bit within each group, into `spare`."""
        kx, cfl, qfl, item_row, acc = live
        bitk = (kx >> (lev + 1)) & 1
        nbk = 1 - bitk
        b1 = bitk if fdt is kdt else bitk.astype(fdt)
        nb = nbk if fdt is kdt else nbk.astype(fdt)
        st_of, en_of = bounds(kx >> (lev + 2))
        vq, vc = level_sums(cfl * nb, qfl * nb, st_of, en_of,
                            cfl < 0 if counting else None, (kx & 1) == 1)
        # bit-1 items only: comparators meet bit-0 events; events meet bit-0 comparators
        vq *= qfl > 0
        vc -= vq
        vc *= b1
        acc += vc
        # stable partition on the bit within each group
        Z = np.cumsum(nbk, dtype=kdt)
        zb = Z[st_of] - nbk[st_of]
        n0 = Z[en_of] - zb
        newpos = np.where(nbk.astype(bool), Z - 1 - zb + st_of, n0 + ar - Z + zb)
        for src, dst in zip(live, spare):
            dst[newpos] = src

    acc = np.zeros(N, dtype=fdt)  # per item: Pc - Pq (comparator minus query "smaller")
    live = [kx, cfl, qfl, item_row, acc]
    spare = [np.empty_like(x) for x in live]  # double buffers for the partitions
    del kx, cfl, qfl, item_row, acc
    for lev in range(bx - 1, -1, -1):
        level(lev, live, spare)
        live, spare = spare, live
    del spare
    kx, cfl, qfl, item_row, acc = live
    del live
    st_of, en_of = bounds(kx >> 1)
    isd = qfl > 0
    tied_d, tied_c = level_sums(cfl, qfl, st_of, en_of, cfl < 0, (kx & 1) == 1)
    Rtd = np.bincount(item_row, weights=np.where(isd, tied_d, 0), minlength=n)
    Rtc = np.bincount(item_row, weights=tied_c, minlength=n)
    Racc = np.bincount(item_row, weights=acc, minlength=n)  # Pc - Pq
    del kx, cfl, qfl, item_row, acc, st_of, en_of, tied_d, tied_c, isd, ar

    # remove pairs among events tied on (stratum, time): they sit together, lp ascending
    ty = txy = 0.0
    e_rows = np.flatnonzero(ev)
    if e_rows.size:
        eo = np.lexsort((xr[e_rows], tr_stop[e_rows], g[e_rows]))
        er = e_rows[eo]
        ew = w[er]
        b_new = np.empty(er.size, dtype=bool)
        b_new[0] = True
        b_new[1:] = (g[er][1:] != g[er][:-1]) | (tr_stop[er][1:] != tr_stop[er][:-1])
        x_new = b_new.copy()
        x_new[1:] |= xr[er][1:] != xr[er][:-1]
        cw = np.cumsum(ew)
        cex = cw - ew

        def within(flags):
            starts = np.flatnonzero(flags)
            sizes = np.diff(np.append(starts, er.size))
            st = np.repeat(starts, sizes)
            en = st + np.repeat(sizes - 1, sizes)
            tot = np.add.reduceat(ew, starts)
            sq = np.add.reduceat(ew * ew, starts)
            pairs = float(((tot * tot - sq) / 2.0).sum())
            return cex - cex[st], cw[en] - cw, pairs   # before / after in the block

        b_before, b_after, ty = within(b_new)
        x_before, x_after, txy = within(x_new)
        Rd[er] -= b_before
        Rtd[er] -= x_before
        Rc[er] -= b_after
        Rtc[er] -= x_after
        Racc[er] += b_before - x_before      # earlier in the block with a smaller lp
        del eo, er, ew, cw, cex, b_before, b_after, x_before, x_after
    del e_rows, xr, tr_stop, g

    wev = np.where(ev, w, 0.0)
    npair = dot(wev, Rd)
    c_tied = dot(wev, Rtd)
    del wev
    # sum_w (Pc - Pq) = pairs where the event's partner has a larger lp minus smaller
    sdiff = dot(w, Racc)
    c_conc_raw = (npair - c_tied + sdiff) / 2.0  # the event's partner has a larger lp
    c_disc_raw = (npair - c_tied - sdiff) / 2.0  # ... a smaller lp
    # reverse=TRUE: a higher risk score should go with a shorter time
    counts = np.array([c_disc_raw, c_conc_raw, c_tied, ty - txy, txy])
    if npair <= 0:
        return float("nan"), float("nan"), counts
    somer = (c_conc_raw - c_disc_raw) / npair
    # dfb = (diff - total * somer) * w / (2 npair) with diff = (Rd - Rtd) - (Rc - Rtc)
    # + 2 Racc (I_conc - I_disc, raw orientation) and total = Rd + Rc (I_conc + I_disc
    # + I_tied); the same operations, in place
    total = Rd + Rc
    dfb = np.subtract(Rd, Rtd, out=Rd)
    dfb -= np.subtract(Rc, Rtc, out=Rc)
    Racc *= 2.0
    dfb += Racc
    total *= somer
    dfb -= total
    dfb *= w
    dfb /= 2.0 * npair
    if cluster is not None:
        dfb = np.bincount(cluster[::-1], weights=dfb)
    return 1.0 - (somer + 1.0) / 2.0, float(np.sqrt(dot(dfb, dfb))), counts
