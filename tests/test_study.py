"""The simulation-study machinery (studies/hsct_methods.py): columns, seeds, reference
values, pooled large-n limits, naive bias."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

STUDY = Path(__file__).resolve().parents[1] / "studies" / "hsct_methods.py"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("hsct_methods_study", STUDY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def sequential(study):
    return study.run(["hr0.6"], [400], ["time_varying", "naive"], 20, seed=7,
                     backend="sequential")


def test_summary_has_the_documented_columns(study, sequential):
    assert list(sequential.columns) == study.REPLICATE_COLUMNS
    assert set(sequential["ci"]) == {"Cox model"}
    summ = study.summarise(sequential)
    assert list(summ.columns) == study.SUMMARY_COLUMNS
    assert set(summ["method"]) == {"time_varying", "naive"}
    assert (summ["reps"] == 20).all()
    assert (summ["n_failed"] >= 0).all()
    assert len(sequential) == 40  # 20 replicates x 2 methods, failures kept as rows
    assert summ["truth_tv"].eq(0.6).all() and summ["truth"].eq(0.6).all()


def test_same_seed_same_numbers_on_sequential_and_joblib(study, sequential):
    joblib = study.run(["hr0.6"], [400], ["time_varying", "naive"], 20, seed=7,
                       backend="joblib", n_jobs=2)
    pd.testing.assert_frame_equal(sequential, joblib)


def test_a_written_replicates_file_gives_the_same_summary(study, sequential, tmp_path):
    sequential.to_csv(tmp_path / "per.csv", index=False)
    back = study.read_replicates(tmp_path / "per.csv")
    pd.testing.assert_frame_equal(study.summarise(back), study.summarise(sequential))
    sequential.drop(columns="ci").to_csv(tmp_path / "old.csv", index=False)
    with pytest.raises(ValueError, match=r"missing columns \['ci'\]"):
        study.read_replicates(tmp_path / "old.csv")


def test_naive_is_biased_towards_benefit(study, sequential):
    summ = study.summarise(sequential).set_index("method")
    truth = math.log(0.6)
    assert summ.loc["naive", "mean_log_hr"] < truth - 0.25
    assert abs(summ.loc["time_varying", "mean_log_hr"] - truth) < 0.2


def test_each_method_is_held_against_its_own_estimand(study):
    assert study.reference("time_varying", 0.6, 0.58) == (0.6, "true conditional HR")
    assert study.reference("naive", 0.6, 0.37) == (0.6, "true conditional HR")
    assert study.reference("landmark", 1.0, 1.004) == (1.0, "no effect")
    assert study.reference("ccw", 0.6, 0.86) == (0.86, "large-n limit")
    assert study.reference("time_varying", math.nan, 0.97) == (0.97, "large-n limit")
    truth, source = study.reference("naive", math.nan, 0.58)
    assert math.isnan(truth) and source == "none"


def test_summary_bias_coverage_and_monte_carlo_se_by_hand(study):
    per = pd.DataFrame({"scenario": "hr0.6", "n": 10, "replicate": [0, 1, 2, 3],
                        "method": "landmark", "ci": "Cox model",
                        "log_hr": [np.log(0.5), np.nan, np.log(0.7), np.log(0.9)],
                        "lower": [-1.5, np.nan, -1.0, -0.5], "upper": [0.5, np.nan, 0.3, -0.2],
                        "se": [0.5, np.nan, 0.33, 0.1], "error": ["", "ValueError: x", "", ""],
                        "sim_seed": [1, 2, 3, 4], "truth_tv": 0.6})
    limits = pd.DataFrame({"scenario": ["hr0.6"], "method": ["landmark"],
                           "limit_log_hr": [np.log(0.65)], "limit_mc_se": [0.004]})
    row = study.summarise(per, limits).iloc[0]
    x = np.log([0.5, 0.7, 0.9])
    assert row["reps"] == 4 and row["n_failed"] == 1  # the failed fit counted, not dropped
    assert row["truth"] == pytest.approx(0.65) and row["truth_source"] == "large-n limit"
    assert row["bias"] == pytest.approx(x.mean() - np.log(0.65))
    assert row["bias_tv"] == pytest.approx(x.mean() - np.log(0.6))
    assert row["emp_se"] == pytest.approx(x.std(ddof=1))
    assert row["bias_mcse"] == pytest.approx(x.std(ddof=1) / np.sqrt(3))
    assert row["median_bias"] == pytest.approx(np.log(0.7) - np.log(0.65))
    assert row["mean_se"] == pytest.approx((0.5 + 0.33 + 0.1) / 3)
    # log 0.65 = -0.431 lies in all three intervals
    assert row["cover"] == pytest.approx(1.0)
    assert row["cover_tv"] == pytest.approx(2 / 3)  # log 0.6 = -0.511 is below -0.5
    assert row["limit_mc_se"] == 0.004


def test_limits_pool_independent_draws(study):
    per_draw = pd.DataFrame({"draw": [0, 1, 2, 3], "scenario": "hr0.6", "method": "ccw",
                             "limit_n": 1000, "sim_seed": [5, 6, 7, 8],
                             "limit_log_hr": [-0.5, -0.4, -0.6, np.nan],
                             "limit_error": ["", "", "", "ValueError: x"]})
    row = study.pool_limits(per_draw).iloc[0]
    assert list(study.pool_limits(per_draw).columns) == study.LIMIT_COLUMNS
    assert (row["draws"], row["draws_failed"]) == (3, 1)
    assert row["limit_log_hr"] == pytest.approx(-0.5)
    assert row["limit_sd"] == pytest.approx(0.1)
    assert row["limit_mc_se"] == pytest.approx(0.1 / np.sqrt(3))


def test_limit_draws_are_independent_and_reproducible(study):
    a = study.large_n_limits(["hr0.6"], ["time_varying"], 5000, 3, draws=2, backend="sequential")
    b = study.large_n_limits(["hr0.6"], ["time_varying"], 5000, 3, draws=2, backend="sequential")
    pd.testing.assert_frame_equal(a, b)
    assert a["sim_seed"].nunique() == 2 and a["limit_log_hr"].nunique() == 2
    assert a["limit_error"].eq("").all()
    # 5,000 patients (SE about 0.09): each draw within 0.3 of the true conditional log HR
    assert (a["limit_log_hr"] - math.log(0.6)).abs().max() < 0.3
