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
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnchoredText
from matplotlib.text import Text
from matplotlib.textpath import TextToPath
from matplotlib.transforms import Bbox, ScaledTranslation, blended_transform_factory
from matplotlib.ticker import FixedLocator, PercentFormatter

from rwe_cart.plots.theme import OKABE_ITO, new_figure, themed

if TYPE_CHECKING:
    from rwe_cart.survival.km import KaplanMeier

__all__ = ["plot_km", "TIME_UNITS"]

#: Days per display unit.
TIME_UNITS: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25}

# Tick spacing candidates per display unit; the smallest giving <= 8 intervals wins.
_TICK_STEPS: dict[str, tuple[float, ...]] = {
    "days": (7, 14, 30, 60, 90, 180, 365, 730),
    "weeks": (1, 2, 4, 8, 13, 26, 52, 104),
    "months": (1, 3, 6, 12, 24, 36, 60, 120),
    "years": (0.5, 1, 2, 5, 10),
}
_MAX_INTERVALS = 8

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
GID_COUNT = "risk-count"
GID_HEADING = "risk-group"
GID_HEADER = "risk-header"
LABEL_CURVE_AXES = "km"
LABEL_TABLE_AXES = "risk_table"

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
        A :class:`~rwe_cart.survival.km.KaplanMeier` result (times in days).
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
    """
    unit = _check_unit(time_unit)
    rows = _check_rows(risk_rows) if risk_table else ()
    if suppress_below is not None and (
        isinstance(suppress_below, bool) or int(suppress_below) != suppress_below or suppress_below < 1
    ):
        raise ValueError(f"suppress_below must be a positive integer, got {suppress_below!r}")

    groups = tuple(km.groups)
    if not groups:
        raise ValueError("the KaplanMeier result has no groups (empty table)")
    names = _group_values(labels, groups, "labels", default=[str(g) for g in groups])
    palette = _group_values(
        colors, groups, "colors", default=[OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(groups))]
    )

    scale = TIME_UNITS[unit]
    tab = km.table
    t_last = float(tab["time"].max()) / scale if len(tab) else 0.0
    if times is None:
        ticks = _nice_ticks(t_last, unit)
        x_right = max(t_last * 1.02, float(ticks[-1]))  # room for a censor tick at the end
    else:
        ticks = _check_times(times)
        x_right = float(ticks[-1])
    if x_right <= 0:
        x_right = 1.0

    with themed():
        rc = mpl.rcParams
        fs_small = _points(rc["xtick.labelsize"])
        multi = len(groups) > 1
        lines = _table_lines(rows, groups, names, palette, multi)
        line_h_in = fs_small * 1.6 / 72.0

        table_h = len(lines) * line_h_in
        if ax is None:
            if figsize is None:
                extra = table_h + 0.25 if rows else 0.0  # table and its header
                figsize = (_DEFAULT_WIDTH_IN, _CURVE_HEIGHT_IN + 0.85 + extra)
            fig = new_figure(figsize)
            ax = fig.add_subplot()
        else:
            fig = ax.get_figure(root=True)
        ax_t, layout = _attach_table_axes(ax, table_h) if rows else (None, None)
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
                fs_legend = _points(rc["legend.fontsize"])
                leg = ax.legend(
                    handles,
                    names,
                    loc="lower left",
                    bbox_to_anchor=(0.0, 1.0),
                    ncol=_legend_ncol(ax, names, fs_legend),
                    frameon=False,
                    borderaxespad=0.3,
                    borderpad=0.2,
                )
                # measured, not guessed (size does not depend on where it ends up)
                legend_pt = leg.get_window_extent().height * 72.0 / fig.dpi + 0.3 * fs_legend
            else:
                ax.legend(handles, names, loc=legend, frameon=False)
        if title is not None:
            ax.set_title(title, loc="left", pad=rc["axes.titlepad"] + legend_pt)
        if annotation:
            box = AnchoredText(
                annotation,
                loc=annotation_loc,
                frameon=True,
                pad=0.2,
                borderpad=0.4,
                prop={"size": fs_small},
            )
            box.patch.set(facecolor="white", edgecolor="none", alpha=0.85)
            box.set_zorder(5)
            ax.add_artist(box)
        _pin_ticks(ax)

        if ax_t is not None and layout is not None:
            ax_t.set_label(LABEL_TABLE_AXES)
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


# --------------------------------------------------------------------------- layout


class _CurveOverTable:
    """Axes locators that split one axes slot into the curve (top) and the table.

    The table keeps a fixed height; the gap between the two is measured at draw
    time (the curve's x tick labels and x label, then the table header), so nothing
    overlaps whatever the fonts. The table is a child axes of the curve axes, so
    constrained layout and ``bbox_inches="tight"`` see its row labels.
    """

    def __init__(self, ax: Axes, ax_t: Axes, table_height_in: float) -> None:
        self._ax = ax
        self._ax_t = ax_t
        self._table_in = table_height_in
        self.header: Text | None = None  # the text above the table, set once drawn

    def _split(self, renderer: Any) -> tuple[Any, float, float]:
        slot = self._ax.get_position(original=True)
        height_px = self._ax.get_figure(root=False).bbox.height
        table_px = renderer.points_to_pixels(72.0 * self._table_in)
        below = self._ax.xaxis.get_tightbbox(renderer)
        below_px = max(self._ax.bbox.y0 - below.y0, 0.0) if below is not None else 0.0
        header = self.header
        header_px = header.get_window_extent(renderer).height if header is not None and header.get_text() else 0.0
        gap_px = below_px + header_px + renderer.points_to_pixels(8.0)
        return slot, table_px / height_px, gap_px / height_px

    def curve(self, ax: Axes, renderer: Any) -> Any:
        slot, table, gap = self._split(renderer)
        used = min(table + gap, 0.8 * slot.height)
        return Bbox.from_bounds(slot.x0, slot.y0 + used, slot.width, slot.height - used)

    def table(self, ax: Axes, renderer: Any) -> Any:
        slot, table, gap = self._split(renderer)
        table = min(table, max(0.8 * slot.height - gap, 0.0))
        return Bbox.from_bounds(slot.x0, slot.y0, slot.width, table)


def _attach_table_axes(ax: Axes, table_height_in: float) -> tuple[Axes, _CurveOverTable]:
    ax_t = Axes(ax.get_figure(root=False), (0.0, 0.0, 1.0, 0.1), sharex=ax)
    ax.add_child_axes(ax_t)
    layout = _CurveOverTable(ax, ax_t, table_height_in)
    ax.set_axes_locator(layout.curve)
    ax_t.set_axes_locator(layout.table)
    return ax_t, layout


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
    n = len(lines)
    widest_first = 0.0
    prop = FontProperties(family=mpl.rcParams["font.family"], size=fontsize)
    measure = TextToPath()
    for y, (_label, _color, key, g) in enumerate(lines):
        if key is None:
            continue
        sub = counts.loc[counts["group"] == g].sort_values("time", kind="stable")
        if len(sub) != len(ticks):
            raise ValueError(
                f"km.at_risk returned {len(sub)} rows for group {g!r}, expected one per tick ({len(ticks)})"
            )
        values = sub[key].to_numpy()
        for i, (x, v) in enumerate(zip(ticks, values, strict=True)):
            s = _fmt_count(v, suppress_below)
            ax_t.text(
                x,
                y,
                s,
                ha="center",
                va="center_baseline",
                fontsize=fontsize,
                transform=ax_t.transData,
                clip_on=False,
                gid=GID_COUNT,
            )
            if i == 0:
                widest_first = max(widest_first, measure.get_text_width_height_descent(s, prop, ismath=False)[0])

    # Row labels are y tick labels (right-aligned, so layout engines see them); the
    # numbers under x = 0 are centred on the axis line, so the labels keep clear.
    label_pad = widest_first / 2 + 8.0
    label_width = max(
        (measure.get_text_width_height_descent(label, prop, ismath=False)[0] for label, _c, key, _g in lines if key),
        default=0.0,
    )
    ax_t.set_ylim(n - 0.5, -0.5)
    ax_t.yaxis.set_major_locator(FixedLocator(np.arange(n)))
    ax_t.set_yticklabels([label if key is not None else "" for label, _c, key, _g in lines])
    for tick_label, (_label, color, _key, _g) in zip(ax_t.get_yticklabels(), lines, strict=True):
        tick_label.set_color(color)
    ax_t.tick_params(axis="y", which="both", left=False, length=0, pad=label_pad, labelsize=fontsize)
    ax_t.tick_params(axis="x", which="both", bottom=False, top=False, labelbottom=False, labeltop=False)
    for spine in ax_t.spines.values():
        spine.set_visible(False)
    ax_t.patch.set_visible(False)
    ax_t.set_xlabel("")
    ax_t.set_ylabel("")

    # Group headings and the header start at the left edge of the row labels and run
    # over the (empty) table row, so long group names take no width from the plot.
    dpi_trans = ax_t.get_figure(root=True).dpi_scale_trans
    shift = -(label_pad + label_width) / 72.0
    row_trans = blended_transform_factory(ax_t.transAxes, ax_t.transData) + ScaledTranslation(shift, 0.0, dpi_trans)
    for y, (label, color, key, _g) in enumerate(lines):
        if key is None:
            ax_t.text(
                0.0,
                y,
                label,
                transform=row_trans,
                ha="left",
                va="center_baseline",
                fontsize=fontsize,
                fontweight="bold",
                color=color,
                clip_on=False,
                gid=GID_HEADING,
            )
    return ax_t.text(
        0.0,
        1.0,
        header,
        transform=ax_t.transAxes + ScaledTranslation(shift, 3.0 / 72.0, dpi_trans),
        ha="left",
        va="bottom",
        fontsize=mpl.rcParams["axes.labelsize"],
        clip_on=False,
        gid=GID_HEADER,
    )


def _pin_ticks(ax: Axes) -> None:
    """Store the theme's tick style on the axes, so ticks made at draw time keep it."""
    rc = mpl.rcParams
    for axis in ("x", "y"):
        ax.tick_params(
            axis=axis,
            which="major",
            direction=rc[f"{axis}tick.direction"],
            length=rc[f"{axis}tick.major.size"],
            width=rc[f"{axis}tick.major.width"],
            pad=rc[f"{axis}tick.major.pad"],
            labelsize=rc[f"{axis}tick.labelsize"],
            color=rc[f"{axis}tick.color"],
        )


# --------------------------------------------------------------------------- helpers


def _check_unit(time_unit: str) -> str:
    unit = str(time_unit).lower()
    if unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNITS)}, got {time_unit!r}")
    return unit


