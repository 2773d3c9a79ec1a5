"""Exposure methods on tiny hand-worked cases, conventions, and internal consistency."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reference import load_data

import rwe_cart as rc
from rwe_cart import exposure as X

# ---------------------------------------------------------------------------------------
# A three-subject case worked out by hand
#   A: (0, 10] unexposed, event        B: (0, 5] unexposed, (5, 20] exposed, event
#   C: (0, 30] unexposed, censored
# Event at 10: at risk A(0), B(1), C(0) -> O-E contribution 0 - 1/3, variance 1/3*2/3
# Event at 20: at risk B(1), C(0)       -> 1 - 1/2,                 variance 1/4
# O = 1, E = 5/6, V = 2/9 + 1/4 = 17/36, score statistic (1/6)^2 / (17/36) = 1/17.
# ---------------------------------------------------------------------------------------


@pytest.fixture
def abc():
    people = pd.DataFrame({"id": ["A", "B", "C"], "time": [10.0, 20.0, 30.0],
                           "event": [1, 1, 0], "x_time": [np.nan, 5.0, np.nan]})
    rows = rc.split_timeline(people, id="id", time="time", event="event",
                             exposures={"x": "x_time"})
    return people, rows


def test_hand_rows(abc):
    _, rows = abc
    assert rows[["id", "start", "stop", "event", "x"]].values.tolist() == [
        ["A", 0.0, 10.0, 1, 0], ["B", 0.0, 5.0, 0, 0], ["B", 5.0, 20.0, 1, 1],
        ["C", 0.0, 30.0, 0, 0]]


def test_mantel_byar_by_hand(abc):
    _, rows = abc
    est = X.mantel_byar_test(rows, start="start", time="stop", event="event", exposure="x",
                             id="id")
    assert est.extra["observed"] == 1
    assert est.extra["expected"] == pytest.approx(5 / 6, rel=1e-12)
    assert est.extra["variance"] == pytest.approx(17 / 36, rel=1e-12)
    assert est.extra["statistic"] == pytest.approx(1 / 17, rel=1e-10)
    assert est.n == 3 and est.events == 2


def test_time_varying_score_test_by_hand(abc):
    _, rows = abc
    est = X.time_varying_cox(rows, start="start", time="stop", event="event", exposure="x",
                             id="id", ties="breslow")
    assert est.extra["model"].test("score").statistic == pytest.approx(1 / 17, rel=1e-10)
    # no ties here: Efron and Breslow agree
    efron = X.time_varying_cox(rows, start="start", time="stop", event="event", exposure="x")
    assert efron.hr == pytest.approx(est.hr, rel=1e-12)
    assert efron.n == len(rows)   # without id, n counts rows


def test_landmark_by_hand(abc):
    people, _ = abc
    # L = 6: all three still in follow-up; B exposed (5 <= 6). Clock restarts at 6:
    # A event at 4 (unexposed), B event at 14 (exposed), C censored at 24.
    # log-rank: same arithmetic as above, chisq = 1/17.
    est = X.landmark_cox(people, time="time", event="event", at=6, exposure_time="x_time",
                         id="id")
    fr = est.extra["frame"].sort_values("id")
    assert fr["time"].tolist() == [4.0, 14.0, 24.0]
    assert fr["exposed"].tolist() == [0, 1, 0]
    assert (est.n, est.extra["n_exposed"], est.events) == (3, 1, 2)
    assert est.extra["logrank"].statistic == pytest.approx(1 / 17, rel=1e-10)
    # a subject whose event is on the landmark day is not in the landmark set
    with pytest.raises(ValueError, match="nobody is exposed"):
        X.landmark_cox(people, time="time", event="event", at=4.9, exposure_time="x_time")
    # at L = 10, A's event is not after the landmark: B (exposed, event) and C remain, and
    # every event is in the exposed group, so the hazard ratio is not estimable
    late = X.landmark_cox_grid(people, time="time", event="event", landmarks=[10],
                               exposure_time="x_time", id="id").table.iloc[0]
    assert (late.n, late.exposed, late.events) == (2, 1, 1)
    assert np.isnan(late.hr) and "monotone likelihood" in late.note
    # by hand: L(b) = 1/(2 + e^b) * e^b/(e^b + 1) is maximal at e^b = sqrt(2)
    assert est.hr == pytest.approx(np.sqrt(2), rel=1e-8)


def test_firth_landmark_by_hand(abc):
    """At L = 10 the only event is in the exposed group (the ordinary fit diverges).
    Risk set {B exposed, C}: l*(b) = 1.5 b - 2 log(1 + e^b), maximal at e^b = 3."""
    people, _ = abc
    est = X.landmark_cox(people, time="time", event="event", at=10, exposure_time="x_time",
                         id="id", firth=True)
    assert est.hr == pytest.approx(3.0, rel=1e-9)
    model = est.extra["model"]
    assert model.meta["firth"] and model.meta["profiled"] == ("exposed",)
    assert "Firth" in est.note

    def pen(b):
        return 1.5 * b - 2 * np.log1p(np.exp(b))

    for limit in (est.lower, est.upper):
        assert 2 * (pen(np.log(3.0)) - pen(np.log(limit))) == pytest.approx(
            3.841458820694124, rel=1e-8)
    assert est.lower < 3 < est.upper


def test_censor_at_exposure_by_hand(abc):
    people, _ = abc
    est = X.censor_at_exposure(people, time="time", event="event", exposure_time="x_time",
                               times=[15, 25], id="id")
    assert np.isnan(est.hr) and np.isnan(est.p)
    km, kmc = est.extra["km"].table, est.extra["km_censored"].table
    # all follow-up: S = 2/3 after 10, 1/3 after 20
    assert km["survival"].tolist() == pytest.approx([2 / 3, 1 / 3, 1 / 3])
    # censored at B's exposure (day 5): S = 1/2 after 10 (2 at risk), no event at 20
    assert kmc["time"].tolist() == [5.0, 10.0, 30.0]
    assert kmc["survival"].tolist() == pytest.approx([1.0, 0.5, 0.5])
    assert est.events == 1 and est.n == 3 and est.extra["n_censored_at_exposure"] == 1
    surv = est.extra["survival"].set_index(["analysis", "time"])["survival"]
    assert surv[("censored at exposure", 25.0)] == pytest.approx(0.5)
    assert surv[("all follow-up", 25.0)] == pytest.approx(1 / 3)


def test_censor_keeps_an_event_on_the_exposure_day():
    d = pd.DataFrame({"time": [5.0, 8.0], "event": [1, 0], "x_time": [5.0, 2.0]})
    est = X.censor_at_exposure(d, time="time", event="event", exposure_time="x_time")
    fr = est.extra["frame"]
    assert fr["event"].tolist() == [1, 0] and fr["time"].tolist() == [5.0, 2.0]


def test_simon_makuch_risk_table_by_hand(abc):
    _, rows = abc
    sm = X.simon_makuch_curves(rows, start="start", time="stop", event="event", exposure="x",
                               id="id", times=[0, 5, 6, 15, 25])
    r = sm.risk_table.set_index(["group", "time"])
    # t = 0: everyone starts unexposed; at 5, B is still at risk unexposed (start < t <= stop)
    assert r.loc[0, "n_risk"].tolist() == [3, 3, 2, 1, 1]
    assert r.loc[1, "n_risk"].tolist() == [0, 0, 1, 1, 0]
    assert r.loc[0, "n_switch"].tolist() == [0, 1, 1, 1, 1]
    assert r.loc[0, "n_event"].tolist() == [0, 0, 0, 1, 1]
    assert r.loc[0, "n_censor"].tolist() == [0, 1, 1, 1, 1]   # the move to exposed
    assert r.loc[1, "n_event"].tolist() == [0, 0, 0, 0, 1]
    tab = sm.km.table
    assert tab.loc[tab.group == 0, "survival"].tolist() == pytest.approx([1.0, 0.5, 0.5])
    assert tab.loc[tab.group == 1, "survival"].tolist() == pytest.approx([0.0])
    pd.testing.assert_frame_equal(sm.at_risk([0, 5, 6, 15, 25]), sm.risk_table)
    assert sm.estimate().method == "simon_makuch" and np.isnan(sm.estimate().hr)


def test_risk_table_matches_km_without_switches():
    # no exposure at all: the risk table's n_risk equals the KM's at-risk numbers
    d = pd.DataFrame({"id": range(6), "start": 0.0, "stop": [2.0, 3, 3, 5, 8, 9],
                      "event": [1, 1, 0, 1, 0, 1], "x": [0, 0, 0, 1, 1, 1]})
    sm = X.simon_makuch_curves(d, start="start", time="stop", event="event", exposure="x",
                               id="id", times=[1, 3, 4, 8])
    km = rc.kaplan_meier(d, "stop", "event", by="x")
    ar = km.at_risk([1, 3, 4, 8])
    np.testing.assert_array_equal(sm.risk_table["n_risk"], ar["n_risk"])
    assert sm.risk_table["n_switch"].sum() == 0


# ---------------------------------------------------------------------------------------
# Generic functions: validation and consistency
# ---------------------------------------------------------------------------------------
def test_exposure_must_be_binary(abc):
    _, rows = abc
    bad = rows.assign(x=rows["x"] * 2)
    with pytest.raises(ValueError, match="only 0 and 1"):
        X.time_varying_cox(bad, start="start", time="stop", event="event", exposure="x")
    with pytest.raises(ValueError, match="nobody is exposed"):
        X.time_varying_cox(rows.assign(x=0), start="start", time="stop", event="event",
                           exposure="x")
    with pytest.raises(ValueError, match="needs id"):
        X.time_varying_cox(rows, start="start", time="stop", event="event", exposure="x",
                           robust=True)
    with pytest.raises(ValueError, match="also listed"):
        X.time_varying_cox(rows, start="start", time="stop", event="event", exposure="x",
                           covariates=["x"])
    # bool exposure is accepted and gives the same fit
    a = X.time_varying_cox(rows, start="start", time="stop", event="event", exposure="x")
    b = X.time_varying_cox(rows.assign(x=rows["x"].astype(bool)), start="start",
                           time="stop", event="event", exposure="x")
    assert a.hr == b.hr


def test_landmark_needs_one_exposure_argument(abc):
    people, _ = abc
    with pytest.raises(ValueError, match="exactly one"):
        X.landmark_cox(people, time="time", event="event", at=6)


def test_landmark_eligibility_and_horizon():
    jasa = load_data("jasa")
    base = X.landmark_cox(jasa, time="futime", event="fustat", at=30, exposure_time="wait_time")
    # eligible_from in the future removes patients; NaN eligible_until keeps everyone
    j = jasa.assign(ok_from=np.where(jasa["id"] % 2 == 0, 0.0, 40.0), until=np.nan)
    est = X.landmark_cox(j, time="futime", event="fustat", at=30, exposure_time="wait_time",
                         eligible_from="ok_from", eligible_until="until")
    assert est.n == (j.loc[j["futime"] > 30, "id"] % 2 == 0).sum() < base.n
    # horizon: administrative censoring at L + horizon
    h = X.landmark_cox(jasa, time="futime", event="fustat", at=30, exposure_time="wait_time",
                       horizon=100)
    fr = h.extra["frame"]
    assert fr["futime"].max() == 100
    assert h.events == int(((jasa["futime"] > 30) & (jasa["futime"] <= 130)
                            & (jasa["fustat"] == 1)).sum())


def test_landmark_grid_reports_unestimable_landmarks():
    jasa = load_data("jasa")
    grid = X.landmark_cox_grid(jasa, time="futime", event="fustat", landmarks=[0, 30, 5000],
                               exposure_time="wait_time", id="id")
    t = grid.table
    assert list(t.columns[:8]) == ["landmark", "n", "exposed", "events", "hr", "lower",
                                    "upper", "p"]
    assert len(t) == 3
    last = t.iloc[2]
    assert np.isnan(last.hr) and last.note.startswith("not estimable")
    assert len(grid.estimates) == int(t["hr"].notna().sum())


def test_supermodel_with_one_landmark_is_the_landmark_analysis():
    jasa = load_data("jasa")
    lm = X.landmark_cox(jasa, time="futime", event="fustat", at=30, exposure_time="wait_time",
                        covariates=["age"], horizon=365)
    sm = X.landmark_supermodel(jasa, id="id", time="futime", event="fustat",
                               exposure_time="wait_time", landmarks=[30], window=365,
                               covariates=["age"], degree=0)
    a = lm.extra["model"].summary.set_index("term")
    b = sm.model.summary.set_index("term")
    np.testing.assert_allclose(b.loc["exposed", "coef"], a.loc["exposed", "coef"], rtol=1e-10)
    np.testing.assert_allclose(b.loc["age", "coef"], a.loc["age", "coef"], rtol=1e-10)
    assert sm.n == lm.n and sm.n_rows == lm.n
    est = sm.estimate(30)
    assert est.hr == pytest.approx(lm.hr, rel=1e-10)
    # the robust SE (clustered by patient; one row each) is the sandwich SE of the landmark fit
    assert "robust_se" in sm.model.summary


def test_supermodel_terms_and_dynamic_prediction():
    jasa = load_data("jasa")
    sm = X.landmark_supermodel(jasa, id="id", time="futime", event="fustat",
                               exposure_time="wait_time", landmarks=[10, 30, 60, 90, 120],
                               window=180, covariates=["age"])
    terms = list(sm.model.summary["term"])
    assert terms == ["exposed", "exposed:s/w", "exposed:(s/w)^2", "age", "s/w", "(s/w)^2"]
    assert sm.model.cluster == "id" and sm.model.robust
    stacked = sm.meta["stacked"]
    assert sm.n_rows == len(stacked) and stacked["lm_stop"].le(stacked["lm_start"] + 180).all()
    # hazard ratio at s = exp(g0 + g1 s/w + g2 (s/w)^2)
    b = sm.model.coef
    s = 60 / 180
    hr = np.exp(b["exposed"] + b["exposed:s/w"] * s + b["exposed:(s/w)^2"] * s ** 2)
    assert sm.hr_at(60)["hr"].iloc[0] == pytest.approx(hr, rel=1e-12)
    # dynamic prediction by hand from the baseline hazard
    profile = pd.DataFrame({"age": [0.0, 10.0]}, index=["young", "old"])
    pred = sm.predict(profile, landmarks=[60])
    base = sm.model.baseline_hazard()
    cum = lambda t: base.loc[base["time"] <= t, "cumhaz"].iloc[-1]  # noqa: E731
    means = sm.model.means
    for i, (label, age) in enumerate([("young", 0.0), ("old", 10.0)]):
        for z, col in ((1, "survival_exposed"), (0, "survival_unexposed")):
            x = {"exposed": z, "exposed:s/w": z * s, "exposed:(s/w)^2": z * s * s,
                 "age": age, "s/w": s, "(s/w)^2": s * s}
            lp = sum(b[k] * (x[k] - means[k]) for k in b.index)
            expect = np.exp(-(cum(240) - cum(60)) * np.exp(lp))
            assert pred.loc[i, col] == pytest.approx(expect, rel=1e-10)
            assert pred.loc[i, "profile"] == label
    assert (pred["difference"] == pred["survival_exposed"] - pred["survival_unexposed"]).all()


def test_supermodel_rejects_bad_degree():
    jasa = load_data("jasa")
    with pytest.raises(ValueError, match="degree"):
        X.landmark_supermodel(jasa, id="id", time="futime", event="fustat",
                              exposure_time="wait_time", landmarks=[10, 30], window=180)


def test_effect_modification_on_heart():
    heart = load_data("heart")
    em = X.effect_modification_cox(heart, start="start", time="stop", event="event",
                                   exposure="transplant", modifier="surgery",
                                   covariates=["age"], id="id")
    # the interaction model by hand
    h = heart.assign(**{"surgery=1": heart["surgery"].astype(float),
                        "transplant:surgery=1": heart["transplant"] * heart["surgery"]})
    main = rc.cox(h, time="stop", start="start", event="event",
                  covariates=["transplant", "surgery=1", "age"])
    full = rc.cox(h, time="stop", start="start", event="event",
                  covariates=["transplant", "surgery=1", "transplant:surgery=1", "age"])
    lrt = em.test("likelihood_ratio")
    assert lrt.statistic == pytest.approx(2 * (full.loglik.fitted - main.loglik.fitted),
                                          rel=1e-10)
    assert lrt.df == 1
    z = full.summary.set_index("term").loc["transplant:surgery=1", "z"]
    assert em.test("wald").statistic == pytest.approx(z ** 2, rel=1e-10)
    # per-level fits equal separate time-varying Cox models in each level
    for level, row in em.table.set_index("level").iterrows():
        sub = heart[heart["surgery"] == level]
        assert row.n == sub["id"].nunique() and row.events == sub["event"].sum()
        if np.isnan(row.hr):   # reported, not dropped: say why
            assert row.note.startswith("not estimable")
            with pytest.raises(ValueError):
                X.time_varying_cox(sub, start="start", time="stop", event="event",
                                   exposure="transplant", covariates=["age"], id="id")
            continue
        est = X.time_varying_cox(sub, start="start", time="stop", event="event",
                                 exposure="transplant", covariates=["age"], id="id")
        assert row.hr == pytest.approx(est.hr, rel=1e-12)
    assert em.table["hr"].notna().any()
    # level 0's hazard ratio from the interaction model is exp(gamma)
    g = full.summary.set_index("term").loc["transplant", "hr"]
    assert em.table.iloc[0]["hr_model"] == pytest.approx(g, rel=1e-10)
    assert em.reference == 0


def test_cause_specific_cox_equals_cox_per_cause():
    rng = np.random.default_rng(3)
    d = pd.DataFrame({"id": range(60), "start": 0.0, "stop": rng.integers(1, 50, 60) * 1.0,
                      "cause": rng.integers(0, 3, 60), "x": rng.integers(0, 2, 60)})
    out = X.exposure_cause_specific_cox(d, start="start", time="stop", cause="cause",
                                        exposure="x", id="id",
                                        cause_names={1: "relapse", 2: "NRM"})
    assert list(out) == ["relapse", "NRM"]
    for k, name in ((1, "relapse"), (2, "NRM")):
        ref = rc.cox(d.assign(ev=(d["cause"] == k).astype(int)), time="stop", start="start",
                     event="ev", covariates=["x"])
        assert out[name].hr == pytest.approx(float(ref.hr.iloc[0]), rel=1e-12)
        assert out[name].events == int((d["cause"] == k).sum())


def test_incidence_after_exposure_shifts_the_clock():
    d = pd.DataFrame({"time": [10.0, 20, 30, 40, 50], "cause": [2, 1, 0, 2, 1],
                      "x_time": [np.nan, 5, 30, 10, 20]})
    ci, table, left_out = X.incidence_after_exposure(d, time="time", cause="cause",
                                                     exposure_time="x_time", times=[15, 30])
    # exposed: (5 -> 20, relapse), (30 -> 30: event/censoring on the exposure day, left
    # out), (10 -> 40, NRM), (20 -> 50, relapse): times since exposure 15, 30, 30
    assert left_out == 1
    expect = rc.cumulative_incidence(pd.DataFrame({"t": [15.0, 30, 30], "c": [1, 2, 1]}),
                                     "t", "c")
    np.testing.assert_allclose(ci.table["cif"], expect.table["cif"])
    nrm30 = table[(table["cause"] == 2) & (table["time"] == 30)]["cif"].iloc[0]
    assert nrm30 == pytest.approx(1 / 3)


def test_result_repr_and_html(abc):
    _, rows = abc
    est = X.time_varying_cox(rows, start="start", time="stop", event="event", exposure="x")
    assert "time_varying: HR" in repr(est)
    assert "Estimates" in est._repr_html_()
    assert est.label == "Time-varying Cox" and not est.biased and est.has_hr
    row = est.row()
    assert list(row) == X.ESTIMATE_COLUMNS
