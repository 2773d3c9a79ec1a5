"""ADRS in `rc.load_adam`: response dates, best overall response and MRD status from the
response dataset, equal to the registry form of the same cohort; malformed ADRS records
named per subject, with rows in = rows kept + rows excluded."""
from __future__ import annotations

import warnings

import pandas as pd
import pyreadstat
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from test_loader_fuzz import _ids, bad_date, check_cohort, check_problems, fuzz_settings, junk, mutation_lists

import rwe_cart as rc
from rwe_cart import schema
from rwe_cart.synthetic import model, zuma3

COMPARED = ("t_response", "t_relapse", "t_hsct", "t_death", "t_last", "t_next_therapy", "hsct_in_remission",
            "best_response", "mrd_negative", "death_cause")


@pytest.fixture(scope="module")
def draw():
    frame = rc.datasets.zuma3_like_frame()
    adsl, adtte = zuma3.to_adam(frame)
    # the package as a sponsor delivers it: response data only in ADRS, no DOR parameter
    adsl = adsl.drop(columns=["RSPDT", "BOR", "MRDNEGFL"])
    adtte = adtte[adtte["PARAMCD"] != "DOR"].reset_index(drop=True)
    return frame, adsl, adtte, zuma3.to_adrs(frame)


@pytest.fixture(scope="module")
def registry(draw):
    return rc.load_registry(draw[0])


def same(a: pd.Series, b: pd.Series) -> bool:
    return bool(((a == b) | (a.isna() & b.isna())).all())


def problems_of(*args, **kw) -> pd.DataFrame:
    with pytest.raises(rc.CohortValidationError) as err:
        rc.load_adam(*args, **kw)
    return err.value.problems


def hit(probs: pd.DataFrame, patient: str, column: str, words: str) -> None:
    rows = probs[(probs["patient_id"] == patient) & (probs["column"] == column)]
    assert rows["rule"].str.contains(words, regex=False).any(), probs


def adsl_in(draw) -> pd.DataFrame:
    return zuma3.to_adam(draw[0])[0]


# ----------------------------------------------------------------------------- equivalence
@pytest.mark.parametrize("fmt", ["frame", "csv", "xpt"])
def test_adrs_gives_the_registry_cohort(draw, registry, fmt, tmp_path):
    _, adsl, adtte, adrs = draw
    if fmt == "csv":
        adrs_in = tmp_path / "adrs.csv"
        adrs.assign(ADT=adrs["ADT"].dt.strftime("%Y-%m-%d")).to_csv(adrs_in, index=False)
    elif fmt == "xpt":
        adrs_in = tmp_path / "adrs.xpt"
        pyreadstat.write_xport(zuma3.for_xport(adrs), str(adrs_in), table_name="ADRS", file_format_version=5,
                               variable_format={"ADT": "DATE9"})
    else:
        adrs_in = adrs
    c = rc.load_adam(adsl, adtte, adrs_in)
    assert not {"date_response", "best_response", "mrd_negative"} & set(c.unavailable)
    assert c.meta["from_adrs"] == ["best_response", "date_response", "mrd_negative"]
    if fmt != "frame":
        assert set(c.meta["sha256"]) == {"adsl", "adtte", "adrs"}
    for col in COMPARED:
        assert same(c.patients[col], registry.patients[col]), col


def test_dor_and_hsct_methods_with_adrs_equal_the_registry(draw, registry):
    _, adsl, adtte, adrs = draw
    c = rc.load_adam(adsl, adtte, adrs)
    a, b = c.endpoint("DOR"), registry.endpoint("DOR")
    pd.testing.assert_frame_equal(a, b)
    km_a = rc.kaplan_meier(a, "time", "event").table
    pd.testing.assert_frame_equal(km_a, rc.kaplan_meier(b, "time", "event").table)
    methods = ["naive", "censor", "time_varying", "mantel_byar", "landmark", "supermodel", "simon_makuch",
               "competing", "ccw"]
    options = dict(methods=methods, covariates=["prior_hsct", "age"], ccw={"n_boot": 0})
    ours, theirs = rc.hsct_effect(c, "PFS", **options), rc.hsct_effect(registry, "PFS", **options)
    assert ours.skipped == theirs.skipped == {}
    ours, theirs = ours.table, theirs.table
    assert len(ours) >= len(methods)
    pd.testing.assert_frame_equal(ours, theirs)


