"""Each loader and file format, on small hand-built tables."""
import numpy as np
import pandas as pd
import pyreadstat
import pytest

import rwe_cart as rc
from test_cohort import base_frame
from paths import TEST_DATA

LOCAL = {"ID": "patient_id", "INF_DATE": "date_infusion", "LAST_FU": "date_last_contact"}


def local_frame():
    return base_frame().rename(columns={v: k for k, v in LOCAL.items()})


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_registry_formats_give_the_same_cohort(tmp_path, fmt):
    path = tmp_path / f"reg.{fmt}"
    frame = local_frame()
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path)
    else:
        frame.assign(INF_DATE=pd.to_datetime(frame["INF_DATE"])).to_excel(path, index=False)
    c = rc.load_registry(path, columns=LOCAL)
    ref = rc.load_registry(base_frame())
    cols = ["patient_id", "t_response", "t_relapse", "t_hsct", "t_death", "t_last", "hsct_in_remission", "age"]
    pd.testing.assert_frame_equal(c.patients[cols], ref.patients[cols])
    assert c.meta["source"] == str(path) and len(c.meta["sha256"]) == 64


def test_csv_semicolon_and_decimal_comma(tmp_path):
    path = tmp_path / "reg.csv"
    base_frame().assign(age=["45,5", "60", "33"]).to_csv(path, index=False, sep=";")
    c = rc.load_registry(path, sep=";", decimal=",")
    assert c.patients["age"].tolist() == [45.5, 60.0, 33.0]


def test_column_map_naming_absent_column_is_an_error():
    with pytest.raises(rc.CohortValidationError) as err:
        rc.load_registry(local_frame(), columns={**LOCAL, "NOPE": "sex"})
    assert err.value.problems.iloc[0][["column", "rule"]].tolist() == ["NOPE", "column named in columns= is in the file"]


def test_duplicate_columns_after_mapping_are_an_error():
    with pytest.raises(rc.CohortValidationError, match="unique"):
        rc.load_registry(local_frame().assign(sex2="F"), columns={**LOCAL, "sex2": "sex"})


def test_unknown_extension(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{}")
    with pytest.raises(ValueError, match="cannot read x.json"):
        rc.load_registry(p)


# ----------------------------------------------------------------------------- ADaM
def adam_tables():
    trt = pd.to_datetime(["2022-01-10", "2022-02-01", "2022-03-01"])
    adsl = pd.DataFrame({
        "USUBJID": ["S-1", "S-2", "S-3"], "TRTSDT": trt, "AGE": [40, 55, 30], "SEX": ["F", "M", "M"],
        "PHASE2FL": ["Y", "Y", "N"], "PRHSCTFL": ["Y", "N", "N"], "BOR": ["CR", "CRi", "NR"],
        "RSPDT": pd.to_datetime(["2022-02-07", "2022-03-01", None]), "MRDNEGFL": ["Y", "N", None],
        "CRSGR": [1, 3, 0], "ICANSGR": [0, 3, 1], "DTHCAUS": ["RELAPSE", "NRM", None],
    })
    d = lambda s: pd.Timestamp(s)
    rows = [
        # USUBJID, PARAMCD, CNSR, STARTDT, ADT, EVNTDESC
        ("S-1", "OS", 0, trt[0], d("2022-12-01"), "DEATH"),
        ("S-1", "PFS", 0, trt[0], d("2022-08-01"), "RELAPSE"),
        ("S-1", "RFS", 0, trt[0], d("2022-08-01"), "RELAPSE"),
        ("S-1", "DOR", 0, d("2022-02-07"), d("2022-08-01"), "RELAPSE"),
        ("S-1", "TTHSCT", 1, trt[0], d("2022-12-01"), "CENSORED"),
        ("S-2", "OS", 0, trt[1], d("2022-09-15"), "DEATH"),
        ("S-2", "PFS", 0, trt[1], d("2022-09-15"), "DEATH"),
        ("S-2", "RFS", 0, trt[1], d("2022-09-15"), "DEATH"),
        ("S-2", "DOR", 0, d("2022-03-01"), d("2022-09-15"), "DEATH"),
        ("S-2", "TTHSCT", 0, trt[1], d("2022-05-01"), "ALLO-HSCT"),
        ("S-3", "OS", 1, trt[2], d("2024-03-01"), "LAST KNOWN ALIVE"),
        ("S-3", "PFS", 1, trt[2], d("2024-03-01"), "CENSORED"),
        ("S-3", "RFS", 0, trt[2], trt[2], "NO RESPONSE"),
        ("S-3", "TTHSCT", 1, trt[2], d("2024-03-01"), "CENSORED"),
    ]
    adtte = pd.DataFrame(rows, columns=["USUBJID", "PARAMCD", "CNSR", "STARTDT", "ADT", "EVNTDESC"])
    adtte["AVAL"] = (adtte["ADT"] - adtte["STARTDT"]).dt.days.astype(float)
    return adsl, adtte


def check_adam_cohort(c):
    p = c.patients.set_index("patient_id")
    assert p.loc["S-1", "t_relapse"] == (pd.Timestamp("2022-08-01") - pd.Timestamp("2022-01-10")).days
    assert np.isnan(p.loc["S-2", "t_relapse"])  # a PFS event that is a death is not a relapse
    assert np.isnan(p.loc["S-3", "t_relapse"])  # RFS day-0 non-response is not a relapse
    assert p["hsct_in_remission"].tolist() == [False, True, False]
    assert p["dead"].tolist() == [True, True, False]
    assert p["death_cause"].tolist()[:2] == ["relapse", "nrm"]
    assert p["prior_hsct"].tolist() == [True, False, False]
    assert p["PHASE2FL"].tolist() == ["Y", "Y", "N"]  # kept unchanged
    check = c.endpoint("RFS")
    assert check["time"].tolist() == [203.0, 226.0, 0.0] and check["event"].tolist() == [1, 1, 1]


def test_adam_from_frames():
    check_adam_cohort(rc.load_adam(*adam_tables()))


def test_adam_from_aval_only():
    adsl, adtte = adam_tables()
    check_adam_cohort(rc.load_adam(adsl, adtte.drop(columns=["ADT"])))


@pytest.mark.parametrize("fmt", ["csv", "xpt"])
def test_adam_file_formats(tmp_path, fmt):
    adsl, adtte = adam_tables()
    paths = []
    for name, frame in (("adsl", adsl), ("adtte", adtte)):
        path = tmp_path / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False)
        else:
            pyreadstat.write_xport(frame, str(path), table_name=name.upper(), file_format_version=5)
        paths.append(path)
    c = rc.load_adam(*paths)
    check_adam_cohort(c)
    assert set(c.meta["sha256"]) == {"adsl", "adtte"}


