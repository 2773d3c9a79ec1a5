"""The competing-risks view of HSCT: relapse vs non-relapse mortality (NRM).

Public, generic: :func:`exposure_cause_specific_cox`, :func:`incidence_after_exposure`.
Cohort level: :func:`competing` → :class:`CompetingRisksView`.
"""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .._deprecate import renamed
from ..survival import validate as V
from ..survival.competing import CumulativeIncidence, cumulative_incidence
from ..survival.cox import NotEstimableError
from ._result import ExposureEstimate, comparison_table
from ._common import adjusted_words, as_list, count_ids
from .rows import hsct_frame, hsct_rows
from ._time_varying import time_varying_cox

__all__ = ["exposure_cause_specific_cox", "incidence_after_exposure", "competing",
           "CompetingRisksView", "CAUSE_NAMES", "DEFAULT_TRM_TIMES"]

#: Cause codes of the CIR/NRM endpoint.
CAUSE_NAMES = {1: "relapse", 2: "NRM"}
#: Days at which transplant-related mortality is reported (100 days, 1 year).
DEFAULT_TRM_TIMES = (100.0, 365.0)


@renamed(stop="time")
def exposure_cause_specific_cox(rows: pd.DataFrame, *, start: str, time: str, cause: str,
                                exposure: str, covariates: Sequence[str] = (),
                                id: str | None = None, censored=0,
                                cause_names: Mapping | None = None, ties: str = "efron",
                                robust: bool = False, alpha: float = 0.05
                                ) -> dict:
    """Cause-specific Cox models with a time-dependent exposure, one per cause.

    Parameters
    ----------
    rows : DataFrame
        Counting-process rows ``(start, stop]``; ``cause`` is the cause code at ``stop``
        (``censored`` for no event, e.g. 0; 1, 2, … otherwise).
    start, time, cause, exposure : str
        Column names (exposure 0/1 or bool).
    covariates : sequence of str
    id : str, optional
        Subject id.
    censored
        Code of no event in ``cause``.
    cause_names : mapping, optional
        Cause code → name used as key and in the text (default the codes).
    ties, robust, alpha
        As :func:`time_varying_cox`.

    Returns
    -------
    dict
        ``{cause name: ExposureEstimate}`` (``method="cause_specific"``), other causes
        treated as censored — R's ``coxph(Surv(start, stop, cause == k) ~ exposure + …)``.

    Notes
    -----
    A cause-specific hazard ratio is the effect on the rate of that event among those
    still event-free; it does not translate into the cumulative incidence on its own
    (a lower relapse rate with a higher NRM rate can leave PFS unchanged).

    References
    ----------
    .. [1] Putter H, Fiocco M, Geskus RB. Tutorial in biostatistics: competing risks and
           multi-state models. Stat Med. 2007;26:2389-2430.
    .. [2] Mantel N, Byar DP. J Am Stat Assoc. 1974;69:81-86.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> rows = rc.exposure.hsct_rows(rc.datasets.rocca_like(), "CIR", allowed=["CIR"])
    >>> fits = rc.exposure_cause_specific_cox(rows, start="start", time="stop", cause="cause",
    ...                                       exposure="hsct", id="patient_id",
    ...                                       cause_names={1: "relapse", 2: "NRM"})
    >>> {name: round(est.hr, 3) for name, est in fits.items()}
    {'relapse': 0.447, 'NRM': 0.404}
    """
    V.check_frame(rows, [("start", start), ("time", time), ("cause", cause),
                         ("exposure", exposure), ("id", id)])
    codes = rows[cause].to_numpy()
    if pd.isna(codes).any():
        raise ValueError(f"column {cause!r} has missing values")
    found = sorted(v for v in pd.unique(codes) if v != censored)
    if not found:
        raise NotEstimableError(f"column {cause!r} has no events (all {censored!r})")
    name = "__event__"
    while name in rows.columns:
        name = "_" + name
    out = {}
    for k in found:   # loop over causes only
        label = cause_names.get(k, k) if cause_names is not None else k
        frame = rows.assign(**{name: (codes == k).astype(np.int64)})
        frame.attrs = dict(rows.attrs)
        estimand = (f"cause-specific hazard ratio of {label} while exposed vs not (yet) "
                    f"exposed (time-dependent), other causes censored; "
                    f"{adjusted_words(covariates)}")
        try:
            est = time_varying_cox(frame, start=start, time=time, event=name, exposure=exposure,
                                   covariates=covariates, id=id, ties=ties, robust=robust,
                                   alpha=alpha)
        except NotEstimableError as err:
            # one cause without events among the exposed (often NRM after few transplants)
            # must not hide the other cause's estimate
            out[label] = ExposureEstimate(
                method="cause_specific", estimand=estimand,
                population=rows.attrs.get("population", "all rows"),
                hr=np.nan, lower=np.nan, upper=np.nan, p=np.nan,
                n=count_ids(frame, id), events=int(frame[name].sum()),
                note=f"not estimable: {err}", endpoint=rows.attrs.get("definition", "") or "",
                extra={"cause": k})
            continue
        out[label] = replace(
            est, method="cause_specific", estimand=estimand,
            note="a rate ratio among the event-free; not a cumulative-incidence effect",
            extra=dict(est.extra, cause=k))
    return out


