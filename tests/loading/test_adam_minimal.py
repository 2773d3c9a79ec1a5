"""A minimal ADaM package (ADSL without a response date, ADTTE with OS and PFS only):
it loads, lists what it cannot give, OS and PFS by arm equal R's survfit, and the analyses
that need response dates say so. Fixtures: tests/data/make_adam_minimal.py; R reference:
tests/data/make_adam_minimal.R."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

import rwe_cart as rc
from rwe_cart import exposure
from rwe_cart.exposure import ccw_cohort
from paths import ROOT, TEST_DATA

DATA = TEST_DATA
RTOL = 1e-6  # R writes 15 significant digits
R = json.loads((DATA / "adam_minimal_km.json").read_text(), parse_constant=float)
KM_COLUMNS = {"time": "time", "n_risk": "n_risk", "n_event": "n_event", "n_censor": "n_censor",
              "surv": "survival", "std_err_surv": "std_err", "lower": "lower", "upper": "upper"}


def as_float(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def write_xpt(csv: Path, out: Path, dates: tuple[str, ...]) -> Path:
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    for col in dates:
        frame[col] = pd.Series([None if v == "" else pd.Timestamp(v).date() for v in frame[col]], dtype=object)
    for col in ("AVAL", "CNSR"):
        if col in frame:
            frame[col] = frame[col].astype(float)
    pyreadstat.write_xport(frame, str(out), table_name=out.stem[-5:].upper(), file_format_version=5,
                           variable_format={c: "DATE9" for c in dates})
    return out


@pytest.fixture(params=["csv", "xpt"])
def files(request, tmp_path) -> dict[str, Path]:
    names = {"adsl": ("TRTSDT",), "adtte": ("ADT",), "adrs": ("ADT",)}
    paths = {k: DATA / f"adam_minimal_{k}.csv" for k in names}
    if request.param == "xpt":
        paths = {k: write_xpt(p, tmp_path / f"{k}.xpt", names[k]) for k, p in paths.items()}
    return paths


@pytest.fixture(scope="module")
def minimal() -> rc.Cohort:
    return rc.load_adam(DATA / "adam_minimal_adsl.csv", DATA / "adam_minimal_adtte.csv")


def test_minimal_adam_loads_and_lists_what_it_cannot_give(files):
    c = rc.load_adam(files["adsl"], files["adtte"])
    assert len(c) == 78 and c.n_input == 78 and len(c.problems) == 0
    gone = c.unavailable
    assert {"date_response", "date_hsct", "mrd_negative", "age", "date_next_therapy"} <= set(gone)
    assert not {"date_relapse", "date_death", "best_response", "sex"} & set(gone)
    assert "RSPDT" in gone["date_response"] and "DOR parameter" in gone["date_response"]
    assert "ADRS" in gone["date_response"] and "TTHSCT" in gone["date_hsct"]
    assert c.meta["unavailable"] == gone
    assert f"date_response: {gone['date_response']}" in c.validation_report()
    assert c.patients["TRT01A"].value_counts().to_dict() == {"KTE-X19 phase 2": 55, "KTE-X19 phase 1": 23}
    assert c.patients["t_response"].isna().all() and not c.patients["hsct_in_remission"].any()


@pytest.mark.parametrize("name", ["OS", "PFS"])
def test_km_by_arm_equals_r_survfit(files, name):
    c = rc.load_adam(files["adsl"], files["adtte"])
    km = rc.kaplan_meier(c.endpoint(name, with_columns=["TRT01A"]), "time", "event", by="TRT01A")
    ref = R[name]
    assert list(km.groups) == list(ref["curves"])
    for arm, expected in ref["curves"].items():
        part = km.table[km.table["group"] == arm]
        for r_name, ours in KM_COLUMNS.items():
            np.testing.assert_allclose(part[ours].to_numpy(float), as_float(expected[r_name]), rtol=RTOL,
                                       equal_nan=True, err_msg=f"{name} {arm} {ours}")
    med = km.median().set_index("group").loc[ref["median"]["arm"]]
    for col in ("median", "lower", "upper"):
        np.testing.assert_allclose(med[col].to_numpy(float), as_float(ref["median"][col]), rtol=RTOL,
                                   equal_nan=True, err_msg=f"{name} median {col}")


def test_analyses_without_response_dates_say_what_is_missing(minimal):
    with pytest.raises(rc.UnavailableInputError, match=r"endpoint DOR needs response dates \(date_response\)"
                       r".*give ADSL RSPDT, a DOR parameter in ADTTE, or ADRS") as err:
        minimal.endpoint("DOR")
    assert set(err.value.missing) == {"date_response"}
    with pytest.raises(rc.UnavailableInputError, match="hsct_effect .*needs post-infusion allo-HSCT dates"):
        rc.hsct_effect(minimal, "OS")
    for call in (lambda: exposure.time_varying(minimal, "OS"), lambda: exposure.landmark(minimal, "PFS"),
                 lambda: ccw_cohort(minimal, "OS", n_boot=0), lambda: minimal.timeline("OS"),
                 lambda: minimal.endpoint("CIR", origin="response"),
                 lambda: minimal.endpoint("OS", censor_at_hsct=True)):
        with pytest.raises(rc.UnavailableInputError, match="response dates|allo-HSCT dates"):
            call()
    # an UnavailableInputError is a ValueError, as every input error of the package
    assert issubclass(rc.UnavailableInputError, ValueError)


def test_analyses_that_need_no_response_date_run(minimal):
    for name in ("OS", "PFS", "EFS", "RFS"):
        assert len(minimal.endpoint(name)) == 78
    efs = minimal.endpoint("EFS")
    non = ~minimal.patients["best_response"].isin(["CR", "CRi"]).to_numpy()
    assert (efs["time"][non] == 0).all() and (efs["event"][non] == 1).all()
    fit = rc.cox(minimal.endpoint("OS", with_columns=["TRT01A"]), time="time", event="event", covariates=["TRT01A"])
    assert np.isfinite(np.asarray(fit.coef, dtype=float)).all()
    cif = rc.cumulative_incidence(minimal.endpoint("CIR"), "time", "cause")
    assert set(cif.table["cause"]) == {1, 2}


def test_with_adrs_response_dates_and_dor_work(files):
    c = rc.load_adam(files["adsl"], files["adtte"], files["adrs"])
    assert "date_response" not in c.unavailable and c.meta["from_adrs"] == ["date_response", "mrd_negative"]
    registry = rc.datasets.zuma3_like_frame().set_index("patient_id")
    p = c.patients.set_index("patient_id")
    expected = registry["date_response"].reindex(p.index)
    assert ((p["date_response"] == expected) | (p["date_response"].isna() & expected.isna())).all()
    dor = c.endpoint("DOR")
    assert len(dor) == 57 and (dor["time"] > 0).all()


def test_registry_file_without_a_column_vs_with_empty_cells():
    frame = rc.datasets.zuma3_like_frame().drop(columns=["stratum"])
    c = rc.load_registry(frame.drop(columns=["date_response"]))
    assert "no date_response column" in c.unavailable["date_response"]
    with pytest.raises(rc.UnavailableInputError, match="endpoint DOR needs response dates"):
        c.endpoint("DOR")
    assert len(c.endpoint("OS")) == 78
    gappy = frame.copy()
    gappy.loc[gappy["best_response"].eq("CR").idxmax(), "date_response"] = None
    with pytest.raises(rc.CohortValidationError, match="date_response required when best_response is CR"):
        rc.load_registry(gappy)
    kept = rc.load_registry(gappy, errors="exclude")
    assert len(kept) == 77 and len(kept) + len(kept.attrition) == kept.n_input == 78
    assert "date_response" not in kept.unavailable


def test_report_06_renders_on_the_minimal_adam_and_says_what_it_cannot_show(tmp_path):
    from rwe_cart.report import render_notebook

    notebook = ROOT / "src" / "rwe_cart" / "notebooks" / "06_zuma3_adam.ipynb"
    html = render_notebook(notebook, tmp_path, {"adsl": str(DATA / "adam_minimal_adsl.csv"),
                                                "adtte": str(DATA / "adam_minimal_adtte.csv"), "adrs": None})
    text = html.read_text(encoding="utf-8")
    assert "ADSL has no PHASE2FL flag: every treated subject is analysed" in text
    assert "Not shown: endpoint DOR needs response dates (date_response)" in text
    assert "Not shown: hsct_effect (allo-HSCT in remission) needs post-infusion allo-HSCT dates" in text
    assert text.count("<img") >= 7  # attrition, OS, RFS, OS and PFS by arm, swimmer, CIR/NRM
