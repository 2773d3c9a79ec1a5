"""ZUMA-3-like trial cohort as CDISC ADaM (ADSL + ADTTE), calibrated to the published trial.

Targets (phase 1 + 2 patients treated at the pivotal dose): 78 treated, 55 of them in
phase 2; CR/CRi 57 (73%), 39 of 55 (71%) in phase 2; 14 responders consolidated with
allo-HSCT in remission and 43 not; about 30% transplant-related mortality among the 14;
median OS 25.6 months; median RFS 11-12 months in phase 2 (non-responders have an event at
day 0); median follow-up (reverse Kaplan-Meier) 41.6 months. See data/synthetic/README.md.

References
----------
.. [1] Shah BD, Ghobadi A, Oluwole OO, et al. KTE-X19 for relapsed or refractory adult
       B-cell acute lymphoblastic leukaemia: phase 2 results of the single-arm, open-label,
       multicentre ZUMA-3 study. Lancet. 2021;398:491-502.
.. [2] Shah BD, Cassaday RD, Park JH, et al. Three-year analysis of adult patients with
       relapsed or refractory B-cell acute lymphoblastic leukemia treated with
       brexucabtagene autoleucel in ZUMA-3. Leukemia. 2025.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd

from .model import ModelParams, PiecewiseHazard, Stratum, Truth, simulate

N = 78
N_PHASE2 = 55
N_RESPONDERS = 57
N_RESPONDERS_PHASE2 = 39
N_CONSOLIDATIVE_HSCT = 14
DEFAULT_SEED = 476  # chosen by calibration (see data/synthetic/README.md)
STUDYID = "ZUMA3-LIKE"
# Every subject of the model is treated at the pivotal dose.
TREATMENT = "KTE-X19 1x10^6 cells/kg"

PARAMS = ModelParams(
    name="zuma3_like",
    id_prefix="Z3-",
    strata=(
        Stratum("phase 1", (N - N_PHASE2) / N, (N_RESPONDERS - N_RESPONDERS_PHASE2) / (N - N_PHASE2),
                "2021-01-04", "2021-08-31"),
        Stratum("phase 2", N_PHASE2 / N, N_RESPONDERS_PHASE2 / N_PHASE2, "2021-09-01", "2022-08-31"),
    ),
    data_cutoff="2025-06-30",
    age_mean=42.0, age_sd=14.0, age_min=18.0, age_max=84.0,
    p_female=0.42, p_prior_hsct=0.42, p_extramedullary=0.10, p_ph_positive=0.27,
    p_prior_blinatumomab=0.45, p_prior_inotuzumab=0.22, p_low_blasts=0.0,
    blasts_beta=(1.5, 1.0), prior_lines_extra=0.8,
    crs_probs=(0.11, 0.35, 0.30, 0.19, 0.05),
    icans_probs=(0.40, 0.15, 0.20, 0.19, 0.06),
    cri_share=0.20, mrd_negative_share=0.97,
    ne_share=0.15, pd_share=0.25,
    relapse=PiecewiseHazard((0, 60, 120, 180, 270, 365, 540, 730, 1095),
                            (0.00025, 0.00043, 0.00053, 0.0006, 0.0006, 0.00055, 0.00045, 0.0003,
                             0.00015)),
    nrm=PiecewiseHazard((0, 90, 180, 365), (0.0004, 0.0002, 0.0001, 0.00005)),
    hsct=PiecewiseHazard((0, 40, 120, 200, 300), (0.0, 0.0033, 0.0020, 0.00065, 0.0)),
    hsct_mrd_neg=0.0,
    hsct_hr=0.6,
    trm=PiecewiseHazard((0, 100, 365), (0.0015, 0.00035, 0.0001)),
    post_relapse_death=PiecewiseHazard((0, 90, 180, 365, 730), (0.0046, 0.0036, 0.0023, 0.0012, 0.0006)),
    salvage_hsct_share=0.15, next_therapy_share=0.85, unknown_cause_share=0.0,
    last_contact_lag_mean=0.0, dropout_rate=0.0001,
)


def simulate_zuma3(seed: int = DEFAULT_SEED, *, n: int = N, params: ModelParams = PARAMS,
                   exact_hsct: bool = True) -> tuple[pd.DataFrame, Truth]:
    """ZUMA-3-like cohort in registry form (with a ``stratum`` column: phase 1 / phase 2).

    With ``exact_hsct`` (default) the draw is conditioned on exactly round(14 n / 78)
    consolidative HSCTs in remission.
    """
    count = round(N_CONSOLIDATIVE_HSCT * n / N) if exact_hsct else None
    return simulate(params, n, seed, hsct_count=count)


def with_hsct_effect(hsct_hr: float, *, params: ModelParams = PARAMS, **changes) -> ModelParams:
    """The ZUMA-3-like parameters with another true relapse hazard ratio of HSCT."""
    return replace(params, hsct_hr=float(hsct_hr), **changes)


# --------------------------------------------------------------------------- ADaM
ADSL_LABELS = {
    "STUDYID": "Study Identifier",
    "USUBJID": "Unique Subject Identifier",
    "SUBJID": "Subject Identifier for the Study",
    "PHASE2FL": "Phase 2 Population Flag",
    "SAFFL": "Safety Population Flag",
    "TRT01P": "Planned Treatment for Period 01",
    "TRT01A": "Actual Treatment for Period 01",
    "TRTSDT": "Date of KTE-X19 Infusion",
    "APHDT": "Date of Leukapheresis",
    "AGE": "Age at Infusion",
    "AGEU": "Age Units",
    "SEX": "Sex",
    "PRHSCTFL": "Prior Allogeneic SCT Flag",
    "EXMDFL": "Extramedullary Disease Flag",
    "BLASTPCT": "Bone Marrow Blasts (%) Pre-Conditioning",
    "PHFL": "Philadelphia Chromosome Positive Flag",
    "PRLINES": "Number of Prior Lines of Therapy",
    "PRBLINFL": "Prior Blinatumomab Flag",
    "PRINOFL": "Prior Inotuzumab Ozogamicin Flag",
    "BOR": "Best Overall Response",
    "RSPDT": "Date of First CR/CRi",
    "MRDNEGFL": "MRD-Negative Remission Flag",
    "CRSGR": "Worst CRS Grade (ASTCT)",
    "ICANSGR": "Worst ICANS Grade (ASTCT)",
    "DTHDT": "Date of Death",
    "DTHCAUS": "Cause of Death",
    "LSTALVDT": "Date Last Known Alive",
}
ADTTE_LABELS = {
    "STUDYID": "Study Identifier",
    "USUBJID": "Unique Subject Identifier",
    "PARAMCD": "Parameter Code",
    "PARAM": "Parameter",
    "AVAL": "Analysis Value (days)",
    "CNSR": "Censor (0 = event, 1 = censored)",
    "STARTDT": "Time-to-Event Origin Date",
    "ADT": "Analysis Date",
    "EVNTDESC": "Event or Censoring Description",
}
PARAMS_ADTTE = {
    "OS": "Overall Survival (days)",
    "PFS": "Progression-Free Survival (days)",
    "RFS": "Relapse-Free Survival (days)",
    "EFS": "Event-Free Survival (days)",
    "DOR": "Duration of Remission (days)",
    "TTHSCT": "Time to Allogeneic SCT After Infusion (days)",
    "TTNT": "Time to Next Anti-Leukemic Therapy (days)",
}


def _yn(x: pd.Series) -> pd.Series:
    return pd.Series(np.where(x.astype(bool), "Y", "N"), index=x.index, dtype=object)


def to_adam(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ADSL and ADTTE (dates as datetime64) from a ZUMA-3-like frame in registry form."""
    f = frame.reset_index(drop=True)
    responder = f["best_response"].isin(["CR", "CRi", "CRh"])
    mrd = f["mrd_negative"].astype("boolean")
    dead = f["date_death"].notna()
    adsl = pd.DataFrame({
        "STUDYID": STUDYID,
        "USUBJID": f["patient_id"].astype(str),
        "SUBJID": f["patient_id"].str.split("-").str[-1],
        "PHASE2FL": _yn(f["stratum"].eq("phase 2")),
        "SAFFL": "Y",
        "TRT01P": TREATMENT,
        "TRT01A": TREATMENT,
        "TRTSDT": f["date_infusion"],
        "APHDT": f["date_apheresis"],
        "AGE": f["age"].round().astype("int64"),
        "AGEU": "YEARS",
        "SEX": f["sex"].astype(str),
        "PRHSCTFL": _yn(f["prior_hsct"]),
        "EXMDFL": _yn(f["extramedullary"]),
        "BLASTPCT": f["marrow_blasts_pct"].astype(float),
        "PHFL": _yn(f["ph_positive"]),
        "PRLINES": f["prior_lines"].astype("int64"),
        "PRBLINFL": _yn(f["prior_blinatumomab"]),
        "PRINOFL": _yn(f["prior_inotuzumab"]),
        "BOR": f["best_response"].astype(str),
        "RSPDT": f["date_response"],
        "MRDNEGFL": pd.Series(np.where(mrd.fillna(False).to_numpy(bool), "Y", "N"),
                              dtype=object).where(responder, ""),
        "CRSGR": f["crs_grade"].astype("int64"),
        "ICANSGR": f["icans_grade"].astype("int64"),
        "DTHDT": f["date_death"],
        "DTHCAUS": f["death_cause"].fillna("").astype(str).str.upper(),
        "LSTALVDT": f["date_last_contact"],
    })
    adsl["DTHCAUS"] = adsl["DTHCAUS"].where(dead, "")

    last, death, relapse = f["date_last_contact"], f["date_death"], f["date_relapse"]
    start = f["date_infusion"]

    def param(code: str, origin: pd.Series, event_date: pd.Series, desc: pd.Series,
              keep: pd.Series | None = None) -> pd.DataFrame:
        event = event_date.notna()
        adt = event_date.where(event, last)
        rows = pd.DataFrame({
            "STUDYID": STUDYID, "USUBJID": adsl["USUBJID"], "PARAMCD": code,
            "PARAM": PARAMS_ADTTE[code],
            "AVAL": (adt - origin).dt.days,
            "CNSR": np.where(event, 0, 1).astype("int64"),
            "STARTDT": origin, "ADT": adt,
            "EVNTDESC": desc.where(event, "LAST KNOWN ALIVE").astype(object),
        })
        rows = rows if keep is None else rows[keep.to_numpy()]
        return rows.astype({"AVAL": "int64"})

    first_prog = relapse.where(relapse.notna() & (death.isna() | (relapse <= death)), death)
    prog_word = pd.Series(np.where(responder, "RELAPSE", "PROGRESSIVE DISEASE"), dtype=object)
    prog_desc = pd.Series(np.where(relapse.notna(), prog_word, "DEATH"), dtype=object)
    # RFS / EFS: a non-responder has an event at day 0 (ZUMA-3 convention)
    rfs_date = first_prog.where(responder, start)
    rfs_desc = prog_desc.where(responder, "NO RESPONSE")
    tthsct = param("TTHSCT", start, f["date_hsct"], pd.Series("ALLO-HSCT", index=f.index))
    tthsct["EVNTDESC"] = tthsct["EVNTDESC"].replace("LAST KNOWN ALIVE", "NO ALLO-HSCT")
    ttnt = param("TTNT", start, f["date_next_therapy"], pd.Series("NEXT THERAPY", index=f.index))
    ttnt["EVNTDESC"] = ttnt["EVNTDESC"].replace("LAST KNOWN ALIVE", "NO NEXT THERAPY")
    parts = [
        param("OS", start, death, pd.Series("DEATH", index=f.index)),
        param("PFS", start, first_prog, prog_desc),
        param("RFS", start, rfs_date, rfs_desc),
        param("EFS", start, rfs_date, rfs_desc),
        param("DOR", f["date_response"], first_prog, prog_desc, keep=responder),
        tthsct,
        ttnt,
    ]
    order = {code: i for i, code in enumerate(PARAMS_ADTTE)}
    adtte = pd.concat(parts, ignore_index=True)
    adtte = (adtte.assign(_o=adtte["PARAMCD"].map(order))
             .sort_values(["USUBJID", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True))
    return adsl, adtte


ADRS_LABELS = {
    "STUDYID": "Study Identifier",
    "USUBJID": "Unique Subject Identifier",
    "PARAMCD": "Parameter Code",
    "PARAM": "Parameter",
    "AVISIT": "Analysis Visit",
    "ADT": "Analysis Date",
    "ADY": "Analysis Relative Day",
    "AVALC": "Analysis Value (C)",
}
PARAMS_ADRS = {
    "OVRLRESP": "Overall Response by Investigator",
    "BOR": "Best Overall Response by Investigator",
    "MRD": "Minimal Residual Disease Status",
}
# A responder whose response came after this day had an assessment without remission on it.
FIRST_ASSESSMENT_DAY = 28


def to_adrs(frame: pd.DataFrame) -> pd.DataFrame:
    """ADRS (dates as datetime64) from a ZUMA-3-like frame in registry form.

    OVRLRESP: the response (CR/CRi) on the response date, preceded by NR on day 28 when
    the response came later; NR or PD on the treatment-failure date of a non-responder; PD on the
    relapse date of a responder. BOR: one record per subject (on the response or failure
    date; no date for NE). MRD: NEGATIVE or POSITIVE on the response date of a responder.
    `rc.load_adam` with this ADRS (and no RSPDT, BOR or MRDNEGFL in ADSL) gives the same
    response dates, best responses and MRD status as the registry form.
    """
    f = frame.reset_index(drop=True)
    ids, start = f["patient_id"].astype(str), f["date_infusion"]
    best, resp, relapse = f["best_response"].astype(str), f["date_response"], f["date_relapse"]
    responder = best.isin(["CR", "CRi", "CRh"])
    day28 = start + pd.Timedelta(days=FIRST_ASSESSMENT_DAY)
    failure = relapse.where(~responder)
    bor_date = resp.where(responder, failure)

    def records(code: str, keep: pd.Series, date: pd.Series, value: pd.Series) -> pd.DataFrame:
        k = keep.to_numpy(dtype=bool)
        return pd.DataFrame({"USUBJID": ids[k], "PARAMCD": code, "ADT": date[k],
                             "AVALC": value[k].astype(object), "_o": len(PARAMS_ADRS)}).assign(
            _o=list(PARAMS_ADRS).index(code))

    mrd = f["mrd_negative"].astype("boolean")
    parts = [
        records("OVRLRESP", responder & (resp > day28), day28, pd.Series("NR", index=f.index)),
        records("OVRLRESP", responder, resp, best),
        records("OVRLRESP", ~responder & failure.notna(), failure, best),
        records("OVRLRESP", responder & relapse.notna(), relapse, pd.Series("PD", index=f.index)),
        records("BOR", pd.Series(True, index=f.index), bor_date, best),
        records("MRD", responder & mrd.notna().to_numpy(), resp,
                pd.Series(np.where(mrd.fillna(False).to_numpy(bool), "NEGATIVE", "POSITIVE"), index=f.index)),
    ]
    adrs = pd.concat(parts, ignore_index=True)
    adrs["ADT"] = adrs["ADT"].astype("datetime64[ns]")
    adrs = adrs.sort_values(["USUBJID", "_o", "ADT"], kind="stable").reset_index(drop=True)
    trt = adrs["USUBJID"].map(dict(zip(ids, start)))
    ady = (adrs["ADT"] - trt).dt.days
    return pd.DataFrame({
        "STUDYID": STUDYID, "USUBJID": adrs["USUBJID"], "PARAMCD": adrs["PARAMCD"],
        "PARAM": adrs["PARAMCD"].map(PARAMS_ADRS),
        "AVISIT": ("DAY " + ady.astype("Int64").astype(str)).where(ady.notna() & (adrs["PARAMCD"] != "BOR"), ""),
        "ADT": adrs["ADT"], "ADY": ady.astype(float), "AVALC": adrs["AVALC"],
    })


def date_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]


def for_xport(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates as ``datetime.date`` (written as SAS dates, DATE9.), missing as None."""
    out = frame.copy()
    for col in date_columns(frame):
        out[col] = pd.Series([None if pd.isna(v) else dt.date(v.year, v.month, v.day)
                              for v in frame[col]], index=frame.index, dtype=object)
    return out


__all__ = ["PARAMS", "DEFAULT_SEED", "N", "simulate_zuma3", "with_hsct_effect", "to_adam", "to_adrs",
           "for_xport", "ADSL_LABELS", "ADTTE_LABELS", "ADRS_LABELS"]
