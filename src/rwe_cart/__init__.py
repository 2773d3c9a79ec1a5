"""rwe_cart: real-world outcome analyses of CAR-T therapy.

Everything public is importable from here: ``import rwe_cart as rc``.
"""
from . import datasets, plots
from .cohort import Cohort
from .endpoints import endpoint
from .io import load_adam, load_events, load_registry
from .parallel import (BootstrapError, BootstrapResult, ReplicateError, ReplicateFailure,
                       bootstrap, repeat, replicate_rng)
from .plots import plot_km
from .schema import CohortValidationError
from .survival import (KaplanMeier, RMSTResult, TestResult, kaplan_meier, logrank,
                       median_followup, rmst)
from .tables import TableOne, table_one
from .timeline import landmark_frame, split_timeline

__all__ = [
    "BootstrapError",
    "BootstrapResult",
    "ReplicateError",
    "ReplicateFailure",
    "bootstrap",
    "repeat",
    "replicate_rng",
    "Cohort",
    "CohortValidationError",
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
    "load_registry",
    "median_followup",
    "plot_km",
    "plots",
    "split_timeline",
    "table_one",
]
__version__ = "0.1.0"
