"""The long lab loader and Cohort.with_labs: every problem named, nothing dropped silently,
values in canonical units."""
import numpy as np
import pandas as pd
import pytest

import rwe_cart as rc
from rwe_cart import datasets

LABS = pd.DataFrame({
    "patient_id": ["R0001", "R0001", "R0002", "R0002"],
    "day": [0, 10, 0, 30],
    "test": ["ANC", "hb", "plt", "crp"],
    "value": [1.2, 95.0, 63.0, 12.0],
    "unit": ["10^9/L", "g/L", "G/L", "mg/L"],
})


def test_values_are_converted_to_canonical_units():
    out = rc.load_labs(LABS)
    assert out["test"].tolist() == ["anc", "hb", "plt", "crp"]
    np.testing.assert_allclose(out["value"], [1200.0, 9.5, 63_000.0, 1.2])
    assert out["unit"].tolist() == ["/µL", "g/dL", "/µL", "mg/dL"]
    assert len(out) == len(LABS)


def test_every_problem_is_named_with_patient_column_and_rule():
    bad = LABS.astype(object).copy()
    bad.loc[0, "value"] = "1,2"
    bad.loc[1, "unit"] = "furlongs"
    bad.loc[2, "patient_id"] = None
    bad.loc[3, "day"] = "day three"
    with pytest.raises(rc.CohortValidationError) as err:
        rc.load_labs(bad)
    got = set(map(tuple, err.value.problems[["patient_id", "column", "rule"]].to_numpy()))
    assert got == {
        ("R0001", "value", "value is a number"),
        ("R0001", "unit", "unit known for the test"),
        ("<labs row 2>", "patient_id", "patient_id present"),
        ("R0002", "day", "day is a number (days from infusion)"),
    }


def test_negative_value_and_missing_column():
    with pytest.raises(rc.CohortValidationError) as err:
        rc.load_labs(LABS.assign(value=[-1.0, 9.0, 63.0, 1.0]))
    assert err.value.problems.iloc[0][["patient_id", "rule"]].tolist() == ["R0001", "value is not negative"]
    with pytest.raises(rc.CohortValidationError) as err:
        rc.load_labs(LABS.drop(columns="unit"))
    assert err.value.problems.iloc[0][["patient_id", "column"]].tolist() == ["<all>", "unit"]


def test_local_column_names_and_files(tmp_path):
    local = LABS.rename(columns={"patient_id": "SUBJID", "test": "LBTESTCD"})
    path = tmp_path / "labs.csv"
    local.to_csv(path, index=False)
    with open(path, "a") as fh:
        fh.write(",,,,\n")
    out = rc.load_labs(path, columns={"SUBJID": "patient_id", "LBTESTCD": "test"})
    assert len(out) == len(LABS) and out.attrs["n_blank_rows"] == 1 and len(out.attrs["sha256"]) == 64


def test_with_labs_keeps_cohort_patients_and_counts_excluded_ones():
    frame = datasets.rocca_like_frame()
    frame.loc[0, "sex"] = "unknown"  # R0001 is excluded
    cohort = rc.load_registry(frame, errors="exclude")
    out = cohort.with_labs(rc.load_labs(LABS))
    assert out.labs["patient_id"].tolist() == ["R0002", "R0002"]
    assert out.meta["labs_rows_of_excluded"] == 2
    with pytest.raises(rc.CohortValidationError) as err:
        cohort.with_labs(rc.load_labs(LABS.assign(patient_id=["R0002", "X9", "X9", "R0002"])))
    assert err.value.problems[["patient_id", "value"]].values.tolist() == [["X9", "2 lab row(s)"]]


def test_with_labs_feeds_icaht_grading():
    cohort = datasets.rocca_like()
    labs = rc.load_labs(datasets.rocca_like_labs())
    graded = rc.icaht_grade(cohort.with_labs(labs))
    assert set(graded["patient_id"]) <= set(cohort.patients["patient_id"])
    assert graded["early_grade"].between(0, 4).all()
