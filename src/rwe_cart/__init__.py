"""rwe_cart: real-world outcome analyses of CAR-T therapy.

Everything public is importable from here: ``import rwe_cart as rc``.
"""
from .cohort import Cohort
from .endpoints import endpoint
from .io import load_adam, load_events, load_registry
from .schema import CohortValidationError
from .tables import TableOne, table_one
from .timeline import landmark_frame, split_timeline

__all__ = [
    "Cohort",
    "CohortValidationError",
    "endpoint",
    "landmark_frame",
    "load_adam",
    "load_events",
    "load_registry",
    "split_timeline",
    "TableOne",
    "table_one",
]
__version__ = "0.1.0"
