"""Competing risks: R survfit / cmprsk / finegray reference cases, hand-worked cases,
input errors and properties (hypothesis). Every R number is read from the JSON files."""
from __future__ import annotations

import importlib.util
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import as_array, load_case, load_data

from rwe_cart.survival import _competing_core as core
from rwe_cart.survival.competing import (
    EVENT_FREE,
    CumulativeIncidence,
    FineGrayModel,
    cause_specific_cox,
    cumulative_incidence,
    fine_gray,
    finegray_expand,
    gray_test,
)
from rwe_cart.survival.km import kaplan_meier

RTOL, ATOL = 1e-9, 1e-12      # closed-form estimates; the JSON holds 15 significant digits
RTOL_FIT = 1e-6               # fitted (iterated) quantities
STATES = {"(s0)": EVENT_FREE, "pcm": 1, "death": 2}   # R state name -> ours

HAS_COX = importlib.util.find_spec("rwe_cart.survival.cox") is not None
needs_cox = pytest.mark.skipif(not HAS_COX, reason="rwe_cart.survival.cox not available yet")


def assert_close(actual, expected, what="", rtol=RTOL, atol=ATOL):
    """Equal within rtol/atol, NaN (R's NA/null) only where R has it."""
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), as_array(expected),
                               rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


@pytest.fixture(params=["bins", "sort"])
def path(request, monkeypatch):
    """Run through the whole-number counting path and through the sort path."""
    if request.param == "sort":
        monkeypatch.setattr(core, "_BIN_MAX_TIME", -1)
    else:
        monkeypatch.setattr(core, "_BIN_SLACK", 10**9)
    return request.param


@pytest.fixture(scope="module")
def mgus2():
    return load_data("mgus2")


def state_block(ci: CumulativeIncidence, group, times=None) -> dict:
    sp = ci.state_probabilities(times)
    return {name: sp[(sp["group"] == group) & (sp["state"] == ours)]
            for name, ours in STATES.items()}


# ---------------------------------------------------------------------------------------
# Aalen-Johansen vs R multi-state survfit
# ---------------------------------------------------------------------------------------
def _check_curves(ci, group, expected, what, at_times=None):
    blocks = state_block(ci, group, at_times)
    assert_close(blocks["(s0)"]["time"], expected["time"], f"{what}: time")
    if "n_risk" in expected:
        assert_close(blocks["(s0)"]["n_risk"], expected["n_risk"], f"{what}: n_risk")
    for name in STATES:
        for col in ("pstate", "std_err", "lower", "upper"):
            assert_close(blocks[name][col], expected[name][col], f"{what}: {name} {col}")


def test_aalen_johansen_overall_matches_r(mgus2, path):
    v = load_case("mgus2_aalen_johansen")["values"]
    assert v["states"] == list(STATES) and v["conf_type"] == "log"
    ci = cumulative_incidence(mgus2, "etime", "event")
    assert ci.method == "aalen-johansen-ij" and ci.conf_type == "log"
    assert ci.causes == (1, 2)
    _check_curves(ci, "all", v["overall"], "overall")
    _check_curves(ci, "all", v["overall_at_times"], "overall at times",
                  at_times=v["overall_at_times"]["time"])
    # the .table and .at() views hold the same numbers
    for name in ("pcm", "death"):
        tab = ci.table[ci.table["cause"] == STATES[name]]
        assert_close(tab["cif"], v["overall"][name]["pstate"], f"table {name}")
        assert_close(tab["std_err"], v["overall"][name]["std_err"], f"table {name}")
        assert_close(tab["n_risk"], v["overall"]["n_risk"], f"table {name} n_risk")
        at = ci.at(v["overall_at_times"]["time"])
        at = at[at["cause"] == STATES[name]]
        for col, r in (("cif", "pstate"), ("std_err", "std_err"), ("lower", "lower"),
                       ("upper", "upper")):
            assert_close(at[col], v["overall_at_times"][name][r], f"at {name} {col}")


