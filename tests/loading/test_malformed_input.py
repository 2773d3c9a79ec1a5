"""Bad input never crashes or loses a patient: one test per class of malformed input.

Each test names the patient and the column the error must point to. Rows read = patients
kept + rows in attrition is checked wherever a cohort comes back.
"""
from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl.utils.datetime import MAC_EPOCH, from_excel

import rwe_cart as rc
from rwe_cart.io import UnreadableTableError
from test_cohort import base_frame
from test_loaders import adam_tables


def problems_of(call, *args, **kw) -> pd.DataFrame:
    with pytest.raises(rc.CohortValidationError) as err:
        call(*args, **kw)
    return err.value.problems


def hit(probs: pd.DataFrame, patient: str, column: str, words: str = "") -> pd.DataFrame:
    rows = probs[(probs["patient_id"] == patient) & (probs["column"] == column)]
    assert len(rows), f"no problem for ({patient}, {column}) in\n{probs}"
    assert rows["rule"].str.contains(words, regex=False).any(), rows
    return rows


def accounted(c: rc.Cohort, n_rows: int) -> None:
    assert len(c.patients) + len(c.attrition) == c.n_input == n_rows


# ----------------------------------------------------------------------------- encodings
def test_utf8_with_bom_reads_the_first_column_name(tmp_path):
    path = tmp_path / "bom.csv"
    base_frame().assign(centre=["Zürich", "Milan", "Rome"]).to_csv(path, index=False, encoding="utf-8-sig")
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    for encoding in (None, "utf-8"):  # a BOM read as plain UTF-8 is not part of "patient_id"
        c = rc.load_registry(path, encoding=encoding)
        assert c.patients["patient_id"].tolist() == ["P01", "P02", "P03"]
        assert c.patients["centre"].iloc[0] == "Zürich"


def test_latin1_bytes_name_line_patient_and_column_and_suggest_encoding(tmp_path):
    path = tmp_path / "latin1.csv"
    base_frame().assign(centre=["Rome", "Zürich", "Milan"]).to_csv(path, index=False, encoding="latin-1")
    with pytest.raises(UnreadableTableError) as err:
        rc.load_registry(path)
    e = err.value
    assert (e.line, e.patient_id, e.column) == (3, "P02", "centre")
    assert "encoding='cp1252'" in str(e) and "0xfc" in str(e)
    assert not isinstance(e, UnicodeDecodeError)


def test_latin1_file_reads_with_encoding(tmp_path):
    path = tmp_path / "latin1.csv"
    base_frame().assign(centre=["Rome", "Zürich", "Milan"]).to_csv(path, index=False, encoding="latin-1")
    c = rc.load_registry(path, encoding="latin-1")
    assert c.patients["centre"].tolist() == ["Rome", "Zürich", "Milan"]
    assert c.meta["encoding"] == "latin-1"


def test_binary_file_with_csv_extension_is_unreadable(tmp_path):
    path = tmp_path / "really.csv"
    base_frame().to_parquet(tmp_path / "x.parquet")
    path.write_bytes((tmp_path / "x.parquet").read_bytes())
    with pytest.raises(UnreadableTableError, match="binary|not UTF-8"):
        rc.load_registry(path)


# ----------------------------------------------------------------------------- separators
@pytest.mark.parametrize("written,named", [(";", "sep=';'"), ("\t", "sep='\\t'"), ("|", "sep='|'")])
def test_wrong_separator_names_the_likely_one(tmp_path, written, named):
    path = tmp_path / "reg.csv"
    base_frame().to_csv(path, index=False, sep=written)
    probs = problems_of(rc.load_registry, path)
    assert len(probs) == 1
    row = probs.iloc[0]
    assert row["patient_id"] == "<all>" and row["column"].startswith("patient_id" + written)
    assert named in row["rule"]
    assert len(rc.load_registry(path, sep=written)) == 3


def test_wrong_separator_with_decimal_commas_in_rows(tmp_path):
    # ';'-separated with 45,5: the rows split on ',' into more fields than the one-column header.
    path = tmp_path / "reg.csv"
    base_frame().assign(age=["45,5", "60", "33"]).to_csv(path, index=False, sep=";")
    probs = problems_of(rc.load_registry, path)
    assert "sep=';'" in probs.iloc[0]["rule"]


