"""The simulation-study machinery (studies/hsct_methods.py): columns, seeds, naive bias."""
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
    summ = study.summarise(sequential)
    assert list(summ.columns) == study.SUMMARY_COLUMNS
    assert set(summ["method"]) == {"time_varying", "naive"}
    assert (summ["reps"] == 20).all()
    assert (summ["n_failed"] >= 0).all()
    assert len(sequential) == 40  # 20 replicates x 2 methods, failures kept as rows
    assert summ["truth_tv"].eq(0.6).all()


def test_same_seed_same_numbers_on_sequential_and_joblib(study, sequential):
    joblib = study.run(["hr0.6"], [400], ["time_varying", "naive"], 20, seed=7,
                       backend="joblib", n_jobs=2)
    pd.testing.assert_frame_equal(sequential, joblib)


def test_naive_is_biased_towards_benefit(study, sequential):
    summ = study.summarise(sequential).set_index("method")
    truth = math.log(0.6)
    assert summ.loc["naive", "mean_log_hr"] < truth - 0.25
    assert abs(summ.loc["time_varying", "mean_log_hr"] - truth) < 0.2


def test_failed_fits_are_counted_not_dropped(study):
    per = pd.DataFrame({"scenario": "hr0.6", "n": 10, "replicate": [0, 1, 2],
                        "method": "landmark", "log_hr": [np.log(0.5), np.nan, np.log(0.7)],
                        "lower": [-1.5, np.nan, -1.0], "upper": [0.5, np.nan, 0.3],
                        "se": [0.5, np.nan, 0.33], "error": ["", "ValueError: x", ""],
                        "sim_seed": [1, 2, 3], "truth_tv": 0.6})
    row = study.summarise(per).iloc[0]
    assert row["reps"] == 3 and row["n_failed"] == 1
    assert row["cover_tv"] == 1.0