def test_aalen_johansen_by_sex_matches_r(mgus2, path):
    v = load_case("mgus2_aalen_johansen")["values"]
    ci = cumulative_incidence(mgus2, "etime", "event", by="sex")
    assert ci.groups == ("F", "M")
    for g in ci.groups:
        _check_curves(ci, g, v["by_sex"][f"sex={g}"], f"sex={g}")
        _check_curves(ci, g, v["by_sex_at_times"][f"sex={g}"], f"sex={g} at times",
                      at_times=v["by_sex_at_times"][f"sex={g}"]["time"])


# ---------------------------------------------------------------------------------------
# cmprsk::cuminc: variance and Gray's test
# ---------------------------------------------------------------------------------------
def test_cuminc_estimates_and_variances_match_r(mgus2, path):
    v = load_case("mgus2_cuminc")["values"]
    for key, by in (("overall_at_times", None), ("by_sex_at_times", "sex")):
        ref = v[key]
        ci = cumulative_incidence(mgus2, "etime", "event", by=by, variance="cuminc")
        assert ci.method == "cuminc"
        at = ci.at(ref["time"])
        for curve in ref["curve"]:
            grp, cause = curve.split(" ")
            grp = "all" if by is None else grp
            rows = at[(at["group"] == grp) & (at["cause"] == int(cause))]
            assert_close(rows["time"], ref["time"], f"{key} {curve} time")
            assert_close(rows["cif"], ref["est"][curve], f"{key} {curve} est")
            assert_close(rows["std_err"] ** 2, ref["var"][curve], f"{key} {curve} var")


def test_cuminc_and_survfit_share_estimates_not_variances(mgus2):
    ij = cumulative_incidence(mgus2, "etime", "event")
    gray = cumulative_incidence(mgus2, "etime", "event", variance="cuminc")
    np.testing.assert_array_equal(ij.table["cif"], gray.table["cif"])
    last = ij.table["cause"] == 1
    assert not np.allclose(ij.table.loc[last, "std_err"].iloc[-1],
                           gray.table.loc[last, "std_err"].iloc[-1], rtol=1e-3)


def test_gray_test_matches_r(mgus2, path):
    v = load_case("mgus2_cuminc")["values"]["gray_test"]
    res = gray_test(mgus2, "etime", "event", "sex")
    assert list(res.columns) == ["cause", "statistic", "df", "p_value"]
    assert [str(c) for c in res["cause"]] == v["cause"]
    assert_close(res["statistic"], v["stat"], "Gray statistic")
    assert_close(res["p_value"], v["p"], "Gray p")
    assert_close(res["df"], v["df"], "Gray df")


def test_gray_test_strata_of_one_level_and_group_relabelling(mgus2):
    base = gray_test(mgus2, "etime", "event", "sex")
    one = gray_test(mgus2.assign(s=1), "etime", "event", "sex", strata="s")
    np.testing.assert_allclose(one["statistic"], base["statistic"], rtol=1e-12)
    flipped = gray_test(mgus2.assign(sex=mgus2["sex"].map({"F": "b", "M": "a"})),
                        "etime", "event", "sex")
    np.testing.assert_allclose(flipped["statistic"], base["statistic"], rtol=1e-10)


def test_gray_test_three_groups_runs_and_is_order_free(mgus2):
    res = gray_test(mgus2, "etime", "event", "agecat")
    assert (res["df"] == 3).all() and np.isfinite(res["statistic"]).all()
    shuffled = mgus2.sample(frac=1.0, random_state=3)
    np.testing.assert_allclose(gray_test(shuffled, "etime", "event", "agecat")["statistic"],
                               res["statistic"], rtol=1e-10)


# ---------------------------------------------------------------------------------------
# Fine-Gray: cmprsk::crr
# ---------------------------------------------------------------------------------------
def signif(x, digits):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore"):
        mag = np.floor(np.log10(np.abs(x)))
    return np.round(x / 10**mag, digits - 1) * 10**mag


