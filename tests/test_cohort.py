"""The cohort contract: every data-contract rule has an input that breaks it."""
import numpy as np
import pandas as pd
import pytest

import rwe_cart as rc


def base_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": ["P01", "P02", "P03"],
        "date_infusion": ["2023-01-10", "2023-02-01", "2023-03-01"],
        "date_apheresis": ["2022-12-20", "2023-01-15", "2023-02-10"],
        "age": ["45", "60.5", "33"],
        "sex": ["F", "M", "M"],
        "prior_hsct": ["yes", "no", "1"],
        "crs_grade": ["1", "3", "0"],
        "icans_grade": ["0", "2", "4"],
        "marrow_blasts_pct": ["80", "5", "40"],
        "best_response": ["CR", "NR", "CRi"],
        "date_response": ["2023-02-07", None, "2023-03-29"],
        "mrd_negative": ["true", None, "false"],
        "date_relapse": ["2023-06-01", None, None],
        "date_hsct": [None, None, "2023-05-20"],
        "date_death": ["2023-09-01", "2023-04-01", None],
        "death_cause": ["relapse", "nrm", None],
        "date_last_contact": ["2023-09-01", "2023-04-01", "2024-01-31"],
        "centre": ["Rome", "Milan", "Rome"],
    })


def problems_of(frame, **kw) -> pd.DataFrame:
    with pytest.raises(rc.CohortValidationError) as err:
        rc.load_registry(frame, **kw)
    return err.value.problems


def test_valid_frame_loads_with_types_and_days():
    c = rc.load_registry(base_frame())
    p = c.patients
    assert len(c) == 3 and len(c.attrition) == 0
    assert p["t_response"].tolist()[0] == 28.0
    assert p["t_hsct"].iloc[2] == (pd.Timestamp("2023-05-20") - pd.Timestamp("2023-03-01")).days
    assert p["hsct_in_remission"].tolist() == [False, False, True]
    assert p["prior_hsct"].tolist() == [True, False, True]
    assert p["crs_grade"].dtype == "Int64"
    assert p["centre"].tolist() == ["Rome", "Milan", "Rome"]  # outside the contract, unchanged
    assert p["dead"].tolist() == [True, True, False]


# (mutation, patient, column, words in the rule)
BREAKS = [
    ("rule1_missing_id", lambda f: f.assign(patient_id=[None, "P02", "P03"]), "<row 0>", "patient_id", "required"),
    ("rule1_duplicate_id", lambda f: f.assign(patient_id=["P01", "P01", "P03"]), "P01", "patient_id", "unique"),
    ("rule1_missing_infusion", lambda f: f.assign(date_infusion=["2023-01-10", None, "2023-03-01"]), "P02", "date_infusion", "required"),
    ("rule2_relapse_before_infusion", lambda f: f.assign(date_relapse=["2023-01-01", None, None]), "P01", "date_relapse", "on or after date_infusion"),
    ("rule2_apheresis_after_infusion", lambda f: f.assign(date_apheresis=["2023-01-11", "2023-01-15", "2023-02-10"]), "P01", "date_apheresis", "on or before date_infusion"),
    ("rule3_event_after_death", lambda f: f.assign(date_relapse=["2023-09-05", None, None]), "P01", "date_relapse", "not after date_death"),
    ("rule3_last_contact_not_death", lambda f: f.assign(date_last_contact=["2023-10-01", "2023-04-01", "2024-01-31"]), "P01", "date_last_contact", "equals date_death"),
    ("rule3_event_after_last_contact", lambda f: f.assign(date_hsct=[None, None, "2024-02-15"]), "P03", "date_hsct", "on or before date_last_contact"),
    ("rule4_relapse_before_response", lambda f: f.assign(date_relapse=["2023-02-01", None, None]), "P01", "date_relapse", "on or after date_response"),
    ("rule4_cr_without_date", lambda f: f.assign(date_response=[None, None, "2023-03-29"]), "P01", "date_response", "required when best_response"),
    ("rule4_date_without_cr", lambda f: f.assign(date_response=["2023-02-07", "2023-02-20", "2023-03-29"]), "P02", "date_response", "only when best_response"),
    ("rule5_grade", lambda f: f.assign(icans_grade=["0", "6", "4"]), "P02", "icans_grade", "between 0 and 5"),
    ("rule5_percentage", lambda f: f.assign(marrow_blasts_pct=["80", "5", "140"]), "P03", "marrow_blasts_pct", "between 0 and 100"),
    ("rule5_negative_lab", lambda f: f.assign(anc=["0.5", "-1", "2"]), "P02", "anc", ">= 0"),
    ("rule6_unknown_sex", lambda f: f.assign(sex=["F", "male", "M"]), "P02", "sex", "one of F, M"),
    ("rule6_unknown_response", lambda f: f.assign(best_response=["CR", "SD", "CRi"]), "P02", "best_response", "one of"),
    ("rule6_unknown_bool", lambda f: f.assign(prior_hsct=["yes", "maybe", "1"]), "P02", "prior_hsct", "true/false"),
    ("format_bad_date", lambda f: f.assign(date_relapse=["2023-13-01", None, None]), "P01", "date_relapse", "ISO 8601"),
    ("format_not_a_number", lambda f: f.assign(age=["45", "sixty", "33"]), "P02", "age", "a number"),
    ("format_fractional_grade", lambda f: f.assign(crs_grade=["1", "2.5", "0"]), "P02", "crs_grade", "whole number"),
]


