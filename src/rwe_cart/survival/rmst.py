"""Restricted mean survival time (RMST) with R ``survfit``/``survmean`` conventions.

Public: :func:`rmst`, :class:`RMSTResult`.

Built on :func:`rwe_cart.kaplan_meier` (the curve is never re-estimated
here): the RMST is the area under each group's Kaplan–Meier step function up to tau,
its standard error the one R prints as ``se(rmean)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm

from ._common import z_value
from .km import KaplanMeier, kaplan_meier

__all__ = ["rmst", "RMSTResult"]


@dataclass(frozen=True, eq=False)  # eq=False: DataFrames do not compare to a bool
class RMSTResult:
    """Restricted mean survival time per group, as R's ``print(fit, rmean = tau)``.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group: ``group, rmst, se, lower, upper, tau, n, events``. ``rmst``
        is R's ``rmean``, ``se`` its ``se(rmean)``, ``lower``/``upper`` the normal
        confidence limits rmst ∓ z·se; ``n`` and ``events`` count the group's rows and
        events (all, as R's ``records`` and ``events``).
    tau : float
        The restriction time used (resolved from ``"common"``).
    alpha : float
        1 − confidence level.
    by : str or None
        The grouping column.
    km : KaplanMeier
        The Kaplan–Meier curves the areas were taken under (for plots).
    meta : dict
        ``tau_rule`` (the number given or ``"common"``), ``beyond_follow_up`` (groups
        whose last observed time is before tau: their curve is carried flat to tau, as
        R does), and the column names.

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> df = pd.DataFrame({"time": [2, 3, 3, 5, 8, 9], "event": [1, 1, 0, 1, 0, 1]})
    >>> res = rc.rmst(df, "time", "event", tau=6)
    >>> res.table[["group", "rmst", "se", "tau"]].round(4)
      group    rmst      se  tau
    0   all  4.6111  0.6467  6.0
    """

    table: pd.DataFrame
    tau: float
    alpha: float
    by: str | None = None
    km: KaplanMeier | None = field(default=None, repr=False)
    meta: dict = field(default_factory=dict)

    def difference(self) -> pd.DataFrame:
        """Each group against the first: RMST difference and ratio.

        Returns
        -------
        pandas.DataFrame
            Columns ``contrast, measure, estimate, se, lower, upper, p``. Rows with
            ``measure == "difference"`` hold rmst_j − rmst_0 (``contrast`` like
            ``"M - F"``) with se = sqrt(se_j² + se_0²); rows with ``measure == "ratio"``
            hold rmst_j / rmst_0 (``"M / F"``), where ``se`` is the standard error of
            the *log* ratio, sqrt((se_j/rmst_j)² + (se_0/rmst_0)²) (delta method), and
            the limits are exp(log ratio ∓ z·se). p is two-sided, from the normal
            distribution (on the log scale for the ratio).

        Notes
        -----
        The groups are independent samples, so the variance of a difference is the sum
        of the two variances (Royston & Parmar 2013). Each variance is R ``survfit``'s
        (see :func:`rmst`), without an n/(n−1) factor.
        """
        tab = self.table
        if len(tab) < 2:
            raise ValueError("difference() needs at least two groups; pass by= to rmst()")
        z = z_value(self.alpha)
        labels = [str(g) for g in tab["group"]]
        r = tab["rmst"].to_numpy(dtype=np.float64)
        se = tab["se"].to_numpy(dtype=np.float64)
        r0, se0 = r[0], se[0]
        rj, sej = r[1:], se[1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            diff = rj - r0
            se_d = np.sqrt(sej**2 + se0**2)
            p_d = 2.0 * norm.sf(np.abs(diff / se_d))
            log_ratio = np.log(rj) - np.log(r0)
            se_l = np.sqrt((sej / rj) ** 2 + (se0 / r0) ** 2)
            p_l = 2.0 * norm.sf(np.abs(log_ratio / se_l))
        rows_d = pd.DataFrame({
            "contrast": [f"{g} - {labels[0]}" for g in labels[1:]],
            "measure": "difference",
            "estimate": diff, "se": se_d,
            "lower": diff - z * se_d, "upper": diff + z * se_d, "p": p_d,
        })
        rows_r = pd.DataFrame({
            "contrast": [f"{g} / {labels[0]}" for g in labels[1:]],
            "measure": "ratio",
            "estimate": np.exp(log_ratio), "se": se_l,
            "lower": np.exp(log_ratio - z * se_l), "upper": np.exp(log_ratio + z * se_l),
            "p": p_l,
        })
        return pd.concat([rows_d, rows_r], ignore_index=True)

    def _title(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        by = f" by {self.by!r}" if self.by else ""
        rule = self.meta.get("tau_rule")
        how = " (common: largest follow-up time)" if rule == "common" else ""
        return f"Restricted mean survival time{by} up to tau = {self.tau:g}{how}; {level} CI"

    def __repr__(self) -> str:
        body = self.table.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        return f"{self._title()}\n{body}"

    def _repr_html_(self) -> str:
        title = self._title().replace("&", "&amp;").replace("<", "&lt;")
        table = self.table.to_html(index=False, float_format="{:.4g}".format, na_rep="NA")
        return f"<p><b>{title}</b></p>{table}"


def rmst(
    data: pd.DataFrame,
    time: str,
    event: str,
    tau: float | str,
    *,
    by: str | None = None,
    alpha: float = 0.05,
) -> RMSTResult:
    """Restricted mean survival time up to `tau`, per group, as R's ``survfit``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject.
    time : str
        Column of follow-up times (>= 0).
    event : str
        Column of event indicators: 1 (or True) = event, 0 = censored.
    tau : float or "common"
        Restriction time (> 0), or ``"common"``: the largest observed time over all
        groups, as R's ``rmean = "common"``.
    by : str, optional
        Grouping column (sorted levels; a categorical keeps its category order).
    alpha : float
        1 − confidence level of the normal limits rmst ∓ z·se.

    Returns
    -------
    RMSTResult
        ``.table`` (``group, rmst, se, lower, upper, tau, n, events``),
        ``.difference()`` (each group against the first), ``.km`` (the curves).

    Raises
    ------
    ValueError
        For an invalid `tau` or `alpha`, and (from :func:`kaplan_meier`) missing
        columns, negative or missing times and event values other than 0/1, naming the
        column and rows.

    Notes
    -----
    Conventions follow R's ``survmean`` (survival 3.5), used by ``print.survfit`` and
    ``summary(fit)$table`` with ``rmean = tau``:

    * rmst = ∫₀^τ S(t) dt over the Kaplan–Meier step function. If tau is after a
      group's last observed time, that curve is carried flat to tau (listed in
      ``meta["beyond_follow_up"]``); choose tau no later than the shortest group's
      follow-up to avoid this.
    * se² = Σ A_j² d_j / (n_j (n_j − d_j)) over event times t_j <= tau, with
      A_j = ∫_{t_j}^τ S(t) dt and the term 0 where n_j = d_j. There is no n/(n−1)
      factor.
    * ``"common"`` is the largest follow-up time over all groups (R's ``rmean =
      "common"``). R's ``rmean = "individual"`` (each curve up to its own last time) is
      not offered, since it makes the groups' values incomparable.
    * Times closer than sqrt(machine epsilon) are merged first, as ``survfit``.

    References
    ----------
    .. [1] Royston P, Parmar MKB. Restricted mean survival time: an alternative to the
           hazard ratio for the design and analysis of randomized trials with a
           time-to-event outcome. BMC Med Res Methodol. 2013;13:152.
    .. [2] Therneau TM. A Package for Survival Analysis in R. R package survival.

    Examples
    --------
    >>> import pandas as pd
    >>> from rwe_cart.survival.rmst import rmst
    >>> df = pd.DataFrame({"time": [2, 3, 3, 5, 8], "event": [1, 1, 0, 1, 0]})
    >>> res = rmst(df, "time", "event", tau=6)
    >>> round(float(res.table["rmst"].iloc[0]), 4)   # 2 + 0.8 + 2(0.6) + 0.3
    4.3
    """
    tau_rule = _check_tau(tau)
    z = z_value(alpha)
    km = kaplan_meier(data, time, event, by=by, alpha=float(alpha))
    tab = km.table
    times = tab["time"].to_numpy(dtype=np.float64)
    tau_value = float(times.max()) if tau_rule == "common" else float(tau_rule)

    codes, _ = pd.factorize(tab["group"], sort=False)
    change = np.flatnonzero(np.diff(codes)) + 1
    bounds = np.concatenate(([0], change, [codes.size]))
    surv = tab["survival"].to_numpy(dtype=np.float64)
    n_risk = tab["n_risk"].to_numpy(dtype=np.float64)
    n_event = tab["n_event"].to_numpy(dtype=np.float64)
    means, ses, beyond = [], [], []
    for a, b in zip(bounds[:-1], bounds[1:]):
        m, v = _rmst_curve(times[a:b], surv[a:b], n_risk[a:b], n_event[a:b], tau_value)
        means.append(m)
        ses.append(math.sqrt(v))
        if times[b - 1] < tau_value:
            beyond.append(tab["group"].iloc[a])
    group = tab["group"].take(bounds[:-1]).reset_index(drop=True)
    rm = np.asarray(means)
    se = np.asarray(ses)
    n = km.meta.get("n") or [int(x) for x in np.add.reduceat(
        tab["n_event"].to_numpy() + tab["n_censor"].to_numpy(), bounds[:-1])]
    events = np.add.reduceat(tab["n_event"].to_numpy(), bounds[:-1]).astype(np.int64)
    table = pd.DataFrame({
        "group": group, "rmst": rm, "se": se, "lower": rm - z * se, "upper": rm + z * se,
        "tau": tau_value, "n": np.asarray(n, dtype=np.int64), "events": events,
    })
    meta = {
        "tau_rule": tau_rule, "beyond_follow_up": beyond,
        "time": time, "event": event, "definition": data.attrs.get("definition"),
    }
    return RMSTResult(table=table, tau=tau_value, alpha=float(alpha), by=by, km=km,
                      meta=meta)


def _check_tau(tau) -> float | str:
    if isinstance(tau, str):
        if tau == "common":
            return "common"
        raise ValueError(f"tau must be a positive number or 'common', got {tau!r}")
    if isinstance(tau, bool) or not isinstance(tau, (int, float, np.integer, np.floating)):
        raise ValueError(f"tau must be a positive number or 'common', got {tau!r}")
    value = float(tau)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"tau must be a finite number > 0 (or 'common'), got {tau!r}")
    return value


# ---------------------------------------------------------------------------------------
# Array core (trusts its inputs)
# ---------------------------------------------------------------------------------------
def _rmst_curve(time, surv, n_risk, n_event, tau):
    """(rmean, variance) of one curve, exactly as R survmean's ``pfun`` with
    start.time = 0: rectangles under the step function up to tau, and
    Σ A_j² d_j/(n_j(n_j − d_j)) with A_j the area from t_j to tau."""
    j = int(np.searchsorted(time, tau, side="right"))   # rows with time <= tau
    if j == 0:
        return tau, 0.0
    tt = np.append(time[:j], tau)
    height = np.concatenate(([1.0], surv[:j]))           # S on [0, t_1), [t_1, t_2), …
    rect = np.diff(tt, prepend=0.0) * height
    rmean = float(rect.sum())
    rem = n_risk[:j] - n_event[:j]
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(rem == 0, 0.0, n_event[:j] / (n_risk[:j] * rem))
    area_after = np.cumsum(rect[:0:-1])[::-1]            # A_i = sum(rect[i + 1:])
    return rmean, float(np.sum(area_after**2 * hh))