def incidence_after_exposure(data: pd.DataFrame, *, time: str, cause: str, exposure_time: str,
                             times: Sequence[float] = DEFAULT_TRM_TIMES, censored=0,
                             alpha: float = 0.05) -> tuple[CumulativeIncidence | None,
                                                           pd.DataFrame, int]:
    """Aalen–Johansen cumulative incidence of each cause from the exposure day.

    Parameters
    ----------
    data : DataFrame
        One row per subject (follow-up from time zero).
    time, cause : str
        Follow-up and cause code (``censored`` for none).
    exposure_time : str
        Exposure time (NaN: not exposed, left out).
    times : sequence of float
        Times since exposure for the estimates table.
    censored, alpha
        As :func:`rwe_cart.cumulative_incidence`.

    Returns
    -------
    (CumulativeIncidence or None, DataFrame, int)
        The curves on the time-since-exposure scale (None when nobody qualifies); a table
        ``cause, time, cif, std_err, lower, upper, n_risk`` at ``times`` (NaN after the last
        follow-up); and the number of exposed subjects left out because their event or
        censoring fell on the exposure day (the ``(start, stop]`` convention counts that
        day as before the exposure).

    Examples
    --------
    >>> import rwe_cart as rc
    >>> frame = rc.exposure.hsct_frame(rc.datasets.rocca_like(), "CIR", allowed=["CIR"])
    >>> ci, table, n = rc.incidence_after_exposure(frame, time="time", cause="cause",
    ...                                            exposure_time="t_hsct_remission", times=[100])
    >>> n, ci.causes
    (0, (1, 2))
    >>> table[["cause", "time", "cif", "lower", "upper", "n_risk"]].round(3)
       cause   time    cif  lower  upper  n_risk
    0      1  100.0  0.111  0.038  0.323      22
    1      2  100.0  0.000    NaN    NaN      22
    """
    V.check_frame(data, [("time", time), ("cause", cause), ("exposure_time", exposure_time)])
    xt = data[exposure_time].to_numpy(dtype=float, na_value=np.nan)
    t = data[time].to_numpy(dtype=float)
    exposed = ~np.isnan(xt)
    after = exposed & (t > xt)
    frame = data.loc[after].copy()
    frame[time] = t[after] - xt[after]
    frame.attrs = dict(data.attrs)
    tt = np.sort(np.asarray(times, dtype=float).ravel())
    causes = sorted(v for v in pd.unique(data[cause]) if v != censored)
    if frame.empty:
        table = pd.DataFrame({"cause": np.repeat(causes, tt.size), "time": np.tile(tt, len(causes)),
                              "cif": np.nan, "std_err": np.nan, "lower": np.nan,
                              "upper": np.nan, "n_risk": 0})
        return None, table, int((exposed & ~after).sum())
    ci = cumulative_incidence(frame, time, cause, alpha=alpha, censored=censored)
    at = ci.at(tt)
    full = pd.MultiIndex.from_product([list(ci.causes), tt], names=["cause", "time"])
    table = (at.set_index(["cause", "time"])[["cif", "std_err", "lower", "upper", "n_risk"]]
             .reindex(full).reset_index())
    table["n_risk"] = table["n_risk"].fillna(0).astype(np.int64)
    return ci, table, int((exposed & ~after).sum())


