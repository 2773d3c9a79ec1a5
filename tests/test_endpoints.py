"""Endpoints on a hand-built cohort whose answers are worked out by hand (days from infusion)."""
import numpy as np
import pandas as pd
import pytest

import rwe_cart as rc

D0 = pd.Timestamp("2023-01-01")


def day(n):
    return None if n is None else (D0 + pd.Timedelta(days=n)).strftime("%Y-%m-%d")


# id, best, response, relapse, hsct, death, last, next_therapy
ROWS = [
    ("A", "CR", 28, 200, None, 300, 300, 210),    # relapse then death
    ("B", "CR", 30, None, 90, 150, 150, None),    # HSCT in remission, NRM death
    ("C", "NR", None, None, None, 60, 60, None),  # non-responder, died
    ("D", "CRi", 25, None, None, None, 400, None),  # alive in remission
    ("E", "CR", 28, 100, 100, None, 500, None),   # relapse on the HSCT day: event, HSCT not in remission
    ("F", "CR", 29, 120, 150, 180, 180, 125),     # salvage HSCT after relapse
]


@pytest.fixture(scope="module")
def cohort():
    f = pd.DataFrame({
        "patient_id": [r[0] for r in ROWS],
        "date_infusion": day(0),
        "best_response": [r[1] for r in ROWS],
        "date_response": [day(r[2]) for r in ROWS],
        "date_relapse": [day(r[3]) for r in ROWS],
        "date_hsct": [day(r[4]) for r in ROWS],
        "date_death": [day(r[5]) for r in ROWS],
        "date_last_contact": [day(r[6]) for r in ROWS],
        "date_next_therapy": [day(r[7]) for r in ROWS],
        "prior_hsct": ["no", "yes", "no", "no", "yes", "no"],
    })
    return rc.load_registry(f)


def check(ep, times, events, column="event"):
    assert ep["time"].tolist() == times
    assert ep[column].tolist() == events


def test_os(cohort):
    check(cohort.endpoint("OS"), [300, 150, 60, 400, 500, 180], [1, 1, 1, 0, 0, 1])


def test_pfs(cohort):
    check(cohort.endpoint("PFS"), [200, 150, 60, 400, 100, 120], [1, 1, 1, 0, 1, 1])


@pytest.mark.parametrize("name", ["EFS", "RFS"])
def test_efs_rfs_nonresponder_event_at_day_zero(cohort, name):
    check(cohort.endpoint(name), [200, 150, 0, 400, 100, 120], [1, 1, 1, 0, 1, 1])


def test_dor_responders_from_response(cohort):
    ep = cohort.endpoint("DOR")
    assert ep["patient_id"].tolist() == ["A", "B", "D", "E", "F"]
    check(ep, [172, 120, 375, 72, 91], [1, 1, 0, 1, 1])
    assert ep.attrs["n_excluded"] == 1


@pytest.mark.parametrize("name", ["CIR", "NRM"])
def test_competing_causes(cohort, name):
    check(cohort.endpoint(name), [200, 150, 60, 400, 100, 120], [1, 2, 2, 0, 1, 1], column="cause")


def test_cir_from_response(cohort):
    ep = cohort.endpoint("CIR", origin="response")
    check(ep, [172, 120, 375, 72, 91], [1, 2, 0, 1, 1], column="cause")


def test_censor_at_hsct_keeps_event_on_hsct_day(cohort):
    ep = cohort.endpoint("PFS", censor_at_hsct=True)
    # B censored at HSCT day 90; E relapsed on the HSCT day: still an event; F's HSCT came after.
    check(ep, [200, 90, 60, 400, 100, 120], [1, 0, 1, 0, 1, 1])
    assert "allo-HSCT" in ep.attrs["definition"]


def test_censor_at_next_therapy(cohort):
    ep = cohort.endpoint("OS", censor_at_next_therapy=True)
    check(ep, [210, 150, 60, 400, 500, 125], [0, 1, 1, 0, 0, 0])


def test_horizon(cohort):
    ep = cohort.endpoint("OS", horizon=180)
    check(ep, [180, 150, 60, 180, 180, 180], [0, 1, 1, 0, 0, 1])
    assert "day 180" in ep.attrs["definition"]


def test_definition_text_and_columns(cohort):
    ep = cohort.endpoint("PFS", with_columns=["prior_hsct"])
    assert list(ep.columns) == ["patient_id", "time", "event", "prior_hsct"]
    assert ep.attrs["definition"].startswith("PFS: time from CAR-T infusion")
    assert rc.endpoint(cohort, "pfs").equals(cohort.endpoint("PFS").drop(columns=[]))


def test_unknown_endpoint_and_missing_response(cohort):
    with pytest.raises(ValueError, match="unknown endpoint 'TTP'"):
        cohort.endpoint("TTP")
    f = cohort.patients[["patient_id", "date_infusion", "date_last_contact"]].copy()
    bare = rc.load_registry(f)
    with pytest.raises(ValueError, match="best_response"):
        bare.endpoint("EFS")


def test_timeline_switches_hsct_in_remission_only(cohort):
    tl = cohort.timeline("PFS")
    b = tl[tl.patient_id == "B"]
    assert b[["start", "stop", "event", "hsct"]].values.tolist() == [[0, 90, 0, 0], [90, 150, 1, 1]]
    # E relapsed on the HSCT day and F was transplanted after relapse: never exposed.
    assert tl.loc[tl.patient_id.isin(["E", "F"]), "hsct"].eq(0).all()
    assert len(tl) == len(cohort) + 1
    assert tl.groupby("patient_id")["event"].sum().tolist() == [1, 1, 1, 0, 1, 1]
