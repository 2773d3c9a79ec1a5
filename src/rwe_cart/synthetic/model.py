"""Continuous-time multi-state model that generates post-CAR-T cohorts with known truth.

States (time t in days from the CAR-T infusion, day 0)::

    infused ──► early death (NE) ─────────────────────────────────────► dead (nrm)
        │
        ├──► no response (NR/PD): treatment failure at the day-28 assessment ──► progressed
        │
        └──► remission (CR/CRi, from the response day) ──► relapse ──────────► progressed
                  │        └──────────────────────────────► NRM death ─────► dead (nrm)
                  └──► consolidative allo-HSCT ──► relapse (hazard × hsct_hr) ► progressed
                                      └──────────► NRM (× hsct_nrm_hr) + TRM ► dead (nrm)
    progressed ──► death (time since relapse) ───────────────────────────► dead (relapse)
               (salvage HSCT and next therapy are recorded, with no effect on death)

Every transition hazard is piecewise constant (in time since infusion, or since HSCT /
relapse where stated) times ``exp(linear predictor)``, so event times are drawn exactly by
inverting the cumulative hazard; nothing is discretised. Baseline response, MRD and
toxicity are drawn with fixed counts (``round(share * n)``) so that small cohorts hit
published percentages exactly. Dates are the continuous times rounded up to whole days.

The model never loops over patients: every step is a numpy array operation (the only
Python loops run over transitions, knots and the redraw attempts of `simulate`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from .._deprecate import retired_call

DAYS_PER_MONTH = 30.4375
AGE_CENTRE = 45.0  # age effects are per 10 years from this age


# --------------------------------------------------------------------------- hazards
@dataclass(frozen=True)
class PiecewiseHazard:
    """Piecewise-constant hazard: ``rates[j]`` per day on ``[knots[j], knots[j+1])``.

    The first knot is 0 and the last rate continues for ever.
    """

    knots: tuple[float, ...]
    rates: tuple[float, ...]

    def __post_init__(self) -> None:
        k = np.asarray(self.knots, dtype=float)
        r = np.asarray(self.rates, dtype=float)
        if k.ndim != 1 or k.shape != r.shape or len(k) == 0:
            raise ValueError("knots and rates must be 1-d sequences of the same, non-zero length")
        if k[0] != 0 or np.any(np.diff(k) <= 0):
            raise ValueError(f"knots must start at 0 and increase strictly, got {self.knots}")
        if np.any(r < 0) or not np.all(np.isfinite(r)):
            raise ValueError(f"rates must be finite and >= 0, got {self.rates}")

    def rate(self, t: np.ndarray) -> np.ndarray:
        """Hazard at time(s) ``t`` (right-continuous; 0 before time 0)."""
        t = np.asarray(t, dtype=float)
        j = np.searchsorted(np.asarray(self.knots), t, side="right") - 1
        out = np.asarray(self.rates)[np.clip(j, 0, None)]
        return np.where(t < 0, 0.0, out)

    def cumulative(self, t: np.ndarray) -> np.ndarray:
        """Cumulative hazard from 0 to ``t``."""
        t = np.clip(np.asarray(t, dtype=float), 0, None)
        k, r = np.asarray(self.knots), np.asarray(self.rates)
        ends = np.append(k[1:], np.inf)
        return (np.clip(t[..., None] - k, 0, ends - k) * r).sum(axis=-1)

    def scaled(self, factor: float) -> PiecewiseHazard:
        return PiecewiseHazard(self.knots, tuple(float(r) * factor for r in self.rates))

    def table(self, transition: str, clock: str) -> pd.DataFrame:
        ends = list(self.knots[1:]) + [np.inf]
        return pd.DataFrame({"transition": transition, "clock": clock,
                             "start": np.asarray(self.knots, float), "end": np.asarray(ends, float),
                             "rate_per_day": np.asarray(self.rates, float)})


def _zero_hazard() -> PiecewiseHazard:
    return PiecewiseHazard((0.0,), (0.0,))


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Stratum:
    """A part of the cohort with its own response rate and accrual window (e.g. a trial phase)."""

    name: str
    share: float
    response_rate: float
    accrual_start: str
    accrual_end: str
    accrual_ramp: float = 1.0  # infusion density at the end / at the start (linear)


@dataclass(frozen=True)
class ModelParams:
    """All parameters of the data-generating model. Coefficients are log hazard ratios
    (``rel_*`` relapse, ``nrm_*`` non-relapse mortality, ``hsct_*`` the transplant hazard,
    ``prd_*`` death after relapse/progression) or Plackett–Luce log weights (``resp_*``,
    ``mrd_*``, ``ne_*``) for the fixed-count selections. Covariates: ``mrd_pos`` (responder
    MRD-positive), ``mrd_neg``, ``emd`` (extramedullary), ``blasts10`` (marrow blasts / 10),
    ``age10`` ((age - 45) / 10), ``prior_hsct``, ``icans3`` (ICANS grade >= 3),
    ``refractory`` (never responded)."""

    name: str
    id_prefix: str
    strata: tuple[Stratum, ...]
    data_cutoff: str
    # baseline characteristics
    age_mean: float = 45.0
    age_sd: float = 15.0
    age_min: float = 18.0
    age_max: float = 80.0
    p_female: float = 0.45
    p_prior_hsct: float = 0.40
    p_extramedullary: float = 0.25
    p_ph_positive: float = 0.25
    p_prior_blinatumomab: float = 0.55
    p_prior_inotuzumab: float = 0.40
    p_low_blasts: float = 0.40  # share with < 5% marrow blasts (MRD-only / low burden)
    blasts_beta: tuple[float, float] = (1.2, 1.2)  # blasts = 5 + 95 * Beta(a, b) otherwise
    prior_lines_extra: float = 2.0  # prior_lines = 1 + Poisson(this) (+1 with prior HSCT)
    apheresis_days: tuple[int, int] = (24, 42)  # apheresis → infusion
    crs_probs: tuple[float, ...] = (0.15, 0.42, 0.33, 0.07, 0.03)  # grades 0..4
    icans_probs: tuple[float, ...] = (0.45, 0.11, 0.14, 0.21, 0.09)
    tox_blasts_coef: float = 0.15  # per 10% blasts, on the latent toxicity scale
    # response (fixed counts within each stratum)
    resp_blasts10: float = -0.15
    resp_emd: float = -0.5
    resp_prior_inotuzumab: float = -0.3
    cri_share: float = 0.20  # CRi among responders
    mrd_negative_share: float = 0.79  # among responders
    mrd_blasts10: float = -0.15
    mrd_emd: float = -0.4
    ne_share: float = 0.15  # of non-responders: early death before assessment (NE)
    pd_share: float = 0.35  # of non-responders: PD (the rest NR)
    ne_icans3: float = 1.0
    ne_age10: float = 0.3
    response_days: tuple[int, int] = (21, 35)
    late_response_share: float = 0.08
    late_response_days: tuple[int, int] = (42, 90)
    ne_death_days: tuple[int, int] = (4, 27)
    # remission hazards (clock: days since infusion)
    relapse: PiecewiseHazard = field(default_factory=_zero_hazard)
    rel_mrd_pos: float = math.log(2.5)
    rel_emd: float = math.log(1.5)
    rel_blasts10: float = math.log(1.04)
    rel_prior_hsct: float = 0.0
    nrm: PiecewiseHazard = field(default_factory=_zero_hazard)
    nrm_age10: float = math.log(1.3)
    nrm_prior_hsct: float = math.log(1.5)
    nrm_icans3: float = math.log(1.5)
    hsct: PiecewiseHazard = field(default_factory=_zero_hazard)
    hsct_mrd_neg: float = math.log(1.5)
    hsct_prior_hsct: float = math.log(0.15)
    hsct_age10: float = math.log(0.75)
    # effect of consolidative HSCT (the truth the estimators are checked against)
    hsct_hr: float = 0.6  # relapse hazard ratio, exposed vs unexposed, from the HSCT on
    hsct_nrm_hr: float = 1.0  # multiplies the background NRM hazard after HSCT
    trm: PiecewiseHazard = field(default_factory=_zero_hazard)  # excess NRM, clock: days since HSCT
    # after relapse / progression (clock: days since relapse)
    post_relapse_death: PiecewiseHazard = field(default_factory=_zero_hazard)
    prd_refractory: float = math.log(1.3)
    prd_age10: float = math.log(1.15)
    salvage_hsct_share: float = 0.15
    salvage_hsct_days: tuple[int, int] = (45, 150)
    next_therapy_share: float = 0.80
    next_therapy_days: tuple[int, int] = (3, 28)
    unknown_cause_share: float = 0.0
    # follow-up
    last_contact_lag_mean: float = 0.0  # days between the last visit and the data cut-off
    dropout_rate: float = 0.0  # loss to follow-up, per day

    def __post_init__(self) -> None:
        share = sum(s.share for s in self.strata)
        if not self.strata or abs(share - 1) > 1e-9:
            raise ValueError(f"strata shares must sum to 1, got {share}")
        for name in ("crs_probs", "icans_probs"):
            p = getattr(self, name)
            if abs(sum(p) - 1) > 1e-9 or len(p) != 5:
                raise ValueError(f"{name} must give 5 probabilities (grades 0-4) summing to 1")
        cut = pd.Timestamp(self.data_cutoff)
        for s in self.strata:
            if pd.Timestamp(s.accrual_end) + pd.Timedelta(days=120) > cut:
                raise ValueError(f"stratum {s.name!r}: accrual must end >= 120 days before the cut-off")

    def coefficients(self) -> pd.DataFrame:
        """Every covariate effect as a tidy table (transition, covariate, log_hr, hr)."""
        rows = []
        prefixes = {"rel_": "relapse", "nrm_": "nrm", "hsct_": "hsct", "prd_": "death_after_relapse",
                    "resp_": "response (weight)", "mrd_": "mrd_negative (weight)",
                    "ne_": "early_death_NE (weight)"}
        for f in fields(self):
            for pre, transition in prefixes.items():
                if f.name.startswith(pre) and isinstance(getattr(self, f.name), float) \
                        and f.name not in ("hsct_hr", "hsct_nrm_hr", "ne_share",
                                           "mrd_negative_share"):
                    value = getattr(self, f.name)
                    rows.append((transition, f.name[len(pre):], value, math.exp(value)))
        rows.append(("relapse", "hsct (time-varying)", math.log(self.hsct_hr), self.hsct_hr))
        rows.append(("nrm", "hsct (time-varying, background part)", math.log(self.hsct_nrm_hr),
                     self.hsct_nrm_hr))
        return pd.DataFrame(rows, columns=["transition", "covariate", "log_hr", "hr"])

    def hazards(self) -> pd.DataFrame:
        """Every baseline hazard as a tidy table (transition, clock, start, end, rate_per_day)."""
        return pd.concat([
            self.relapse.table("relapse", "since infusion"),
            self.nrm.table("nrm", "since infusion"),
            self.hsct.table("hsct", "since infusion"),
            self.trm.table("trm (excess nrm after hsct)", "since hsct"),
            self.post_relapse_death.table("death_after_relapse", "since relapse"),
        ], ignore_index=True)


# --------------------------------------------------------------------------- truth
@dataclass(frozen=True, eq=False)
class Truth:
    """What generated a cohort: the parameters, the conditional effects and the latent history.

    Attributes
    ----------
    params : ModelParams
    n, seed : int
    attempts : int
        Number of draws of the post-response histories (1 unless a count was fixed).
    hsct_policy : str or float
    hsct_hr : float
        True conditional relapse hazard ratio of consolidative HSCT (exposed from the HSCT day
        on), adjusted for the model's covariates; constant in time.
    hsct_nrm_hr : float
        Multiplier of the background NRM hazard after HSCT (TRM is added on top).
    pfs_hr : float or None
        The true conditional PFS hazard ratio of HSCT when it is one number: ``hsct_hr``
        when ``hsct_nrm_hr == hsct_hr`` and there is no TRM (see `proportional_pfs_effect`);
        otherwise None and the ratio varies with time, see `pfs_hazard_ratio`.
    hazards, coefficients : DataFrame
        Baseline hazards and covariate effects (see `ModelParams.hazards` / `.coefficients`).
    latent : DataFrame
        Per patient, before censoring and rounding: ``t_response``, ``t_hsct`` (consolidative),
        ``t_relapse``, ``t_death``, ``death_from`` (``"nrm"``, ``"trm"``, ``"relapse"``,
        ``"early"``), ``t_censor`` (last-contact day if alive) and the linear predictors.
    """

    params: ModelParams
    n: int
    seed: int
    attempts: int
    hsct_policy: str | float
    hsct_hr: float
    hsct_nrm_hr: float
    pfs_hr: float | None
    hazards: pd.DataFrame
    coefficients: pd.DataFrame
    latent: pd.DataFrame

    def pfs_hazard_ratio(self, t: np.ndarray, t_hsct: float, *, lp_relapse: float = 0.0,
                         lp_nrm: float = 0.0) -> np.ndarray:
        """True conditional PFS hazard ratio (transplanted at ``t_hsct`` vs not) at days ``t``
        for a patient in remission with the given linear predictors.

        PFS hazard = relapse + NRM, so the ratio is
        ``(hsct_hr·h_rel + hsct_nrm_hr·h_nrm + TRM(t - t_hsct)) / (h_rel + h_nrm)``:
        below 1 once TRM has faded when ``hsct_hr < 1``, above 1 early after the transplant.
        """
        p = self.params
        t = np.asarray(t, dtype=float)
        rel = p.relapse.rate(t) * math.exp(lp_relapse)
        nrm = p.nrm.rate(t) * math.exp(lp_nrm)
        trm = np.where(t > t_hsct, p.trm.rate(t - t_hsct), 0.0) * math.exp(lp_nrm)
        exposed = p.hsct_hr * rel + p.hsct_nrm_hr * nrm + trm
        return np.where(t > t_hsct, exposed / (rel + nrm), 1.0)

    @property
    def summary(self) -> pd.DataFrame:
        """Scalar facts about this draw, one row (counts on the latent, uncensored scale)."""
        lat = self.latent
        row = {"n": self.n, "seed": self.seed, "attempts": self.attempts,
               "hsct_hr": self.hsct_hr, "hsct_nrm_hr": self.hsct_nrm_hr,
               "responders": int(lat["t_response"].notna().sum()),
               "consolidative_hsct_latent": int(lat["t_hsct"].notna().sum())}
        return retired_call(pd.DataFrame([row]), "Truth.summary")


# --------------------------------------------------------------------------- sampling core
def _first_event(breaks: np.ndarray, rates: np.ndarray, e: np.ndarray,
                 u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact first event of competing piecewise-constant hazards.

    breaks : (n, m) non-decreasing; ``breaks[:, 0]`` is each row's entry time.
    rates : (k, n, m) cause-specific rates on ``[breaks[:, j], breaks[:, j+1])``; the last
        column continues for ever.
    e, u : (n,) an Exp(1) and a U(0, 1) draw per row.
    Returns (time, cause); time is inf and cause -1 when the total hazard never reaches e.
    """
    n, m = breaks.shape
    total = rates.sum(axis=0)
    cum = np.zeros((n, m))
    cum[:, 1:] = np.cumsum(total[:, :-1] * np.diff(breaks, axis=1), axis=1)
    j = (cum <= e[:, None]).sum(axis=1) - 1
    rows = np.arange(n)
    rate_j = total[rows, j]
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(rate_j > 0, (e - cum[rows, j]) / rate_j, np.inf)
    time = breaks[rows, j] + step
    cumulative = np.cumsum(rates[:, rows, j], axis=0)
    cause = (cumulative <= (u * rate_j)[None, :]).sum(axis=0)
    cause = np.where(np.isfinite(time), np.minimum(cause, rates.shape[0] - 1), -1)
    return time, cause


