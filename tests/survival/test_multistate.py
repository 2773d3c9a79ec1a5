"""Multi-state layer: the EBMT illness-death reference of R mstate 0.3.3
(tests/reference/ebmt3_multistate.json), survival::survfit's multi-state Aalen–Johansen
(tests/data/multistate_survfit.json), properties, input errors and the docstring
examples."""
from __future__ import annotations

import dataclasses
import doctest
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from reference import as_array, load_case, load_data

import rwe_cart as rc
from rwe_cart.survival import (_ms_frame, _ms_hazards, _ms_probabilities, _ms_transitions,
                               multistate)
from paths import TEST_DATA

RTOL = 1e-6
ATOL = 1e-12
COVS = ["dissub", "age", "drmatch", "tcd"]
LEVELS = {"dissub": ["AML", "ALL", "CML"], "age": ["<=20", "20-40", ">40"],
          "drmatch": ["No gender mismatch", "Gender mismatch"], "tcd": ["No TCD", "TCD"]}
# R's expand.covs(longnames = FALSE) names, in the order of the reference formula
R_TERMS = ["dissub1", "dissub2", "age1", "age2", "drmatch", "tcd"]
OUR_TERMS = ["dissubALL", "dissubCML", "age20-40", "age>40", "drmatchGender mismatch", "tcdTCD"]
ORDER = [f"{t}.{k}" for k in (1, 2, 3) for t in OUR_TERMS]
DATA = TEST_DATA


def close(actual, expected, what=""):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), as_array(expected),
                               rtol=RTOL, atol=ATOL, err_msg=what)


@pytest.fixture(scope="module")
def ref():
    return load_case("ebmt3_multistate")["values"]


@pytest.fixture(scope="module")
def tr():
    return rc.transitions({"Tx": ["PR", "RelDeath"], "PR": ["RelDeath"]})


@pytest.fixture(scope="module")
def e3():
    d = load_data("ebmt3")
    for c, lev in LEVELS.items():
        d[c] = pd.Categorical(d[c], categories=lev)
    return d


@pytest.fixture(scope="module")
def long(e3, tr):
    return rc.multistate_frame(e3, tr, time={"PR": "prtime", "RelDeath": "rfstime"},
                               status={"PR": "prstat", "RelDeath": "rfsstat"},
                               keep=COVS + ["prtime"])


@pytest.fixture(scope="module")
def expanded(long):
    out = rc.expand_covariates(long, COVS)
    out["pr"] = (out["trans"] == 3).astype(np.int64)
    return out


@pytest.fixture(scope="module")
def fits(expanded):
    c1 = rc.cox(expanded, time="stop", start="start", event="status", covariates=ORDER,
                strata="trans", ties="breslow")
    c2 = rc.cox(expanded, time="stop", start="start", event="status",
                covariates=ORDER + ["pr"], strata="to", ties="breslow")
    return c1, c2


def patient(tr, **values):
    base = {c: pd.Categorical([LEVELS[c][0]] * 3, categories=LEVELS[c]) for c in COVS}
    for c, v in values.items():
        base[c] = pd.Categorical([v] * 3, categories=LEVELS[c])
    nd = rc.expand_covariates(pd.DataFrame({**base, "trans": [1, 2, 3]}), COVS, tr)
    return nd


@pytest.fixture(scope="module")
def hazards(fits, tr):
    c1, c2 = fits
    nd = patient(tr)
    h1 = rc.transition_hazards(c1, nd.assign(trans=[1, 2, 3]), tr)
    nd2 = nd.assign(to=["PR", "RelDeath", "RelDeath"], pr=[0, 0, 1])
    h2 = rc.transition_hazards(c2, nd2, tr)
    nd3 = patient(tr, age=">40", tcd="TCD").assign(to=["PR", "RelDeath", "RelDeath"],
                                                   pr=[0, 0, 1])
    h3 = rc.transition_hazards(c2, nd3, tr)
    return h1, h2, h3


def compare_probtrans(pt, expected, start, perm=None):
    """Our .wide(start) against probtrans's columns; `perm[j]` = our state index of R's
    state j + 1."""
    w = pt.wide(start)
    S = len(pt.transitions.states)
    perm = perm or list(range(S))
    assert len(w) == len(expected["time"])
    close(w["time"], expected["time"], "time")
    for j in range(S):
        close(w[f"pstate{perm[j] + 1}"], expected[f"pstate{j + 1}"], f"pstate{j + 1}")
        close(w[f"se{perm[j] + 1}"], expected[f"se{j + 1}"], f"se{j + 1}")


