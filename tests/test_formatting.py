"""The one place numbers are written: p-values, hazard ratios with limits, fixed decimals."""
import numpy as np
import pytest

from rwe_cart.formatting import NO_VALUE, format_count_percent, format_fixed, format_hr, format_p


@pytest.mark.parametrize("x, decimals, shown", [
    (0.125, 2, "0.12"), (0.135, 2, "0.14"), (2.5, 0, "2"), (-0.0004, 2, "0.00"), (-0.0, 1, "0.0"),
    (-1.25, 1, "-1.2"), (np.inf, 2, "∞"), (-np.inf, 2, "−∞"), (44.0, 1, "44.0"),
])
def test_format_fixed(x, decimals, shown):
    assert format_fixed(x, decimals) == shown


def test_format_fixed_agrees_with_python_formatting_away_from_zero():
    # Table 1 percentages and medians moved to format_fixed: the same strings as before
    x = np.concatenate([np.random.default_rng(3).uniform(0, 100, 20000),
                        (100 * np.arange(200)[:, None] / np.arange(1, 200)[None, :]).ravel()])
    for d in (1, 3):
        assert [format_fixed(float(v), d) for v in x] == [f"{v:.{d}f}" for v in x]


@pytest.mark.parametrize("p, decimals, shown", [
    (0.0342, 3, "0.034"), (0.001, 3, "0.001"), (0.000999, 3, "<0.001"), (2e-5, 4, "<0.0001"),
    (1.0, 3, "1.000"), (None, 3, NO_VALUE), (float("nan"), 3, NO_VALUE), ("n/a", 3, NO_VALUE),
])
def test_format_p(p, decimals, shown):
    assert format_p(p, decimals) == shown


@pytest.mark.parametrize("args, shown", [
    ((0.6123, 0.4187, 0.8801), "0.61 (0.42–0.88)"),
    ((1.5,), "1.50"),
    ((1.5, 0.9, np.inf), "1.50"),            # limits shown only when both are finite
    ((1.5, np.nan, 2.0), "1.50"),
    ((np.inf, 1.0, 2.0), NO_VALUE),
    ((None,), NO_VALUE),
])
def test_format_hr(args, shown):
    assert format_hr(*args) == shown


def test_format_hr_decimals():
    assert format_hr(0.61234, 0.41871, 0.88012, decimals=3) == "0.612 (0.419–0.880)"


def test_count_with_percent():
    assert format_count_percent(28, 189) == "28 (14.8%)"
    assert format_count_percent(0, 189) == "0 (0.0%)"
    assert format_count_percent(189, 189) == "189 (100.0%)"
    assert format_count_percent(3, 189, suppress_below=5) == "<5"      # no percentage back
    assert format_count_percent(7, 189, suppress_below=5) == "7 (3.7%)"
    assert format_count_percent(4, 0) == "4" and format_count_percent(4, None) == "4"
    assert format_count_percent(float("nan"), 10) == "–"
    assert format_count_percent(2.5, 10) == "2.5 (25.0%)"              # a weighted count
