"""Generic survival estimators validated against R's survival and cmprsk; no CAR-T names."""
from .km import KaplanMeier, kaplan_meier, median_followup
from .logrank import logrank
from .rmst import RMSTResult, rmst
from .results import TestResult

__all__ = ["KaplanMeier", "RMSTResult", "TestResult", "kaplan_meier", "logrank", "median_followup", "rmst"]
