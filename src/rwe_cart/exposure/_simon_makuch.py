"""Simon–Makuch curves: Kaplan–Meier by *current* exposure status.

Public: :class:`SimonMakuch`, :func:`simon_makuch_curves` (generic),
:func:`simon_makuch` (cohort).
"""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._deprecate import renamed
from ..survival import validate as V
from ..survival.km import KaplanMeier, kaplan_meier
from ._result import ExposureEstimate
from ._common import count_ids, exposure_array
from .rows import hsct_rows
__all__ = ["SimonMakuch", "simon_makuch_curves", "simon_makuch", "DEFAULT_RISK_TIMES"]

#: Days of the default numbers-at-risk table.
DEFAULT_RISK_TIMES = (0.0, 90.0, 180.0, 270.0, 365.0, 540.0, 730.0)
_NOTE = ("not the survival of a cohort: each curve is the survival of a patient who stays in "
         "that state from the time the curve is read on (patients move from the unexposed "
         "to the exposed curve at exposure); descriptive, unadjusted")


@dataclass(frozen=True, eq=False)
class SimonMakuch:
    """Simon–Makuch curves and their numbers at risk.

    Attributes
    ----------
    km : KaplanMeier
        The curves (R's ``survfit(Surv(start, stop, event) ~ exposure)``); ``group`` is the
        exposure label.
    risk_table : DataFrame
        ``group, time, n_risk, n_event, n_censor, n_switch`` at ``times``: ``n_risk`` in
        each state at t (a row is at risk at t when start < t <= stop; at t = 0 the rows
        starting at 0), cumulative events and censorings in (0, t] (a move to the exposed
        state is a censoring of the unexposed curve, as R), and ``n_switch`` the
        cumulative number who moved from the unexposed to the exposed state by t.
    times : tuple of float
        Times of the risk table.
    exposure : str
        The exposure column.
    labels : dict
        Exposure value (0/1) → group label.
    population, definition, note : str
    meta : dict
        Column names, ``n`` patients, ``n_rows``.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> sm = rc.exposure.simon_makuch(rc.datasets.rocca_like(), "PFS")
    >>> sm.groups
    ('no HSCT (yet)', 'after HSCT')
    >>> sm.at([365])[["group", "time", "survival"]].round(3)
               group   time  survival
    0  no HSCT (yet)  365.0     0.515
    1     after HSCT  365.0     0.793
    """

    km: KaplanMeier
    risk_table: pd.DataFrame
    times: tuple
    exposure: str
    labels: dict
    population: str = ""
    definition: str = ""
    note: str = _NOTE
    meta: dict = field(default_factory=dict)
    _intervals: tuple | None = field(default=None, repr=False)

    @property
    def table(self) -> pd.DataFrame:
        """The curves' table (``KaplanMeier.table``)."""
        return self.km.table

    @property
    def groups(self) -> tuple:
        return self.km.groups

    def median(self) -> pd.DataFrame:
        return self.km.median()

    def at(self, times: float | Sequence[float]) -> pd.DataFrame:
        return self.km.at(times)

    def at_risk(self, times: float | Sequence[float]) -> pd.DataFrame:
        """Numbers at risk in each state at any times (same layout as ``risk_table``)."""
        start, stop, event, x, switch = self._intervals
        return _risk_table(start, stop, event, x, switch, np.atleast_1d(
            np.asarray(times, dtype=float)), self.labels)

    def estimate(self) -> ExposureEstimate:
        """This result as a row for a comparison table (no hazard ratio)."""
        med = self.km.median()
        words = "; ".join(f"median {r.group}: " + ("not reached" if not np.isfinite(r.median)
                                                    else f"{r.median:g}")
                          for r in med.itertuples())
        return ExposureEstimate(
            method="simon_makuch",
            estimand=("Kaplan–Meier by current exposure status (Simon–Makuch), descriptive: "
                      + words),
            population=self.population, hr=np.nan, lower=np.nan, upper=np.nan, p=np.nan,
            n=int(self.meta.get("n", 0)), events=int(self.km.table["n_event"].sum()),
            note=self.note, endpoint=self.definition,
            extra={"simon_makuch": self, "medians": med})

    def _title(self) -> str:
        return f"Simon–Makuch curves by current {self.exposure} status ({self.population})"

    def __repr__(self) -> str:
        body = self.km.median().to_string(index=False, float_format=lambda v: f"{v:.4g}")
        risk = self.risk_table.pivot(index="group", columns="time", values="n_risk")
        return (f"{self._title()}\n{body}\nnumbers at risk:\n{risk.to_string()}\n"
                f"note: {self.note}")

    def _repr_html_(self) -> str:
        risk = self.risk_table.pivot(index="group", columns="time", values="n_risk")
        return (f"<p><b>{html.escape(self._title())}</b></p>"
                + self.km.median().to_html(index=False, float_format="{:.4g}".format,
                                           na_rep="not reached")
                + "<p>Numbers at risk (days)</p>" + risk.to_html()
                + f"<p><i>{html.escape(self.note)}</i></p>")


