"""Intermediate-event methods: the effect of a post-CAR-T allo-HSCT without immortal time.

Two layers, as everywhere in the package:

* generic functions on plain frames (no CAR-T names), testable on any data — e.g. the
  Stanford heart-transplant data: :func:`naive_cox`, :func:`censor_at_exposure`,
  :func:`time_varying_cox`, :func:`mantel_byar_test`, :func:`simon_makuch_curves`,
  :func:`landmark_cox`, :func:`landmark_cox_grid`, :func:`landmark_supermodel`,
  :func:`effect_modification_cox`, :func:`exposure_cause_specific_cox`,
  :func:`incidence_after_exposure`;
* cohort-level wrappers that build the rows from a :class:`~rwe_cart.Cohort` with the
  exposure "HSCT in remission": :func:`naive`, :func:`censor`, :func:`time_varying`,
  :func:`mantel_byar`, :func:`simon_makuch`, :func:`landmark`, :func:`landmark_grid`,
  :func:`supermodel`, :func:`effect_modification`, :func:`competing`, and
  :func:`hsct_effect`, which runs several and returns an :class:`~rwe_cart.ExposureComparison`.

Clone–censor–weight: :func:`ccw` (generic) and :func:`ccw_cohort`.

Examples
--------
>>> import rwe_cart as rc
>>> cohort = rc.datasets.rocca_like()
>>> naive = rc.exposure.naive(cohort, "PFS")
>>> tv = rc.exposure.time_varying(cohort, "PFS")
>>> naive.biased, tv.biased
(True, False)
>>> round(naive.hr, 2), round(tv.hr, 2)
(0.2, 0.44)
"""
from ._result import ESTIMATE_COLUMNS, METHOD_LABELS, ExposureEstimate, comparison_table
from ._ccw import CCWResult, ccw, clone_censor
from ._ccw_cohort import ccw_cohort
from ._censor import censor, censor_at_exposure
from ._competing import (CompetingRisksView, competing, exposure_cause_specific_cox,
                        incidence_after_exposure)
from .hsct import DEFAULT_METHODS, METHODS, ExposureComparison, hsct_effect
from ._landmark import (LandmarkGrid, LandmarkSupermodel, landmark, landmark_cox,
                       landmark_cox_grid, landmark_grid, landmark_supermodel, median_hsct_day,
                       supermodel)
from ._multistate import (MULTISTATE_NEEDS, CartMultistate, DynamicPrediction, MultistateCox,
                          cart_multistate, cart_transitions, dynamic_prediction)
from .modification import EffectModification, effect_modification, effect_modification_cox
from ._naive import naive, naive_cox
from ._simon_makuch import SimonMakuch, simon_makuch, simon_makuch_curves
from .rows import excluded_frame, hsct_frame, HSCT_NEEDS, hsct_rows
from ._time_varying import mantel_byar, mantel_byar_test, time_varying, time_varying_cox

__all__ = [
    "ESTIMATE_COLUMNS", "METHOD_LABELS", "DEFAULT_METHODS", "METHODS", "HSCT_NEEDS",
    "ExposureEstimate", "ExposureComparison", "SimonMakuch", "LandmarkGrid",
    "LandmarkSupermodel", "EffectModification", "CompetingRisksView",
    "comparison_table", "CCWResult",
    # generic
    "ccw", "clone_censor", "naive_cox", "censor_at_exposure", "time_varying_cox", "mantel_byar_test",
    "simon_makuch_curves", "landmark_cox", "landmark_cox_grid", "landmark_supermodel",
    "effect_modification_cox", "exposure_cause_specific_cox", "incidence_after_exposure",
    # cohort level
    "ccw_cohort", "naive", "censor", "time_varying", "mantel_byar", "simon_makuch", "landmark",
    "landmark_grid", "supermodel", "effect_modification", "competing", "hsct_effect",
    "hsct_frame", "hsct_rows", "excluded_frame", "median_hsct_day",
    # the CAR-T pathway as a multi-state model
    "MULTISTATE_NEEDS", "CartMultistate", "MultistateCox", "DynamicPrediction",
    "cart_multistate", "cart_transitions", "dynamic_prediction",
]
