"""Multi-state models with R ``mstate`` conventions (Putter, Fiocco & Geskus 2007;
de Wreede, Fiocco & Putter 2010, 2011).

Public: :func:`transitions` (:class:`Transitions`), :func:`multistate_frame` (``msprep``),
:func:`expand_covariates` (``expand.covs``), :func:`transition_hazards` (``msfit``,
:class:`TransitionHazards`), :func:`state_probabilities` (``probtrans``,
:class:`StateProbabilities`), :func:`landmark_aalen_johansen` (``LMAJ``) and
:func:`length_of_stay` (``ELOS``, :class:`LengthOfStay`); ``TRANSITIONS_ATTR`` is the
``frame.attrs`` key by which a long frame carries its model.

This module is where the names are public; the code lives by job in private modules:
``_ms_transitions`` (the model), ``_ms_frame`` (long format and expanded covariates),
``_ms_hazards`` (msfit) and ``_ms_probabilities`` (probtrans, LMAJ, ELOS). Each public
function validates its input once and calls the array code in
:mod:`rwe_cart.survival._multistate_core`. Cox models are fitted with
:func:`rwe_cart.survival.cox.cox` on the long frame.
"""
from __future__ import annotations

from ._ms_frame import expand_covariates, multistate_frame
from ._ms_hazards import TransitionHazards, transition_hazards
from ._ms_probabilities import (LengthOfStay, StateProbabilities, landmark_aalen_johansen,
                                length_of_stay, state_probabilities)
from ._ms_transitions import TRANSITIONS_ATTR, Transitions, transitions

__all__ = ["Transitions", "TransitionHazards", "StateProbabilities", "LengthOfStay",
           "transitions", "multistate_frame", "expand_covariates", "transition_hazards",
           "state_probabilities", "landmark_aalen_johansen", "length_of_stay",
           "TRANSITIONS_ATTR"]