def test_decimal_comma_read_with_point_mentions_decimal_option(tmp_path):
    path = tmp_path / "reg.csv"
    base_frame().assign(age=["45,5", "60", "33"]).to_csv(path, index=False, sep=";")
    probs = problems_of(rc.load_registry, path, sep=";")
    hit(probs, "P01", "age", "decimal=','")
    assert rc.load_registry(path, sep=";", decimal=",").patients["age"].tolist() == [45.5, 60.0, 33.0]


def test_decimal_comma_rejects_a_point_that_may_be_a_thousands_separator():
    f = base_frame().assign(age=["45", "60", "33"], ferritin=["1.234", "800", "12,5"])
    probs = problems_of(rc.load_registry, f, decimal=",")
    hit(probs, "P01", "ferritin", "decimal mark ','")
    assert set(probs["patient_id"]) == {"P01"}


def test_row_with_more_fields_than_header_names_the_patient_and_line(tmp_path):
    path = tmp_path / "reg.csv"
    text = base_frame().to_csv(index=False).splitlines()
    text[2] = text[2].replace("Milan", "Milan, IT")  # P02: an unquoted comma inside a value
    path.write_text("\n".join(text) + "\n")
    probs = problems_of(rc.load_registry, path)
    row = hit(probs, "P02", "<all>", "as many fields as the header (18)").iloc[0]
    assert row["value"] == "line 3: 19 fields"


def test_first_row_longer_than_header_is_not_read_as_an_index(tmp_path):
    # pandas' default would silently make the first column the index and shift every value.
    path = tmp_path / "reg.csv"
    text = base_frame().to_csv(index=False).splitlines()
    text[1] = text[1] + ",extra"
    path.write_text("\n".join(text) + "\n")
    hit(problems_of(rc.load_registry, path), "P01", "<all>", "as many fields")


def test_trailing_separators_and_crlf_are_harmless(tmp_path):
    path = tmp_path / "reg.csv"
    text = base_frame().to_csv(index=False).splitlines()
    path.write_bytes("\r\n".join(line + "," for line in text).encode() + b"\r\n")
    c = rc.load_registry(path)
    assert list(c.patients.columns[:18]) == list(base_frame().columns)
    accounted(c, 3)


@pytest.mark.parametrize("text", [
    'patient_id,date_infusion,date_last_contact\n"P01,2023-01-01,2023-02-01\n',
    # found by test_loader_fuzz: a trailing separator first, then the unclosed quote
    'patient_id,date_infusion,date_last_contact\nP1,2016-01-01,2016-01-08,\n"P9,2023-01-01\n',
])
def test_unclosed_quote_is_unreadable(tmp_path, text):
    path = tmp_path / "reg.csv"
    path.write_text(text)
    with pytest.raises(UnreadableTableError, match="EOF inside string"):
        rc.load_registry(path)


# ----------------------------------------------------------------------------- Excel serial dates
def _workbook(path, rows, epoch=None):
    book = openpyxl.Workbook()
    if epoch is not None:
        book.epoch = epoch
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)


def test_excel_serial_dates_follow_excel_1900_system(tmp_path):
    f = base_frame()
    serial = {"P01": 44936, "P02": 44958, "P03": 44986}  # as a General-formatted cell shows them
    rows = [list(f.columns)] + [[serial[r["patient_id"]] if c == "date_infusion" else r[c] for c in f.columns]
                                for _, r in f.iterrows()]
    _workbook(tmp_path / "reg.xlsx", rows)
    c = rc.load_registry(tmp_path / "reg.xlsx")
    expected = [pd.Timestamp(from_excel(serial[p])) for p in ["P01", "P02", "P03"]]
    assert c.patients["date_infusion"].tolist() == expected
    assert expected[0] == pd.Timestamp("2023-01-10")
    assert c.meta["excel_epoch"] == 1900