@pytest.mark.parametrize("key,dataset,covariates", [
    ("age_sex", "mgus2", ["age", "sex_m"]),
    ("age_sex_mspike", "mgus2_mspike_cc", ["age", "sex_m", "mspike"]),
])
def test_crr_matches_r(key, dataset, covariates):
    v = load_case("mgus2_crr")["values"][key]
    m = fine_gray(load_data(dataset), time="etime", cause="event", covariates=covariates,
                  failure_cause=1)
    assert isinstance(m, FineGrayModel) and m.method == "crr"
    s = m.summary
    assert list(s.columns) == ["term", "coef", "se", "hr", "lower", "upper", "z", "p"]
    assert list(s["term"]) == v["term"]
    assert m.converged is bool(v["converged"])
    for ours, r in (("coef", "coef"), ("hr", "exp_coef"), ("se", "se"), ("z", "z")):
        assert_close(s[ours], v[r], f"crr {key} {ours}", rtol=RTOL_FIT)
    # summary.crr prints p rounded to 2 significant digits
    np.testing.assert_allclose(signif(s["p"], 2), as_array(v["p"]), rtol=1e-12)
    assert_close(m.loglik[1], v["loglik"], "loglik", rtol=RTOL_FIT)
    assert_close(m.loglik[0], v["loglik_null"], "loglik_null", rtol=RTOL_FIT)


def test_crr_invariances(mgus2):
    base = fine_gray(mgus2, time="etime", cause="event", covariates=["age", "sex_m"])
    scaled = fine_gray(mgus2.assign(age=mgus2["age"] / 10), time="etime", cause="event",
                       covariates=["age", "sex_m"])
    np.testing.assert_allclose(scaled.summary["coef"].iloc[0],
                               base.summary["coef"].iloc[0] * 10, rtol=1e-6)
    np.testing.assert_allclose(scaled.summary["z"], base.summary["z"], rtol=1e-6)
    shuffled = fine_gray(mgus2.sample(frac=1.0, random_state=7), time="etime",
                         cause="event", covariates=["age", "sex_m"])
    np.testing.assert_allclose(shuffled.summary[["coef", "se"]], base.summary[["coef", "se"]],
                               rtol=1e-9)
    # the other cause is modelled when asked
    death = fine_gray(mgus2, time="etime", cause="event", covariates=["age", "sex_m"],
                      failure_cause=2)
    assert death.failure_cause == 2 and death.n_event == int((mgus2["event"] == 2).sum())
    assert "Fine–Gray" in repr(base) and "<table" in base._repr_html_()


# ---------------------------------------------------------------------------------------
# survival::finegray expansion and the weighted Cox fit
# ---------------------------------------------------------------------------------------
def test_finegray_expansion_matches_r(mgus2, path):
    v = load_case("mgus2_finegray")["values"]
    ref = load_data("mgus2_finegray_pcm")
    data = mgus2[["id", "etime", "event", "age", "sex"]]
    assert len(data) == v["n_rows_input"]
    fg = finegray_expand(data, time="etime", cause="event", failure_cause=1, id="id")
    assert list(fg.columns) == list(ref.columns)
    assert len(fg) == v["n_rows_expanded"] == len(ref)
    for col in ("id", "age", "fgstatus"):
        np.testing.assert_array_equal(fg[col], ref[col])
    assert (fg["sex"] == ref["sex"]).all()
    for col in ("fgstart", "fgstop", "fgwt"):
        assert_close(fg[col], ref[col], f"finegray {col}")


FG_KEYS = [("efron", {"ties": "efron"}), ("breslow", {"ties": "breslow"}),
           ("efron_cluster_id", {"ties": "efron", "cluster": "id"})]


