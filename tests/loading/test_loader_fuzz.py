"""Fuzzing the loaders: bad input never crashes and never loses a patient.

Every loader, given any table, returns a `Cohort` or raises `CohortValidationError` whose
problems name patients from the input (or ``"<row i>"`` / ``"<all>"``) and columns that
exist — never another exception (a file that is not a table at all may also raise
`UnreadableTableError`). Under ``errors="exclude"`` rows read = patients kept + rows in
attrition, always.

Tables start from valid rows (so that some loads succeed and the exclude path is used) and
are then broken by a few random mutations; each mutation is a class of malformed input and
is counted with ``hypothesis.event`` (``pytest --hypothesis-show-statistics`` lists them).
The number of cases is fixed by ``max_examples`` (about 20 s in total on a laptop); set
``RWE_CART_FUZZ_EXAMPLES=2000`` for a long hunt.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import rwe_cart as rc
from rwe_cart import schema
from rwe_cart.io import UnreadableTableError

_LONG = int(os.environ.get("RWE_CART_FUZZ_EXAMPLES", "0"))


def fuzz_settings(n: int):
    return settings(max_examples=_LONG or n, deadline=None, derandomize=not _LONG, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def mutation_lists(kinds: list[str], extra: int):
    """One kind of damage drawn uniformly (or none), then up to ``extra`` more: every class is
    hit in a short deterministic run, and some cases combine several."""
    return st.tuples(st.sampled_from([None, *kinds]), st.lists(st.sampled_from(kinds), max_size=extra)).map(
        lambda t: ([t[0]] if t[0] else []) + t[1])


# ----------------------------------------------------------------------------- values
JUNK_TEXT = ["", " ", " \t ", "NaN", "nan", "NA", "null", "None", "inf", "-inf", "Infinity",
             "1e400", "-1e400", "0x10", "1,5", "45,5", "1.234,5", "1 000", "?", "-", "unknown",
             "٤٥", "２０２３-01-10", "Zürich", "患者", "\u200b", "'", '"', ";", ",", "\n",
             "<row 0>", "<all>", "true", "yes", "Y", "2", "-0", "+3", "1e5", "0.0"]
JUNK_NUMBERS = [0, -1, 1, 2, 6, 101, 1e308, -1e308, 2**63, 10**30, -(10**30), 1e15, 0.5, 2.5,
                float("nan"), float("inf"), float("-inf"), np.int64(3), np.float64(-0.0), True, False]
BAD_DATES = ["2023-13-01", "2023-02-30", "2023-02-29", "2024-02-29", "2023", "2023-07", "2023-7",
             "2023-00", "0000", "0000-05", "0000-01-01", "0001-01-01", "1677-09-21", "2262-04-12",
             "9999-12-31", "31/12/2023", "12/31/2023", "2023/12/31", "2023-01-01T25:00",
             "2023-01-01T10:00", "2023-01-01Z", "20230101", "45123", "45123.5", "60", "0", "-5",
             "1e5", "Jan 5 2023", "5 janvier 2023", "2023-01-01 garbage", "१९९९-01-01"]
junk = st.one_of(st.sampled_from(JUNK_TEXT), st.sampled_from(JUNK_NUMBERS), st.text(max_size=8),
                 st.integers(-(10**25), 10**25), st.floats(), st.none(),
                 st.dates().map(lambda d: d), st.booleans())
bad_date = st.one_of(st.sampled_from(BAD_DATES), st.dates().map(str),
                     st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
                     st.datetimes(), st.integers(-100, 200000), st.floats(-1e6, 1e6), st.text(max_size=10))

DATE_COLS = list(schema.DATE_COLUMNS)
OPTIONAL = [c for c in schema.CONTRACT_COLUMNS if c not in schema.REQUIRED]


@st.composite
def good_rows(draw, pid: str) -> dict:
    """One patient that keeps every data-contract rule, as text the way a CSV holds it."""
    day = lambda n: dt.timedelta(days=n)  # noqa: E731
    inf = draw(st.dates(min_value=dt.date(2016, 1, 1), max_value=dt.date(2023, 12, 31)))
    resp = draw(st.sampled_from(schema.CATEGORIES["best_response"]))
    is_cr = resp in schema.RESPONSES_CR
    t_resp = draw(st.integers(7, 90)) if is_cr else None
    t_rel = draw(st.one_of(st.none(), st.integers((t_resp or 0) + 1, 900)))
    t_hsct = draw(st.one_of(st.none(), st.integers(20, 900)))
    t_next = draw(st.one_of(st.none(), st.integers(20, 900)))
    events = [t for t in (t_resp, t_rel, t_hsct, t_next) if t is not None]
    t_last = max(events, default=0) + draw(st.integers(0, 400))
    dead = draw(st.booleans())
    iso = lambda t: None if t is None else str(inf + day(t))  # noqa: E731
    return {
        "patient_id": pid, "date_infusion": str(inf), "date_apheresis": str(inf - day(draw(st.integers(0, 60)))),
        "date_response": iso(t_resp), "date_relapse": iso(t_rel), "date_hsct": iso(t_hsct),
        "date_death": iso(t_last) if dead else None, "date_last_contact": iso(t_last),
        "date_next_therapy": iso(t_next),
        "age": str(draw(st.integers(18, 80))), "sex": draw(st.sampled_from(["F", "M"])),
        "prior_hsct": draw(st.sampled_from(["yes", "no", "1", "0", "true"])),
        "extramedullary": draw(st.sampled_from(["no", "yes", None])), "ph_positive": "0",
        "prior_blinatumomab": "1", "prior_inotuzumab": "n", "mrd_negative": None,
        "prior_lines": str(draw(st.integers(0, 6))), "crs_grade": str(draw(st.integers(0, 5))),
        "icans_grade": str(draw(st.integers(0, 5))), "marrow_blasts_pct": str(draw(st.integers(0, 100))),
        "anc": "1.5", "hb": "9.8", "plt": "120", "crp": "3", "ferritin": "500",
        "best_response": resp,
        "death_cause": draw(st.sampled_from(["relapse", "nrm", "unknown"])) if dead else None,
        "centre": draw(st.sampled_from(["Rome", "Milan", "Zürich"])),
    }


def _cell(frame: pd.DataFrame, draw) -> tuple[int, int]:
    return (draw(st.integers(0, len(frame) - 1)), draw(st.integers(0, frame.shape[1] - 1)))


def _set(frame: pd.DataFrame, i: int, j: int, value) -> pd.DataFrame:
    frame = frame.copy()
    col = frame.iloc[:, j].astype(object).copy()
    col.iloc[i] = value
    frame.isetitem(j, col)
    return frame


def _mutate_cell(frame, draw, kind, value_strategy):
    if len(frame) == 0 or frame.shape[1] == 0:
        return frame
    event(f"registry: {kind}")
    i, j = _cell(frame, draw)
    return _set(frame, i, j, draw(value_strategy))


def _mutate_column(frame, draw, value_strategy, label):
    """A whole column replaced (wrong type throughout: numbers, datetimes, booleans)."""
    if frame.shape[1] == 0:
        return frame
    event(f"registry: {label}")
    j = draw(st.integers(0, frame.shape[1] - 1))
    frame = frame.copy()
    frame.isetitem(j, pd.Series([draw(value_strategy) for _ in range(len(frame))], index=frame.index,
                                dtype=object))
    return frame


MUTATIONS = {
    "junk value in any cell": lambda f, d: _mutate_cell(f, d, "junk value in any cell", junk),
    "blank or whitespace cell": lambda f, d: _mutate_cell(f, d, "blank or whitespace cell",
                                                         st.sampled_from([None, "", "  ", np.nan])),
    "bad, partial or odd date": lambda f, d: _date_cell(f, d),
    "huge, negative or non-finite number": lambda f, d: _mutate_cell(
        f, d, "huge, negative or non-finite number",
        st.one_of(st.sampled_from(JUNK_NUMBERS), st.floats(), st.integers(-(10**40), 10**40)).map(
            lambda v: v if d(st.booleans()) else str(v))),
    "unicode text": lambda f, d: _mutate_cell(f, d, "unicode text", st.text(min_size=1, max_size=12)),
    "duplicated row": lambda f, d: _dup_row(f, d),
    "blank row": lambda f, d: _blank_row(f, d),
    "dropped column": lambda f, d: _drop_col(f, d),
    "duplicated column name": lambda f, d: _dup_col(f, d),
    "derived or non-text column name": lambda f, d: _odd_col(f, d),
    "whole column of another type": lambda f, d: _mutate_column(
        f, d, st.one_of(st.integers(-5, 50000), st.floats(), st.datetimes(), st.booleans(), junk),
        "whole column of another type"),
    "impossible sequence": lambda f, d: _swap_dates(f, d),
    "pandas extension dtype (category, string, Int64)": lambda f, d: _extension_dtype(f, d),
}


def _extension_dtype(frame, draw):
    """A column as pandas holds it after Parquet or user code: category, string, nullable."""
    if frame.shape[1] == 0:
        return frame
    event("registry: pandas extension dtype (category, string, Int64)")
    j = draw(st.integers(0, frame.shape[1] - 1))
    col = frame.iloc[:, j]
    kind = draw(st.sampled_from(["category", "string", "Int64", "boolean", "Float64"]))
    frame = frame.copy()
    try:
        converted = col.astype(kind)
    except (TypeError, ValueError, OverflowError):
        converted = col.astype(str).astype("category") if kind == "category" else col.astype(object).astype("string")
    frame.isetitem(j, converted)
    return frame


def _date_cell(frame, draw):
    cols = [j for j, c in enumerate(frame.columns) if c in DATE_COLS]
    if len(frame) == 0 or not cols:
        return frame
    event("registry: bad, partial or odd date")
    return _set(frame, draw(st.integers(0, len(frame) - 1)), draw(st.sampled_from(cols)), draw(bad_date))


def _swap_dates(frame, draw):
    cols = [j for j, c in enumerate(frame.columns) if c in DATE_COLS]
    if len(frame) == 0 or len(cols) < 2:
        return frame
    event("registry: impossible sequence")
    i, a, b = draw(st.integers(0, len(frame) - 1)), draw(st.sampled_from(cols)), draw(st.sampled_from(cols))
    va, vb = frame.iat[i, a], frame.iat[i, b]
    return _set(_set(frame, i, a, vb), i, b, va)


def _dup_row(frame, draw):
    if len(frame) == 0:
        return frame
    event("registry: duplicated row")
    i = draw(st.integers(0, len(frame) - 1))
    return pd.concat([frame, frame.iloc[[i]]], ignore_index=True)


def _blank_row(frame, draw):
    event("registry: blank row")
    row = pd.DataFrame([[draw(st.sampled_from([None, "", "  ", np.nan])) for _ in frame.columns]],
                       columns=frame.columns)
    at = draw(st.integers(0, len(frame)))
    frame = frame.astype(object)
    return pd.concat([frame.iloc[:at], row.astype(object), frame.iloc[at:]], ignore_index=True)


def _drop_col(frame, draw):
    if frame.shape[1] == 0:
        return frame
    event("registry: dropped column")
    j = draw(st.integers(0, frame.shape[1] - 1))
    return frame.iloc[:, [k for k in range(frame.shape[1]) if k != j]]


def _dup_col(frame, draw):
    if frame.shape[1] == 0:
        return frame
    event("registry: duplicated column name")
    j = draw(st.integers(0, frame.shape[1] - 1))
    extra = frame.iloc[:, [j]]
    return pd.concat([frame, extra], axis=1)


def _odd_col(frame, draw):
    event("registry: derived or non-text column name")
    name = draw(st.sampled_from(["dead", "t_relapse", "hsct_in_remission", 0, 1.5, None, "", " patient_id "]))
    frame = frame.copy()
    frame[name] = [draw(junk) for _ in range(len(frame))]
    return frame


@st.composite
def registry_frames(draw) -> pd.DataFrame:
    n = draw(st.integers(0, 5))
    ids = [draw(st.sampled_from(["P1", "P2", "P3", "P4", "P5", " P1 ", "007", 7, 7.0])) for _ in range(n)]
    rows = [draw(good_rows(pid)) for pid in ids]
    keep = list(schema.REQUIRED) + draw(st.lists(st.sampled_from(OPTIONAL + ["centre"]), unique=True, max_size=12))
    frame = pd.DataFrame(rows, columns=list(good_rows_columns())).reindex(columns=keep)
    if draw(st.booleans()):  # dates as datetime64, as from Parquet or a DataFrame
        event("registry: dates as datetime64")
        for col in [c for c in frame if c in DATE_COLS]:
            frame[col] = pd.to_datetime(frame[col])
    for name in draw(mutation_lists(sorted(MUTATIONS), 3)):
        frame = MUTATIONS[name](frame, draw)
    return frame


def good_rows_columns():
    return list(schema.CONTRACT_COLUMNS) + ["centre"]


# ----------------------------------------------------------------------------- contract
def _ids(values) -> set:
    return set(schema.clean_ids(pd.Series(list(values), dtype=object)).dropna())


def check_problems(err: rc.CohortValidationError, *, ids: set, labels: set, columns: set) -> None:
    p = err.problems
    assert len(p) > 0
    assert list(p.columns) == schema.PROBLEM_COLUMNS
    for pid in p["patient_id"]:
        assert pid in ids or pid in labels or pid == "<all>", (pid, p)
    for col in p["column"]:
        assert col in columns or col == "<all>", (col, p)
    assert p["rule"].map(lambda r: isinstance(r, str) and len(r) > 0).all()
    assert str(err) and err.report().count("[") >= p.groupby(["column", "rule"]).ngroups


def check_cohort(c: rc.Cohort, *, n_rows: int, errors: str) -> None:
    assert len(c.patients) + len(c.attrition) == c.n_input
    assert c.n_input >= n_rows
    p = c.patients
    assert p["patient_id"].notna().all() and p["patient_id"].is_unique
    assert p["date_infusion"].notna().all() and p["date_last_contact"].notna().all()
    assert (p["t_last"] >= 0).all()
    assert (p["t_death"].isna() | (p["t_death"] == p["t_last"])).all()
    assert set(c.attrition["step"]) <= ({"validation", "read"} if errors == "exclude" else {"read"})
    assert isinstance(c.validation_report(), str) and repr(c)


def registry_contract(frame: pd.DataFrame, errors: str, **options) -> str:
    try:
        c = rc.load_registry(frame, errors=errors, **options)
    except rc.CohortValidationError as err:
        cols = set(frame.columns) | set(schema.CONTRACT_COLUMNS)
        ids = _ids(frame["patient_id"]) if "patient_id" in frame.columns and frame.columns.is_unique else set()
        check_problems(err, ids=ids, labels={f"<row {i}>" for i in range(len(frame))}, columns=cols)
        if errors == "exclude":  # then only a problem of the whole table may raise
            assert err.problems["patient_id"].eq("<all>").any(), err.problems
        return "CohortValidationError"
    check_cohort(c, n_rows=len(frame), errors=errors)
    assert c.n_input == len(frame)
    return "Cohort"


# ----------------------------------------------------------------------------- registry
@fuzz_settings(150)
@given(frame=registry_frames(), errors=st.sampled_from(["raise", "exclude"]),
       partial=st.sampled_from([None, "mid"]), excel=st.sampled_from([None, True]))
def test_fuzz_registry_frames(frame, errors, partial, excel):
    outcome = registry_contract(frame, errors, partial_dates=partial, excel_dates=excel)
    event(f"outcome: {outcome} ({errors})")


@st.composite
def csv_files(draw) -> tuple[bytes, dict]:
    """A registry written as CSV bytes, then broken as files break."""
    frame = draw(registry_frames())
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    text = frame.to_csv(sep=sep, index=False, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    lines = text.splitlines(keepends=True)
    for kind in draw(mutation_lists(
            ["blank lines", "extra field", "unclosed quote", "trailing separator", "decimal comma",
             "header only", "whitespace only", "empty file", "short line"], 1)):
        event(f"csv: {kind}")
        at = draw(st.integers(0, len(lines)))
        if kind == "blank lines":
            lines.insert(at, draw(st.sampled_from(["\n", "   \n", sep * 3 + "\n"])))
        elif kind == "extra field" and len(lines) > 1:
            k = draw(st.integers(1, len(lines) - 1))
            lines[k] = lines[k].rstrip("\r\n") + sep + draw(st.sampled_from(["x", "", "45"])) + "\n"
        elif kind == "short line" and len(lines) > 1:
            k = draw(st.integers(1, len(lines) - 1))
            lines[k] = lines[k].split(sep)[0] + "\n"
        elif kind == "unclosed quote":
            lines.insert(at, '"P9' + sep + "2023-01-01\n")
        elif kind == "trailing separator":
            lines = [ln.rstrip("\r\n") + sep + "\n" for ln in lines]
        elif kind == "decimal comma":
            lines = [ln.replace(".5", ",5") for ln in lines]
        elif kind == "header only":
            lines = lines[:1]
        elif kind == "whitespace only":
            lines = [" \n", "\t\n"]
        elif kind == "empty file":
            lines = []
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"]))
    event(f"csv: written as {encoding}")
    data = "".join(lines).encode(encoding, errors="replace")
    if draw(st.integers(0, 9)) == 0:
        event("csv: random bytes")
        data = draw(st.binary(max_size=200))
    read_sep = draw(st.sampled_from([None, sep, sep, ";"]))
    read_enc = draw(st.sampled_from([None, None, encoding]))
    decimal = draw(st.sampled_from([".", ","]))
    return data, {"sep": read_sep, "encoding": read_enc, "decimal": decimal}


@fuzz_settings(100)
@given(case=csv_files(), errors=st.sampled_from(["raise", "exclude"]))
def test_fuzz_registry_csv_files(case, errors):
    data, options = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "registry.csv"
        path.write_bytes(data)
        try:
            c = rc.load_registry(path, errors=errors, **options)
        except UnreadableTableError as err:
            assert str(err).startswith("cannot read")
            event("outcome: UnreadableTableError")
            return
        except rc.CohortValidationError as err:
            p = err.problems
            assert len(p) and list(p.columns) == schema.PROBLEM_COLUMNS
            assert p["patient_id"].map(lambda v: isinstance(v, str) and len(v) > 0).all()
            assert p["column"].map(lambda v: isinstance(v, str)).all()
            if errors == "exclude":
                assert p["patient_id"].eq("<all>").any() or p["column"].eq("<all>").all(), p
            event("outcome: CohortValidationError")
            return
        check_cohort(c, n_rows=0, errors=errors)
        event("outcome: Cohort")


EXCEL_CELLS = st.one_of(st.sampled_from(JUNK_TEXT[:20]), st.integers(-100, 200000), st.floats(-1e6, 1e6),
                        st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(2200, 1, 1)),
                        st.dates(dt.date(1900, 3, 1), dt.date(2200, 1, 1)), st.times(), st.booleans(), st.none())


@fuzz_settings(15)
@given(frame=registry_frames(), cells=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 40), EXCEL_CELLS),
                                                max_size=4),
       leading=st.integers(0, 2), epoch=st.sampled_from([None, "1904"]), errors=st.sampled_from(["raise", "exclude"]))
def test_fuzz_registry_excel(frame, cells, leading, epoch, errors):
    """Workbooks: Excel types in cells (serial numbers, datetimes, times, booleans), empty
    rows above the header, the 1904 date system."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.utils.datetime import MAC_EPOCH

    def excel_value(v):  # what a workbook can hold; control characters are not allowed
        if isinstance(v, pd.Timestamp):
            return v.to_pydatetime()
        if isinstance(v, str):
            return ILLEGAL_CHARACTERS_RE.sub("?", v)
        if isinstance(v, float) and not np.isfinite(v):
            return str(v)
        if v is None or isinstance(v, (int, float, dt.date, dt.datetime, dt.time)):
            return v
        return str(v)

    book = openpyxl.Workbook()
    if epoch:
        book.epoch = MAC_EPOCH
    sheet = book.active
    for _ in range(leading):
        sheet.append([])
    sheet.append([excel_value(str(c)) for c in frame.columns])
    values = [[None if schema.is_missing(v) else v for v in row] for row in frame.astype(object).itertuples(index=False)]
    for row in values:
        sheet.append([excel_value(v) for v in row])
    for i, j, v in cells:
        if i < len(values) and j < frame.shape[1]:
            sheet.cell(row=leading + 2 + i, column=j + 1, value=excel_value(v))
    event("excel: workbook" + (" (1904)" if epoch else ""))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "registry.xlsx"
        book.save(path)
        try:
            c = rc.load_registry(path, errors=errors)
        except UnreadableTableError as err:  # only a sheet without a single cell is not a table
            assert "has no cells" in str(err) and (frame.shape[1] == 0 or len(frame) == 0), err
            event("outcome: UnreadableTableError (empty sheet)")
            return
        except rc.CohortValidationError as err:
            assert len(err.problems) and list(err.problems.columns) == schema.PROBLEM_COLUMNS
            if errors == "exclude":
                assert err.problems["patient_id"].eq("<all>").any(), err.problems
            event("outcome: CohortValidationError")
            return
        check_cohort(c, n_rows=0, errors=errors)  # a workbook does not keep trailing empty rows
        event("outcome: Cohort")