def test_excel_serial_dates_in_a_1904_workbook(tmp_path):
    f = base_frame()
    rows = [list(f.columns)] + [[44936 - 1462 if c == "date_infusion" and r["patient_id"] == "P01" else r[c]
                                 for c in f.columns] for _, r in f.iterrows()]
    _workbook(tmp_path / "mac.xlsx", rows, epoch=MAC_EPOCH)
    c = rc.load_registry(tmp_path / "mac.xlsx")
    assert c.meta["excel_epoch"] == 1904
    assert c.patients["date_infusion"].iloc[0] == pd.Timestamp("2023-01-10")


@pytest.mark.parametrize("serial,ok", [(1, "1900-01-01"), (59, "1900-02-28"), (61, "1900-03-01"),
                                       (45123, "2023-07-16"), (45123.75, "2023-07-16")])
def test_excel_serial_numbers_match_openpyxl(serial, ok):
    f = pd.DataFrame({"patient_id": ["P01"], "date_infusion": [serial], "date_last_contact": ["2024-01-01"]})
    c = rc.load_registry(f, excel_dates=True)
    assert c.patients["date_infusion"].iloc[0] == pd.Timestamp(ok) == pd.Timestamp(from_excel(serial)).normalize()


@pytest.mark.parametrize("serial", [60, 0, -3, 10**7])
def test_impossible_excel_serials_are_reported(serial):
    probs = problems_of(rc.load_registry, base_frame().assign(date_apheresis=[serial, "2023-01-15", "2023-02-10"]),
                        excel_dates=True)
    hit(probs, "P01", "date_apheresis", "Excel serial date")


def test_csv_serial_dates_only_when_asked(tmp_path):
    path = tmp_path / "reg.csv"
    base_frame().assign(date_hsct=[None, None, "45066"]).to_csv(path, index=False)
    hit(problems_of(rc.load_registry, path), "P03", "date_hsct", "pass excel_dates=True")
    c = rc.load_registry(path, excel_dates=True)
    assert c.patients["date_hsct"].iloc[2] == pd.Timestamp("2023-05-20")


def test_four_digit_number_in_a_date_column_stays_a_year():
    f = base_frame().assign(date_last_contact=["2023-09-01", "2023-04-01", 2024])
    hit(problems_of(rc.load_registry, f, excel_dates=True), "P03", "date_last_contact", "partial date")