@needs_cox
@pytest.mark.parametrize("key,opts", FG_KEYS, ids=[k for k, _ in FG_KEYS])
def test_finegray_weighted_cox_matches_r(mgus2, key, opts):
    v = load_case("mgus2_finegray")["values"][key]
    m = fine_gray(mgus2, time="etime", cause="event", covariates=["age", "sex_m"],
                  method="finegray", **opts)
    s = m.summary
    for ours, r in (("coef", "coef"), ("se", "se"), ("robust_se", "robust_se"), ("z", "z"),
                    ("p", "p")):
        assert_close(s[ours], v[r], f"finegray {key} {ours}", rtol=RTOL_FIT)
    assert_close(s["lower"], v["exp_coef_lower95"], f"{key} lower", rtol=RTOL_FIT)
    assert_close(s["upper"], v["exp_coef_upper95"], f"{key} upper", rtol=RTOL_FIT)
    assert_close(m.loglik[1], v["loglik"], f"{key} loglik", rtol=RTOL_FIT)
    assert_close(m.loglik[0], v["loglik_null"], f"{key} loglik_null", rtol=RTOL_FIT)
    assert m.meta["n_expanded"] == load_case("mgus2_finegray")["values"]["n_rows_expanded"]


@needs_cox
def test_cause_specific_cox_matches_r(mgus2):
    v = load_case("mgus2_cause_specific_cox")["values"]
    fits = cause_specific_cox(mgus2, time="etime", cause="event", covariates=["age", "sex_m"])
    assert list(fits) == [1, 2]
    for cause, key in ((1, "pcm"), (2, "death")):
        s = fits[cause].summary
        for ours, r in (("coef", "coef"), ("se", "se"), ("z", "z"), ("p", "p")):
            assert_close(s[ours], v[key][r], f"cause-specific {key} {ours}", rtol=RTOL_FIT)
        assert_close(list(fits[cause].loglik), [v[key]["loglik_null"], v[key]["loglik"]],
                     f"cause-specific {key} loglik", rtol=RTOL_FIT)


# ---------------------------------------------------------------------------------------
# Hand-worked cases and an independent O(n·J) oracle
# ---------------------------------------------------------------------------------------
def naive_aj(t, status, n_causes):
    """R survfitci.c, written as the plain per-subject recursion (unit weights, no id):
    U <- U H + p0(t-)/n (dN - Y dA); var = sum_i U_i^2. Quadratic, for tests only."""
    t = np.asarray(t, dtype=np.float64)
    n = t.size
    ns = n_causes + 1
    U = np.zeros((n, ns))
    p = np.zeros(ns)
    p[0] = 1.0
    gone = np.zeros(n, dtype=bool)
    out_p, out_se = [], []
    for tj in np.unique(t):
        here = t == tj
        risk = ~gone
        ev = here & (status > 0)
        ws = risk.sum()
        if ev.any():
            H = np.eye(ns)
            for k in range(1, ns):
                H[0, k] = np.sum(ev & (status == k)) / ws
            H[0, 0] = 1.0 - ev.sum() / ws
            U = U @ H
            U[risk] -= H[0] * p[0] / ws
            dest = np.where(ev, status, 0)
            U[np.flatnonzero(risk), dest[risk]] += p[0] / ws
            p = p @ H
        out_p.append(p.copy())
        out_se.append(np.sqrt((U**2).sum(axis=0)))
        gone |= here
    return np.array(out_p), np.array(out_se)


def ours_by_state(ci: CumulativeIncidence):
    sp = ci.state_probabilities()
    states = [EVENT_FREE, *ci.causes]
    p = np.column_stack([sp.loc[sp["state"] == s, "pstate"].to_numpy() for s in states])
    se = np.column_stack([sp.loc[sp["state"] == s, "std_err"].to_numpy() for s in states])
    return p, se


TIES = pd.DataFrame({"time": [1, 2, 2, 2, 3, 3, 4, 5, 5],
                     "cause": [1, 2, 1, 0, 0, 2, 1, 1, 2]})


