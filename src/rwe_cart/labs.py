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
from typing import Any

import numpy as np
import pandas as pd

from .formatting import format_count_percent
from ._icaht import ICAHT_EARLY, ICAHT_LATE, icaht_grade
from ._lab_common import (LAB_UNITS, PATIENT_LAB_UNITS, QUANTITY, UNIT_FACTORS, patients_of,
                          require_columns, row_list, scale, standardise_lab_units,
                          unit_factor)

__all__ = [
    "HEMATOTOX_CUTOFFS",
    "ICAHT_EARLY",
    "ICAHT_LATE",
    "LAB_THRESHOLDS",
    "LAB_UNITS",
    "LabSummary",
    "PATIENT_LAB_UNITS",
    "UNIT_FACTORS",
    "car_hematotox",
    "icaht_grade",
    "lab_summary",
    "standardise_lab_units",
    "toxicity_table",
]


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
    frame = patients_of(frame_or_cohort)
    require_columns(frame, [patient_col], "car_hematotox input")
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
                raise ValueError(f"column {col!r} ({comp}) has non-numeric values (rows {row_list(bad_text)})")
            neg = raw < 0
            if neg.any():
                raise ValueError(f"column {col!r} ({comp}) has {int(neg.sum())} negative values "
                                 f"(rows {row_list(neg)}); labs must be >= 0")
            x = scale(raw, unit_factor(QUANTITY[comp], used_units[comp], f"units[{comp!r}]"))
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


# --------------------------------------------------------------------------- figures
#: Reference lines of the lab figures (canonical units): ICAHT ANC thresholds, the T-ICAHT
#: platelet thresholds, and Hb 8 g/dL (grade 3 anaemia).
LAB_THRESHOLDS: dict[str, tuple[float, ...]] = {
    "anc": (500.0, 100.0), "plt": (50_000.0, 20_000.0), "hb": (8.0,), "car_t": (),
    "alc": (), "wbc": (),
}


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
    require_columns(labs, [patient_col, day_col, test_col, value_col], "labs")
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
    patients = patients_of(cohort)
    rows = []
    for s in syndromes:
        col = f"{s}_grade"
        if col not in patients:
            raise ValueError(f"toxicity_table needs column {col!r} (ASTCT grade of {s.upper()})")
        grade = pd.to_numeric(patients[col], errors="coerce")
        known = grade.notna()
        denom = int(known.sum())
        label = s.upper()

        def add(level: str, n: int, missing: bool = False, **extra: Any) -> None:
            pct = 100.0 * n / denom if denom and not missing else np.nan
            rows.append({"syndrome": label, "level": level, "n": n, "denominator": denom,
                         "percent": pct,
                         "display": f"{n}" if missing else format_count_percent(n, denom),
                         **extra})

        for g in grades:
            add(f"Grade {g}", int((grade == g).sum()))
        add("Grade >=3", int((grade >= 3).sum()))
        add("Missing", int((~known).sum()), missing=True)
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
