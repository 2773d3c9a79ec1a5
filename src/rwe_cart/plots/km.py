"""Kaplan–Meier figure with a numbers-at-risk table (KMunicate layout).

The plot computes nothing statistical: curves and bands come from ``km.table``,
the numbers under the axis from ``km.at_risk(times)`` and the median lines from
``km.median()``, so every number drawn can be printed from the same result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, PercentFormatter

from rwe_cart.plots._common import (  # GID_* and LABEL_TABLE_AXES: re-exported, as before
    GID_COUNT,  # noqa: F401
    GID_HEADER,  # noqa: F401
    GID_HEADING,  # noqa: F401
    LABEL_TABLE_AXES,  # noqa: F401
    TIME_UNITS,
    add_annotation,
    attach_table_axes,
    check_suppress,
    check_unit,
    default_colors,
    draw_count_table,
    group_values,
    pin_ticks,
    points,
    risk_row_keys,
    table_height_in,
    time_axis,
    top_legend,
)
from rwe_cart.plots.theme import new_figure, themed

if TYPE_CHECKING:
    from rwe_cart.survival.km import KaplanMeier

__all__ = ["plot_km", "TIME_UNITS"]

_ROW_KEYS: dict[str, str] = {
    "at risk": "n_risk",
    "n_risk": "n_risk",
    "risk": "n_risk",
    "censored": "n_censor",
    "n_censor": "n_censor",
    "censor": "n_censor",
    "events": "n_event",
    "n_event": "n_event",
    "event": "n_event",
}
_ROW_LABELS = {"n_risk": "At risk", "n_censor": "Censored", "n_event": "Events"}

# Artist ids, so tests and users can find what was drawn.
GID_CURVE = "km-curve"
GID_CI = "km-ci"
GID_CENSOR = "km-censor"
GID_MEDIAN = "km-median"
LABEL_CURVE_AXES = "km"
# GID_COUNT "risk-count", GID_HEADING "risk-group", GID_HEADER "risk-header" and
# LABEL_TABLE_AXES "risk_table" come from _common (shared by every count table).

_CURVE_HEIGHT_IN = 2.9  # curve panel height when plot_km makes the figure
_DEFAULT_WIDTH_IN = 6.5


def plot_km(
    km: KaplanMeier,
    *,
    ax: Axes | None = None,
    times: Sequence[float] | None = None,
    time_unit: str = "months",
    risk_table: bool = True,
    risk_rows: Sequence[str] = ("at risk", "censored", "events"),
    ci: bool = True,
    censor_ticks: bool = True,
    median_lines: bool = True,
    annotation: str | None = None,
    suppress_below: int | None = None,
    labels: Mapping[Any, str] | Sequence[str] | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str = "Survival probability",
    colors: Mapping[Any, str] | Sequence[str] | None = None,
    percent: bool = False,
    legend: str | None = "top",
    annotation_loc: str = "lower left",
    risk_header: str | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Plot Kaplan–Meier curves with a numbers-at-risk table aligned under the x axis.

    KMunicate layout by default (Morris et al. 2019): step curves with shaded
    confidence bands, censoring ticks, median reference lines and an extended table
    of numbers at risk, cumulative censored and cumulative events at each x tick.

    Parameters
    ----------
    km
        A :class:`~rwe_cart.KaplanMeier` result (times in days).
    ax
        Draw the curves on this axes (e.g. one panel of a larger figure). The
        risk table is then carved out of the bottom of the same axes area. Without
        ``ax`` a new figure is made, sized for a journal page (6.5 in wide).
    times
        x tick positions in display units (``time_unit``); the table shows its
        numbers at exactly these times and the x axis ends at the last one.
        Default: every 3, 6, 12, … months (at most 8 intervals) up to the last
        observed time.
    time_unit
        "months" (days / 30.4375, default), "days", "weeks" (days / 7) or "years"
        (days / 365.25).
    risk_table
        Draw the numbers-at-risk table under the curves.
    risk_rows
        Which table rows to show, in order: any of "at risk", "censored",
        "events" (the last two cumulative up to and including the tick time).
    ci
        Shade the pointwise confidence band (``km.table`` columns lower/upper).
    censor_ticks
        Mark censoring times (rows with ``n_censor > 0``) with "|" on the curve.
    median_lines
        Dotted lines from 0.5 to the curve and down to the axis, for groups whose
        median is reached.
    annotation
        Text written inside the plot, e.g. "HR 0.62 (95% CI 0.40–0.95);
        log-rank p = 0.03". Placed at ``annotation_loc``.
    suppress_below
        Small-cell suppression: table counts from 1 to ``suppress_below - 1``
        show as "<k" (0 stays 0).
    labels
        Display names of the groups: a mapping group -> name, or a sequence in the
        order of ``km.groups``.
    title, xlabel, ylabel
        Axis texts. ``xlabel`` defaults to "Time (<time_unit>)".
    colors
        Group colours (mapping or sequence); default Okabe–Ito.
    percent
        Label the y axis 0–100 % instead of 0–1.
    legend
        "top" (one row above the plot, default), any matplotlib legend location
        ("upper right", "best", …) to place it inside, or None for no legend. A
        single-group plot has no legend.
    annotation_loc
        Where the annotation goes (matplotlib location string).
    risk_header
        Header above the table; default describes the rows shown, e.g. "Number at
        risk (cumulative censored, events)".
    figsize
        Figure size in inches when ``ax`` is not given.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, or the figure of ``ax``. Nothing is shown; save it with
        :func:`rwe_cart.plots.save`.

    Notes
    -----
    The table is its own axes sharing x with the curve axes, so each number sits
    under its tick; it is a child axes of the curve axes (``ax.child_axes``), so
    layout engines and ``bbox_inches="tight"`` account for its row labels. The new
    figure is not registered with pyplot (nothing to close, no figure limit; it
    renders itself in Jupyter). The curve axes has label "km" and the table axes
    "risk_table"; artists carry gids "km-curve", "km-ci", "km-censor", "km-median",
    "risk-count", "risk-group" (group headings) and "risk-header".

    References
    ----------
    .. [1] Morris TP, Jarvis CI, Cragg W, Phillips PPJ, Choodari-Oskooei B,
           Sydes MR. Proposals on Kaplan–Meier plots in medical research and a
           survey of stakeholder views: KMunicate. BMJ Open. 2019;9:e030215.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, rwe_cart as rc
    >>> cohort = rc.datasets.rocca_like()
    >>> pfs = cohort.endpoint("PFS", with_columns=["extramedullary"])
    >>> km = rc.kaplan_meier(pfs, "time", "event", by="extramedullary")
    >>> fig = rc.plot_km(km, labels={False: "No EMD", True: "EMD"}, times=[0, 6, 12, 18, 24])
    >>> fig.axes[0].get_xlabel()
    'Time (months)'
    >>> plt.close(fig)
    """
    unit = check_unit(time_unit)
    rows = risk_row_keys(risk_rows, _ROW_KEYS, "any of 'at risk', 'censored', 'events'") if risk_table else ()
    check_suppress(suppress_below)

    groups = tuple(km.groups)
    if not groups:
        raise ValueError("the KaplanMeier result has no groups (empty table)")
    names = group_values(labels, groups, "labels", default=[str(g) for g in groups])
    palette = group_values(colors, groups, "colors", default=default_colors(len(groups)))

    scale = TIME_UNITS[unit]
    tab = km.table
    t_last = float(tab["time"].max()) / scale if len(tab) else 0.0
    ticks, x_right = time_axis(t_last, times, unit)

    with themed():
        rc = mpl.rcParams
        fs_small = points(rc["xtick.labelsize"])
        multi = len(groups) > 1
        lines = _table_lines(rows, groups, names, palette, multi)
        table_h = table_height_in(len(lines), fs_small)
        if ax is None:
            if figsize is None:
                extra = table_h + 0.25 if rows else 0.0  # table and its header
                figsize = (_DEFAULT_WIDTH_IN, _CURVE_HEIGHT_IN + 0.85 + extra)
            fig = new_figure(figsize)
            ax = fig.add_subplot()
        else:
            fig = ax.get_figure(root=True)
        ax_t, layout = attach_table_axes(ax, table_h) if rows else (None, None)
        ax.set_label(LABEL_CURVE_AXES)

        handles = _draw_curves(
            ax, km, groups, names, palette, scale, ci=ci, censor_ticks=censor_ticks, median_lines=median_lines
        )

        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.set_xlim(0.0, x_right)
        ax.set_ylim(0.0, 1.02)
        ax.yaxis.set_major_locator(FixedLocator([0.0, 0.25, 0.5, 0.75, 1.0]))
        if percent:
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        ax.set_xlabel(xlabel if xlabel is not None else f"Time ({unit})")
        ax.set_ylabel(ylabel)
        ax.spines[["top", "right"]].set_visible(False)

        legend_pt = 0.0  # height taken by a legend above the axes
        if multi and legend is not None:
            if legend == "top":
                legend_pt = top_legend(ax, handles, names)
            else:
                ax.legend(handles, names, loc=legend, frameon=False)
        if title is not None:
            ax.set_title(title, loc="left", pad=rc["axes.titlepad"] + legend_pt)
        if annotation:
            add_annotation(ax, annotation, annotation_loc, fs_small)
        pin_ticks(ax)

        if ax_t is not None and layout is not None:
            layout.header = _draw_table(
                ax_t,
                km,
                lines,
                ticks,
                scale,
                fs_small,
                suppress_below,
                header=risk_header if risk_header is not None else _header(rows),
            )
    return fig


