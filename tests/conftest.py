"""Fixtures shared by test modules in several folders: R's reference data sets."""
import pytest
from reference import load_data


@pytest.fixture(scope="module")
def heart():
    """survival's heart data (Stanford heart transplant, counting-process rows)."""
    return load_data("heart")


@pytest.fixture(scope="module")
def jasa():
    """survival's jasa data (Stanford heart transplant, one row per patient)."""
    return load_data("jasa")
