"""Generic survival estimators validated against R's survival and cmprsk; no CAR-T names."""
from .competing import (CumulativeIncidence, FineGrayModel, cause_specific_cox,
                        cumulative_incidence, fine_gray, finegray_expand, gray_test)
from .cox import Concordance, CoxCoef, CoxModel, LogLik, NotEstimableError, cox, cox_coef
from .km import KaplanMeier, kaplan_meier, median_followup
from .logrank import logrank
from .multistate import (LengthOfStay, StateProbabilities, TransitionHazards, Transitions,
                         expand_covariates, landmark_aalen_johansen, length_of_stay,
                         multistate_frame, state_probabilities, transition_hazards,
                         transitions)
from .rmst import RMSTResult, rmst
from .results import TestResult

__all__ = [
    "Concordance", "CoxCoef", "CoxModel", "CumulativeIncidence", "FineGrayModel", "KaplanMeier", "LogLik", "NotEstimableError",
    "RMSTResult", "TestResult", "cause_specific_cox", "cox", "cox_coef", "cumulative_incidence", "fine_gray",
    "finegray_expand", "gray_test", "kaplan_meier", "logrank", "median_followup", "rmst",
    "LengthOfStay", "StateProbabilities", "TransitionHazards", "Transitions",
    "expand_covariates", "landmark_aalen_johansen", "length_of_stay", "multistate_frame",
    "state_probabilities", "transition_hazards", "transitions",
]