# ----------------------------------------------------------------------------- ADaM
CNSR_VALUES = [0, 1, 2, 3, -1, 0.5, 1.0, "0", "1", "2", " 1 ", "x", "", None, np.nan, np.inf, True, "-1"]


@st.composite
def adam_cases(draw) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = draw(st.integers(1, 4))
    subjects = [f"S-{k}" for k in range(1, n + 1)]
    trt = [pd.Timestamp(draw(st.dates(dt.date(2018, 1, 1), dt.date(2022, 12, 31)))) for _ in subjects]
    adsl = pd.DataFrame({"USUBJID": subjects, "TRTSDT": trt,
                         "AGE": [draw(st.integers(18, 80)) for _ in subjects],
                         "SEX": [draw(st.sampled_from(["F", "M"])) for _ in subjects],
                         "BOR": [draw(st.sampled_from(["CR", "NR"])) for _ in subjects],
                         "PRHSCTFL": [draw(st.sampled_from(["Y", "N"])) for _ in subjects],
                         "DTHCAUS": [None] * n})
    adsl["RSPDT"] = [t + pd.Timedelta(days=28) if b == "CR" else pd.NaT for t, b in zip(trt, adsl["BOR"])]
    rows = []
    for s, t in zip(subjects, trt):
        last = t + pd.Timedelta(days=draw(st.integers(60, 900)))
        dead = draw(st.booleans())
        rows.append((s, "OS", 0 if dead else 1, t, last, "DEATH" if dead else "CENSORED"))
        rows.append((s, "PFS", 0 if dead else 1, t, last, "DEATH" if dead else "CENSORED"))
        rows.append((s, "TTHSCT", draw(st.sampled_from([1, 2])), t, last, "CENSORED"))
    adtte = pd.DataFrame(rows, columns=["USUBJID", "PARAMCD", "CNSR", "STARTDT", "ADT", "EVNTDESC"])
    adtte["AVAL"] = (adtte["ADT"] - adtte["STARTDT"]).dt.days.astype(float)
    adsl.loc[adsl["USUBJID"].isin(adtte.loc[(adtte.PARAMCD == "OS") & (adtte.CNSR == 0), "USUBJID"]),
             "DTHCAUS"] = "NRM"
    adsl, adtte = adsl.astype(object), adtte.astype(object)

    def cell(frame, col, value):
        frame = frame.copy()
        frame.loc[draw(st.integers(0, len(frame) - 1)), col] = value
        return frame

    kinds = ["CNSR other than 0/1", "duplicate PARAMCD row", "ADTTE subject not in ADSL",
             "ADSL subject without OS row", "non-date TRTSDT", "text or junk in AVAL", "bad ADT",
             "bad STARTDT", "ADT dropped (AVAL only)", "missing USUBJID", "junk PARAMCD",
             "duplicate ADSL subject", "junk ADSL value", "dropped variable", "blank ADSL row",
             "no OS at all", "empty ADTTE"]
    for kind in draw(mutation_lists(kinds, 2)):
        if len(adtte) == 0 or not {"USUBJID", "PARAMCD", "CNSR", "ADT", "STARTDT", "AVAL"} <= set(adtte.columns) or (
                not {"USUBJID", "TRTSDT"} <= set(adsl.columns)):
            break  # damage that the next mutation would not find its way around
        event(f"adam: {kind}")
        if kind == "CNSR other than 0/1":
            adtte = cell(adtte, "CNSR", draw(st.sampled_from(CNSR_VALUES)))
        elif kind == "duplicate PARAMCD row":
            k = draw(st.integers(0, len(adtte) - 1))
            adtte = pd.concat([adtte, adtte.iloc[[k]]], ignore_index=True)
        elif kind == "ADTTE subject not in ADSL":
            extra = adtte.iloc[[0]].copy()
            extra["USUBJID"] = draw(st.sampled_from(["S-99", "s-1", " S-98 ", 99]))
            adtte = pd.concat([adtte, extra], ignore_index=True)
        elif kind == "ADSL subject without OS row":
            s = draw(st.sampled_from(subjects))
            adtte = adtte[~((adtte.USUBJID == s) & (adtte.PARAMCD == "OS"))].reset_index(drop=True)
        elif kind == "non-date TRTSDT":
            adsl = cell(adsl, "TRTSDT", draw(bad_date))
        elif kind == "text or junk in AVAL":
            adtte = cell(adtte, "AVAL", draw(st.one_of(junk, st.sampled_from([-5, 1e20, np.inf, "12 days"]))))
        elif kind == "bad ADT":
            adtte = cell(adtte, "ADT", draw(bad_date))
        elif kind == "bad STARTDT":
            adtte = cell(adtte, "STARTDT", draw(bad_date))
        elif kind == "ADT dropped (AVAL only)":
            adtte = adtte.drop(columns="ADT", errors="ignore")
        elif kind == "missing USUBJID":
            which = draw(st.booleans())
            frame = adsl if which else adtte
            frame = cell(frame, "USUBJID", draw(st.sampled_from([None, "", "  ", np.nan])))
            adsl, adtte = (frame, adtte) if which else (adsl, frame)
        elif kind == "junk PARAMCD" and len(adtte):
            adtte = cell(adtte, "PARAMCD", draw(st.sampled_from([None, "os", "OS ", "XYZ", 1, ""])))
        elif kind == "duplicate ADSL subject":
            adsl = pd.concat([adsl, adsl.iloc[[0]]], ignore_index=True)
        elif kind == "junk ADSL value":
            col = draw(st.sampled_from(["AGE", "SEX", "BOR", "PRHSCTFL", "DTHCAUS", "RSPDT"]))
            adsl = cell(adsl, col, draw(junk))
        elif kind == "dropped variable":
            which = draw(st.booleans())
            frame = adsl if which else adtte
            frame = frame.drop(columns=draw(st.sampled_from(list(frame.columns))))
            adsl, adtte = (frame, adtte) if which else (adsl, frame)
        elif kind == "blank ADSL row":
            adsl = pd.concat([adsl, pd.DataFrame([[None] * adsl.shape[1]], columns=adsl.columns, dtype=object)],
                             ignore_index=True)
        elif kind == "no OS at all":
            adtte = adtte[adtte.PARAMCD != "OS"].reset_index(drop=True)
        elif kind == "empty ADTTE":
            adtte = adtte.iloc[:0]
    return adsl, adtte