# --- transitions and msprep ------------------------------------------------------------
def test_transitions_numbering(tr):
    assert tr.states == ("Tx", "PR", "RelDeath")
    assert tr.table.to_dict("list") == {"trans": [1, 2, 3], "from": ["Tx", "Tx", "PR"],
                                        "to": ["PR", "RelDeath", "RelDeath"]}
    assert tr.absorbing == ("RelDeath",)
    m = tr.matrix
    assert m.loc["Tx", "RelDeath"] == 2 and np.isnan(m.loc["RelDeath", "Tx"])
    # transMat(list(c(2, 4), 3, c(), c())): numbered row by row, targets as listed
    t4 = rc.transitions({1: [2, 4], 2: [3], 3: [], 4: []})
    assert t4.states == (1, 2, 4, 3)
    assert t4.table[["from", "to"]].values.tolist() == [[1, 2], [1, 4], [2, 3]]
    ill = rc.Transitions.illness_death(("A", "B", "C"))
    assert ill.table[["from", "to"]].values.tolist() == [["A", "B"], ["A", "C"], ["B", "C"]]
    cr = rc.Transitions.competing_risks(["Alive", "Relapse", "NRM"])
    assert cr.table[["from", "to"]].values.tolist() == [["Alive", "Relapse"],
                                                         ["Alive", "NRM"]]


def test_transitions_errors():
    with pytest.raises(ValueError, match="lists itself"):
        rc.transitions({"A": ["A", "B"]})
    with pytest.raises(ValueError, match="twice"):
        rc.transitions({"A": ["B", "B"]})
    with pytest.raises(TypeError, match="list of states"):
        rc.transitions({"A": "B"})
    with pytest.raises(ValueError, match="no transition"):
        rc.transitions({"A": []})


def test_msprep_rows(long, ref):
    m = ref["msprep"]
    assert len(long) == m["n_rows"]
    first = long.head(12)
    fr = m["first_rows"]
    assert first["id"].astype(str).tolist() == fr["id"]
    assert (first["from"].cat.codes + 1).tolist() == fr["from"]
    assert (first["to"].cat.codes + 1).tolist() == fr["to"]
    assert first["trans"].tolist() == fr["trans"]
    close(first["start"], fr["Tstart"])
    close(first["stop"], fr["Tstop"])
    close(first["time"], fr["time"])
    assert first["status"].tolist() == fr["status"]
    by = long.groupby("trans")
    assert by["status"].sum().tolist() == [m["status_sum_by_trans"][k] for k in "123"]
    assert by.size().tolist() == [m["rows_by_trans"][k] for k in "123"]
    assert list(long.columns[:8]) == ["id", "from", "to", "trans", "start", "stop", "time",
                                      "status"]
    # rows by id, then start, from, to (msprep's order)
    key = list(zip(long["id"], long["start"], long["from"].cat.codes, long["to"].cat.codes))
    assert key == sorted(key)


def test_events_table(long, ref):
    """msprep's events(): transitions made from each state, counted from the long rows."""
    ev = ref["events"]["counts"]       # rows from-state; columns to-states, no event, total
    made = long[long["status"] == 1].groupby(["from", "to"], observed=False).size()
    states = ("Tx", "PR", "RelDeath")
    for i, a in enumerate(states):
        for j, b in enumerate(states):
            assert made.get((a, b), 0) == ev[i][j]
        # patients in the state: one row per transition out of it, so count one of them
        rows = long[long["from"] == a]
        entered = rows["id"].nunique()
        assert entered == ev[i][4] if len(rows) else ev[i][4] == ev[i][3]
        assert entered - rows["status"].sum() == ev[i][3] or not len(rows)


# --- Cox models on the long frame --------------------------------------------------------
def test_expand_covariates_names(expanded):
    for t in OUR_TERMS:
        for k in (1, 2, 3):
            assert f"{t}.{k}" in expanded.columns
    row = expanded[(expanded["trans"] == 2) & (expanded["dissub"] == "CML")].iloc[0]
    assert row["dissubCML.2"] == 1.0 and row["dissubCML.1"] == 0.0 and row["dissubCML.3"] == 0.0


