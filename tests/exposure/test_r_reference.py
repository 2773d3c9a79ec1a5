"""Exposure methods against R (survival 3.5-3) on the Stanford heart-transplant data.

Every comparison goes through the generic exposure functions (not `rc.cox` directly).
Reference values are read from tests/reference (see reference.py).
"""
from __future__ import annotations

import numpy as np
import pytest
from reference import as_array, heart, jasa, load_case, load_data  # noqa: F401 (fixtures)

import rwe_cart as rc
from rwe_cart import exposure as X

RTOL = 1e-6
HEART_COV = ["age", "year", "surgery"]
# JSON key -> CoxModel.summary column
COX_COLUMNS = {"coef": "coef", "exp_coef": "hr", "se": "se", "z": "z", "p": "p",
               "exp_coef_lower95": "lower", "exp_coef_upper95": "upper"}


def _check_model(model, v, terms=None):
    terms = v["term"] if terms is None else terms
    s = model.summary.set_index("term").loc[terms]
    for key, col in COX_COLUMNS.items():
        np.testing.assert_allclose(s[col].to_numpy(), as_array(v[key]), rtol=RTOL, err_msg=key)
    if "robust_se" in v:
        np.testing.assert_allclose(s["robust_se"].to_numpy(), as_array(v["robust_se"]),
                                   rtol=RTOL)
    np.testing.assert_allclose(model.loglik.null, v["loglik_null"], rtol=RTOL)
    np.testing.assert_allclose(model.loglik.fitted, v["loglik"], rtol=RTOL)
    for test, key in (("likelihood_ratio", "lrt"), ("wald", "wald"), ("score", "score")):
        t = model.test(test)
        np.testing.assert_allclose(t.statistic, v[key]["statistic"], rtol=RTOL)
        np.testing.assert_allclose(t.p_value, v[key]["p"], rtol=RTOL)
        assert t.df == v[key]["df"]
    assert model.n_events == v["nevent"]


def _check_estimate(est, v, term):
    i = v["term"].index(term)
    np.testing.assert_allclose([est.hr, est.lower, est.upper, est.p],
                               [v["exp_coef"][i], v["exp_coef_lower95"][i],
                                v["exp_coef_upper95"][i], v["p"][i]], rtol=RTOL)


@pytest.mark.parametrize("key, options", [
    ("efron", {}),
    ("breslow", {"ties": "breslow"}),
    ("efron_robust_cluster_id", {"robust": True}),
])
def test_time_varying_cox_matches_r(heart, key, options):
    v = load_case("heart_cox_td")["values"][key]
    est = X.time_varying_cox(heart, start="start", time="stop", event="event",
                             exposure="transplant", covariates=HEART_COV, id="id", **options)
    _check_model(est.extra["model"], v)
    _check_estimate(est, v, "transplant")
    assert est.method == "time_varying"
    assert est.n == heart["id"].nunique()          # patients, not rows
    assert est.events == v["nevent"]
    assert est.extra["n_rows"] == v["n"]
    if options.get("robust"):
        assert est.extra["robust"] and est.extra["cluster"] == "id"
        rs = est.extra["model"].test("robust_score")
        np.testing.assert_allclose(rs.statistic, v["robust_score"]["statistic"], rtol=RTOL)


def test_time_varying_transplant_age_matches_r(heart):
    v = load_case("heart_cox_naive")["values"]["td_transplant_age"]
    est = X.time_varying_cox(heart, start="start", time="stop", event="event",
                             exposure="transplant", covariates=["age"], id="id")
    _check_model(est.extra["model"], v)
    _check_estimate(est, v, "transplant")


@pytest.mark.parametrize("key, covariates", [
    ("naive_transplant_age", ["age"]),
    ("naive_full", ["age", "year", "surgery"]),
])
def test_naive_cox_matches_r(jasa, key, covariates):
    v = load_case("heart_cox_naive")["values"][key]
    est = X.naive_cox(jasa, time="futime", event="fustat", exposure="transplant",
                      covariates=covariates, id="id")
    _check_model(est.extra["model"], v)
    _check_estimate(est, v, "transplant")
    assert "biased: immortal time" in est.note
    assert "NOT a valid effect" in est.estimand
    assert (est.n, est.events) == (v["n"], v["nevent"])


def test_naive_vs_time_varying_shows_immortal_time_bias(heart, jasa):
    v = load_case("heart_cox_naive")["values"]
    naive = X.naive_cox(jasa, time="futime", event="fustat", exposure="transplant",
                        covariates=["age"])
    tv = X.time_varying_cox(heart, start="start", time="stop", event="event",
                            exposure="transplant", covariates=["age"], id="id")
    # the same contrast as R: an apparent benefit that vanishes with transplant time-dependent
    np.testing.assert_allclose(np.log(tv.hr) - np.log(naive.hr),
                               v["td_transplant_age"]["coef"][0]
                               - v["naive_transplant_age"]["coef"][0], rtol=RTOL)


