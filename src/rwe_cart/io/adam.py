"""Trial (ZUMA-3-style) loader: CDISC ADaM ADSL + ADTTE folded into the cohort contract."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..cohort import Cohort, build_cohort
from ..schema import (CONTRACT_COLUMNS, REQUIRED, RESPONSES_CR, CohortValidationError, is_missing, row_problems,
                      _to_float, clean_ids, coerce_bool, coerce_dates, file_problems, problems_frame, row_label)
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
ADRS_REQUIRED = ("USUBJID", "PARAMCD", "AVALC", "ADT")
# Best overall response from per-assessment responses: the first of these reached wins.
RESPONSE_ORDER = ("CR", "CRh", "CRi", "NR", "PD", "NE")


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


def load_adam(adsl: str | Path | pd.DataFrame, adtte: str | Path | pd.DataFrame,
              adrs: str | Path | pd.DataFrame | None = None, *,
              hsct_param: str | None = "TTHSCT", hsct_date_column: str | None = None,
              adsl_columns: Mapping[str, str] | None = None,
              response_params: Sequence[str] = ("OVRLRESP",), bor_param: str = "BOR",
              mrd_param: str = "MRD", response_values: Sequence[str] = RESPONSES_CR,
              mrd_negative_values: Sequence[str] = ("NEGATIVE",),
              errors: Literal["raise", "exclude"] = "raise", encoding: str | None = None) -> Cohort:
    """Load ADSL + ADTTE (+ ADRS) into a validated `Cohort` (time zero: TRTSDT, the infusion).

    Parameters
    ----------
    adsl, adtte : path or DataFrame
        CSV, SAS transport (.xpt) or .sas7bdat. ADSL: one row per subject (USUBJID, TRTSDT,
        and the variables of ``ADSL_COLUMNS``). ADTTE: USUBJID, PARAMCD, CNSR (0 = event,
        >= 1 = censored), and ADT or AVAL (days from STARTDT, or from TRTSDT when STARTDT
        is absent). Only an OS parameter is required.
    adrs : path or DataFrame, optional
        The response dataset: one record per subject, parameter and assessment, with
        USUBJID, PARAMCD, AVALC and ADT (AVISIT, when present, names the visit). It gives
        the response date, the best overall response and MRD status that ADSL does not
        give (see Notes).
    hsct_param : str or None
        PARAMCD of time to post-infusion allo-HSCT (CNSR 0 = transplanted on ADT).
    hsct_date_column : str, optional
        ADSL date column with the post-infusion HSCT date, instead of ``hsct_param``.
    adsl_columns : mapping, optional
        Extra or overriding ADSL variable -> contract column names. A contract date that
        ADSL gives this way is taken from ADSL, not from ADTTE.
    response_params : sequence of str
        ADRS PARAMCDs of the response at each assessment (default OVRLRESP).
    bor_param : str
        ADRS PARAMCD of the best overall response (one record per subject).
    mrd_param : str
        ADRS PARAMCD of the MRD assessments.
    response_values : sequence of str
        AVALC values that are a remission (default CR, CRi, CRh; compared ignoring case).
    mrd_negative_values : sequence of str
        AVALC values of an MRD-negative assessment (default NEGATIVE; ignoring case).
    errors : {"raise", "exclude"}
        As `load_registry`. Problems name ADSL variables (TRTSDT, not date_infusion) and
        ADTTE and ADRS variables; dates folded from ADTTE keep their contract names.

    Notes
    -----
    OS gives last contact (its ADT) and death (CNSR 0). The relapse date is the first
    event of PFS, else RFS, EFS or DOR, whose EVNTDESC names a relapse or progression; when
    EVNTDESC is blank, an event before the death date (or in a living patient) is taken as
    relapse. An RFS/EFS event at day 0 for a non-responder is not a relapse.

    Each of the response date, the best overall response and MRD status comes from the
    first source that has it at all:

    - response date (``date_response``): ADSL RSPDT, else ADRS (the first ADT on or after
      TRTSDT of a ``response_params`` record whose AVALC is one of ``response_values``),
      else the STARTDT of the ADTTE DOR parameter;
    - best overall response (``best_response``): ADSL BOR, else ADRS: the AVALC of the
      subject's ``bor_param`` record, or without one the best AVALC of the
      ``response_params`` records on or after TRTSDT, in the order CR, CRh, CRi, NR, PD,
      NE (a subject without such records has none);
    - MRD negativity (``mrd_negative``): ADSL MRDNEGFL, else ADRS: true when an
      ``mrd_param`` record's AVALC is one of ``mrd_negative_values``, false when the
      subject has ``mrd_param`` records and none is, missing without records.

    When ADSL and ADRS both give one of these, they must agree: a subject whose ADSL BOR,
    RSPDT or MRDNEGFL differs from what ADRS gives is a problem naming both values.

    **Unavailable inputs.** A contract column that no source provides at all — no RSPDT,
    no DOR parameter and no ADRS response record; no PFS, RFS, EFS or DOR parameter (relapse
    dates); no ``hsct_param`` parameter (HSCT dates); no ADSL variable for a baseline
    column — is listed in `Cohort.unavailable` with the reason, instead of failing every
    patient. Analyses that need it raise `UnavailableInputError` (DOR and the HSCT methods
    without response dates); the others run (OS, PFS, Kaplan–Meier, Cox, competing risks).
    A variable that exists but is empty for some subjects follows the contract's rules.

    Every other ADSL variable (TRT01A, TRT01P, population flags such as PHASE2FL or
    SAFFL, subgroup variables) is kept on ``Cohort.patients`` unchanged, so a trial can be
    analysed by arm, flag or subgroup directly.

    ADTTE rows are checked before folding: CNSR a whole number >= 0 (0 event, 1, 2, ...
    censored), one row per subject and PARAMCD, dates valid, AVAL a number of days from 0 to
    36525, every subject in ADSL, an OS row for every ADSL subject. ADRS records are checked
    too: USUBJID, PARAMCD and AVALC present, ADT a valid date, one record per subject,
    PARAMCD and visit (AVISIT, else ADT; one ``bor_param`` record per subject), not after
    the subject's death nor, for a living subject, after the last contact (both the ADTTE OS
    date), every subject in ADSL, and (when ADRS gives the best response)
    AVALC one of CR, CRi, CRh, NR, PD, NE. A row that fails is not used and its subject
    fails. With ``errors="exclude"`` a subject found only in ADTTE or ADRS (or a row
    without USUBJID, named ``"<ADTTE row i>"`` or ``"<ADRS row i>"``) counts as one more
    row read and is recorded in attrition: ``meta["n_input"]`` = ADSL rows + such subjects.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> adsl, adtte = rc.datasets.zuma3_like_adam()
    >>> sorted(adtte["PARAMCD"].unique())
    ['DOR', 'EFS', 'OS', 'PFS', 'RFS', 'TTHSCT', 'TTNT']
    >>> cohort = rc.load_adam(adsl, adtte)
    >>> len(cohort), int(cohort.patients["t_hsct"].notna().sum())
    (78, 20)
    """
    sl, sl_meta = read_adam(adsl, encoding=encoding)
    tte, tte_meta = read_adam(adtte, encoding=encoding)
    rs, rs_meta = read_adam(adrs, encoding=encoding) if adrs is not None else (None, {})
    sl, tte = sl.reset_index(drop=True), tte.reset_index(drop=True)
    mapping = {**ADSL_COLUMNS, **dict(adsl_columns or {})}
    if hsct_date_column is not None:
        mapping[hsct_date_column] = "date_hsct"
        hsct_param = None  # the ADSL date replaces the ADTTE parameter
    present = {k: v for k, v in mapping.items() if k in sl}
    renamed = pd.Index(sl.columns).map(lambda c: present.get(c, c))
    tables = [("ADSL", sl, ("USUBJID", "TRTSDT")), ("ADTTE", tte, ADTTE_REQUIRED)]
    if rs is not None:
        rs = rs.reset_index(drop=True)
        tables.append(("ADRS", rs, ADRS_REQUIRED))
    file_level = []
    for name, frame, need in tables:
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
    problems = [
        problems,
        file_problems([] if has_os else ["PARAMCD"], "ADTTE has OS rows (last contact, death)",
                      "<no OS row>"),
        row_problems(wide, no_os & has_os, "PARAMCD", "an ADTTE OS row for every ADSL subject",
                  pd.Series("<absent>", index=wide.index)),
    ]
    os_dates = events[["date_last_contact", "date_death"]]
    events = events.drop(columns=[c for c in events.columns if c in wide])  # ADSL, when mapped, wins
    wide = wide.merge(events, how="left", left_on="patient_id", right_index=True)
    rules = _AdrsRules(tuple(p.upper() for p in response_params), bor_param.upper(), mrd_param.upper(),
                       frozenset(v.upper() for v in response_values),
                       frozenset(v.upper() for v in mrd_negative_values))
    from_adrs: set[str] = set()
    if rs is not None:
        rs, adrs_problems = _clean_adrs(rs, infusion, os_dates, rules, bor_needed="best_response" not in wide)
        derived = _fold_adrs(rs, infusion, rules)
        problems += [adrs_problems, _adrs_conflicts(wide, derived, present)]
        for col in derived.columns:
            if col not in wide:
                wide[col] = wide["patient_id"].map(derived[col])
                from_adrs.add(col)
    params = set(tte["PARAMCD"].dropna())
    if ("date_response" not in wide or clean_ids(wide["date_response"]).isna().all()) and "DOR" in params:
        dor = tte[tte["ok"] & (tte["PARAMCD"] == "DOR")].set_index("USUBJID")["STARTDT"]
        wide["date_response"] = wide["patient_id"].map(dor)
    reasons = _unavailable_reasons(wide, mapping, params, hsct_param,
                                   hsct_date_column if hsct_date_column in sl else None,
                                   hsct_date_column is not None, rs is not None, rules)
    wide = wide.drop(columns=[c for c in reasons if c in wide])
    meta = {"source": f"ADSL: {sl_meta['source']}; ADTTE: {tte_meta['source']}",
            "sha256": {"adsl": sl_meta.get("sha256"), "adtte": tte_meta.get("sha256")},
            "hsct_param": hsct_param, "from_adrs": sorted(from_adrs)}
    if rs is not None:
        meta["source"] += f"; ADRS: {rs_meta['source']}"
        meta["sha256"]["adrs"] = rs_meta.get("sha256")
    names = {contract: variable for variable, contract in present.items() if variable != "USUBJID"}
    names["patient_id"] = "USUBJID"
    return build_cohort(wide, errors=errors, meta=meta, problems=problems_frame(problems), source_names=names,
                        unavailable=reasons)


@dataclass(frozen=True)
class _AdrsRules:
    """What `load_adam` reads from ADRS (PARAMCDs and AVALC values upper-cased)."""

    response_params: tuple[str, ...]
    bor_param: str
    mrd_param: str
    response_values: frozenset[str]
    mrd_negative_values: frozenset[str]

    @property
    def used(self) -> set[str]:
        return {*self.response_params, self.bor_param, self.mrd_param}


def _unavailable_reasons(wide: pd.DataFrame, mapping: Mapping[str, str], params: set[str],
                         hsct_param: str | None, hsct_column: str | None, hsct_from_adsl: bool, has_adrs: bool,
                         rules: _AdrsRules) -> dict[str, str]:
    """Contract columns no source gives at all -> why, and how to supply them.

    ``hsct_column``: the ADSL HSCT date variable when ADSL has it; ``hsct_from_adsl``: one
    was named (``hsct_date_column=``), so ADTTE is not read for HSCT.
    """
    out = {col: f"ADSL has no {var} variable (add it, or name yours with adsl_columns=)"
           for var, col in mapping.items() if col not in wide and col not in REQUIRED}
    adrs = "no ADRS was given" if not has_adrs else "ADRS has no {} record"
    if "date_response" not in wide:
        out["date_response"] = (
            f"ADSL has no RSPDT, ADTTE has no DOR parameter and {adrs.format('/'.join(rules.response_params))}; "
            "give ADSL RSPDT, a DOR parameter in ADTTE, or ADRS (load_adam(..., adrs=...))")
    if "best_response" not in wide:
        codes = "/".join((rules.bor_param,) + rules.response_params)
        out["best_response"] = (f"ADSL has no BOR and {adrs.format(codes)}; give ADSL BOR or ADRS "
                                "(load_adam(..., adrs=...))")
    if "mrd_negative" not in wide:
        out["mrd_negative"] = (f"ADSL has no MRDNEGFL and {adrs.format(rules.mrd_param)}; give ADSL MRDNEGFL "
                               "or ADRS MRD records (load_adam(..., adrs=..., mrd_param=...))")
    if not params & set(RELAPSE_PARAMS):
        out["date_relapse"] = (f"ADTTE has none of the parameters {', '.join(RELAPSE_PARAMS)}; give one "
                               "of them (PFS: EVNTDESC naming relapse or progression)")
    if hsct_from_adsl and hsct_column is None:
        hsct_var = next(var for var, col in mapping.items() if col == "date_hsct")
        out["date_hsct"] = f"ADSL has no {hsct_var} variable (named by hsct_date_column=)"
    elif not hsct_from_adsl and (hsct_param is None or hsct_param.upper() not in params):
        out["date_hsct"] = (f"ADTTE has no {hsct_param or 'HSCT'} parameter; give time to allo-HSCT in ADTTE "
                            "(hsct_param=) or an ADSL HSCT date (hsct_date_column=)")
    if "TTNT" not in params:
        out["date_next_therapy"] = "ADTTE has no TTNT parameter (time to next therapy)"
    for col in CONTRACT_COLUMNS:
        if col not in wide and col not in out and col not in REQUIRED:
            out[col] = f"ADSL has no variable for {col} (name one with adsl_columns=)"
    return out


def _clean_adrs(rs: pd.DataFrame, infusion: pd.Series, os_dates: pd.DataFrame, rules: _AdrsRules, *,
                bor_needed: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed ADRS (USUBJID, PARAMCD, AVALC, ADT, ok) and the problems of its records.

    ``infusion``: TRTSDT by (clean) USUBJID; ``os_dates``: date_last_contact and date_death
    from ADTTE OS, by USUBJID.
    """
    ids = clean_ids(rs["USUBJID"])
    labels = ids.where(ids.notna(), pd.Series([row_label(i, "ADRS") for i in rs.index], index=rs.index))
    named = rs.assign(patient_id=labels)
    param = clean_ids(rs["PARAMCD"]).map(lambda v: v if v is None else v.upper())
    used = param.isin(rules.used)
    dated = used & (param != rules.bor_param)
    avalc = clean_ids(rs["AVALC"])
    canonical = {v.upper(): v for v in RESPONSE_ORDER}
    avalc = avalc.map(lambda v: canonical.get(v.upper(), v) if v is not None else None)
    adt, date_problems, _ = coerce_dates(named, "ADT", date_format=None, partial_dates=None)
    bad_date = clean_ids(named["ADT"]).notna() & adt.isna()
    no_date = dated & adt.isna() & ~bad_date
    if "AVISIT" in rs:
        visit = clean_ids(rs["AVISIT"]).fillna(adt.dt.strftime("%Y-%m-%d"))
    else:
        visit = adt.dt.strftime("%Y-%m-%d")
    keys = pd.DataFrame({"id": ids, "param": param, "visit": visit.where(param != rules.bor_param, "")})
    dup = used & ids.notna() & keys.duplicated(keep=False)
    orphan = ids.notna() & ~ids.isin(set(infusion.index))
    death = ids.map(os_dates["date_death"]).astype("datetime64[ns]")
    last = ids.map(os_dates["date_last_contact"]).astype("datetime64[ns]")
    after_death = used & (adt > death)
    # alive at the OS date: an assessment after it contradicts "last known alive"
    after_last = used & death.isna() & (adt > last)
    ranked = param.isin({*rules.response_params, rules.bor_param})
    unranked = (bor_needed & used & ranked & avalc.notna() & ~avalc.isin(RESPONSE_ORDER))
    problems = problems_frame([
        row_problems(named, ids.isna(), "USUBJID", "required (missing value)", ids),
        row_problems(named, param.isna(), "PARAMCD", "required (missing value)", param),
        row_problems(named, used & avalc.isna(), "AVALC", "required (missing value)", avalc),
        date_problems[date_problems["patient_id"].isin(set(labels[used | param.isna()]))],
        row_problems(named, no_date, "ADT", "ADRS date (ADT) present for an assessment",
                  pd.Series("<missing>", index=rs.index)),
        row_problems(named, dup, "PARAMCD",
                  f"one ADRS record per subject, PARAMCD and visit ({'AVISIT' if 'AVISIT' in rs else 'ADT'}; "
                  f"one {rules.bor_param} record per subject)", param + " " + visit.fillna("")),
        row_problems(named, orphan, "USUBJID", "ADRS subject is in ADSL", ids),
        row_problems(named, after_death, "ADT", "ADRS assessment not after death (ADTTE OS date)", adt),
        row_problems(named, after_last, "ADT", "ADRS assessment on or before last contact (ADTTE OS date)", adt),
        row_problems(named, unranked, "AVALC", f"one of {', '.join(RESPONSE_ORDER)} (ADRS gives the best "
                  "overall response)", avalc),
    ])
    bad = (ids.isna() | param.isna() | (used & avalc.isna()) | (used & bad_date) | no_date | dup | orphan
           | after_death | after_last | unranked)
    out = pd.DataFrame({"USUBJID": ids, "PARAMCD": param, "AVALC": avalc, "ADT": adt, "ok": ~bad},
                       index=rs.index)
    return out, problems