def _knots(*hazards: PiecewiseHazard) -> np.ndarray:
    return np.unique(np.concatenate([np.asarray(h.knots, float) for h in hazards]))


def _fixed_count(n: int, share: float) -> int:
    return int(math.floor(share * n + 0.5))


def _flags(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[rng.permutation(n)[:_fixed_count(n, share)]] = True
    return out


def _top_k(rng: np.random.Generator, score: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of k items drawn without replacement with weights exp(score)
    (Gumbel top-k, i.e. sequential Plackett–Luce sampling)."""
    keys = score + rng.gumbel(size=score.shape)
    out = np.zeros(score.shape, dtype=bool)
    if k > 0:
        out[np.argsort(-keys, kind="stable")[:k]] = True
    return out


def _quota_grades(latent: np.ndarray, probs: tuple[float, ...]) -> np.ndarray:
    """Grades 0..4 with fixed counts (largest remainder), highest grades to the highest latent."""
    n = len(latent)
    raw = np.asarray(probs) * n
    counts = np.floor(raw).astype(int)
    rest = n - counts.sum()
    counts[np.argsort(-(raw - counts), kind="stable")[:rest]] += 1
    grades = np.repeat(np.arange(len(probs)), counts)
    out = np.empty(n, dtype=int)
    out[np.argsort(latent, kind="stable")] = grades
    return out


def _uniform_days(rng: np.random.Generator, lohi: tuple[int, int], size: int) -> np.ndarray:
    return rng.integers(lohi[0], lohi[1] + 1, size=size).astype(float)


# --------------------------------------------------------------------------- steps
def _baseline(p: ModelParams, n: int, rng: np.random.Generator) -> pd.DataFrame:
    shares = np.array([s.share for s in p.strata])
    sizes = np.floor(shares * n).astype(int)
    sizes[np.argsort(-(shares * n - sizes), kind="stable")[:n - sizes.sum()]] += 1
    stratum = np.repeat(np.arange(len(p.strata)), sizes)
    # infusion day (days from 1970) per stratum, linear density ramp
    start = np.array([pd.Timestamp(s.accrual_start).value // 86_400_000_000_000 for s in p.strata])
    end = np.array([pd.Timestamp(s.accrual_end).value // 86_400_000_000_000 for s in p.strata])
    ramp = np.array([s.accrual_ramp for s in p.strata])[stratum]
    q = rng.uniform(size=n)
    slope = ramp - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(np.abs(slope) < 1e-12, q,
                     (-1 + np.sqrt(1 + slope * q * (2 + slope))) / slope)
    infusion = np.floor(start[stratum] + x * (end[stratum] - start[stratum] + 1)).astype(int)
    infusion = np.minimum(infusion, end[stratum])
    a, b = (p.age_min - p.age_mean) / p.age_sd, (p.age_max - p.age_mean) / p.age_sd
    age = np.round(stats.truncnorm.ppf(rng.uniform(size=n), a, b, loc=p.age_mean, scale=p.age_sd))
    female = _flags(rng, n, p.p_female)
    prior_hsct = _flags(rng, n, p.p_prior_hsct)
    emd = _flags(rng, n, p.p_extramedullary)
    ph = _flags(rng, n, p.p_ph_positive)
    blina = _flags(rng, n, p.p_prior_blinatumomab)
    ino = _flags(rng, n, p.p_prior_inotuzumab)
    low = _flags(rng, n, p.p_low_blasts)
    blasts = np.where(low, np.round(rng.uniform(0, 4.9, size=n), 1),
                      np.round(5 + 95 * rng.beta(*p.blasts_beta, size=n)))
    lines = 1 + rng.poisson(p.prior_lines_extra, size=n) + prior_hsct.astype(int)
    lines = np.minimum(lines, 10)
    aph_lag = _uniform_days(rng, p.apheresis_days, n)
    # pre-lymphodepletion labs (ANC, PLT 10^9/L; Hb g/dL; CRP mg/dL; ferritin ng/mL)
    z = rng.standard_normal(size=(5, n))
    b10 = blasts / 10
    anc = np.round(np.exp(np.log(1.6) - 0.06 * b10 + 0.9 * z[0]), 2)
    hb = np.round(np.clip(10.2 - 0.12 * b10 + 1.6 * z[1], 5.5, 16.5), 1)
    plt = np.round(np.clip(np.exp(np.log(120) - 0.12 * b10 + 0.8 * z[2]), 3, 650))
    crp = np.round(np.exp(np.log(0.9) + 0.05 * b10 + 1.1 * z[3]), 2)
    ferritin = np.round(np.exp(np.log(700) + 0.05 * b10 + 0.9 * z[4]))
    # toxicity: one latent severity per syndrome, shared component, higher with blasts
    shared = rng.standard_normal(size=n)
    crs = _quota_grades(p.tox_blasts_coef * b10 + 0.7 * shared + rng.standard_normal(n), p.crs_probs)
    icans = _quota_grades(p.tox_blasts_coef * b10 + 0.7 * shared + rng.standard_normal(n), p.icans_probs)
    order = rng.permutation(n)  # patients are listed in random order, then by infusion date
    base = pd.DataFrame({
        "stratum": stratum, "infusion_day": infusion, "age": age, "female": female,
        "prior_hsct": prior_hsct, "extramedullary": emd, "ph_positive": ph,
        "prior_blinatumomab": blina, "prior_inotuzumab": ino, "marrow_blasts_pct": blasts,
        "prior_lines": lines, "apheresis_lag": aph_lag, "anc": anc, "hb": hb, "plt": plt,
        "crp": crp, "ferritin": ferritin, "crs_grade": crs, "icans_grade": icans,
    }).iloc[order]
    return base.sort_values("infusion_day", kind="stable").reset_index(drop=True)


def _response(p: ModelParams, base: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = len(base)
    b10 = base["marrow_blasts_pct"].to_numpy() / 10
    emd = base["extramedullary"].to_numpy()
    stratum = base["stratum"].to_numpy()
    score = (p.resp_blasts10 * b10 + p.resp_emd * emd
             + p.resp_prior_inotuzumab * base["prior_inotuzumab"].to_numpy())
    keys = score + rng.gumbel(size=n)
    responder = np.zeros(n, dtype=bool)
    for s, st in enumerate(p.strata):  # loop over strata (a handful), not patients
        idx = np.flatnonzero(stratum == s)
        k = _fixed_count(len(idx), st.response_rate)
        responder[idx[np.argsort(-keys[idx], kind="stable")[:k]]] = True
    resp_idx = np.flatnonzero(responder)
    non_idx = np.flatnonzero(~responder)
    # responders: CR vs CRi, MRD, response day
    cri = np.zeros(n, dtype=bool)
    cri[resp_idx[_flags(rng, len(resp_idx), p.cri_share)]] = True
    mrd_score = p.mrd_blasts10 * b10[resp_idx] + p.mrd_emd * emd[resp_idx]
    mrd_neg = np.zeros(n, dtype=bool)
    mrd_neg[resp_idx[_top_k(rng, mrd_score, _fixed_count(len(resp_idx), p.mrd_negative_share))]] = True
    late = _flags(rng, n, p.late_response_share)
    day = np.where(late, _uniform_days(rng, p.late_response_days, n), _uniform_days(rng, p.response_days, n))
    # non-responders: early death (NE), PD, NR
    icans3 = base["icans_grade"].to_numpy() >= 3
    age10 = (base["age"].to_numpy() - AGE_CENTRE) / 10
    ne_score = p.ne_icans3 * icans3[non_idx] + p.ne_age10 * age10[non_idx]
    ne_local = _top_k(rng, ne_score, _fixed_count(len(non_idx), p.ne_share))
    rest = np.flatnonzero(~ne_local)
    pd_local = np.zeros(len(non_idx), dtype=bool)
    pd_local[rest[rng.permutation(len(rest))[:_fixed_count(len(non_idx), p.pd_share)]]] = True
    best = np.where(responder, np.where(cri, "CRi", "CR"), "NR").astype(object)
    best[non_idx[ne_local]] = "NE"
    best[non_idx[pd_local]] = "PD"
    ne = best == "NE"
    assess = np.where(ne, np.nan, day)  # response day / treatment-failure day
    early_death = np.where(ne, _uniform_days(rng, p.ne_death_days, n) - rng.uniform(size=n), np.nan)
    return pd.DataFrame({"best_response": best, "responder": responder, "mrd_negative": mrd_neg,
                         "t_assess": assess, "t_early_death": early_death})


def _histories(p: ModelParams, base: pd.DataFrame, resp: pd.DataFrame, rng: np.random.Generator,
               policy: str | float) -> dict[str, np.ndarray]:
    """Latent (uncensored, continuous) event times for every patient."""
    n = len(base)
    responder = resp["responder"].to_numpy()
    age10 = (base["age"].to_numpy() - AGE_CENTRE) / 10
    prior = base["prior_hsct"].to_numpy().astype(float)
    mrd_neg = resp["mrd_negative"].to_numpy().astype(float)
    mrd_pos = responder * (1 - mrd_neg)
    lp_rel = (p.rel_mrd_pos * mrd_pos + p.rel_emd * base["extramedullary"].to_numpy()
              + p.rel_blasts10 * base["marrow_blasts_pct"].to_numpy() / 10 + p.rel_prior_hsct * prior)
    lp_nrm = (p.nrm_age10 * age10 + p.nrm_prior_hsct * prior
              + p.nrm_icans3 * (base["icans_grade"].to_numpy() >= 3))
    lp_hsct = p.hsct_mrd_neg * mrd_neg + p.hsct_prior_hsct * prior + p.hsct_age10 * age10
    refractory = (~responder).astype(float)
    lp_prd = p.prd_refractory * refractory + p.prd_age10 * age10

    t_hsct = np.full(n, np.nan)
    t_relapse = np.full(n, np.nan)
    t_death = np.full(n, np.nan)
    death_from = np.full(n, None, dtype=object)
    t_assess = resp["t_assess"].to_numpy()

    # phase A: remission, competing relapse / NRM / HSCT (clock: time since infusion)
    idx = np.flatnonzero(responder)
    entry = t_assess[idx]
    knots = _knots(p.relapse, p.nrm, p.hsct)
    if isinstance(policy, (int, float)) and not isinstance(policy, bool):
        knots = np.unique(np.append(knots, float(policy)))
    brk = np.maximum(knots[None, :], entry[:, None])
    hsct_rate = p.hsct.rate(brk) * np.exp(lp_hsct[idx])[:, None]
    if policy != "natural":
        hsct_rate = np.zeros_like(hsct_rate)
    rates = np.stack([p.relapse.rate(brk) * np.exp(lp_rel[idx])[:, None],
                      p.nrm.rate(brk) * np.exp(lp_nrm[idx])[:, None], hsct_rate])
    time, cause = _first_event(brk, rates, rng.exponential(size=len(idx)), rng.uniform(size=len(idx)))
    if isinstance(policy, (int, float)) and not isinstance(policy, bool):
        forced = (time > policy) & (entry <= policy)
        time = np.where(forced, float(policy), time)
        cause = np.where(forced, 2, cause)
    t_relapse[idx[cause == 0]] = time[cause == 0]
    t_death[idx[cause == 1]] = time[cause == 1]
    death_from[idx[cause == 1]] = "nrm"
    t_hsct[idx[cause == 2]] = time[cause == 2]

    # phase B: after consolidative HSCT (clocks: since infusion and since HSCT)
    hidx = idx[cause == 2]
    if len(hidx):
        s = t_hsct[hidx]
        kt = _knots(p.relapse, p.nrm)
        ku = np.asarray(p.trm.knots, float)
        brk = np.sort(np.concatenate([np.maximum(kt[None, :], s[:, None]), s[:, None] + ku[None, :]],
                                     axis=1), axis=1)
        rates = np.stack([
            p.hsct_hr * p.relapse.rate(brk) * np.exp(lp_rel[hidx])[:, None],
            p.hsct_nrm_hr * p.nrm.rate(brk) * np.exp(lp_nrm[hidx])[:, None],
            p.trm.rate(brk - s[:, None]) * np.exp(lp_nrm[hidx])[:, None],
        ])
        time, c = _first_event(brk, rates, rng.exponential(size=len(hidx)), rng.uniform(size=len(hidx)))
        t_relapse[hidx[c == 0]] = time[c == 0]
        t_death[hidx[c >= 1]] = time[c >= 1]
        death_from[hidx[c == 1]] = "nrm"
        death_from[hidx[c == 2]] = "trm"

    # non-responders: early death (NE) or treatment failure at assessment (NR/PD)
    best = resp["best_response"].to_numpy()
    ne = best == "NE"
    t_death[ne] = resp["t_early_death"].to_numpy()[ne]
    death_from[ne] = "early"
    failed = np.isin(best, ["NR", "PD"])
    t_relapse[failed] = t_assess[failed]

    # phase C: death after relapse/progression (clock: time since relapse)
    ridx = np.flatnonzero(~np.isnan(t_relapse))
    r = t_relapse[ridx]
    kv = np.asarray(p.post_relapse_death.knots, float)
    brk = r[:, None] + kv[None, :]
    rates = (p.post_relapse_death.rate(brk - r[:, None]) * np.exp(lp_prd[ridx])[:, None])[None]
    time, _ = _first_event(brk, rates, rng.exponential(size=len(ridx)), rng.uniform(size=len(ridx)))
    t_death[ridx] = time
    death_from[ridx] = "relapse"

    # salvage HSCT and next therapy after relapse (recorded only when before death)
    salvage = np.full(n, np.nan)
    nxt = np.full(n, np.nan)
    take_s = _flags(rng, len(ridx), p.salvage_hsct_share)
    ts = r + _uniform_days(rng, p.salvage_hsct_days, len(ridx)) - rng.uniform(size=len(ridx))
    ok = take_s & (ts < t_death[ridx])
    salvage[ridx[ok]] = ts[ok]
    take_n = _flags(rng, len(ridx), p.next_therapy_share)
    tn = r + _uniform_days(rng, p.next_therapy_days, len(ridx)) - rng.uniform(size=len(ridx))
    ok = take_n & (tn < t_death[ridx])
    nxt[ridx[ok]] = tn[ok]

    # follow-up: data cut-off minus a reporting lag, and loss to follow-up
    cut = pd.Timestamp(p.data_cutoff).value // 86_400_000_000_000
    admin = (cut - base["infusion_day"].to_numpy()).astype(float)
    lag = rng.exponential(p.last_contact_lag_mean, size=n) if p.last_contact_lag_mean > 0 else np.zeros(n)
    drop = rng.exponential(1 / p.dropout_rate, size=n) if p.dropout_rate > 0 else np.full(n, np.inf)
    censor = np.floor(np.minimum(admin - np.minimum(lag, 0.9 * admin), drop))
    # the day-28 assessment is always known: contact lasted at least until then
    censor = np.maximum(censor, np.minimum(np.nan_to_num(t_assess, nan=0.0), admin))
    unknown = _flags(rng, n, p.unknown_cause_share)
    return {"t_hsct": t_hsct, "t_relapse": t_relapse, "t_death": t_death, "death_from": death_from,
            "t_salvage_hsct": salvage, "t_next_therapy": nxt, "t_censor": censor, "admin": admin,
            "unknown_cause": unknown, "lp_relapse": lp_rel, "lp_nrm": lp_nrm, "lp_hsct": lp_hsct,
            "lp_death_after_relapse": lp_prd}


def _observe(resp: pd.DataFrame, h: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Whole days (event in (d-1, d] → day d), strict ordering kept, then censoring."""
    def day(x: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(x), np.nan, np.ceil(x))

    def at_least(x: np.ndarray, floor: np.ndarray) -> np.ndarray:  # NaN stays NaN
        return np.where(np.isnan(x), x, np.fmax(x, floor))

    def at_most(x: np.ndarray, ceiling: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(x), x, np.fmin(x, ceiling))

    hsct = day(h["t_hsct"])
    # an event after a consolidative HSCT stays after the HSCT day (exposed), never on it
    relapse = at_least(day(h["t_relapse"]), hsct + 1)
    death = at_least(at_least(day(h["t_death"]), relapse), hsct + 1)
    salvage = at_most(at_least(day(h["t_salvage_hsct"]), relapse), death)
    nxt = at_most(at_least(day(h["t_next_therapy"]), relapse), death)
    censor = h["t_censor"]
    dead = ~np.isnan(death) & (death <= censor)
    last = np.where(dead, death, censor)

    def seen(x: np.ndarray) -> np.ndarray:
        return np.where(x <= last, x, np.nan)

    post_hsct = np.where(np.isnan(hsct), salvage, hsct)  # first allo-HSCT after infusion
    return {"t_response": np.where(resp["responder"].to_numpy(), resp["t_assess"].to_numpy(), np.nan),
            "t_relapse": seen(relapse), "t_hsct": seen(post_hsct),
            "consolidative": ~np.isnan(seen(hsct)), "t_death": np.where(dead, death, np.nan),
            "t_last": last, "t_next_therapy": seen(nxt)}


def _frame(p: ModelParams, base: pd.DataFrame, resp: pd.DataFrame, h: dict[str, np.ndarray],
           obs: dict[str, np.ndarray]) -> pd.DataFrame:
    n = len(base)
    width = max(4, len(str(n)))
    epoch = pd.Timestamp("1970-01-01")
    inf_day = base["infusion_day"].to_numpy()

    def date(t: np.ndarray) -> pd.Series:
        days = inf_day + t
        out = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
        # only the known days go through pandas: its float-to-timedelta rounding on arrays
        # holding NaN sometimes raised a spurious "overflow encountered in multiply"
        known = np.isfinite(days)
        out[known] = (epoch + pd.to_timedelta(days[known], unit="D")).to_numpy("datetime64[ns]")
        return out

    dead = ~np.isnan(obs["t_death"])
    cause = np.full(n, None, dtype=object)
    from_relapse = np.array([c == "relapse" for c in h["death_from"]])
    cause[dead] = np.where(from_relapse[dead], "relapse", "nrm")
    cause[dead & h["unknown_cause"]] = "unknown"
    responder = resp["responder"].to_numpy()
    mrd = pd.array(np.where(responder, resp["mrd_negative"].to_numpy(), False), dtype="boolean")
    mrd[~responder] = pd.NA
    frame = pd.DataFrame({
        "patient_id": [f"{p.id_prefix}{i + 1:0{width}d}" for i in range(n)],
        "date_infusion": date(np.zeros(n)),
        "date_apheresis": date(-base["apheresis_lag"].to_numpy()),
        "age": base["age"].to_numpy(float),
        "sex": np.where(base["female"].to_numpy(), "F", "M"),
        "prior_hsct": base["prior_hsct"].to_numpy(bool),
        "extramedullary": base["extramedullary"].to_numpy(bool),
        "marrow_blasts_pct": base["marrow_blasts_pct"].to_numpy(float),
        "ph_positive": base["ph_positive"].to_numpy(bool),
        "prior_lines": base["prior_lines"].to_numpy(int),
        "prior_blinatumomab": base["prior_blinatumomab"].to_numpy(bool),
        "prior_inotuzumab": base["prior_inotuzumab"].to_numpy(bool),
        "anc": base["anc"].to_numpy(float), "hb": base["hb"].to_numpy(float),
        "plt": base["plt"].to_numpy(float), "crp": base["crp"].to_numpy(float),
        "ferritin": base["ferritin"].to_numpy(float),
        "crs_grade": base["crs_grade"].to_numpy(int),
        "icans_grade": base["icans_grade"].to_numpy(int),
        "best_response": resp["best_response"].to_numpy(object),
        "date_response": date(obs["t_response"]),
        "mrd_negative": mrd,
        "date_relapse": date(obs["t_relapse"]),
        "date_hsct": date(obs["t_hsct"]),
        "date_death": date(obs["t_death"]),
        "death_cause": cause,
        "date_last_contact": date(obs["t_last"]),
        "date_next_therapy": date(obs["t_next_therapy"]),
    })
    # a toxicity death before the assessment is recorded as grade 5
    ne = frame["best_response"].eq("NE").to_numpy()
    for col in ("crs_grade", "icans_grade"):
        frame.loc[ne & (frame[col].to_numpy() == 4), col] = 5
    if len(p.strata) > 1:
        frame.insert(1, "stratum", [p.strata[s].name for s in base["stratum"].to_numpy()])
    return frame


def _latent(frame: pd.DataFrame, resp: pd.DataFrame, h: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": frame["patient_id"],
        "t_response": np.where(resp["responder"], resp["t_assess"], np.nan),
        "t_hsct": h["t_hsct"], "t_relapse": h["t_relapse"], "t_death": h["t_death"],
        "death_from": h["death_from"], "t_censor": h["t_censor"],
        "t_salvage_hsct": h["t_salvage_hsct"], "t_next_therapy": h["t_next_therapy"],
        "lp_relapse": h["lp_relapse"], "lp_nrm": h["lp_nrm"], "lp_hsct": h["lp_hsct"],
        "lp_death_after_relapse": h["lp_death_after_relapse"],
    })


# --------------------------------------------------------------------------- public
def _pfs_hr(p: ModelParams) -> float | None:
    no_trm = not any(r > 0 for r in p.trm.rates)
    return float(p.hsct_hr) if no_trm and p.hsct_nrm_hr == p.hsct_hr else None


def proportional_pfs_effect(params: ModelParams, hr: float) -> ModelParams:
    """Parameters in which consolidative HSCT multiplies the whole PFS hazard by ``hr``.

    Relapse and background NRM hazards are both multiplied by ``hr`` from the HSCT on and
    the transplant-related excess mortality is removed, so the true conditional PFS hazard
    ratio is exactly ``hr`` at every time and for every patient (``Truth.pfs_hr``). Use it
    for simulation studies of PFS hazard-ratio estimators (e.g. hr = 1.0 and 0.6).
    """
    return replace(params, hsct_hr=float(hr), hsct_nrm_hr=float(hr), trm=_zero_hazard())


def simulate(params: ModelParams, n: int, seed: int, *,
             hsct_policy: Literal["natural", "never"] | float = "natural",
             hsct_count: int | None = None, max_attempts: int = 20_000,
             ) -> tuple[pd.DataFrame, Truth]:
    """Simulate one cohort of ``n`` infused patients.

    Parameters
    ----------
    params : ModelParams
    n : int
        Number of infused patients (any n >= 1; shares scale with n).
    seed : int
        Seed of ``np.random.default_rng``; the same (params, n, seed) give the same frame.
    hsct_policy : "natural", "never" or a day
        "natural" draws HSCT from its hazard; "never" removes it; a number d transplants every
        patient still in remission on day d (for the true value of a strategy).
    hsct_count : int, optional
        Condition on exactly this many consolidative HSCTs (in remission, before relapse,
        observed before last contact): the post-response histories (and follow-up) are
        redrawn from the same generator until the count matches. Baseline characteristics
        and responses are drawn once.

    Returns
    -------
    (frame, truth)
        ``frame`` in the registry form of docs/data-contract.md (one row per patient, calendar dates);
        ``truth`` a `Truth` with the parameters and the latent histories.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    is_day = isinstance(hsct_policy, (int, float)) and not isinstance(hsct_policy, bool)
    if not (is_day or hsct_policy in ("natural", "never")):
        raise ValueError(f"hsct_policy must be 'natural', 'never' or a day, got {hsct_policy!r}")
    rng = np.random.default_rng(seed)
    base = _baseline(params, n, rng)
    resp = _response(params, base, rng)
    for attempt in range(1, max_attempts + 1):
        hist = _histories(params, base, resp, rng, hsct_policy)
        obs = _observe(resp, hist)
        if hsct_count is None or int(obs["consolidative"].sum()) == hsct_count:
            break
    else:
        raise RuntimeError(f"no draw with exactly {hsct_count} consolidative HSCTs in "
                           f"{max_attempts} attempts; is the HSCT hazard calibrated for n={n}?")
    frame = _frame(params, base, resp, hist, obs)
    truth = Truth(params=params, n=n, seed=seed, attempts=attempt, hsct_policy=hsct_policy,
                  hsct_hr=params.hsct_hr, hsct_nrm_hr=params.hsct_nrm_hr, pfs_hr=_pfs_hr(params),
                  hazards=params.hazards(), coefficients=params.coefficients(),
                  latent=_latent(frame, resp, hist))
    return frame, truth


def policy_survival(params: ModelParams, times: np.ndarray, *,
                    policies: tuple[str | float, ...] = ("never", 100.0), n: int = 200_000,
                    seed: int = 20240630) -> pd.DataFrame:
    """True (Monte Carlo, uncensored) PFS and OS under HSCT strategies.

    Each policy is simulated on the same baseline draw with ``n`` patients and no censoring;
    returns policy, time, pfs, os. ``"never"`` removes HSCT; a number d transplants everyone
    still in remission on day d. These are the estimands of clone-censor-weight analyses.
    """
    times = np.asarray(times, dtype=float)
    rows = []
    for policy in policies:
        rng = np.random.default_rng(seed)
        base = _baseline(params, n, rng)
        resp = _response(params, base, rng)
        h = _histories(params, base, resp, rng, policy)
        death = np.where(np.isnan(h["t_death"]), np.inf, h["t_death"])
        prog = np.fmin(np.where(np.isnan(h["t_relapse"]), np.inf, h["t_relapse"]), death)
        rows.append(pd.DataFrame({"policy": str(policy), "time": times,
                                  "pfs": (prog[None, :] > times[:, None]).mean(axis=1),
                                  "os": (death[None, :] > times[:, None]).mean(axis=1)}))
    return pd.concat(rows, ignore_index=True)
