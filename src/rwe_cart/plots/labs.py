"""Laboratory trajectories after CAR-T: one panel per test, a patient and/or cohort bands.

The figure of the brexucabtagene autoleucel case report (Recenti Progressi in Medicina
2026;117(1):e24, Figure 1) shows haemoglobin, neutrophils, platelets and circulating CAR-T
cells at day 10 and months 1, 3, 6 and 12 after infusion. `plot_lab_trajectories` draws that
figure for one patient (points joined by lines) and/or the cohort median with its
interquartile band. It computes nothing: the patient's points are rows of the lab table and
the bands are the rows of a `rwe_cart.labs.LabSummary` (`rwe_cart.labs.lab_summary`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

from rwe_cart.labs import LAB_THRESHOLDS, LAB_UNITS, LabSummary
from rwe_cart.plots._common import TIME_UNITS, axes_list, pin_ticks, points
from rwe_cart.plots.theme import OKABE_ITO, new_figure, themed

__all__ = ["plot_lab_trajectories", "TEST_LABELS"]

#: Axis label of each test (canonical units of `rwe_cart.labs.LAB_UNITS`).
TEST_LABELS: dict[str, str] = {
    "hb": "Haemoglobin (g/dL)",
    "anc": "Neutrophils (/µL)",
    "plt": "Platelets (/µL)",
    "car_t": "CAR-T cells (/µL)",
    "alc": "Lymphocytes (/µL)",
    "wbc": "Leukocytes (/µL)",
}
_THRESHOLD_TEXT: dict[str, dict[float, str]] = {
    "anc": {500.0: "500/µL", 100.0: "100/µL"},
    "plt": {50_000.0: "50,000/µL", 20_000.0: "20,000/µL"},
    "hb": {8.0: "8 g/dL"},
}
_MONTH_TICKS = (0, 1, 3, 6, 9, 12, 18, 24, 36)

# Artist ids, so tests and users can find what was drawn.
GID_PATIENT = "lab-patient"
GID_MEDIAN = "lab-median"
GID_IQR = "lab-iqr"
GID_THRESHOLD = "lab-threshold"
GID_THRESHOLD_LABEL = "lab-threshold-label"
AXES_LABEL = "lab-{test}"


def plot_lab_trajectories(
    labs_or_result: pd.DataFrame | LabSummary,
    *,
    patient: Any = None,
    tests: Sequence[str] = ("hb", "anc", "plt", "car_t"),
    thresholds: bool | Mapping[str, Sequence[float]] = True,
    summary: LabSummary | None = None,
    ax: Axes | Sequence[Axes] | None = None,
    time_unit: str = "months",
    times: Sequence[float] | None = None,
    tick_labels: Sequence[str] | None = None,
    xlabel: str | None = None,
    log_scale: Sequence[str] = ("anc", "car_t"),
    x_scale: str = "sqrt",
    days: Sequence[float] | None = None,
    patient_label: str | None = None,
    summary_label: str = "Cohort median",
    band_label: str = "Interquartile range",
    colors: tuple[str, str] = (OKABE_ITO[1], OKABE_ITO[0]),
    ncols: int = 2,
    legend: bool = True,
    figsize: tuple[float, float] | None = None,
    patient_col: str = "patient_id",
    day_col: str = "day",
    test_col: str = "test",
    value_col: str = "value",
    unit_col: str = "unit",
) -> Figure:
    """Lab values over time after infusion: one panel per test (case-report Figure 1 style).

    Parameters
    ----------
    labs_or_result
        A long lab table (patient_id, day, test, value, unit; canonical units of
        `rwe_cart.labs.LAB_UNITS`, see `rwe_cart.labs.standardise_lab_units`) to draw one
        patient's values as points joined by lines, or a `LabSummary` (from
        `rwe_cart.labs.lab_summary`) to draw the cohort median and interquartile band.
    patient
        Which patient of the lab table to draw; may be omitted when the table holds one.
    tests
        Panels, in order: any of "hb", "anc", "plt", "car_t", "alc", "wbc".
    thresholds
        Dashed reference lines: True for the defaults of `rwe_cart.labs.LAB_THRESHOLDS`
        (ANC 500 and 100/µL, the ICAHT thresholds; platelets 50,000 and 20,000/µL, the
        T-ICAHT thresholds; Hb 8 g/dL), False for none, or a mapping test -> values.
    summary
        A `LabSummary` to draw as bands together with the patient of ``labs_or_result``.
    ax
        Axes to draw on: one per test (a sequence, or an Axes when there is one test).
    time_unit
        "months" (days / 30.4375; default) or "days" (also "weeks", "years").
    times
        x ticks in ``time_unit``; the axis ends at the last one. Default: 0, 1, 3, 6, 9, 12…
        months (or every 30/60/90… days) up to the last time drawn.
    tick_labels
        Text of the ``times`` ticks, e.g. ``("D10", "M1", "M3", "M6", "M12")``.
    xlabel
        x axis label (default "Months after infusion" / "Days after infusion").
    log_scale
        Tests drawn on a log y axis. Default: CAR-T cells (expansion and decline span four
        orders of magnitude) and neutrophils (the ICAHT thresholds 100 and 500/µL differ
        fivefold; profound neutropenia is invisible on a linear axis).
    x_scale
        "sqrt" (default): a square-root time axis that widens the first month, where the
        nadirs, the CAR-T peak and most measurements are, while still reaching month 12
        (tick labels stay in ``time_unit``); or "linear".
    days
        Draw only the rows at these days (e.g. ``(10, 30, 91, 183, 365)``: day 10 and months
        1, 3, 6 and 12 of the case-report figure); a selection of rows, nothing is computed.
    patient_label, summary_label, band_label
        Legend entries (the patient label defaults to "Patient <id>").
    colors
        (patient colour, cohort colour); Okabe–Ito vermillion and blue by default.
    ncols
        Panels per row when the figure is made here.
    legend
        One legend above the panels (when more than one kind of element is drawn).
    figsize
        Figure size (inches) when ``ax`` is not given; default 6.85 in wide (double column).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Nothing is computed: the patient's points are the rows of the lab table (sorted by day),
    the bands are ``summary.table`` (q1, median, q3). Axes carry labels "lab-<test>";
    artists carry gids "lab-patient", "lab-median", "lab-iqr", "lab-threshold" and
    "lab-threshold-label". Values <= 0 cannot be drawn on a log axis and are masked.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, rwe_cart as rc
    >>> labs = rc.datasets.rocca_like_labs()
    >>> summary = rc.lab_summary(labs, tests=["anc", "plt"], time_points=[0, 7, 14, 28, 90])
    >>> fig = rc.plot_lab_trajectories(labs, patient="R0001", tests=["anc", "plt"], summary=summary)
    >>> len(fig.axes)
    2
    >>> plt.close(fig)
    """
    if x_scale not in ("linear", "sqrt"):
        raise ValueError(f"x_scale must be 'linear' or 'sqrt', got {x_scale!r}")
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {list(TIME_UNITS)}, got {time_unit!r}")
    tests = [str(t).lower() for t in ([tests] if isinstance(tests, str) else tests)]
    unknown = [t for t in tests if t not in TEST_LABELS]
    if not tests or unknown:
        raise ValueError(f"tests: unknown {unknown or 'none given'}; use any of {list(TEST_LABELS)}")
    if isinstance(labs_or_result, LabSummary):
        if summary is not None:
            raise ValueError("give the LabSummary once: as the first argument or as summary=")
        summary, labs = labs_or_result, None
    elif isinstance(labs_or_result, pd.DataFrame):
        labs = labs_or_result
    else:
        raise TypeError(f"labs_or_result must be a lab table (DataFrame) or a LabSummary, "
                        f"got {type(labs_or_result).__name__}")
    series = _patient_series(labs, patient, tests, patient_col, day_col, test_col, value_col, unit_col) \
        if labs is not None else None
    if series is not None and patient is None:
        patient = series.attrs["patient"]
    bands = _summary_rows(summary, tests) if summary is not None else None
    if days is not None:
        keep = np.asarray(days, dtype=float)
        series = series.loc[np.isin(series["day"], keep)] if series is not None else None
        bands = bands.loc[np.isin(bands["day"].to_numpy(float), keep)] if bands is not None else None
    lines = _threshold_values(thresholds, tests)
    scale = TIME_UNITS[time_unit]

    with themed():
        rc = mpl.rcParams
        axs = axes_list(ax, len(tests), "figure")
        own = axs is None
        if axs is None:
            nrow = -(-len(tests) // ncols)
            ncol = min(ncols, len(tests))
            size = figsize or (6.85, 2.3 * nrow + (0.35 if legend else 0.0))
            fig = new_figure(size)
            grid = fig.subplots(nrow, ncol, squeeze=False)
            axs = list(grid.ravel()[: len(tests)])
            for extra in grid.ravel()[len(tests):]:
                extra.remove()
        else:
            fig = axs[0].get_figure(root=True)
        pcolor, ccolor = colors
        t_max, t_min = 0.0, 0.0
        for a, test in zip(axs, tests, strict=True):
            a.set_label(AXES_LABEL.format(test=test))
            log = test in log_scale
            if log:
                a.set_yscale("log", nonpositive="mask")
            if bands is not None:
                b = bands.loc[bands["test"] == test].sort_values("day", kind="stable")
                x = b["day"].to_numpy(float) / scale
                a.fill_between(x, b["q1"].to_numpy(float), b["q3"].to_numpy(float), color=ccolor, alpha=0.18,
                               linewidth=0, zorder=1.0, gid=GID_IQR)
                a.plot(x, b["median"].to_numpy(float), color=ccolor, linewidth=1.0, marker="o", markersize=2.2,
                       zorder=2.0, gid=GID_MEDIAN)
                t_max = max(t_max, float(x.max()) if len(x) else 0.0)
                t_min = min(t_min, float(x.min()) if len(x) else 0.0)
            if series is not None:
                s = series.loc[series["test"] == test]
                x = s["day"].to_numpy(float) / scale
                a.plot(x, s["value"].to_numpy(float), color=pcolor, linewidth=1.2, marker="o", markersize=3.5,
                       markeredgecolor="white", markeredgewidth=0.5, zorder=3.0, gid=GID_PATIENT)
                t_max = max(t_max, float(x.max()) if len(x) else 0.0)
                t_min = min(t_min, float(x.min()) if len(x) else 0.0)
            for value in lines.get(test, ()):
                a.axhline(value, color="0.35", linestyle=(0, (4, 2.5)), linewidth=0.7, zorder=1.5,
                          gid=GID_THRESHOLD)
                a.annotate(_THRESHOLD_TEXT.get(test, {}).get(float(value), f"{value:g}"), xy=(1.0, value),
                           xycoords=("axes fraction", "data"), xytext=(2.0, 0.0), textcoords="offset points",
                           ha="left", va="center", fontsize=points(rc["xtick.labelsize"]) - 0.5, color="0.3",
                           annotation_clip=False, gid=GID_THRESHOLD_LABEL)
            a.set_ylabel(TEST_LABELS[test])
            _y_axis(a, test, log)
        ticks, right = _x_ticks(times, t_max, time_unit)
        if tick_labels is not None and (times is None or len(tick_labels) != len(ticks)):
            raise ValueError("tick_labels needs times= with one label per time")
        xlabel = xlabel if xlabel is not None else f"{time_unit.capitalize()} after infusion"
        for i, a in enumerate(axs):
            if x_scale == "sqrt":
                a.set_xscale("function", functions=(_sqrt, _square))
            a.xaxis.set_major_locator(FixedLocator(ticks))
            if tick_labels is not None:
                a.set_xticks(ticks, list(tick_labels))
            else:
                a.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            left = min(t_min, float(ticks[0]))
            if x_scale == "sqrt":  # pad in the drawn (square-root) space, only before day 0
                lo, hi = _sqrt(left), _sqrt(right)
                a.set_xlim(float(_square(lo - 0.03 * (hi - lo))) if left < 0 else left, right)
            else:
                a.set_xlim(left - 0.02 * (right - left), right)
            # a figure made here labels the time axis of its bottom panels only
            a.set_xlabel(xlabel if not own or i + ncols >= len(axs) else "")
            pin_ticks(a)
        if legend:
            handles, names = _legend_entries(series, bands, lines, patient, patient_label, summary_label,
                                             band_label, pcolor, ccolor)
            if len(handles) > 1:
                fig.legend(handles, names, loc="outside upper center", ncol=len(handles), frameon=False)
    return fig


# --------------------------------------------------------------------------- inputs
def _patient_series(labs: pd.DataFrame, patient: Any, tests: list[str], patient_col: str, day_col: str,
                    test_col: str, value_col: str, unit_col: str) -> pd.DataFrame:
    missing = [c for c in (patient_col, day_col, test_col, value_col) if c not in labs.columns]
    if missing:
        raise ValueError(f"labs lacks column(s) {missing}; it has {list(labs.columns)}")
    ids = pd.unique(labs[patient_col])
    if patient is None:
        if len(ids) != 1:
            raise ValueError(f"labs holds {len(ids)} patients: choose one with patient=, or draw the cohort "
                             f"from rwe_cart.labs.lab_summary(labs)")
        patient = ids[0]
    rows = labs.loc[labs[patient_col] == patient]
    if rows.empty:
        raise ValueError(f"patient {patient!r} is not in labs")
    tnorm = rows[test_col].astype(str).str.lower()
    rows = rows.loc[tnorm.isin(tests)].assign(**{test_col: tnorm[tnorm.isin(tests)]})
    if unit_col in rows.columns:
        canon = rows[test_col].map(LAB_UNITS)
        wrong = rows[unit_col].astype(str) != canon
        if wrong.any():
            bad = rows.loc[wrong, [test_col, unit_col]].drop_duplicates().head(3)
            pairs = ", ".join(f"{t} in {u!r}" for t, u in bad.itertuples(index=False))
            raise ValueError(f"labs: {pairs}; the figure draws canonical units {LAB_UNITS}: convert with "
                             f"rwe_cart.labs.standardise_lab_units(labs) first")
    out = pd.DataFrame({"test": rows[test_col].to_numpy(), "day": pd.to_numeric(rows[day_col]).to_numpy(float),
                        "value": pd.to_numeric(rows[value_col]).to_numpy(float)})
    out = out.sort_values(["test", "day"], kind="stable").reset_index(drop=True)
    out.attrs["patient"] = patient
    return out


def _summary_rows(summary: LabSummary, tests: list[str]) -> pd.DataFrame:
    tab = summary.table
    absent = [t for t in tests if t not in set(tab["test"])]
    if absent:
        raise ValueError(f"summary has no rows for test(s) {absent}; it has {sorted(set(tab['test']))}")
    wrong = tab.loc[tab["test"].isin(tests) & (tab["unit"] != tab["test"].map(LAB_UNITS))]
    if len(wrong):
        raise ValueError(f"summary: unexpected units {wrong[['test', 'unit']].drop_duplicates().values.tolist()}")
    return tab.loc[tab["test"].isin(tests)]


def _threshold_values(thresholds: bool | Mapping[str, Sequence[float]], tests: list[str]) -> dict[str, tuple]:
    if thresholds is True:
        return {t: LAB_THRESHOLDS.get(t, ()) for t in tests}
    if thresholds is False or thresholds is None:
        return {}
    if isinstance(thresholds, Mapping):
        return {str(k).lower(): tuple(float(v) for v in (vals if np.ndim(vals) else [vals]))
                for k, vals in thresholds.items()}
    raise TypeError(f"thresholds must be True, False or a mapping test -> values, got {thresholds!r}")


# --------------------------------------------------------------------------- axes
def _x_ticks(times: Sequence[float] | None, t_max: float, unit: str) -> tuple[np.ndarray, float]:
    if times is not None:
        ticks = np.asarray(times, dtype=float)
        if ticks.ndim != 1 or len(ticks) < 2 or np.any(np.diff(ticks) <= 0):
            raise ValueError(f"times must be at least two increasing values, got {list(times)!r}")
        return ticks, float(ticks[-1])
    if unit == "months":
        ticks = np.array([t for t in _MONTH_TICKS if t <= max(t_max, 1.0) + 1e-9] or [0, 1], dtype=float)
        if ticks[-1] < t_max - 1e-9:
            ticks = np.append(ticks, _MONTH_TICKS[len(ticks)] if len(ticks) < len(_MONTH_TICKS) else t_max)
    else:
        step = next((s for s in (1, 2, 7, 14, 30, 60, 90, 180, 365, 730)
                     if t_max / s <= 8), 730) if unit == "days" else max(1.0, np.ceil(t_max / 8))
        ticks = np.arange(0.0, t_max + step, step)
    right = max(float(ticks[-1]), t_max) * 1.0 + 0.02 * float(ticks[-1])
    return ticks, right


def _sqrt(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.sign(x) * np.sqrt(np.abs(x))


def _square(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    return np.sign(y) * y * y


def _y_axis(a: Axes, test: str, log: bool) -> None:
    if log:
        a.yaxis.set_major_locator(LogLocator(base=10.0, numticks=8))
        a.yaxis.set_minor_locator(LogLocator(base=10.0, subs=tuple(range(2, 10)), numticks=12))
        a.yaxis.set_minor_formatter(NullFormatter())
        a.yaxis.set_major_formatter(FuncFormatter(_log_label))
        a.tick_params(axis="y", which="minor", left=True, length=mpl.rcParams["ytick.minor.size"],
                      width=mpl.rcParams["ytick.minor.width"])
        lo, hi = a.get_ylim()  # data limits; start at the decade below when it is near
        if lo > 0 and np.isfinite(lo) and np.log10(lo) - np.floor(np.log10(lo) + 1e-9) < 0.5:
            a.set_ylim(10.0 ** np.floor(np.log10(lo) + 1e-9), hi)
        return
    if test != "hb":
        a.set_ylim(bottom=0.0)
    if test in ("plt", "anc", "alc", "wbc"):
        a.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def _log_label(v: float, _pos: Any) -> str:
    if v <= 0:
        return ""
    return f"{v:g}" if 1e-3 <= v < 1e5 else f"$10^{{{int(round(np.log10(v)))}}}$"


def _legend_entries(series: pd.DataFrame | None, bands: pd.DataFrame | None, lines: dict, patient: Any,
                    patient_label: str | None, summary_label: str, band_label: str, pcolor: str,
                    ccolor: str) -> tuple[list[Any], list[str]]:
    handles: list[Any] = []
    names: list[str] = []
    if series is not None:
        handles.append(Line2D([], [], color=pcolor, linewidth=1.2, marker="o", markersize=3.5,
                              markeredgecolor="white", markeredgewidth=0.5))
        names.append(patient_label if patient_label is not None else f"Patient {patient}")
    if bands is not None:
        handles.append(Line2D([], [], color=ccolor, linewidth=1.0, marker="o", markersize=2.2))
        names.append(summary_label)
        handles.append(Patch(facecolor=ccolor, alpha=0.18, linewidth=0))
        names.append(band_label)
    if any(len(v) for v in lines.values()):
        handles.append(Line2D([], [], color="0.35", linestyle=(0, (4, 2.5)), linewidth=0.7))
        names.append("Grade threshold")
    return handles, names
