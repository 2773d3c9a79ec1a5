"""Laboratory toxicity: CAR-HEMATOTOX, ICAHT grading, lab summaries, CRS/ICANS table,
synthetic lab series, the case-report patient, and the lab-trajectory figure.

The rendered-image baseline is tests/baseline/plot_lab_case_report.png. After an intended
change of the figure, regenerate it with

    RWE_CART_UPDATE_BASELINE=1 pytest tests/test_labs.py -k baseline

then look at the new PNG before committing it.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from images import check_baseline

from rwe_cart import datasets
from rwe_cart.labs import (LAB_THRESHOLDS, LAB_UNITS, car_hematotox, icaht_grade, lab_summary,
                           standardise_lab_units, toxicity_table)
from rwe_cart.plots import theme
from rwe_cart.plots.labs import plot_lab_trajectories
from rwe_cart.synthetic import labs as synth

MONTH = 30.4375
ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "synthetic" / "labs"
FIGURE_DAYS = (10, 30, 91, 183, 365)  # day 10, months 1, 3, 6, 12 of the case report


# =========================================================================== CAR-HEMATOTOX
# zero-point values of every component, patient-table units (10^9/L, g/dL, mg/dL, ng/mL)
ZERO = {"anc": 2.0, "hb": 12.0, "plt": 250.0, "crp": 0.5, "ferritin": 300.0}


def one_patient(**values) -> pd.DataFrame:
    return pd.DataFrame([{"patient_id": "P1", **ZERO, **values}])


def test_case_report_baseline_scores_two_from_ferritin_and_crp():
    case = synth.case_report_patient()
    ht = car_hematotox(case.baseline)
    row = ht.iloc[0]
    assert row["score"] == 2 == case.published["car_hematotox"]
    assert row["risk"] == "high" and row["missing"] == ""
    assert row["crp_points"] == 1 and row["ferritin_points"] == 1
    assert row["anc_points"] == row["hb_points"] == row["plt_points"] == 0


@pytest.mark.parametrize("component, value, points", [
    ("plt", 175.001, 0), ("plt", 175.0, 1), ("plt", 120.0, 1), ("plt", 75.0, 1), ("plt", 74.999, 2),
    ("anc", 1.201, 0), ("anc", 1.2, 1), ("anc", 0.3, 1),
    ("hb", 9.01, 0), ("hb", 9.0, 1), ("hb", 7.5, 1),
    ("crp", 2.99, 0), ("crp", 3.0, 1), ("crp", 12.0, 1),
    ("ferritin", 649.9, 0), ("ferritin", 650.0, 1), ("ferritin", 2000.0, 1), ("ferritin", 2000.1, 2),
])
def test_each_cutoff_exactly(component, value, points):
    ht = car_hematotox(one_patient(**{component: value})).iloc[0]
    assert ht[f"{component}_points"] == points
    assert ht["score"] == points
    assert ht["risk"] == ("high" if points >= 2 else "low")


def test_risk_groups_low_is_zero_or_one_high_is_two_or_more():
    frame = pd.DataFrame([
        {"patient_id": "zero", **ZERO},
        {"patient_id": "one", **ZERO, "anc": 1.0},
        {"patient_id": "two", **ZERO, "anc": 1.0, "crp": 5.0},
        {"patient_id": "seven", "anc": 0.5, "hb": 8.0, "plt": 30.0, "crp": 8.0, "ferritin": 5000.0},
    ])
    ht = car_hematotox(frame).set_index("patient_id")
    assert ht["score"].to_dict() == {"zero": 0, "one": 1, "two": 2, "seven": 7}
    assert ht["risk"].to_dict() == {"zero": "low", "one": "low", "two": "high", "seven": "high"}


def test_unit_conversion_gives_the_same_points():
    si = one_patient(anc=1.2, hb=9.0, plt=175.0, crp=3.0, ferritin=650.0)  # all exactly at a cut-off
    other = pd.DataFrame([{"patient_id": "P1", "anc": 1200.0, "hb": 90.0, "plt": 175_000.0, "crp": 30.0,
                           "ferritin": 650.0}])
    a = car_hematotox(si)
    b = car_hematotox(other, units={"anc": "/µL", "hb": "g/L", "plt": "cells/µL", "crp": "mg/L",
                                    "ferritin": "µg/L"})
    cols = ["anc_points", "hb_points", "plt_points", "crp_points", "ferritin_points", "score"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert a["score"].iloc[0] == 5  # 1 + 1 + 1 + 1 + 1
    assert b.attrs["units"]["crp"] == "mg/L" and a.attrs["units"]["anc"] == "10^9/L"
    # G/L and 10^3/µL are the same as 10^9/L for counts; mmol/L haemoglobin converts too
    c = car_hematotox(one_patient(anc=1.3, plt=74.0), units={"anc": "G/L", "plt": "x10^3/µL"}).iloc[0]
    assert (c["anc_points"], c["plt_points"]) == (0, 2)
    d = car_hematotox(one_patient(hb=5.5), units={"hb": "mmol/L"}).iloc[0]  # 8.86 g/dL
    assert d["hb_points"] == 1


def test_unknown_units_and_components_are_errors():
    with pytest.raises(ValueError, match=r"unknown unit 'mg/kg'.*crp"):
        car_hematotox(one_patient(), units={"crp": "mg/kg"})
    with pytest.raises(ValueError, match=r"unknown component\(s\) \['ldh'\]"):
        car_hematotox(one_patient(), units={"ldh": "U/L"})
    with pytest.raises(ValueError, match=r"'ferritin' \(ferritin\) has 1 negative values \(rows 0\)"):
        car_hematotox(one_patient(ferritin=-1.0))


def test_missing_components_are_named_never_zero():
    frame = pd.DataFrame([
        {"patient_id": "complete", **ZERO},
        {"patient_id": "no_ferritin", **ZERO, "ferritin": np.nan},
        {"patient_id": "no_crp_ferritin", **ZERO, "crp": None, "ferritin": np.nan},
        {"patient_id": "high_anyway", **ZERO, "plt": 30.0, "ferritin": np.nan},
    ])
    ht = car_hematotox(frame).set_index("patient_id")
    assert ht.loc["complete", "missing"] == "" and ht.loc["complete", "score"] == 0
    assert ht.loc["no_ferritin", "missing"] == "ferritin"
    assert ht.loc["no_crp_ferritin", "missing"] == "crp, ferritin"
    for pid in ("no_ferritin", "no_crp_ferritin", "high_anyway"):
        assert np.isnan(ht.loc[pid, "score"]) and ht.loc[pid, "risk"] is None
    assert np.isnan(ht.loc["no_ferritin", "ferritin_points"]) and ht.loc["no_ferritin", "crp_points"] == 0
    assert ht.loc["high_anyway", "plt_points"] == 2  # the points present are still shown
    # a column that is absent altogether: every patient misses it, by name
    absent = car_hematotox(frame.drop(columns="crp"))
    assert absent["missing"].str.contains("crp").all() and absent["score"].isna().all()
    assert absent.attrs["absent_columns"] == ["crp"]


def test_result_says_the_score_was_developed_in_lbcl():
    ht = car_hematotox(one_patient())
    assert "large B-cell lymphoma" in ht.attrs["note"]
    assert "2021;138(24):2499" in ht.attrs["reference"]
    assert "large B-cell lymphoma" in car_hematotox.__doc__


def test_cohort_input_equals_its_patient_table():
    cohort = datasets.rocca_like()
    a = car_hematotox(cohort)
    b = car_hematotox(cohort.patients)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 189 and a["score"].between(0, 7).all()
    assert set(a["risk"]) == {"low", "high"}


# =========================================================================== ICAHT
def daily(values: dict[int, float] | list[float], pid: str = "P", unit: str = "/µL") -> pd.DataFrame:
    items = values.items() if isinstance(values, dict) else enumerate(values)
    return pd.DataFrame([{"patient_id": pid, "day": d, "test": "anc", "value": v, "unit": unit}
                         for d, v in items])


def course(low_days: range, low: float = 300.0, high: float = 2000.0, last: int = 30) -> list[float]:
    """Daily ANC for days 0..last: ``low`` on ``low_days``, ``high`` otherwise."""
    return [low if d in low_days else high for d in range(last + 1)]


def grade_of(values, **kw) -> pd.Series:
    return icaht_grade(daily(values), **kw).iloc[0]


@pytest.mark.parametrize("low_days, low, grade", [
    (range(0), 300.0, 0),           # never <= 500
    (range(5, 6), 500.0, 1),        # exactly 500 counts (inclusive), one day
    (range(5, 11), 300.0, 1),       # 6 days
    (range(5, 12), 300.0, 2),       # 7 days
    (range(5, 18), 300.0, 2),       # 13 days
    (range(5, 19), 300.0, 3),       # 14 days
    (range(0, 30), 300.0, 3),       # 30 days
    (range(0, 31), 300.0, 4),       # all 31 days 0-30 (> 30 days)
    (range(5, 12), 100.0, 3),       # ANC <= 100 (exactly 100) for 7 days
    (range(5, 18), 80.0, 3),        # <= 100 for 13 days
    (range(5, 19), 80.0, 4),        # <= 100 for 14 days
])
def test_early_grade_on_daily_series(low_days, low, grade):
    g = grade_of(course(low_days, low))
    assert g["early_grade"] == grade
    assert g["early_days_anc_le500"] == len(low_days)
    assert g["early_days_anc_le100"] == (len(low_days) if low <= 100 else 0)
    assert g["early_complete"]


def test_thresholds_are_inclusive_and_sharp():
    assert grade_of(course(range(5, 12), 501.0))["early_grade"] == 0
    g = grade_of(course(range(5, 19), 101.0))
    assert g["early_grade"] == 3 and g["early_days_anc_le100"] == 0  # 14 days <= 500 only


def test_grade4_onset_day_is_the_day_the_criterion_is_met():
    g = grade_of(course(range(7, 31), 50.0))  # <= 100/µL from day 7
    assert g["early_grade"] == 4 and g["grade4_onset_day"] == 20 == g["early_grade_onset_day"]
    g3 = grade_of(course(range(3, 20), 300.0))  # 17 days <= 500: grade 3 reached on day 16
    assert g3["early_grade"] == 3 and g3["early_grade_onset_day"] == 16 and np.isnan(g3["grade4_onset_day"])
    assert np.isnan(grade_of(course(range(0), 300.0))["early_grade_onset_day"])


def test_non_stable_recovery_is_bridged_stable_recovery_is_not():
    short = course(range(1, 7), 300.0)      # days 1-6 low, 7-8 up (2 days), 9-14 low
    for d in range(9, 15):
        short[d] = 300.0
    g = grade_of(short)
    assert g["early_days_anc_le500"] == 14 and g["early_grade"] == 3
    stable = course(range(1, 7), 300.0)     # days 1-6 low, 7-9 up (3 days: stable), 10-15 low
    for d in range(10, 16):
        stable[d] = 300.0
    g = grade_of(stable)
    assert g["early_days_anc_le500"] == 12 and g["early_grade"] == 2
    # the longest single episode instead of the cumulative total
    g = grade_of(stable, duration="longest")
    assert g["early_days_anc_le500"] == 6 and g["early_grade"] == 1
    assert grade_of(short, duration="longest")["early_days_anc_le500"] == 14


def test_sparse_values_hold_until_the_next_measurement():
    weekly = {0: 2000, 7: 400, 14: 300, 21: 800, 28: 900}
    g = grade_of(weekly)  # <= 500 on days 7-20
    assert g["early_days_anc_le500"] == 14 and g["early_grade"] == 3 and g["early_complete"]
    # a gap longer than max_gap leaves unknown days: the grade is a lower bound
    gap = grade_of({0: 2000, 3: 300, 20: 300, 27: 300, 30: 2000})
    assert gap["early_days_unknown"] == 9  # days 11-19 (day 3 holds to day 10)
    assert not gap["early_complete"] and gap["early_days_anc_le500"] == 8 + 10
    assert gap["early_grade"] == 3
    assert grade_of(weekly, max_gap=3)["early_days_unknown"] == 31 - (4 * 4 + 3)  # 0-3, 7-10, …, 28-30


def test_same_day_values_take_the_lowest_and_missing_values_are_dropped():
    lab = pd.concat([daily(course(range(0), 300.0)), daily({5: 90.0, 6: np.nan})], ignore_index=True)
    g = icaht_grade(lab)
    assert g.loc[0, "early_days_anc_le500"] == 1 and g.attrs["n_missing_values_dropped"] == 1


@pytest.mark.parametrize("late, grade", [
    ([2000, 1800], 0), ([1500, 1400], 1), ([900, 1200], 1), ([900, 950], 2),
    ([400, 1000], 2), ([500, 450], 3), ([100, 80], 4), ([80, 2000], 0), ([80, 90, 3000], 4),
])
def test_late_grade_needs_two_measurements_at_the_threshold(late, grade):
    values = {d: 2000.0 for d in range(31)} | {60 + 30 * i: v for i, v in enumerate(late)}
    g = grade_of(values)
    assert g["late_grade"] == grade and g["late_n_measurements"] == len(late)
    assert g["late_nadir"] == min(late)


def test_one_late_measurement_is_not_gradable_unless_asked():
    values = {d: 2000.0 for d in range(31)} | {90: 80.0}
    assert np.isnan(grade_of(values)["late_grade"])
    assert grade_of(values, late_min_measurements=1)["late_grade"] == 4
    assert grade_of(values | {200: 50.0}, late_end=100)["late_n_measurements"] == 1


def test_censoring_ends_the_windows():
    g = icaht_grade(daily(course(range(5, 31), 300.0) + [300.0] * 10), censor={"P": 12})
    row = g.iloc[0]
    assert row["early_window_end"] == 12 and row["early_days_anc_le500"] == 8
    assert row["early_grade"] == 2 and np.isnan(row["late_grade"])


def test_units_are_converted():
    a = icaht_grade(daily(course(range(5, 19), 80.0)))
    b = icaht_grade(daily([v / 1000 for v in course(range(5, 19), 80.0)], unit="10^9/L"))
    pd.testing.assert_frame_equal(a, b)
    c = icaht_grade(daily(course(range(5, 19), 80.0)).drop(columns="unit"), anc_unit="cells/µL")
    pd.testing.assert_frame_equal(a, c)
    with pytest.raises(ValueError, match="give anc_unit"):
        icaht_grade(daily(course(range(5, 19), 80.0)).drop(columns="unit"))


def test_patients_are_graded_independently_and_order_does_not_matter():
    cases = {f"g{k}": course(r, low) for k, (r, low) in enumerate(
        [(range(0), 300.0), (range(5, 11), 300.0), (range(5, 12), 300.0), (range(5, 19), 300.0),
         (range(5, 19), 80.0)])}
    alone = pd.concat([icaht_grade(daily(v, pid)) for pid, v in cases.items()], ignore_index=True)
    together = pd.concat([daily(v, pid) for pid, v in cases.items()], ignore_index=True)
    shuffled = together.sample(frac=1.0, random_state=3)
    for frame in (together, shuffled):
        got = icaht_grade(frame).set_index("patient_id").loc[alone["patient_id"]].reset_index()
        pd.testing.assert_frame_equal(got, alone, check_dtype=False)
    assert alone["early_grade"].tolist() == [0, 1, 2, 3, 4]


def test_cohort_input_computes_days_and_censors_at_relapse_or_hsct():
    cohort = datasets.rocca_like()
    labs = synth.simulate_labs(cohort, 1)
    dated = labs.assign(date=labs["patient_id"].map(cohort.patients.set_index("patient_id")["date_infusion"])
                        + pd.to_timedelta(labs["day"], unit="D")).drop(columns="day")
    got = icaht_grade(dataclasses.replace(cohort, labs=dated))
    p = cohort.patients.set_index("patient_id")
    censor = p[["t_relapse", "t_hsct", "t_next_therapy"]].min(axis=1)
    expected = icaht_grade(labs, censor=censor)
    pd.testing.assert_frame_equal(got, expected)
    assert got["early_grade"].notna().sum() > 150


def test_bad_inputs_say_what_is_wrong():
    with pytest.raises(ValueError, match="duration"):
        icaht_grade(daily([300.0]), duration="sum")
    with pytest.raises(ValueError, match="negative"):
        icaht_grade(daily([300.0, -5.0]))
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['day'\]"):
        icaht_grade(daily([300.0]).drop(columns="day"))
    with pytest.raises(ValueError, match="cohort has no lab table"):
        icaht_grade(datasets.rocca_like())


# =========================================================================== case report
@pytest.fixture(scope="module")
def case():
    return synth.case_report_patient()


def test_case_report_grade4_icaht_from_day_20(case):
    g = icaht_grade(case.labs).iloc[0]
    assert g["early_grade"] == 4 == case.published["icaht_early_grade"]
    assert g["grade4_onset_day"] == 20 == case.published["icaht_grade4_from_day"]
    assert g["early_complete"]
    assert g["late_grade"] == 3  # months 3, 6, 12: 240, 260, 300/µL


def test_case_report_month12_values_and_car_t_peak_as_published(case):
    lab = case.labs.set_index(["test", "day"])
    pub = case.published
    for test, value in pub["month12"].items():
        assert lab.loc[(test, 365), "value"] == value and lab.loc[(test, 365), "source"] == "published"
    car_t = case.labs[case.labs["test"] == "car_t"]
    peak = car_t.loc[car_t["value"].idxmax()]
    assert (peak["day"], peak["value"]) == (pub["car_t_peak"]["day"], pub["car_t_peak"]["value"]) == (10, 143.0)
    assert peak["source"] == "published"
    m12 = car_t.loc[car_t["day"] == 365].iloc[0]
    assert m12["value"] < pub["car_t_month12_below"] and m12["source"].startswith("published")
    # every test of the figure is measured at day 10 and months 1, 3, 6 and 12
    for test in ("hb", "anc", "plt", "car_t"):
        assert set(FIGURE_DAYS) <= set(case.labs.loc[case.labs["test"] == test, "day"])
    assert (case.labs["unit"] == case.labs["test"].map(LAB_UNITS)).all()


def test_bundled_case_report_files(case):
    pd.testing.assert_frame_equal(pd.read_csv(BUNDLED / "case_report_labs.csv"), case.labs, check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_csv(BUNDLED / "case_report_baseline.csv"), case.baseline)


# =========================================================================== synthetic series
@pytest.fixture(scope="module")
def bundled():
    return synth.bundled_labs()


def test_bundled_lab_files_regenerate_byte_for_byte(tmp_path):
    paths = synth.write_labs(tmp_path)
    assert [p.name for p in paths] == list(synth.FILES)
    for p in paths:
        assert p.read_bytes() == (BUNDLED / p.name).read_bytes(), p.name


def test_simulation_is_deterministic_per_seed():
    frame = datasets.rocca_like_frame()
    a = synth.simulate_labs(frame, 11)
    pd.testing.assert_frame_equal(a, synth.simulate_labs(frame, 11))
    assert not a["value"].equals(synth.simulate_labs(frame, 12)["value"])


def test_schedule_follow_up_and_units(bundled):
    frame = datasets.rocca_like_frame()
    labs = bundled["rocca_like_labs"]
    t_last = (frame["date_last_contact"] - frame["date_infusion"]).dt.days
    last = labs.groupby("patient_id")["day"].max()
    assert (last <= t_last.set_axis(frame["patient_id"]).loc[last.index]).all()
    assert set(labs["day"]) == set(synth.SCHEDULE)
    assert set(labs["test"]) == {"anc", "alc", "wbc", "plt", "hb", "car_t"}
    assert (labs["unit"] == labs["test"].map(LAB_UNITS)).all() and (labs["value"] > 0).all()
    counts = labs.groupby(["patient_id", "day"]).size()
    assert (counts == 6).all()  # every test at every visit
    assert labs["patient_id"].nunique() == 189
    assert bundled["zuma3_like_labs"]["patient_id"].nunique() == 78


def test_kinetics_are_realistic(bundled):
    labs = bundled["rocca_like_labs"]
    car_t = labs[labs["test"] == "car_t"].pivot(index="patient_id", columns="day", values="value")
    peak_day = car_t.idxmax(axis=1)
    assert peak_day.isin([7, 10, 14, 21]).mean() > 0.9 and peak_day.isin([10, 14]).mean() > 0.6
    med = car_t.median()
    assert med[[10, 14]].max() > 10 * med[365] and med[365] < 1.0
    anc = labs[labs["test"] == "anc"].pivot(index="patient_id", columns="day", values="value")
    assert anc[[3, 7, 10]].min(axis=1).median() < 200  # lymphodepletion nadir
    assert anc[365].median() > 1000
    grades = icaht_grade(labs)
    early = grades["early_grade"].value_counts(normalize=True)
    assert set(early.index) == {1, 2, 3, 4} and 0.1 <= early[4] <= 0.4  # aplastic phenotypes
    again, phenotype = synth.simulate_labs(datasets.rocca_like_frame(), datasets.ROCCA_SEED,
                                           return_phenotype=True)
    pd.testing.assert_frame_equal(again, labs)
    phen = phenotype.value_counts(normalize=True)
    aplastic = anc.loc[phenotype.index[phenotype == "aplastic"], 28].median()
    assert aplastic < 500 < anc.loc[phenotype.index[phenotype == "quick"], 28].median()
    assert phen["intermittent"] == pytest.approx(0.5, abs=0.02) and phen["aplastic"] == pytest.approx(0.2, abs=0.02)
    plt_ = labs[labs["test"] == "plt"].pivot(index="patient_id", columns="day", values="value")
    assert plt_[[7, 10, 14]].median().min() < plt_[0].median()


# =========================================================================== summaries
def test_lab_summary_is_median_and_iqr_per_patient_and_time_point(bundled):
    labs = bundled["rocca_like_labs"]
    s = lab_summary(labs, tests=["plt", "car_t"])
    assert s.tests == ("plt", "car_t")
    x = labs.loc[(labs["test"] == "plt") & (labs["day"] == 91), "value"].to_numpy()
    row = s.table.set_index(["test", "day"]).loc[("plt", 91.0)]
    assert row["n"] == len(x) and row["unit"] == "/µL"
    np.testing.assert_allclose([row["q1"], row["median"], row["q3"]], np.percentile(x, [25, 50, 75]))


def test_lab_summary_time_points_units_and_one_value_per_patient():
    lab = pd.DataFrame({
        "patient_id": ["a", "a", "b", "c", "c"], "day": [9, 11, 10, 29, 45], "test": "plt",
        "value": [20.0, 40.0, 60.0, 100.0, 999.0], "unit": "10^9/L"})
    s = lab_summary(lab, time_points=(10, 30), tolerance=2)
    t = s.table.set_index("day")
    assert t.loc[10.0, "n"] == 2 and t.loc[10.0, "median"] == 45_000.0  # a: median(20, 40) = 30; b: 60
    assert t.loc[30.0, "n"] == 1 and t.loc[30.0, "median"] == 100_000.0
    assert s.meta["n_outside"] == 1 and (s.table["unit"] == "/µL").all()


def test_standardise_lab_units():
    lab = pd.DataFrame({"patient_id": "a", "day": 0, "test": ["ANC", "hb", "plt", "car_t", "crp", "ldh"],
                        "value": [1.5, 95.0, 63.0, 143.0, 30.0, 250.0],
                        "unit": ["10^9/L", "g/L", "G/L", "cells/µL", "mg/L", "U/L"]})
    out = standardise_lab_units(lab)
    assert out["value"].tolist() == [1500.0, 9.5, 63_000.0, 143.0, 3.0, 250.0]
    assert out["unit"].tolist() == ["/µL", "g/dL", "/µL", "/µL", "mg/dL", "U/L"]
    assert out["test"].tolist()[0] == "anc"
    with pytest.raises(ValueError, match="unknown unit 'mmol/L'"):
        standardise_lab_units(lab.assign(unit=lab["unit"].where(lab["test"] != "plt", "mmol/L")))


def test_toxicity_table_counts_percent_and_onset():
    cohort = datasets.rocca_like()
    p = cohort.patients
    tab = toxicity_table(cohort).set_index(["syndrome", "level"])
    for s in ("CRS", "ICANS"):
        g = p[f"{s.lower()}_grade"]
        assert sum(tab.loc[(s, f"Grade {k}"), "n"] for k in range(6)) == len(p)
        assert tab.loc[(s, "Grade >=3"), "n"] == (g >= 3).sum()
        assert tab.loc[(s, "Grade >=3"), "percent"] == pytest.approx(100 * (g >= 3).mean())
        assert tab.loc[(s, "Grade >=3"), "display"] == f"{(g >= 3).sum()} ({100 * (g >= 3).mean():.1f}%)"
    assert ("CRS", "Onset, days") not in tab.index
    frame = pd.DataFrame({"crs_grade": [0, 1, 2, 3, None], "icans_grade": [0, 0, 1, 3, 4],
                          "crs_onset_day": [np.nan, 1.0, 2.0, 6.0, 3.0],
                          "date_infusion": pd.to_datetime(["2024-01-01"] * 5),
                          "date_icans_onset": pd.to_datetime([None, None, "2024-01-06", "2024-01-08",
                                                              "2024-01-11"])})
    t = toxicity_table(frame).set_index(["syndrome", "level"])
    assert t.loc[("CRS", "Missing"), "n"] == 1 and t.loc[("CRS", "Grade 1"), "denominator"] == 4
    crs = t.loc[("CRS", "Onset, days")]
    assert crs["n"] == 3 and crs["median"] == 2.0 and crs["display"] == "2 [1.5, 4] (range 1-6)"
    icans = t.loc[("ICANS", "Onset, days")]
    assert (icans["n"], icans["median"], icans["minimum"], icans["maximum"]) == (3, 7.0, 5.0, 10.0)
    with pytest.raises(ValueError, match="crs_grade"):
        toxicity_table(frame.drop(columns="crs_grade"))


# =========================================================================== figure
def lab_axes(fig: Figure) -> dict[str, object]:
    return {a.get_label().removeprefix("lab-"): a for a in fig.axes if a.get_label().startswith("lab-")}


def gid(ax, name):
    return [a for a in ax.get_children() if a.get_gid() == name]


@pytest.fixture(scope="module")
def summary(bundled):
    return lab_summary(bundled["rocca_like_labs"])


def test_one_panel_per_test_with_scales_and_labels(case, summary):
    fig = plot_lab_trajectories(case.labs, summary=summary)
    axes = lab_axes(fig)
    assert list(axes) == ["hb", "anc", "plt", "car_t"]
    assert [axes[t].get_yscale() for t in axes] == ["linear", "log", "linear", "log"]
    assert axes["hb"].get_ylabel() == "Haemoglobin (g/dL)" and axes["car_t"].get_ylabel() == "CAR-T cells (/µL)"
    assert [a.get_xlabel() for a in axes.values()] == ["", "", "Months after infusion", "Months after infusion"]
    names = [t.get_text() for t in fig.legends[0].get_texts()]
    assert names == [f"Patient {synth.CASE_REPORT_ID}", "Cohort median", "Interquartile range",
                     "Grade threshold"]


def test_plotted_values_equal_the_data_and_the_summary(case, summary):
    fig = plot_lab_trajectories(case.labs, summary=summary)
    for test, ax in lab_axes(fig).items():
        (line,) = gid(ax, "lab-patient")
        rows = case.labs[case.labs["test"] == test].sort_values("day")
        x, y = line.get_data()
        np.testing.assert_allclose(x, rows["day"] / MONTH)
        np.testing.assert_allclose(y, rows["value"])
        (med,) = gid(ax, "lab-median")
        band = summary.table[summary.table["test"] == test].sort_values("day")
        np.testing.assert_allclose(med.get_xdata(), band["day"] / MONTH)
        np.testing.assert_allclose(med.get_ydata(), band["median"])
        (iqr,) = gid(ax, "lab-iqr")
        assert isinstance(iqr, PolyCollection)
        verts = iqr.get_paths()[0].vertices
        n = len(band)
        np.testing.assert_allclose(verts[1:n + 1, 1], band["q3"].to_numpy()[::-1] if verts[1, 0] > verts[n, 0]
                                   else band["q1"].to_numpy())


def test_threshold_lines_and_labels(case):
    fig = plot_lab_trajectories(case.labs)
    axes = lab_axes(fig)
    expected = {"hb": ["8 g/dL"], "anc": ["500/µL", "100/µL"], "plt": ["50,000/µL", "20,000/µL"], "car_t": []}
    for test, ax in axes.items():
        lines = gid(ax, "lab-threshold")
        assert [ln.get_ydata()[0] for ln in lines] == list(LAB_THRESHOLDS[test])
        assert all(ln.get_linestyle() == "--" for ln in lines)
        assert [t.get_text() for t in gid(ax, "lab-threshold-label")] == expected[test]
    none = lab_axes(plot_lab_trajectories(case.labs, thresholds=False))
    assert not any(gid(ax, "lab-threshold") for ax in none.values())
    custom = lab_axes(plot_lab_trajectories(case.labs, tests=["anc"], thresholds={"anc": [1000]}))
    assert [ln.get_ydata()[0] for ln in gid(custom["anc"], "lab-threshold")] == [1000.0]


def test_cohort_only_patient_only_and_days_selection(case, summary):
    cohort_only = plot_lab_trajectories(summary, tests=("anc", "car_t"))
    for ax in lab_axes(cohort_only).values():
        assert not gid(ax, "lab-patient") and len(gid(ax, "lab-median")) == 1
    fig1 = plot_lab_trajectories(case.labs, days=FIGURE_DAYS, times=[10 / MONTH, 30 / MONTH, 3, 6, 12],
                                 tick_labels=["D10", "M1", "M3", "M6", "M12"])
    for ax in lab_axes(fig1).values():
        (line,) = gid(ax, "lab-patient")
        np.testing.assert_allclose(line.get_xdata(), np.array(FIGURE_DAYS) / MONTH)
        assert [t.get_text() for t in ax.get_xticklabels()] == ["D10", "M1", "M3", "M6", "M12"]
    days_axis = lab_axes(plot_lab_trajectories(case.labs, tests=["hb"], time_unit="days", x_scale="linear"))
    assert days_axis["hb"].get_xlabel() == "Days after infusion"
    np.testing.assert_allclose(gid(days_axis["hb"], "lab-patient")[0].get_xdata(),
                               case.labs.loc[case.labs["test"] == "hb", "day"])


def test_no_text_overlaps_and_nothing_outside_the_figure(case, summary):
    fig = plot_lab_trajectories(case.labs, summary=summary, patient_label="Case-report patient")
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    texts = [*fig.legends[0].get_texts()]
    for ax in lab_axes(fig).values():
        lo, hi = sorted(ax.get_ylim())
        shown = [t for t in ax.get_yticklabels() if lo <= t.get_position()[1] <= hi]  # ticks in view
        texts += [*ax.get_xticklabels(), *shown, ax.xaxis.label, ax.yaxis.label,
                  *gid(ax, "lab-threshold-label")]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_visible() and t.get_text()]
    for text, bb in boxes:
        assert fig.bbox.x0 - 0.5 <= bb.x0 and bb.x1 <= fig.bbox.x1 + 0.5, text
        assert fig.bbox.y0 - 0.5 <= bb.y0 and bb.y1 <= fig.bbox.y1 + 0.5, text
    for i, (a, ba) in enumerate(boxes):
        for b, bb in boxes[i + 1:]:
            overlap = min(ba.x1, bb.x1) - max(ba.x0, bb.x0) > 0.5 and min(ba.y1, bb.y1) - max(ba.y0, bb.y0) > 0.5
            assert not overlap, f"{a!r} overlaps {b!r}"


def test_given_axes_and_figure_returned(case, summary):
    with theme():
        fig = Figure(figsize=(6.85, 2.4), layout="constrained")
        axs = fig.subplots(1, 2)
    assert plot_lab_trajectories(case.labs, tests=["anc", "car_t"], ax=axs) is fig
    assert [a.get_label() for a in fig.axes] == ["lab-anc", "lab-car_t"]
    with theme():
        single = Figure()
        ax = single.add_subplot()
    assert plot_lab_trajectories(summary, tests="hb", ax=ax) is single
    with pytest.raises(ValueError, match="needs 2 axes"):
        plot_lab_trajectories(case.labs, tests=["anc", "hb"], ax=ax)


def test_global_rcparams_unchanged(case):
    before = {k: v for k, v in mpl.rcParams.items() if k != "backend"}
    FigureCanvasAgg(plot_lab_trajectories(case.labs)).draw()
    assert {k: v for k, v in mpl.rcParams.items() if k != "backend"} == before


def test_plot_errors_say_what_is_wrong(case, bundled, summary):
    with pytest.raises(ValueError, match="holds 189 patients: choose one with patient="):
        plot_lab_trajectories(bundled["rocca_like_labs"])
    with pytest.raises(ValueError, match="patient 'nobody' is not in labs"):
        plot_lab_trajectories(bundled["rocca_like_labs"], patient="nobody")
    wrong = case.labs.assign(value=case.labs["value"] / 1000, unit=case.labs["unit"].where(
        case.labs["test"] != "plt", "10^9/L"))
    with pytest.raises(ValueError, match=r"plt in '10\^9/L'.*standardise_lab_units"):
        plot_lab_trajectories(wrong)
    with pytest.raises(ValueError, match="unknown"):
        plot_lab_trajectories(case.labs, tests=["ldh"])
    with pytest.raises(ValueError, match="no rows for test"):
        plot_lab_trajectories(lab_summary(bundled["rocca_like_labs"], tests=["hb"]), tests=["anc"])
    with pytest.raises(TypeError, match="lab table"):
        plot_lab_trajectories([1, 2, 3])
    with pytest.raises(ValueError, match="x_scale"):
        plot_lab_trajectories(case.labs, x_scale="log")
    # one patient of a cohort table, chosen by id
    fig = plot_lab_trajectories(bundled["rocca_like_labs"], patient="R0002", tests=["hb"])
    x, y = gid(lab_axes(fig)["hb"], "lab-patient")[0].get_data()
    rows = bundled["rocca_like_labs"].query("patient_id == 'R0002' and test == 'hb'")
    np.testing.assert_allclose(y, rows["value"])


# =========================================================================== image
def test_baseline_image(tmp_path, case, bundled):
    s = lab_summary(bundled["rocca_like_labs"])
    with theme(font="DejaVu Sans"):  # ships with matplotlib: same glyphs everywhere
        fig = plot_lab_trajectories(case.labs, summary=s, patient_label="Case-report patient",
                                    summary_label="ROCCA-like cohort median")
    check_baseline(fig, "plot_lab_case_report.png", tmp_path)
