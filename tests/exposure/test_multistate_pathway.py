"""The CAR-T pathway as a multi-state model (`Cohort.multistate()`): the long frame and
its same-day rules, state probabilities, the dynamic prediction of three transplant
strategies against independent computations, and recovery of the generating model."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from cohorts import registry_from_days
from paths import ROOT

import rwe_cart as rc
from rwe_cart.exposure import cart_transitions
from rwe_cart.exposure._multistate import STATES
from rwe_cart.synthetic import model as synth
from rwe_cart.synthetic import rocca

PROFILE = {"mrd_negative": True, "prior_hsct": False, "age": 45.0}


def _tiny() -> rc.Cohort:
    """Patients whose paths are worked out by hand (days from infusion)."""
    spec = [  # id, best response, response, relapse, HSCT, death, last contact
        ("P1", "CR", 28, 200, 100, 300, 300),     # remission, HSCT, relapse, death
        ("P2", "CR", 28, 90, 150, None, 400),     # salvage HSCT after relapse: never 'hsct'
        ("P3", "NR", None, 28, None, 60, 60),     # treatment failure, death
        ("P4", "CRi", 30, None, 30, None, 500),   # HSCT on the response day
        ("P5", "CR", 28, None, 120, 120, 120),    # dies on the HSCT day: from remission
        ("P6", "CR", 0, None, None, None, 50),    # response on the infusion day
        ("P7", "CR", 28, 60, None, None, 60),     # relapse on the last-contact day
        ("P8", "NE", None, None, None, 10, 10),   # early death
        ("P9", "CR", 40, 70, None, 70, 70),       # relapse and death on one day
    ]
    return registry_from_days(spec, age=[40.0 + i for i in range(len(spec))])


@pytest.fixture(scope="module")
def tiny():
    return _tiny().multistate()


@pytest.fixture(scope="module")
def rocca_ms():
    return rc.datasets.rocca_like().multistate()


@pytest.fixture(scope="module")
def rocca_fit(rocca_ms):
    return rocca_ms.fit(["mrd_negative", "prior_hsct", "age"])


def _path(ms, pid):
    f = ms.frame[(ms.frame["id"] == pid) & (ms.frame["status"] == 1)]
    return [(str(r["from"]), str(r["to"]), r["stop"]) for _, r in f.iterrows()]


# ---------------------------------------------------------------------------------------
# The long frame
# ---------------------------------------------------------------------------------------
def test_states_and_transitions():
    tr = cart_transitions()
    assert tr.states == ("infused", "remission", "hsct", "relapse", "death")
    assert [f"{a}->{b}" for a, b in zip(tr.table["from"], tr.table["to"])] == [
        "infused->remission", "infused->relapse", "infused->death", "remission->hsct",
        "remission->relapse", "remission->death", "hsct->relapse", "hsct->death",
        "relapse->death"]


def test_paths_follow_the_rules(tiny):
    assert _path(tiny, "P1") == [("infused", "remission", 28), ("remission", "hsct", 100),
                                 ("hsct", "relapse", 200), ("relapse", "death", 300)]
    # the salvage HSCT after relapse never enters 'hsct'
    assert _path(tiny, "P2") == [("infused", "remission", 28), ("remission", "relapse", 90)]
    assert not (tiny.frame["id"].eq("P2") & tiny.frame["from"].eq("hsct")).any()
    assert _path(tiny, "P3") == [("infused", "relapse", 28), ("relapse", "death", 60)]
    # same-day entries keep the path order, a quarter of a day apart
    assert _path(tiny, "P4") == [("infused", "remission", 30), ("remission", "hsct", 30.25)]
    # a death on the HSCT day counts as before the transplant
    assert _path(tiny, "P5") == [("infused", "remission", 28), ("remission", "death", 120)]
    assert _path(tiny, "P6") == [("infused", "remission", 0.25)]
    assert _path(tiny, "P8") == [("infused", "death", 10)]
    assert _path(tiny, "P9") == [("infused", "remission", 40), ("remission", "relapse", 70),
                                 ("relapse", "death", 70.25)]


def test_censored_rows_of_stays_without_follow_up_are_left_out(tiny):
    # P7 relapses on the day of last contact: the relapse counts, no row out of relapse
    assert _path(tiny, "P7") == [("infused", "remission", 28), ("remission", "relapse", 60)]
    assert not (tiny.frame["id"].eq("P7") & tiny.frame["from"].eq("relapse")).any()
    assert tiny.frame.attrs["no_follow_up"] == ("P7",)
    assert (tiny.frame["stop"] > tiny.frame["start"]).all()
    # P4 lives on in 'hsct' from day 30.25 to its last contact
    last = tiny.frame[tiny.frame["id"].eq("P4") & tiny.frame["from"].eq("hsct")]
    assert last["start"].unique().tolist() == [30.25] and last["stop"].unique().tolist() == [500]


def test_landmark_where_nobody_leaves_the_state(tiny):
    # on day 250 only P4 is in 'hsct', and stays there: LMAJ's hazards are all 0
    with pytest.raises(ValueError, match="no transitions"):
        tiny.landmark(250, "hsct")
    pt = rc.exposure._ms_prediction._lmaj(tiny.frame, tiny.transitions, 250, "hsct")
    assert pt.meta["n_patients"] == 1
    tab = pt.table("hsct")
    assert tab["time"].unique().tolist() == [250]
    assert tab.set_index("state")["probability"].to_dict() == {
        "infused": 0, "remission": 0, "hsct": 1, "relapse": 0, "death": 0}


def test_frame_on_the_bundled_cohort(rocca_ms):
    cohort = rc.datasets.rocca_like()
    p = cohort.patients
    f = rocca_ms.frame
    assert f["id"].nunique() == len(p)
    assert list(f["from"].cat.categories) == list(STATES)
    counts = rocca_ms.counts.set_index(["from", "to"])["n"]
    cr = p["best_response"].isin(["CR", "CRi", "CRh"])
    assert counts["infused", "remission"] == cr.sum()
    died_that_day = p["hsct_in_remission"] & (p["t_hsct"] == p["t_death"])
    assert counts["remission", "hsct"] == (p["hsct_in_remission"] & ~died_that_day).sum()
    assert counts[:, "death"].sum() == p["dead"].sum()
    salvage = p.loc[p["t_hsct"].notna() & ~p["hsct_in_remission"], "patient_id"]
    assert len(salvage) and not f[f["id"].isin(salvage) & f["from"].eq("hsct")].size
    # every patient starts in 'infused' at day 0
    first = f.groupby("id")["start"].min()
    assert (first == 0).all()


def test_keep_copies_patient_columns():
    cohort = rc.datasets.rocca_like()
    ms = cohort.multistate(keep=["mrd_negative", "age"])
    assert ms.frame["mrd_negative"].dtype == cohort.patients["mrd_negative"].dtype
    by_id = cohort.patients.set_index("patient_id")["age"]
    np.testing.assert_array_equal(ms.frame["age"], ms.frame["id"].map(by_id))
    with pytest.raises(ValueError, match="keep names columns"):
        cohort.multistate(keep=["nope"])


def test_adam_cohort():
    root = ROOT / "data" / "synthetic"
    trial = rc.load_adam(root / "zuma3_like_adsl.xpt", root / "zuma3_like_adtte.xpt",
                         root / "zuma3_like_adrs.xpt")
    ms = trial.multistate()
    counts = ms.counts.set_index(["from", "to"])["n"]
    assert counts["remission", "hsct"] == trial.patients["hsct_in_remission"].sum() == 14
    assert counts["infused", "remission"] == 57
    tab = ms.state_probabilities().table(start="infused")
    np.testing.assert_allclose(tab.groupby("time", observed=True)["probability"].sum(), 1.0,
                               rtol=1e-12)


def test_unavailable_inputs_raise():
    frame = rc.datasets.rocca_like_frame().drop(columns=["date_response"])
    cohort = rc.load_registry(frame)
    with pytest.raises(rc.UnavailableInputError, match="response dates"):
        cohort.multistate()


# ---------------------------------------------------------------------------------------
# State probabilities
# ---------------------------------------------------------------------------------------
def test_state_probabilities_from_infusion(rocca_ms):
    pt = rocca_ms.state_probabilities()
    tab = pt.table(start="infused")
    assert list(tab["state"].cat.categories) == list(STATES)
    tot = tab.groupby("time", observed=True)["probability"].sum()
    np.testing.assert_allclose(tot, 1.0, rtol=1e-12)
    ref = rc.state_probabilities(rc.transition_hazards(rocca_ms.frame)).table("infused")
    np.testing.assert_allclose(tab["probability"], ref["probability"], rtol=1e-12)
    # current remission = remission + hsct, 0 before the first response
    cur = rocca_ms.current_remission()
    both = tab[tab["state"].isin(["remission", "hsct"])].groupby("time")["probability"].sum()
    np.testing.assert_allclose(cur["probability"], both.to_numpy(), rtol=1e-12)
    first = rocca_ms.frame.query("trans == 1 and status == 1")["stop"].min()
    assert cur.loc[cur["time"] < first, "probability"].eq(0).all()


def test_prediction_plot_draws_the_table(rocca_ms, rocca_fit):
    import matplotlib.pyplot as plt

    dp = rocca_ms.dynamic_prediction({"p": PROFILE}, s=100, model=rocca_fit, landmark=False)
    fig = dp.plot()
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == ["transplant at s", "not yet", "never"]
    t = dp.table.query("outcome == 'alive in remission' and strategy == 'never'")
    np.testing.assert_allclose(lines[2].get_ydata(), t["probability"])
    np.testing.assert_allclose(lines[2].get_xdata(), (t["time"] - 100) / 30.4375)
    plt.close(fig)
    with pytest.raises(ValueError, match="no prediction"):
        dp.plot(s=60)


# ---------------------------------------------------------------------------------------
# Dynamic prediction
# ---------------------------------------------------------------------------------------
def _product_integral(hz, s, start, drop=None):
    """P(start at s -> state at each hazard time) by a plain loop over times."""
    tr = hz.transitions
    S = tr.n_states
    dA = np.diff(hz.cumhaz, axis=0, prepend=0.0)
    if drop is not None:
        dA[:, drop] = 0.0
    row = np.zeros(S)
    row[STATES.index(start)] = 1.0
    out = []
    for i, t in enumerate(hz.times):
        if t > s:
            m = np.eye(S)
            for k in range(tr.n_transitions):
                m[tr.tfrom[k], tr.tto[k]] += dA[i, k]
                m[tr.tfrom[k], tr.tfrom[k]] -= dA[i, k]
            row = row @ m
        out.append(row.copy())
    return hz.times, np.array(out)


def _alive_in_remission(times, P, grid):
    i = np.searchsorted(times, grid, side="right") - 1
    return P[i][:, [STATES.index("remission"), STATES.index("hsct")]].sum(axis=1)


def test_strategies_equal_independent_computations(rocca_ms, rocca_fit):
    s = 100.0
    dp = rocca_ms.dynamic_prediction({"p": PROFILE}, s=s, model=rocca_fit, landmark=False)
    hz = rocca_fit.hazards(PROFILE)
    t = dp.table.query("outcome == 'alive in remission'")
    grid = t.query("strategy == 'never'")["time"].to_numpy()
    # (a) transplant at s: start in 'hsct' at s (probtrans from hsct)
    a = rc.state_probabilities(hz, predt=s).table("hsct")
    a = a[a["state"].isin(["remission", "hsct"])].groupby("time")["probability"].sum()
    i = np.searchsorted(a.index.to_numpy(), grid, side="right") - 1
    np.testing.assert_allclose(t.query("strategy == 'transplant at s'")["probability"],
                               a.to_numpy()[i], rtol=1e-10)
    # (b) and (c): a plain product integral, (c) without the remission -> hsct transition
    for strategy, drop in (("not yet", None), ("never", 3)):
        times, P = _product_integral(hz, s, "remission", drop)
        np.testing.assert_allclose(t.query("strategy == @strategy")["probability"],
                                   _alive_in_remission(times, P, grid), rtol=1e-10)
    # 'never' never enters hsct
    never = rc.exposure._ms_prediction._strategy_probs(hz, s, False)["never"][0]
    assert np.abs(never.probability[:, STATES.index("remission"), STATES.index("hsct")]).max() == 0


@pytest.mark.parametrize("covariates", [{}, {"infused -> remission": ["age"]}])
def test_markov_prediction_without_covariates_is_the_aalen_johansen(rocca_ms, covariates):
    # a Cox model whose only term sits on a transition out of 'infused' predicts from
    # remission with the baseline hazards of the other strata: Nelson–Aalen's
    s = 100.0
    fit = rocca_ms.fit(covariates)
    assert (fit.model is None) == (not covariates)
    dp = rocca_ms.dynamic_prediction({"anyone": {"age": 50.0}}, s=s, model=fit,
                                     landmark=False)
    ref = rocca_ms.state_probabilities(predt=s).table("remission")
    ref = ref[ref["state"].isin(["remission", "hsct"])].groupby("time")["probability"].sum()
    t = dp.table.query("outcome == 'alive in remission' and strategy == 'not yet'")
    i = np.searchsorted(ref.index.to_numpy(), t["time"].to_numpy(), side="right") - 1
    np.testing.assert_allclose(t["probability"], ref.to_numpy()[i], rtol=1e-9)


def test_contrasts_and_landmark(rocca_ms, rocca_fit):
    dp = rocca_ms.dynamic_prediction({"p": PROFILE}, s=[100, 180], model=rocca_fit)
    assert list(dp.table.columns) == ["profile", "s", "method", "strategy", "time", "outcome",
                                      "probability", "n_at_s", "assumptions"]
    keys = dp.table.groupby(["method", "strategy"])["assumptions"].first()
    assert keys["markov cox", "not yet"] == "markov"
    assert keys["markov cox", "never"] == "markov, never"
    assert keys["landmark AJ", "transplant at s"] == "landmark"
    c = dp.contrasts
    assert set(c["method"]) == {"markov cox", "landmark AJ"}
    assert set(c["contrast"]) == {"transplant at s vs never", "transplant at s vs not yet",
                                  "not yet vs never"}
    # contrasts add up: (a - c) = (a - b) + (b - c)
    for (prof, s, m, meas), g in c.groupby(["profile", "s", "method", "measure"]):
        e = g.set_index("contrast")["estimate"]
        assert e["transplant at s vs never"] == pytest.approx(
            e["transplant at s vs not yet"] + e["not yet vs never"], rel=1e-9, abs=1e-12)
    assert c["assumptions"].str.len().gt(0).all()
    assert all(k in dp.assumptions for keys in c["assumptions"] for k in keys.split(", "))
    # landmark 'not yet' is LMAJ from remission at s
    lm = rocca_ms.landmark(100, "remission").table("remission")
    lm = lm[lm["state"].isin(["remission", "hsct"])].groupby("time")["probability"].sum()
    t = dp.table.query("method == 'landmark AJ' and s == 100 and strategy == 'not yet' "
                       "and outcome == 'alive in remission'")
    i = np.searchsorted(lm.index.to_numpy(), t["time"].to_numpy(), side="right") - 1
    np.testing.assert_allclose(t["probability"], lm.to_numpy()[i], rtol=1e-12)
    assert "<table" in dp._repr_html_() and "Markov" in dp._repr_html_()
    with pytest.raises(dataclasses.FrozenInstanceError):
        dp.table = None


def test_bootstrap_is_reproducible(rocca_ms):
    # prior HSCT on remission -> hsct (4 transplants) separates in some resamples
    fit = rocca_ms.fit(["mrd_negative", "age"])
    args = dict(s=100, model=fit, landmark=False, n_boot=8, seed=5)
    one = rocca_ms.dynamic_prediction({"p": {**PROFILE, "age": 30.0}}, **args)
    two = rocca_ms.dynamic_prediction({"p": {**PROFILE, "age": 30.0}}, **args)
    pd.testing.assert_frame_equal(one.contrasts, two.contrasts)
    assert one.contrasts["se"].gt(0).all()
    assert (one.contrasts["lower"] <= one.contrasts["upper"]).all()
    # the landmark contrasts get their own bootstrap, day by day
    lm = rocca_ms.dynamic_prediction({"p": {**PROFILE, "age": 30.0}},
                                     **{**args, "s": 180, "landmark": True})
    c = lm.contrasts.query("method == 'landmark AJ'")
    assert len(c) == 9 and c["se"].gt(0).all() and not lm.meta["landmark_bootstrap_error"]
    assert c["assumptions"].eq("landmark, bootstrap").all()
    again = rocca_ms.dynamic_prediction({"p": {**PROFILE, "age": 30.0}},
                                        **{**args, "s": 180, "landmark": True})
    pd.testing.assert_frame_equal(lm.contrasts, again.contrasts)
    # four patients in 'hsct' on day 60: too few to resample
    few = rocca_ms.dynamic_prediction({"p": {**PROFILE, "age": 30.0}},
                                      **{**args, "s": 60, "landmark": True})
    assert few.meta["landmark_bootstrap_error"] == {
        60.0: "a starting state has 4 patients on day 60, fewer than 10"}
    assert few.contrasts.query("method == 'landmark AJ'")["se"].isna().all()


def test_covariates_must_exist(rocca_ms):
    for covariates in (["age", "nope"], {"remission -> relapse": ["nope"]}):
        with pytest.raises(ValueError, match="not in the cohort's patient table"):
            rocca_ms.fit(covariates)
    # MRD status exists for responders only: not on the transitions out of 'infused'
    with pytest.raises(ValueError, match="'mrd_negative' is missing for patients .* on "
                                         "transition infused -> remission"):
        rocca_ms.fit({"infused -> remission": ["mrd_negative"]})
    with pytest.raises(ValueError, match="names transition"):
        rocca_ms.fit({"remission -> nowhere": ["age"]})


def test_profile_must_give_every_covariate(rocca_ms, rocca_fit):
    with pytest.raises(ValueError, match="needs values of"):
        rocca_ms.dynamic_prediction({"p": {"age": 50}}, model=rocca_fit)


# ---------------------------------------------------------------------------------------
# Recovery of the generating model (known truth)
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def large():
    frame, _ = synth.simulate(rocca.PARAMS, 20_000, 12)
    cohort = rc.load_registry(frame)
    icans3 = cohort.patients["icans_grade"].ge(3)   # a covariate of the generating NRM
    return dataclasses.replace(cohort, patients=cohort.patients.assign(icans3=icans3)
                               ).multistate()


def _true_occupation(days):
    """State occupation on day d from the latent (uncensored) histories of a very large
    draw: an event at a continuous time x is on day ceil(x), so it has happened by day d
    when x <= d."""
    _, truth = synth.simulate(rocca.PARAMS, 300_000, 11)
    lat = truth.latent
    by = {c: np.nan_to_num(lat[c].to_numpy(), nan=np.inf)[:, None] <= days[None, :]
          for c in ("t_response", "t_hsct", "t_relapse", "t_death")}
    dead = by["t_death"]
    relapse = by["t_relapse"] & ~dead
    hsct = by["t_hsct"] & ~dead & ~by["t_relapse"]
    remission = by["t_response"] & ~dead & ~by["t_relapse"] & ~by["t_hsct"]
    infused = ~(dead | relapse | hsct | remission)
    return np.stack([infused, remission, hsct, relapse, dead]).mean(axis=1), len(lat)


def test_aalen_johansen_recovers_the_true_state_occupation(large):
    days = np.array([30.0, 90, 180, 365, 730, 1095])
    truth, n_truth = _true_occupation(days)
    tab = large.state_probabilities().table("infused")
    for j, state in enumerate(STATES):
        sub = tab[tab["state"] == state]
        i = np.searchsorted(sub["time"].to_numpy(), days, side="right") - 1
        est, se = sub["probability"].to_numpy()[i], sub["se"].to_numpy()[i]
        mc = np.sqrt(truth[j] * (1 - truth[j]) / n_truth)
        # 4 standard errors of estimate and Monte Carlo truth (30 comparisons); measured
        # largest |z| 1.7, largest absolute error 0.011
        assert np.all(np.abs(est - truth[j]) <= 4 * np.sqrt(se**2 + mc**2) + 1e-12), state


def test_transition_specific_cox_recovers_the_generating_hazard_ratios(large):
    fit = large.fit({"remission -> hsct": ["mrd_negative", "prior_hsct", "age"],
                     "remission -> relapse": ["mrd_negative", "extramedullary",
                                              "marrow_blasts_pct"]})
    s = fit.model.summary.set_index("term")
    truth = {"mrd_negativeTRUE.4": math.log(1.5), "prior_hsctTRUE.4": math.log(0.18),
             "age.4": math.log(0.75) / 10, "mrd_negativeTRUE.5": -math.log(2.5),
             "extramedullaryTRUE.5": math.log(1.5), "marrow_blasts_pct.5": math.log(1.04) / 10}
    for term, value in truth.items():
        assert abs(s.loc[term, "coef"] - value) <= 4 * s.loc[term, "se"], term
    tab = fit.table
    assert tab.loc[tab["transition"] == 9, "covariate"].tolist() == ["(baseline hazard only)"]


def test_never_strategy_recovers_the_generating_model(large):
    """Out of remission the generator is Markov (relapse and NRM run on time since
    infusion), so without the transplant transition the chance of staying alive in
    remission from s to t is exp(-(relapse + NRM cumulative hazards)) for the profile."""
    p = rocca.PARAMS
    fit = large.fit({"remission -> relapse": ["mrd_negative", "extramedullary",
                                              "marrow_blasts_pct", "prior_hsct"],
                     "remission -> death": ["age", "prior_hsct", "icans3"],
                     "remission -> hsct": ["mrd_negative", "prior_hsct", "age"]})
    profile = {"mrd_negative": False, "extramedullary": True, "marrow_blasts_pct": 30.0,
               "prior_hsct": True, "age": 60.0, "icans3": False}
    lp_rel = p.rel_mrd_pos + p.rel_emd + 3 * p.rel_blasts10 + p.rel_prior_hsct
    lp_nrm = 1.5 * p.nrm_age10 + p.nrm_prior_hsct
    hz = fit.hazards(profile)
    a = STATES.index("remission")
    for s in (60.0, 100.0, 180.0):
        never = rc.exposure._ms_prediction._strategy_probs(hz, s, True)["never"][0]
        t = s + np.array([90.0, 365.0, 730.0])
        i = np.searchsorted(never.times, t, side="right") - 1
        est, se = never.probability[i, a, a], never.se[i, a, a]
        at_s = np.array([s])
        cum = ((p.relapse.cumulative(t) - p.relapse.cumulative(at_s)) * math.exp(lp_rel)
               + (p.nrm.cumulative(t) - p.nrm.cumulative(at_s)) * math.exp(lp_nrm))
        truth = np.exp(-cum)
        # measured |z| at most 2.1 over three seeds (the 9 numbers share one fit)
        assert np.all(np.abs(est - truth) <= 4 * se), (s, est, truth)
        # the dashboard numbers agree with the same computation
        dp = large.dynamic_prediction({"p": profile}, s=s, model=fit, landmark=False,
                                      horizons=(365,), tau=730)
        row = dp.table.query("strategy == 'never' and outcome == 'alive in remission'")
        got = row.set_index("time")["probability"].loc[s + 365.0]
        assert got == pytest.approx(est[1] + never.probability[i[1], a, STATES.index("hsct")],
                                    rel=1e-12)