def _fold_adrs(rs: pd.DataFrame, infusion: pd.Series, rules: _AdrsRules) -> pd.DataFrame:
    """Per subject (index USUBJID): date_response, best_response, mrd_negative from valid
    records; a column only when ADRS has records of its parameter(s)."""
    ok = rs[rs["ok"]]
    upper = ok["AVALC"].str.upper()
    after = ok["ADT"] >= _lookup(infusion, ok["USUBJID"])
    out = {}
    has = set(rs["PARAMCD"].dropna())
    visits = ok["PARAMCD"].isin(rules.response_params) & after
    if has & set(rules.response_params):
        remission = visits & upper.isin(rules.response_values)
        out["date_response"] = ok[remission].groupby("USUBJID")["ADT"].min()
    if has & {*rules.response_params, rules.bor_param}:
        rank = ok["AVALC"].map({v: i for i, v in enumerate(RESPONSE_ORDER)})
        best = rank[visits & rank.notna()].groupby(ok["USUBJID"]).min().map(dict(enumerate(RESPONSE_ORDER)))
        bor = ok[ok["PARAMCD"] == rules.bor_param].set_index("USUBJID")["AVALC"]
        out["best_response"] = bor.combine_first(best).astype(object)
    if rules.mrd_param in has:
        mrd = ok["PARAMCD"].eq(rules.mrd_param) & after
        out["mrd_negative"] = upper[mrd].isin(rules.mrd_negative_values).groupby(ok.loc[mrd, "USUBJID"]).any()
    subjects = pd.Index(ok["USUBJID"].unique())
    return pd.DataFrame({k: v.reindex(subjects) for k, v in out.items()}, index=subjects)


