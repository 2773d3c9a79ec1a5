"""Cohort-level exposure methods: the HSCT conventions and `hsct_effect` on the bundled
cohorts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cohorts import registry_from_days

import rwe_cart as rc
from rwe_cart import exposure as X

COLUMNS = ["method", "estimand", "hr", "lower", "upper", "p", "n", "events", "note"]
FAST = ("naive", "censor", "time_varying", "landmark", "mantel_byar")
CONFOUNDERS = ["mrd_negative", "prior_hsct", "age"]


def _tiny() -> rc.Cohort:
    """Six patients whose exposure is worked out by hand (days from infusion)."""
    spec = [  # id, best response, response, relapse, HSCT, death, last contact
        ("P1", "CR", 20, None, 60, None, 400),    # consolidative HSCT on day 60
        ("P2", "CR", 25, None, 90, 90, 90),       # dies on the HSCT day: unexposed event
        ("P3", "CR", 30, 50, 100, None, 300),     # salvage HSCT after relapse: never exposed
        ("P4", "CR", 30, 120, 120, None, 300),    # relapse on the HSCT day: not in remission
        ("P5", "NR", None, 28, None, 200, 200),   # non-responder
        ("P6", "CR", 21, None, None, None, 21),   # censored on the response day
    ]
    return registry_from_days(spec)


@pytest.fixture(scope="module")
def tiny():
    return _tiny()


@pytest.fixture(scope="module")
def rocca():
    return rc.datasets.rocca_like()


@pytest.fixture(scope="module")
def zuma3():
    return rc.datasets.zuma3_like()


# ---------------------------------------------------------------------------------------
# Conventions on the tiny cohort
# ---------------------------------------------------------------------------------------
def test_rows_follow_the_hsct_conventions(tiny):
    rows = X.hsct_rows(tiny, "PFS")
    got = rows[["patient_id", "start", "stop", "event", "hsct"]].values.tolist()
    assert got == [
        ["P1", 20.0, 60.0, 0, 0], ["P1", 60.0, 400.0, 0, 1],   # exposed after day 60
        ["P2", 25.0, 90.0, 1, 0],                              # event on HSCT day: unexposed
        ["P3", 30.0, 50.0, 1, 0],                              # salvage HSCT: never exposed
        ["P4", 30.0, 120.0, 1, 0],                             # relapse on HSCT day
    ]
    # responders enter at their response day; P5 (non-responder) is not in the population,
    # P6 has no follow-up after entry and is listed, not silently dropped
    assert rows.attrs["excluded"] == ("P6",)
    assert X.excluded_frame(rows)["patient_id"].tolist() == ["P6"]
    everyone = X.hsct_rows(tiny, "PFS", population="all")
    assert everyone.groupby("patient_id")["start"].min().eq(0).all()
    assert everyone["patient_id"].nunique() == 6


def test_naive_counts_ever_transplanted_in_remission(tiny):
    frame = X.hsct_frame(tiny, "PFS")
    assert frame.set_index("patient_id")["hsct_ever"].to_dict() == {
        "P1": 1, "P2": 1, "P3": 0, "P4": 0, "P5": 0, "P6": 0}
    # censoring at HSCT uses any HSCT, as Cohort.endpoint(censor_at_hsct=True)
    assert frame["t_hsct_any"].notna().sum() == 4


def test_censor_matches_the_endpoint_option(rocca):
    est = X.censor(rocca, "PFS")
    ref = rocca.endpoint("PFS", censor_at_hsct=True)
    km = rc.kaplan_meier(ref, "time", "event")
    pd.testing.assert_frame_equal(est.extra["km_censored"].table, km.table)
    assert est.events == int(ref["event"].sum()) and est.n == len(rocca)
    assert np.isnan(est.hr)
    assert "not an HSCT effect" in est.note and "independent censoring" in est.note
    med = est.extra["medians"]
    assert med["analysis"].tolist() == ["all follow-up", "censored at HSCT"]
    surv = est.extra["survival"]
    assert set(surv["time"]) == {180.0, 365.0, 730.0}
    assert est.extra["n_censored_at_exposure"] == int(
        (rocca.patients["t_hsct"] < rocca.endpoint("PFS")["time"]).sum())


def test_time_varying_counts_add_up(rocca):
    est = X.time_varying(rocca, "PFS", covariates=CONFOUNDERS)
    p = rocca.patients
    responders = int(p["best_response"].isin(["CR", "CRi", "CRh"]).sum())
    rows = est.extra["rows"]
    assert est.n + len(est.extra["excluded"]) == responders
    assert est.events == int(rows["event"].sum())
    assert rows.groupby("patient_id")["event"].sum().le(1).all()
    # every HSCT in remission with follow-up after it switches the exposure on
    exposed = set(rows.loc[rows["hsct"] == 1, "patient_id"])
    assert exposed <= set(p.loc[p["hsct_in_remission"], "patient_id"])
    assert est.extra["model"].summary["term"].tolist()[0] == "hsct"
    assert "adjusted for mrd_negative, prior_hsct, age" in est.estimand
    # responders enter at the response day (left truncation)
    first = rows.groupby("patient_id")["start"].min()
    t_resp = p.set_index("patient_id")["t_response"]
    np.testing.assert_array_equal(first.to_numpy(), t_resp.loc[first.index].to_numpy())
    robust = X.time_varying(rocca, "PFS", covariates=CONFOUNDERS, robust=True)
    assert robust.hr == pytest.approx(est.hr, rel=1e-12)
    assert "robust_se" in robust.extra["model"].summary


def test_missing_covariate_names_the_patients(rocca):
    with pytest.raises(ValueError, match="mrd_negative.*missing.*population='responders'"):
        X.time_varying(rocca, "PFS", covariates=["mrd_negative"], population="all")
    with pytest.raises(ValueError, match="not in the cohort"):
        X.time_varying(rocca, "PFS", covariates=["no_such_column"])
    with pytest.raises(ValueError, match="CIR/NRM"):
        X.time_varying(rocca, "CIR")


def test_mantel_byar_and_simon_makuch_on_rocca(rocca):
    mb = X.mantel_byar(rocca, "OS")
    tv = X.time_varying(rocca, "OS")
    assert (mb.n, mb.events) == (tv.n, tv.events)
    assert mb.extra["test"].p_value == mb.p and mb.extra["df"] == 1
    sm = X.simon_makuch(rocca, "OS")
    assert sm.km.groups == ("no HSCT (yet)", "after HSCT")
    ar = sm.risk_table
    assert list(ar.columns) == ["group", "time", "n_risk", "n_event", "n_censor", "n_switch"]
    # nobody can be at risk after HSCT at day 0; patients move over on their HSCT day
    assert ar.loc[(ar.group == "after HSCT") & (ar.time == 0), "n_risk"].item() == 0
    moved = ar.loc[ar.group == "no HSCT (yet)", "n_switch"].max()
    assert moved == int(sm.km.table.loc[sm.km.table.group == "after HSCT", "n_event"].sum()
                        + sm.km.table.loc[sm.km.table.group == "after HSCT", "n_censor"].sum())
    assert sm.table is sm.km.table
    assert "Numbers at risk" in sm._repr_html_()


def test_landmark_on_rocca(rocca):
    est = X.landmark(rocca, "PFS", at=100, covariates=CONFOUNDERS)
    fr = est.extra["frame"]
    p = rocca.patients.set_index("patient_id").loc[fr["patient_id"]]
    # alive, event-free and in remission at day 100
    assert (p["t_response"] <= 100).all() and not (p["t_relapse"] <= 100).any()
    assert (fr["time"] > 0).all()
    assert est.n == len(fr) == int(fr["exposed"].sum()) + int((fr["exposed"] == 0).sum())
    assert est.extra["n_exposed"] == int(((p["t_hsct"] <= 100) & p["hsct_in_remission"]).sum())
    med = X.median_hsct_day(rocca)
    assert med == float(np.median(rocca.patients.loc[rocca.patients.hsct_in_remission,
                                                     "t_hsct"]))
    at_med = X.landmark(rocca, "PFS", at="median")
    assert at_med.extra["landmark"] == med


def test_firth_landmark_on_rocca(rocca):
    plain = X.landmark(rocca, "PFS", at=100, covariates=CONFOUNDERS, firth=False)
    firth = X.landmark(rocca, "PFS", at=100, covariates=CONFOUNDERS)  # the default
    assert (firth.n, firth.events) == (plain.n, plain.events)
    assert firth.extra["model"].meta["profiled"] == ("exposed",)
    # the penalty pulls the estimate towards 1 (it shrinks |log HR| here)
    assert abs(np.log(firth.hr)) < abs(np.log(plain.hr))
    assert firth.lower < firth.hr < firth.upper and "Firth" in firth.note
    side = rc.hsct_effect(rocca, "PFS", methods=["landmark"], covariates=CONFOUNDERS)
    assert side["landmark"].hr == firth.hr
    ordinary = rc.hsct_effect(rocca, "PFS", methods=["landmark"], covariates=CONFOUNDERS,
                              firth=False)
    assert ordinary["landmark"].hr == plain.hr and "Firth" not in ordinary["landmark"].note
    assert side["landmark"].label == "Landmark (day 100, Firth)"
    grid = X.landmark_grid(rocca, "PFS", landmarks=[100], covariates=CONFOUNDERS, firth=True)
    assert grid.table["hr"].iloc[0] == firth.hr


def test_landmark_grid_and_supermodel_on_rocca(rocca):
    grid = X.landmark_grid(rocca, "PFS", landmarks=[30, 60, 100, 150])
    t = grid.table
    assert t["landmark"].tolist() == [30, 60, 100, 150]
    assert np.isnan(t.loc[0, "hr"]) and "not estimable" in t.loc[0, "note"]  # HSCT from day 40
    single = X.landmark(rocca, "PFS", at=100)
    row = t.set_index("landmark").loc[100]
    assert row.hr == pytest.approx(single.hr, rel=1e-12) and row.n == single.n
    sm = X.supermodel(rocca, "PFS", covariates=["prior_hsct", "age"], window=365)
    assert set(sm.model.summary["term"]) >= {"hsct", "hsct:s/w", "hsct:(s/w)^2", "s/w",
                                             "(s/w)^2", "prior_hsctTRUE", "age"}
    pred = sm.predictions
    assert list(pred.columns) == ["profile", "landmark", "horizon", "survival_exposed",
                                  "survival_unexposed", "difference"]
    assert len(pred) == len(sm.landmarks)
    ok = pred["survival_exposed"].dropna()
    assert ((ok > 0) & (ok <= 1)).all()
    assert sm.hr_table["landmark"].tolist() == list(sm.landmarks)
    est = sm.estimate(100)
    assert est.method == "supermodel" and est.extra["landmark"] == 100


def test_effect_modification_by_mrd_and_prior_hsct(rocca):
    em = X.effect_modification(rocca, "PFS", factor="mrd_negative", covariates=["age"])
    assert em.table["level"].tolist() == [False, True]
    assert set(em.tests["test"]) == {"likelihood_ratio", "wald"}
    assert (em.tests["df"] == 1).all() and em.note == ""
    assert 0 <= em.test("wald").p_value <= 1 and 0 <= em.test().p_value <= 1
    assert em.table["n"].sum() == X.time_varying(rocca, "PFS").n
    # prior HSCT: 4 transplanted in remission, none with a PFS event after HSCT -> the
    # interaction is not estimable; reported with the reason, per-level rows kept
    em2 = X.effect_modification(rocca, "PFS", factor="prior_hsct")
    assert em2.interaction_model is None and "not estimable" in em2.note
    assert em2.tests["statistic"].isna().all()
    assert len(em2.table) == 2 and em2.table["hr"].notna().sum() == 1
    assert "not estimable" in em2.table["note"].iloc[1]


def test_competing_view(rocca):
    view = X.competing(rocca, covariates=["age"])
    assert list(view.cause_specific) == ["relapse", "NRM"]
    assert view.table["method"].tolist() == ["cause_specific_relapse", "cause_specific_nrm"]
    rows = view.meta["rows"]
    assert view.cause_specific["relapse"].events == int((rows["cause"] == 1).sum())
    assert view.cause_specific["NRM"].events == int((rows["cause"] == 2).sum())
    assert view.cif.causes == (1, 2)
    p = rocca.patients
    assert view.n_transplanted == int(p["hsct_in_remission"].sum())
    t = view.trm_table
    assert set(t["time"]) == {100.0, 365.0} and set(t["cause"]) == {"relapse", "NRM"}
    # transplant-related mortality by hand: NRM after HSCT, relapse competing
    ep = rocca.endpoint("CIR").set_index("patient_id")
    tx = p.loc[p["hsct_in_remission"]].set_index("patient_id")
    since = ep.loc[tx.index, "time"] - tx["t_hsct"]
    d = pd.DataFrame({"t": since, "c": ep.loc[tx.index, "cause"]})
    ci = rc.cumulative_incidence(d[d["t"] > 0], "t", "c")
    expect = ci.at([365]).set_index("cause").loc[2, "cif"]
    assert view.trm_at(365) == pytest.approx(expect, rel=1e-12)


# ---------------------------------------------------------------------------------------
# hsct_effect
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["rocca", "zuma3"])
def test_hsct_effect_table(name, request):
    cohort = request.getfixturevalue(name)
    res = rc.hsct_effect(cohort, "PFS", methods=FAST, at=100)
    assert isinstance(res, rc.ExposureComparison)
    assert list(res.table.columns) == COLUMNS
    assert res.table["method"].tolist() == list(FAST)
    assert all(isinstance(e, rc.ExposureEstimate) for e in res.estimates)
    naive = res["naive"]
    assert "biased: immortal time" in naive.note and naive.biased
    assert res.table.loc[0, "note"].startswith("biased: immortal time")
    # n and events add up
    ep = cohort.endpoint("PFS")
    assert (naive.n, naive.events) == (len(cohort), int(ep["event"].sum()))
    cens = res["censor"]
    assert cens.n == len(cohort)
    assert cens.events == int(cohort.endpoint("PFS", censor_at_hsct=True)["event"].sum())
    tv, mb = res["time_varying"], res["mantel_byar"]
    responders = int(cohort.patients["best_response"].isin(["CR", "CRi", "CRh"]).sum())
    assert tv.n + len(tv.extra["excluded"]) == responders
    assert (mb.n, mb.events) == (tv.n, tv.events)
    lm = res["landmark"]
    assert lm.n == lm.extra["n_exposed"] + int((lm.extra["frame"]["exposed"] == 0).sum())
    assert lm.events <= tv.events
    # every row says what it estimates and in whom
    assert res.table["estimand"].str.len().gt(20).all()
    assert all(e.population for e in res.estimates)
    html = res._repr_html_()
    assert "BIASED" in html and "What it estimates" in html
    for e in res.estimates:
        assert e.estimand.replace("&", "&amp;")[:40] in html
    text = repr(res)
    assert "⚠ BIASED" in text
    forest = res.forest
    assert {"label", "hr", "lower", "upper", "biased", "has_hr"} <= set(forest.columns)
    assert forest.loc[forest.method == "naive", "biased"].item()


def test_hsct_effect_default_methods_run_or_say_why(zuma3):
    res = rc.hsct_effect(zuma3, "OS", ccw={"n_boot": 20, "backend": "sequential"})
    done = set(res.methods) | set(res.skipped)
    assert done == set(X.DEFAULT_METHODS)
    if "ccw" in res.skipped:
        assert "not available" in res.skipped["ccw"] or "not estimable" in res.skipped["ccw"]
        assert "ccw" in repr(res)
    assert list(res.table.columns) == COLUMNS


def test_hsct_effect_options(rocca):
    res = rc.hsct_effect(rocca, "PFS", methods=["time_varying", "naive", "landmark"],
                         covariates=CONFOUNDERS, population="responders",
                         time_varying={"robust": True}, at="median")
    assert res["time_varying"].extra["robust"]
    assert res["naive"].n == int(rocca.patients["best_response"].isin(
        ["CR", "CRi", "CRh"]).sum())
    assert res["landmark"].extra["landmark"] == X.median_hsct_day(rocca)
    with pytest.raises(ValueError, match="unknown method"):
        rc.hsct_effect(rocca, methods=["nope"])
    with pytest.raises(ValueError, match="unknown option"):
        rc.hsct_effect(rocca, methods=["naive"], bogus=1)
    with pytest.raises(ValueError, match="covariates"):
        rc.hsct_effect(rocca, methods=["naive"], covariates=["no_such"])


def test_hsct_effect_lists_unestimable_methods(rocca):
    res = rc.hsct_effect(rocca, "PFS", methods=["time_varying", "landmark"], at=30)
    assert res.methods == ("time_varying",)
    assert res.skipped["landmark"].startswith("not estimable")   # nobody transplanted by day 30
    with pytest.raises(KeyError, match="skipped: landmark"):
        res["landmark"]


def test_hsct_effect_extra_methods(rocca):
    res = rc.hsct_effect(rocca, "PFS", methods=["supermodel", "simon_makuch", "competing"])
    assert res.methods == ("supermodel", "simon_makuch", "cause_specific_relapse",
                           "cause_specific_nrm")
    assert np.isnan(res["simon_makuch"].hr)


def test_hsct_effect_naive_with_responder_only_covariate(rocca):
    res = rc.hsct_effect(rocca, "PFS", methods=["naive", "time_varying"],
                         covariates=CONFOUNDERS)
    naive = res["naive"]
    assert not res.skipped
    assert naive.note.startswith("biased: immortal time")
    assert "restricted to responders because mrd_negative" in naive.note
    assert naive.n == int(rocca.patients["best_response"].isin(["CR", "CRi", "CRh"]).sum())
    # asked explicitly for everyone: a specification error, raised with the patients named
    # (only what the data cannot estimate becomes a "not estimable" row)
    with pytest.raises(ValueError, match=r"'mrd_negative' is missing .*patients R"):
        rc.hsct_effect(rocca, "PFS", methods=["naive"], covariates=CONFOUNDERS,
                       naive={"population": "all"})


def test_competing_view_keeps_the_cause_that_is_estimable():
    # in this draw nobody dies without relapse after a transplant in remission: the NRM
    # hazard ratio is not estimable, the relapse one still is
    cohort = rc.load_registry(rc.datasets.rocca_like_frame(seed=7))
    view = X.competing(cohort, covariates=["mrd_negative", "prior_hsct", "age"])
    relapse, nrm = view.cause_specific["relapse"], view.cause_specific["NRM"]
    assert np.isfinite(relapse.hr) and relapse.events > 0
    assert np.isnan(nrm.hr) and nrm.note.startswith("not estimable: monotone likelihood")
    assert nrm.events == int(view.meta["rows"]["cause"].eq(2).sum())
    with pytest.raises(rc.NotEstimableError):
        rc.time_varying_cox(view.meta["rows"].assign(e=view.meta["rows"]["cause"].eq(2).astype(int)),
                            start="start", time="stop", event="e", exposure="hsct", id="patient_id",
                            covariates=["age"])


def test_a_failed_bootstrap_skips_ccw_with_its_reason():
    from rwe_cart.synthetic import model, rocca

    frame, _ = model.simulate(rocca.PARAMS, 70, 4)  # small: many resamples are not estimable
    effect = rc.hsct_effect(rc.load_registry(frame), "PFS", methods=("time_varying", "ccw"),
                            covariates=["age"], ccw={"n_boot": 50, "seed": 1, "backend": "sequential"})
    assert effect.methods == ("time_varying",)
    assert effect.skipped["ccw"].startswith("no bootstrap interval:")


def test_hsct_effect_methods_declare_their_options():
    from rwe_cart.exposure import hsct

    declared = set().union(*(m.shared for m in hsct._REGISTRY.values()))
    assert declared == set(hsct.SHARED_OPTIONS)
    assert set(hsct._REGISTRY) == set(hsct.METHODS)
    for name in hsct.METHODS:
        spec = hsct._REGISTRY[name]
        missing = [o for o in spec.shared if o not in spec.own_options()]
        assert not missing, f"{name} declares {missing} but its function does not take them"


@pytest.mark.parametrize("options, message", [
    ({"horizon": 365}, r"option horizon= is used by landmark, none of which is among"),
    ({"naive": {"robust": True}}, r"naive does not take option\(s\) \['robust'\]"),
    ({"ccw": {"n_boot": 20}}, r"options given for \['ccw'\], which are not among"),
    ({"lanmark": 100}, r"unknown option\(s\) \['lanmark'\]"),
])
def test_hsct_effect_options_are_never_dropped(rocca, options, message):
    with pytest.raises(ValueError, match=message):
        rc.hsct_effect(rocca, "PFS", methods=["naive", "time_varying"], **options)


def test_hsct_effect_propagates_errors_that_are_not_about_the_data(rocca):
    with pytest.raises(ValueError, match="nosuch"):
        rc.hsct_effect(rocca, "PFS", methods=["time_varying"], strata="nosuch")


def test_effect_modification_with_firth_keeps_the_level_without_events_after_hsct(rocca):
    covs = ["mrd_negative", "age"]
    plain = X.effect_modification(rocca, "PFS", factor="prior_hsct", covariates=covs)
    yes = plain.table.set_index("level").loc[True]
    assert np.isnan(yes["hr"]) and "monotone likelihood" in yes["note"]
    res = X.effect_modification(rocca, "PFS", factor="prior_hsct", covariates=covs,
                                firth=True)
    assert res.table["hr"].notna().all() and res.tests["p_value"].notna().all()
    # each level's hazard ratio is the Firth fit of that level's rows, profiled for hsct
    for est in res.estimates:
        model = est.extra["model"]
        assert model.meta["firth"] and model.meta["profiled"] == ("hsct",)
        hsct = model.summary.set_index("term").loc["hsct"]
        assert est.hr == hsct["hr"] and est.lower == hsct["lower"]
    rows = X.hsct_rows(rocca, "PFS", population="responders",
                       columns=["prior_hsct", *covs])
    one = rows[rows["prior_hsct"]]
    direct = rc.cox(one, time="stop", start="start", event="event",
                    covariates=["hsct", *covs], firth=True, profile=["hsct"])
    got = res.table.set_index("level").loc[True]
    ref = direct.summary.set_index("term").loc["hsct"]
    np.testing.assert_allclose([got["hr"], got["lower"], got["upper"], got["p"]],
                               [ref["hr"], ref["lower"], ref["upper"], ref["p"]], rtol=1e-12)


def test_time_varying_firth_profiles_the_exposure(rocca):
    est = X.time_varying(rocca, "PFS", covariates=["mrd_negative", "age"], firth=True)
    assert est.extra["model"].meta["profiled"] == ("hsct",) and "Firth" in est.note
    with pytest.raises(ValueError, match="no robust"):
        X.time_varying(rocca, "PFS", firth=True, robust=True)
    both = rc.hsct_effect(rocca, "PFS", methods=["time_varying", "landmark"],
                          time_varying={"firth": True})
    assert "Firth" in both["time_varying"].note and "Firth" in both["landmark"].label