@pytest.mark.parametrize("name", ["reg.xlsx", "reg.parquet", "reg.xls"])
def test_corrupt_workbook_or_parquet_is_unreadable(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04 this is not a real archive" * 10)
    with pytest.raises(UnreadableTableError, match="cannot read"):
        rc.load_registry(path)


def test_missing_sheet_is_unreadable_and_names_the_sheets(tmp_path):
    _workbook(tmp_path / "reg.xlsx", [list(base_frame().columns)])
    with pytest.raises(UnreadableTableError, match="no sheet named 'Patients'.*Sheet"):
        rc.load_registry(tmp_path / "reg.xlsx", sheet_name="Patients")


def test_workbook_with_empty_rows_above_the_header(tmp_path):
    f = base_frame()
    _workbook(tmp_path / "reg.xlsx", [[], [None, None], list(f.columns)] + f.astype(object).values.tolist())
    accounted(rc.load_registry(tmp_path / "reg.xlsx"), 3)


# ----------------------------------------------------------------------------- columns
def test_duplicated_header_in_a_file_is_reported_not_renamed(tmp_path):
    # pandas alone would read "sex" and "sex.1" and keep going.
    path = tmp_path / "reg.csv"
    f = base_frame()
    text = f.to_csv(index=False).replace("centre", "sex", 1)
    path.write_text(text)
    probs = problems_of(rc.load_registry, path)
    assert probs.to_dict("records") == [{"patient_id": "<all>", "column": "sex",
                                         "rule": "column names are unique", "value": "<duplicated>"}]


def test_duplicated_columns_in_a_frame():
    f = pd.concat([base_frame(), base_frame()[["age"]]], axis=1)
    hit(problems_of(rc.load_registry, f), "<all>", "age", "unique")


@pytest.mark.parametrize("column", ["patient_id", "date_infusion", "date_last_contact"])
def test_missing_required_column(column):
    probs = problems_of(rc.load_registry, base_frame().drop(columns=column), errors="exclude")
    hit(probs, "<all>", column, "required column is absent")


def test_missing_optional_columns_are_fine():
    c = rc.load_registry(base_frame()[["patient_id", "date_infusion", "date_last_contact"]])
    accounted(c, 3)


def test_column_named_like_a_derived_one_is_not_overwritten():
    hit(problems_of(rc.load_registry, base_frame().assign(dead=[0, 1, 0])), "<all>", "dead", "reserved")


def test_local_names_are_used_in_problems():
    f = base_frame().rename(columns={"date_infusion": "INF_DATE", "patient_id": "ID"})
    f.loc[1, "INF_DATE"] = "2023-31-01"
    probs = problems_of(rc.load_registry, f, columns={"ID": "patient_id", "INF_DATE": "date_infusion"})
    hit(probs, "P02", "INF_DATE", "ISO 8601")


def test_header_names_with_spaces_are_stripped(tmp_path):
    path = tmp_path / "reg.csv"
    text = base_frame().to_csv(index=False)
    header, rest = text.split("\n", 1)
    path.write_text(", ".join(header.split(",")) + "\n" + rest)
    accounted(rc.load_registry(path), 3)


# ----------------------------------------------------------------------------- categories
@pytest.mark.parametrize("column,value", [("sex", "f"), ("best_response", "sCR"), ("death_cause", "NRM"),
                                          ("prior_hsct", "2")])
def test_unknown_categories_are_errors_not_mapped(column, value):
    f = base_frame()
    f.loc[0, column] = value
    row = hit(problems_of(rc.load_registry, f), "P01", column).iloc[0]
    assert row["value"] == value


# ----------------------------------------------------------------------------- blank, empty, header-only
def test_blank_lines_and_empty_rows_are_recorded_not_lost(tmp_path):
    path = tmp_path / "reg.csv"
    lines = base_frame().to_csv(index=False).splitlines()
    sep_only = "," * (len(base_frame().columns) - 1)
    path.write_text("\n".join([lines[0], lines[1], "", "   ", lines[2], sep_only, lines[3], ""]) + "\n")
    c = rc.load_registry(path)
    assert c.patients["patient_id"].tolist() == ["P01", "P02", "P03"]
    assert c.attrition.to_dict("records") == [{"patient_id": "<row 2>", "step": "read",
                                               "reason": "blank row (every cell empty)"}]
    accounted(c, 4)
    assert "blank row" in c.validation_report()


def test_header_only_file_is_a_clear_error(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text(",".join(base_frame().columns) + "\n")
    probs = problems_of(rc.load_registry, path, errors="exclude")
    assert probs.to_dict("records") == [{"patient_id": "<all>", "column": "<all>",
                                         "rule": "at least one patient row (the table has no data rows)",
                                         "value": "<no rows>"}]


def test_zero_row_frame_is_the_same_error():
    hit(problems_of(rc.load_registry, base_frame().iloc[:0]), "<all>", "<all>", "at least one patient row")


@pytest.mark.parametrize("content", [b"", b"   \n\t\n  ", b"\n\n"])
def test_empty_or_whitespace_file_is_unreadable(tmp_path, content):
    path = tmp_path / "reg.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableTableError, match="empty|no header"):
        rc.load_registry(path)


# ----------------------------------------------------------------------------- dates
def test_mixed_date_formats_are_reported_per_row():
    f = base_frame().assign(date_infusion=["2023-01-10", "01/02/2023", "2023-03-01"])
    probs = problems_of(rc.load_registry, f)
    row = hit(probs, "P02", "date_infusion", "looks like DD/MM/YYYY").iloc[0]
    assert row["value"] == "01/02/2023" and set(probs["column"]) == {"date_infusion"}
    f = base_frame()
    f["date_infusion"] = ["10/01/2023", "2023-02-01", "01/03/2023"]
    probs = problems_of(rc.load_registry, f, date_format="%d/%m/%Y")
    hit(probs, "P02", "date_infusion", "mixes date formats")


@pytest.mark.parametrize("value", ["2023-02-30", "0000-05", "2262-04-12", "Jan 5 2023", "२०२३-01-10",
                                   "2023-01-01T25:00", "nan"])
def test_odd_dates_are_problems_without_warnings(value):
    hit(problems_of(rc.load_registry, base_frame().assign(date_relapse=[value, None, None])),
        "P01", "date_relapse")


def test_partial_year_zero_is_invalid_not_a_crash():
    f = base_frame().assign(date_relapse=["0000-05", None, None])
    hit(problems_of(rc.load_registry, f, partial_dates="mid"), "P01", "date_relapse", "a valid")


def test_datetime_column_beyond_pandas_range(tmp_path):
    f = base_frame()
    f["date_next_therapy"] = pd.Series([np.datetime64("2400-01-01", "s"), None, None], dtype="datetime64[s]")
    hit(problems_of(rc.load_registry, f), "P01", "date_next_therapy", "a valid")


@pytest.mark.parametrize("value,words", [("inf", "finite"), ("-Infinity", "finite"), ("1e400", "number"), (10**30, "15 digits"),
                                         ("NaN", "a number")])
def test_non_finite_and_huge_numbers(value, words):
    hit(problems_of(rc.load_registry, base_frame().assign(prior_lines=[value, "1", "2"])), "P01", "prior_lines",
        words)


# ----------------------------------------------------------------------------- exclude accounts for every row
def test_exclude_accounts_for_rows_without_patient_id():
    f = base_frame().assign(patient_id=["P01", None, "P03"])
    f.loc[2, "date_relapse"] = "2020-01-01"
    c = rc.load_registry(f, errors="exclude")
    assert c.patients["patient_id"].tolist() == ["P01"]
    assert c.attrition["patient_id"].tolist() == ["<row 1>", "P03"]
    accounted(c, 3)
    assert set(c.problems["patient_id"]) == {"<row 1>", "P03"}


def test_missing_id_and_out_of_range_value_together():
    # Found by test_loader_fuzz: pandera's failure-case table then mixes an all-NA case and a value.
    f = base_frame().assign(patient_id=[None, "P02", "P03"], age=["45", "-1", "33"])
    probs = problems_of(rc.load_registry, f)
    hit(probs, "<row 0>", "patient_id", "required")
    hit(probs, "P02", "age", "between 0 and 120")


def test_validation_report_of_a_valid_and_of_an_excluding_load():
    text = rc.load_registry(base_frame()).validation_report()
    assert "rows read        3" in text and "patients kept    3" in text and "No problems" in text
    f = base_frame().assign(sex=["F", "X", "M"], crs_grade=["1", "9", "0"])
    c = rc.load_registry(f, errors="exclude", partial_dates="mid")
    text = c.validation_report()
    assert "rows excluded    1" in text
    assert "[sex] one of F, M — 1 row(s)" in text and "[crs_grade] between 0 and 5 — 1 row(s)" in text
    assert "P02" in text


def test_error_report_groups_by_rule():
    with pytest.raises(rc.CohortValidationError) as err:
        rc.load_registry(base_frame().assign(sex=["X", "Y", "F"]))
    assert "[sex] one of F, M — 2 row(s)" in err.value.report()


# ----------------------------------------------------------------------------- ADaM
@pytest.mark.parametrize("cnsr", [2, 3, "2"])
def test_adam_cnsr_above_one_is_censored(cnsr):
    adsl, adtte = adam_tables()
    adtte["CNSR"] = adtte["CNSR"].astype(object)
    adtte.loc[(adtte.USUBJID == "S-3") & (adtte.PARAMCD == "OS"), "CNSR"] = cnsr
    c = rc.load_adam(adsl, adtte)
    assert not c.patients.set_index("patient_id").loc["S-3", "dead"]


@pytest.mark.parametrize("cnsr", [-1, 0.5, "censored", None, np.inf])
def test_adam_bad_cnsr_is_named(cnsr):
    adsl, adtte = adam_tables()
    adtte["CNSR"] = adtte["CNSR"].astype(object)
    adtte.loc[(adtte.USUBJID == "S-2") & (adtte.PARAMCD == "PFS"), "CNSR"] = cnsr
    hit(problems_of(rc.load_adam, adsl, adtte), "S-2", "CNSR", "0 (event) or a whole number >= 1")


def test_adam_duplicate_param_rows_are_named():
    adsl, adtte = adam_tables()
    adtte = pd.concat([adtte, adtte[(adtte.USUBJID == "S-3") & (adtte.PARAMCD == "OS")]], ignore_index=True)
    hit(problems_of(rc.load_adam, adsl, adtte), "S-3", "PARAMCD", "one ADTTE row per subject")


def test_adam_subject_only_in_adtte_is_named_and_counted():
    adsl, adtte = adam_tables()
    extra = adtte[adtte.USUBJID == "S-1"].assign(USUBJID="S-9")
    adtte = pd.concat([adtte, extra], ignore_index=True)
    hit(problems_of(rc.load_adam, adsl, adtte), "S-9", "USUBJID", "ADTTE subject is in ADSL")
    c = rc.load_adam(adsl, adtte, errors="exclude")
    assert c.patients["patient_id"].tolist() == ["S-1", "S-2", "S-3"]
    assert c.attrition["patient_id"].tolist() == ["S-9"]
    accounted(c, 4)


def test_adam_subject_without_os_row():
    adsl, adtte = adam_tables()
    adtte = adtte[~((adtte.USUBJID == "S-2") & (adtte.PARAMCD == "OS"))]
    probs = problems_of(rc.load_adam, adsl, adtte)
    hit(probs, "S-2", "PARAMCD", "an ADTTE OS row")
    c = rc.load_adam(adsl, adtte, errors="exclude")
    assert c.attrition["patient_id"].tolist() == ["S-2"]
    accounted(c, 3)


@pytest.mark.parametrize("value", ["not a date", "01/02/2022", 44593, None])
def test_adam_non_date_trtsdt_is_named_by_its_adam_name(value):
    adsl, adtte = adam_tables()
    adsl["TRTSDT"] = adsl["TRTSDT"].astype(object)
    adsl.loc[1, "TRTSDT"] = value
    hit(problems_of(rc.load_adam, adsl, adtte), "S-2", "TRTSDT")


@pytest.mark.parametrize("value", ["12 days", "abc", -4, np.inf, 1e20])
def test_adam_text_or_impossible_aval(value):
    adsl, adtte = adam_tables()
    adtte = adtte.drop(columns="ADT")
    adtte["AVAL"] = adtte["AVAL"].astype(object)
    adtte.loc[(adtte.USUBJID == "S-1") & (adtte.PARAMCD == "OS"), "AVAL"] = value
    hit(problems_of(rc.load_adam, adsl, adtte), "S-1", "AVAL", "a number of days")


def test_adam_dates_in_another_format_raise_no_pandas_warning():
    adsl, adtte = adam_tables()
    adtte["ADT"] = adtte["ADT"].dt.strftime("%d/%m/%Y")
    probs = problems_of(rc.load_adam, adsl, adtte)
    hit(probs, "S-1", "ADT", "DD/MM/YYYY")


def test_adam_row_without_usubjid_is_counted_with_exclude():
    adsl, adtte = adam_tables()
    adtte["USUBJID"] = adtte["USUBJID"].astype(object)
    adtte.loc[13, "USUBJID"] = None
    hit(problems_of(rc.load_adam, adsl, adtte), "<ADTTE row 13>", "USUBJID", "required")
    c = rc.load_adam(adsl, adtte, errors="exclude")
    assert "<ADTTE row 13>" in set(c.attrition["patient_id"])
    assert c.n_input == 4 and len(c) + len(c.attrition) == 4


def test_adam_numeric_usubjid_matches_text():
    adsl, adtte = adam_tables()
    adsl["USUBJID"] = [1.0, 2.0, 3.0]  # as read from a SAS numeric variable
    adtte["USUBJID"] = adtte["USUBJID"].str.replace("S-", "")
    assert rc.load_adam(adsl, adtte).patients["patient_id"].tolist() == ["1", "2", "3"]


# ----------------------------------------------------------------------------- events
def events_frame():
    return pd.DataFrame({
        "patient_id": ["A", "A", "B", "B", "B"],
        "event": ["infusion", "last_contact", "infusion", "death", "last_contact"],
        "date": ["2023-01-01", "2023-06-01", "2023-01-05", "2023-05-01", "2023-05-01"],
    })


def test_events_names_are_case_insensitive_but_unknown_ones_are_named():
    ev = pd.concat([events_frame(), pd.DataFrame({"patient_id": ["A"], "event": [" Response "],
                                                  "date": ["2023-02-01"]})], ignore_index=True)
    base = pd.DataFrame({"patient_id": ["A", "B"], "best_response": ["CR", "NR"]})
    assert rc.load_events(ev, base).patients.set_index("patient_id").loc["A", "t_response"] == 31
    ev.loc[3, "event"] = "died"
    hit(problems_of(rc.load_events, ev), "B", "event", "one of apheresis")


def test_events_missing_date_is_named():
    ev = events_frame()
    ev.loc[1, "date"] = "  "  # A's last contact
    hit(problems_of(rc.load_events, ev), "A", "date", "required")


def test_events_several_death_dates_are_named():
    ev = pd.concat([events_frame(), pd.DataFrame({"patient_id": ["B"], "event": ["death"], "date": ["2023-05-03"]})],
                   ignore_index=True)
    row = hit(problems_of(rc.load_events, ev), "B", "date", "one death date per patient").iloc[0]
    assert row["value"] == "2 dates, 2023-05-01 to 2023-05-03"


def test_events_row_without_patient_is_named_and_counted():
    ev = pd.concat([events_frame(), pd.DataFrame({"patient_id": [None], "event": ["relapse"], "date": ["2023-03-01"]})],
                   ignore_index=True)
    hit(problems_of(rc.load_events, ev), "<events row 5>", "patient_id", "required")
    c = rc.load_events(ev, errors="exclude")
    assert c.patients["patient_id"].tolist() == ["A", "B"]
    assert c.attrition["patient_id"].tolist() == ["<events row 5>"]
    assert len(c) + len(c.attrition) == c.n_input == 3


def test_events_baseline_date_disagreeing_with_events_is_named():
    base = pd.DataFrame({"patient_id": ["A", "B"], "date_death": [None, "2023-05-02"]})
    hit(problems_of(rc.load_events, events_frame(), base), "B", "date_death", "baseline and events agree")


def test_events_blank_rows_are_recorded(tmp_path):
    ev = pd.concat([events_frame(), pd.DataFrame({"patient_id": [" "], "event": [None], "date": [""]})],
                   ignore_index=True)
    c = rc.load_events(ev)
    assert c.attrition.to_dict("records") == [{"patient_id": "<events row 5>", "step": "read",
                                               "reason": "blank event row (every cell empty)"}]
    assert len(c) + len(c.attrition) == c.n_input == 3


def test_events_date_format_reaches_baseline_dates():
    ev = pd.concat([events_frame(), pd.DataFrame({"patient_id": ["A"], "event": ["response"],
                                                  "date": ["2023-02-01"]})], ignore_index=True)
    ev["date"] = pd.to_datetime(ev["date"]).dt.strftime("%d/%m/%Y")
    base = pd.DataFrame({"patient_id": ["A", "B"], "best_response": ["CR", "NR"],
                         "date_hsct": ["01/04/2023", None]})
    c = rc.load_events(ev, base, date_format="%d/%m/%Y")
    assert c.patients.set_index("patient_id").loc["A", "date_hsct"] == pd.Timestamp("2023-04-01")
    assert c.patients.set_index("patient_id").loc["A", "date_response"] == pd.Timestamp("2023-02-01")


def test_loaders_reject_a_directory(tmp_path):
    for call in (lambda: rc.load_registry(tmp_path), lambda: rc.load_events(tmp_path),
                 lambda: rc.load_adam(tmp_path, tmp_path)):
        with pytest.raises(UnreadableTableError, match="directory"):
            call()
