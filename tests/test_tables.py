"""Table 1 numbers cross-checked against the tableone package."""
import re

import numpy as np
import pandas as pd
import pytest

import rwe_cart as rc


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(1)
    n = 120
    df = pd.DataFrame({"age": rng.normal(50, 12, n), "sex": rng.choice(["F", "M"], n),
                       "best_response": rng.choice(["CR", "CRi", "NR"], n), "g": rng.choice(["a", "b"], n),
                       "crs_grade": rng.integers(0, 4, n), "prior_hsct": rng.random(n) < 0.4})
    df.loc[3, "age"] = np.nan
    return df


def test_matches_tableone(frame):
    tableone = pytest.importorskip("tableone")
    cols = ["age", "sex", "best_response", "crs_grade"]
    ref = tableone.TableOne(frame, columns=cols, categorical=["sex", "best_response", "crs_grade"],
                            nonnormal=["age"], groupby="g", smd=True, decimals=6).tableone
    ref.columns = ref.columns.droplevel(0)
    ours = rc.table_one(frame, by="g", variables=cols).table
    # SMD per variable
    smd_ref = ref["SMD (a,b)"].replace("", np.nan).dropna().astype(float).abs().to_numpy()
    # tableone prints SMD to 3 decimals.
    np.testing.assert_allclose(ours["smd"].dropna().to_numpy(), smd_ref, atol=5.1e-4)
    # counts per level
    for var, level in [("sex, n (%)", "F"), ("best_response, n (%)", "CRi"), ("crs_grade, n (%)", "3")]:
        n_ref = int(ref.loc[(var, level), "b"].split(" ")[0])
        name = {"sex": "Sex", "best_response": "Best response", "crs_grade": "CRS grade (ASTCT)"}[var.split(",")[0]]
        cell = ours[(ours.variable == name) & (ours.level == level)]["g = b"].item()
        assert int(cell.split(" ")[0]) == n_ref
    med_ref = [float(x) for x in re.findall(r"[-\d.]+", ref.loc[("age, median [Q1,Q3]", ""), "a"])]
    med = [float(x) for x in re.findall(r"[-\d.]+", ours.loc[ours.level == "median [IQR]", "g = a"].item())]
    np.testing.assert_allclose(med, med_ref, atol=0.051)


def test_missing_row_and_bool_levels(frame):
    t = rc.table_one(frame, variables=["age", "prior_hsct"]).table
    assert t.loc[t.level == "Missing", "Overall"].item() == "1"
    yes = t[(t.variable == "Prior allo-HSCT") & (t.level == "Yes")]["Overall"].item()
    assert yes.startswith(f"{int(frame.prior_hsct.sum())} (")


def test_small_cell_suppression(frame):
    t = rc.table_one(frame.head(12), by="g", variables=["best_response"], suppress_below=5).table
    cells = t.drop(columns=["variable", "level", "smd"]).to_numpy().ravel()
    for c in cells:
        n = int(c.split(" ")[0]) if c[0].isdigit() else None
        assert n is None or n == 0 or n >= 5, c
    assert any(c == "<5" for c in cells)


def test_bad_by_is_named(frame):
    with pytest.raises(ValueError, match="nope"):
        rc.table_one(frame, by="nope")


@pytest.mark.parametrize("k", [0, True, 2.5])
def test_bad_suppression_threshold_is_refused(frame, k):
    with pytest.raises(ValueError, match="suppress_below must be a positive integer"):
        rc.table_one(frame, variables=["sex"], suppress_below=k)
