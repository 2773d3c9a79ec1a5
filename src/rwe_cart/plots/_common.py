"""Pieces shared by the rwe_cart figures: time units and ticks, the numbers table under
an axis (child axes sharing x), argument checks and small formatting helpers.

Nothing here computes a statistic: the count table draws numbers it is given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text
from matplotlib.textpath import TextToPath
from matplotlib.ticker import FixedLocator
from matplotlib.transforms import Bbox, ScaledTranslation, blended_transform_factory

from rwe_cart.privacy import check_suppress, format_count as fmt_count  # noqa: F401 (re-exported to the plots)

__all__ = ["TIME_UNITS"]

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

# Artist ids of the count table, so tests and users can find what was drawn.
GID_COUNT = "risk-count"
GID_HEADING = "risk-group"
GID_HEADER = "risk-header"
LABEL_TABLE_AXES = "risk_table"


# --------------------------------------------------------------------------- layout


class CurveOverTable:
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


def attach_table_axes(ax: Axes, table_height_in: float) -> tuple[Axes, CurveOverTable]:
    """A child axes sharing x with ``ax``, carved out of the bottom of its slot."""
    ax_t = Axes(ax.get_figure(root=False), (0.0, 0.0, 1.0, 0.1), sharex=ax)
    ax.add_child_axes(ax_t)
    layout = CurveOverTable(ax, ax_t, table_height_in)
    ax.set_axes_locator(layout.curve)
    ax_t.set_axes_locator(layout.table)
    ax_t.set_label(LABEL_TABLE_AXES)
    return ax_t, layout


def table_height_in(n_lines: int, fontsize: float) -> float:
    """Height in inches of a count table of ``n_lines`` lines."""
    return n_lines * fontsize * 1.6 / 72.0


# --------------------------------------------------------------------------- the table


def draw_count_table(
    ax_t: Axes,
    counts: pd.DataFrame,
    lines: list[tuple[str, str, str | None, Any]],
    ticks: np.ndarray,
    fontsize: float,
    suppress_below: int | None,
    *,
    header: str,
    source: str = "counts",
) -> Text:
    """Write the numbers of ``counts`` under each tick, one line per ``lines`` entry.

    Parameters
    ----------
    counts
        Columns ``group``, ``time`` and the count columns named in ``lines``; one
        row per tick per group.
    lines
        (row label, colour, count column or None for a group heading, group), top
        to bottom.
    source
        Where ``counts`` came from, for the error message (e.g. "km.at_risk").

    Returns
    -------
    Text
        The header above the table (its height is part of the layout).
    """
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
                f"{source} returned {len(sub)} rows for group {g!r}, expected one per tick ({len(ticks)})"
            )
        values = sub[key].to_numpy()
        for i, (x, v) in enumerate(zip(ticks, values, strict=True)):
            s = fmt_count(v, suppress_below)
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


def pin_ticks(ax: Axes) -> None:
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


# --------------------------------------------------------------------------- checks


def check_unit(time_unit: str) -> str:
    unit = str(time_unit).lower()
    if unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNITS)}, got {time_unit!r}")
    return unit


def risk_row_keys(risk_rows: Sequence[str] | str, aliases: Mapping[str, str], hint: str,
                  *, required: bool = True) -> tuple[str, ...]:
    """The table rows asked for, as the keys ``aliases`` maps them to, in order, once each.

    ``hint`` names the accepted spellings in the error; ``required`` makes an empty list
    an error (a curve's risk table) rather than no table.
    """
    if isinstance(risk_rows, str):
        risk_rows = (risk_rows,)
    keys: list[str] = []
    for r in risk_rows:
        key = aliases.get(str(r).lower().replace("_", " ").strip()) or aliases.get(str(r).lower())
        if key is None:
            raise ValueError(f"risk_rows: unknown row {r!r}; use {hint}")
        if key not in keys:
            keys.append(key)
    if required and not keys:
        raise ValueError("risk_rows is empty; pass risk_table=False to draw no table")
    return tuple(keys)


def check_times(times: Sequence[float]) -> np.ndarray:
    t = np.asarray(times, dtype=float).ravel()
    if t.size == 0:
        raise ValueError("times is empty")
    if not np.isfinite(t).all() or (t < 0).any():
        raise ValueError(f"times must be finite and >= 0, got {list(times)!r}")
    return np.unique(t)


def nice_ticks(t_max: float, unit: str) -> np.ndarray:
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


def time_axis(t_last: float, times: Sequence[float] | None, unit: str) -> tuple[np.ndarray, float]:
    """x ticks (display units) and the right end of the x axis.

    Default ticks: every 1, 3, 6, 12, … units (at most 8 intervals) up to the last
    time, the axis running 2 % past it (room for a censor tick); given ``times``, the
    axis ends at the last one.
    """
    if times is None:
        ticks = nice_ticks(t_last, unit)
        x_right = max(t_last * 1.02, float(ticks[-1]))
    else:
        ticks = check_times(times)
        x_right = float(ticks[-1])
    return ticks, (x_right if x_right > 0 else 1.0)


def group_values(
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


def default_colors(n: int) -> list[str]:
    from rwe_cart.plots.theme import OKABE_ITO

    return [OKABE_ITO[i % len(OKABE_ITO)] for i in range(n)]


# --------------------------------------------------------------------------- text


def text_width_pt(text: str, fontsize: float, **font: Any) -> float:
    """Width in points of one line of ``text`` in the current theme's font."""
    prop = FontProperties(family=mpl.rcParams["font.family"], size=fontsize, **font)
    if not text:
        return 0.0
    return max(TextToPath().get_text_width_height_descent(s, prop, ismath=False)[0] for s in text.split("\n"))


def wrap_text(text: str, width_pt: float, fontsize: float) -> str:
    """Greedy word wrap of ``text`` to a measured width in points (existing line
    breaks are kept; a single word longer than the width stays whole)."""
    if not text:
        return ""
    out: list[str] = []
    for para in str(text).split("\n"):
        line = ""
        for word in para.split():
            trial = f"{line} {word}" if line else word
            if line and text_width_pt(trial, fontsize) > width_pt:
                out.append(line)
                line = word
            else:
                line = trial
        out.append(line)
    return "\n".join(out)


def legend_ncol(ax: Axes, names: list[str], fontsize: float) -> int:
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


def top_legend(ax: Axes, handles: list[Any], names: list[str]) -> float:
    """One legend row (or a few) above ``ax``; returns its height in points."""
    rc = mpl.rcParams
    fig = ax.get_figure(root=True)
    fs_legend = points(rc["legend.fontsize"])
    leg = ax.legend(
        handles,
        names,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=legend_ncol(ax, names, fs_legend),
        frameon=False,
        borderaxespad=0.3,
        borderpad=0.2,
    )
    # measured, not guessed (size does not depend on where it ends up)
    return leg.get_window_extent().height * 72.0 / fig.dpi + 0.3 * fs_legend


def points(size: Any) -> float:
    return float(FontProperties(size=size).get_size_in_points())


def axes_list(ax: Any, n: int, what: str) -> list[Axes] | None:
    """``ax`` as a list of ``n`` axes (an Axes counts as a list of one), or None."""
    if ax is None:
        return None
    if isinstance(ax, Axes):
        axs = [ax]
    else:
        axs = list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axs) != n or not all(isinstance(a, Axes) for a in axs):
        raise ValueError(f"ax: this {what} needs {n} axes (one per panel), got {len(axs)}")
    return axs