@pytest.mark.parametrize("mutate,patient,column,rule", [b[1:] for b in BREAKS], ids=[b[0] for b in BREAKS])
def test_each_rule_names_patient_column_and_rule(mutate, patient, column, rule):
    probs = problems_of(mutate(base_frame()))
    hit = probs[(probs.patient_id == patient) & (probs.column == column)]
    assert len(hit), probs
    assert hit["rule"].str.contains(rule, regex=False).any(), hit
    assert list(probs.columns) == ["patient_id", "column", "rule", "value"]


def test_all_problems_reported_together_and_message_is_plain():
    f = base_frame().assign(sex=["F", "X", "Y"], crs_grade=["9", "3", "0"])
    with pytest.raises(rc.CohortValidationError) as err:
        rc.load_registry(f)
    assert len(err.value.problems) == 3
    msg = str(err.value)
    assert msg.startswith("3 problems in 3 patients")
    assert "P01" in msg and "crs_grade" in msg and "between 0 and 5" in msg


@pytest.mark.parametrize("n_bad", [0, 1, 2])
def test_exclude_keeps_valid_patients_and_accounts_for_every_row(n_bad):
    f = base_frame()
    if n_bad >= 1:
        f.loc[1, "sex"] = "X"
    if n_bad >= 2:
        f.loc[2, "date_relapse"] = "2020-01-01"
    c = rc.load_registry(f, errors="exclude")
    assert len(c.patients) + len(c.attrition) == len(f) == c.n_input
    assert len(c.attrition) == n_bad
    assert set(c.attrition["step"]) <= {"validation"}
    if n_bad:
        assert "sex: one of F, M" in c.attrition.set_index("patient_id").loc["P02", "reason"]


def test_exclude_duplicates_removes_every_copy():
    f = pd.concat([base_frame(), base_frame().iloc[[0]]], ignore_index=True)
    c = rc.load_registry(f, errors="exclude")
    assert c.attrition["patient_id"].tolist() == ["P01", "P01"]
    assert len(c) + len(c.attrition) == 4


def test_missing_required_column_is_one_file_level_problem_even_with_exclude():
    probs = problems_of(base_frame().drop(columns="date_last_contact"), errors="exclude")
    assert probs.to_dict("records") == [{"patient_id": "<all>", "column": "date_last_contact",
                                         "rule": "required column is absent", "value": "<absent>"}]


@pytest.mark.parametrize("rule,expected", [("mid", "2023-06-15"), ("first", "2023-06-01"), ("last", "2023-06-30")])
def test_partial_dates_imputed_only_on_request_and_listed(rule, expected):
    f = base_frame().assign(date_relapse=["2023-06", None, None])
    probs = problems_of(f)
    assert probs.iloc[0]["rule"].startswith("partial date")
    c = rc.load_registry(f, partial_dates=rule)
    assert c.patients["date_relapse"].iloc[0] == pd.Timestamp(expected)
    assert c.imputations.to_dict("records") == [{"patient_id": "P01", "column": "date_relapse",
                                                 "original": "2023-06", "imputed": expected, "rule": rule}]


def test_year_only_partial_date_mid_is_first_of_july():
    f = base_frame().assign(date_last_contact=["2023-09-01", "2023-04-01", "2024"])
    c = rc.load_registry(f, partial_dates="mid")
    assert c.patients["date_last_contact"].iloc[2] == pd.Timestamp("2024-07-01")


def test_date_format_is_strict():
    f = base_frame()
    for col in [c for c in f if c.startswith("date_")]:
        f[col] = pd.to_datetime(f[col]).dt.strftime("%d/%m/%Y").where(f[col].notna())
    c = rc.load_registry(f, date_format="%d/%m/%Y")
    assert c.patients["t_response"].iloc[0] == 28.0
    f.loc[0, "date_relapse"] = "2023-06-01"
    probs = problems_of(f, date_format="%d/%m/%Y")
    assert probs.iloc[0][["patient_id", "column"]].tolist() == ["P01", "date_relapse"]


def test_origin_apheresis_shifts_times():
    c = rc.load_registry(base_frame(), origin="apheresis")
    assert c.patients["t_infusion"].tolist() == [21.0, 17.0, 19.0]
    assert c.meta["origin"] == "apheresis"


def test_subset_records_attrition():
    c = rc.load_registry(base_frame())
    s = c.subset(c.patients["best_response"].isin(["CR", "CRi"]), step="responders", reason="not in CR/CRi")
    assert len(s) == 2 and s.attrition.to_dict("records") == [
        {"patient_id": "P02", "step": "responders", "reason": "not in CR/CRi"}]
    assert s.n_input == 3
    assert c.patients.shape[0] == 3  # the original is unchanged


def test_repr_has_no_identifiers():
    text = repr(rc.load_registry(base_frame()))
    assert "P01" not in text and "3 patients" in text


def test_hsct_after_relapse_is_salvage_not_exposure():
    f = base_frame().assign(date_relapse=[None, None, "2023-05-01"], date_hsct=[None, None, "2023-05-20"])
    p = rc.load_registry(f).patients
    assert not p["hsct_in_remission"].iloc[2]
    assert np.isfinite(p["t_hsct"].iloc[2])