def test_ties_between_causes_by_hand(path):
    ci = cumulative_incidence(TIES, "time", "cause")
    tab = ci.table
    c1 = tab[tab["cause"] == 1]
    c2 = tab[tab["cause"] == 2]
    # n = 9; t=1: 1 event of 1 -> S = 8/9; t=2: n=8, one of each cause, one censored
    # S = 8/9 * 6/8 = 2/3; t=3: n=5, one cause 2 + one censored -> S = 2/3 * 4/5 = 8/15;
    # t=4: n=3 -> S = 8/15 * 2/3 = 16/45; t=5: n=2, both fail -> S = 0
    s = np.array([8 / 9, 2 / 3, 8 / 15, 16 / 45, 0.0])
    s_prev = np.concatenate(([1.0], s[:-1]))
    n = np.array([9, 8, 5, 3, 2])
    np.testing.assert_array_equal(c1["n_risk"], n)
    np.testing.assert_array_equal(c1["n_event"], [1, 1, 0, 1, 1])
    np.testing.assert_array_equal(c2["n_event"], [0, 1, 1, 0, 1])
    np.testing.assert_array_equal(c1["n_censor"], [0, 1, 1, 0, 0])
    np.testing.assert_allclose(c1["cif"], np.cumsum(s_prev * np.array([1, 1, 0, 1, 1]) / n),
                               rtol=1e-14)
    np.testing.assert_allclose(c2["cif"], np.cumsum(s_prev * np.array([0, 1, 1, 0, 1]) / n),
                               rtol=1e-14)
    np.testing.assert_allclose(ci.event_free["pstate"], s, rtol=1e-14, atol=1e-15)
    # first time: var = h(1 - h)/n for every state
    h = 1 / 9
    np.testing.assert_allclose(c1["std_err"].iloc[0], math.sqrt(h * (1 - h) / 9), rtol=1e-14)
    np.testing.assert_allclose(ci.event_free["std_err"].iloc[0], math.sqrt(h * (1 - h) / 9),
                               rtol=1e-14)
    assert c2["std_err"].iloc[0] == 0 and np.isnan(c2["lower"].iloc[0])
    # every time: the O(n) variance equals the per-subject recursion
    p_ref, se_ref = naive_aj(TIES["time"], TIES["cause"].to_numpy(), 2)
    p, se = ours_by_state(ci)
    np.testing.assert_allclose(p, p_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(se, se_ref, rtol=1e-10, atol=1e-12)


def test_event_at_time_zero_and_ties_with_censoring():
    df = pd.DataFrame({"time": [0, 0, 0, 1, 1, 2, 3, 3],
                       "cause": [1, 0, 2, 1, 0, 2, 0, 1]})
    ci = cumulative_incidence(df, "time", "cause")
    assert ci.table["time"].iloc[0] == 0
    p_ref, se_ref = naive_aj(df["time"], df["cause"].to_numpy(), 2)
    p, se = ours_by_state(ci)
    np.testing.assert_allclose(p, p_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(se, se_ref, rtol=1e-10, atol=1e-12)


def test_all_censored():
    df = pd.DataFrame({"time": [3, 1, 2], "cause": [0, 0, 0]})
    ci = cumulative_incidence(df, "time", "cause")
    assert ci.causes == () and len(ci.table) == 0
    assert list(ci.table.columns) == ["group", "cause", "time", "cif", "std_err", "lower",
                                      "upper", "n_risk", "n_event", "n_censor"]
    np.testing.assert_array_equal(ci.event_free["time"], [1, 2, 3])
    np.testing.assert_array_equal(ci.event_free["pstate"], 1.0)
    np.testing.assert_array_equal(ci.event_free["std_err"], 0.0)
    np.testing.assert_array_equal(ci.event_free["n_risk"], [3, 2, 1])
    # all censored in one group only: that group's CIFs are 0 with no CI
    df2 = pd.DataFrame({"time": [1, 2, 3, 4], "cause": [0, 0, 1, 2], "g": list("aabb")})
    ci2 = cumulative_incidence(df2, "time", "cause", by="g")
    a = ci2.table[ci2.table["group"] == "a"]
    assert (a["cif"] == 0).all() and (a["std_err"] == 0).all() and a["lower"].isna().all()
    b = ci2.table[(ci2.table["group"] == "b") & (ci2.table["cause"] == 1)]
    np.testing.assert_allclose(b["cif"], [0.5, 0.5])


def test_one_cause_is_one_minus_kaplan_meier(mgus2):
    df = mgus2.assign(ev=np.where(mgus2["event"] > 0, 1, 0))
    ci = cumulative_incidence(df, "etime", "ev", by="sex")
    km = kaplan_meier(df, "etime", "ev", by="sex")
    np.testing.assert_array_equal(ci.table["time"], km.table["time"])
    np.testing.assert_allclose(ci.table["cif"], 1 - km.table["survival"], rtol=1e-13,
                               atol=1e-15)
    np.testing.assert_allclose(ci.event_free["pstate"], km.table["survival"], rtol=1e-14)
    # one cause: U_1 = -U_0, so the two IJ standard errors coincide
    np.testing.assert_allclose(ci.table["std_err"], ci.event_free["std_err"], rtol=1e-9)


def test_at_times_before_first_and_after_last():
    ci = cumulative_incidence(TIES, "time", "cause")
    at = ci.at([0.5, 2, 2.5, 5, 7])
    c1 = at[at["cause"] == 1]
    np.testing.assert_array_equal(c1["time"], [0.5, 2, 2.5, 5])     # 7 > last time: dropped
    assert c1["cif"].iloc[0] == 0 and c1["std_err"].iloc[0] == 0 and np.isnan(c1["lower"].iloc[0])
    tab = ci.table[ci.table["cause"] == 1]
    assert c1["cif"].iloc[1] == tab["cif"].iloc[1] == c1["cif"].iloc[2]
    np.testing.assert_array_equal(c1["n_event"], [0, 2, 0, 2])
    np.testing.assert_array_equal(c1["n_risk"], [9, 8, 5, 2])
    sp = ci.state_probabilities([0.5])
    assert list(sp["state"]) == [EVENT_FREE, 1, 2]
    np.testing.assert_array_equal(sp["pstate"], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(sp["lower"].iloc[:1], [1.0])


def test_alpha_string_causes_and_display():
    df = TIES.assign(cause=TIES["cause"].map({0: "cens", 1: "relapse", 2: "nrm"}))
    ci = cumulative_incidence(df, "time", "cause", censored="cens", alpha=0.1)
    assert ci.causes == ("nrm", "relapse")
    base = cumulative_incidence(TIES, "time", "cause")
    rel = ci.table[ci.table["cause"] == "relapse"]
    np.testing.assert_allclose(rel["cif"], base.table.loc[base.table["cause"] == 1, "cif"])
    z90, z95 = 1.6448536269514722, 1.959963984540054
    ok = rel["cif"] > 0
    np.testing.assert_allclose(np.log(rel["upper"][ok & (rel["upper"] < 1)] /
                                      rel["cif"][ok & (rel["upper"] < 1)]),
                               (z90 * rel["std_err"] / rel["cif"])[ok & (rel["upper"] < 1)],
                               rtol=1e-12)
    assert z95 > z90
    text = repr(ci)
    assert "Aalen–Johansen" in text and "90% CI" in text
    assert "<table" in ci._repr_html_()
    s = ci.summary
    assert list(s.columns) == ["group", "cause", "n", "n_event", "time", "cif", "lower", "upper"]
    with pytest.warns(FutureWarning, match=r"CumulativeIncidence\.summary.*without paren"):
        called = ci.summary()
    assert type(called) is pd.DataFrame
    pd.testing.assert_frame_equal(called, pd.DataFrame(s))


def test_timefix_merges_near_equal_times(path):
    df = pd.DataFrame({"time": [1.0, 1.0 + 1e-12, 2.5], "cause": [1, 2, 0]})
    fixed = cumulative_incidence(df, "time", "cause")
    np.testing.assert_array_equal(fixed.event_free["time"], [1.0, 2.5])
    np.testing.assert_array_equal(fixed.table["n_event"], [1, 0, 1, 0])
    raw = cumulative_incidence(df, "time", "cause", timefix=False)
    assert len(raw.event_free) == 3


def test_finegray_expansion_by_hand_with_time_zero():
    # times 0..4; cause 1 = event of interest, 2 = competing, 0 = censored
    df = pd.DataFrame({"time": [0, 1, 2, 3, 4, 5], "cause": [2, 0, 1, 0, 1, 0],
                       "x": [10, 11, 12, 13, 14, 15]})
    fg = finegray_expand(df, time="time", cause="cause")
    # start is 2*min(time) - 1 = -1; G (censoring KM) = 4/5 after t=1, 4/5*2/3 after t=3;
    # the competing row (t=0) runs to the next censoring time 1 with weight 1, then one
    # row per later censoring interval holding an event of interest: (1,3] and (3,5]
    first = fg[fg["x"] == 10]
    np.testing.assert_array_equal(first["fgstart"], [-1, 1, 3])
    np.testing.assert_array_equal(first["fgstop"], [1, 3, 5])
    np.testing.assert_allclose(first["fgwt"], [1, 4 / 5, 8 / 15], rtol=1e-14)
    assert (first["fgstatus"] == 0).all()
    rest = fg[fg["x"] != 10]
    np.testing.assert_array_equal(rest["fgstop"], [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(rest["fgstatus"], [0, 1, 0, 1, 0])
    assert (rest["fgwt"] == 1).all() and (rest["fgstart"] == -1).all()
    assert list(fg.columns) == ["x", "fgstart", "fgstop", "fgstatus", "fgwt"]


def test_crr_not_converged_warns(mgus2):
    with pytest.warns(RuntimeWarning, match="did not converge"):
        m = fine_gray(mgus2, time="etime", cause="event", covariates=["age"], maxiter=0)
    assert m.converged is False and "NOT converged" in repr(m)
    np.testing.assert_array_equal(m.summary["coef"], [0.0])


def test_cuminc_variance_event_free_state_is_greenwood(mgus2):
    ci = cumulative_incidence(mgus2, "etime", "event", by="sex", variance="cuminc")
    km = kaplan_meier(mgus2.assign(ev=(mgus2["event"] > 0).astype(int)), "etime", "ev",
                      by="sex")
    np.testing.assert_allclose(ci.event_free["std_err"], km.table["std_err"], rtol=1e-12)


# ---------------------------------------------------------------------------------------
# Input errors
# ---------------------------------------------------------------------------------------
def test_errors():
    df = TIES.copy()
    with pytest.raises(ValueError, match=r"column 'cause' has 1 missing value \(row 2\)"):
        cumulative_incidence(df.assign(cause=[1, 2, None, 0, 0, 2, 1, 1, 2]), "time", "cause")
    with pytest.raises(ValueError, match="non-numeric cause codes.*censored="):
        cumulative_incidence(df.assign(cause=df["cause"].astype(str)), "time", "cause")
    with pytest.raises(ValueError, match=r"column 'time' has 1 negative value \(row 0\)"):
        cumulative_incidence(df.assign(time=[-1, 2, 2, 2, 3, 3, 4, 5, 5]), "time", "cause")
    with pytest.raises(ValueError, match="variance must be one of"):
        cumulative_incidence(df, "time", "cause", variance="greenwood")
    with pytest.raises(ValueError, match="alpha"):
        cumulative_incidence(df, "time", "cause", alpha=1.5)
    with pytest.raises(ValueError, match=r"column 'x' \(argument by\) not found"):
        cumulative_incidence(df, "time", "cause", by="x")
    with pytest.raises(ValueError, match="single group"):
        gray_test(df.assign(g=1), "time", "cause", "g")
    with pytest.raises(ValueError, match=r"failure_cause=3 is not a cause"):
        fine_gray(df.assign(x=1.0), time="time", cause="cause", covariates=["x"],
                  failure_cause=3)
    with pytest.raises(ValueError, match=r"column 'x' has 1 missing value \(row 1\)"):
        fine_gray(df.assign(x=[1, None, 2, 3, 4, 5, 6, 7, 8]), time="time", cause="cause",
                  covariates=["x"])
    with pytest.raises(ValueError, match="method must be"):
        fine_gray(df.assign(x=1.0), time="time", cause="cause", covariates=["x"],
                  method="pseudo")
    with pytest.raises(ValueError, match="covariate 'x' is constant"):
        fine_gray(df.assign(x=1.0), time="time", cause="cause", covariates=["x"])
    with pytest.raises(ValueError, match="collinear"):
        x = np.arange(9.0)
        fine_gray(df.assign(x=x, y=2 * x + 1), time="time", cause="cause",
                  covariates=["x", "y"])
    with pytest.raises(ValueError, match="repeated ids"):
        finegray_expand(df.assign(id=[1, 1, 2, 3, 4, 5, 6, 7, 8]), time="time",
                        cause="cause", id="id")


# ---------------------------------------------------------------------------------------
# Properties (hypothesis)
# ---------------------------------------------------------------------------------------
@st.composite
def competing_frames(draw, max_n=30):
    n = draw(st.integers(1, max_n))
    times = draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))
    causes = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    groups = draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n))
    scale = draw(st.sampled_from([1.0, 0.37]))   # 0.37: non-integer times (sort path)
    return pd.DataFrame({"time": np.asarray(times) * scale, "cause": causes, "g": groups})


@settings(max_examples=150, deadline=None)
@given(competing_frames())
def test_state_probabilities_invariants(df):
    ci = cumulative_incidence(df, "time", "cause", by="g")
    sp = ci.state_probabilities()
    total = sp.groupby(["group", "time"])["pstate"].sum()
    np.testing.assert_allclose(total, 1.0, rtol=1e-12)
    for (_, _), blk in ci.table.groupby(["group", "cause"]):
        assert (np.diff(blk["cif"].to_numpy()) >= -1e-15).all()
        ok = blk["lower"].notna()
        assert (blk["lower"][ok] <= blk["cif"][ok] + 1e-15).all()
        assert (blk["cif"][ok] <= blk["upper"][ok] + 1e-15).all()
        assert (blk["std_err"] >= 0).all()
    # R's n_risk: everyone in the group at the first time, then minus who left
    for g, blk in ci.event_free.groupby("group"):
        sub = df[df["g"] == g]
        assert blk["n_risk"].iloc[0] == len(sub)


@settings(max_examples=150, deadline=None)
@given(competing_frames(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(df, rnd):
    perm = list(range(len(df)))
    rnd.shuffle(perm)
    a = cumulative_incidence(df, "time", "cause", by="g")
    b = cumulative_incidence(df.iloc[perm], "time", "cause", by="g")
    pd.testing.assert_frame_equal(a.table, b.table, rtol=1e-12)
    pd.testing.assert_frame_equal(a.event_free, b.event_free, rtol=1e-12)


@settings(max_examples=150, deadline=None)
@given(competing_frames())
def test_linear_ij_variance_equals_per_subject_recursion(df):
    ci = cumulative_incidence(df, "time", "cause")
    codes = np.zeros(len(df), dtype=np.int64)
    for k, lab in enumerate(ci.causes, start=1):
        codes[df["cause"].to_numpy() == lab] = k
    p_ref, se_ref = naive_aj(df["time"].to_numpy(), codes, len(ci.causes))
    p, se = ours_by_state(ci)
    np.testing.assert_allclose(p, p_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(se, se_ref, rtol=1e-8, atol=1e-10)