# --------------------------------------------------------------------------- drawing


def _draw_curves(
    ax: Axes,
    km: KaplanMeier,
    groups: tuple[Any, ...],
    names: list[str],
    palette: list[str],
    scale: float,
    *,
    ci: bool,
    censor_ticks: bool,
    median_lines: bool,
) -> list[Line2D]:
    tab = km.table
    handles = []
    for g, name, color in zip(groups, names, palette, strict=True):
        sub = tab.loc[tab["group"] == g].sort_values("time", kind="stable")
        t = np.concatenate([[0.0], sub["time"].to_numpy(float) / scale])
        s = np.concatenate([[1.0], sub["survival"].to_numpy(float)])
        if ci:
            lo = np.concatenate([[1.0], sub["lower"].to_numpy(float)])
            hi = np.concatenate([[1.0], sub["upper"].to_numpy(float)])
            ok = np.isfinite(lo) & np.isfinite(hi)
            ax.fill_between(
                t, lo, hi, where=ok, step="post", color=color, alpha=0.2, linewidth=0, zorder=1.0, gid=GID_CI
            )
        (line,) = ax.step(t, s, where="post", color=color, label=name, zorder=2.0, gid=GID_CURVE)
        handles.append(line)
        if censor_ticks:
            cens = sub.loc[sub["n_censor"] > 0]
            ax.plot(
                cens["time"].to_numpy(float) / scale,
                cens["survival"].to_numpy(float),
                linestyle="none",
                marker="|",
                markersize=4.5,
                markeredgewidth=0.8,
                color=color,
                zorder=2.1,
                label=f"_censor {name}",
                gid=GID_CENSOR,
            )
    if median_lines:
        med = km.median()
        for g in groups:
            m = med.loc[med["group"] == g, "median"]
            if len(m) and np.isfinite(m.iloc[0]):
                x = float(m.iloc[0]) / scale
                ax.plot(
                    [0.0, x, x],
                    [0.5, 0.5, 0.0],
                    linestyle=(0, (1, 1.5)),
                    linewidth=0.8,
                    color="0.35",
                    zorder=1.5,
                    label="_median",
                    gid=GID_MEDIAN,
                )
    return handles