def _risk_table(start, stop, event, x, switch, times, labels) -> pd.DataFrame:
    """Counts per state at `times` (vectorised over rows × times)."""
    t = times[None, :]
    at_risk = ((start[:, None] < t) & (t <= stop[:, None])) | \
        ((t == 0) & (start[:, None] <= 0) & (stop[:, None] > 0))
    done = stop[:, None] <= t
    frames = []
    for value, label in labels.items():
        g = (x == value)[:, None]
        frames.append(pd.DataFrame({
            "group": label, "time": times,
            "n_risk": (at_risk & g).sum(axis=0),
            "n_event": (done & g & (event == 1)[:, None]).sum(axis=0),
            "n_censor": (done & g & (event == 0)[:, None]).sum(axis=0),
            "n_switch": (done & switch[:, None]).sum(axis=0),
        }))
    out = pd.concat(frames, ignore_index=True)
    for c in ("n_risk", "n_event", "n_censor", "n_switch"):
        out[c] = out[c].astype(np.int64)
    return out


@renamed(stop="time")
def simon_makuch_curves(rows: pd.DataFrame, *, start: str, time: str, event: str,
                        exposure: str, id: str | None = None,
                        times: Sequence[float] = DEFAULT_RISK_TIMES,
                        labels: Mapping[int, str] | None = None, conf_type: str = "log",
                        alpha: float = 0.05) -> SimonMakuch:
    """Kaplan–Meier curves by current (time-dependent) exposure status.

    Parameters
    ----------
    rows : DataFrame
        Counting-process rows ``(start, stop]`` with the exposure constant in each row.
    start, time, event, exposure : str
        Column names; exposure 0/1 (or bool).
    id : str, optional
        Subject id: patients are counted by it, and a subject's row that ends where the
        same subject's exposed row begins counts as a move to the exposed curve.
    times : sequence of float
        Times of the numbers-at-risk table.
    labels : mapping, optional
        Exposure value → curve label (default: the values 0 and 1).
    conf_type, alpha
        As :func:`rwe_cart.kaplan_meier`.

    Returns
    -------
    SimonMakuch

    Notes
    -----
    ``kaplan_meier(rows, stop, event, start=start, by=exposure)``, which reproduces R's
    ``survfit(Surv(start, stop, event) ~ exposure)``: a subject is in the unexposed curve's
    risk set until exposure, then enters the exposed curve's risk set (delayed entry), so
    no immortal time is credited to the exposed. A move shows as a censoring of the
    unexposed curve. The curves are descriptive: a patient who stays unexposed and one who
    is exposed from the start of the exposed curve on (Simon & Makuch 1984); they can be
    misread as cohort survival, which they are not.

    References
    ----------
    .. [1] Simon R, Makuch RW. A non-parametric graphical representation of the
           relationship between survival and the occurrence of an event: application to
           responder versus non-responder bias. Stat Med. 1984;3:35-44.
    .. [2] Mantel N, Byar DP. J Am Stat Assoc. 1974;69:81-86.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> rows = rc.exposure.hsct_rows(rc.datasets.rocca_like(), "PFS")
    >>> sm = rc.simon_makuch_curves(rows, start="start", time="stop", event="event",
    ...                             exposure="hsct", id="patient_id", times=[100, 365])
    >>> sm.risk_table
       group   time  n_risk  n_event  n_censor  n_switch
    0      0  100.0      89       22        32        20
    1      0  365.0      23       45        77        30
    2      1  100.0      19        1         0        20
    3      1  365.0      17        4         9        30
    """
    V.check_frame(rows, [("start", start), ("time", time), ("event", event),
                         ("exposure", exposure), ("id", id)])
    x = exposure_array(rows, exposure)
    values = [v for v in (0, 1) if (x == v).any()]
    lab = {v: (labels[v] if labels is not None and v in labels else v) for v in values}
    data = rows.copy()
    if labels is not None:
        data[exposure] = pd.Categorical([lab[v] for v in x],
                                        categories=[lab[v] for v in values])
    else:
        data[exposure] = x
    data.attrs = dict(rows.attrs)
    km = kaplan_meier(data, time, event, start=start, by=exposure, conf_type=conf_type,
                      alpha=alpha)
    s = rows[start].to_numpy(dtype=float)
    e = rows[time].to_numpy(dtype=float)
    ev = V.event_array(rows, event).astype(np.int64)
    if id is not None:   # an unexposed row followed by the same subject's exposed row
        order = np.lexsort((s, rows[id].to_numpy()))
        ids_o = rows[id].to_numpy()[order]
        moved = (ids_o[1:] == ids_o[:-1]) & (x[order][:-1] == 0) & (x[order][1:] == 1) & \
            (e[order][:-1] == s[order][1:])
        switch = np.zeros(len(rows), dtype=bool)
        switch[order[:-1][moved]] = True
    else:                # best guess without ids: a censored unexposed row ending where an
        switch = (x == 0) & (ev == 0) & np.isin(e, s[x == 1])   # exposed row starts
    tt = np.atleast_1d(np.asarray(times, dtype=float))
    risk = _risk_table(s, e, ev, x, switch, tt, lab)
    return SimonMakuch(
        km=km, risk_table=risk, times=tuple(tt), exposure=exposure, labels=lab,
        population=rows.attrs.get("population", "all rows"),
        definition=rows.attrs.get("definition", "") or "",
        meta={"start": start, "stop": time, "event": event, "id": id,
              "n": count_ids(rows, id), "n_rows": len(rows)},
        _intervals=(s, e, ev, x, switch))