@pytest.mark.parametrize("which,key", [(0, "cox_stratified"), (1, "cox_ph")])
def test_cox_fits(fits, ref, which, key):
    fit = fits[which]
    r = ref[key]
    names = [f"{R_TERMS[OUR_TERMS.index(t.rsplit('.', 1)[0])]}.{t.rsplit('.', 1)[1]}"
             if t != "pr" else "pr" for t in fit.summary["term"]]
    assert names == r["term"]
    close(fit.coef, r["coef"])
    close(fit.summary["se"], r["se"])
    close(list(fit.loglik), r["loglik"])
    assert fit.n_events == r["n_event"]


@pytest.mark.parametrize("which,key", [(0, "msfit_stratified"), (1, "msfit_ph")])
def test_msfit_cox(hazards, ref, which, key):
    h = hazards[which]
    r = ref[key]
    close(h.table["time"], r["Haz"]["time"])
    assert h.table["trans"].tolist() == r["Haz"]["trans"]
    close(h.table["cumhaz"], r["Haz"]["Haz"])
    cov = h.covariance
    close(cov["time"], r["varHaz"]["time"])
    assert cov["trans1"].tolist() == r["varHaz"]["trans1"]
    assert cov["trans2"].tolist() == r["varHaz"]["trans2"]
    close(cov["cov"], r["varHaz"]["varHaz"])


def test_msfit_nonparametric(long, ref):
    h = rc.transition_hazards(long)
    r = ref["msfit_nonparametric"]
    close(h.table["time"], r["Haz"]["time"])
    close(h.table["cumhaz"], r["Haz"]["Haz"])
    close(h.covariance["cov"], r["varHaz"]["varHaz"])
    g = rc.transition_hazards(long, variance="greenwood")
    close(g.covariance["cov"], ref["msfit_nonparametric_greenwood"]["varHaz"]["varHaz"])


# --- probtrans ---------------------------------------------------------------------------
def test_probtrans_cox(hazards, ref):
    h1, h2, h3 = hazards
    compare_probtrans(rc.state_probabilities(h1), ref["probtrans_stratified_from1"], "Tx")
    p2 = rc.state_probabilities(h2)
    compare_probtrans(p2, ref["probtrans_ph_from1"], "Tx")
    compare_probtrans(p2, ref["probtrans_ph_from2"], "PR")
    compare_probtrans(rc.state_probabilities(h2, predt=0.5),
                      ref["probtrans_ph_predt05_from1"], "Tx")
    compare_probtrans(rc.state_probabilities(h2, predt=5, direction="fixedhorizon"),
                      ref["probtrans_ph_fixedhorizon5_from1"], "Tx")
    compare_probtrans(rc.state_probabilities(h3), ref["probtrans_ph_patient2_from1"], "Tx")


def test_probtrans_four_states(hazards, ref):
    """The PH-model hazards on the model that splits relapse/death by PR status: R's
    states 1..4 are Tx, PR, RelDeath after PR, RelDeath without PR."""
    t4 = rc.transitions({"Tx": ["PR", "RelDeath"], "PR": ["PRRelDeath"]})
    h = dataclasses.replace(hazards[1], transitions=t4)
    compare_probtrans(rc.state_probabilities(h), ref["probtrans_4state_from1"], "Tx",
                      perm=[0, 1, 3, 2])


def test_probtrans_nonparametric(long, ref):
    compare_probtrans(rc.state_probabilities(rc.transition_hazards(long)),
                      ref["probtrans_nonparametric_from1"], "Tx")
    compare_probtrans(rc.state_probabilities(rc.transition_hazards(long, variance="greenwood")),
                      ref["probtrans_nonparametric_greenwood_from1"], "Tx")


def test_table_tidy(hazards):
    pt = rc.state_probabilities(hazards[1])
    tab = pt.table(start="PR")
    w = pt.wide("PR")
    assert list(tab.columns) == ["time", "state", "probability", "se"]
    assert len(tab) == 3 * len(w)
    np.testing.assert_array_equal(tab.loc[tab["state"] == "RelDeath", "probability"],
                                  w["pstate3"])
    with pytest.raises(ValueError, match="not a state"):
        pt.table(start="Relapse")
    assert repr(pt).startswith("State probabilities (forward, predt = 0, aalen variance) "
                               "from 'Tx'")
    assert "<table" in pt._repr_html_() and "pstate3" in pt._repr_html_()
    assert "3 transitions" in repr(hazards[1]) and "<table" in hazards[1]._repr_html_()