def test_best_response_from_assessments_when_adrs_has_no_bor_record(draw, registry):
    _, adsl, adtte, adrs = draw
    visits = adrs[adrs["PARAMCD"] != "BOR"]
    c = rc.load_adam(adsl, adtte, visits)
    p, r = c.patients, registry.patients
    assessed = p["patient_id"].isin(set(visits.loc[visits["PARAMCD"] == "OVRLRESP", "USUBJID"]))
    # the best of the visits (CR before CRh, CRi, NR, PD, NE); NE subjects have no visit
    assert same(p.loc[assessed, "best_response"], r.loc[assessed, "best_response"])
    assert p.loc[~assessed, "best_response"].isna().all()
    assert set(r.loc[~assessed, "best_response"]) == {"NE"}


def test_names_and_values_are_configurable(draw, registry):
    _, adsl, adtte, adrs = draw
    renamed = adrs.assign(PARAMCD=adrs["PARAMCD"].replace({"OVRLRESP": "RESP", "MRD": "MRDSTAT"}),
                          AVALC=adrs["AVALC"].str.lower().replace({"negative": "undetectable"}))
    c = rc.load_adam(adsl, adtte, renamed, response_params=["RESP"], mrd_param="MRDSTAT",
                     mrd_negative_values=["UNDETECTABLE"])
    for col in ("t_response", "best_response", "mrd_negative"):
        assert same(c.patients[col], registry.patients[col]), col
    # CRi is not a remission by this rule: its subjects have no response date, a problem
    probs = problems_of(adsl, adtte, renamed, response_params=["RESP"], response_values=["CR"])
    assert set(probs["rule"]) == {"date_response required when best_response is CR/CRi/CRh"}


def test_adsl_values_win_and_must_agree_with_adrs(draw, registry):
    _, _, adtte, adrs = draw
    full = adsl_in(draw)
    c = rc.load_adam(full, adtte, adrs)
    assert c.meta["from_adrs"] == [] and same(c.patients["t_response"], registry.patients["t_response"])


# ----------------------------------------------------------------------------- malformed
def test_duplicate_records_per_visit_are_named(draw):
    _, adsl, adtte, adrs = draw
    twice = pd.concat([adrs, adrs.iloc[[1]].assign(AVALC="CR")], ignore_index=True)
    subject = adrs.iloc[1]["USUBJID"]
    hit(problems_of(adsl, adtte, twice), subject, "PARAMCD", "one ADRS record per subject, PARAMCD and visit")
    bor_twice = pd.concat([adrs, adrs[adrs["PARAMCD"] == "BOR"].iloc[[0]]], ignore_index=True)
    hit(problems_of(adsl, adtte, bor_twice), bor_twice.iloc[-1]["USUBJID"], "PARAMCD", "one BOR record per subject")
    c = rc.load_adam(adsl, adtte, twice, errors="exclude")
    assert subject not in set(c.patients["patient_id"])
    assert len(c) + len(c.attrition) == c.n_input == len(adsl)


def test_response_record_after_death_is_named(draw):
    _, adsl, adtte, adrs = draw
    os_ = adtte[(adtte["PARAMCD"] == "OS") & (adtte["CNSR"] == 0)].iloc[0]
    late = pd.DataFrame({"USUBJID": [os_["USUBJID"]], "PARAMCD": ["OVRLRESP"], "AVISIT": ["FOLLOW-UP"],
                         "ADT": [os_["ADT"] + pd.Timedelta(days=30)], "AVALC": ["PD"]})
    bad = pd.concat([adrs, late], ignore_index=True)
    hit(problems_of(adsl, adtte, bad), os_["USUBJID"], "ADT", "ADRS assessment not after death")
    c = rc.load_adam(adsl, adtte, bad, errors="exclude")
    assert list(c.attrition["patient_id"]) == [os_["USUBJID"]]
    assert len(c) + len(c.attrition) == c.n_input == len(adsl)
    alive = adtte[(adtte["PARAMCD"] == "OS") & (adtte["CNSR"] == 1)].iloc[0]
    after = late.assign(USUBJID=alive["USUBJID"], ADT=alive["ADT"] + pd.Timedelta(days=1))
    probs = problems_of(adsl, adtte, pd.concat([adrs, after], ignore_index=True))
    hit(probs, alive["USUBJID"], "ADT", "ADRS assessment on or before last contact")


def test_adsl_bor_contradicting_adrs_is_named(draw):
    _, _, adtte, adrs = draw
    full = adsl_in(draw)
    cr = full.index[full["BOR"].eq("CR")][0]
    nr = full.index[full["BOR"].eq("NR")][0]
    full.loc[cr, "BOR"], full.loc[nr, "BOR"] = "CRi", "PD"
    probs = problems_of(full, adtte, adrs)
    hit(probs, full.loc[cr, "USUBJID"], "BOR", "ADSL BOR agrees with ADRS")
    assert "ADSL CRi; ADRS CR" in set(probs["value"])
    hit(probs, full.loc[nr, "USUBJID"], "BOR", "ADSL BOR agrees with ADRS")
    full.loc[cr, "MRDNEGFL"] = "N" if full.loc[cr, "MRDNEGFL"] == "Y" else "Y"
    hit(problems_of(full, adtte, adrs), full.loc[cr, "USUBJID"], "MRDNEGFL", "ADSL MRDNEGFL agrees with ADRS")
    c = rc.load_adam(full, adtte, adrs, errors="exclude")
    assert set(c.attrition["patient_id"]) == {full.loc[cr, "USUBJID"], full.loc[nr, "USUBJID"]}
    assert len(c) + len(c.attrition) == c.n_input == len(full)


