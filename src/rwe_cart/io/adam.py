"""Trial (ZUMA-3-style) loader: CDISC ADaM ADSL + ADTTE folded into the cohort contract."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyreadstat

from ..cohort import Cohort, build_cohort
from ..schema import CohortValidationError, problems_frame
from .registry import file_sha256

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


def read_adam(source: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Read one ADaM dataset from a frame, CSV, SAS transport (.xpt) or .sas7bdat file."""
    if isinstance(source, pd.DataFrame):
        return source.copy(), {"source": "DataFrame"}
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".xpt":
        frame, _ = pyreadstat.read_xport(str(path))
    elif suffix == ".sas7bdat":
        frame, _ = pyreadstat.read_sas7bdat(str(path))
    elif suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    else:
        raise ValueError(f"cannot read {path.name}: expected .csv, .xpt or .sas7bdat")
    return frame, {"source": str(path), "sha256": file_sha256(path)}


def load_adam(adsl: str | Path | pd.DataFrame, adtte: str | Path | pd.DataFrame, *,
              hsct_param: str | None = "TTHSCT", hsct_date_column: str | None = None,
              adsl_columns: Mapping[str, str] | None = None,
              errors: Literal["raise", "exclude"] = "raise") -> Cohort:
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
        Extra or overriding ADSL variable -> contract column names.

    Notes
    -----
    OS gives last contact (its ADT) and death (CNSR 0). The relapse date is the first
    event of PFS, else RFS, EFS or DOR, whose EVNTDESC names a relapse or progression; when
    EVNTDESC is blank, an event before the death date (or in a living patient) is taken as
    relapse. An RFS/EFS event at day 0 for a non-responder is not a relapse. The response
    date is ADSL RSPDT, else the DOR STARTDT.
    """
    sl, sl_meta = read_adam(adsl)
    tte, tte_meta = read_adam(adtte)
    mapping = {**ADSL_COLUMNS, **dict(adsl_columns or {})}
    if hsct_date_column is not None:
        mapping[hsct_date_column] = "date_hsct"
    for name, frame, need in (("ADSL", sl, ("USUBJID", "TRTSDT")), ("ADTTE", tte, ADTTE_REQUIRED)):
        absent = [c for c in need if c not in frame]
        if absent:
            raise CohortValidationError(pd.DataFrame({
                "patient_id": "<all>", "column": absent, "rule": f"required {name} variable",
                "value": "<absent>"}))
    if "ADT" not in tte and "AVAL" not in tte:
        raise CohortValidationError(pd.DataFrame({
            "patient_id": ["<all>"], "column": ["ADT"], "rule": ["ADTTE needs ADT or AVAL"],
            "value": ["<absent>"]}))
    wide = sl.rename(columns={k: v for k, v in mapping.items() if k in sl})
    if "death_cause" in wide:
        cause = wide["death_cause"].astype(object)
        upper = cause.map(lambda v: v.strip().upper() if isinstance(v, str) else v)
        wide["death_cause"] = upper.map(DEATH_CAUSES).where(upper.isin(list(DEATH_CAUSES)), cause)
        wide["death_cause"] = wide["death_cause"].where(upper.ne(""), None)

    tte, problems = _clean_adtte(tte, sl)
    if len(problems) and errors == "raise":
        raise CohortValidationError(problems)
    events = _fold_adtte(tte, hsct_param)
    wide = wide.drop(columns=[c for c in events.columns if c in wide and c != "patient_id"])
    wide = wide.merge(events, how="left", left_on="patient_id", right_index=True)
    if "date_response" not in wide or wide["date_response"].isna().all():
        dor = tte[tte["PARAMCD"] == "DOR"].set_index("USUBJID")
        if "STARTDT" in dor:
            wide["date_response"] = wide["patient_id"].map(dor["STARTDT"])
    meta = {"source": f"ADSL: {sl_meta['source']}; ADTTE: {tte_meta['source']}",
            "sha256": {"adsl": sl_meta.get("sha256"), "adtte": tte_meta.get("sha256")},
            "hsct_param": hsct_param}
    cohort = build_cohort(wide, errors=errors, meta=meta)
    if len(problems):
        # errors="exclude": subjects with ADTTE problems leave with their reasons.
        reasons = problems.groupby("patient_id")["rule"].agg(
            lambda r: "ADTTE: " + "; ".join(dict.fromkeys(r)))
        bad = cohort.patients["patient_id"].isin(set(reasons.index)).to_numpy()
        cohort = cohort.subset(~bad, step="validation", reason=reasons)
    return cohort


def _clean_adtte(tte: pd.DataFrame, sl: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    tte = tte.copy()
    tte["USUBJID"] = tte["USUBJID"].astype(str).str.strip()
    tte["PARAMCD"] = tte["PARAMCD"].astype(str).str.strip().str.upper()
    cnsr = pd.to_numeric(tte["CNSR"], errors="coerce")
    start = (pd.to_datetime(tte["STARTDT"], errors="coerce") if "STARTDT" in tte
             else pd.Series(pd.NaT, index=tte.index))
    trtsdt = pd.to_datetime(sl.set_index(sl["USUBJID"].astype(str).str.strip())["TRTSDT"],
                            errors="coerce")
    start = start.fillna(tte["USUBJID"].map(trtsdt))
    adt = (pd.to_datetime(tte["ADT"], errors="coerce") if "ADT" in tte
           else pd.Series(pd.NaT, index=tte.index))
    if "AVAL" in tte:
        aval = pd.to_numeric(tte["AVAL"], errors="coerce")
        adt = adt.fillna(start + pd.to_timedelta(np.floor(aval), unit="D"))
    tte["CNSR"], tte["STARTDT"], tte["DATE"] = cnsr, start, adt.dt.normalize()
    desc = tte["EVNTDESC"] if "EVNTDESC" in tte else pd.Series("", index=tte.index)
    tte["EVNTDESC"] = desc.fillna("").astype(str).str.upper()

    def rows(mask: pd.Series, column: str, rule: str, values: pd.Series) -> pd.DataFrame:
        return pd.DataFrame({"patient_id": tte.loc[mask, "USUBJID"].to_numpy(), "column": column,
                             "rule": rule, "value": values[mask].astype(object).to_numpy()})

    known = set(trtsdt.index)
    problems = problems_frame([
        rows(cnsr.isna() | (cnsr < 0) | (cnsr != np.round(cnsr)), "CNSR",
             "ADTTE CNSR is 0 (event) or a whole number >= 1 (censored)", tte["CNSR"].where(cnsr.notna(), "<missing>")),
        rows(tte.duplicated(["USUBJID", "PARAMCD"], keep=False), "PARAMCD",
             "one ADTTE row per subject and PARAMCD", tte["PARAMCD"]),
        rows(~tte["USUBJID"].isin(known), "USUBJID", "ADTTE subject is in ADSL", tte["USUBJID"]),
        rows(tte["DATE"].isna(), "ADT", "ADTTE date (ADT, or STARTDT + AVAL) present",
             pd.Series("<missing>", index=tte.index)),
    ])
    return tte, problems


def _fold_adtte(tte: pd.DataFrame, hsct_param: str | None) -> pd.DataFrame:
    """One row per subject (index USUBJID) with the contract's event dates."""
    ok = tte["CNSR"].notna() & tte["DATE"].notna() & ~tte.duplicated(["USUBJID", "PARAMCD"], keep=False)
    tte = tte[ok]
    by = {code: grp.set_index("USUBJID") for code, grp in tte.groupby("PARAMCD")}
    subjects = pd.Index(tte["USUBJID"].unique())
    out = pd.DataFrame(index=subjects)
    if "OS" in by:
        os_ = by["OS"].reindex(subjects)
        out["date_last_contact"] = os_["DATE"]
        out["date_death"] = os_["DATE"].where(os_["CNSR"] == 0)
    relapse = pd.Series(pd.NaT, index=subjects, dtype="datetime64[ns]")
    death = out["date_death"] if "date_death" in out else pd.Series(pd.NaT, index=subjects)
    for code in RELAPSE_PARAMS:
        if code not in by:
            continue
        p = by[code].reindex(subjects)
        named = p["EVNTDESC"].str.contains(_RELAPSE_WORDS, regex=True, na=False)
        other = p["EVNTDESC"].str.contains(_NOT_RELAPSE_WORDS, regex=True, na=False)
        blank = p["EVNTDESC"].fillna("").eq("")
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
