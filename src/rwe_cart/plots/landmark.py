"""Landmark analysis figure: hazard ratio of HSCT by landmark day, and landmark curves.

The plot computes nothing statistical: the estimates and counts are the cells of the
landmark grid it is given (columns ``landmark, n, exposed, events, hr, lower, upper,
p``), the curves are :class:`~rwe_cart.KaplanMeier` results drawn with
:func:`~rwe_cart.plots.plot_km`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from rwe_cart.plots._common import (
    TIME_UNITS,
    add_annotation,
    attach_table_axes,
    axes_list,
    check_suppress,
    check_unit,
    draw_count_table,
    log_ticks,
    pin_ticks,
    points,
    risk_row_keys,
    table_height_in,
)
from rwe_cart.plots.km import plot_km
from rwe_cart.plots.theme import DOUBLE_COLUMN_IN, OKABE_ITO, new_figure, themed

__all__ = ["plot_landmark"]

GID_POINT = "landmark-hr"
GID_CI = "landmark-ci"
GID_BAND = "landmark-band"
GID_ARROW = "landmark-arrow"
GID_NO_HR = "landmark-no-hr"
GID_REFERENCE = "landmark-reference"
LABEL_HR_AXES = "landmark"

_ROWS: dict[str, str] = {
    "n": "n",
    "at risk": "n",
    "n_risk": "n",
    "exposed": "exposed",
    "hsct": "exposed",
    "events": "events",
    "event": "events",
}
_ROW_LABELS = {"n": "At risk", "exposed": "HSCT by landmark", "events": "Events"}
_CURVE_LABELS = {0: "No HSCT by landmark", 1: "HSCT by landmark"}
_HR_HEIGHT_IN = 2.2
_CURVE_HEIGHT_IN = 1.9


def plot_landmark(
    grid: Any,
    *,
    curves: Mapping[str, Any] | None = None,
    ax: Axes | Sequence[Axes] | None = None,
    time_unit: str = "days",
    reference: float = 1.0,
    band: bool = False,
    risk_table: bool = True,
    risk_rows: Sequence[str] = ("n", "exposed", "events"),
    suppress_below: int | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str = "Hazard ratio, HSCT vs no HSCT",
    ylim: tuple[float, float] | None = None,
    annotation: str | None = None,
    annotation_loc: str = "upper right",
    color: str = OKABE_ITO[0],
    curve_labels: Mapping[Any, str] | Sequence[str] | None = None,
    curve_times: Sequence[float] | None = None,
    curve_time_unit: str = "months",
    curve_risk_rows: Sequence[str] = ("at risk",),
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Hazard ratio of HSCT against the landmark day, optionally with landmark curves.

    Parameters
    ----------
    grid
        A DataFrame with one row per landmark and columns ``landmark`` (days from
        time zero), ``hr, lower, upper`` and optionally ``n`` (at risk at the
        landmark), ``exposed`` (transplanted by the landmark), ``events``, ``p``; or
        a result carrying it as ``.table`` (``LandmarkGrid`` of
        ``rwe_cart.exposure.landmark_cox_grid``), ``.grid`` or ``.hr_table``
        (``LandmarkSupermodel``: draw it with ``band=True``).
    curves
        Optional ``{panel title: KaplanMeier}`` of landmark curves (time from the
        landmark, by exposure at the landmark); each is drawn in a panel under the
        hazard-ratio panel with :func:`~rwe_cart.plots.plot_km`.
    ax
        Draw on these axes: one Axes for the hazard-ratio panel, or a sequence of
        1 + len(curves) axes when ``curves`` is given.
    time_unit
        Unit of the landmark axis: "days" (default, as landmarks are chosen),
        "weeks", "months" or "years".
    reference
        y of the dashed no-effect line.
    band
        Draw the confidence limits as a shaded band joining the landmarks instead of
        a bar at each.
    risk_table, risk_rows
        Counts under the landmark axis, from the grid's columns: any of "n" (at risk
        at the landmark), "exposed" (HSCT by the landmark), "events"; rows whose
        column the grid lacks are left out.
    suppress_below
        Small-cell suppression: counts from 1 to ``suppress_below - 1`` show as "<k".
    title, xlabel, ylabel
        Texts of the hazard-ratio panel; ``xlabel`` defaults to "Landmark (<unit>
        after infusion)".
    ylim
        Limits of the (log) hazard-ratio axis; intervals running past them end in
        an arrow. Default: the data.
    annotation, annotation_loc
        Text in the hazard-ratio panel and where.
    color
        Colour of the estimates.
    curve_labels
        Group names of the landmark curves; default "No HSCT by landmark" / "HSCT by
        landmark" for groups 0/1.
    curve_times, curve_time_unit, curve_risk_rows
        ``times``, ``time_unit`` and ``risk_rows`` of the curve panels (plot_km).
    figsize
        Figure size in inches when ``ax`` is not given.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The hazard-ratio axes has label "landmark" and its count table "risk_table";
    artists carry gids "landmark-hr" (points), "landmark-ci", "landmark-band",
    "landmark-arrow", "landmark-no-hr" (text where a landmark has no estimate) and
    "landmark-reference". The counts under the axis are the grid's own numbers at
    each landmark (x ticks sit at the landmarks).

    Examples
    --------
    >>> import matplotlib.pyplot as plt, rwe_cart as rc
    >>> grid = rc.exposure.landmark_grid(rc.datasets.rocca_like(), "PFS", landmarks=[60, 100, 140])
    >>> fig = rc.plot_landmark(grid)
    >>> fig.axes[0].get_ylabel()
    'Hazard ratio, HSCT vs no HSCT'
    >>> plt.close(fig)
    """
    frame = _as_frame(grid)
    unit = check_unit(time_unit)
    check_suppress(suppress_below)
    rows = ()
    if risk_table:   # rows the grid has no column for are left out
        asked = risk_row_keys(risk_rows, _ROWS, "any of 'n', 'exposed', 'events'", required=False)
        rows = tuple(k for k in asked if k in frame)
    curves = dict(curves) if curves is not None else {}
    n_panels = 1 + len(curves)

    scale = TIME_UNITS[unit]
    x = frame["landmark"].to_numpy(float) / scale
    hr, lo, hi = (frame[c].to_numpy(float) for c in ("hr", "lower", "upper"))
    if ylim is None:
        finite = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in (hr, lo, hi)] + [np.array([reference])])
        y0, y1 = float(finite.min()), float(finite.max())
        y0, y1 = min(y0, reference / 1.5), max(y1, reference * 1.5)
        span = math.log(y1) - math.log(y0)
        ylim = (math.exp(math.log(y0) - 0.05 * span), math.exp(math.log(y1) + 0.05 * span))
    elif not 0 < ylim[0] < ylim[1]:
        raise ValueError(f"ylim must be positive and increasing (log axis), got {ylim!r}")

    with themed():
        rc = mpl.rcParams
        fs_small = points(rc["xtick.labelsize"])
        lines = [(_ROW_LABELS[k], "black", k, "all") for k in rows]
        table_h = table_height_in(len(lines), fs_small)
        axs = axes_list(ax, n_panels, "figure (hazard-ratio panel + one per curve)")
        if axs is None:
            hr_h = _HR_HEIGHT_IN + 0.8 + (table_h + 0.25 if rows else 0.0)
            if figsize is None:
                width = DOUBLE_COLUMN_IN if curves or len(x) > 6 else 4.5
                curve_h = _CURVE_HEIGHT_IN + 1.0 if curves else 0.0
                if curves:
                    kmax = max(len(km.groups) for km in curves.values())
                    curve_h += table_height_in(kmax * len(curve_risk_rows), fs_small) + 0.3
                figsize = (width, hr_h + curve_h)
            fig = new_figure(figsize)
            if curves:
                gs = fig.add_gridspec(2, len(curves), height_ratios=[hr_h, figsize[1] - hr_h])
                axs = [fig.add_subplot(gs[0, :])] + [fig.add_subplot(gs[1, j]) for j in range(len(curves))]
            else:
                axs = [fig.add_subplot()]
        else:
            fig = axs[0].get_figure(root=True)

        a = axs[0]
        a.set_label(LABEL_HR_AXES)
        ax_t, split = attach_table_axes(a, table_h) if rows else (None, None)
        _draw_estimates(a, x, hr, lo, hi, ylim, reference, color, band, fs_small)

        ticks = np.asarray(x, dtype=float)
        a.xaxis.set_major_locator(FixedLocator(ticks))
        a.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        pad = _x_pad(ticks)
        a.set_xlim(ticks.min() - pad, ticks.max() + pad)
        a.set_xlabel(xlabel if xlabel is not None else f"Landmark ({unit} after infusion)")
        a.set_ylabel(ylabel)
        a.spines[["top", "right"]].set_visible(False)
        if title:
            a.set_title(title, loc="left")
        if annotation:
            add_annotation(a, annotation, annotation_loc, fs_small)
        pin_ticks(a)
        if ax_t is not None and split is not None:
            counts = pd.DataFrame({"group": "all", "time": ticks, **{k: frame[k].to_numpy() for k in rows}})
            split.header = draw_count_table(
                ax_t, counts, lines, ticks, fs_small, suppress_below, header="Number at each landmark",
                source="the landmark grid",
            )

        for a_c, (name, km) in zip(axs[1:], curves.items(), strict=True):
            labels = curve_labels
            if labels is None and set(km.groups) <= {0, 1}:
                labels = {g: _CURVE_LABELS[int(g)] for g in km.groups}
            plot_km(
                km,
                ax=a_c,
                title=str(name),
                labels=labels,
                times=curve_times,
                time_unit=curve_time_unit,
                risk_rows=curve_risk_rows,
                suppress_below=suppress_below,
                xlabel=f"Time from landmark ({curve_time_unit})",
                median_lines=False,
            )
    return fig