def test_lmaj(long, ref):
    lm = rc.landmark_aalen_johansen(long, None, s=0.5, start="Tx")
    compare_probtrans(lm, ref["lmaj_s05_from1"], "Tx")
    assert lm.table()["time"].iloc[0] == 0.5


def test_lmaj_errors(long):
    with pytest.raises(ValueError, match="no patient is in state 'PR' at the landmark"):
        rc.landmark_aalen_johansen(long, None, s=0.0, start="PR")


def test_elos(hazards, ref):
    pt = rc.state_probabilities(hazards[1])
    r = ref["elos_ph_tau7"]["value"]
    for a, start in enumerate(("Tx", "PR", "RelDeath")):
        los = rc.length_of_stay(pt, tau=7, start=start)
        assert los.table["state"].tolist() == ["Tx", "PR", "RelDeath"]
        close(los.table["length_of_stay"], r[a])
    assert los.table["se"].isna().all()
    with pytest.raises(ValueError, match="n_boot"):
        rc.length_of_stay(pt, tau=7, n_boot=1)


def test_elos_bootstrap_se(long):
    """The bootstrap SE of the non-parametric ELOS is close to the spread of the
    estimate over halves of the data (a rough check), reproducible with its seed."""
    pt = rc.state_probabilities(rc.transition_hazards(long))
    a = rc.length_of_stay(pt, tau=5, n_boot=20, seed=3)
    b = rc.length_of_stay(pt, tau=5, n_boot=20, seed=3)
    np.testing.assert_array_equal(a.table["se"], b.table["se"])
    se = a.table["se"].to_numpy()
    assert np.all((se > 0.01) & (se < 0.2))
    assert a.meta["se"] == "bootstrap over patients"


# --- survival::survfit multi-state -------------------------------------------------------
def test_against_survfit():
    case = json.loads((DATA / "multistate_survfit.json").read_text())
    v = case["values"]
    wide = pd.read_csv(DATA / case["data"])
    tr = rc.transitions({"Infused": ["Response", "Death"], "Response": ["Death"]})
    long = rc.multistate_frame(wide, tr, time={"Response": "resp_time", "Death": "death_time"},
                               status={"Response": "resp_status", "Death": "death_status"})
    for variance in ("aalen", "greenwood"):
        pt = rc.state_probabilities(rc.transition_hazards(long, variance=variance))
        tab = pt.wide("Infused")
        at = np.searchsorted(tab["time"].to_numpy(), as_array(v["time"]), side="right") - 1
        for j, s in enumerate(v["states"]):
            close(tab[f"pstate{j + 1}"].to_numpy()[at], v["pstate"][s], s)
            # survfit's SE is the infinitesimal jackknife: a different estimator of the
            # same variance: within 15% here (12% at most, in the sparse tail)
            ours = tab[f"se{j + 1}"].to_numpy()[at]
            ij = as_array(v["std_err"][s])
            ok = ij > 0.01
            np.testing.assert_allclose(ours[ok], ij[ok], rtol=0.15)


# --- properties ---------------------------------------------------------------------------
def _simulated(seed, n=300, three=True):
    rng = np.random.default_rng(seed)
    t1 = np.ceil(rng.exponential(50, n))
    t2 = np.ceil(rng.exponential(80, n))
    cens = np.ceil(rng.uniform(10, 300, n))
    first = np.minimum(np.minimum(t1, t2), cens)
    wide = pd.DataFrame({"id": np.arange(n),
                         "a_t": first, "a_s": ((t1 <= t2) & (t1 <= cens)).astype(int),
                         "b_t": first, "b_s": ((t2 < t1) & (t2 <= cens)).astype(int)})
    return wide


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_probabilities_sum_to_one(long, seed):
    wide = _simulated(seed)
    tr = rc.Transitions.competing_risks(["Alive", "A", "B"])
    lf = rc.multistate_frame(wide, tr, time={"A": "a_t", "B": "b_t"},
                             status={"A": "a_s", "B": "b_s"})
    for frame in (lf, long):
        for predt in (0, 20):
            pt = rc.state_probabilities(rc.transition_hazards(frame), predt=predt)
            P = pt.probability
            assert np.all((P >= -1e-12) & (P <= 1 + 1e-12))
            np.testing.assert_allclose(P.sum(axis=2), 1.0, rtol=0, atol=1e-12)