def test_subject_in_adrs_but_not_adsl_is_named_and_counted(draw):
    _, adsl, adtte, adrs = draw
    stray = adrs[adrs["USUBJID"] == adrs["USUBJID"].iloc[0]].assign(USUBJID="Z3-9999")
    bad = pd.concat([adrs, stray, adrs.iloc[[0]].assign(USUBJID=None)], ignore_index=True)
    probs = problems_of(adsl, adtte, bad)
    hit(probs, "Z3-9999", "USUBJID", "ADRS subject is in ADSL")
    hit(probs, f"<ADRS row {len(bad) - 1}>", "USUBJID", "required")
    c = rc.load_adam(adsl, adtte, bad, errors="exclude")
    assert len(c) == len(adsl)  # every ADSL subject kept
    assert set(c.attrition["patient_id"]) == {"Z3-9999", f"<ADRS row {len(bad) - 1}>"}
    assert len(c) + len(c.attrition) == c.n_input == len(adsl) + 2


def test_bad_cells_and_variables_are_named(draw):
    _, adsl, adtte, adrs = draw
    bad = adrs.copy().astype({"ADT": object})
    bad.loc[0, "ADT"] = "2021-13-45"
    bad.loc[1, "AVALC"] = None
    bad.loc[4, "AVALC"] = "PR"  # not a response category the contract knows
    probs = problems_of(adsl, adtte, bad)
    hit(probs, bad.loc[0, "USUBJID"], "ADT", "valid ISO 8601 date")
    hit(probs, bad.loc[1, "USUBJID"], "AVALC", "required")
    hit(probs, bad.loc[4, "USUBJID"], "AVALC", "one of CR, CRh, CRi, NR, PD, NE")
    absent = problems_of(adsl, adtte, adrs.drop(columns=["AVALC"]))
    assert absent[["patient_id", "column", "rule"]].values.tolist() == [["<all>", "AVALC", "required ADRS variable"]]


def test_adrs_without_response_records_leaves_response_dates_unavailable(draw):
    _, adsl, adtte, adrs = draw
    c = rc.load_adam(adsl, adtte, adrs[adrs["PARAMCD"] == "MRD"])
    assert "ADRS has no OVRLRESP record" in c.unavailable["date_response"]
    with pytest.raises(rc.UnavailableInputError, match="best overall response"):
        c.endpoint("EFS")


# ----------------------------------------------------------------------------- arms, flags
def test_arms_flags_and_subgroups_stay_on_the_cohort(draw):
    _, adsl, adtte, adrs = draw
    extra = adsl.assign(ITTFL="Y", AGEGR1=pd.cut(adsl["AGE"], [0, 40, 120], labels=["<40", ">=40"]).astype(str))
    c = rc.load_adam(extra, adtte, adrs)
    p = c.patients
    for col in ("TRT01P", "TRT01A", "PHASE2FL", "SAFFL", "ITTFL", "AGEGR1"):
        assert (p[col].to_numpy() == extra[col].to_numpy()).all(), col
    phase2 = c.subset(p["PHASE2FL"].eq("Y").to_numpy(), step="analysis set", reason="not in phase 2")
    km = rc.kaplan_meier(phase2.endpoint("OS", with_columns=["AGEGR1"]), "time", "event", by="AGEGR1")
    assert set(km.groups) == {"<40", ">=40"} and len(phase2) == 55


# ----------------------------------------------------------------------------- fuzz
ADRS_DAMAGE = ["duplicate visit", "record after death", "subject not in ADSL", "missing USUBJID", "junk AVALC",
               "bad ADT", "junk PARAMCD", "dropped variable", "ADSL BOR contradicts", "empty ADRS"]



def _append(frame: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``rows`` added: damaged test input. pandas 2.2 warns that a future
    version will type all-missing columns differently when concatenating; the damage
    does not depend on it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The behavior of DataFrame concatenation",
                                FutureWarning)
        return pd.concat([frame, rows], ignore_index=True)