@fuzz_settings(100)
@given(case=adam_cases(), errors=st.sampled_from(["raise", "exclude"]))
def test_fuzz_adam(case, errors):
    adsl, adtte = case
    try:
        c = rc.load_adam(adsl, adtte, errors=errors)
    except rc.CohortValidationError as err:
        ids = (_ids(adsl["USUBJID"]) if "USUBJID" in adsl else set()) | (
            _ids(adtte["USUBJID"]) if "USUBJID" in adtte else set())
        labels = {f"<row {i}>" for i in range(len(adsl))} | {f"<ADTTE row {i}>" for i in range(len(adtte))}
        # A missing variable is named although absent: the ones the loader requires.
        required = {"USUBJID", "TRTSDT", "PARAMCD", "CNSR", "ADT", "AVAL"}
        cols = set(adsl.columns) | set(adtte.columns) | set(schema.CONTRACT_COLUMNS) | required
        check_problems(err, ids=ids, labels=labels, columns=cols)
        if errors == "exclude":
            assert err.problems["patient_id"].eq("<all>").any(), err.problems
        event(f"outcome: CohortValidationError ({errors})")
        return
    check_cohort(c, n_rows=len(adsl), errors=errors)
    # Rows read: every ADSL row, plus each subject (or USUBJID-less row) found only in ADTTE.
    sl_ids = _ids(adsl["USUBJID"])
    extra = c.attrition[~c.attrition["patient_id"].isin(sl_ids | {f"<row {i}>" for i in range(len(adsl))})]
    assert c.n_input == len(adsl) + len(extra)
    event(f"outcome: Cohort ({errors})")