def _draw_estimates(
    ax: Axes,
    x: np.ndarray,
    hr: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    ylim: tuple[float, float],
    reference: float,
    color: str,
    band: bool,
    fs_small: float,
) -> None:
    ax.set_yscale("log")
    ax.set_ylim(*ylim)
    ax.axhline(reference, color="0.3", linewidth=0.7, linestyle=(0, (4, 3)), zorder=1, gid=GID_REFERENCE)
    ok = np.isfinite(hr) & (hr > 0)
    ci_ok = ok & np.isfinite(lo) & np.isfinite(hi)
    y_lo, y_hi = ylim
    if band:
        ax.fill_between(x, np.clip(lo, y_lo, y_hi), np.clip(hi, y_lo, y_hi), where=ci_ok, color=color, alpha=0.2,
                        linewidth=0, zorder=1.5, gid=GID_BAND, interpolate=False)
        ax.plot(x[ok], hr[ok], color=color, linewidth=1.0, zorder=2, gid="landmark-line")
    else:
        for xi, a, b in zip(x[ci_ok], lo[ci_ok], hi[ci_ok], strict=True):
            a0, b0 = max(a, y_lo), min(b, y_hi)
            if b0 > a0:
                ax.plot([xi, xi], [a0, b0], color=color, linewidth=1.1, solid_capstyle="butt", zorder=2, gid=GID_CI)
    for xi, a, b in zip(x[ci_ok], lo[ci_ok], hi[ci_ok], strict=True):
        if a < y_lo:
            ax.plot([xi], [y_lo], marker="v", markersize=4, color=color, clip_on=False, zorder=2, gid=GID_ARROW)
        if b > y_hi:
            ax.plot([xi], [y_hi], marker="^", markersize=4, color=color, clip_on=False, zorder=2, gid=GID_ARROW)
    inside = ok & (hr >= y_lo) & (hr <= y_hi)
    ax.plot(x[inside], hr[inside], linestyle="none", marker="s", markersize=5.0, color=color, zorder=3, gid=GID_POINT)
    for xi in x[~ok]:
        ax.text(xi, reference, "no HR", ha="center", va="center", fontsize=fs_small, style="italic", color="0.45",
                zorder=3, gid=GID_NO_HR,
                bbox=dict(boxstyle="square,pad=0.15", facecolor="white", edgecolor="none"))
    ax.yaxis.set_major_locator(FixedLocator(log_ticks(y_lo, y_hi)))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))


