"""The CAR-T pathway as a multi-state model: infusion, remission, HSCT in remission,
relapse and death, with dynamic predictions of transplant strategies.

Public: :func:`rwe_cart.exposure.cart_transitions`, :func:`rwe_cart.exposure.cart_multistate` (``Cohort.multistate()``,
:class:`CartMultistate`), :meth:`~rwe_cart.CartMultistate.fit` (:class:`~rwe_cart.MultistateCox`) and
:func:`dynamic_prediction` (:class:`DynamicPrediction`).

The generic layer (:mod:`rwe_cart.survival.multistate`) knows nothing of CAR-T; this
module reads the cohort's day columns and its one rule for "HSCT in remission"
(``Cohort.patients["hsct_in_remission"]``) and builds the long frame with it.

The names are public here and in :mod:`rwe_cart.exposure`; the code lives by job in
``_ms_pathway`` (states, long frame, :class:`CartMultistate`), ``_ms_cox`` (the
transition-specific Cox model) and ``_ms_prediction`` (dynamic prediction).
"""
from __future__ import annotations

from ._ms_cox import MultistateCox
from ._ms_pathway import (MULTISTATE_NEEDS, STATES, CartMultistate, cart_multistate,
                          cart_transitions)
from ._ms_prediction import STRATEGIES, DynamicPrediction, dynamic_prediction

__all__ = ["STATES", "MULTISTATE_NEEDS", "STRATEGIES", "cart_transitions", "cart_multistate",
           "CartMultistate", "MultistateCox", "DynamicPrediction", "dynamic_prediction"]