# What ADRS gives -> the ADSL variable that, when present, gives it instead.
_ADSL_OF = {"best_response": "BOR", "date_response": "RSPDT", "mrd_negative": "MRDNEGFL"}


def _adrs_conflicts(wide: pd.DataFrame, derived: pd.DataFrame, present: Mapping[str, str]) -> pd.DataFrame:
    """Subjects whose ADSL BOR, RSPDT or MRDNEGFL differs from what ADRS gives."""
    found = []
    by_contract = {col: var for var, col in present.items()}
    canonical = {v.upper(): v for v in RESPONSE_ORDER}
    for col in derived.columns:
        var = by_contract.get(col)
        if var is None:
            continue
        theirs = wide["patient_id"].map(derived[col])
        if col == "date_response":
            ours, _, _ = coerce_dates(wide, col, date_format=None, partial_dates=None)
        elif col == "mrd_negative":
            ours, _ = coerce_bool(wide, col)
            theirs = theirs.astype("boolean")
        else:
            ours = clean_ids(wide[col]).map(lambda v: None if v is None else canonical.get(v.upper(), v))
        values = "ADSL " + _as_adam(ours) + "; ADRS " + _as_adam(theirs)
        found.append(row_problems(wide, _flag_differ(ours, theirs), var, f"ADSL {var} agrees with ADRS", values))
    return problems_frame(found)