def test_adam_bad_cnsr_and_duplicate_param_named():
    adsl, adtte = adam_tables()
    adtte.loc[0, "CNSR"] = -1
    adtte = pd.concat([adtte, adtte.iloc[[6]]], ignore_index=True)
    with pytest.raises(rc.CohortValidationError) as err:
        rc.load_adam(adsl, adtte)
    probs = err.value.problems
    assert {"S-1", "S-2"} <= set(probs["patient_id"])
    first = probs[probs["patient_id"] == "S-1"].iloc[0]
    assert first[["column", "value"]].tolist() == ["CNSR", -1]  # the cause comes first
    c = rc.load_adam(adsl, adtte, errors="exclude")
    assert c.patients["patient_id"].tolist() == ["S-3"]
    assert len(c) + len(c.attrition) == 3


def test_adam_missing_variable():
    adsl, adtte = adam_tables()
    with pytest.raises(rc.CohortValidationError, match="TRTSDT"):
        rc.load_adam(adsl.drop(columns="TRTSDT"), adtte)


# ----------------------------------------------------------------------------- events
def test_events_long_to_wide():
    ev = pd.DataFrame({
        "patient_id": ["A", "A", "A", "A", "A", "B", "B", "B"],
        "event": ["infusion", "response", "relapse", "relapse", "last_contact", "infusion", "death", "hsct"],
        "date": ["2023-01-01", "2023-01-29", "2023-05-01", "2023-07-01", "2023-12-01",
                 "2023-02-01", "2023-06-01", "2023-04-01"],
    })
    base = pd.DataFrame({"patient_id": ["A", "B"], "best_response": ["CR", "NR"], "sex": ["F", "M"]})
    c = rc.load_events(ev, base)
    p = c.patients.set_index("patient_id")
    assert p.loc["A", "t_relapse"] == 120  # the first relapse
    assert p.loc["B", "date_last_contact"] == pd.Timestamp("2023-06-01")  # death gives last contact
    assert p.loc["B", "sex"] == "M"


def test_events_unknown_event_named_and_exclude_counts_rows():
    ev = pd.DataFrame({"patient_id": ["A", "A", "B", "B"],
                       "event": ["infusion", "last_contact", "infusion", "transplant"],
                       "date": ["2023-01-01", "2023-03-01", "2023-01-01", "2023-02-01"]})
    with pytest.raises(rc.CohortValidationError) as err:
        rc.load_events(ev)
    assert err.value.problems.iloc[0][["patient_id", "column"]].tolist() == ["B", "event"]
    c = rc.load_events(ev, errors="exclude")
    assert c.patients["patient_id"].tolist() == ["A"] and c.attrition["patient_id"].tolist() == ["B"]


def test_adam_sas7bdat(tmp_path):
    # Fixtures written by R haven from adam_tables() (tests/data/make_sas7bdat.R).
    from pathlib import Path
    data = TEST_DATA
    check_adam_cohort(rc.load_adam(data / "adsl.sas7bdat", data / "adtte.sas7bdat"))
