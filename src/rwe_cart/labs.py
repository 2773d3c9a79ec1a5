"""Laboratory toxicity after CAR-T: CAR-HEMATOTOX, ICAHT grading, lab trajectories, CRS/ICANS.

Domain shaping (docs/data-contract.md "Labs"): the long laboratory table has one row per measurement,
``patient_id, day (or date), test, value, unit`` with ``test`` one of ``anc`` (neutrophils),
``hb`` (haemoglobin), ``plt`` (platelets), ``alc`` (lymphocytes), ``car_t`` (circulating
CAR-T cells) and optionally ``wbc`` (leukocytes), ``crp``, ``ferritin``. Canonical units
(`LAB_UNITS`) are cells/µL for every count, g/dL for haemoglobin, mg/dL for CRP and ng/mL for
ferritin; `standardise_lab_units` converts any unit listed in `UNIT_FACTORS`.

Baseline labs of the patient table (docs/data-contract.md; the synthetic cohorts) are in other units:
ANC and platelets in 10⁹/L, Hb g/dL, CRP mg/dL, ferritin ng/mL (`PATIENT_LAB_UNITS`).

Public functions
----------------
car_hematotox      CAR-HEMATOTOX score (Rejeski et al., Blood 2021) per patient.
icaht_grade        Early and late ICAHT grade (EHA/EBMT consensus, Rejeski et al., Blood 2023).
lab_summary        Median and IQR of each test by time point (what the cohort bands show).
toxicity_table     CRS and ICANS grade distribution and time-to-onset summaries.
standardise_lab_units
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._deprecate import renamed

__all__ = [
    "HEMATOTOX_CUTOFFS",
    "ICAHT_EARLY",
    "ICAHT_LATE",
    "LAB_THRESHOLDS",
    "LAB_UNITS",
    "LabSummary",
    "PATIENT_LAB_UNITS",
    "car_hematotox",
    "icaht_grade",
    "lab_summary",
    "standardise_lab_units",
    "toxicity_table",
]

MONTH = 30.4375  # days per month (docs/data-contract.md)

# --------------------------------------------------------------------------- units
#: Canonical unit of each test of the long lab table.
LAB_UNITS: dict[str, str] = {
    "anc": "/µL", "alc": "/µL", "wbc": "/µL", "plt": "/µL", "car_t": "/µL",
    "hb": "g/dL", "crp": "mg/dL", "ferritin": "ng/mL",
}
#: Units of the baseline labs in the patient table (docs/data-contract.md, synthetic cohorts).
PATIENT_LAB_UNITS: dict[str, str] = {
    "anc": "10^9/L", "plt": "10^9/L", "hb": "g/dL", "crp": "mg/dL", "ferritin": "ng/mL",
}
_QUANTITY = {"anc": "count", "alc": "count", "wbc": "count", "plt": "count", "car_t": "count",
             "hb": "hb", "crp": "crp", "ferritin": "ferritin"}
_CANONICAL = {"count": "/µL", "hb": "g/dL", "crp": "mg/dL", "ferritin": "ng/mL"}
# Factors to the canonical unit, exact where the conversion is exact (Fraction), so that a
# value given exactly at a cut-off in another unit lands exactly on the cut-off (90 g/L is
# 9.0 g/dL, not 9.000000000000002).
UNIT_FACTORS: dict[str, dict[str, Fraction | float]] = {
    "count": {  # to cells/µL
        "/ul": Fraction(1), "cells/ul": Fraction(1), "/mm3": Fraction(1), "cells/mm3": Fraction(1),
        "10^9/l": Fraction(1000), "x10^9/l": Fraction(1000), "10e9/l": Fraction(1000),
        "g/l": Fraction(1000),  # giga per litre (G/L), as counts are often reported in Europe
        "10^3/ul": Fraction(1000), "x10^3/ul": Fraction(1000), "k/ul": Fraction(1000),
        "10^6/l": Fraction(1, 1000), "x10^6/l": Fraction(1, 1000),
    },
    "hb": {"g/dl": Fraction(1), "g/l": Fraction(1, 10), "mmol/l": 1.6114},  # Hb monomer 16.114 g/mol
    "crp": {"mg/dl": Fraction(1), "mg/l": Fraction(1, 10)},
    "ferritin": {"ng/ml": Fraction(1), "ug/l": Fraction(1), "mcg/l": Fraction(1),
                 "pmol/l": 1 / 2.247},
}


def _unit_key(unit: object) -> str:
    text = str(unit).strip().lower()
    for micro in ("µ", "μ", "mc"):
        text = text.replace(micro + "l", "ul")
    text = text.replace("µ", "u").replace("μ", "u").replace(" ", "").replace("×", "x")
    text = text.replace("**", "^").replace("10⁹", "10^9").replace("10³", "10^3").replace("10⁶", "10^6")
    text = text.replace("mm³", "mm3").replace("cells/", "/")
    return {"/ul": "/ul", "ul": "/ul"}.get(text, text)


def _factor(quantity: str, unit: object, what: str) -> Fraction | float:
    table = UNIT_FACTORS[quantity]
    key = _unit_key(unit)
    if key not in table:
        known = ", ".join(sorted(table))
        raise ValueError(f"{what}: unknown unit {unit!r}; known units for {quantity} are {known}")
    return table[key]


def _scale(values: pd.Series | np.ndarray, factor: Fraction | float) -> np.ndarray:
    x = np.asarray(values, dtype="float64")
    if isinstance(factor, Fraction):
        x = x * factor.numerator / factor.denominator
    else:
        x = x * factor
    # round away binary noise (1.2 * 1000 and the like) so exact cut-offs stay exact
    return np.round(x, 9)


@renamed(test="test_col", value="value_col", unit="unit_col")
def standardise_lab_units(labs: pd.DataFrame, *, test_col: str = "test",
                          value_col: str = "value", unit_col: str = "unit") -> pd.DataFrame:
    """Convert every row of a long lab table to the canonical unit of its test (`LAB_UNITS`).

    Counts go to cells/µL (from 10⁹/L, G/L, 10³/µL, …), haemoglobin to g/dL (from g/L or
    mmol/L), CRP to mg/dL (from mg/L), ferritin to ng/mL (from µg/L or pmol/L). Rows of
    tests outside `LAB_UNITS` are returned unchanged. An unknown unit raises, naming it.

    Parameters
    ----------
    labs : pandas.DataFrame
        Long lab table, one row per measurement.
    test_col, value_col, unit_col : str
        Its columns of test names, values and units, as in :func:`icaht_grade` and
        :func:`lab_summary` (named ``test``, ``value``, ``unit`` before 0.2.0).

    Examples
    --------
    >>> import pandas as pd, rwe_cart as rc
    >>> labs = pd.DataFrame({"test": ["anc", "hb", "crp", "ferritin"],
    ...                      "value": [1.2, 95.0, 31.0, 800.0],
    ...                      "unit": ["10^9/L", "g/L", "mg/L", "µg/L"]})
    >>> rc.standardise_lab_units(labs)
           test   value   unit
    0       anc  1200.0    /µL
    1        hb     9.5   g/dL
    2       crp     3.1  mg/dL
    3  ferritin   800.0  ng/mL
    """
    _require(labs, [test_col, value_col, unit_col], "labs")
    out = labs.copy()
    tests = out[test_col].astype(str).str.lower().to_numpy()
    units = out[unit_col].astype(str).to_numpy()
    vals = out[value_col].to_numpy(dtype="float64", copy=True)
    new_unit = out[unit_col].astype(object).to_numpy(copy=True)
    # one pass over the distinct (test, unit) pairs, not over rows
    groups = pd.DataFrame({"t": tests, "u": units}).groupby(["t", "u"], sort=False).indices
    for (t, u), rows in groups.items():
        quantity = _QUANTITY.get(t)
        if quantity is None:
            continue
        vals[rows] = _scale(vals[rows], _factor(quantity, u, f"test {t!r}"))
        new_unit[rows] = _CANONICAL[quantity]
    known = np.isin(tests, list(_QUANTITY))
    out[test_col] = np.where(known, tests, out[test_col].to_numpy(dtype=object))
    out[value_col] = vals
    out[unit_col] = new_unit
    return out


# --------------------------------------------------------------------------- helpers
def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; it has {list(frame.columns)}")


def _rows(mask: np.ndarray, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in idx[:limit])
    return shown + (", …" if len(idx) > limit else "")


def _patients_of(obj: Any) -> pd.DataFrame:
    return obj.patients if hasattr(obj, "patients") and isinstance(obj.patients, pd.DataFrame) else obj


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


# --------------------------------------------------------------------------- CAR-HEMATOTOX
#: CAR-HEMATOTOX cut-offs (Rejeski et al., Blood 2021, the score figure), canonical units.
#: points = number of bounds the value is beyond; exact cut-off values are assigned as in
#: the docstring of `car_hematotox`.
HEMATOTOX_CUTOFFS: dict[str, dict[str, Any]] = {
    "plt": {"unit": "/µL", "1 point": "75,000-175,000/µL", "2 points": "<75,000/µL"},
    "anc": {"unit": "/µL", "1 point": "<=1,200/µL"},
    "hb": {"unit": "g/dL", "1 point": "<=9.0 g/dL"},
    "crp": {"unit": "mg/dL", "1 point": ">=3.0 mg/dL"},
    "ferritin": {"unit": "ng/mL", "1 point": "650-2,000 ng/mL", "2 points": ">2,000 ng/mL"},
}
HEMATOTOX_NOTE = (
    "CAR-HEMATOTOX was developed and validated in relapsed/refractory large B-cell lymphoma "
    "treated with axicabtagene ciloleucel or tisagenlecleucel (Rejeski et al., Blood 2021); "
    "in other diseases (e.g. B-ALL after brexucabtagene autoleucel) it is an extrapolation."
)
_HT_COMPONENTS = ("anc", "hb", "plt", "crp", "ferritin")


def _hematotox_points(component: str, x: np.ndarray) -> np.ndarray:
    """Points of one component from values in canonical units (NaN stays NaN)."""
    if component == "plt":
        pts = np.select([x < 75_000, x <= 175_000], [2.0, 1.0], 0.0)
    elif component == "anc":
        pts = np.where(x <= 1_200, 1.0, 0.0)
    elif component == "hb":
        pts = np.where(x <= 9.0, 1.0, 0.0)
    elif component == "crp":
        pts = np.where(x >= 3.0, 1.0, 0.0)
    else:  # ferritin
        pts = np.select([x > 2_000, x >= 650], [2.0, 1.0], 0.0)
    return np.where(np.isnan(x), np.nan, pts)


def car_hematotox(frame_or_cohort: Any, *, anc: str = "anc", hb: str = "hb", plt: str = "plt",
                  crp: str = "crp", ferritin: str = "ferritin",
                  units: Mapping[str, str] | None = None,
                  patient_col: str = "patient_id") -> pd.DataFrame:
    """CAR-HEMATOTOX score from pre-lymphodepletion labs, one row per patient.

    Parameters
    ----------
    frame_or_cohort : DataFrame or Cohort
        One row per patient (a Cohort's ``.patients`` is used), with the five baseline labs.
    anc, hb, plt, crp, ferritin : str
        Column names of absolute neutrophil count, haemoglobin, platelet count, C-reactive
        protein and ferritin.
    units : mapping, optional
        Unit of each component, keyed "anc", "hb", "plt", "crp", "ferritin". Default: the
        patient-table units of docs/data-contract.md (`PATIENT_LAB_UNITS`): ANC and platelets in 10⁹/L,
        Hb in g/dL, CRP in mg/dL, ferritin in ng/mL. Other units are converted: counts from
        /µL, G/L, 10³/µL; Hb from g/L or mmol/L; CRP from mg/L; ferritin from µg/L or pmol/L.
        Give only the ones that differ, e.g. ``units={"anc": "/µL", "crp": "mg/L"}``.

    Returns
    -------
    DataFrame
        patient_id, ``anc_points``, ``hb_points``, ``plt_points``, ``crp_points``,
        ``ferritin_points``, ``score`` (0-7), ``risk`` ("low" 0-1, "high" >= 2) and
        ``missing`` (the components that are missing, "" when complete). A patient with a
        missing component has ``score`` and ``risk`` NaN (never a silent 0), the points of the
        components present, and the missing ones named. ``.attrs``: ``note`` (population in
        which the score was developed), ``units`` (as read), ``cutoffs``, ``reference``.

    Notes
    -----
    Points (canonical units), as published in the CAR-HEMATOTOX figure [1]_:

    ============  ===========  ==================  ============
    component     0 points     1 point             2 points
    ============  ===========  ==================  ============
    platelets     >175,000/µL  75,000-175,000/µL   <75,000/µL
    ANC           >1,200/µL    <=1,200/µL
    haemoglobin   >9.0 g/dL    <=9.0 g/dL
    CRP           <3.0 mg/dL   >=3.0 mg/dL
    ferritin      <650 ng/mL   650-2,000 ng/mL     >2,000 ng/mL
    ============  ===========  ==================  ============

    Score 0-1: low risk; >= 2: high risk. The figure writes the single cut-offs as ">" and
    "<" pairs and leaves the value exactly at the cut-off unassigned; here a value exactly at
    a cut-off scores the point (ANC 1,200/µL, Hb 9.0 g/dL, CRP 3.0 mg/dL), and the closed
    ranges include both ends (platelets 75,000 and 175,000/µL: 1 point; ferritin 650 and
    2,000 ng/mL: 1 point). The score is measured before lymphodepletion (about day -5).

    The score was developed and validated in relapsed/refractory large B-cell lymphoma
    (axi-cel, tisa-cel); it has been applied to mantle cell lymphoma, multiple myeloma and
    B-ALL since, but outside LBCL its calibration is an extrapolation. The result carries
    this note in ``.attrs["note"]``.

    References
    ----------
    .. [1] Rejeski K, Perez A, Sesques P, et al. CAR-HEMATOTOX: a model for CAR T-cell-related
           hematologic toxicity in relapsed/refractory large B-cell lymphoma. Blood.
           2021;138(24):2499-2513.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> ht = rc.car_hematotox(rc.datasets.rocca_like())
    >>> sorted(ht["risk"].dropna().unique())
    ['high', 'low']
    """
    frame = _patients_of(frame_or_cohort)
    _require(frame, [patient_col], "car_hematotox input")
    columns = {"anc": anc, "hb": hb, "plt": plt, "crp": crp, "ferritin": ferritin}
    given = dict(units or {})
    unknown = sorted(set(given) - set(_HT_COMPONENTS))
    if unknown:
        raise ValueError(f"units: unknown component(s) {unknown}; use {list(_HT_COMPONENTS)}")
    used_units = {**PATIENT_LAB_UNITS, **given}
    out = pd.DataFrame({"patient_id": frame[patient_col].to_numpy()})
    missing_parts = []
    absent = []
    for comp in _HT_COMPONENTS:
        col = columns[comp]
        if col in frame.columns:
            raw = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype="float64")
            bad_text = frame[col].notna().to_numpy() & np.isnan(raw)
            if bad_text.any():
                raise ValueError(f"column {col!r} ({comp}) has non-numeric values (rows {_rows(bad_text)})")
            neg = raw < 0
            if neg.any():
                raise ValueError(f"column {col!r} ({comp}) has {int(neg.sum())} negative values "
                                 f"(rows {_rows(neg)}); labs must be >= 0")
            x = _scale(raw, _factor(_QUANTITY[comp], used_units[comp], f"units[{comp!r}]"))
        else:
            absent.append(col)
            x = np.full(len(frame), np.nan)
        out[f"{comp}_points"] = _hematotox_points(comp, x)
        missing_parts.append(np.where(np.isnan(x), comp, ""))
    points = out[[f"{c}_points" for c in _HT_COMPONENTS]]
    complete = points.notna().all(axis=1)
    out["score"] = points.sum(axis=1).where(complete, np.nan)
    out["risk"] = pd.Series(np.where(out["score"] >= 2, "high", "low"), dtype=object).where(complete, None)
    names = np.stack(missing_parts, axis=1)
    out["missing"] = [", ".join(n for n in row if n) for row in names]
    out.attrs.update(
        note=HEMATOTOX_NOTE,
        units={c: used_units[c] for c in _HT_COMPONENTS},
        cutoffs=HEMATOTOX_CUTOFFS,
        absent_columns=absent,
        reference="Rejeski K, et al. Blood. 2021;138(24):2499-2513.",
    )
    return out


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
#: Reference lines of the lab figures (canonical units): ICAHT ANC thresholds, the T-ICAHT
#: platelet thresholds, and Hb 8 g/dL (grade 3 anaemia).
LAB_THRESHOLDS: dict[str, tuple[float, ...]] = {
    "anc": (500.0, 100.0), "plt": (50_000.0, 20_000.0), "hb": (8.0,), "car_t": (),
    "alc": (), "wbc": (),
}


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
    _require(labs, [patient_col, day_col, test_col, value_col], "labs")
    anc = labs.loc[labs[test_col].astype(str).str.lower() == anc_test.lower()]
    if unit_col in anc.columns:
        anc = standardise_lab_units(anc.assign(**{test_col: "anc"}), test_col=test_col,
                                    value_col=value_col, unit_col=unit_col)
        values = anc[value_col].to_numpy(dtype="float64")
    elif anc_unit is not None:
        values = _scale(anc[value_col].to_numpy(dtype="float64"), _factor("count", anc_unit, "anc_unit"))
    else:
        raise ValueError(f"labs has no {unit_col!r} column: give anc_unit (e.g. '/µL' or '10^9/L')")
    day = pd.to_numeric(anc[day_col], errors="coerce").to_numpy(dtype="float64")
    bad_day = np.isnan(day) & anc[day_col].notna().to_numpy()
    if bad_day.any():
        raise ValueError(f"column {day_col!r} has non-numeric values (ANC rows {_rows(bad_day)})")
    if (values < 0).any():
        raise ValueError(f"ANC has {int((values < 0).sum())} negative values (ANC rows "
                         f"{_rows(values < 0)}); counts must be >= 0")
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


# --------------------------------------------------------------------------- summaries
@dataclass(frozen=True, eq=False)
class LabSummary:
    """Median and interquartile range of each lab test by time point (one value per patient).

    ``table``: test, day, n (patients), median, q1, q3, unit. Quantiles are R's type 7
    (numpy's default ``linear``). ``time_points`` and ``tolerance`` say how measurements were
    assigned to time points.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> s = rc.lab_summary(rc.datasets.rocca_like_labs(), tests=["hb"], time_points=[0, 7, 28])
    >>> s.tests, s.time_points
    (('hb',), (0.0, 7.0, 28.0))
    >>> s.table[["test", "day", "n", "median"]]
      test   day    n  median
    0   hb   0.0  189    9.30
    1   hb   7.0  186    8.15
    2   hb  28.0  170    8.20
    """

    table: pd.DataFrame
    time_points: tuple[float, ...] | None = None
    tolerance: float = 0.0
    meta: dict = field(default_factory=dict)

    @property
    def tests(self) -> tuple[str, ...]:
        return tuple(pd.unique(self.table["test"]))

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False, float_format="{:.3g}".format)


def lab_summary(labs: pd.DataFrame, *, tests: Sequence[str] | None = None,
                time_points: Sequence[float] | None = None, tolerance: float = 0.0,
                patient_col: str = "patient_id", day_col: str = "day", test_col: str = "test",
                value_col: str = "value", unit_col: str = "unit") -> LabSummary:
    """Cohort median and IQR of each test at each time point (for the trajectory bands).

    Parameters
    ----------
    labs : DataFrame
        Long lab table (any units listed in `UNIT_FACTORS`; converted to `LAB_UNITS`).
    tests : sequence of str, optional
        Tests to summarise (default: all present).
    time_points : sequence of float, optional
        Scheduled days. Each measurement goes to the nearest time point within ``tolerance``
        days; others are left out (counted in ``.meta["n_outside"]``). Default: the observed
        days themselves.
    tolerance : float
        Half-width of the visit window around each time point, in days.

    Returns
    -------
    LabSummary
        ``.table``: test, day, n, median, q1, q3, unit. A patient with several values at one
        time point contributes their median, so n counts patients.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> labs = rc.datasets.rocca_like_labs()
    >>> s = rc.lab_summary(labs, tests=["anc", "plt"], time_points=[0, 28])
    >>> s.table.round(1)
      test   day    n   median       q1        q3 unit
    0  anc   0.0  189    720.0    340.0    1510.0  /µL
    1  anc  28.0  170    385.0    210.0     807.5  /µL
    2  plt   0.0  189  68000.0  42000.0  125000.0  /µL
    3  plt  28.0  170  47500.0  31250.0   71000.0  /µL
    """
    _require(labs, [patient_col, day_col, test_col, value_col], "labs")
    data = labs
    if unit_col in labs.columns:
        data = standardise_lab_units(labs, test_col=test_col, value_col=value_col,
                                     unit_col=unit_col)
    data = data.assign(_test=data[test_col].astype(str).str.lower())
    if tests is not None:
        wanted = [t.lower() for t in tests]
        data = data[data["_test"].isin(wanted)]
    day = pd.to_numeric(data[day_col], errors="coerce").to_numpy(dtype="float64")
    val = pd.to_numeric(data[value_col], errors="coerce").to_numpy(dtype="float64")
    ok = ~np.isnan(day) & ~np.isnan(val)
    data = pd.DataFrame({"patient_id": data[patient_col].to_numpy()[ok], "test": data["_test"].to_numpy()[ok],
                         "day": day[ok], "value": val[ok]})
    n_outside = 0
    if time_points is not None:
        tp = np.unique(np.asarray(time_points, dtype="float64"))
        if tp.size == 0:
            raise ValueError("time_points is empty")
        d = data["day"].to_numpy()
        nearest = tp[np.argmin(np.abs(d[:, None] - tp[None, :]), axis=1)] if len(d) else d
        inside = np.abs(nearest - d) <= tolerance
        n_outside = int((~inside).sum())
        data = data.assign(day=nearest)[inside]
    per_patient = data.groupby(["test", "day", "patient_id"], sort=True)["value"].median().reset_index()
    grp = per_patient.groupby(["test", "day"], sort=True)["value"]
    table = pd.DataFrame({
        "n": grp.size(),
        "median": grp.median(),
        "q1": grp.quantile(0.25),
        "q3": grp.quantile(0.75),
    }).reset_index()
    table["unit"] = table["test"].map(LAB_UNITS).fillna("")
    order = {t: i for i, t in enumerate(tests)} if tests is not None else {}
    if order:
        table = (table.assign(_o=table["test"].map(order)).sort_values(["_o", "day"], kind="stable")
                 .drop(columns="_o").reset_index(drop=True))
    return LabSummary(table=table, time_points=None if time_points is None else tuple(map(float, time_points)),
                      tolerance=float(tolerance), meta={"n_outside": n_outside})


# --------------------------------------------------------------------------- CRS / ICANS
_ONSET_COLUMNS = ("{s}_onset_day", "t_{s}_onset", "{s}_onset", "date_{s}_onset")


def _onset_days(patients: pd.DataFrame, syndrome: str) -> pd.Series | None:
    for pattern in _ONSET_COLUMNS:
        col = pattern.format(s=syndrome)
        if col not in patients:
            continue
        if col.startswith("date_"):
            if "date_infusion" not in patients:
                raise ValueError(f"{col!r} needs 'date_infusion' to give days from infusion")
            return (pd.to_datetime(patients[col]) - pd.to_datetime(patients["date_infusion"])).dt.days.astype("float64")
        return pd.to_numeric(patients[col], errors="coerce").astype("float64")
    return None


def toxicity_table(cohort: Any, *, syndromes: Sequence[str] = ("crs", "icans"),
                   grades: Sequence[int] = (0, 1, 2, 3, 4, 5)) -> pd.DataFrame:
    """CRS and ICANS grade distribution (n, %), grade >= 3, and time to onset when known.

    Parameters
    ----------
    cohort : Cohort or DataFrame
        Patient table with ``crs_grade`` / ``icans_grade`` (ASTCT consensus, 0-5). Onset days
        are read, when present, from ``crs_onset_day`` / ``t_crs_onset`` / ``crs_onset``
        (days from infusion) or ``date_crs_onset`` (a date), and likewise for ICANS.

    Returns
    -------
    DataFrame
        syndrome ("CRS", "ICANS"), level ("Grade 0" … "Grade 5", "Grade >=3", "Missing",
        "Onset, days"), n, denominator, percent (of patients with a known grade), display
        ("n (x.x%)", or "median [Q1, Q3] (range a-b)" for onset), and for the onset row
        median, q1, q3, minimum, maximum (days, among patients with the syndrome and a known
        onset; quartiles R type 7).

    Examples
    --------
    >>> import rwe_cart as rc
    >>> tox = rc.toxicity_table(rc.datasets.rocca_like())
    >>> tox[["syndrome", "level", "n", "display"]].head(8)
      syndrome      level   n     display
    0      CRS    Grade 0  28  28 (14.8%)
    1      CRS    Grade 1  80  80 (42.3%)
    2      CRS    Grade 2  62  62 (32.8%)
    3      CRS    Grade 3  13   13 (6.9%)
    4      CRS    Grade 4   5    5 (2.6%)
    5      CRS    Grade 5   1    1 (0.5%)
    6      CRS  Grade >=3  19  19 (10.1%)
    7      CRS    Missing   0           0
    """
    patients = _patients_of(cohort)
    rows = []
    for s in syndromes:
        col = f"{s}_grade"
        if col not in patients:
            raise ValueError(f"toxicity_table needs column {col!r} (ASTCT grade of {s.upper()})")
        grade = pd.to_numeric(patients[col], errors="coerce")
        known = grade.notna()
        denom = int(known.sum())
        label = s.upper()

        def add(level: str, n: int, pct: float | None = None, **extra: Any) -> None:
            pct = 100.0 * n / denom if pct is None and denom else pct
            rows.append({"syndrome": label, "level": level, "n": n, "denominator": denom,
                         "percent": np.nan if pct is None else pct,
                         "display": f"{n} ({pct:.1f}%)" if pct is not None and not np.isnan(pct) else f"{n}",
                         **extra})

        for g in grades:
            add(f"Grade {g}", int((grade == g).sum()))
        add("Grade >=3", int((grade >= 3).sum()))
        add("Missing", int((~known).sum()), pct=np.nan)
        onset = _onset_days(patients, s)
        if onset is not None:
            x = onset[(grade >= 1) & onset.notna()].to_numpy(dtype="float64")
            if x.size:
                q1, med, q3 = np.percentile(x, [25, 50, 75])
                text = f"{med:g} [{q1:g}, {q3:g}] (range {x.min():g}-{x.max():g})"
                extra = dict(median=med, q1=q1, q3=q3, minimum=x.min(), maximum=x.max())
            else:
                text, extra = "–", dict(median=np.nan, q1=np.nan, q3=np.nan, minimum=np.nan, maximum=np.nan)
            rows.append({"syndrome": label, "level": "Onset, days", "n": int(x.size),
                         "denominator": int((grade >= 1).sum()), "percent": np.nan, "display": text, **extra})
    out = pd.DataFrame(rows)
    for c in ("median", "q1", "q3", "minimum", "maximum"):
        if c not in out:
            out[c] = np.nan
    return out