def add_annotation(ax: Axes, text: str, loc: str, fontsize: float) -> Any:
    """A text box inside ``ax`` at a matplotlib location ("lower left", …)."""
    from matplotlib.offsetbox import AnchoredText

    box = AnchoredText(text, loc=loc, frameon=True, pad=0.2, borderpad=0.4, prop={"size": fontsize})
    box.patch.set(facecolor="white", edgecolor="none", alpha=0.85)
    box.set_zorder(5)
    ax.add_artist(box)
    return box


def log_ticks(lo: float, hi: float) -> list[float]:
    """Readable ticks on a log axis, 3 to 7 of them: doublings around 1 (0.25, 0.5, 1,
    2, 4) when they reach both ends of the axis, else 1-2-5 steps, else decades, else
    finer steps."""
    doubling = [t for t in (2.0**k for k in range(-2, 5)) if lo <= t <= hi]  # 0.25 … 16
    if 3 <= len(doubling) <= 7 and doubling[0] <= 1.6 * lo and doubling[-1] >= hi / 1.6:
        return doubling

    def steps(mantissas: tuple[float, ...]) -> list[float]:
        ticks = [round(m * 10.0**e, 12) for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
                 for m in mantissas]
        return sorted({t for t in ticks if lo <= t * (1 + 1e-12) and t <= hi * (1 + 1e-12)})

    for mantissas in ((1.0, 2.0, 5.0), (1.0,), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0),
                      (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0)):
        ticks = steps(mantissas)
        if 3 <= len(ticks) <= 7:
            return ticks
    # a narrow range: evenly spaced nice numbers
    linear = mpl.ticker.MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
    return [float(t) for t in linear if lo <= t * (1 + 1e-12) and t <= hi * (1 + 1e-12)]