def test_one_transient_state_is_one_minus_km():
    """Competing risks: P(stay in the initial state) is the KM of the first event, and
    collapsing the absorbing states gives 1 - KM."""
    wide = _simulated(7)
    tr = rc.Transitions.competing_risks(["Alive", "A", "B"])
    lf = rc.multistate_frame(wide, tr, time={"A": "a_t", "B": "b_t"},
                             status={"A": "a_s", "B": "b_s"})
    pt = rc.state_probabilities(rc.transition_hazards(lf))
    tab = pt.wide("Alive")
    km = rc.kaplan_meier(wide.assign(event=wide["a_s"] | wide["b_s"]), time="a_t",
                         event="event").table
    at = np.searchsorted(tab["time"].to_numpy(), km["time"].to_numpy(), side="right") - 1
    np.testing.assert_allclose(tab["pstate1"].to_numpy()[at], km["survival"], rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose((tab["pstate2"] + tab["pstate3"]).to_numpy()[at],
                               1 - km["survival"], rtol=1e-12, atol=1e-14)
    # Greenwood recursion: the SE of P(stay) is Greenwood's SE of the KM
    gw = rc.state_probabilities(rc.transition_hazards(lf, variance="greenwood")).wide("Alive")
    pos = km["survival"].to_numpy() > 0          # R's KM has no SE once S(t) = 0
    np.testing.assert_allclose(gw["se1"].to_numpy()[at][pos], km["std_err"][pos], rtol=1e-10)


def test_collapsed_illness_death_is_one_minus_km_of_first_entry(e3, long):
    """Illness-death: leaving Tx (to PR or RelDeath) has KM = P(Tx)."""
    pt = rc.state_probabilities(rc.transition_hazards(long)).wide("Tx")
    ev = ((e3["prstat"] == 1) | (e3["rfsstat"] == 1)).astype(int)
    first = np.where(e3["prstat"] == 1, e3["prtime"], e3["rfstime"])
    km = rc.kaplan_meier(pd.DataFrame({"t": first, "e": ev}), time="t", event="e").table
    at = np.searchsorted(pt["time"].to_numpy(), km["time"].to_numpy(), side="right") - 1
    np.testing.assert_allclose(1 - pt["pstate1"].to_numpy()[at], 1 - km["survival"],
                               rtol=1e-10, atol=1e-14)


# --- input errors ------------------------------------------------------------------------
TRI = rc.transitions({"Tx": ["PR", "Death"], "PR": ["Death"]})
COLS = {"time": {"PR": "pr_t", "Death": "d_t"}, "status": {"PR": "pr_s", "Death": "d_s"}}


def wide_frame(**over):
    d = pd.DataFrame({"id": ["p1", "p2", "p3"], "pr_t": [1.0, 4.0, 2.0], "pr_s": [1, 0, 0],
                      "d_t": [5.0, 4.0, 2.0], "d_s": [1, 0, 1]})
    for k, v in over.items():
        d[k] = v
    return d


@pytest.mark.parametrize("over,match", [
    ({"pr_t": [1.0, 4.0, 3.0], "pr_s": [1, 0, 1]},
     r"patients p3 have status 1 in 'pr_s' \(entry into 'PR' at 'pr_t'\) after the "
     r"absorbing state 'Death'"),
    ({"pr_t": [1.0, np.nan, 2.0], "pr_s": [1, 1, 0]},
     r"patients p2 have status 1 in 'pr_s' but no time in 'pr_t'"),
    ({"d_t": [5.0, -1.0, 2.0]}, r"column 'd_t' has negative times for patients p2"),
    ({"pr_t": [1.0, 4.0, 1.0]},
     r"patients p3 are censored for 'PR' \(column 'pr_s' = 0 at 'pr_t'\) before they "
     r"enter 'Death'"),
    ({"pr_t": [5.0, 4.0, 2.0]}, r"patients p1 enter two states out of 'Tx' at the same time"),
    ({"d_t": [1.0, 4.0, 2.0], "d_s": [0, 0, 1]}, r"patients p1 leave a state at the time "
                                                 r"they enter it"),
    ({"pr_s": [1, 2, 0]}, r"column 'pr_s' has 1 value other than 0/1"),
    ({"id": ["p1", "p1", "p3"]}, r"column 'id' repeats patients p1"),
])
def test_msprep_errors(over, match):
    with pytest.raises(ValueError, match=match):
        rc.multistate_frame(wide_frame(**over), TRI, **COLS)


def test_msprep_argument_errors():
    with pytest.raises(ValueError, match=r"time has no column for states \['Death'\]"):
        rc.multistate_frame(wide_frame(), TRI, time={"PR": "pr_t"}, status=COLS["status"])
    with pytest.raises(ValueError, match="cycle"):
        rc.multistate_frame(wide_frame(), rc.transitions({"Tx": ["PR"], "PR": ["Tx"]}),
                            time={"PR": "pr_t"}, status={"PR": "pr_s"})
    with pytest.raises(ValueError, match="column 'nope' .* not found"):
        rc.multistate_frame(wide_frame(), TRI, **COLS, keep=["nope"])


def test_missing_time_with_status_zero_is_not_assessed():
    d = wide_frame(pr_t=[1.0, np.nan, 2.0])
    lf = rc.multistate_frame(d, TRI, **COLS)
    assert lf[lf["id"] == "p2"]["stop"].tolist() == [4.0, 4.0]


def test_hazards_errors(fits, tr, long):
    with pytest.raises(ValueError, match="needs newdata"):
        rc.transition_hazards(fits[0], None, tr)
    nd = patient(tr)
    with pytest.raises(ValueError, match="strata column 'to'"):
        rc.transition_hazards(fits[1], nd.assign(pr=0), tr)
    with pytest.raises(ValueError, match="one row per transition"):
        rc.transition_hazards(fits[0], nd.iloc[:2], tr)
    with pytest.raises(ValueError, match="greenwood"):
        rc.transition_hazards(fits[0], nd, tr, variance="greenwood")
    with pytest.raises(ValueError, match="newdata applies to a Cox fit"):
        rc.transition_hazards(long, nd)


def test_docstring_examples():
    # the public names live in multistate.py; their code and examples in the private modules
    results = [doctest.testmod(m, optionflags=doctest.NORMALIZE_WHITESPACE)
               for m in (multistate, _ms_transitions, _ms_frame, _ms_hazards,
                         _ms_probabilities)]
    assert sum(r.attempted for r in results) > 20
    assert sum(r.failed for r in results) == 0


def test_nonparametric_merges_near_equal_times(long):
    """Times that differ in the last bits (days / 365.25 computed two ways) count as tied,
    as in R's coxph (timefix)."""
    jittered = long.copy()
    jittered["stop"] = jittered["stop"] * (1 + 1e-12)
    a = rc.transition_hazards(long)
    b = rc.transition_hazards(jittered)
    assert a.times.size == b.times.size
    np.testing.assert_allclose(a.cumhaz, b.cumhaz, rtol=1e-12)


def test_elos_bootstrap_cox(hazards, expanded, fits):
    """A Cox-based prediction: each replicate refits the model on resampled patients."""
    pt = rc.state_probabilities(hazards[1])
    with pytest.raises(ValueError, match="pass frame="):
        rc.length_of_stay(pt, tau=7, n_boot=4, seed=1)
    los = rc.length_of_stay(pt, tau=7, n_boot=8, seed=1, frame=expanded)
    se = los.table["se"].to_numpy()
    assert np.all((se > 0.02) & (se < 0.5))


# --- more mstate paths (tests/data/make_multistate_mstate.R) -----------------------------
@pytest.fixture(scope="module")
def sim():
    case = json.loads((DATA / "multistate_mstate.json").read_text())
    wide = pd.read_csv(DATA / case["data"])
    wide["x"] = wide["id"] % 2
    wide["z"] = (wide["id"] * 37) % 50 / 10
    tr = rc.transitions({"Infused": ["Response", "Death"], "Response": ["Death"]})
    long = rc.multistate_frame(wide, tr, time={"Response": "resp_time", "Death": "death_time"},
                               status={"Response": "resp_status", "Death": "death_status"},
                               keep=["x", "z"])
    return case["values"], tr, rc.expand_covariates(long, ["x", "z"])


def test_mstate_cox_efron(sim):
    v, tr, long = sim
    terms = ["x.1", "x.2", "x.3", "z.1", "z.2", "z.3"]
    fit = rc.cox(long, time="stop", start="start", event="status", covariates=terms,
                 strata="trans", ties="efron")
    close(fit.coef, v["cox_efron"]["coef"])
    nd = pd.DataFrame({"x.1": [1, 0, 0], "x.2": [0, 1, 0], "x.3": [0, 0, 1],
                       "z.1": [0.5, 0, 0], "z.2": [0, 0.5, 0], "z.3": [0, 0, 0.5],
                       "trans": [1, 2, 3]})
    h = rc.transition_hazards(fit, nd, tr)
    close(h.table["time"], v["msfit_efron"]["Haz"]["time"])
    close(h.table["cumhaz"], v["msfit_efron"]["Haz"]["Haz"])
    close(h.covariance["cov"], v["msfit_efron"]["varHaz"]["varHaz"])
    pt = rc.state_probabilities(h)
    compare_probtrans(pt, v["probtrans_efron_from1"], "Infused")
    compare_probtrans(pt, v["probtrans_efron_from2"], "Response")


def test_mstate_greenwood_and_fixed_horizon(sim):
    v, tr, long = sim
    g = rc.transition_hazards(long, variance="greenwood")
    compare_probtrans(rc.state_probabilities(g, predt=200),
                      v["probtrans_greenwood_predt200_from1"], "Infused")
    fh = rc.state_probabilities(g, predt=300, direction="fixedhorizon")
    compare_probtrans(fh, v["probtrans_greenwood_fixedhorizon300_from1"], "Infused")
    compare_probtrans(fh, v["probtrans_greenwood_fixedhorizon300_from2"], "Response")
    a = rc.transition_hazards(long)
    compare_probtrans(rc.state_probabilities(a, predt=300.5, direction="fixedhorizon"),
                      v["probtrans_aalen_fixedhorizon3005_from1"], "Infused")


def test_mstate_lmaj_and_elos(sim):
    v, tr, long = sim
    compare_probtrans(rc.landmark_aalen_johansen(long, tr, 60, "Response"),
                      v["lmaj_s60_from2"], "Response")
    pt = rc.state_probabilities(rc.transition_hazards(long))
    for a, start in enumerate(tr.states):
        close(rc.length_of_stay(pt, 365, start).table["length_of_stay"], v["elos_tau365"][a])


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=3, max_value=60),
       st.sampled_from(["aalen", "greenwood"]))
