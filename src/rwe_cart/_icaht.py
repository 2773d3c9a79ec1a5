"""ICAHT grading (EHA/EBMT consensus, Rejeski et al., Blood 2023): early and late grade
per patient from a long ANC series. :func:`icaht_grade` is imported from
:mod:`rwe_cart.labs`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._lab_common import require_columns, row_list, scale, standardise_lab_units, unit_factor

__all__ = ["ICAHT_EARLY", "ICAHT_LATE", "icaht_grade"]

# --------------------------------------------------------------------------- ICAHT
#: Early ICAHT (days 0-30): minimum days with ANC <= 500/µL or <= 100/µL for each grade.
ICAHT_EARLY: dict[int, dict[str, int | None]] = {
    1: {"anc_le_500": 1, "anc_le_100": None},
    2: {"anc_le_500": 7, "anc_le_100": None},
    3: {"anc_le_500": 14, "anc_le_100": 7},
    4: {"anc_le_500": 31, "anc_le_100": 14},
}
#: Late ICAHT (after day 30): ANC threshold (/µL) of each grade, met on >= 2 measurements.
ICAHT_LATE: dict[int, float] = {1: 1500.0, 2: 1000.0, 3: 500.0, 4: 100.0}


def _labs_of(obj: Any, day_col: str, patient_col: str) -> tuple[pd.DataFrame, pd.Series | None]:
    """(labs with a day column, default censoring days) from a Cohort or a lab table."""
    if not hasattr(obj, "patients"):
        return obj, None
    labs = obj.labs
    if labs is None:
        raise ValueError("the cohort has no lab table (cohort.labs is None)")
    patients = obj.patients
    if day_col not in labs.columns:
        if "date" not in labs.columns:
            raise ValueError(f"cohort.labs has neither {day_col!r} nor 'date'")
        zero = patients.set_index("patient_id")["date_infusion"]
        dates = pd.to_datetime(labs["date"])
        labs = labs.assign(**{day_col: (dates - labs[patient_col].map(zero)).dt.days.astype("float64")})
    ends = [patients[c] for c in ("t_relapse", "t_hsct", "t_next_therapy") if c in patients]
    censor = None
    if ends:
        censor = pd.Series(np.fmin.reduce([e.to_numpy(float) for e in ends]),
                           index=patients["patient_id"].to_numpy())
    return labs, censor


def _early_grade(d500: np.ndarray, d100: np.ndarray) -> np.ndarray:
    g = np.zeros(d500.shape, dtype="int64")
    for grade, need in ICAHT_EARLY.items():
        hit = d500 >= need["anc_le_500"]
        if need["anc_le_100"] is not None:
            hit |= d100 >= need["anc_le_100"]
        g = np.where(hit, grade, g)
    return g


def _bridged_state(grid: pd.DataFrame, below: np.ndarray, known: np.ndarray,
                   stable_recovery: int) -> np.ndarray:
    """Day states 1 (at/below threshold), 0 (above), -1 (unknown), with short recoveries
    (fewer than ``stable_recovery`` known days above, between two days below) set to 1."""
    state = np.where(known, below.astype("int64"), -1)
    pid = grid["_pid"].to_numpy()
    new_run = np.r_[True, (state[1:] != state[:-1]) | (pid[1:] != pid[:-1])]
    run = np.cumsum(new_run) - 1
    starts = np.flatnonzero(new_run)
    r_state = state[starts]
    r_pid = pid[starts]
    r_len = np.diff(np.r_[starts, len(state)])
    prev_state = np.r_[-9, r_state[:-1]]
    next_state = np.r_[r_state[1:], -9]
    same_prev = np.r_[False, r_pid[1:] == r_pid[:-1]]
    same_next = np.r_[r_pid[:-1] == r_pid[1:], False]
    bridge = ((r_state == 0) & (r_len < stable_recovery) & same_prev & same_next
              & (prev_state == 1) & (next_state == 1))
    r_state = np.where(bridge, 1, r_state)
    return r_state[run]


def _durations(grid: pd.DataFrame, state: np.ndarray, duration: str) -> np.ndarray:
    """Running duration (days) at/below the threshold up to each day of the grid."""
    is_low = (state == 1).astype("int64")
    pid = grid["_pid"].to_numpy()
    if duration == "cumulative":
        return pd.Series(is_low).groupby(pid).cumsum().to_numpy()
    new_run = np.r_[True, (is_low[1:] != is_low[:-1]) | (pid[1:] != pid[:-1])]
    run = np.cumsum(new_run)
    pos = pd.Series(is_low).groupby(run).cumsum().to_numpy()  # position within a low run
    return pd.Series(pos).groupby(pid).cummax().to_numpy()


def icaht_grade(labs: Any, *, anc_test: str = "anc", day_col: str = "day",
                patient_col: str = "patient_id", test_col: str = "test", value_col: str = "value",
                unit_col: str = "unit", anc_unit: str | None = None,
                censor: Mapping[Any, float] | pd.Series | None = None,
                duration: Literal["cumulative", "longest"] = "cumulative",
                max_gap: int = 7, stable_recovery: int = 3, early_end: int = 30,
                late_end: float | None = None, late_min_measurements: int = 2) -> pd.DataFrame:
    """Early and late ICAHT grade per patient from a long ANC series (EHA/EBMT consensus).

    Parameters
    ----------
    labs : DataFrame or Cohort
        Long lab table (patient_id, day, test, value, unit); rows of other tests are ignored.
        With a Cohort, ``cohort.labs`` is used (``day`` computed from ``date`` and
        ``date_infusion`` when absent) and ``censor`` defaults to the first of relapse or
        progression, allo-HSCT and next therapy (cytopenia after them is not ICAHT).
    anc_test : str
        Value of ``test`` that marks ANC rows.
    day_col, patient_col, test_col, value_col, unit_col : str
        Column names. Days are from infusion (day 0); fractional days are floored.
    anc_unit : str, optional
        Unit of ANC when the table has no unit column (e.g. "/µL" or "10^9/L").
    censor : mapping or Series, optional
        Day per patient after which measurements are not used (progression, next therapy,
        HSCT). NaN or absent: no censoring.
    duration : {"cumulative", "longest"}
        How days below a threshold are counted in days 0-30: the cumulative number of days
        (default) or the longest single episode. In both, recoveries shorter than
        ``stable_recovery`` days between two neutropenic days count as neutropenic.
    max_gap : int
        A measured value holds on the following days until the next measurement, for at most
        ``max_gap`` days (default 7: weekly counts). Days further from a measurement are
        unknown: they count neither as neutropenic nor as recovered.
    stable_recovery : int
        Days above the threshold that make a recovery stable (3, as the CIBMTR engraftment
        definition); shorter recoveries are non-stable and bridged.
    early_end : int
        Last day of the early window (30).
    late_end : float, optional
        Last day used for late ICAHT (default: all follow-up until censoring).
    late_min_measurements : int
        Measurements at or below a late threshold needed for that grade ("non-transient
        neutropenia": 2). With fewer late measurements than this, the late grade is NaN.

    Returns
    -------
    DataFrame
        One row per patient with an ANC measurement:
        ``early_grade`` (0-4; NaN without any known day in days 0-30),
        ``early_days_anc_le500``, ``early_days_anc_le100`` (durations as counted),
        ``early_grade_onset_day`` (first day the criteria of the early grade were met),
        ``grade4_onset_day`` (first day grade-4 criteria were met; NaN unless grade 4),
        ``early_window_end`` (30, or the censoring day), ``early_days_observed``,
        ``early_days_unknown`` (days with no value within ``max_gap``),
        ``early_complete`` (no unknown day: otherwise the grade is a lower bound),
        ``late_grade`` (0-4; NaN with fewer than ``late_min_measurements`` measurements after
        day 30), ``late_n_measurements``, ``late_nadir``, ``late_nadir_day``.
        ``.attrs["method"]`` states the rules used.

    Notes
    -----
    Early ICAHT (days 0-30) by the duration of neutropenia [1]_:

    =====  ===========================  ===========================
    grade  ANC <= 500/µL                ANC <= 100/µL
    =====  ===========================  ===========================
    1      < 7 days (1-6)
    2      7-13 days
    3      14-30 days                   >= 7 days (7-13)
    4      > 30 days (all of 0-30)      >= 14 days
    =====  ===========================  ===========================

    Late ICAHT (after day +30), the deepest threshold met by at least two ANC measurements
    (non-transient): grade 1 ANC <= 1,500/µL, 2 <= 1,000/µL, 3 <= 500/µL, 4 <= 100/µL.
    Thresholds are inclusive (an ANC of exactly 500/µL is neutropenic).

    Counting (our conventions where the consensus leaves room): measurements are put on a
    daily grid (day 0 to 30); several on one day give the lowest. A value holds until the
    next measurement (last observation carried forward) for at most ``max_gap`` days; there
    is no linear interpolation, so a threshold is crossed on the day it is first measured.
    Non-stable recoveries (< 3 days above the threshold between two neutropenic days) are
    counted as neutropenic, as in the T-ICAHT grading that "follows the principal logic of
    N-ICAHT": "the cumulative length beneath the respective threshold is calculated ...
    Days of nonstable count recovery (<3 days) are counted to the cumulative total" [2]_.
    ``duration="longest"`` counts the longest bridged episode instead, as the automated
    grading of Liang et al. [3]_ (which also interpolates linearly up to 7 days). Grades
    with unknown days are lower bounds (``early_complete`` False). The onset of grade 4 is the
    first day on which its duration criterion is fulfilled (e.g. ANC <= 100/µL from day 7:
    the 14th day, day 20).

    References
    ----------
    .. [1] Rejeski K, Subklewe M, Aljurf M, et al. Immune effector cell-associated
           hematotoxicity: EHA/EBMT consensus grading and best practice recommendations.
           Blood. 2023;142(10):865-877.
    .. [2] "Definition of T-ICAHT grading", Table 1 of the thrombocytopenia (T-ICAHT)
           extension of [1], ASH Publications (ash-sap.org/view-large/12809257): early
           T-ICAHT counts the cumulative days below platelets 50 and 20 x 10^9/L.
    .. [3] Liang EC. Automated approach to grade early and late ICAHT by EHA/EBMT criteria.
           github.com/emilyliangmd/automatedicahtgrading.

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> labs = pd.DataFrame({"patient_id": "P1", "day": [0, 3, 7, 10, 14, 21, 28],
    ...                      "test": "anc", "value": [900, 300, 80, 50, 400, 800, 1200],
    ...                      "unit": "/µL"})
    >>> grades = rc.icaht_grade(labs)
    >>> grades[["patient_id", "early_grade", "early_days_anc_le500", "early_days_anc_le100"]]
      patient_id  early_grade  early_days_anc_le500  early_days_anc_le100
    0         P1          3.0                  18.0                   7.0
    """
    if duration not in ("cumulative", "longest"):
        raise ValueError(f"duration must be 'cumulative' or 'longest', got {duration!r}")
    for name, v in (("max_gap", max_gap), ("stable_recovery", stable_recovery),
                    ("late_min_measurements", late_min_measurements)):
        if isinstance(v, bool) or int(v) != v or v < (0 if name == "max_gap" else 1):
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    labs, cohort_censor = _labs_of(labs, day_col, patient_col)
    if censor is None:
        censor = cohort_censor
    require_columns(labs, [patient_col, day_col, test_col, value_col], "labs")
    anc = labs.loc[labs[test_col].astype(str).str.lower() == anc_test.lower()]
    if unit_col in anc.columns:
        anc = standardise_lab_units(anc.assign(**{test_col: "anc"}), test_col=test_col,
                                    value_col=value_col, unit_col=unit_col)
        values = anc[value_col].to_numpy(dtype="float64")
    elif anc_unit is not None:
        values = scale(anc[value_col].to_numpy(dtype="float64"), unit_factor("count", anc_unit, "anc_unit"))
    else:
        raise ValueError(f"labs has no {unit_col!r} column: give anc_unit (e.g. '/µL' or '10^9/L')")
    day = pd.to_numeric(anc[day_col], errors="coerce").to_numpy(dtype="float64")
    bad_day = np.isnan(day) & anc[day_col].notna().to_numpy()
    if bad_day.any():
        raise ValueError(f"column {day_col!r} has non-numeric values (ANC rows {row_list(bad_day)})")
    if (values < 0).any():
        raise ValueError(f"ANC has {int((values < 0).sum())} negative values (ANC rows "
                         f"{row_list(values < 0)}); counts must be >= 0")
    keep = ~np.isnan(values) & ~np.isnan(day)
    meas = pd.DataFrame({"patient_id": anc[patient_col].to_numpy()[keep],
                         "day": np.floor(day[keep]).astype("int64"), "anc": values[keep]})
    n_dropped = int((~keep).sum())
    if censor is not None:
        cens = pd.Series(censor, dtype="float64") if not isinstance(censor, pd.Series) else censor
        cday = meas["patient_id"].map(cens).to_numpy(dtype="float64")
        meas = meas[~(cday < meas["day"].to_numpy())]
    else:
        cens = pd.Series(dtype="float64")
    meas = meas.groupby(["patient_id", "day"], as_index=False, sort=True)["anc"].min()
    ids = pd.Index(pd.unique(anc[patient_col]), name="patient_id")
    out = pd.DataFrame(index=ids)

    # ---- early: daily grid, values carried forward at most max_gap days
    cend = pd.Series(ids.map(cens), index=ids, dtype="float64") if len(cens) else pd.Series(np.nan, index=ids)
    window_end = np.fmin(early_end, np.floor(cend.to_numpy()))
    window_end = np.where(np.isnan(window_end), early_end, window_end).astype("int64")
    n_days = np.maximum(window_end + 1, 0)
    pid_codes = np.repeat(np.arange(len(ids)), n_days)
    offsets = np.repeat(np.cumsum(n_days) - n_days, n_days)
    grid = pd.DataFrame({"_pid": pid_codes,
                         "patient_id": ids.to_numpy()[pid_codes],
                         "day": (np.arange(int(n_days.sum())) - offsets).astype("int64")})
    early_meas = meas[(meas["day"] >= 0) & (meas["day"] <= early_end)]
    filled = pd.merge_asof(grid.sort_values("day", kind="stable"), early_meas.sort_values("day", kind="stable"),
                           on="day", by="patient_id", direction="backward", tolerance=int(max_gap))
    grid = filled.sort_values(["_pid", "day"], kind="stable").reset_index(drop=True)
    value = grid["anc"].to_numpy(dtype="float64")
    known = ~np.isnan(value)
    s500 = _bridged_state(grid, value <= 500, known, stable_recovery)
    s100 = _bridged_state(grid, value <= 100, known, stable_recovery)
    d500 = _durations(grid, s500, duration)
    d100 = _durations(grid, s100, duration)
    g = _early_grade(d500, d100)
    grid = grid.assign(d500=d500, d100=d100, g=g, known=known)
    by = grid.groupby("_pid", sort=True)
    last = by.tail(1).set_index("_pid")
    n_known = by["known"].sum()
    final = pd.Series(last["g"].to_numpy(), index=last.index)
    reached = grid["g"].to_numpy() >= final.reindex(grid["_pid"]).to_numpy()
    onset = grid.loc[reached & (grid["g"].to_numpy() >= 1)].groupby("_pid")["day"].min()
    g4 = grid.loc[grid["g"].to_numpy() == 4].groupby("_pid")["day"].min()
    codes = np.arange(len(ids))
    has_known = n_known.reindex(codes, fill_value=0).to_numpy() > 0
    out["early_grade"] = np.where(has_known, final.reindex(codes).to_numpy(dtype="float64"), np.nan)
    out["early_days_anc_le500"] = np.where(has_known, last["d500"].reindex(codes).to_numpy(dtype="float64"), np.nan)
    out["early_days_anc_le100"] = np.where(has_known, last["d100"].reindex(codes).to_numpy(dtype="float64"), np.nan)
    out["early_grade_onset_day"] = onset.reindex(codes).to_numpy(dtype="float64")
    out["grade4_onset_day"] = g4.reindex(codes).to_numpy(dtype="float64")
    out["early_window_end"] = window_end.astype("float64")
    out["early_days_observed"] = n_known.reindex(codes, fill_value=0).to_numpy()
    out["early_days_unknown"] = n_days - out["early_days_observed"].to_numpy()
    out["early_complete"] = has_known & (out["early_days_unknown"].to_numpy() == 0)

    # ---- late: measurements after day 30, deepest threshold met on >= k measurements
    late = meas[meas["day"] > early_end]
    if late_end is not None:
        late = late[late["day"] <= late_end]
    n_late = late.groupby("patient_id").size().reindex(ids, fill_value=0)
    grade = pd.Series(0, index=ids, dtype="int64")
    for k, thr in ICAHT_LATE.items():
        count = late[late["anc"] <= thr].groupby("patient_id").size().reindex(ids, fill_value=0)
        grade = grade.where(count < late_min_measurements, k)
    enough = n_late >= late_min_measurements
    out["late_grade"] = grade.astype("float64").where(enough, np.nan).to_numpy()
    out["late_n_measurements"] = n_late.to_numpy()
    nadir_rows = late.sort_values(["patient_id", "anc", "day"], kind="stable").drop_duplicates("patient_id")
    nadir = nadir_rows.set_index("patient_id")
    out["late_nadir"] = nadir["anc"].reindex(ids).to_numpy(dtype="float64")
    out["late_nadir_day"] = nadir["day"].reindex(ids).to_numpy(dtype="float64")
    out = out.reset_index()
    out.attrs["method"] = (
        f"EHA/EBMT ICAHT (Rejeski et al., Blood 2023). Early: days 0-{early_end}, duration={duration}, "
        f"values carried forward up to {max_gap} days, recoveries < {stable_recovery} days bridged, "
        f"thresholds inclusive. Late: day > {early_end}"
        + (f" to {late_end}" if late_end is not None else "")
        + f", deepest threshold met by >= {late_min_measurements} measurements."
    )
    out.attrs["n_missing_values_dropped"] = n_dropped
    return out