def _check_rows(risk_rows: Sequence[str]) -> tuple[str, ...]:
    if isinstance(risk_rows, str):
        risk_rows = (risk_rows,)
    keys = []
    for r in risk_rows:
        key = _ROW_KEYS.get(str(r).lower().replace("_", " ").strip()) or _ROW_KEYS.get(str(r).lower())
        if key is None:
            raise ValueError(f"risk_rows: unknown row {r!r}; use any of 'at risk', 'censored', 'events'")
        if key not in keys:
            keys.append(key)
    if not keys:
        raise ValueError("risk_rows is empty; pass risk_table=False to draw no table")
    return tuple(keys)


def _check_times(times: Sequence[float]) -> np.ndarray:
    t = np.asarray(times, dtype=float).ravel()
    if t.size == 0:
        raise ValueError("times is empty")
    if not np.isfinite(t).all() or (t < 0).any():
        raise ValueError(f"times must be finite and >= 0, got {list(times)!r}")
    return np.unique(t)


def _nice_ticks(t_max: float, unit: str) -> np.ndarray:
    for step in _TICK_STEPS[unit]:
        if t_max / step <= _MAX_INTERVALS:
            n = int(np.floor(t_max / step + 1e-9))
            if n >= 2:
                return np.arange(n + 1) * float(step)
            break
    # short follow-up for the unit (or very long): matplotlib's nice numbers
    vals = mpl.ticker.MaxNLocator(nbins=_MAX_INTERVALS, steps=[1, 2, 2.5, 5, 10]).tick_values(0.0, max(t_max, 1e-9))
    vals = vals[(vals >= 0) & (vals <= t_max * (1 + 1e-9))]
    return vals if len(vals) >= 2 else np.array([0.0, t_max if t_max > 0 else 1.0])


