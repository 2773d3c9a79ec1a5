"""Time-varying shaping: counting-process rows (R's tmerge) and landmark frames."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["landmark_frame", "split_timeline"]



def _check_columns(data: pd.DataFrame, columns: list[str]) -> None:
    absent = [c for c in columns if c not in data]
    if absent:
        raise ValueError(f"columns not in the data: {absent}; it has {list(data.columns)}")


def split_timeline(data: pd.DataFrame, *, id: str, time: str, event: str,
                   exposures: Mapping[str, str], start: str | None = None) -> pd.DataFrame:
    """Split each subject's follow-up at the exposure times, as R's ``tmerge(tdc())``.

    Parameters
    ----------
    data : DataFrame
        One row per subject.
    id, time, event : str
        Subject identifier, end of follow-up, and 0/1 (or cause code) at ``time``.
    exposures : mapping
        New column name -> column holding the time the exposure switches on (NaN: never).
    start : str, optional
        Column with the start of follow-up (delayed entry); 0 when omitted.

    Returns
    -------
    DataFrame
        One row per (subject, interval): the other columns of ``data``, ``start``, ``stop``,
        ``event`` (non-zero only on the last interval) and a 0/1 column per exposure.

    Notes
    -----
    Intervals are ``(start, stop]``. An exposure at time ``x`` is 1 on intervals starting at
    or after ``x``, so an event at ``x`` itself counts as unexposed, as in ``tmerge``. An
    exposure at or before the start of follow-up is on throughout; one at or after ``time``
    never switches on.

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> df = pd.DataFrame({"id": [1, 2, 3], "time": [10.0, 8.0, 5.0], "event": [1, 0, 1],
    ...                    "t_hsct": [4.0, None, 5.0]})
    >>> rc.split_timeline(df, id="id", time="time", event="event", exposures={"hsct": "t_hsct"})
       id  event  t_hsct  start  stop  hsct
    0   1      0     4.0    0.0   4.0     0
    1   1      1     4.0    4.0  10.0     1
    2   2      0     NaN    0.0   8.0     0
    3   3      1     5.0    0.0   5.0     0
    """
    cols = [id, time, event, *exposures.values()] + ([start] if start else [])
    _check_columns(data, cols)
    n = len(data)
    stop_all = data[time].to_numpy(dtype=float)
    begin = data[start].to_numpy(dtype=float) if start else np.zeros(n)
    bad = ~(stop_all >= begin)
    if bad.any():
        rows = ", ".join(map(str, data.index[bad][:5]))
        raise ValueError(f"column '{time}' must be >= the start of follow-up; rows {rows}")
    ex = np.column_stack([data[c].to_numpy(dtype=float) for c in exposures.values()]) if exposures \
        else np.empty((n, 0))
    inside = (ex > begin[:, None]) & (ex < stop_all[:, None])
    cuts = np.sort(np.where(inside, ex, np.nan), axis=1)
    # Two exposures on the same day give one cut, not an empty interval.
    dup = np.zeros_like(inside)
    dup[:, 1:] = cuts[:, 1:] == cuts[:, :-1]
    cuts = np.sort(np.where(dup, np.nan, cuts), axis=1)
    stops = np.sort(np.column_stack([cuts, stop_all]), axis=1)
    starts = np.column_stack([begin, stops[:, :-1]])
    valid = ~np.isnan(stops)
    row = np.broadcast_to(np.arange(n)[:, None], valid.shape)[valid]
    out = data.iloc[row].drop(columns=[time]).reset_index(drop=True)
    out["start"] = starts[valid]
    out["stop"] = stops[valid]
    last = out["stop"].to_numpy() == stop_all[row]
    ev = data[event].to_numpy()[row]
    out[event] = np.where(last, ev, 0).astype(data[event].dtype if data[event].dtype.kind in "iu" else np.int64)
    for j, name in enumerate(exposures):
        on = ex[row, j] <= out["start"].to_numpy()
        out[name] = on.astype(np.int64)
    return out


def landmark_frame(data: pd.DataFrame, *, time: str, event: str, exposure_time: str,
                   at: float) -> pd.DataFrame:
    """Patients still in follow-up and event-free after the landmark ``at``.

    Keeps rows with ``time > at``; ``time`` is reset to start at the landmark and
    ``exposed = 1`` when ``exposure_time <= at``. ``attrs["n_excluded"]`` counts the rows
    whose event or censoring came on or before the landmark.

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> df = pd.DataFrame({"id": [1, 2, 3, 4], "time": [10.0, 8.0, 5.0, 2.0],
    ...                    "event": [1, 0, 1, 1], "t_hsct": [4.0, None, 5.0, None]})
    >>> lm = rc.landmark_frame(df, time="time", event="event", exposure_time="t_hsct", at=3)
    >>> lm
       id  time  event  t_hsct  exposed
    0   1   7.0      1     4.0        0
    1   2   5.0      0     NaN        0
    2   3   2.0      1     5.0        0
    >>> lm.attrs["n_excluded"]
    1
    """
    _check_columns(data, [time, event, exposure_time])
    t = data[time].to_numpy(dtype=float)
    keep = t > at
    out = data[keep].copy()
    out[time] = t[keep] - at
    out["exposed"] = (out[exposure_time].to_numpy(dtype=float) <= at).astype(np.int64)
    out = out.reset_index(drop=True)
    out.attrs.update(data.attrs)
    out.attrs.update(landmark=at, n_excluded=int((~keep).sum()))
    return out
