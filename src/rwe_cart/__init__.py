"""rwe_cart: real-world outcome analyses of CAR-T therapy.

Everything public is importable from here: ``import rwe_cart as rc``.
"""
from .cohort import Cohort, UnavailableInputError
from .endpoints import endpoint
from .exposure import (CCWResult, CompetingRisksView, EffectModification, ExposureComparison,
                       ExposureEstimate, LandmarkGrid, LandmarkSupermodel, SimonMakuch,
                       ccw, censor_at_exposure, clone_censor, effect_modification_cox,
                       exposure_cause_specific_cox, hsct_effect, incidence_after_exposure,
                       landmark_cox, landmark_cox_grid, landmark_supermodel, mantel_byar_test,
                       naive_cox, simon_makuch_curves, time_varying_cox)
from .io import UnreadableTableError, load_adam, load_events, load_labs, load_registry
from .labs import (LabSummary, car_hematotox, icaht_grade, lab_summary, standardise_lab_units,
                   toxicity_table)
from .parallel import (BootstrapError, BootstrapResult, ReplicateError, ReplicateFailure,
                       bootstrap, repeat, replicate_rng)
from .schema import CohortValidationError
from .survival import (Concordance, CoxCoef, CoxModel, CumulativeIncidence, FineGrayModel,
                       KaplanMeier, LogLik, NotEstimableError, RMSTResult, TestResult,
                       cause_specific_cox, cox, cox_coef, cumulative_incidence, fine_gray,
                       finegray_expand, gray_test, kaplan_meier, logrank, median_followup, rmst)
from .survival.multistate import (LengthOfStay, StateProbabilities, TransitionHazards,
                                  Transitions, expand_covariates, landmark_aalen_johansen,
                                  length_of_stay, multistate_frame, state_probabilities,
                                  transition_hazards, transitions)
from .tables import TableOne, export_table, format_table, suppress_counts, table_html, table_one
from .timeline import landmark_frame, split_timeline

__all__ = [
    "UnreadableTableError",
    "LabSummary",
    "car_hematotox",
    "icaht_grade",
    "lab_summary",
    "standardise_lab_units",
    "toxicity_table",
    "Concordance",
    "CoxCoef",
    "CoxModel",
    "CumulativeIncidence",
    "FineGrayModel",
    "LogLik",
    "NotEstimableError",
    "cause_specific_cox",
    "cox",
    "cox_coef",
    "cumulative_incidence",
    "fine_gray",
    "finegray_expand",
    "gray_test",
    "BootstrapError",
    "BootstrapResult",
    "ReplicateError",
    "ReplicateFailure",
    "bootstrap",
    "repeat",
    "replicate_rng",
    "Cohort",
    "CohortValidationError",
    "UnavailableInputError",
    "KaplanMeier",
    "TableOne",
    "TestResult",
    "datasets",
    "endpoint",
    "kaplan_meier",
    "landmark_frame",
    "logrank",
    "rmst",
    "RMSTResult",
    "load_adam",
    "load_events",
    "load_labs",
    "load_registry",
    "median_followup",
    "plot_attrition",
    "plot_cif",
    "plot_forest",
    "plot_km",
    "plot_lab_trajectories",
    "plot_landmark",
    "plot_simon_makuch",
    "plot_simulation_bias",
    "plot_swimmer",
    "plots",
    "split_timeline",
    "table_one",
    "export_table",
    "format_table",
    "suppress_counts",
    "table_html",
    # exposure methods (post-CAR-T HSCT without immortal time); cohort-level wrappers in
    # rwe_cart.exposure
    "exposure",
    "hsct_effect",
    "ExposureComparison",
    "ExposureEstimate",
    "CompetingRisksView",
    "EffectModification",
    "LandmarkGrid",
    "LandmarkSupermodel",
    "SimonMakuch",
    "CCWResult",
    "ccw",
    "clone_censor",
    "censor_at_exposure",
    "effect_modification_cox",
    "exposure_cause_specific_cox",
    "incidence_after_exposure",
    "landmark_cox",
    "landmark_cox_grid",
    "landmark_supermodel",
    "mantel_byar_test",
    "naive_cox",
    "simon_makuch_curves",
    "time_varying_cox",
    # multi-state models (mstate conventions)
    "Transitions",
    "TransitionHazards",
    "StateProbabilities",
    "LengthOfStay",
    "transitions",
    "multistate_frame",
    "expand_covariates",
    "transition_hazards",
    "state_probabilities",
    "landmark_aalen_johansen",
    "length_of_stay",
    "plot_state_probabilities",
    "plot_state_diagram",
]
from ._version import __version__  # noqa: E402

# Figures (matplotlib) and the synthetic cohorts (scipy.stats) load on first use, so that
# `import rwe_cart` stays quick in every worker process of a bootstrap or simulation.
_PLOTS = ("plot_attrition", "plot_cif", "plot_forest", "plot_km", "plot_lab_trajectories",
          "plot_landmark", "plot_simon_makuch", "plot_simulation_bias", "plot_swimmer",
          "plot_state_diagram", "plot_state_probabilities")
_LAZY = {"plots": ("rwe_cart.plots", None), "datasets": ("rwe_cart.datasets", None),
         **{name: ("rwe_cart.plots", name) for name in _PLOTS}}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = importlib.import_module(module)
        return getattr(value, attr) if attr else value
    raise AttributeError(f"module 'rwe_cart' has no attribute {name!r}")