def test_property_illness_death(seed, n, variance):
    """Random illness-death data with tied integer times: probabilities in [0, 1] summing
    to 1 forward and fixed-horizon, finite SEs, and P(stay in the first state) equal to
    the KM of the first exit."""
    rng = np.random.default_rng(seed)
    t1 = rng.integers(1, 20, n).astype(float)
    t2 = rng.integers(1, 25, n).astype(float)
    after = rng.integers(1, 15, n).astype(float)
    cens = rng.integers(1, 30, n).astype(float)
    ill = (t1 < t2) & (t1 < cens)
    end = np.where(ill, np.minimum(t1 + after, cens), np.minimum(t2, cens))
    died = np.where(ill, t1 + after <= cens, t2 <= cens)
    wide = pd.DataFrame({"id": np.arange(n), "i_t": np.where(ill, t1, end),
                         "i_s": ill.astype(int), "d_t": end, "d_s": died.astype(int)})
    assume((wide["i_s"] | wide["d_s"]).any())
    tr = rc.Transitions.illness_death(("H", "I", "D"))
    lf = rc.multistate_frame(wide, tr, time={"I": "i_t", "D": "d_t"},
                             status={"I": "i_s", "D": "d_s"})
    hz = rc.transition_hazards(lf, variance=variance)
    for pt in (rc.state_probabilities(hz),
               rc.state_probabilities(hz, predt=float(np.median(end)),
                                      direction="fixedhorizon")):
        P = pt.probability
        assert np.all((P > -1e-12) & (P < 1 + 1e-12))
        np.testing.assert_allclose(P.sum(axis=2), 1.0, atol=1e-12)
        assert np.all(np.isfinite(pt.se)) and np.all(pt.se >= 0)
    w = rc.state_probabilities(hz).wide("H")
    km = rc.kaplan_meier(pd.DataFrame({"t": np.where(ill, t1, end),
                                       "e": (ill | died).astype(int)}),
                         time="t", event="e").table
    at = np.searchsorted(w["time"].to_numpy(), km["time"].to_numpy(), side="right") - 1
    np.testing.assert_allclose(w["pstate1"].to_numpy()[at], km["survival"], atol=1e-12)