def _x_pad(ticks: np.ndarray) -> float:
    if len(ticks) < 2:
        return max(abs(float(ticks[0])) * 0.2, 1.0)
    span = float(ticks.max() - ticks.min())
    return max(0.5 * float(np.min(np.diff(np.sort(ticks)))), 0.04 * span)


def _as_frame(grid: Any) -> pd.DataFrame:
    frame = grid
    if not isinstance(frame, pd.DataFrame):
        for attr in ("table", "grid", "hr_table"):
            value = getattr(grid, attr, None)
            if isinstance(value, pd.DataFrame):
                frame = value
                break
        else:
            raise TypeError(
                f"plot_landmark needs a DataFrame (landmark, hr, lower, upper, …) or a result with a .table, "
                f".grid or .hr_table DataFrame, got {type(grid).__name__}"
            )
    missing = [c for c in ("landmark", "hr", "lower", "upper") if c not in frame]
    if missing:
        raise ValueError(f"plot_landmark: the grid lacks {', '.join(missing)}; it has {list(frame.columns)!r}")
    if frame.empty:
        raise ValueError("plot_landmark: the grid has no rows")
    t = frame["landmark"].to_numpy(float)
    if not np.isfinite(t).all() or len(np.unique(t)) != len(t):
        raise ValueError("plot_landmark: column 'landmark' must hold distinct finite values, one row per landmark")
    return frame.sort_values("landmark", kind="stable").reset_index(drop=True)


