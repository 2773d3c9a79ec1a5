"""Synthetic cohorts: calibration to the published figures, determinism, contract, truth.

Calibration tolerances are for one draw of n = 189 / 78 with the default seed; the exact
counts (189, 151, 119, 30 / 78, 55, 57, 39, 14) are fixed by construction and tested exactly.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from scipy import stats

import rwe_cart as rc
from rwe_cart import datasets
from rwe_cart.synthetic import model, rocca, write, zuma3
from rwe_cart.synthetic.model import PiecewiseHazard

MONTH = 30.4375
BUNDLED = Path(__file__).resolve().parents[1] / "data" / "synthetic"


def median_months(df: pd.DataFrame) -> float:
    return float(rc.kaplan_meier(df, "time", "event").median()["median"].iloc[0]) / MONTH


def followup_months(df: pd.DataFrame) -> float:
    return float(rc.median_followup(df, "time", "event")["median"].iloc[0]) / MONTH


@pytest.fixture(scope="module")
def rocca_cohort():
    return datasets.rocca_like()


@pytest.fixture(scope="module")
def zuma_cohort():
    return datasets.zuma3_like()


# --------------------------------------------------------------------------- ROCCA-like
def test_rocca_counts_are_exact(rocca_cohort):
    p = rocca_cohort.patients
    assert len(p) == 189
    assert p["best_response"].isin(["CR", "CRi"]).sum() == 151  # 79.9% of infused
    assert (p["mrd_negative"] == True).sum() == 119  # noqa: E712  (63.0% of infused)
    assert p["hsct_in_remission"].sum() == 30
    assert p["prior_hsct"].sum() == 76  # 40.2%


def test_rocca_shares_match_publication(rocca_cohort):
    p = rocca_cohort.patients
    consolidated = p["hsct_in_remission"] & ~p["prior_hsct"].astype(bool)
    assert 24 <= consolidated.sum() <= 28  # target about 26 of the 30
    assert 0.08 <= (p["crs_grade"] >= 3).mean() <= 0.12  # target about 10%
    assert 0.27 <= (p["icans_grade"] >= 3).mean() <= 0.33  # target about 30%
    assert 0.20 <= p["extramedullary"].mean() <= 0.30


def test_rocca_survival_matches_publication(rocca_cohort):
    pfs = rocca_cohort.endpoint("PFS")
    os_ = rocca_cohort.endpoint("OS")
    assert 8.5 <= median_months(pfs) <= 10.5  # target 9.5 months
    assert math.isnan(median_months(os_))  # median OS not reached
    assert 10.4 <= followup_months(os_) <= 12.4  # target 11.4 months (reverse KM)
    os12 = float(rc.kaplan_meier(os_, "time", "event").at([365.25])["survival"].iloc[0])
    assert 0.58 <= os12 <= 0.70  # published 63%


def test_rocca_has_salvage_transplants_outside_remission(rocca_cohort):
    p = rocca_cohort.patients
    salvage = p["t_hsct"].notna() & ~p["hsct_in_remission"]
    assert salvage.sum() >= 1
    assert (p.loc[salvage, "t_relapse"] <= p.loc[salvage, "t_hsct"]).all()
    assert set(p["death_cause"].dropna()) == {"relapse", "nrm", "unknown"}


# --------------------------------------------------------------------------- ZUMA-3-like
def test_zuma3_counts_are_exact(zuma_cohort):
    p = zuma_cohort.patients
    phase2 = p["PHASE2FL"].eq("Y")
    responder = p["best_response"].isin(["CR", "CRi"])
    assert len(p) == 78 and phase2.sum() == 55
    assert responder.sum() == 57 and (responder & phase2).sum() == 39
    assert p["hsct_in_remission"].sum() == 14
    assert (responder & ~p["hsct_in_remission"]).sum() == 43


def test_zuma3_survival_matches_publication(zuma_cohort):
    p = zuma_cohort.patients
    trm = (p["hsct_in_remission"] & p["death_cause"].eq("nrm")).sum()
    assert 3 <= trm <= 5  # about 30% of 14
    os_ = zuma_cohort.endpoint("OS")
    assert 23.0 <= median_months(os_) <= 28.0  # target 25.6 months
    rfs = zuma_cohort.endpoint("RFS")
    phase2 = p["PHASE2FL"].eq("Y").to_numpy()
    assert 10.5 <= median_months(rfs[phase2]) <= 12.5  # target 11-12 months
    assert 39.6 <= followup_months(os_) <= 43.6  # target 41.6 months


def test_zuma3_adam_layout():
    adsl, adtte = datasets.zuma3_like_adam()
    assert adsl["USUBJID"].is_unique and len(adsl) == 78
    assert set(adtte["PARAMCD"]) == {"OS", "PFS", "RFS", "EFS", "DOR", "TTHSCT", "TTNT"}
    assert (adtte["AVAL"] == (adtte["ADT"] - adtte["STARTDT"]).dt.days).all()
    assert set(adtte["CNSR"]) <= {0, 1}
    responders = adsl.loc[adsl["BOR"].isin(["CR", "CRi"]), "USUBJID"]
    assert set(adtte.loc[adtte["PARAMCD"] == "DOR", "USUBJID"]) == set(responders)
    rfs = adtte[adtte["PARAMCD"] == "RFS"].merge(adsl[["USUBJID", "BOR"]], on="USUBJID")
    non = rfs[~rfs["BOR"].isin(["CR", "CRi"])]
    assert (non["AVAL"] == 0).all() and (non["CNSR"] == 0).all()
    assert (non["EVNTDESC"] == "NO RESPONSE").all()
    assert set(adsl.loc[adsl["BOR"].isin(["NR", "PD", "NE"]), "MRDNEGFL"]) == {""}


def test_zuma3_adam_round_trips_to_the_registry_form(zuma_cohort):
    direct = rc.load_registry(datasets.zuma3_like_frame()).patients
    via_adam = zuma_cohort.patients
    for col in ("t_response", "t_relapse", "t_hsct", "t_death", "t_last", "t_next_therapy",
                "hsct_in_remission", "best_response", "mrd_negative", "death_cause"):
        a, b = direct[col], via_adam[col]
        assert ((a == b) | (a.isna() & b.isna())).all(), col


# --------------------------------------------------------------------------- contract
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("n", [1, 7, 400])
@pytest.mark.parametrize("which", ["rocca", "zuma3"])
def test_any_n_and_seed_obeys_the_contract(which, n, seed):
    params = rocca.PARAMS if which == "rocca" else zuma3.PARAMS
    frame, truth = model.simulate(params, n, seed)
    cohort = rc.load_registry(frame)  # strict: raises on any data-contract rule
    assert len(cohort) == n and len(truth.latent) == n
    p = cohort.patients
    responder = p["best_response"].isin(["CR", "CRi", "CRh"])
    assert (p["date_response"].notna() == responder).all()
    assert (p["mrd_negative"].notna() == responder).all()
    assert ((p["t_response"] >= 14) | ~responder).all()
    assert (p["date_hsct"].isna() | (p["date_death"].isna()) | (p["date_hsct"] < p["date_death"])
            | ~p["hsct_in_remission"]).all()
    if which == "zuma3":
        adsl, adtte = zuma3.to_adam(frame)
        assert len(rc.load_adam(adsl, adtte)) == n


@pytest.mark.parametrize("policy", ["never", 100.0])
def test_policies_give_valid_cohorts(policy):
    frame, _ = model.simulate(rocca.PARAMS, 300, 5, hsct_policy=policy)
    p = rc.load_registry(frame).patients
    if policy == "never":
        assert not p["hsct_in_remission"].any()
    else:
        assert (p.loc[p["hsct_in_remission"], "t_hsct"] == 100).all()


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="hsct_policy"):
        model.simulate(rocca.PARAMS, 10, 1, hsct_policy="sometimes")
    with pytest.raises(ValueError, match="n must be"):
        model.simulate(rocca.PARAMS, 0, 1)
    with pytest.raises(ValueError, match="knots"):
        PiecewiseHazard((1.0, 2.0), (0.1, 0.2))


# --------------------------------------------------------------------------- determinism
def test_same_seed_same_frame():
    a, ta = model.simulate(rocca.PARAMS, 189, 123)
    b, tb = model.simulate(rocca.PARAMS, 189, 123)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(ta.latent, tb.latent)
    c, _ = model.simulate(rocca.PARAMS, 189, 124)
    assert not a.equals(c)
    pd.testing.assert_frame_equal(datasets.rocca_like_frame(), rocca.simulate_rocca()[0])
    pd.testing.assert_frame_equal(datasets.zuma3_like_adam()[1],
                                  zuma3.to_adam(zuma3.simulate_zuma3()[0])[1])


def test_bundled_files_equal_the_writer_output(tmp_path):
    write.write(tmp_path)
    for name in ("rocca_like.csv", "zuma3_like_adsl.csv", "zuma3_like_adtte.csv", "zuma3_like_adrs.csv"):
        assert (tmp_path / name).read_bytes() == (BUNDLED / name).read_bytes(), name
    for name in ("zuma3_like_adsl.xpt", "zuma3_like_adtte.xpt", "zuma3_like_adrs.xpt"):
        new, new_meta = pyreadstat.read_xport(str(tmp_path / name))
        old, old_meta = pyreadstat.read_xport(str(BUNDLED / name))
        pd.testing.assert_frame_equal(new, old)
        assert new_meta.column_names_to_labels == old_meta.column_names_to_labels


def test_bundled_files_load_as_the_datasets():
    from_csv = rc.load_registry(BUNDLED / "rocca_like.csv").patients
    generated = datasets.rocca_like().patients
    for col in ("patient_id", "t_relapse", "t_hsct", "t_death", "t_last", "hsct_in_remission"):
        a, b = from_csv[col], generated[col]
        assert ((a == b) | (a.isna() & b.isna())).all(), col
    xpt = rc.load_adam(BUNDLED / "zuma3_like_adsl.xpt", BUNDLED / "zuma3_like_adtte.xpt")
    assert xpt.patients["hsct_in_remission"].sum() == 14


# --------------------------------------------------------------------------- truth
def test_truth_is_returned():
    cohort, truth = datasets.rocca_like(return_truth=True)
    assert isinstance(truth, model.Truth) and truth is datasets.rocca_like_truth()
    assert truth.hsct_hr == 0.6 and truth.n == 189 and truth.seed == rocca.DEFAULT_SEED
    assert truth.pfs_hr is None  # TRM makes the PFS ratio time-varying
    assert len(truth.latent) == len(cohort)
    assert {"relapse", "nrm", "hsct", "death_after_relapse"} <= set(truth.coefficients["transition"])
    z_cohort, z_truth = datasets.zuma3_like(return_truth=True)
    assert z_truth.hsct_hr == 0.6 and len(z_truth.latent) == len(z_cohort) == 78
    hr = truth.pfs_hazard_ratio(np.array([50.0, 120.0, 400.0]), 100.0)
    assert hr[0] == 1.0 and hr[1] > 1.0 and hr[2] < 1.0  # TRM early, relapse benefit later


def test_truth_summary_is_a_one_row_table():
    cohort, truth = datasets.rocca_like(return_truth=True)
    s = truth.summary
    assert list(s.columns) == ["n", "seed", "attempts", "hsct_hr", "hsct_nrm_hr", "responders",
                               "consolidative_hsct_latent"]
    assert len(s) == 1 and s.loc[0, "n"] == 189 and s.loc[0, "hsct_hr"] == 0.6
    assert s.loc[0, "responders"] == int(truth.latent["t_response"].notna().sum())
    with pytest.warns(FutureWarning, match="Truth.summary"):
        pd.testing.assert_frame_equal(truth.summary(), pd.DataFrame(s))


def test_proportional_pfs_effect_has_one_true_hr():
    params = model.proportional_pfs_effect(rocca.PARAMS, 0.6)
    _, truth = model.simulate(params, 50, 1)
    assert truth.pfs_hr == 0.6
    np.testing.assert_allclose(truth.pfs_hazard_ratio(np.array([150.0, 900.0]), 100.0), 0.6)


def test_sampler_is_exact_for_piecewise_hazards():
    rng = np.random.default_rng(7)
    n = 40_000
    h1 = PiecewiseHazard((0, 50, 200), (0.002, 0.01, 0.004))
    h2 = PiecewiseHazard((0, 100), (0.003, 0.001))
    knots = model._knots(h1, h2)
    entry = np.full(n, 20.0)
    brk = np.maximum(knots[None, :], entry[:, None])
    rates = np.stack([h1.rate(brk), h2.rate(brk)])
    t, cause = model._first_event(brk, rates, rng.exponential(size=n), rng.uniform(size=n))
    # P(T > t | T > 20) = exp(-(H(t) - H(20))) for the summed hazard
    u = np.exp(-(h1.cumulative(t) + h2.cumulative(t) - h1.cumulative(20) - h2.cumulative(20)))
    assert stats.kstest(u, "uniform").pvalue > 0.001
    # the cause share on (50, 100] is 0.01 / (0.01 + 0.003)
    window = (t > 50) & (t <= 100)
    assert abs((cause[window] == 0).mean() - 0.01 / 0.013) < 0.02


def test_true_relapse_hr_is_recovered_by_observed_over_expected():
    """On the latent histories, relapses after HSCT / expected without an effect ≈ hsct_hr."""
    _, truth = model.simulate(rocca.PARAMS, 60_000, 11)
    lat = truth.latent
    h = rocca.PARAMS.relapse
    resp = lat["t_response"].notna().to_numpy()
    start = lat["t_response"].to_numpy()
    end = np.fmin(lat["t_relapse"].fillna(np.inf), lat["t_death"].fillna(np.inf)).to_numpy()
    hsct = lat["t_hsct"].to_numpy()
    rel = lat["t_relapse"].notna().to_numpy()
    risk = np.exp(lat["lp_relapse"].to_numpy())
    exposed = resp & ~np.isnan(hsct)
    expected = ((h.cumulative(np.where(exposed, end, 0)) - h.cumulative(np.where(exposed, hsct, 0)))
                * risk)[exposed].sum()
    observed = (rel & exposed).sum()
    assert observed / expected == pytest.approx(truth.hsct_hr, rel=0.08)
    unexposed_end = np.where(exposed, hsct, end)
    expected0 = ((h.cumulative(np.where(resp, unexposed_end, 0)) - h.cumulative(np.where(resp, start, 0)))
                 * risk)[resp].sum()
    observed0 = (rel & resp & np.isnan(hsct)).sum()
    assert observed0 / expected0 == pytest.approx(1.0, rel=0.05)