def _as_adam(values: pd.Series) -> pd.Series:
    """Values as ADaM writes them: dates YYYY-MM-DD, flags Y/N."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").astype(str)
    if pd.api.types.is_bool_dtype(values):
        return values.map({True: "Y", False: "N"}).astype(str)
    return values.astype(str)


def _flag_differ(a: pd.Series, b: pd.Series) -> pd.Series:
    """Both known and not equal (missing on either side is no conflict)."""
    both = a.notna().to_numpy() & b.notna().to_numpy()
    out = np.zeros(len(a), dtype=bool)
    out[both] = a.to_numpy(dtype=object)[both] != b.to_numpy(dtype=object)[both]
    return pd.Series(out, index=a.index)


def _death_cause(value: object) -> object:
    """DTHCAUS in controlled terminology -> the contract's cause; anything else unchanged."""
    if is_missing(value):
        return None
    text = str(value).strip()
    return DEATH_CAUSES.get(text.upper(), text) if text else None


def _lookup(dates: pd.Series, ids: pd.Series) -> pd.Series:
    """Each id's date (NaT for an unknown or missing id), aligned with `ids`. Series.map
    would do, but pandas 3 casts an all-missing `ids` lookup table to float and fails."""
    found = dates.reindex(ids.to_numpy())
    return pd.Series(found.to_numpy(dtype="datetime64[ns]"), index=ids.index)


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
        row_problems(named, ids.isna(), "USUBJID", "required (missing value)", ids),
        row_problems(named, param.isna(), "PARAMCD", "required (missing value)", param),
        row_problems(named, bad_cnsr, "CNSR", "ADTTE CNSR is 0 (event) or a whole number >= 1 (censored)",
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
    start = dates["STARTDT"].fillna(_lookup(infusion, ids)).astype("datetime64[ns]")
    date = dates["ADT"]
    if "AVAL" in tte:
        aval = _to_float(tte["AVAL"].map(lambda v: v.strip() if isinstance(v, str) else v))
        given = clean_ids(tte["AVAL"]).notna()
        wrong = given & (aval.isna() | ~np.isfinite(aval) | (aval < 0) | (aval > AVAL_MAX))
        problems.append(row_problems(named, wrong, "AVAL", f"ADTTE AVAL a number of days from 0 to {AVAL_MAX}",
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
        row_problems(named, dup, "PARAMCD", "one ADTTE row per subject and PARAMCD", param),
        row_problems(named, orphan, "USUBJID", "ADTTE subject is in ADSL", ids),
        row_problems(named, missing_date, "ADT", "ADTTE date (ADT, or STARTDT + AVAL) present",
                  pd.Series("<missing>", index=tte.index)),
    ]
    out = pd.DataFrame({
        "USUBJID": ids, "PARAMCD": param, "CNSR": cnsr, "STARTDT": start, "DATE": date.dt.normalize(),
        "EVNTDESC": desc.map(lambda v: "" if is_missing(v) else str(v).strip().upper()),
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