def _draw_table(
    ax_t: Axes,
    km: KaplanMeier,
    lines: list[tuple[str, str, str | None, Any]],
    ticks: np.ndarray,
    scale: float,
    fontsize: float,
    suppress_below: int | None,
    *,
    header: str,
) -> Text:
    counts = km.at_risk(ticks * scale)
    return draw_count_table(
        ax_t, counts, lines, ticks, fontsize, suppress_below, header=header, source="km.at_risk"
    )


# --------------------------------------------------------------------------- helpers


def _table_lines(
    rows: tuple[str, ...], groups: tuple[Any, ...], names: list[str], palette: list[str], multi: bool
) -> list[tuple[str, str, str | None, Any]]:
    """(label, colour, column or None for a group heading, group), top to bottom."""
    lines: list[tuple[str, str, str | None, Any]] = []
    if not rows:
        return lines
    for g, name, color in zip(groups, names, palette, strict=True):
        if len(rows) == 1:
            lines.append((name if multi else _ROW_LABELS[rows[0]], color, rows[0], g))
            continue
        if multi:
            lines.append((name, color, None, g))
        lines.extend((_ROW_LABELS[key], color, key, g) for key in rows)
    return lines


def _header(rows: tuple[str, ...]) -> str:
    words = {"n_risk": "at risk", "n_censor": "censored", "n_event": "events"}
    cum = [words[k] for k in rows if k != "n_risk"]
    if "n_risk" in rows:
        return "Number at risk" + (f" (cumulative {', '.join(cum)})" if cum else "")
    return "Cumulative number " + " and ".join(cum)