# ----------------------------------------------------------------------------- events
EVENT_NAMES = ["infusion", "last_contact", "death", "relapse", "response", "hsct", "progression",
               "apheresis", "next_therapy", "Death", " INFUSION ", "transplant", "", None, 3]


@st.composite
def event_tables(draw) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Valid event histories (infusion, relapse, HSCT, death, last contact), then damaged."""
    rows, best = [], {}
    for pid in draw(st.lists(st.sampled_from(["A", "B", "C", "D"]), unique=True, max_size=3)):
        d0 = draw(st.dates(dt.date(2020, 1, 1), dt.date(2023, 1, 1)))
        last = d0 + dt.timedelta(days=draw(st.integers(30, 700)))
        rows += [(pid, "infusion", str(d0)), (pid, "last_contact", str(last))]
        if draw(st.booleans()):
            rows.append((pid, "relapse", str(d0 + dt.timedelta(days=draw(st.integers(1, 29))))))
        if draw(st.booleans()):
            rows.append((pid, "death", str(last)))
        best[pid] = "NR"
    ev = pd.DataFrame(rows, columns=["patient_id", "event", "date"], dtype=object)
    kinds = ["unknown event name", "missing date", "bad date", "several death dates", "missing patient_id",
             "odd patient_id", "blank row", "dropped column", "duplicated column", "event name case"]
    for kind in draw(mutation_lists(kinds, 2)):
        event(f"events: {kind}")
        k = draw(st.integers(0, max(len(ev) - 1, 0)))
        if kind == "unknown event name" and len(ev):
            ev.loc[k, "event"] = draw(st.sampled_from(EVENT_NAMES[9:] + ["relapsed", "HSCT?"]))
        elif kind == "missing date" and len(ev):
            ev.loc[k, "date"] = draw(st.sampled_from([None, "", "  ", np.nan]))
        elif kind == "bad date" and len(ev):
            ev.loc[k, "date"] = draw(bad_date)
        elif kind == "several death dates" and len(ev):
            pid = ev.loc[k, "patient_id"]
            extra = [(pid, "death", draw(st.dates(dt.date(2020, 1, 1), dt.date(2025, 1, 1)).map(str)))
                     for _ in range(2)]
            ev = pd.concat([ev, pd.DataFrame(extra, columns=ev.columns, dtype=object)], ignore_index=True)
        elif kind == "missing patient_id" and len(ev):
            ev.loc[k, "patient_id"] = draw(st.sampled_from([None, "", " ", np.nan]))
        elif kind == "odd patient_id" and len(ev):
            ev.loc[k, "patient_id"] = draw(st.sampled_from([" A", 1, 1.0, "<events row 0>", "é"]))
        elif kind == "event name case" and len(ev):
            ev.loc[k, "event"] = str(ev.loc[k, "event"]).upper() + " "
        elif kind == "blank row":
            ev = pd.concat([ev, pd.DataFrame([[None, " ", None]], columns=ev.columns, dtype=object)],
                           ignore_index=True)
        elif kind == "dropped column":
            ev = ev.drop(columns=draw(st.sampled_from(list(ev.columns))))
        elif kind == "duplicated column":
            ev = pd.concat([ev, ev.iloc[:, [0]]], axis=1)
        if ev.columns.duplicated().any() or ev.shape[1] < 3:
            break
    base = None
    if draw(st.booleans()):
        event("events: with baseline")
        ids = draw(st.lists(st.sampled_from(["A", "B", "D", None, " B "]), max_size=4)) or list(best)
        base = pd.DataFrame({"patient_id": ids,
                             "sex": [draw(st.sampled_from(["F", "M", "M", "x", None])) for _ in ids],
                             "best_response": [draw(st.sampled_from(["NR", "NR", "PD", "CR", None])) for _ in ids],
                             "date_death": [draw(st.one_of(st.none(), st.none(), bad_date)) for _ in ids]},
                            dtype=object)
    return ev, base


@fuzz_settings(100)
@given(case=event_tables(), errors=st.sampled_from(["raise", "exclude"]))
def test_fuzz_events(case, errors):
    ev, base = case
    try:
        c = rc.load_events(ev, base, errors=errors)
    except rc.CohortValidationError as err:
        ids = set()
        for frame in (ev, base):
            if frame is not None and "patient_id" in frame.columns and frame.columns.is_unique:
                ids |= _ids(frame["patient_id"])
        labels = {f"<events row {i}>" for i in range(len(ev))} | {f"<row {i}>" for i in range(len(ev) + 10)}
        labels |= {f"<baseline row {i}>" for i in range(0 if base is None else len(base))}
        cols = set(ev.columns) | set(schema.CONTRACT_COLUMNS) | {"patient_id", "event", "date"} | (
            set() if base is None else set(base.columns))
        check_problems(err, ids=ids, labels=labels, columns=cols)
        if errors == "exclude":
            assert err.problems["patient_id"].eq("<all>").any(), err.problems
        event(f"outcome: CohortValidationError ({errors})")
        return
    check_cohort(c, n_rows=0, errors=errors)
    event(f"outcome: Cohort ({errors})")
