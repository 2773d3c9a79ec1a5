"""Cox model: R coxph / cox.zph reference cases, hand-worked cases, errors, properties."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from reference import as_array, heart, jasa, load_case, load_data  # noqa: F401 (fixtures)
from scipy.optimize import brentq

from rwe_cart.survival import _cox_core as core
from rwe_cart.survival.cox import Concordance, CoxModel, cox, cox_coef
from rwe_cart.survival.results import TestResult
from paths import TEST_DATA

RTOL, ATOL = 1e-6, 1e-9  # fitted quantities: R stops at a 1e-9 change in loglik

# JSON name -> our summary column
SUMMARY_MAP = {
    "coef": "coef", "se": "se", "robust_se": "robust_se", "exp_coef": "hr",
    "exp_coef_lower95": "lower", "exp_coef_upper95": "upper", "z": "z", "p": "p",
}
TEST_MAP = {"lrt": "likelihood_ratio", "wald": "wald", "score": "score",
            "robust_score": "robust_score"}


def close(actual, expected, what=""):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), as_array(expected),
                               rtol=RTOL, atol=ATOL, err_msg=what)


def check_model(m: CoxModel, v: dict, what: str) -> None:
    """Compare every value R exported for one coxph fit."""
    assert list(m.summary["term"]) == list(v["term"]), what
    for r_name, ours in SUMMARY_MAP.items():
        if r_name in v:
            close(m.summary[ours], v[r_name], f"{what}: {ours}")
    if "robust_se" not in v:
        assert "robust_se" not in m.summary.columns
    assert m.n == v["n"]
    assert m.n_events == v["nevent"]
    assert m.ties == v["ties"]
    close(m.loglik.null, v["loglik_null"], f"{what}: loglik_null")
    close(m.loglik.fitted, v["loglik"], f"{what}: loglik")
    tests = m.tests.set_index("test")
    for r_name, ours in TEST_MAP.items():
        if r_name in v:
            close(tests.loc[ours, "statistic"], v[r_name]["statistic"], f"{what}: {ours}")
            assert tests.loc[ours, "df"] == v[r_name]["df"]
            close(tests.loc[ours, "p_value"], v[r_name]["p"], f"{what}: {ours} p")
        else:
            assert ours not in tests.index
    close(m.concordance.value, v["concordance"], f"{what}: concordance")
    close(m.concordance.se, v["concordance_se"], f"{what}: concordance se")


def check_zph(table: pd.DataFrame, v: dict, what: str) -> None:
    assert list(table["term"]) == list(v["term"]), what
    close(table["statistic"], v["chisq"], f"{what}: chisq")
    np.testing.assert_array_equal(table["df"], as_array(v["df"]))
    close(table["p_value"], v["p"], f"{what}: p")


HEART_COV = ["age", "year", "surgery", "transplant"]


# ---------------------------------------------------------------------------------------
# R reference cases
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("key, kwargs", [
    ("efron", {}),
    ("breslow", {"ties": "breslow"}),
    ("efron_robust_cluster_id", {"cluster": "id"}),
])
def test_heart_time_dependent_matches_r(heart, key, kwargs):
    v = load_case("heart_cox_td")["values"][key]
    m = cox(heart, time="stop", start="start", event="event", covariates=HEART_COV, **kwargs)
    check_model(m, v, key)
    assert m.robust == ("cluster" in kwargs)


@pytest.mark.parametrize("transform", ["km", "rank", "identity"])
def test_heart_cox_zph_matches_r(heart, transform):
    v = load_case("heart_cox_td")["values"]["zph_efron"][transform]
    assert v["transform"] == transform
    m = cox(heart, time="stop", start="start", event="event", covariates=HEART_COV)
    check_zph(m.ph_test(transform), v, transform)
    if transform == "km":
        check_zph(m.ph_test(), v, "default transform")


def test_heart_zph_unchanged_by_robust(heart):
    v = load_case("heart_cox_td")["values"]["zph_efron"]["km"]
    m = cox(heart, time="stop", start="start", event="event", covariates=HEART_COV,
            cluster="id")
    check_zph(m.ph_test(), v, "robust")


@pytest.mark.parametrize("key", ["naive_transplant_age", "naive_full", "td_transplant_age"])
def test_heart_naive_matches_r(heart, jasa, key):
    v = load_case("heart_cox_naive")["values"][key]
    cov = list(v["term"])
    if key.startswith("naive"):
        m = cox(jasa, time="futime", event="fustat", covariates=cov)
    else:
        m = cox(heart, time="stop", start="start", event="event", covariates=cov)
    check_model(m, v, key)


def test_mantel_byar_score_test_matches_r(heart):
    v = load_case("heart_mantel_byar")["values"]
    m = cox(heart, time="stop", start="start", event="event", covariates=["transplant"],
            ties="breslow")
    t = m.test("score")
    assert isinstance(t, TestResult)
    close(t.statistic, v["statistic"], "score")
    assert t.df == v["df"]
    close(t.p_value, v["p"], "p")
    close(m.summary["coef"], v["coef"], "coef")


def test_landmark30_cox_matches_r():
    case = load_case("heart_landmark30")["values"]
    d = load_data("jasa_landmark30")
    m = cox(d, time="time", event="fustat", covariates=["tx30"])
    check_model(m, case["cox"], "landmark")
    assert m.n == case["n_landmark"]
    assert int(d["tx30"].sum()) == case["n_exposed"]


@pytest.mark.parametrize("key, ties", [("cox_efron", "efron"), ("cox_breslow", "breslow")])
def test_edge_ties_matches_r(key, ties):
    v = load_case("edge_ties")["values"][key]
    m = cox(load_data("ties"), time="time", event="status", covariates=["x", "z"], ties=ties)
    check_model(m, v, key)


def test_left_truncation_matches_r():
    v = load_case("edge_left_truncation")["values"]["cox"]
    m = cox(load_data("left_trunc"), time="exit", start="entry", event="event",
            covariates=["x"])
    check_model(m, v, "left truncation")


def test_lung_stratified_matches_r():
    v = load_case("lung_strat_cox")["values"]
    m = cox(load_data("lung"), time="time", event="status", covariates=["age"],
            strata="sex")
    check_model(m, v["cox"], "lung strata")
    assert v["zph"]["transform"] == "km"
    check_zph(m.ph_test(), v["zph"], "lung zph")
    assert m.strata == "sex"
    assert "strata(sex)" in m.formula


@pytest.mark.parametrize("code, key", [(1, "pcm"), (2, "death")])
def test_mgus2_cause_specific_matches_r(code, key):
    v = load_case("mgus2_cause_specific_cox")["values"][key]
    d = load_data("mgus2")
    d["ev"] = (d["event"] == code).astype(int)
    m = cox(d, time="etime", event="ev", covariates=["age", "sex"])
    check_model(m, v, key)
    assert m.terms == {"age": ("age",), "sex": ("sexM",)}


@pytest.mark.parametrize("key, kwargs", [
    ("efron", {}),
    ("breslow", {"ties": "breslow"}),
    ("efron_cluster_id", {"cluster": "id"}),
])
def test_mgus2_finegray_weighted_matches_r(key, kwargs):
    case = load_case("mgus2_finegray")["values"]
    v = case[key]
    d = load_data("mgus2_finegray_pcm")
    assert len(d) == case["n_rows_expanded"]
    m = cox(d, time="fgstop", start="fgstart", event="fgstatus", covariates=["age", "sex"],
            weights="fgwt", **kwargs)
    # non-integer weights: robust by default (per row, or per id with cluster), as R
    assert m.robust
    check_model(m, v, key)
    assert m.cluster == kwargs.get("cluster")


def test_finegray_robust_false_gives_model_based(heart):
    v = load_case("mgus2_finegray")["values"]["efron"]
    d = load_data("mgus2_finegray_pcm")
    m = cox(d, time="fgstop", start="fgstart", event="fgstatus", covariates=["age", "sex"],
            weights="fgwt", robust=False)
    assert "robust_se" not in m.summary.columns
    close(m.summary["se"], v["se"], "se")
    z = m.summary["coef"] / m.summary["se"]
    close(m.summary["z"], z.to_numpy(), "z uses the model SE")


# ---------------------------------------------------------------------------------------
# Hand-worked cases
# ---------------------------------------------------------------------------------------
def test_hand_no_ties_closed_form():
    # times 1, 2, 3 all events, x = 0, 1, 0: score 1/(u+1) - u/(u+2) = 0 -> u^2 = 2
    d = pd.DataFrame({"time": [1.0, 2.0, 3.0], "event": [1, 1, 1], "x": [0.0, 1.0, 0.0]})
    for ties in ("efron", "breslow"):
        m = cox(d, time="time", event="event", covariates=["x"], ties=ties)
        u = math.sqrt(2.0)
        assert m.summary["coef"].iloc[0] == pytest.approx(math.log(2) / 2, rel=1e-10)
        assert m.loglik.null == pytest.approx(-math.log(3) - math.log(2), rel=1e-12)
        assert m.loglik.fitted == pytest.approx(
            math.log(u) - math.log(u + 2) - math.log(u + 1), rel=1e-10)
        info = u * 2 / (u + 2) ** 2 + u / (u + 1) ** 2
        assert m.summary["se"].iloc[0] == pytest.approx(1 / math.sqrt(info), rel=1e-8)
        score = m.tests.set_index("test").loc["score", "statistic"]
        assert score == pytest.approx(1 / 17, rel=1e-10)  # U(0)=1/6, I(0)=17/36


def test_hand_tied_events_efron_vs_breslow():
    # two events at t=1 (x = 1, 0) and one at t=2 (x = 0)
    d = pd.DataFrame({"time": [1.0, 1.0, 2.0], "event": [1, 1, 1], "x": [1.0, 0.0, 0.0]})
    efron = cox(d, time="time", event="event", covariates=["x"], ties="efron")
    breslow = cox(d, time="time", event="event", covariates=["x"], ties="breslow")
    # Efron: 1 - u/(u+2) - u/(u+3) = 0 -> u^2 = 6 ; Breslow: 1 - 2u/(u+2) = 0 -> u = 2
    assert efron.summary["coef"].iloc[0] == pytest.approx(math.log(6) / 2, rel=1e-10)
    assert breslow.summary["coef"].iloc[0] == pytest.approx(math.log(2), rel=1e-10)
    assert efron.loglik.null == pytest.approx(-math.log(3) - math.log(2), rel=1e-12)
    assert breslow.loglik.null == pytest.approx(-2 * math.log(3), rel=1e-12)


def test_hand_counting_process_entry_not_at_risk_at_entry_time():
    # C enters at 1 and is not at risk for the event at t=1; D censored at 3 is at risk
    d = pd.DataFrame({
        "start": [0.0, 0.0, 1.0, 0.0], "stop": [1.0, 2.0, 3.0, 3.0],
        "event": [1, 1, 1, 0], "x": [1.0, 0.0, 0.0, 1.0],
    })
    m = cox(d, time="stop", start="start", event="event", covariates=["x"], ties="breslow")

    def ll(b):
        u = math.exp(b)
        return b - math.log(2 * u + 1) - math.log(u + 2) - math.log(u + 1)

    def score(b):
        u = math.exp(b)
        return 1 - 2 * u / (2 * u + 1) - u / (u + 2) - u / (u + 1)

    bhat = brentq(score, -10, 10, xtol=1e-14)
    assert m.summary["coef"].iloc[0] == pytest.approx(bhat, rel=1e-9)
    assert m.loglik.null == pytest.approx(ll(0.0), rel=1e-12)
    assert m.loglik.fitted == pytest.approx(ll(bhat), rel=1e-12)


def test_hand_baseline_hazard_and_prediction():
    d = pd.DataFrame({"time": [1.0, 2.0, 3.0], "event": [1, 1, 1], "x": [0.0, 1.0, 0.0]})
    m = cox(d, time="time", event="event", covariates=["x"], ties="breslow")
    u = math.sqrt(2.0)
    assert m.means["x"] == 0.0  # 0/1 covariates are not centred (R)
    bh = m.baseline_hazard()
    expected = np.cumsum([1 / (u + 2), 1 / (u + 1), 1.0])
    np.testing.assert_allclose(bh["cumhaz"], expected, rtol=1e-10)
    np.testing.assert_array_equal(bh["n_risk"], [3, 2, 1])
    np.testing.assert_array_equal(bh["n_event"], [1, 1, 1])
    pred = m.predict_survival(pd.DataFrame({"x": [0.0, 1.0]}, index=["a", "b"]),
                              [0.5, 1.0, 2.5, 3.0, 4.0])
    assert list(pred.columns) == ["profile", "time", "cumhaz", "std_chaz", "survival",
                                  "std_err", "lower", "upper"]
    a = pred[pred["profile"] == "a"]["cumhaz"].to_numpy()
    b = pred[pred["profile"] == "b"]["cumhaz"].to_numpy()
    np.testing.assert_allclose(a[:4], [0.0, expected[0], expected[1], expected[2]],
                               rtol=1e-10)
    np.testing.assert_allclose(b[:4], u * a[:4], rtol=1e-10)
    assert np.isnan(a[4]) and np.isnan(b[4])  # after the last observed time
    np.testing.assert_allclose(pred["survival"], np.exp(-pred["cumhaz"]))
    # SE of the cumulative hazard at x = 0, t = 1 (one event, S0 = u + 2, S1 = u):
    # var = 1 / S0^2 + (S1 / S0^2)^2 var(beta), R's survfit.coxph
    v = float(m.var.iloc[0, 0])
    se = math.sqrt(1 / (u + 2) ** 2 + (u / (u + 2) ** 2) ** 2 * v)
    row = pred[(pred["profile"] == "a") & (pred["time"] == 1.0)].iloc[0]
    assert row["std_chaz"] == pytest.approx(se, rel=1e-10)
    assert row["std_err"] == pytest.approx(row["survival"] * se, rel=1e-12)
    assert row["lower"] == pytest.approx(row["survival"] * math.exp(-1.959963984540054 * se),
                                         rel=1e-9)
    first = pred[pred["time"] == 0.5]  # before the first event: S = 1 with limits [1, 1]
    assert (first[["survival", "lower", "upper"]] == 1.0).all().all()


def test_baseline_hazard_uncentred_and_strata():
    d = load_data("lung")
    m = cox(d, time="time", event="status", covariates=["age"], strata="sex")
    c = m.baseline_hazard(centered=True)
    z = m.baseline_hazard(centered=False)
    assert list(c.columns) == ["stratum", "time", "n_risk", "n_event", "cumhaz"]
    shift = math.exp(-m.means["age"] * m.coef["age"])
    np.testing.assert_allclose(z["cumhaz"], c["cumhaz"] * shift, rtol=1e-12)
    assert set(c["stratum"]) == {1, 2}
    for s, grp in c.groupby("stratum"):
        assert grp["n_risk"].iloc[0] == int((d["sex"] == s).sum())
        assert (np.diff(grp["cumhaz"]) >= 0).all()
    prof = pd.DataFrame({"age": [60, 60], "sex": [1, 2]})
    pred = m.predict_survival(prof, [100, 300])
    assert list(pred["stratum"]) == [1, 1, 2, 2]


# ---------------------------------------------------------------------------------------
# Concordance: R's definition computed pair by pair
# ---------------------------------------------------------------------------------------
def _pairwise_concordance(stop, start, ev, w, g, lp, cluster=None):
    """R concordancefit(reverse=TRUE), O(n^2): counts, C and its influence-based SE."""
    n = len(stop)
    infl = np.zeros((n, 3))
    cnt = np.zeros(3)
    for d in range(n):
        if not ev[d]:
            continue
        t = stop[d]
        for j in range(n):
            if j == d or g[j] != g[d]:
                continue
            at_risk = (start is None or start[j] < t) and (
                stop[j] > t or (stop[j] == t and not ev[j]))
            if not at_risk:
                continue
            k = 0 if lp[j] > lp[d] else (1 if lp[j] < lp[d] else 2)
            cnt[k] += w[d] * w[j]
            infl[d, k] += w[j]
            infl[j, k] += w[d]
    npair = cnt.sum()
    somer = (cnt[0] - cnt[1]) / npair
    dfb = ((infl[:, 0] - infl[:, 1]) - infl.sum(axis=1) * somer) * w / (2 * npair)
    if cluster is not None:
        dfb = np.bincount(cluster, weights=dfb)
    return 1 - (somer + 1) / 2, math.sqrt(dfb @ dfb), cnt


@pytest.mark.parametrize("seed", range(6))
def test_concordance_matches_pairwise_definition(seed):
    rng = np.random.default_rng(seed)
    n = 45
    stop = rng.integers(1, 9, n).astype(float)
    ev = rng.random(n) < 0.6
    w = rng.integers(1, 4, n).astype(float) if seed % 3 else np.ones(n)
    lp = rng.integers(0, 5, n).astype(float) + (rng.normal(size=n) if seed > 3 else 0)
    start = np.maximum(stop - rng.integers(1, 5, n), -1.0) if seed % 2 else None
    g = rng.integers(0, 2, n) if seed >= 2 else np.zeros(n, dtype=int)
    cl = rng.integers(0, 12, n) if seed % 2 == 0 else None
    val, se, counts = core.concordance(stop, start, ev, w, g, lp, cluster=cl)
    bval, bse, bcnt = _pairwise_concordance(stop, start, ev, w, g, lp, cluster=cl)
    assert val == pytest.approx(bval, rel=1e-12)
    assert se == pytest.approx(bse, rel=1e-10)
    # R's count order: concordant (higher risk, shorter time), discordant, tied.x
    np.testing.assert_allclose(counts[:3], bcnt[[1, 0, 2]], rtol=1e-12)


# ---------------------------------------------------------------------------------------
# Result object
# ---------------------------------------------------------------------------------------
def test_result_layout_and_display(heart):
    m = cox(heart, time="stop", start="start", event="event", covariates=HEART_COV,
            cluster="id")
    assert list(m.summary.columns) == ["term", "coef", "se", "robust_se", "hr", "lower",
                                       "upper", "z", "p"]
    assert list(m.tests.columns) == ["test", "statistic", "df", "p_value"]
    assert list(m.tests["test"]) == ["likelihood_ratio", "wald", "score", "robust_score"]
    assert m.formula == "Surv(start, stop, event) ~ age + year + surgery + transplant" \
        " + cluster(id)"
    assert isinstance(m.concordance, Concordance)
    assert float(m.concordance) == m.concordance.value
    assert m.var.shape == (4, 4) and m.naive_var.shape == (4, 4)
    np.testing.assert_allclose(np.sqrt(np.diag(m.var)), m.summary["robust_se"])
    np.testing.assert_allclose(np.sqrt(np.diag(m.naive_var)), m.summary["se"])
    text = repr(m)
    for word in ("n = 172", "events = 75", "transplant", "Likelihood ratio",
                 "Concordance"):
        assert word in text
    assert "<table" in m._repr_html_()
    with pytest.raises(AttributeError):
        m.ties = "breslow"
    with pytest.raises(KeyError):
        m.test("nope")
    assert list(m.ph_test().columns) == ["term", "statistic", "df", "p_value"]


def test_categorical_expansion_and_zph_terms():
    d = load_data("mgus2")
    d["ev"] = (d["event"] == 2).astype(int)
    m = cox(d, time="etime", event="ev", covariates=["age", "agecat", "sex"])
    levels = sorted(d["agecat"].unique())
    assert list(m.summary["term"]) == ["age"] + [f"agecat{lv}" for lv in levels[1:]] + [
        "sexM"]
    z = m.ph_test()
    assert list(z["term"]) == ["age", "agecat", "sex", "GLOBAL"]
    assert list(z["df"]) == [1, len(levels) - 1, 1, len(levels) + 1]
    cat = d.assign(sex=pd.Categorical(d["sex"], categories=["M", "F"]))
    m2 = cox(cat, time="etime", event="ev", covariates=["sex"])
    assert list(m2.summary["term"]) == ["sexF"]  # category order gives the reference


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------
def _frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"time": rng.integers(1, 15, n).astype(float),
                         "event": rng.integers(0, 2, n), "x": rng.normal(size=n),
                         "g": rng.integers(0, 2, n)})


def test_separation_names_the_covariate():
    d = _frame()
    d["event"] = d["g"]  # every event in g == 1: coefficient of g runs off to +inf
    with pytest.raises(ValueError, match="monotone likelihood.*'g'"):
        cox(d, time="time", event="event", covariates=["x", "g"])


def test_separation_by_a_continuous_covariate_names_only_it():
    n = 30
    rng = np.random.default_rng(0)
    # every event has the lowest x of its risk set: the x coefficient runs off to -inf
    d = pd.DataFrame({"time": np.arange(1, n + 1, dtype=float), "event": 1,
                      "x": -np.arange(n, dtype=float) + rng.normal(0, 0.01, n),
                      "z": rng.normal(size=n)})
    with pytest.raises(ValueError, match=r"monotone likelihood: the coefficient of 'x' "):
        cox(d, time="time", event="event", covariates=["z", "x"])


def test_collinearity_names_the_covariates():
    d = _frame()
    d["x2"] = 2 * d["x"] + 1
    with pytest.raises(ValueError, match="'x', 'x2' are collinear"):
        cox(d, time="time", event="event", covariates=["x", "g", "x2"])


def test_covariate_constant_within_strata_is_named():
    d = _frame()
    d["s"] = d["g"]
    with pytest.raises(ValueError, match="singular.*'g'"):
        cox(d, time="time", event="event", covariates=["x", "g"], strata="s")


def test_missing_values_name_column_and_rows():
    d = _frame()
    d.loc[[3, 7], "x"] = np.nan
    with pytest.raises(ValueError, match=r"column 'x' has 2 missing values \(rows 3, 7\)"):
        cox(d, time="time", event="event", covariates=["x"])
    d = _frame()
    d["sex"] = np.where(d["g"] == 1, "M", "F").astype(object)
    d.loc[5, "sex"] = None
    with pytest.raises(ValueError, match=r"'sex'.*row 5"):
        cox(d, time="time", event="event", covariates=["sex"])
    d = _frame()
    d.loc[2, "time"] = np.nan
    with pytest.raises(ValueError, match=r"'time'.*row 2"):
        cox(d, time="time", event="event", covariates=["x"])


@pytest.mark.parametrize("mutate, kwargs, pattern", [
    (lambda d: d.assign(c=1.0), {"covariates": ["x", "c"]}, "'c' is constant"),
    (lambda d: d.assign(c="A"), {"covariates": ["x", "c"]}, "'c' is constant"),
    (lambda d: d.assign(event=0), {}, "no events"),
    (lambda d: d, {"ties": "exact"}, "ties must be"),
    (lambda d: d.assign(wt=np.where(d.index == 4, 0.0, 1.0)), {"weights": "wt"},
     r"weights? <= 0 \(row 4\)"),
    (lambda d: d.assign(id=d.index // 2), {"cluster": "id", "robust": False},
     "robust=False"),
    (lambda d: d.assign(st=0.0), {"start": "st", "robust": True},
     "needs cluster"),
    (lambda d: d.assign(st=d["time"]), {"start": "st"}, "is not before"),
    (lambda d: d, {"covariates": ["nope"]}, "'nope'.*not found"),
    (lambda d: d, {"covariates": []}, "covariates is empty"),
    (lambda d: d, {"covariates": ["x", "x"]}, "twice"),
    (lambda d: d, {"alpha": 1.5}, "alpha"),
])
def test_input_errors(mutate, kwargs, pattern):
    d = mutate(_frame())
    args = {"time": "time", "event": "event", "covariates": ["x"]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=pattern):
        cox(d, **args)


def test_ph_test_rejects_unknown_transform():
    m = cox(_frame(), time="time", event="event", covariates=["x"])
    with pytest.raises(ValueError, match="transform must be"):
        m.ph_test("loglog")


def test_not_a_frame():
    with pytest.raises(TypeError):
        cox({"time": [1]}, time="time", event="event", covariates=["x"])


# ---------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------
def _random_frame(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.integers(0, 2, n).astype(float)
    t = np.ceil(rng.exponential(6 / np.exp(0.4 * x1 - 0.5 * x2)))
    c = np.ceil(rng.exponential(10, n))
    return pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int),
                         "x1": x1, "x2": x2, "id": np.arange(n)})


def _fit_or_skip(d, **kw):
    try:
        return cox(d, time="time", event="event", covariates=["x1", "x2"], **kw)
    except ValueError:
        assume(False)


PROP = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
frames = st.builds(_random_frame, st.integers(0, 10**6), st.integers(15, 60))


@PROP
@given(frames, st.sampled_from(["efron", "breslow"]), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(d, ties, rnd):
    m = _fit_or_skip(d, ties=ties)
    idx = list(d.index)
    rnd.shuffle(idx)
    m2 = cox(d.loc[idx], time="time", event="event", covariates=["x1", "x2"], ties=ties)
    np.testing.assert_allclose(m2.summary["coef"], m.summary["coef"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(m2.summary["se"], m.summary["se"], rtol=1e-8)
    assert m2.loglik.fitted == pytest.approx(m.loglik.fitted, rel=1e-10)
    assert m2.concordance.value == pytest.approx(m.concordance.value, rel=1e-12)
    assert m2.concordance.se == pytest.approx(m.concordance.se, rel=1e-8)
    np.testing.assert_allclose(m2.ph_test()["statistic"], m.ph_test()["statistic"],
                               rtol=1e-6, atol=1e-10)


@PROP
@given(frames, st.floats(-50, 50), st.floats(0.05, 20))
def test_shift_and_scale_of_a_covariate(d, shift, scale):
    m = _fit_or_skip(d)
    ms = cox(d.assign(x1=d["x1"] + shift), time="time", event="event",
             covariates=["x1", "x2"])
    np.testing.assert_allclose(ms.summary["coef"], m.summary["coef"], rtol=1e-7, atol=1e-9)
    assert ms.loglik.fitted == pytest.approx(m.loglik.fitted, rel=1e-9)
    mc = cox(d.assign(x1=d["x1"] * scale), time="time", event="event",
             covariates=["x1", "x2"])
    assert mc.summary["coef"].iloc[0] == pytest.approx(m.summary["coef"].iloc[0] / scale,
                                                       rel=1e-7, abs=1e-10)
    assert mc.summary["se"].iloc[0] == pytest.approx(m.summary["se"].iloc[0] / scale,
                                                     rel=1e-7)
    assert mc.summary["coef"].iloc[1] == pytest.approx(m.summary["coef"].iloc[1],
                                                       rel=1e-7, abs=1e-10)


@PROP
@given(frames, st.sampled_from(["efron", "breslow"]))
def test_splitting_intervals_changes_nothing(d, ties):
    """(0, t] split at an interior cut into (0, c] + (c, t] is the same model (R)."""
    m = _fit_or_skip(d, ties=ties)
    cut = np.floor(d["time"] / 2)
    split = d["time"] > 1
    first = d[split].assign(start=0.0, time=cut[split], event=0)
    second = d[split].assign(start=cut[split])
    whole = d[~split].assign(start=0.0)
    cp = pd.concat([first, second, whole], ignore_index=True)
    m2 = cox(cp, time="time", start="start", event="event", covariates=["x1", "x2"],
             ties=ties, cluster="id")
    np.testing.assert_allclose(m2.summary["coef"], m.summary["coef"], rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(m2.summary["se"], m.summary["se"], rtol=1e-7)
    assert m2.loglik.fitted == pytest.approx(m.loglik.fitted, rel=1e-10)
    # robust SE clustered on id equals the per-row robust SE of the unsplit data
    m3 = cox(d, time="time", event="event", covariates=["x1", "x2"], ties=ties, robust=True)
    np.testing.assert_allclose(m2.summary["robust_se"], m3.summary["robust_se"], rtol=1e-7)
    assert m2.concordance.value == pytest.approx(m.concordance.value, rel=1e-12)


@PROP
@given(frames)
def test_weights_equal_replication(d):
    """Integer case weights are the same as repeating rows with Breslow ties (R's case
    weights; Efron counts tied rows, not weights, so replication adds ties there)."""
    wt = (np.arange(len(d)) % 3 + 1).astype(float)
    m = _fit_or_skip(d.assign(wt=wt), weights="wt", ties="breslow")
    rep = d.loc[d.index.repeat(wt.astype(int))]
    m2 = cox(rep, time="time", event="event", covariates=["x1", "x2"], ties="breslow")
    assert not m.robust  # whole-number weights: model-based SE, as R
    np.testing.assert_allclose(m.summary["coef"], m2.summary["coef"], rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(m.summary["se"], m2.summary["se"], rtol=1e-7)
    assert m.loglik.fitted == pytest.approx(m2.loglik.fitted, rel=1e-10)
    assert m.concordance.value == pytest.approx(m2.concordance.value, rel=1e-12)


@PROP
@given(st.integers(0, 10**6), st.integers(15, 60))
def test_efron_equals_breslow_without_ties(seed, n):
    d = _random_frame(seed, n)
    d["time"] = d["time"] + np.random.default_rng(seed).random(n) * 0.5  # no ties
    e = _fit_or_skip(d, ties="efron")
    b = _fit_or_skip(d, ties="breslow")
    np.testing.assert_allclose(e.summary["coef"], b.summary["coef"], rtol=1e-9, atol=1e-12)
    assert e.loglik.fitted == pytest.approx(b.loglik.fitted, rel=1e-12)


def test_score_residuals_sum_to_score(heart):
    m = cox(heart, time="stop", start="start", event="event", covariates=HEART_COV)
    A = m._core.arrays
    assert m._core.fit.state0.slim  # a non-robust fit keeps only the null scalars
    st0 = core.fit(A, keep_null=True).state0
    np.testing.assert_array_equal(st0.U, m._core.fit.state0.U)
    res = core.score_residuals(A, st0)
    np.testing.assert_allclose(res @ A.w, st0.U, rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------------------------------
# cox_coef: the coefficients alone, refitted on row positions (bootstrap fast path)
# ---------------------------------------------------------------------------------------
COEF_CASES = [
    ("heart", dict(time="stop", start="start", event="event", covariates=HEART_COV)),
    ("heart", dict(time="stop", start="start", event="event", covariates=HEART_COV,
                   ties="breslow")),
    ("lung", dict(time="time", event="status", covariates=["age"], strata="sex")),
    ("mgus2_finegray_pcm", dict(time="fgstop", start="fgstart", event="fgstatus",
                                covariates=["age", "sex"], weights="fgwt")),
]


@pytest.mark.parametrize("name, kw", COEF_CASES,
                         ids=["heart", "heart_breslow", "lung_strata", "mgus2_weights"])
def test_cox_coef_equals_the_full_fit(name, kw):
    d = load_data(name)
    coef = cox_coef(d, **kw)
    full = cox(d, **kw)
    assert coef.terms == tuple(full.summary["term"])
    np.testing.assert_allclose(coef(), full.coef, rtol=1e-10, atol=1e-12)
    # a bootstrap draw: repeated and missing rows, refitted on positions
    rows = np.random.default_rng(7).integers(0, len(d), len(d))
    boot = cox(d.iloc[rows].reset_index(drop=True), **kw)
    got = coef(rows)
    assert list(got.index) == list(boot.summary["term"]) and got.name == "coef"
    np.testing.assert_allclose(got, boot.coef, rtol=1e-10, atol=1e-12)


def test_cox_coef_row_errors(heart):
    coef = cox_coef(heart, time="stop", start="start", event="event", covariates=HEART_COV)
    with pytest.raises(ValueError, match=r"positions 0 \.\. 171"):
        coef([0, 172])
    with pytest.raises(ValueError, match="positions"):
        coef([-1, 3])
    with pytest.raises(TypeError, match="integer row positions"):
        coef(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="empty"):
        coef(np.array([], dtype=int))
    no_events = np.flatnonzero(heart["event"].to_numpy() == 0)
    with pytest.raises(ValueError, match="no events"):
        coef(no_events)
    # a covariate constant in the drawn rows: the fit fails with a message naming it
    untreated = np.flatnonzero(heart["transplant"].to_numpy() == 0)
    with pytest.raises(ValueError, match="transplant"):
        coef(untreated)


def test_cox_coef_validates_like_cox(heart):
    with pytest.raises(ValueError, match="column 'nope' \\(argument event\\) not found"):
        cox_coef(heart, time="stop", event="nope", covariates=HEART_COV)
    with pytest.raises(ValueError, match="ties"):
        cox_coef(heart, time="stop", event="event", covariates=HEART_COV, ties="exact")


def test_a_fit_keeps_one_whole_state(heart):
    """Memory: the null state keeps only scalars unless the robust score test needs it,
    and a fitted model holds no scratch buffer."""
    m = cox(heart, time="stop", start="start", event="event", covariates=HEART_COV)
    assert m._core.fit.state0.slim and not m._core.fit.state.slim
    assert m._core.arrays.work is None
    r = cox(heart, time="stop", start="start", event="event", covariates=HEART_COV,
            cluster="id")
    assert not r._core.fit.state0.slim
    # slimming keeps what the tests use
    np.testing.assert_array_equal(r._core.fit.state0.U, m._core.fit.state0.U)
    assert r._core.fit.state0.loglik == m._core.fit.state0.loglik


# ---------------------------------------------------------------------------------------
# predict_survival: confidence limits against R's survfit.coxph
# ---------------------------------------------------------------------------------------
PREDICT = json.loads((TEST_DATA / "cox_predict.json").read_text())


@pytest.mark.parametrize("key", sorted(PREDICT["cases"]))
def test_predict_survival_limits_match_r(key):
    """tests/data/cox_predict.json from tests/data/make_cox_predict.R (survival 3.5-3)."""
    case = PREDICT["cases"][key]
    opts = dict(case["options"])
    conf_type = opts.pop("conf_type")
    m = cox(load_data(case["data"]), **opts)
    profiles = pd.DataFrame(case["profiles"])
    pred = m.predict_survival(profiles, case["times"], conf_type=conf_type)
    # R's summary(times =) drops times after the end of a curve; here they are NaN
    pred = pred.dropna(subset=["survival"]).reset_index(drop=True)
    np.testing.assert_array_equal(pred["profile"], case["profile"])
    np.testing.assert_array_equal(pred["time"], case["time"])
    for col in ("survival", "cumhaz", "std_err", "std_chaz", "lower", "upper"):
        np.testing.assert_allclose(pred[col], as_array(case[col]), rtol=1e-6, atol=1e-12,
                                   err_msg=f"{key}: {col}")


def test_predict_survival_option_errors(heart):
    m = cox(heart, time="stop", start="start", event="event", covariates=HEART_COV)
    prof = pd.DataFrame({"age": [0.0], "year": [2.0], "surgery": [0], "transplant": [1]})
    with pytest.raises(ValueError, match="conf_type must be one of"):
        m.predict_survival(prof, [10], conf_type="loglog")
    with pytest.raises(ValueError, match="alpha"):
        m.predict_survival(prof, [10], alpha=1.5)
    wide = m.predict_survival(prof, [100], alpha=0.01)
    narrow = m.predict_survival(prof, [100], alpha=0.2)
    assert wide["lower"].iloc[0] < narrow["lower"].iloc[0] < narrow["survival"].iloc[0]