@st.composite
def adrs_cases(draw):
    frame, _ = model.simulate(zuma3.PARAMS, draw(st.integers(1, 6)), draw(st.integers(0, 3)))
    adsl, adtte = zuma3.to_adam(frame)
    adrs = zuma3.to_adrs(frame).astype({"ADT": object})
    keep_bor = draw(st.booleans())  # ADSL BOR present (then checked against ADRS) or not
    adsl = adsl.drop(columns=["RSPDT", "MRDNEGFL"] + ([] if keep_bor else ["BOR"]))
    adtte = adtte[adtte["PARAMCD"] != "DOR"].reset_index(drop=True)
    for kind in draw(mutation_lists(ADRS_DAMAGE, 2)):
        event(f"adrs: {kind}")
        row = draw(st.integers(0, len(adrs) - 1)) if len(adrs) else None
        if kind == "duplicate visit" and row is not None:
            adrs = _append(adrs, adrs.iloc[[row]])
        elif kind == "record after death":
            os_ = adtte[adtte["PARAMCD"] == "OS"].iloc[0]
            late = {"USUBJID": os_["USUBJID"], "PARAMCD": "OVRLRESP", "AVISIT": "LATE",
                    "ADT": os_["ADT"] + pd.Timedelta(days=draw(st.integers(1, 400))), "AVALC": "PD"}
            adrs = _append(adrs, pd.DataFrame([late]))
        elif kind == "subject not in ADSL" and row is not None:
            adrs = _append(adrs, adrs.iloc[[row]].assign(
                USUBJID=draw(st.sampled_from(["Z3-9999", "z3-0001"]))))
        elif kind == "missing USUBJID" and row is not None:
            adrs.loc[row, "USUBJID"] = draw(st.sampled_from([None, "", "  "]))
        elif kind == "junk AVALC" and row is not None:
            adrs.loc[row, "AVALC"] = draw(junk)
        elif kind == "bad ADT" and row is not None:
            adrs.loc[row, "ADT"] = draw(bad_date)
        elif kind == "junk PARAMCD" and row is not None:
            adrs.loc[row, "PARAMCD"] = draw(st.sampled_from([None, "", "bor", "ovrlresp ", "XYZ", 1]))
        elif kind == "dropped variable":
            adrs = adrs.drop(columns=draw(st.sampled_from(list(adrs.columns))))
        elif kind == "ADSL BOR contradicts" and "BOR" in adsl:
            adsl.loc[draw(st.integers(0, len(adsl) - 1)), "BOR"] = draw(st.sampled_from(["CR", "CRi", "NR", "PD"]))
        elif kind == "empty ADRS":
            adrs = adrs.iloc[:0]
    return adsl, adtte, adrs


@fuzz_settings(60)
@given(case=adrs_cases(), errors=st.sampled_from(["raise", "exclude"]))
def test_fuzz_adrs(case, errors):
    adsl, adtte, adrs = case
    try:
        c = rc.load_adam(adsl, adtte, adrs, errors=errors)
    except rc.CohortValidationError as err:
        ids = _ids(adsl["USUBJID"]) | _ids(adtte["USUBJID"]) | (_ids(adrs["USUBJID"]) if "USUBJID" in adrs else set())
        labels = {f"<ADRS row {i}>" for i in range(len(adrs))}
        cols = (set(adsl.columns) | set(adtte.columns) | set(adrs.columns) | set(schema.CONTRACT_COLUMNS)
                | {"USUBJID", "PARAMCD", "AVALC", "ADT"})
        check_problems(err, ids=ids, labels=labels, columns=cols)
        if errors == "exclude":
            assert err.problems["patient_id"].eq("<all>").any(), err.problems
        return
    check_cohort(c, n_rows=len(adsl), errors=errors)
    extra = c.attrition[~c.attrition["patient_id"].isin(_ids(adsl["USUBJID"]))]
    assert c.n_input == len(adsl) + len(extra)


def test_an_adsl_hsct_date_named_but_absent_is_unavailable(draw, registry):
    frame, adsl, adtte, adrs = draw
    with_date = adsl.assign(HSCTDT=frame["date_hsct"].to_numpy())
    c = rc.load_adam(with_date, adtte[adtte["PARAMCD"] != "TTHSCT"], adrs, hsct_date_column="HSCTDT")
    assert "date_hsct" not in c.unavailable and same(c.patients["t_hsct"], registry.patients["t_hsct"])
    c = rc.load_adam(adsl, adtte, adrs, hsct_date_column="HSCTDT")
    assert c.unavailable["date_hsct"] == "ADSL has no HSCTDT variable (named by hsct_date_column=)"
    with pytest.raises(rc.UnavailableInputError, match="ADSL has no HSCTDT"):
        rc.hsct_effect(c, "PFS")
