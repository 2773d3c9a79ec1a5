"""Clone–censor–weight: hand-checked cloning, weights, known truth, bootstrap."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import rwe_cart as rc
from rwe_cart.exposure import ExposureEstimate
from rwe_cart.exposure import CCWResult, ccw, ccw_cohort, clone_censor
from rwe_cart.survival.km import KaplanMeier
from rwe_cart.synthetic import model as M
from rwe_cart.synthetic import rocca

G = 120.0

# id, time, event, exposure_time, time zero; what each clone should be (stop, event, artificial)
TINY = [
    # treated at 50 (in grace), event at 300: never-arm censored at 50; treat-arm event
    ("P1", 300, 1, 50, 0, (50, 0, True), (300, 1, False)),
    # untreated, event at 40 inside the grace period: counts in both arms
    ("P2", 40, 1, np.nan, 0, (40, 1, False), (40, 1, False)),
    # untreated, lost to follow-up at 80 < G: naturally censored in both arms
    ("P3", 80, 0, np.nan, 0, (80, 0, False), (80, 0, False)),
    # untreated, alive at 500: treat-arm artificially censored at G
    ("P4", 500, 0, np.nan, 0, (500, 0, False), (120, 0, True)),
    # treated late (200 > G), event 400: censored at 200 / at G
    ("P5", 400, 1, 200, 0, (200, 0, True), (120, 0, True)),
    # event on the day of treatment: the event comes first, counts in both arms
    ("P6", 60, 1, 60, 0, (60, 1, False), (60, 1, False)),
    # treated exactly at G: compliant
    ("P7", 365, 0, 120, 0, (120, 0, True), (365, 0, False)),
    # treated the day follow-up ends (no event): censored at the treatment / compliant
    ("P8", 10, 0, 10, 0, (10, 0, True), (10, 0, False)),
    # own time zero 30: treated 70 days later, event 370 days after time zero
    ("P9", 400, 1, 100, 30, (70, 0, True), (370, 1, False)),
    # own time zero 30, untreated, event at 140 (110 after time zero, inside the grace)
    ("P10", 140, 1, np.nan, 30, (110, 1, False), (110, 1, False)),
    # treated after the event (e.g. a salvage transplant): not a treatment in follow-up
    ("P11", 100, 1, 150, 0, (100, 1, False), (100, 1, False)),
]
NOT_ELIGIBLE = [
    ("X1", 15, 1, np.nan, 20),   # event before time zero
    ("X2", 300, 0, 10, 20),      # treated before time zero
    ("X3", 300, 0, 20, 20),      # treated at time zero
]


def tiny_frame() -> pd.DataFrame:
    rows = [r[:5] for r in TINY] + NOT_ELIGIBLE
    return pd.DataFrame(rows, columns=["id", "time", "event", "a", "zero"])


def test_clone_censor_by_hand():
    out = clone_censor(tiny_frame(), id="id", time="time", event="event", exposure_time="a",
                       eligible_time="zero", grace=G)
    assert set(out.attrs["excluded"]["id"]) == {"X1", "X2", "X3"}
    reasons = dict(zip(out.attrs["excluded"]["id"], out.attrs["excluded"]["reason"]))
    assert reasons["X1"].startswith("no follow-up after time zero")
    assert reasons["X2"] == reasons["X3"] == "treated on or before time zero"
    got = out.set_index(["id", "arm"])
    for pid, *_, never, treat in TINY:
        for arm, (stop, event, art) in ((0, never), (1, treat)):
            row = got.loc[(pid, arm)]
            assert (row["stop"], row["event"], row["artificial"]) == (stop, event, art), \
                (pid, arm, tuple(row[["stop", "event", "artificial"]]))
    # an event inside the grace period before any treatment is an event in both arms
    both = out[out["id"].isin(["P2", "P6", "P10"])]
    assert (both["event"] == 1).all() and len(both) == 6


def test_clone_rows_and_weights_without_covariates_are_one():
    # stabilised weights without covariates are numerator / denominator of one model: 1
    df = tiny_frame().iloc[:len(TINY)]
    df = pd.concat([df.assign(id=df["id"] + f"_{k}") for k in range(6)], ignore_index=True)
    for kind in ("cox", "logistic"):
        res = ccw(df, id="id", time="time", event="event", exposure_time="a",
                  eligible_time="zero", grace=G, horizons=(100,), weight_model=kind,
                  n_boot=0)
        np.testing.assert_allclose(res.clones["weight"], 1.0, rtol=1e-12)
        # rows of a clone tile its follow-up, and the last row carries event/censoring
        cl = res.clones.sort_values(["arm", "patient", "start"])
        for _, g in cl.groupby(["arm", "patient"]):
            assert g["start"].iloc[0] == 0
            np.testing.assert_array_equal(g["start"].to_numpy()[1:], g["stop"].to_numpy()[:-1])
            assert (g["event"].iloc[:-1] == 0).all() and not g["artificial"].iloc[:-1].any()


def _cox_weight_data(n=400, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, n)
    age = rng.normal(50, 10, n).round()
    a = np.ceil(rng.exponential(60 / np.exp(0.8 * x), n))
    t = np.ceil(rng.exponential(300 / np.exp(0.5 * x - 0.4 * (a < 150)), n))
    c = rng.integers(50, 700, n)
    time = np.minimum(t, c).astype(float)
    event = (t <= c).astype(int)
    a = np.where(a <= time, a, np.nan)
    return pd.DataFrame({"id": np.arange(n), "time": time, "event": event, "a": a,
                         "x": x, "age": age})


def test_cox_weights_equal_predicted_treatment_survival():
    # never-arm weight of a row (s, e] = 1 / P(untreated through s | x) from the Cox model
    # of the time to treatment; treat-arm weight after G = 1 / P(treated by G | x)
    df = _cox_weight_data()
    res = ccw(df, id="id", time="time", event="event", exposure_time="a", grace=90,
              covariates=["x", "age"], weight_model="cox", stabilized=False, n_boot=0,
              horizons=(200,))
    treated = df["a"].notna() & ~((df["a"] == df["time"]) & (df["event"] == 1))
    tm = df.assign(stop=np.where(treated, df["a"], df["time"]), tr=treated.astype(int))
    model = rc.cox(tm, time="stop", event="tr", covariates=["x", "age"])
    cl = res.clones
    for arm, when in ((0, "start"), (1, None)):
        sub = cl[cl["arm"] == arm].sample(40, random_state=1)
        for _, r in sub.iterrows():
            prof = df.loc[[r["patient"]], ["x", "age"]]
            if arm == 0:
                s = model.predict_survival(prof, [r[when]])["survival"].iloc[0]
                expected = 1 / s if r[when] > 0 else 1.0
            else:
                s = model.predict_survival(prof, [90.0])["survival"].iloc[0]
                expected = 1 / (1 - s) if r["start"] >= 90 else 1.0
            assert r["weight"] == pytest.approx(expected, rel=1e-9)


def test_weighted_curves_are_weighted_kaplan_meier_of_the_clone_rows():
    df = _cox_weight_data()
    res = ccw(df, id="id", time="time", event="event", exposure_time="a", grace=90,
              covariates=["x"], weight_model="logistic", n_boot=0, horizons=(100, 200))
    assert isinstance(res.km, KaplanMeier)
    assert res.km.groups == ("never treated", "treated within 90 days")
    cl = res.clones.assign(arm=res.clones["arm"].map({0: "a", 1: "b"}))
    km = rc.kaplan_meier(cl, "stop", "event", start="start", weights="weight",
                         id="patient", by="arm")
    np.testing.assert_allclose(res.km.table["survival"], km.table["survival"])
    np.testing.assert_allclose(res.km.table["std_err"], km.table["std_err"])
    at = km.at([100, 200])
    c = res.contrasts
    np.testing.assert_allclose(c["survival_never"], at[at["group"] == "a"]["survival"])
    np.testing.assert_allclose(c["survival_treat"], at[at["group"] == "b"]["survival"])
    np.testing.assert_allclose(c["risk_difference"], c["survival_never"] - c["survival_treat"])
    np.testing.assert_allclose(c["survival_ratio"], c["survival_treat"] / c["survival_never"])
    # the Cox HR: arm as the only covariate, weighted, clustered on the patient
    cx = rc.cox(res.clones, time="stop", start="start", event="event", covariates=["arm"],
                weights="weight", cluster="patient")
    assert res.cox.summary["coef"].iloc[0] == pytest.approx(cx.summary["coef"].iloc[0])
    assert res.hr == pytest.approx(cx.summary["hr"].iloc[0])
    assert res.lower == pytest.approx(cx.summary["lower"].iloc[0])


def test_truncation_caps_weights():
    df = _cox_weight_data()
    res = ccw(df, id="id", time="time", event="event", exposure_time="a", grace=90,
              covariates=["x", "age"], weight_model="cox", stabilized=False,
              truncate=(1, 95), n_boot=0, horizons=(200,))
    w = res.clones["weight"]
    lo, hi = np.percentile(res.clones["weight_raw"], [1, 95])
    assert w.min() == pytest.approx(lo) and w.max() == pytest.approx(hi)
    allrow = res.weights.set_index("arm").loc["all"]
    assert allrow["n_truncated"] == int((res.clones["weight"] != res.clones["weight_raw"]).sum())
    assert allrow["truncated_above"] == pytest.approx(hi)
    assert allrow["max_untruncated"] > allrow["max"]


def test_row_order_does_not_matter():
    df = _cox_weight_data()
    kw = dict(id="id", time="time", event="event", exposure_time="a", grace=90,
              covariates=["x", "age"], n_boot=0, horizons=(200,))
    a = ccw(df, **kw)
    b = ccw(df.sample(frac=1, random_state=4), **kw)
    pd.testing.assert_frame_equal(a.table, b.table, rtol=1e-9)


# -- known truth ---------------------------------------------------------------------------
# Confounded transplants: HSCT only on days 90-100 after infusion (hazard 0.04/day), three
# times as likely when MRD-negative (who also relapse less: MRD-positive relapse hazard x3),
# less likely after a prior HSCT and in older patients. Target trial from day 90 (in
# remission, event-free): "HSCT by day 100" (grace 10 days) vs "never HSCT", PFS one year
# later. Truth: the same model without HSCT, and with HSCT for everyone in remission on
# day 100 (Monte Carlo, 150,000 patients, no censoring).
WINDOW = replace(rocca.PARAMS, data_cutoff="2026-06-30",
                 hsct=M.PiecewiseHazard((0, 90, 100), (0.0, 0.04, 0.0)),
                 hsct_mrd_neg=math.log(3), hsct_prior_hsct=math.log(0.3),
                 mrd_negative_share=0.5, rel_mrd_pos=math.log(3))
DAY0, HORIZON, TOL = 90.0, 365.0, 0.02


def _truth(params, policy, n, zero):
    _, truth = M.simulate(params, n, 7, hsct_policy=policy)
    lat = truth.latent
    pfs = np.fmin(lat["t_relapse"].fillna(np.inf), lat["t_death"].fillna(np.inf))
    t0 = lat["t_response"] if zero is None else pd.Series(zero, index=lat.index)
    elig = lat["t_response"].notna() & (lat["t_response"] <= t0) & (pfs > t0)
    return float((pfs[elig] > t0[elig] + HORIZON).mean())


@pytest.fixture(scope="module")
def window_study():
    truth = {"never": _truth(WINDOW, "never", 150_000, DAY0),
             "day100": _truth(WINDOW, 100.0, 150_000, DAY0)}
    frame, _ = M.simulate(WINDOW, 60_000, 1)
    cohort = rc.load_registry(frame)
    pt, ep = cohort.patients, cohort.endpoint("PFS")
    df = pd.DataFrame({
        "id": ep["patient_id"], "time": ep["time"], "event": ep["event"],
        "t_resp": pt["t_response"].to_numpy(),
        "hsct": np.where(pt["hsct_in_remission"], pt["t_hsct"], np.nan),
        "mrd_neg": pt["mrd_negative"].astype("float").to_numpy(),
        "prior_hsct": pt["prior_hsct"].to_numpy(), "age": pt["age"].to_numpy()})
    df = df[df["t_resp"] <= DAY0].reset_index(drop=True)   # in remission at day 90
    return truth, df


def _window_ccw(df, covariates, **kw):
    return ccw(df, id="id", time="time", event="event", exposure_time="hsct",
               eligible_time=DAY0, grace=10, covariates=covariates, horizons=(HORIZON,),
               n_boot=0, **kw).contrasts.iloc[0]


@pytest.mark.parametrize("kind, options", [("cox", {}), ("logistic", {"interval": 1})])
def test_known_truth_weighted_ccw_recovers_both_strategies(window_study, kind, options):
    truth, df = window_study
    c = _window_ccw(df, ["mrd_neg", "prior_hsct", "age"], weight_model=kind, **options)
    # seed 1: never 0.4894 vs 0.4861, HSCT by day 100 0.5087 vs 0.5151 (Cox weights)
    assert abs(c["survival_never"] - truth["never"]) < TOL
    assert abs(c["survival_treat"] - truth["day100"]) < TOL
    assert abs(c["risk_difference"] - (truth["never"] - truth["day100"])) < TOL


def test_known_truth_unweighted_clone_censor_is_biased(window_study):
    truth, df = window_study
    c = _window_ccw(df, [], weight_model="cox")   # weights without covariates: no adjustment
    # MRD-negative patients are transplanted more and relapse less: the untransplanted
    # clones left in the never arm are sicker, the transplanted ones healthier
    assert c["survival_never"] - truth["never"] < -0.035      # seed 1: -0.042
    assert c["survival_treat"] - truth["day100"] > 0.035      # seed 1: +0.053


def test_known_truth_cohort_from_response_never_arm():
    # natural transplant timing (days 40-300), time zero = response, grace 120 days: the
    # never-HSCT arm against the model run without HSCT
    params = replace(rocca.PARAMS, data_cutoff="2026-06-30", hsct_mrd_neg=math.log(3),
                     mrd_negative_share=0.5, rel_mrd_pos=math.log(3))
    truth = _truth(params, "never", 150_000, None)
    frame, _ = M.simulate(params, 20_000, 2)
    est = ccw_cohort(rc.load_registry(frame), "PFS", grace=120,
                     covariates=("mrd_negative", "prior_hsct", "age"), n_boot=0)
    assert abs(est.extra["contrasts"]["survival_never"].iloc[0] - truth) < 0.03


# -- the cohort wrapper and the bootstrap -------------------------------------------------
@pytest.fixture(scope="module")
def rocca_cohort():
    return rc.datasets.rocca_like()


def test_ccw_cohort_result(rocca_cohort):
    est = ccw_cohort(rocca_cohort, "PFS", grace=120,
                     covariates=("mrd_negative", "prior_hsct", "age"), n_boot=0)
    assert isinstance(est, ExposureEstimate) and est.method == "ccw"
    responders = rocca_cohort.patients["t_response"].notna().sum()
    res = est.extra["result"]
    assert isinstance(res, CCWResult)
    assert est.n == res.n == responders - len(res.excluded)
    assert est.events == res.events
    assert "within 120 days" in est.estimand and "1 year" in est.estimand
    assert "no unmeasured confounding" in est.note and "positivity" in est.note
    assert np.isfinite([est.hr, est.lower, est.upper, est.p]).all()
    assert est.extra["km"].groups == ("no allo-HSCT", "allo-HSCT within 120 days")
    assert est.extra["km"].meta["definition"].startswith("PFS")
    assert set(res.table["measure"]) == {"hazard_ratio", "survival", "risk_difference",
                                         "survival_ratio"}
    w = est.extra["weights"]
    assert list(w.columns[:7]) == ["arm", "rows", "mean", "sd", "min", "median", "max"]
    # counts: every responder contributes a treat-arm clone; transplanted ones are
    # artificially censored in the never arm
    counts = res.counts.set_index("arm")
    n_hsct = int(rocca_cohort.patients["hsct_in_remission"].sum())
    assert counts.loc["no allo-HSCT", "artificially_censored"] == n_hsct
    assert counts.loc["allo-HSCT within 120 days", "clones"] == res.n
    assert "<table" in res._repr_html_() and "Clone–censor–weight" in repr(res)


def test_logistic_and_cox_weights_agree_on_rocca(rocca_cohort):
    covs = ("mrd_negative", "prior_hsct", "age")
    a = ccw_cohort(rocca_cohort, covariates=covs, weight_model="logistic", n_boot=0)
    b = ccw_cohort(rocca_cohort, covariates=covs, weight_model="cox", n_boot=0)
    ca, cb = a.extra["contrasts"].iloc[0], b.extra["contrasts"].iloc[0]
    assert abs(ca["survival_never"] - cb["survival_never"]) < 0.01
    assert abs(ca["survival_treat"] - cb["survival_treat"]) < 0.01
    assert abs(math.log(a.hr / b.hr)) < 0.02


def test_bootstrap_identical_across_backends(rocca_cohort):
    kw = dict(covariates=("mrd_negative", "prior_hsct", "age"), n_boot=6, seed=11)
    seq = ccw_cohort(rocca_cohort, backend="sequential", **kw)
    job = ccw_cohort(rocca_cohort, backend="joblib", n_jobs=2, **kw)
    pd.testing.assert_frame_equal(seq.extra["result"].bootstrap.replicates,
                                  job.extra["result"].bootstrap.replicates, check_exact=True)
    pd.testing.assert_frame_equal(seq.extra["table"], job.extra["table"], check_exact=True)
    assert (seq.hr, seq.lower, seq.upper, seq.p) == (job.hr, job.lower, job.upper, job.p)
    # patients are resampled: the replicates differ from the estimate and from each other
    reps = seq.extra["result"].bootstrap.replicates
    assert reps["log_hr"].nunique() == 6 and seq.extra["result"].bootstrap.n_failed == 0
    # the HR interval is the robust sandwich unless the bootstrap is asked for; the
    # contrasts keep their bootstrap limits either way
    res = seq.extra["result"]
    robust = res.cox.summary.iloc[0]
    assert (seq.lower, seq.upper, seq.p) == (robust["lower"], robust["upper"], robust["p"])
    assert "HR interval: robust sandwich" in seq.note
    boot = ccw_cohort(rocca_cohort, backend="sequential", hr_ci="bootstrap", **kw)
    lo, hi = np.exp(res.bootstrap.lower["log_hr"]), np.exp(res.bootstrap.upper["log_hr"])
    assert (boot.hr, boot.lower, boot.upper) == (seq.hr, lo, hi)
    pd.testing.assert_frame_equal(boot.extra["contrasts"], seq.extra["contrasts"])
    assert np.isfinite(seq.extra["contrasts"].filter(like="_lower").to_numpy()).all()


def test_other_endpoints_and_time_zero(rocca_cohort):
    os_ = ccw_cohort(rocca_cohort, "OS", grace=90, n_boot=0, weight_model="cox")
    assert "OS" in os_.endpoint
    dor = ccw_cohort(rocca_cohort, "DOR", grace=90, n_boot=0, weight_model="cox")
    pfs = ccw_cohort(rocca_cohort, "PFS", grace=90, n_boot=0, weight_model="cox")
    # DOR from response is PFS from response: the same trial
    assert dor.hr == pytest.approx(pfs.hr, rel=1e-10)
    inf = ccw_cohort(rocca_cohort, "PFS", grace=150, time_zero="infusion", n_boot=0,
                     weight_model="cox")
    assert inf.n == len(rocca_cohort) and "all infused" in inf.population


# -- input errors --------------------------------------------------------------------------
def _base_kw():
    return dict(id="id", time="time", event="event", exposure_time="a", grace=90,
                n_boot=0, horizons=(200,))


@pytest.mark.parametrize("change, message", [
    ({"grace": 0}, "grace must be a positive number"),
    ({"weight_model": "probit"}, "weight_model must be one of"),
    ({"horizons": (0,)}, "horizons must be positive"),
    ({"horizons": (5000,)}, "after the last follow-up time"),
    ({"n_boot": 1}, "n_boot must be 0"),
    ({"hr_ci": "wald"}, "hr_ci must be 'sandwich' or 'bootstrap'"),
    ({"hr_ci": "bootstrap", "n_boot": 0}, "hr_ci='bootstrap' needs n_boot"),
    ({"truncate": (99, 1)}, "lower < upper"),
    ({"truncate": "x"}, "truncate must be"),
    ({"covariates": ["nope"]}, "not found"),
])
def test_bad_options(change, message):
    kw = _base_kw() | change
    with pytest.raises(ValueError, match=message):
        ccw(_cox_weight_data(), **kw)


def test_bad_data():
    df = _cox_weight_data()
    with pytest.raises(ValueError, match="one row per patient"):
        ccw(pd.concat([df, df.iloc[:2]]), **_base_kw())
    with pytest.raises(ValueError, match=r"covariate 'x' has 1 missing value \(row 3\)"):
        ccw(df.assign(x=df["x"].where(df.index != 3)), covariates=["x"], **_base_kw())
    with pytest.raises(ValueError, match="numeric times"):
        ccw(df.assign(a="day 3"), **_base_kw())
    with pytest.raises(ValueError, match="no patient is eligible"):
        ccw(df, eligible_time=10_000, **_base_kw())
    with pytest.raises(ValueError, match="no eligible patient was treated within"):
        ccw(df.assign(a=np.nan), **_base_kw())


def test_module_exports():
    from rwe_cart import exposure

    assert set(exposure.__all__) >= {"ccw", "ccw_cohort", "clone_censor", "CCWResult"}
