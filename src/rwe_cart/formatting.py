"""How numbers are written in every rwe_cart table, display and figure: one place, so a
table and its figure never disagree.

* p-values: 3 decimals, or ``"<0.001"`` below that floor; an em dash where there is none.
* Hazard ratios: ``"0.61 (0.42–0.88)"`` (2 decimals), the ratio alone when its limits are
  not finite, an em dash where the method gives none.
* Counts with small-cell suppression: :func:`rwe_cart.privacy.format_count`; a count with
  its percentage, ``"28 (14.8%)"``: :func:`format_count_percent`.
* Method names of the HSCT comparison: :data:`METHOD_LABELS`.
"""
from __future__ import annotations

import math
from typing import Any

from .privacy import format_count

__all__ = ["format_p", "format_hr", "format_fixed", "format_count_percent", "METHOD_LABELS",
           "NO_VALUE"]

#: What a cell shows where a method gives no number.
NO_VALUE = "—"

#: Display names of the methods of ``rwe_cart.hsct_effect``, for tables and forest plots.
METHOD_LABELS = {
    "naive": "Naive: ever vs never HSCT",
    "censor": "Censored at HSCT",
    "time_varying": "Time-varying Cox",
    "mantel_byar": "Mantel–Byar test",
    "simon_makuch": "Simon–Makuch curves",
    "landmark": "Landmark",
    "landmark_firth": "Landmark, Firth-penalised",
    "supermodel": "Landmark supermodel",
    "ccw": "Clone–censor–weight",
    "cause_specific_relapse": "Cause-specific Cox: relapse",
    "cause_specific_nrm": "Cause-specific Cox: NRM",
}


def _number(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def format_fixed(x: float, decimals: int) -> str:
    """``x`` to `decimals` places; ``"∞"``/``"−∞"``; never ``"-0.00"``."""
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    # + 0.0 turns a rounded -0.0 into 0.0
    return f"{round(x, decimals) + 0.0:.{decimals}f}"


def format_p(p: Any, decimals: int = 3) -> str:
    """``"0.034"``, ``"<0.001"`` (below ``10**-decimals``), ``"—"`` when absent.

    Examples
    --------
    >>> from rwe_cart.formatting import format_p
    >>> format_p(0.0342), format_p(2e-5), format_p(float("nan"))
    ('0.034', '<0.001', '—')
    """
    v = _number(p)
    if v is None:
        return NO_VALUE
    floor = 10.0 ** -decimals
    return f"<{floor:.{decimals}f}" if v < floor else format_fixed(v, decimals)


def format_hr(hr: Any, lower: Any = None, upper: Any = None, decimals: int = 2) -> str:
    """``"0.61 (0.42–0.88)"``; the ratio alone without finite limits; ``"—"`` without one.

    Examples
    --------
    >>> from rwe_cart.formatting import format_hr
    >>> format_hr(0.6123, 0.4187, 0.8801), format_hr(1.5), format_hr(float("nan"))
    ('0.61 (0.42–0.88)', '1.50', '—')
    """
    v = _number(hr)
    if v is None or math.isinf(v):
        return NO_VALUE
    lo, hi = _number(lower), _number(upper)
    text = format_fixed(v, decimals)
    if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi):
        text += f" ({format_fixed(lo, decimals)}–{format_fixed(hi, decimals)})"
    return text


def format_count_percent(n: Any, denominator: Any, suppress_below: int | None = None) -> str:
    """``"28 (14.8%)"``: the count and its percentage of `denominator` (1 decimal); the count
    alone without a denominator, or when it is suppressed (``"<5"``: its percentage would
    give it back).

    Examples
    --------
    >>> from rwe_cart.formatting import format_count_percent
    >>> format_count_percent(28, 189), format_count_percent(3, 189, 5), format_count_percent(4, 0)
    ('28 (14.8%)', '<5', '4')
    """
    shown = format_count(n, suppress_below)
    d = _number(denominator)
    if not d or shown.startswith("<") or _number(n) is None:
        return shown
    return f"{shown} ({format_fixed(100.0 * float(n) / d, 1)}%)"
