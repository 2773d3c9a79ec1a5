"""Synthetic laboratory series after CAR-T: blood counts and circulating CAR-T cells.

Long tables in the lab form of docs/data-contract.md: ``patient_id, day, test, value, unit`` with tests
``anc``, ``alc``, ``wbc`` (cells/µL), ``plt`` (cells/µL), ``hb`` (g/dL) and ``car_t``
(CAR-T cells/µL), at the schedule `SCHEDULE` (days 0, 3, 7, 10, 14, 21, 28, then months 2,
3, 6, 9 and 12) until last contact. No real patient is in them.

The kinetics are a documented caricature, not a fitted model:

* **CAR-T cells**: log-linear expansion from 0.5/µL at day 0 to a peak on days 7-14 (peak
  median ~40/µL, higher with CRS grade, lower in non-responders), then a biphasic decline
  (a fast contraction with half-life 3-6 days and a slow persistence phase with half-life
  2-12 months); values below the detection limit 0.05/µL are reported at the limit.
* **Neutrophils** follow one of the three recovery phenotypes of Rejeski et al. (Blood
  2021): *quick* recovery after the lymphodepletion nadir (days 5-8), *intermittent*
  (biphasic: recovery by days 11-15, a second dip on days 21-28, recovery by months 2-3),
  or *aplastic* (ANC stays near the nadir for 6 weeks to 7 months; some never recover within
  a year). The phenotype follows a latent severity that is higher with CRS grade >= 3 and a
  low baseline platelet count. Shares: quick ~30%, intermittent ~50%, aplastic ~20%.
* **Platelets** and **haemoglobin** fall to a nadir on days 7-14 and recover over months,
  more slowly in aplastic patients; lymphocytes are depleted at day 0, rise with the CAR-T
  expansion and recover slowly. Leukocytes = neutrophils + lymphocytes + monocytes.
* Log-normal measurement noise; everything vectorised over patients (no Python loop).

`case_report_patient` is one bundled patient who follows the published values of the
brexucabtagene autoleucel case report (Recenti Progressi in Medicina 2026;117(1):e24).

Regenerate the bundled files with `write_labs` (called by ``make data``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CASE_REPORT_ID",
    "CASE_REPORT_PUBLISHED",
    "FILES",
    "SCHEDULE",
    "CaseReport",
    "bundled_labs",
    "case_report_patient",
    "simulate_labs",
    "write_labs",
]

MONTH = 30.4375
#: Scheduled lab days: days 0, 3, 7, 10, 14, 21, 28, then months 2, 3, 6, 9, 12 (rounded).
SCHEDULE: tuple[int, ...] = (0, 3, 7, 10, 14, 21, 28, 61, 91, 183, 274, 365)
UNITS = {"anc": "/µL", "alc": "/µL", "wbc": "/µL", "plt": "/µL", "hb": "g/dL", "car_t": "/µL"}
TESTS = ("anc", "alc", "wbc", "plt", "hb", "car_t")
CAR_T_LOD = 0.05  # cells/µL
LAB_STREAM = 5130  # second entropy word: lab draws never share the cohort's random stream
FILES = ("rocca_like_labs.csv", "zuma3_like_labs.csv", "case_report_labs.csv", "case_report_baseline.csv")


# --------------------------------------------------------------------------- helpers
def _piecewise(t: np.ndarray, knot_days: np.ndarray, knot_values: np.ndarray) -> np.ndarray:
    """Per-row linear interpolation: rows of knots (n, k), times (m,) -> (n, m); constant
    beyond the last knot."""
    n, k = knot_days.shape
    idx = (knot_days[:, :, None] <= t[None, None, :]).sum(axis=1) - 1  # (n, m)
    idx = np.clip(idx, 0, k - 2)
    rows = np.arange(n)[:, None]
    d0, d1 = knot_days[rows, idx], knot_days[rows, idx + 1]
    v0, v1 = knot_values[rows, idx], knot_values[rows, idx + 1]
    w = np.clip((t[None, :] - d0) / np.maximum(d1 - d0, 1e-9), 0.0, 1.0)
    return v0 + w * (v1 - v0)


def _increasing(days: np.ndarray, gap: float = 1.0) -> np.ndarray:
    """Make each row of knot days strictly increasing (at least ``gap`` apart)."""
    out = days.astype("float64").copy()
    for j in range(1, out.shape[1]):  # loop over knots (a handful), not patients
        out[:, j] = np.maximum(out[:, j], out[:, j - 1] + gap)
    return out


def _signif(x: np.ndarray, digits: int = 3) -> np.ndarray:
    x = np.asarray(x, dtype="float64")
    safe = np.where(x > 0, x, 1.0)
    e = np.floor(np.log10(safe)) - (digits - 1)
    return np.where(x > 0, np.round(np.round(x / 10.0**e) * 10.0**e, 6), x)


def _follow_up(patients: pd.DataFrame) -> np.ndarray:
    if "t_last" in patients:
        return patients["t_last"].to_numpy(dtype="float64")
    missing = [c for c in ("date_infusion", "date_last_contact") if c not in patients]
    if missing:
        raise ValueError(f"patients need 't_last' or the dates {missing}")
    days = pd.to_datetime(patients["date_last_contact"]) - pd.to_datetime(patients["date_infusion"])
    return days.dt.days.to_numpy(dtype="float64")


def _column(patients: pd.DataFrame, name: str, default: float) -> np.ndarray:
    if name not in patients:
        return np.full(len(patients), default, dtype="float64")
    x = pd.to_numeric(patients[name], errors="coerce").to_numpy(dtype="float64")
    return np.where(np.isnan(x), default, x)


# --------------------------------------------------------------------------- cohort series
def simulate_labs(patients: Any, seed: int, *, schedule: tuple[int, ...] = SCHEDULE,
                  return_phenotype: bool = False) -> pd.DataFrame | tuple[pd.DataFrame, pd.Series]:
    """Synthetic long lab table for a cohort (deterministic for a given seed).

    Parameters
    ----------
    patients : DataFrame or Cohort
        One row per patient: ``patient_id``, follow-up (``t_last`` in days, or
        ``date_infusion`` and ``date_last_contact``), and, when present, the baseline labs
        ``anc``, ``plt`` (10⁹/L), ``hb`` (g/dL), ``crs_grade`` and ``best_response``.
    seed : int
        Generator seed; the same patients and seed give the same table.
    schedule : tuple of int
        Lab days; measurements after last contact are not generated.
    return_phenotype : bool
        Also return each patient's neutrophil recovery phenotype (a Series indexed by
        patient_id: "quick", "intermittent" or "aplastic").

    Returns
    -------
    DataFrame, or (DataFrame, Series)
        patient_id, day, test, value, unit; sorted by patient, test, day.
    """
    patients = patients.patients if hasattr(patients, "patients") else patients
    n = len(patients)
    t = np.asarray(schedule, dtype="float64")
    m = len(t)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), LAB_STREAM]))
    t_last = _follow_up(patients)
    anc0 = np.clip(_column(patients, "anc", 1.6) * 1000.0, 300.0, 8000.0)
    plt0 = np.clip(_column(patients, "plt", 120.0) * 1000.0, 8000.0, 450_000.0)
    hb0 = np.clip(_column(patients, "hb", 10.5), 6.5, 16.0)
    crs = _column(patients, "crs_grade", 1.0)
    responder = (patients["best_response"].isin(["CR", "CRi", "CRh"]).to_numpy()
                 if "best_response" in patients else np.ones(n, dtype=bool))

    # ---- neutrophil phenotype from a latent severity (fixed order of draws)
    z = rng.standard_normal(n) + 0.8 * (crs >= 3) + 0.6 * (plt0 < 75_000) + 0.3 * (plt0 < 30_000)
    cut_quick, cut_aplastic = np.quantile(z, [0.30, 0.80]) if n else (0.0, 0.0)
    phenotype = np.where(z <= cut_quick, 0, np.where(z > cut_aplastic, 2, 1))  # 0 quick, 1 interm., 2 aplastic
    u = rng.random((n, 12))
    g = rng.standard_normal((n, 8))

    # ---- ANC (cells/µL): knots in log space
    b0 = anc0 * (0.3 + 0.5 * u[:, 0])                      # day 0, after lymphodepletion
    t_nadir = 5.0 + np.floor(4 * u[:, 1])                    # days 5-8
    nadir = np.clip(np.exp(np.log(60.0) + 0.8 * g[:, 0]), 10.0, 400.0)
    nadir = np.where(phenotype == 2, np.minimum(nadir, 120.0), nadir)
    r1 = anc0 * (0.6 + 0.6 * u[:, 2])                        # first recovery level
    t_rec = np.where(phenotype == 0, 12 + 6 * u[:, 3], 11 + 4 * u[:, 3])
    dip = np.clip(np.exp(np.log(350.0) + 0.5 * g[:, 1]), 80.0, 900.0)
    t_dip = 21 + 7 * u[:, 4]
    t_aplastic_end = np.exp(np.log(40.0) + (np.log(210.0) - np.log(40.0)) * u[:, 5])
    never = (phenotype == 2) & (u[:, 6] < 0.25)
    t_aplastic_end = np.where(never, 500.0, t_aplastic_end)
    r2 = anc0 * (0.5 + 0.6 * u[:, 7])
    quick = np.column_stack([np.zeros(n), t_nadir, t_rec, np.full(n, 28.0), np.full(n, 90.0),
                             np.full(n, 180.0), np.full(n, 800.0)])
    quick_v = np.column_stack([b0, nadir, r1, r1 * (0.8 + 0.4 * u[:, 8]), r2, r2, r2])
    inter = np.column_stack([np.zeros(n), t_nadir, t_rec, t_dip, t_dip + 20 + 40 * u[:, 9],
                             np.full(n, 180.0), np.full(n, 800.0)])
    inter_v = np.column_stack([b0, nadir, r1, dip, r2, r2, r2])
    aplastic = np.column_stack([np.zeros(n), t_nadir, t_nadir + 7, t_aplastic_end,
                                t_aplastic_end + 30 + 60 * u[:, 10], t_aplastic_end + 200, np.full(n, 900.0)])
    low = np.clip(nadir * (0.8 + 1.2 * u[:, 11]), 20.0, 300.0)
    aplastic_v = np.column_stack([b0, nadir, low, low * 1.5, r2 * 0.6, r2, r2])
    pick = phenotype[:, None]
    kd = _increasing(np.where(pick == 0, quick, np.where(pick == 1, inter, aplastic)))
    kv = np.log(np.where(pick == 0, quick_v, np.where(pick == 1, inter_v, aplastic_v)))
    noise = rng.standard_normal((n, m, 6))
    anc = np.exp(_piecewise(t, kd, kv) + 0.15 * noise[:, :, 0])

    # ---- platelets (cells/µL)
    slow = phenotype == 2
    p_nadir = np.clip(np.exp(np.log(30_000.0) + 0.7 * g[:, 2]), 4_000.0, 120_000.0)
    p_nadir = np.minimum(p_nadir, plt0)
    t_pn = 7 + 7 * rng.random(n)
    p_rec = plt0 * (0.6 + 0.5 * rng.random(n))
    t_prec = np.where(slow, t_aplastic_end + 30, 28 + 32 * rng.random(n))
    pd_ = _increasing(np.column_stack([np.zeros(n), t_pn, np.where(slow, t_aplastic_end, t_pn + 7), t_prec,
                                       np.full(n, 900.0)]))
    pv = np.log(np.column_stack([plt0 * 0.8, p_nadir, np.where(slow, p_nadir * 1.2, p_nadir * 1.5), p_rec, p_rec]))
    plt = np.exp(_piecewise(t, pd_, pv) + 0.12 * noise[:, :, 1])

    # ---- haemoglobin (g/dL), transfused above 7
    h_nadir = np.maximum(7.2, hb0 - 1.5 - 1.5 * rng.random(n))
    h_late = np.clip(12.0 + 1.0 * g[:, 3], 9.5, 15.0)
    hd = _increasing(np.column_stack([np.zeros(n), 7 + 7 * rng.random(n), np.full(n, 28.0),
                                      np.where(slow, 180.0, 91.0), np.where(slow, 365.0, 183.0), np.full(n, 900.0)]))
    hv = np.column_stack([hb0 * 0.95, h_nadir, h_nadir + 0.5, np.where(slow, h_nadir + 1.5, 10.5 + 0.5 * g[:, 4]),
                          h_late, h_late])
    hb = np.clip(_piecewise(t, hd, hv) + 0.3 * noise[:, :, 2], 6.0, 17.0)

    # ---- CAR-T cells (/µL): expansion to a peak on days 7-14, biphasic decline
    t_peak = 7 + np.floor(8 * rng.random(n))
    peak = np.exp(np.log(40.0) + 0.35 * (crs - 1) + 1.0 * g[:, 5]) * np.where(responder, 1.0, 0.3)
    peak = np.clip(peak, 1.0, 1500.0)
    fast = np.log(2) / (3 + 3 * rng.random(n))
    slow_rate = np.log(2) / (60 + 300 * rng.random(n))
    frac = 0.95 + 0.045 * rng.random(n)
    tt = t[None, :]
    rise = np.exp(np.log(0.5) + (tt / t_peak[:, None]) * (np.log(peak) - np.log(0.5))[:, None])
    after = np.maximum(tt - t_peak[:, None], 0.0)
    fall = peak[:, None] * (frac[:, None] * np.exp(-fast[:, None] * after)
                            + (1 - frac[:, None]) * np.exp(-slow_rate[:, None] * after))
    car_t = np.where(tt <= t_peak[:, None], rise, fall) * np.exp(0.2 * noise[:, :, 3])
    car_t = np.maximum(car_t, CAR_T_LOD)

    # ---- lymphocytes and leukocytes (/µL)
    a0 = np.clip(np.exp(np.log(80.0) + 0.6 * g[:, 6]), 10.0, 600.0)
    a_late = np.clip(np.exp(np.log(900.0) + 0.4 * g[:, 7]), 300.0, 3000.0)
    ad = np.tile(np.array([0.0, 14.0, 28.0, 91.0, 365.0, 900.0]), (n, 1))
    av = np.log(np.column_stack([a0, np.maximum(a0 * 2, 300.0), np.full(n, 400.0), np.full(n, 500.0),
                                 a_late, a_late]))
    alc = np.exp(_piecewise(t, ad, av) + 0.2 * noise[:, :, 4]) + car_t
    mono = np.exp(np.log(200.0) + 0.3 * noise[:, :, 5]) * (0.3 + 0.7 * np.minimum(1.0, anc / anc0[:, None]))
    wbc = anc + alc + mono

    values = {
        "anc": np.round(anc, -1), "alc": np.round(alc, -1), "wbc": np.round(wbc, -1),
        "plt": np.round(plt, -3), "hb": np.round(hb, 1), "car_t": _signif(car_t, 3),
    }
    observed = (t[None, :] <= t_last[:, None])  # until last contact (death: last contact)
    ids = patients["patient_id"].astype(str).to_numpy()
    parts = []
    for test in TESTS:  # six tests, not patients
        rows, cols = np.nonzero(observed)
        parts.append(pd.DataFrame({"patient_id": ids[rows], "day": t[cols].astype("int64"), "test": test,
                                   "value": values[test][rows, cols], "unit": UNITS[test]}))
    out = pd.concat(parts, ignore_index=True)
    order = {k: i for i, k in enumerate(TESTS)}
    out = (out.assign(_o=out["test"].map(order))
           .sort_values(["patient_id", "_o", "day"], kind="stable").drop(columns="_o").reset_index(drop=True))
    if return_phenotype:
        kinds = np.array(["quick", "intermittent", "aplastic"])[phenotype]
        return out, pd.Series(kinds, index=pd.Index(ids, name="patient_id"), name="phenotype")
    return out


# --------------------------------------------------------------------------- case report
CASE_REPORT_ID = "CASE-BREXU-01"
#: Values published in the case report (Recenti Progressi in Medicina 2026;117(1):e24).
CASE_REPORT_PUBLISHED: dict[str, Any] = {
    "car_hematotox": 2,                      # from ferritin and CRP only
    "car_hematotox_components": ("crp", "ferritin"),
    "icaht_early_grade": 4,
    "icaht_grade4_from_day": 20,
    "car_t_peak": {"day": 10, "value": 143.0, "unit": "/µL"},
    "car_t_month12_below": 1.0,              # < 1/µL at month 12
    "month12": {"hb": 11.6, "plt": 63_000.0, "wbc": 1_400.0, "anc": 300.0},
    "figure_days": (10, 30, 91, 183, 365),   # day 10, months 1, 3, 6 and 12
}


@dataclass(frozen=True, eq=False)
class CaseReport:
    """The bundled case-report patient.

    ``baseline``: one patient-table row (pre-lymphodepletion labs, units of docs/data-contract.md: ANC and
    platelets 10⁹/L, Hb g/dL, CRP mg/dL, ferritin ng/mL). ``labs``: long table with a
    ``source`` column: "published" (a value printed in the report), "published (<1/µL)"
    (the report gives only a bound; the value is ours) or "synthetic" (made up, consistent
    with the report). ``published``: `CASE_REPORT_PUBLISHED`.
    """

    baseline: pd.DataFrame
    labs: pd.DataFrame
    published: dict


def case_report_patient() -> CaseReport:
    """One synthetic patient who follows the brexucabtagene autoleucel case report.

    Published (Recenti Progressi in Medicina 2026;117(1):e24): CAR-HEMATOTOX 2 from ferritin
    and CRP; grade-4 ICAHT from day 20; circulating CAR-T cells peaking at 143/µL on day 10
    and < 1/µL at month 12; at month 12 Hb 11.6 g/dL, platelets 63,000/µL, leukocytes
    1,400/µL, neutrophils 300/µL; Figure 1 shows day 10 and months 1, 3, 6 and 12.
    Everything else is synthetic and chosen to agree: baseline labs that score only for CRP
    (>= 3.0 mg/dL) and ferritin (650-2,000 ng/mL), and daily-to-weekly ANC in the first month
    with ANC <= 100/µL from day 7, so that the 14th day <= 100/µL (grade-4 criterion) is day 20.
    """
    pid = CASE_REPORT_ID
    baseline = pd.DataFrame({"patient_id": [pid], "anc": [2.1], "hb": [11.8], "plt": [210.0],
                             "crp": [4.2], "ferritin": [1450.0]})
    P, S = "published", "synthetic"
    series = {
        # test: [(day, value, source), ...]
        "anc": [(0, 1100, S), (3, 420, S), (5, 160, S), (7, 90, S), (10, 50, S), (14, 30, S), (17, 40, S),
                (20, 40, S), (24, 60, S), (27, 70, S), (30, 80, S), (91, 240, S), (183, 260, S), (365, 300, P)],
        "hb": [(0, 11.2, S), (10, 8.4, S), (30, 8.9, S), (91, 9.8, S), (183, 10.7, S), (365, 11.6, P)],
        "plt": [(0, 150_000, S), (10, 21_000, S), (30, 18_000, S), (91, 32_000, S), (183, 48_000, S),
                (365, 63_000, P)],
        "wbc": [(10, 350, S), (30, 420, S), (91, 900, S), (183, 1_100, S), (365, 1_400, P)],
        "alc": [(10, 250, S), (30, 260, S), (91, 520, S), (183, 690, S), (365, 900, S)],
        "car_t": [(3, 2.4, S), (7, 61.0, S), (10, 143.0, P), (14, 96.0, S), (30, 38.0, S), (91, 7.5, S),
                  (183, 2.2, S), (365, 0.6, "published (<1/µL)")],
    }
    rows = [(pid, d, test, float(v), UNITS[test], src) for test, pts in series.items() for d, v, src in pts]
    labs = pd.DataFrame(rows, columns=["patient_id", "day", "test", "value", "unit", "source"])
    return CaseReport(baseline=baseline, labs=labs, published=dict(CASE_REPORT_PUBLISHED))


# --------------------------------------------------------------------------- bundled files
def bundled_labs(rocca_seed: int | None = None, zuma3_seed: int | None = None,
                 frames: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """The frames behind ``data/synthetic/labs/``: rocca_like_labs, zuma3_like_labs,
    case_report_labs, case_report_baseline.

    ``frames`` may give the registry-form cohort frames (keys "rocca_like", "zuma3_like")
    already drawn; otherwise they are drawn with the given (default) seeds. The lab seed of
    each cohort is its cohort seed (on a separate random stream).
    """
    from . import rocca, zuma3

    rocca_seed = rocca.DEFAULT_SEED if rocca_seed is None else int(rocca_seed)
    zuma3_seed = zuma3.DEFAULT_SEED if zuma3_seed is None else int(zuma3_seed)
    frames = dict(frames or {})
    if "rocca_like" not in frames:
        frames["rocca_like"] = rocca.simulate_rocca(rocca_seed)[0]
    if "zuma3_like" not in frames:
        frames["zuma3_like"] = zuma3.simulate_zuma3(zuma3_seed)[0]
    case = case_report_patient()
    return {
        "rocca_like_labs": simulate_labs(frames["rocca_like"], rocca_seed),
        "zuma3_like_labs": simulate_labs(frames["zuma3_like"], zuma3_seed),
        "case_report_labs": case.labs,
        "case_report_baseline": case.baseline,
    }


def to_csv_text(frame: pd.DataFrame) -> str:
    """CSV text with ``\\n`` endings and shortest round-trip floats (byte-stable)."""
    return frame.to_csv(index=False, lineterminator="\n")


def write_labs(directory: str | Path, *, rocca_seed: int | None = None, zuma3_seed: int | None = None,
               frames: dict[str, pd.DataFrame] | None = None) -> list[Path]:
    """Write the four lab files (`FILES`) into ``directory`` (created); return their paths.

    ``make data`` calls it from ``rwe_cart.synthetic.write`` as
    ``write_labs(directory / "labs", rocca_seed=..., zuma3_seed=...)``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in bundled_labs(rocca_seed, zuma3_seed, frames).items():
        path = directory / f"{name}.csv"
        path.write_text(to_csv_text(frame), encoding="utf-8", newline="")
        written.append(path)
    return written


if __name__ == "__main__":  # python -m rwe_cart.synthetic.labs data/synthetic/labs
    import sys

    for p in write_labs(sys.argv[1] if len(sys.argv) > 1 else "data/synthetic/labs"):
        print(p)