def _group_values(
    values: Mapping[Any, str] | Sequence[str] | None, groups: tuple[Any, ...], what: str, *, default: list[str]
) -> list[str]:
    if values is None:
        return default
    if isinstance(values, Mapping):
        return [str(values.get(g, d)) for g, d in zip(groups, default, strict=True)]
    if isinstance(values, str):
        values = [values]
    values = list(values)
    if len(values) != len(groups):
        raise ValueError(f"{what}: got {len(values)} values for {len(groups)} groups {list(groups)!r}")
    return [str(v) for v in values]


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


def _legend_ncol(ax: Axes, names: list[str], fontsize: float) -> int:
    """Most legend columns (at most 4) whose rows fit the width of the axes slot."""
    rc = mpl.rcParams
    fig = ax.get_figure(root=False)
    width_pt = ax.get_position(original=True).width * fig.bbox.width / fig.dpi * 72.0
    prop = FontProperties(family=rc["font.family"], size=fontsize)
    measure = TextToPath()
    entries = [
        measure.get_text_width_height_descent(name, prop, ismath=False)[0]
        + (rc["legend.handlelength"] + rc["legend.handletextpad"] + rc["legend.columnspacing"]) * fontsize
        for name in names
    ]
    for ncol in range(min(len(names), 4), 1, -1):
        # matplotlib fills legend columns top to bottom: widest entry per column
        per_col = -(-len(entries) // ncol)
        cols = [max(entries[i : i + per_col]) for i in range(0, len(entries), per_col)]
        if sum(cols) <= width_pt:
            return ncol
    return 1


def _header(rows: tuple[str, ...]) -> str:
    words = {"n_risk": "at risk", "n_censor": "censored", "n_event": "events"}
    cum = [words[k] for k in rows if k != "n_risk"]
    if "n_risk" in rows:
        return "Number at risk" + (f" (cumulative {', '.join(cum)})" if cum else "")
    return "Cumulative number " + " and ".join(cum)


def _fmt_count(v: Any, suppress_below: int | None) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or pd.isna(v):
        return "–"
    x = float(v)
    if suppress_below is not None and 0 < x < suppress_below:
        return f"<{int(suppress_below)}"
    return f"{int(round(x))}" if float(x).is_integer() else f"{x:.1f}"


def _points(size: Any) -> float:
    return float(FontProperties(size=size).get_size_in_points())
