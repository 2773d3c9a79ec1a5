"""Generic survival estimators validated against R's survival and cmprsk; no CAR-T names."""
from .km import KaplanMeier, kaplan_meier, median_followup
from .results import TestResult

__all__ = ["KaplanMeier", "TestResult", "kaplan_meier", "median_followup"]