def simon_makuch(cohort, endpoint: str = "PFS", *, population: str = "responders",
                 times: Sequence[float] = DEFAULT_RISK_TIMES, conf_type: str = "log",
                 alpha: float = 0.05) -> SimonMakuch:
    """Simon–Makuch curves of an endpoint by current HSCT-in-remission status.

    Parameters
    ----------
    cohort : Cohort
    endpoint : {"PFS", "OS", "EFS", "RFS", "DOR"}
    population : {"responders", "all"}
        As :func:`rwe_cart.exposure.time_varying` (default: responders from their response
        day, delayed entry).
    times : sequence of float
        Days of the numbers-at-risk table.
    conf_type, alpha
        As :func:`rwe_cart.kaplan_meier`.

    Returns
    -------
    SimonMakuch
        Curves labelled "no HSCT (yet)" and "after HSCT"; patients move from the first to
        the second on their transplant day.

    References
    ----------
    .. [1] Simon R, Makuch RW. Stat Med. 1984;3:35-44.
    """
    rows = hsct_rows(cohort, endpoint, population=population)
    return simon_makuch_curves(rows, start="start", time="stop", event="event",
                               exposure="hsct", id="patient_id", times=times,
                               labels={0: "no HSCT (yet)", 1: "after HSCT"},
                               conf_type=conf_type, alpha=alpha)
