"""Restricted mean survival time: R survfit reference, hand-worked cases, input errors,
properties."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import as_array, load_case, load_data
from scipy.stats import norm

from rwe_cart.survival.km import KaplanMeier
from rwe_cart.survival.rmst import RMSTResult, rmst

RTOL, ATOL = 1e-9, 1e-12  # the JSON holds 15 significant digits


# ---------------------------------------------------------------------------------------
# R reference
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("key,tau", [("tau_360", 360), ("tau_common", "common")])
def test_rmst_matches_survfit(key, tau):
    v = load_case("mgus2_rmst")["values"][key]
    res = rmst(load_data("mgus2"), "futime", "death", tau, by="sex")
    tab = res.table
    assert list(tab.columns[:5]) == ["group", "rmst", "se", "lower", "upper"]
    assert [f"sex={g}" for g in tab["group"]] == v["strata"]
    assert res.tau == v["tau"] and (tab["tau"] == v["tau"]).all()
    np.testing.assert_allclose(tab["rmst"], as_array(v["rmean"]), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(tab["se"], as_array(v["se"]), rtol=RTOL, atol=ATOL)
    z = norm.ppf(0.975)
    np.testing.assert_allclose(tab["lower"], as_array(v["rmean"]) - z * as_array(v["se"]),
                               rtol=RTOL)
    np.testing.assert_allclose(tab["upper"], as_array(v["rmean"]) + z * as_array(v["se"]),
                               rtol=RTOL)
    assert res.meta["tau_rule"] == (tau if tau == "common" else float(tau))


@pytest.mark.parametrize("key,tau", [("tau_360", 360), ("tau_common", "common")])
def test_difference_and_ratio_from_r_values(key, tau):
    v = load_case("mgus2_rmst")["values"][key]
    r0, r1 = as_array(v["rmean"])
    s0, s1 = as_array(v["se"])
    res = rmst(load_data("mgus2"), "futime", "death", tau, by="sex", alpha=0.1)
    d = res.difference()
    assert list(d.columns) == ["contrast", "measure", "estimate", "se", "lower", "upper", "p"]
    assert d["contrast"].tolist() == ["M - F", "M / F"]
    assert d["measure"].tolist() == ["difference", "ratio"]
    z = norm.ppf(0.95)
    diff, se = r1 - r0, math.hypot(s0, s1)
    row = d.iloc[0]
    np.testing.assert_allclose([row.estimate, row.se, row.lower, row.upper, row.p],
                               [diff, se, diff - z * se, diff + z * se,
                                2 * norm.sf(abs(diff) / se)], rtol=1e-9)
    log_ratio, se_l = math.log(r1 / r0), math.hypot(s0 / r0, s1 / r1)
    row = d.iloc[1]
    np.testing.assert_allclose([row.estimate, row.se, row.lower, row.upper, row.p],
                               [r1 / r0, se_l, math.exp(log_ratio - z * se_l),
                                math.exp(log_ratio + z * se_l),
                                2 * norm.sf(abs(log_ratio) / se_l)], rtol=1e-9)


def test_common_tau_is_largest_follow_up_and_flags_shorter_groups():
    mgus2 = load_data("mgus2")
    res = rmst(mgus2, "futime", "death", "common", by="sex")
    assert res.tau == mgus2["futime"].max()
    last = mgus2.groupby("sex")["futime"].max()
    assert res.meta["beyond_follow_up"] == [g for g in last.index if last[g] < res.tau]


# ---------------------------------------------------------------------------------------
# Hand-worked cases
# ---------------------------------------------------------------------------------------
def small():
    return pd.DataFrame({"time": [2, 3, 3, 5, 8], "event": [1, 1, 0, 1, 0]})


def test_hand_worked_single_curve():
    # S = 1 on [0,2), 0.8 on [2,3), 0.6 on [3,5), 0.3 on [5,8]
    res = rmst(small(), "time", "event", 6)
    row = res.table.iloc[0]
    assert row["group"] == "all" and row["n"] == 5 and row["events"] == 3
    np.testing.assert_allclose(row["rmst"], 2 + 0.8 + 2 * 0.6 + 0.3, rtol=1e-14)
    # A_j = area from t_j to 6: 2.3, 1.5, 0.3; d/(n(n-d)) = 1/20, 1/12, 1/2
    var = 2.3**2 / 20 + 1.5**2 / 12 + 0.3**2 / 2
    np.testing.assert_allclose(row["se"], math.sqrt(var), rtol=1e-14)
    assert isinstance(res, RMSTResult) and isinstance(res.km, KaplanMeier)


def test_tau_after_last_time_carries_the_curve_flat():
    res = rmst(small(), "time", "event", 10)
    np.testing.assert_allclose(res.table["rmst"].iloc[0], 4.3 + 4 * 0.3, rtol=1e-14)
    assert res.meta["beyond_follow_up"] == ["all"]


def test_tau_before_first_time_and_at_an_event_time():
    res = rmst(small(), "time", "event", 1.5)
    assert res.table["rmst"].iloc[0] == 1.5 and res.table["se"].iloc[0] == 0.0
    # an event exactly at tau lowers nothing after it: the area up to 2 is 2
    res = rmst(small(), "time", "event", 2)
    assert res.table["rmst"].iloc[0] == 2.0 and res.table["se"].iloc[0] == 0.0


def test_everyone_dies_before_tau():
    df = pd.DataFrame({"time": [1, 2, 2], "event": [1, 1, 1]})
    res = rmst(df, "time", "event", 5)
    # S = 1 on [0,1), 2/3 on [1,2), 0 after; the last term (n = d) is 0 as in R
    np.testing.assert_allclose(res.table["rmst"].iloc[0], 1 + 2 / 3, rtol=1e-14)
    np.testing.assert_allclose(res.table["se"].iloc[0], math.sqrt((2 / 3) ** 2 / 6),
                               rtol=1e-14)


def test_groups_follow_category_order_and_difference_needs_two():
    df = small().assign(arm=pd.Categorical(["b", "a", "b", "a", "b"], categories=["b", "a"]))
    res = rmst(df, "time", "event", 4, by="arm")
    assert res.table["group"].tolist() == ["b", "a"]
    assert res.difference()["contrast"].tolist() == ["a - b", "a / b"]
    with pytest.raises(ValueError, match="at least two groups"):
        rmst(small(), "time", "event", 4).difference()


def test_three_groups_contrast_with_the_first():
    lung = load_data("lung").assign(agegrp=lambda d: np.digitize(d["age"], [60, 70]))
    res = rmst(lung, "time", "status", 365, by="agegrp")
    d = res.difference()
    assert d["contrast"].tolist() == ["1 - 0", "2 - 0", "1 / 0", "2 / 0"]
    r = res.table["rmst"].to_numpy()
    np.testing.assert_allclose(d["estimate"].iloc[:2], r[1:] - r[0], rtol=1e-14)
    np.testing.assert_allclose(d["estimate"].iloc[2:], r[1:] / r[0], rtol=1e-14)


def test_result_prints():
    res = rmst(load_data("mgus2"), "futime", "death", "common", by="sex")
    assert "common: largest follow-up time" in repr(res)
    assert "<table" in res._repr_html_()
    with pytest.raises(AttributeError):
        res.tau = 1.0  # type: ignore[misc]


# ---------------------------------------------------------------------------------------
# Input errors
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("tau", [0, -1, float("nan"), float("inf"), "max", True, None, [3]])
def test_bad_tau(tau):
    with pytest.raises(ValueError, match="tau must be"):
        rmst(small(), "time", "event", tau)


def test_input_errors_name_column_and_rows():
    with pytest.raises(ValueError, match="alpha"):
        rmst(small(), "time", "event", 4, alpha=1.5)
    with pytest.raises(ValueError, match=r"column 'time' has 1 negative value \(row 2\)"):
        rmst(small().assign(time=[2, 3, -3, 5, 8]), "time", "event", 4)
    with pytest.raises(ValueError, match=r"column 'event' has 1 value other than 0/1 "
                                         r"\(row 0: 3\)"):
        rmst(small().assign(event=[3, 1, 0, 1, 0]), "time", "event", 4)
    with pytest.raises(ValueError, match=r"column 'arm' \(argument by\) not found"):
        rmst(small(), "time", "event", 4, by="arm")


# ---------------------------------------------------------------------------------------
# Properties (hypothesis)
# ---------------------------------------------------------------------------------------
@st.composite
def frames(draw):
    n = draw(st.integers(1, 30))
    t = draw(st.lists(st.one_of(st.integers(0, 20), st.sampled_from([0.5, 2.25, 7.5])),
                      min_size=n, max_size=n))
    return pd.DataFrame({
        "time": np.asarray(t, dtype=float),
        "event": draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)),
        "g": draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n)),
    })


taus = st.one_of(st.floats(0.1, 30, allow_nan=False), st.just("common"))


@settings(max_examples=150, deadline=None)
@given(frames(), taus)
def test_rmst_at_most_tau(df, tau):
    res = rmst(df, "time", "event", tau, by="g")
    tab = res.table
    assert (tab["rmst"] <= res.tau * (1 + 1e-12)).all()
    assert (tab["rmst"] >= 0).all() and (tab["se"] >= 0).all()
    assert (tab["lower"] <= tab["rmst"]).all() and (tab["rmst"] <= tab["upper"]).all()


@settings(max_examples=150, deadline=None)
@given(frames(), st.floats(0.1, 30, allow_nan=False))
def test_rmst_equals_tau_without_events_before_tau(df, tau):
    df = df.assign(event=np.where(df["time"] < tau, 0, df["event"]))
    res = rmst(df, "time", "event", tau, by="g")
    np.testing.assert_allclose(res.table["rmst"], tau, rtol=1e-12)
    np.testing.assert_array_equal(res.table["se"], 0.0)


@settings(max_examples=100, deadline=None)
@given(frames(), st.floats(0.1, 20, allow_nan=False), st.floats(0.0, 10, allow_nan=False))
def test_rmst_grows_with_tau_by_at_most_the_added_time(df, tau, extra):
    a = rmst(df, "time", "event", tau, by="g").table["rmst"].to_numpy()
    b = rmst(df, "time", "event", tau + extra, by="g").table["rmst"].to_numpy()
    assert (b >= a - 1e-12).all() and (b - a <= extra * (1 + 1e-12) + 1e-12).all()


@settings(max_examples=100, deadline=None)
@given(frames(), st.randoms(use_true_random=False), taus)
def test_rmst_invariant_to_row_order(df, rnd, tau):
    perm = list(range(len(df)))
    rnd.shuffle(perm)
    a = rmst(df, "time", "event", tau, by="g").table
    b = rmst(df.iloc[perm], "time", "event", tau, by="g").table
    pd.testing.assert_frame_equal(a, b)
