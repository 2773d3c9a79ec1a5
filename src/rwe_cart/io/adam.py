"""Trial (ZUMA-3-style) loader: CDISC ADaM ADSL + ADTTE folded into the cohort contract."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..cohort import Cohort, build_cohort
from ..schema import (CohortValidationError, _missing, _problems, _to_float, clean_ids,
                      coerce_dates, file_problems, problems_frame, row_label)
from .registry import UnreadableTableError, file_sha256, read_table_info

# ADSL variable -> contract column. Flags (…FL) are Y/N; the contract's bool coercion reads them.
ADSL_COLUMNS = {
    "USUBJID": "patient_id",
    "TRTSDT": "date_infusion",
    "APHDT": "date_apheresis",
    "AGE": "age",
    "SEX": "sex",
    "PRHSCTFL": "prior_hsct",
    "EXMDFL": "extramedullary",
    "BLASTPCT": "marrow_blasts_pct",
    "PHFL": "ph_positive",
    "PRLINES": "prior_lines",
    "PRBLINFL": "prior_blinatumomab",
    "PRINOFL": "prior_inotuzumab",
    "BOR": "best_response",
    "RSPDT": "date_response",
    "MRDNEGFL": "mrd_negative",
    "CRSGR": "crs_grade",
    "ICANSGR": "icans_grade",
    "DTHCAUS": "death_cause",
}
# Controlled terminology for DTHCAUS; any other value is left as is and fails validation.
DEATH_CAUSES = {"RELAPSE": "relapse", "NRM": "nrm", "UNKNOWN": "unknown"}
ADTTE_REQUIRED = ("USUBJID", "PARAMCD", "CNSR")
# Where the relapse date is read from, in order of preference.
RELAPSE_PARAMS = ("PFS", "RFS", "EFS", "DOR")
_RELAPSE_WORDS = r"RELAPSE|PROGRESS|RECURREN|\bPD\b"
_NOT_RELAPSE_WORDS = r"DEATH|DIED|NO RESPONSE|NON-?RESPONSE|NOT IN RESPONSE"
# Columns the ADTTE fold gives (always present, empty when no valid row gives them).
EVENT_COLUMNS = ("date_last_contact", "date_death", "date_relapse", "date_hsct", "date_next_therapy")
# AVAL is days from STARTDT: from 0 to 100 years.
AVAL_MAX = 36525


def read_adam(source: str | Path | pd.DataFrame, *, encoding: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Read one ADaM dataset from a frame, CSV, SAS transport (.xpt) or .sas7bdat file.

    A file that cannot be read raises `FileNotFoundError` or `UnreadableTableError`.
    """
    if isinstance(source, pd.DataFrame):
        return source.copy(), {"source": "DataFrame"}
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise UnreadableTableError(f"cannot read {path}: it is a directory, not a dataset file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame, _ = read_table_info(path, encoding=encoding, id_column="USUBJID")
    elif suffix in (".xpt", ".sas7bdat"):
        if path.stat().st_size == 0:
            raise UnreadableTableError(f"cannot read {path.name}: the file is empty (0 bytes)")
        import pyreadstat  # only SAS files need it; a registry check should not pay for it

        reader = pyreadstat.read_xport if suffix == ".xpt" else pyreadstat.read_sas7bdat
        try:
            frame, _ = reader(str(path), **({"encoding": encoding} if encoding else {}))
        except Exception as err:  # pyreadstat.ReadstatError and friends for a corrupt file
            raise UnreadableTableError(f"cannot read {path.name} as {suffix[1:]}: {err}") from err
    else:
        raise UnreadableTableError(f"cannot read {path.name}: expected .csv, .xpt or .sas7bdat")
    return frame, {"source": str(path), "sha256": file_sha256(path)}


def load_adam(adsl: str | Path | pd.DataFrame, adtte: str | Path | pd.DataFrame, *,
              hsct_param: str | None = "TTHSCT", hsct_date_column: str | None = None,
              adsl_columns: Mapping[str, str] | None = None,
              errors: Literal["raise", "exclude"] = "raise", encoding: str | None = None) -> Cohort:
    """Load ADSL + ADTTE into a validated `Cohort` (time zero: TRTSDT, the infusion).

    Parameters
    ----------
    adsl, adtte : path or DataFrame
        CSV, SAS transport (.xpt) or .sas7bdat. ADSL: one row per subject (USUBJID, TRTSDT,
        and the variables of ``ADSL_COLUMNS``). ADTTE: USUBJID, PARAMCD, CNSR (0 = event,
        >= 1 = censored), and ADT or AVAL (days from STARTDT, or from TRTSDT when STARTDT
        is absent).
    hsct_param : str or None
        PARAMCD of time to post-infusion allo-HSCT (CNSR 0 = transplanted on ADT).
    hsct_date_column : str, optional
        ADSL date column with the post-infusion HSCT date, instead of ``hsct_param``.
    adsl_columns : mapping, optional
        Extra or overriding ADSL variable -> contract column names. A contract date that
        ADSL gives this way is taken from ADSL, not from ADTTE.
    errors : {"raise", "exclude"}
        As `load_registry`. Problems name ADSL variables (TRTSDT, not date_infusion) and
        ADTTE variables; dates folded from ADTTE keep their contract names.

    Notes
    -----
    OS gives last contact (its ADT) and death (CNSR 0). The relapse date is the first
    event of PFS, else RFS, EFS or DOR, whose EVNTDESC names a relapse or progression; when
    EVNTDESC is blank, an event before the death date (or in a living patient) is taken as
    relapse. An RFS/EFS event at day 0 for a non-responder is not a relapse. The response
    date is ADSL RSPDT, else the DOR STARTDT.

    ADTTE rows are checked before folding: CNSR a whole number >= 0 (0 event, 1, 2, ...
    censored), one row per subject and PARAMCD, dates valid, AVAL a number of days from 0 to
    36525, every subject in ADSL, an OS row for every ADSL subject. A row that fails is not
    used and its subject fails. With ``errors="exclude"`` a subject found only in ADTTE (or
    an ADTTE row without USUBJID, named ``"<ADTTE row i>"``) counts as one more row read and
    is recorded in attrition: ``meta["n_input"]`` = ADSL rows + such subjects.
    """
    sl, sl_meta = read_adam(adsl, encoding=encoding)
    tte, tte_meta = read_adam(adtte, encoding=encoding)
    sl, tte = sl.reset_index(drop=True), tte.reset_index(drop=True)
    mapping = {**ADSL_COLUMNS, **dict(adsl_columns or {})}
    if hsct_date_column is not None:
        mapping[hsct_date_column] = "date_hsct"
        hsct_param = None  # the ADSL date replaces the ADTTE parameter
    present = {k: v for k, v in mapping.items() if k in sl}
    renamed = pd.Index(sl.columns).map(lambda c: present.get(c, c))
    file_level = []
    for name, frame, need in (("ADSL", sl, ("USUBJID", "TRTSDT")), ("ADTTE", tte, ADTTE_REQUIRED)):
        cols = pd.Index(frame.columns)
        file_level.append(file_problems(list(dict.fromkeys(cols[cols.duplicated()])),
                                        f"{name} variable names are unique", "<duplicated>"))
        file_level.append(file_problems([c for c in need if c not in frame], f"required {name} variable",
                                        "<absent>"))
    if "ADT" not in tte and "AVAL" not in tte:
        file_level.append(file_problems(["ADT"], "ADTTE needs ADT or AVAL", "<absent>"))
    if not pd.Index(sl.columns).duplicated().any() and renamed.duplicated().any():
        file_level.append(file_problems(list(dict.fromkeys(renamed[renamed.duplicated()])),
                                        "ADSL variables map to distinct contract columns",
                                        "<duplicated after renaming>"))
    file_level = problems_frame(file_level)
    if len(file_level):
        raise CohortValidationError(file_level)

    wide = sl.copy()
    wide.columns = renamed
    wide["patient_id"] = clean_ids(wide["patient_id"])
    if "death_cause" in wide:
        wide["death_cause"] = wide["death_cause"].map(_death_cause)
    trtsdt, _, _ = coerce_dates(wide.assign(TRTSDT=sl["TRTSDT"]), "TRTSDT", date_format=None, partial_dates=None)
    known = wide["patient_id"].notna()
    infusion = pd.Series(trtsdt[known].to_numpy(), index=wide["patient_id"][known])
    infusion = infusion[~infusion.index.duplicated()]

    tte, problems = _clean_adtte(tte, infusion)
    events = _fold_adtte(tte, hsct_param)
    has_os = (tte["PARAMCD"] == "OS").any()
    # An OS row that is there but invalid is reported as such, not as absent.
    no_os = known & ~wide["patient_id"].isin(set(tte.loc[tte["PARAMCD"] == "OS", "USUBJID"]))
    problems = problems_frame([
        problems,
        file_problems([] if has_os else ["PARAMCD"], "ADTTE has OS rows (last contact, death)",
                      "<no OS row>"),
        _problems(wide, no_os & has_os, "PARAMCD", "an ADTTE OS row for every ADSL subject",
                  pd.Series("<absent>", index=wide.index)),
    ])
    events = events.drop(columns=[c for c in events.columns if c in wide])  # ADSL, when mapped, wins
    wide = wide.merge(events, how="left", left_on="patient_id", right_index=True)
    if "date_response" not in wide or clean_ids(wide["date_response"]).isna().all():
        dor = tte[tte["ok"] & (tte["PARAMCD"] == "DOR")].set_index("USUBJID")["STARTDT"]
        wide["date_response"] = wide["patient_id"].map(dor)
    meta = {"source": f"ADSL: {sl_meta['source']}; ADTTE: {tte_meta['source']}",
            "sha256": {"adsl": sl_meta.get("sha256"), "adtte": tte_meta.get("sha256")},
            "hsct_param": hsct_param}
    names = {contract: variable for variable, contract in present.items() if variable != "USUBJID"}
    names["patient_id"] = "USUBJID"
    return build_cohort(wide, errors=errors, meta=meta, problems=problems, source_names=names)


def _death_cause(value: object) -> object:
    """DTHCAUS in controlled terminology -> the contract's cause; anything else unchanged."""
    if _missing(value):
        return None
    text = str(value).strip()
    return DEATH_CAUSES.get(text.upper(), text) if text else None


def _clean_adtte(tte: pd.DataFrame, infusion: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed ADTTE (USUBJID, PARAMCD, CNSR, STARTDT, DATE, EVNTDESC, ok) and its problems.

    ``infusion``: TRTSDT by (clean) USUBJID, the default STARTDT.
    """
    ids = clean_ids(tte["USUBJID"])
    labels = ids.where(ids.notna(), pd.Series([row_label(i, "ADTTE") for i in tte.index], index=tte.index))
    named = tte.assign(patient_id=labels)
    param = clean_ids(tte["PARAMCD"]).map(lambda v: v if v is None else v.upper())
    cnsr = _to_float(tte["CNSR"].map(lambda v: v.strip() if isinstance(v, str) else v))
    bad_cnsr = cnsr.isna() | ~np.isfinite(cnsr) | (cnsr < 0) | (cnsr != np.round(cnsr))
    problems = [
        _problems(named, ids.isna(), "USUBJID", "required (missing value)", ids),
        _problems(named, param.isna(), "PARAMCD", "required (missing value)", param),
        _problems(named, bad_cnsr, "CNSR", "ADTTE CNSR is 0 (event) or a whole number >= 1 (censored)",
                  tte["CNSR"]),
    ]
    bad = ids.isna() | param.isna() | bad_cnsr
    dates = {}
    for col in ("STARTDT", "ADT"):
        if col in tte:
            dates[col], prob, _ = coerce_dates(named, col, date_format=None, partial_dates=None)
            problems.append(prob)
            bad |= named[col].notna() & dates[col].isna() & clean_ids(named[col]).notna()
        else:
            dates[col] = pd.Series(pd.NaT, index=tte.index, dtype="datetime64[ns]")
    start = dates["STARTDT"].fillna(ids.map(infusion)).astype("datetime64[ns]")
    date = dates["ADT"]
    if "AVAL" in tte:
        aval = _to_float(tte["AVAL"].map(lambda v: v.strip() if isinstance(v, str) else v))
        given = clean_ids(tte["AVAL"]).notna()
        wrong = given & (aval.isna() | ~np.isfinite(aval) | (aval < 0) | (aval > AVAL_MAX))
        problems.append(_problems(named, wrong, "AVAL", f"ADTTE AVAL a number of days from 0 to {AVAL_MAX}",
                                  tte["AVAL"]))
        bad |= wrong
        # Counted in whole days from 1970, so no date arithmetic can overflow.
        days = (start - pd.Timestamp("1970-01-01")).dt.days + np.floor(aval.where(~wrong))
        fits = days <= (pd.Timestamp.max.normalize() - pd.Timestamp("1970-01-01")).days
        from_aval = pd.Timestamp("1970-01-01") + pd.to_timedelta(days.where(fits), unit="D")
        date = date.fillna(from_aval.astype("datetime64[ns]"))
    keys = pd.DataFrame({"id": ids, "param": param})
    dup = ids.notna() & param.notna() & keys.duplicated(keep=False)
    orphan = ids.notna() & ~ids.isin(set(infusion.index))
    desc = tte["EVNTDESC"] if "EVNTDESC" in tte else pd.Series("", index=tte.index)
    missing_date = date.isna() & ~bad
    problems += [
        _problems(named, dup, "PARAMCD", "one ADTTE row per subject and PARAMCD", param),
        _problems(named, orphan, "USUBJID", "ADTTE subject is in ADSL", ids),
        _problems(named, missing_date, "ADT", "ADTTE date (ADT, or STARTDT + AVAL) present",
                  pd.Series("<missing>", index=tte.index)),
    ]
    out = pd.DataFrame({
        "USUBJID": ids, "PARAMCD": param, "CNSR": cnsr, "STARTDT": start, "DATE": date.dt.normalize(),
        "EVNTDESC": desc.map(lambda v: "" if _missing(v) else str(v).strip().upper()),
        "ok": ~(bad | dup | orphan | missing_date),
    }, index=tte.index)
    return out, problems_frame(problems)


def _fold_adtte(tte: pd.DataFrame, hsct_param: str | None) -> pd.DataFrame:
    """One row per subject (index USUBJID) with the contract's event dates, from valid rows."""
    tte = tte[tte["ok"]]
    by = {code: grp.set_index("USUBJID") for code, grp in tte.groupby("PARAMCD")}
    subjects = pd.Index(tte["USUBJID"].unique())
    out = pd.DataFrame({c: pd.Series(pd.NaT, index=subjects, dtype="datetime64[ns]") for c in EVENT_COLUMNS})
    if "OS" in by:
        os_ = by["OS"].reindex(subjects)
        out["date_last_contact"] = os_["DATE"]
        out["date_death"] = os_["DATE"].where(os_["CNSR"] == 0)
    relapse = pd.Series(pd.NaT, index=subjects, dtype="datetime64[ns]")
    death = out["date_death"]
    for code in RELAPSE_PARAMS:
        if code not in by:
            continue
        p = by[code].reindex(subjects)
        desc = p["EVNTDESC"].fillna("").astype(str)
        named = desc.str.contains(_RELAPSE_WORDS, regex=True)
        other = desc.str.contains(_NOT_RELAPSE_WORDS, regex=True)
        blank = desc.eq("")
        before_death = death.isna() | (p["DATE"] < death)
        day0 = p["DATE"] <= p["STARTDT"]
        nonresponse_at_zero = day0 & (code in ("RFS", "EFS"))
        is_relapse = (p["CNSR"] == 0) & ~(other & ~named) & (
            named | (blank & before_death & ~nonresponse_at_zero))
        relapse = relapse.fillna(p["DATE"].where(is_relapse))
    out["date_relapse"] = relapse
    if hsct_param is not None and hsct_param.upper() in by:
        h = by[hsct_param.upper()].reindex(subjects)
        out["date_hsct"] = h["DATE"].where(h["CNSR"] == 0)
    if "TTNT" in by:
        n = by["TTNT"].reindex(subjects)
        out["date_next_therapy"] = n["DATE"].where(n["CNSR"] == 0)
    return out
