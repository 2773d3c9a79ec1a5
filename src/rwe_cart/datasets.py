"""Bundled synthetic cohorts with known truth: ROCCA-like (registry) and ZUMA-3-like (ADaM).

Both are drawn on the fly from the documented data-generating model
(`rwe_cart.synthetic.model`, described in ``data/synthetic/README.md``); with the default
seeds they are identical to the files in ``data/synthetic/`` (``make data`` rewrites them).

Examples
--------
>>> import rwe_cart as rc
>>> cohort = rc.datasets.rocca_like()
>>> len(cohort)
189
>>> truth = rc.datasets.rocca_like_truth()
>>> truth.hsct_hr
0.6
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd

from .synthetic import rocca, zuma3
from .synthetic.model import Truth

ROCCA_SEED = rocca.DEFAULT_SEED
ZUMA3_SEED = zuma3.DEFAULT_SEED


@lru_cache(maxsize=16)
def _rocca(seed: int) -> tuple[pd.DataFrame, Truth]:
    return rocca.simulate_rocca(seed)


@lru_cache(maxsize=16)
def _zuma3(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Truth]:
    frame, truth = zuma3.simulate_zuma3(seed)
    adsl, adtte = zuma3.to_adam(frame)
    return frame, adsl, adtte, truth


def rocca_like_frame(seed: int = ROCCA_SEED) -> pd.DataFrame:
    """The ROCCA-like registry table (one row per patient, contract column names, dates as
    datetime64), as written to ``data/synthetic/rocca_like.csv`` for the default seed."""
    return _rocca(int(seed))[0].copy()


def rocca_like_truth(seed: int = ROCCA_SEED) -> Truth:
    """The data-generating truth behind `rocca_like` (parameters, true HSCT effect, latent
    histories)."""
    return _rocca(int(seed))[1]


def rocca_like(seed: int = ROCCA_SEED, *, return_truth: bool = False):
    """ROCCA-like real-world cohort: 189 adults infused with brexucabtagene autoleucel.

    Parameters
    ----------
    seed : int
        Generator seed; the default reproduces ``data/synthetic/rocca_like.csv``.
    return_truth : bool
        Also return the `Truth` (then the result is ``(cohort, truth)``).

    Returns
    -------
    Cohort, or (Cohort, Truth)
    """
    from .io import load_registry

    cohort = load_registry(rocca_like_frame(seed))
    return (cohort, rocca_like_truth(seed)) if return_truth else cohort


def zuma3_like_frame(seed: int = ZUMA3_SEED) -> pd.DataFrame:
    """The ZUMA-3-like cohort in registry form (with a ``stratum`` column), before ADaM."""
    return _zuma3(int(seed))[0].copy()


def zuma3_like_adam(seed: int = ZUMA3_SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ADSL, ADTTE) of the ZUMA-3-like trial, dates as datetime64; the default seed
    reproduces ``data/synthetic/zuma3_like_adsl.*`` and ``zuma3_like_adtte.*``."""
    _, adsl, adtte, _ = _zuma3(int(seed))
    return adsl.copy(), adtte.copy()


def zuma3_like_adrs(seed: int = ZUMA3_SEED) -> pd.DataFrame:
    """The ZUMA-3-like ADRS (response assessments, best response, MRD) as a frame; the
    default seed reproduces ``data/synthetic/zuma3_like_adrs.*``."""
    return zuma3.to_adrs(_zuma3(int(seed))[0])


def zuma3_like_truth(seed: int = ZUMA3_SEED) -> Truth:
    """The data-generating truth behind `zuma3_like`."""
    return _zuma3(int(seed))[3]


def zuma3_like(seed: int = ZUMA3_SEED, *, return_truth: bool = False):
    """ZUMA-3-like trial cohort (78 treated, 55 in phase 2) loaded from its ADaM tables.

    Parameters
    ----------
    seed : int
        Generator seed; the default reproduces the bundled ADSL/ADTTE files.
    return_truth : bool
        Also return the `Truth` (then the result is ``(cohort, truth)``).
    """
    from .io import load_adam

    adsl, adtte = zuma3_like_adam(seed)
    cohort = load_adam(adsl, adtte)
    return (cohort, zuma3_like_truth(seed)) if return_truth else cohort


__all__ = ["rocca_like", "rocca_like_frame", "rocca_like_labs", "rocca_like_truth", "zuma3_like",
           "zuma3_like_adam", "zuma3_like_adrs", "zuma3_like_frame", "zuma3_like_labs", "zuma3_like_truth",
           "ROCCA_SEED", "ZUMA3_SEED"]


def rocca_like_labs(seed: int = ROCCA_SEED) -> pd.DataFrame:
    """Synthetic long lab table of the ROCCA-like cohort (``data/synthetic/labs/``)."""
    from .synthetic.labs import simulate_labs

    return simulate_labs(_rocca(int(seed))[0], int(seed))


def zuma3_like_labs(seed: int = ZUMA3_SEED) -> pd.DataFrame:
    """Synthetic long lab table of the ZUMA-3-like cohort (``data/synthetic/labs/``)."""
    from .synthetic.labs import simulate_labs

    return simulate_labs(_zuma3(int(seed))[0], int(seed))
