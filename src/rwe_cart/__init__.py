"""rwe_cart: real-world outcome analyses of CAR-T therapy.

Everything public is importable from here: ``import rwe_cart as rc``.
"""
# Every public name loads with its submodule on first use (PEP 562 module __getattr__), so
# `import rwe_cart` costs little more than the interpreter: a bootstrap or simulation worker, a
# report kernel and `rwe-cart validate` pay only for what they use (scipy.stats, statsmodels,
# matplotlib, pyreadstat, papermill, … load with the functions that need them).
import importlib
import importlib.util

# The library's messages (report progress, bootstrap failures, …) go to the "rwe_cart"
# logger, which has a NullHandler: showing them is the application's choice.
from . import _log  # noqa: F401

# submodule -> the public names it provides
_EXPORTS = {
    "cohort": ("Cohort", "UnavailableInputError"),
    "endpoints": ("endpoint",),
    "exposure": ("CartMultistate", "DynamicPrediction", "MultistateCox", "dynamic_prediction",
                 "CCWResult", "CompetingRisksView", "EffectModification", "ExposureComparison",
                 "ExposureEstimate", "LandmarkGrid", "LandmarkSupermodel", "SimonMakuch", "ccw",
                 "censor_at_exposure", "clone_censor", "effect_modification_cox",
                 "exposure_cause_specific_cox", "hsct_effect", "incidence_after_exposure",
                 "landmark_cox", "landmark_cox_grid", "landmark_supermodel", "mantel_byar_test",
                 "naive_cox", "simon_makuch_curves", "time_varying_cox"),
    "io": ("UnreadableTableError", "load_adam", "load_events", "load_labs", "load_registry"),
    "labs": ("LabSummary", "car_hematotox", "icaht_grade", "lab_summary", "standardise_lab_units",
             "toxicity_table"),
    "parallel": ("BootstrapError", "BootstrapResult", "ReplicateError", "ReplicateFailure",
                 "bootstrap", "repeat", "replicate_rng"),
    "plots": ("plot_attrition", "plot_cif", "plot_forest", "plot_km", "plot_lab_trajectories",
              "plot_landmark", "plot_simon_makuch", "plot_simulation_bias", "plot_swimmer",
              "plot_state_diagram", "plot_state_probabilities"),
    "schema": ("CohortValidationError",),
    "survival": ("Concordance", "CoxCoef", "CoxModel", "CumulativeIncidence", "FineGrayModel",
                 "KaplanMeier", "LogLik", "NotEstimableError", "RMSTResult", "TestResult",
                 "cause_specific_cox", "cox", "cox_coef", "cumulative_incidence", "fine_gray",
                 "finegray_expand", "gray_test", "kaplan_meier", "logrank", "median_followup",
                 "rmst", "LengthOfStay", "StateProbabilities", "TransitionHazards", "Transitions",
                 "expand_covariates", "landmark_aalen_johansen", "length_of_stay",
                 "multistate_frame", "state_probabilities", "transition_hazards", "transitions"),
    "tables": ("TableOne", "export_table", "format_table", "suppress_counts", "table_html",
               "table_one"),
    "timeline": ("landmark_frame", "split_timeline"),
}
_SOURCE = {name: module for module, names in _EXPORTS.items() for name in names}

# the names above, and the subpackages that are namespaces of their own
# (rc.datasets.rocca_like(), rc.plots.theme(), rc.exposure.ccw_cohort())
__all__ = [*_SOURCE, "datasets", "exposure", "plots"]
from ._version import __version__  # noqa: E402


def __getattr__(name: str):
    if name in _SOURCE:
        value = getattr(importlib.import_module(f"{__name__}.{_SOURCE[name]}"), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        # a submodule (rc.exposure, rc.datasets, rc.survival, …); importing binds it here
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
