"""Weighted Kaplan–Meier (``weights=``, ``id=``, ``robust=``) against R's survfit.

Reference values: ``tests/data/km_weights.json`` from ``tests/data/make_km_weights.R``
(R 4.2.2, survival 3.5-3): whole-number times with ties, zero weights, groups, and
counting-process rows whose weights change from one row of a subject to the next.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rwe_cart.survival.km import kaplan_meier
from paths import TEST_DATA

RTOL, ATOL = 1e-9, 1e-12  # closed-form quantities; the JSON holds 15 significant digits
DOC = json.loads((TEST_DATA / "km_weights.json").read_text())
CASES = DOC["cases"]


def _arr(x) -> np.ndarray:
    x = x if isinstance(x, list) else [x]
    return np.array([np.nan if v is None else v for v in x], dtype=np.float64)


def _frame(name: str) -> pd.DataFrame:
    return pd.DataFrame(DOC["data"][name])


def _fit(case: dict):
    df = _frame(case["data"])
    o = case["options"]
    time, event = ("stop", "event") if case["data"] == "cp" else ("time", "status")
    return kaplan_meier(df, time, event, weights=o.get("weights"), by=o.get("by"),
                        start=o.get("entry"), id=o.get("id"), robust=o.get("robust"),
                        conf_type=o.get("conf_type", "log"))


def _close(actual, expected, what):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=RTOL,
                               atol=ATOL, equal_nan=True, err_msg=what)


@pytest.mark.parametrize("name", sorted(CASES))
def test_weighted_curve_matches_r(name):
    case = CASES[name]
    km = _fit(case)
    t = km.table
    cur = case["curve"]
    surv = _arr(cur["surv"])
    se = _arr(cur["std_err"])
    # R's std.err is on the survival scale for the IJ variance (logse = FALSE), on the
    # −log S scale for Greenwood (logse = TRUE); ours is always on the survival scale
    se_surv = se * surv if cur["logse"] else se
    n_censor = _arr(case.get("n_censor_per_group_fit", cur["n_censor"]))
    assert list(t["group"].astype(str)) == list(cur["group"])
    for ours, ref in [("time", _arr(cur["time"])), ("n_risk", _arr(cur["n_risk"])),
                      ("n_event", _arr(cur["n_event"])), ("n_censor", n_censor),
                      ("survival", surv), ("std_err", se_surv), ("lower", _arr(cur["lower"])),
                      ("upper", _arr(cur["upper"])), ("cumhaz", _arr(cur["cumhaz"])),
                      ("std_chaz", _arr(cur["std_chaz"]))]:
        _close(t[ours], ref, f"{name}: {ours}")
    expected_robust = not cur["logse"]
    assert km.meta["variance"].startswith("infinitesimal") == expected_robust


@pytest.mark.parametrize("name", sorted(CASES))
def test_weighted_median_matches_r(name):
    case = CASES[name]
    med = _fit(case).median()
    for col in ("median", "lower", "upper"):
        _close(med[col], _arr(case["median"][col]), f"{name}: median {col}")


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if "at" in c))
def test_weighted_at_times_matches_r(name):
    case = CASES[name]
    at = _fit(case).at(case["at"]["time"][:3])
    ref = case["at"]
    assert at["n_risk"].dtype == (np.float64 if case["options"].get("weights") else np.int64)
    for ours, r in [("time", "time"), ("n_risk", "n_risk"), ("survival", "surv"),
                    ("std_err", "std_err_surv"), ("lower", "lower"), ("upper", "upper")]:
        _close(at[ours], _arr(ref[r]), f"{name}: at {ours}")


def test_r_grouped_id_censor_counts_are_documented():
    # survival 3.5-3 scrambles n.censor of a grouped fit with id (see the R script); we
    # follow the per-group fits, and agree with the grouped fit on everything else
    case = CASES["counting_id"]
    assert not np.allclose(_arr(case["curve"]["n_censor"]),
                           _arr(case["n_censor_per_group_fit"]))


# -- hand-worked cases and invariants -----------------------------------------------------
SMALL = pd.DataFrame({"t": [1, 2, 2, 3, 4, 5, 5, 6], "s": [1, 0, 1, 1, 0, 1, 0, 1],
                      "w": [1, 0.5, 2, 0, 1.5, 1, 0.7, 2]})


def test_hand_worked_weighted_curve():
    t = kaplan_meier(SMALL, "t", "s", weights="w").table
    # day 1: at risk 8.7 (all weights), 1 event of weight 1 → S = 1 - 1/8.7
    assert t["n_risk"].iloc[0] == pytest.approx(8.7)
    assert t["survival"].iloc[0] == pytest.approx(1 - 1 / 8.7, rel=1e-15)
    # day 2: 7.7 at risk, event weight 2 (the censored 0.5 stays at risk)
    assert t["survival"].iloc[1] == pytest.approx((1 - 1 / 8.7) * (1 - 2 / 7.7), rel=1e-15)
    # day 3: the only event has weight 0: a row, but S does not move
    assert t["time"].iloc[2] == 3 and t["n_event"].iloc[2] == 0
    assert t["survival"].iloc[2] == t["survival"].iloc[1]
    # day 6: everyone left has the event → S = 0, IJ std_err 0 (R), CI undefined
    assert t["survival"].iloc[-1] == 0 and t["std_err"].iloc[-1] == 0
    assert np.isnan(t["lower"].iloc[-1]) and np.isnan(t["upper"].iloc[-1])
    assert t["n_risk"].dtype == np.float64


def test_ij_by_hand_one_event_time():
    # S(1) = 1 - w1/W; the IJ influence of row i is w_i dS/dw_i
    df = pd.DataFrame({"t": [1, 2, 3], "s": [1, 0, 0], "w": [0.5, 1.0, 2.5]})
    t = kaplan_meier(df, "t", "s", weights="w").table
    W, d = 4.0, 0.5
    infl = np.array([-(W - d) / W**2 * 0.5, d / W**2 * 1.0, d / W**2 * 2.5])
    assert t["std_err"].iloc[0] == pytest.approx(np.sqrt((infl**2).sum()), rel=1e-14)


def test_unit_weights_equal_unweighted():
    df = SMALL.assign(one=1.0)
    a = kaplan_meier(df, "t", "s").table
    b = kaplan_meier(df, "t", "s", weights="one").table
    for col in ("time", "n_risk", "n_event", "survival", "std_err", "lower", "upper",
                "cumhaz", "std_chaz"):
        np.testing.assert_allclose(b[col], a[col], rtol=1e-14, equal_nan=True)


def test_integer_weights_equal_replicated_rows():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"t": rng.integers(1, 15, 60), "s": rng.integers(0, 2, 60),
                       "w": rng.integers(1, 4, 60), "g": rng.choice(["a", "b"], 60)})
    a = kaplan_meier(df, "t", "s", weights="w", by="g").table
    b = kaplan_meier(df.loc[df.index.repeat(df["w"])], "t", "s", by="g").table
    for col in ("time", "n_risk", "n_event", "n_censor", "survival", "std_err", "lower",
                "upper", "cumhaz", "std_chaz"):
        np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float),
                                   rtol=1e-12, equal_nan=True, err_msg=col)


def test_splitting_rows_of_a_subject_changes_nothing():
    rng = np.random.default_rng(11)
    n = 80
    df = pd.DataFrame({"id": np.arange(n), "start": 0.0,
                       "stop": rng.integers(2, 30, n).astype(float),
                       "event": rng.integers(0, 2, n), "w": np.round(rng.uniform(0.2, 3, n), 3)})
    cut = np.floor(df["stop"] / 2)
    first = df.assign(stop=cut, event=0)
    second = df.assign(start=cut)
    split = pd.concat([first, second], ignore_index=True)
    a = kaplan_meier(df, "stop", "event", start="start", weights="w", id="id").table
    b = kaplan_meier(split, "stop", "event", start="start", weights="w", id="id").table
    b = b[b["time"].isin(a["time"])].reset_index(drop=True)  # split rows add times
    for col in ("n_risk", "n_event", "n_censor", "survival", "std_err", "cumhaz",
                "std_chaz"):
        np.testing.assert_allclose(b[col], a[col], rtol=1e-12, atol=1e-15, err_msg=col)


def test_scaling_weights_changes_nothing_under_ij():
    a = kaplan_meier(SMALL, "t", "s", weights="w").table
    b = kaplan_meier(SMALL.assign(w=SMALL["w"] * 3.7), "t", "s", weights="w").table
    for col in ("survival", "std_err", "lower", "upper", "cumhaz", "std_chaz"):
        np.testing.assert_allclose(b[col], a[col], rtol=1e-12, equal_nan=True)


def test_row_order_does_not_matter():
    df = pd.DataFrame(DOC["data"]["cp"])
    a = kaplan_meier(df, "stop", "event", start="start", weights="w", id="id", by="arm")
    b = kaplan_meier(df.sample(frac=1, random_state=5), "stop", "event", start="start",
                     weights="w", id="id", by="arm")
    pd.testing.assert_frame_equal(a.table, b.table, rtol=1e-12)


def test_cluster_of_many_rows_is_precise():
    # late entries in long follow-up: the IJ terms cancel; extended precision keeps the
    # result equal to the same data without the split (one row per subject)
    rng = np.random.default_rng(2)
    n = 3000
    stop = rng.integers(1, 2000, n).astype(float)
    df = pd.DataFrame({"id": np.arange(n), "start": 0.0, "stop": stop,
                       "event": rng.integers(0, 2, n), "w": rng.uniform(0.5, 2, n)})
    pieces = [df.assign(start=k * 100.0, stop=np.minimum((k + 1) * 100.0, df["stop"]))
              for k in range(20)]
    long = pd.concat(pieces, ignore_index=True)
    long = long[long["stop"] > long["start"]].copy()
    long["event"] = np.where(long["stop"] == stop[long["id"]], long["event"], 0)
    a = kaplan_meier(df, "stop", "event", start="start", weights="w", id="id").table
    b = kaplan_meier(long, "stop", "event", start="start", weights="w", id="id").table
    b = b[b["time"].isin(a["time"])].reset_index(drop=True)
    np.testing.assert_allclose(b["std_err"], a["std_err"], rtol=1e-10, atol=1e-15)


# -- input errors -------------------------------------------------------------------------
@pytest.mark.parametrize("bad, message", [
    (-1.0, r"1 negative weight \(row 2\); case weights must be >= 0"),
    (np.nan, r"1 missing or infinite weight \(row 2\)"),
    (np.inf, r"1 missing or infinite weight \(row 2\)"),
])
def test_bad_weights_name_rows(bad, message):
    df = SMALL.copy()
    df.loc[2, "w"] = bad
    with pytest.raises(ValueError, match=message):
        kaplan_meier(df, "t", "s", weights="w")


def test_weights_must_be_numeric():
    with pytest.raises(ValueError, match="numeric weights"):
        kaplan_meier(SMALL.assign(w=SMALL["w"] > 1), "t", "s", weights="w")
    with pytest.raises(ValueError, match="not found"):
        kaplan_meier(SMALL, "t", "s", weights="nope")


def test_robust_with_entry_needs_id():
    df = pd.DataFrame(DOC["data"]["cp"])
    with pytest.raises(ValueError, match="needs id="):
        kaplan_meier(df, "stop", "event", start="start", weights="w", robust=True)
    with pytest.raises(TypeError, match="robust must be"):
        kaplan_meier(df, "stop", "event", weights="w", robust="yes")


def test_unweighted_table_keeps_integer_counts():
    t = kaplan_meier(SMALL, "t", "s").table
    assert t["n_risk"].dtype == np.int64
    t = kaplan_meier(SMALL.assign(id=np.arange(8)), "t", "s", id="id").table
    assert t["n_risk"].dtype == np.int64
