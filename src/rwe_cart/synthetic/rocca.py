"""ROCCA-like real-world registry: parameters calibrated to Roloff et al. (JCO 2024).

Targets (189 infused adults, commercial brexucabtagene autoleucel, 31 US centres):
CR/CRi 151 (80% of infused), MRD-negative CR 119 (63%), median PFS 9.5 months,
median OS not reached at a median follow-up of 11.4 months, about 30 consolidative
allo-HSCTs in remission (about 26 in patients without an earlier HSCT), prior HSCT 40%,
CRS grade >= 3 about 10%, ICANS grade >= 3 about 30%. See data/synthetic/README.md for the
measured values.

References
----------
.. [1] Roloff GW, Aldoss I, Kopmar NE, et al. Outcomes after brexucabtagene autoleucel
       administered as a standard therapy for adults with relapsed/refractory B-cell acute
       lymphoblastic leukemia. J Clin Oncol. 2024.
"""
from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd

from .model import ModelParams, PiecewiseHazard, Stratum, Truth, simulate

N = 189
N_RESPONDERS = 151
N_MRD_NEGATIVE = 119
N_CONSOLIDATIVE_HSCT = 30
DEFAULT_SEED = 31  # chosen by calibration (see data/synthetic/README.md)

PARAMS = ModelParams(
    name="rocca_like",
    id_prefix="R",
    strata=(Stratum("all", 1.0, N_RESPONDERS / N, "2021-10-15", "2023-12-31", accrual_ramp=2.5),),
    data_cutoff="2024-06-30",
    age_mean=45.0, age_sd=15.0, age_min=18.0, age_max=81.0,
    p_female=0.46, p_prior_hsct=0.40, p_extramedullary=0.25, p_ph_positive=0.29,
    p_prior_blinatumomab=0.55, p_prior_inotuzumab=0.40, p_low_blasts=0.42,
    blasts_beta=(1.1, 1.4), prior_lines_extra=2.0,
    crs_probs=(0.15, 0.42, 0.33, 0.07, 0.03),
    icans_probs=(0.45, 0.11, 0.14, 0.21, 0.09),
    cri_share=0.20, mrd_negative_share=N_MRD_NEGATIVE / N_RESPONDERS,
    ne_share=0.30, pd_share=0.30,
    relapse=PiecewiseHazard((0, 60, 120, 180, 270, 365, 540, 730),
                            (0.00063, 0.00094, 0.00105, 0.00094, 0.00083, 0.00062, 0.0003, 0.0001)),
    nrm=PiecewiseHazard((0, 90, 180, 365), (0.0005, 0.00025, 0.00012, 0.00006)),
    hsct=PiecewiseHazard((0, 40, 120, 200, 300), (0.0, 0.0026, 0.00155, 0.0005, 0.0)),
    hsct_prior_hsct=math.log(0.18), hsct_hr=0.6,
    trm=PiecewiseHazard((0, 100, 365), (0.0007, 0.0002, 0.00005)),
    post_relapse_death=PiecewiseHazard((0, 90, 180, 365, 730), (0.0035, 0.0028, 0.0013, 0.0005, 0.0002)),
    salvage_hsct_share=0.12, next_therapy_share=0.80, unknown_cause_share=0.04,
    last_contact_lag_mean=140.0, dropout_rate=0.0002,
)


def simulate_rocca(seed: int = DEFAULT_SEED, *, n: int = N, params: ModelParams = PARAMS,
                   exact_hsct: bool = True) -> tuple[pd.DataFrame, Truth]:
    """ROCCA-like registry frame and its truth.

    With ``exact_hsct`` (default) and n = 189 the draw is conditioned on exactly 30
    consolidative HSCTs in remission; for another n the target scales (round(30 n / 189)).
    """
    count = round(N_CONSOLIDATIVE_HSCT * n / N) if exact_hsct else None
    return simulate(params, n, seed, hsct_count=count)


def with_hsct_effect(hsct_hr: float, *, params: ModelParams = PARAMS, **changes) -> ModelParams:
    """The ROCCA-like parameters with another true relapse hazard ratio of HSCT."""
    return replace(params, hsct_hr=float(hsct_hr), **changes)


__all__ = ["PARAMS", "DEFAULT_SEED", "N", "simulate_rocca", "with_hsct_effect"]