@dataclass(frozen=True, eq=False)
class CompetingRisksView:
    """HSCT and the competing risks relapse and non-relapse mortality.

    Attributes
    ----------
    cause_specific : dict
        ``{"relapse": ExposureEstimate, "NRM": ExposureEstimate}``: cause-specific Cox
        models with HSCT in remission time-dependent.
    cif : CumulativeIncidence
        Aalen–Johansen cumulative incidence of relapse (cause 1) and NRM (cause 2) for the
        cohort, from infusion.
    trm : CumulativeIncidence or None
        Cumulative incidence from the HSCT day among patients transplanted in remission
        (NRM there is transplant-related mortality, relapse competing); None when nobody
        was transplanted.
    trm_table : DataFrame
        ``cause, time, cif, std_err, lower, upper, n_risk`` at ``times`` days after HSCT
        (cause as a name).
    cause_names : dict
        Cause code → name.
    n_transplanted : int
        Patients transplanted in remission (``n_left_out`` of them had no follow-up after
        the HSCT day).
    population, definition : str
    meta : dict

    Examples
    --------
    >>> import rwe_cart as rc
    >>> view = rc.exposure.competing(rc.datasets.rocca_like())
    >>> sorted(view.cause_specific)
    ['NRM', 'relapse']
    >>> view.n_transplanted
    30
    >>> view.table[["method", "hr", "lower", "upper"]].round(3)
                       method     hr  lower  upper
    0  cause_specific_relapse  0.447  0.170  1.174
    1      cause_specific_nrm  0.404  0.049  3.350
    """

    cause_specific: dict
    cif: CumulativeIncidence
    trm: CumulativeIncidence | None
    trm_table: pd.DataFrame
    cause_names: dict
    n_transplanted: int
    n_left_out: int = 0
    population: str = ""
    definition: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def estimates(self) -> list:
        """The cause-specific estimates as comparison-table rows."""
        out = []
        for name, est in self.cause_specific.items():
            out.append(replace(est, method=f"cause_specific_{str(name).lower()}"))
        return out

    @property
    def table(self) -> pd.DataFrame:
        return comparison_table(self.estimates)

    def trm_at(self, time: float) -> float:
        """Cumulative incidence of NRM (transplant-related mortality) ``time`` days after
        HSCT (NaN after the last follow-up)."""
        t = self.trm_table
        r = t[(t["cause"] == self.cause_names.get(2, 2)) & (t["time"] == float(time))]
        return float(r["cif"].iloc[0]) if len(r) else np.nan

    def __repr__(self) -> str:
        lines = [f"Competing risks after CAR-T: relapse vs NRM ({self.population})"]
        lines += [repr(e) for e in self.cause_specific.values()]
        lines.append(f"After HSCT in remission ({self.n_transplanted} patients), cumulative "
                     "incidence from the HSCT day:")
        lines.append(self.trm_table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return (f"<p><b>Competing risks: relapse vs non-relapse mortality</b> "
                f"({html.escape(self.population)})</p>"
                + self.table.to_html(index=False, float_format="{:.3g}".format, na_rep="—")
                + f"<p>Cumulative incidence after HSCT in remission ({self.n_transplanted} "
                  "patients; NRM = transplant-related mortality)</p>"
                + self.trm_table.to_html(index=False, float_format="{:.3g}".format, na_rep="—"))


def competing(cohort, *, covariates: Sequence[str] = (), population: str = "responders",
              times: Sequence[float] = DEFAULT_TRM_TIMES, ties: str = "efron",
              robust: bool = False, alpha: float = 0.05) -> CompetingRisksView:
    """HSCT in remission and the competing risks of relapse and non-relapse mortality.

    Parameters
    ----------
    cohort : Cohort
    covariates : sequence of str
        Adjustment covariates of the cause-specific models.
    population : {"responders", "all"}
        Population of the cause-specific Cox models (as
        :func:`rwe_cart.exposure.time_varying`; default responders with delayed entry).
    times : sequence of float
        Days after HSCT for transplant-related mortality (default 100 and 365).
    ties, robust, alpha
        As :func:`rwe_cart.exposure.time_varying`.

    Returns
    -------
    CompetingRisksView
        Cause-specific Cox models for relapse and NRM with HSCT time-dependent; the
        Aalen–Johansen CIR/NRM of the cohort (all infused, from infusion); and the
        cumulative incidence of NRM (transplant-related mortality, relapse competing) and
        relapse from the HSCT day among patients transplanted in remission.

    Notes
    -----
    HSCT typically lowers the relapse rate and raises NRM; PFS and OS combine both, so
    both cause-specific effects should be read together. Causes follow the CIR/NRM
    endpoint: 1 relapse/progression, 2 death without prior relapse.

    References
    ----------
    .. [1] Putter H, Fiocco M, Geskus RB. Tutorial in biostatistics: competing risks and
           multi-state models. Stat Med. 2007;26:2389-2430.
    .. [2] Aalen OO, Johansen S. An empirical transition matrix for non-homogeneous Markov
           chains based on censored observations. Scand J Stat. 1978;5:141-150.
    """
    covariates = as_list(covariates)
    rows = hsct_rows(cohort, "CIR", population=population, columns=covariates,
                     allowed=("CIR",))
    cs = exposure_cause_specific_cox(rows, start="start", time="stop", cause="cause",
                                     exposure="hsct", covariates=covariates, id="patient_id",
                                     cause_names=CAUSE_NAMES, ties=ties, robust=robust,
                                     alpha=alpha)
    for name in list(cs):
        est = cs[name]
        cs[name] = replace(est, estimand=(
            f"cause-specific hazard ratio of {name} after allo-HSCT in remission vs not (yet) "
            f"transplanted (time-dependent), the other cause censored; "
            f"{adjusted_words(covariates)}; among {est.population}"))
    ep = cohort.endpoint("CIR")
    cif = cumulative_incidence(ep, "time", "cause", alpha=alpha)
    frame = hsct_frame(cohort, "CIR", population="all", allowed=("CIR",))
    trm, table, left_out = incidence_after_exposure(frame, time="time", cause="cause",
                                                    exposure_time="t_hsct_remission",
                                                    times=times, alpha=alpha)
    table["cause"] = table["cause"].map(lambda k: CAUSE_NAMES.get(k, k))
    return CompetingRisksView(
        cause_specific=cs, cif=cif, trm=trm, trm_table=table, cause_names=dict(CAUSE_NAMES),
        n_transplanted=int(frame["hsct_ever"].sum()), n_left_out=left_out,
        population=rows.attrs["population"], definition=ep.attrs.get("definition", ""),
        meta={"times": tuple(times), "covariates": tuple(covariates), "rows": rows})