def test_mantel_byar_matches_r(heart):
    v = load_case("heart_mantel_byar")["values"]
    est = X.mantel_byar_test(heart, start="start", time="stop", event="event",
                             exposure="transplant", id="id")
    np.testing.assert_allclose(est.extra["statistic"], v["statistic"], rtol=RTOL)
    np.testing.assert_allclose(est.extra["p_value"], v["p"], rtol=RTOL)
    np.testing.assert_allclose(est.p, v["p"], rtol=RTOL)
    assert est.extra["df"] == v["df"]
    np.testing.assert_allclose(np.log(est.hr), v["coef"], rtol=RTOL)
    # the statistic is (O - E)^2 / V computed from the risk sets directly
    o, e, var = est.extra["observed"], est.extra["expected"], est.extra["variance"]
    np.testing.assert_allclose((o - e) ** 2 / var, v["statistic"], rtol=RTOL)
    test = est.extra["test"]
    assert test.name == "Mantel–Byar test"
    np.testing.assert_allclose(test.statistic, v["statistic"], rtol=RTOL)


SM_COLUMNS = {"time": "time", "n_risk": "n_risk", "n_event": "n_event",
              "n_censor": "n_censor", "survival": "surv", "std_err": "std_err_surv",
              "lower": "lower", "upper": "upper", "cumhaz": "cumhaz", "std_chaz": "std_chaz"}


def test_simon_makuch_matches_r(heart):
    v = load_case("heart_simon_makuch")["values"]
    sm = X.simon_makuch_curves(heart, start="start", time="stop", event="event",
                               exposure="transplant", id="id")
    assert isinstance(sm, X.SimonMakuch) and isinstance(sm.km, rc.KaplanMeier)
    assert sm.km.conf_type == v["conf_type"]
    tab = sm.km.table
    for value in (0, 1):
        r = v["curves"][f"transplant={value}"]
        g = tab[tab["group"] == value]
        assert len(g) == len(r["time"])
        for col, key in SM_COLUMNS.items():
            np.testing.assert_allclose(g[col].to_numpy(dtype=float), as_array(r[key]),
                                       rtol=RTOL, err_msg=f"transplant={value} {col}")
    # the call the brief names gives the same curves
    km = rc.kaplan_meier(heart, "stop", "event", start="start", by="transplant")
    np.testing.assert_array_equal(km.table["survival"], tab["survival"])


def test_simon_makuch_moves_are_censorings_of_the_unexposed_curve(heart):
    v = load_case("heart_simon_makuch")["values"]["curves"]["transplant=0"]
    sm = X.simon_makuch_curves(heart, start="start", time="stop", event="event",
                               exposure="transplant", id="id")
    moved = int(sm.risk_table["n_switch"].max())
    # every patient who moved was censored in the transplant=0 curve when moving
    assert moved == heart.loc[heart["transplant"] == 1, "id"].nunique()
    assert np.nansum(as_array(v["n_censor"])) >= moved


@pytest.fixture(scope="module")
def landmark30():
    return load_case("heart_landmark30")["values"]


def _check_landmark(est, v):
    _check_model(est.extra["model"], v["cox"], terms=[est.extra["model"].summary.term[0]])
    np.testing.assert_allclose([est.hr, est.lower, est.upper, est.p],
                               [v["cox"]["exp_coef"][0], v["cox"]["exp_coef_lower95"][0],
                                v["cox"]["exp_coef_upper95"][0], v["cox"]["p"][0]], rtol=RTOL)
    assert est.n == v["n_landmark"]
    assert est.extra["n_exposed"] == v["n_exposed"]
    assert est.events == v["cox"]["nevent"]
    lr = est.extra["logrank"]
    np.testing.assert_allclose(lr.statistic, v["logrank"]["chisq"], rtol=RTOL)
    np.testing.assert_allclose(lr.p_value, v["logrank"]["p"], rtol=RTOL)
    np.testing.assert_allclose(lr.table["observed"], as_array(v["logrank"]["observed"]),
                               rtol=RTOL)
    np.testing.assert_allclose(lr.table["expected"], as_array(v["logrank"]["expected"]),
                               rtol=RTOL)


def test_landmark_on_the_landmarked_csv_matches_r(landmark30):
    d = load_data("jasa_landmark30")
    # already landmarked: tx30 means transplanted by day 30; futime is from acceptance
    est = X.landmark_cox(d, time="futime", event="fustat", at=30, exposure="tx30", id="id")
    _check_landmark(est, landmark30)
    np.testing.assert_array_equal(est.extra["frame"]["futime"], d["time"])


def test_landmark_from_jasa_reproduces_r(jasa, landmark30):
    est = X.landmark_cox(jasa, time="futime", event="fustat", at=30, exposure_time="wait_time",
                         id="id")
    _check_landmark(est, landmark30)
    assert est.extra["landmark"] == 30
    # the same patients as R's subset(futime > 30), exposure = wait_time <= 30
    d = load_data("jasa_landmark30")
    fr = est.extra["frame"].sort_values("id")
    np.testing.assert_array_equal(fr["id"], d.sort_values("id")["id"])
    np.testing.assert_array_equal(fr["exposed"], d.sort_values("id")["tx30"])


def test_landmark_grid_row_at_30_matches_r(jasa, landmark30):
    grid = X.landmark_cox_grid(jasa, time="futime", event="fustat", landmarks=[10, 30, 60],
                               exposure_time="wait_time", id="id")
    row = grid.table.set_index("landmark").loc[30.0]
    np.testing.assert_allclose([row.hr, row.lower, row.upper, row.p],
                               [landmark30["cox"]["exp_coef"][0],
                                landmark30["cox"]["exp_coef_lower95"][0],
                                landmark30["cox"]["exp_coef_upper95"][0],
                                landmark30["cox"]["p"][0]], rtol=RTOL)
    assert (row.n, row.exposed, row.events) == (landmark30["n_landmark"],
                                                landmark30["n_exposed"],
                                                landmark30["cox"]["nevent"])
