"""Forest plot of hazard ratios: one row per method or subgroup, aligned text columns.

The plot computes nothing statistical: every number drawn is a cell of the table it
is given (``ExposureComparison.table``, ``CoxModel.summary`` or a DataFrame with the
same columns), only rounded for display.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator
from matplotlib.transforms import Bbox, ScaledTranslation, blended_transform_factory

from rwe_cart.formatting import METHOD_LABELS, format_hr, format_p
from rwe_cart.plots._common import (check_suppress, fmt_count, log_ticks, pin_ticks, points, text_width_pt,
                                    wrap_text)
from rwe_cart.plots.theme import DOUBLE_COLUMN_IN, OKABE_ITO, new_figure, themed

__all__ = ["plot_forest", "METHOD_NAMES"]

#: Display names of the methods of ``rwe_cart.hsct_effect`` (those of the comparison tables).
METHOD_NAMES = METHOD_LABELS

_LABEL_COLUMNS = ("label", "method", "term", "subgroup", "group")
_LABEL_HEADERS = {"label": "", "method": "Method", "term": "Term", "subgroup": "Subgroup", "group": "Group"}

# Artist ids and axes labels, so tests and users can find what was drawn.
GID_POINT = "forest-point"
GID_CI = "forest-ci"
GID_ARROW = "forest-arrow"
GID_NO_HR = "forest-no-hr"
GID_REFERENCE = "forest-reference"
GID_LABEL = "forest-label"
GID_BIASED = "forest-biased"
GID_ESTIMAND = "forest-estimand"
GID_COUNTS = "forest-n"
GID_HR = "forest-hr"
GID_P = "forest-p"
GID_HEADER = "forest-header"
GID_FOOTNOTE = "forest-footnote"
LABEL_PLOT_AXES = "forest"
LABEL_LEFT_AXES = "forest_left"
LABEL_RIGHT_AXES = "forest_right"

_COLOR = OKABE_ITO[0]
_GREY = "0.55"
_GAP_PT = 10.0  # between text columns
_MIN_PLOT_PT = 150.0  # plot width the estimand wrap aims to leave
_MIN_PLOT_NARROW_PT = 72.0  # below this the labels wrap
_MARGIN_PT = 12.0  # figure padding of constrained layout, both sides
_EST_COLUMN_MIN_PT = 110.0  # an estimand column narrower than this goes under the label
_EST_COLUMN_MAX_PT = 190.0
_EST_COLUMN_MAX_LINES = 4
_EST_BELOW_MIN_PT = 140.0  # wrap width of an estimand under the label
_EST_BELOW_MAX_PT = 260.0
_LINESPACING = 1.2
_BLOCK_GAP_PT = 1.5


def plot_forest(
    obj: Any,
    *,
    ax: Axes | None = None,
    labels: Mapping[Any, str] | Sequence[str] | None = None,
    reference: float = 1.0,
    log_scale: bool = True,
    show_estimand: bool = True,
    show_counts: bool = True,
    suppress_below: int | None = None,
    show_p: bool = True,
    sort: bool = False,
    xlim: tuple[float, float] | None = None,
    xlabel: str = "Hazard ratio (95% CI)",
    effect_header: str = "HR (95% CI)",
    label_header: str | None = None,
    favours: tuple[str, str] | None = None,
    footnotes: bool = True,
    separators: bool = False,
    title: str | None = None,
    color: str = _COLOR,
    estimand_layout: str = "auto",
    estimand_width: float | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Forest plot: point estimates with confidence intervals and aligned text columns.

    Parameters
    ----------
    obj
        A DataFrame with columns ``hr, lower, upper`` and a label column (the first
        of ``label, method, term, subgroup, group``); optional ``p, estimand, n,
        events, note``. Or a result carrying such a frame as ``.table`` (e.g.
        :class:`~rwe_cart.ExposureComparison` from ``rwe_cart.hsct_effect``) or ``.summary``
        (e.g. :class:`~rwe_cart.CoxModel`).
    ax
        Draw in this axes slot (the text columns are carved out of it); default a new
        figure sized to the rows (174 mm wide).
    labels
        Display names: a mapping raw label -> name, or one name per row (input
        order). Method names of ``hsct_effect`` get readable defaults
        (``METHOD_NAMES`` in this module).
    reference
        x of the dashed no-effect line (1 for ratios).
    log_scale
        Log x axis (ratios); False for differences (then set ``reference=0``).
    show_estimand
        Show the ``estimand`` column (wrapped) when the frame has one.
    show_counts
        Show "N / events" (or "N") when the frame has ``n`` (and ``events``).
    suppress_below
        Small-cell suppression of those counts: 1 to ``suppress_below - 1`` show as "<k".
    show_p
        Show the ``p`` column when the frame has one.
    sort
        Order rows by estimate (rows without one last); default the input order.
    xlim
        x limits; intervals running past them end in an arrow.
    xlabel, effect_header, label_header
        Axis label, header of the estimate column, header of the label column
        (default from the label column: "Method", "Term", "Subgroup", …).
    favours
        (left, right) texts written under the axis either side of the reference
        line, e.g. ``("Favours HSCT", "Favours no HSCT")``.
    footnotes
        Write the ``note`` of rows without an estimate under the plot.
    separators
        Thin lines between rows.
    title
        Title above the table, left-aligned.
    color
        Colour of the estimates (biased rows are grey and hollow).
    estimand_layout
        "column": the estimand in a column of its own; "below": under the label, in
        grey; "auto" (default): a column when every estimand fits in 4 lines there,
        else below.
    estimand_width
        Wrap width of the estimand in points (default from the figure width).
    figsize
        Figure size in inches when ``ax`` is not given.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Rows whose ``note`` mentions "biased" (the naive comparison: immortal time) are
    drawn in grey with a hollow marker, and the bias is named under the label, e.g.
    "(biased: immortal time)". Rows with no hazard ratio (NaN) show "no HR (see
    note)" in the plot area. The plot axes has label "forest", the text columns are
    child axes "forest_left" and "forest_right" sharing its y; artists carry gids
    "forest-point", "forest-ci", "forest-arrow", "forest-no-hr", "forest-label",
    "forest-biased", "forest-estimand", "forest-n", "forest-hr", "forest-p",
    "forest-header", "forest-footnote" and "forest-reference".

    Examples
    --------
    >>> import matplotlib.pyplot as plt, rwe_cart as rc
    >>> res = rc.hsct_effect(rc.datasets.rocca_like(), "PFS",
    ...                      methods=("naive", "time_varying", "landmark", "mantel_byar"))
    >>> fig = rc.plot_forest(res)
    >>> fig.axes[0].get_xscale()
    'log'
    >>> plt.close(fig)
    """
    frame, label_col = _as_frame(obj)
    if suppress_below is None:  # a result displayed with suppression keeps it in its figure
        suppress_below = getattr(obj, "suppress_below", None)
    check_suppress(suppress_below)
    rows = _rows(frame, label_col, labels, sort, suppress_below)
    has_estimand = show_estimand and "estimand" in frame and frame["estimand"].notna().any()
    has_counts = show_counts and "n" in frame
    count_header = "N / events" if has_counts and "events" in frame else "N"
    has_p = show_p and "p" in frame
    if xlim is not None:
        xlim = (float(xlim[0]), float(xlim[1]))
        if not xlim[0] < xlim[1] or (log_scale and xlim[0] <= 0):
            raise ValueError(f"xlim must be increasing{' and positive (log scale)' if log_scale else ''}, got {xlim!r}")
    if log_scale and reference <= 0:
        raise ValueError(f"reference must be > 0 on a log scale, got {reference!r}; pass log_scale=False")
    lo_x, hi_x = xlim if xlim is not None else _auto_xlim(rows, reference, log_scale)

    with themed():
        rc = mpl.rcParams
        fs = points(rc["font.size"])
        fs_small = points(rc["xtick.labelsize"])
        header_label = label_header if label_header is not None else _LABEL_HEADERS.get(label_col, "")

        # ---- widths (points). The estimand is a column of its own when it fits in a
        # few lines, else it goes under the label; then labels wrap; then a figure we
        # size grows wider, and one sized by the caller raises.
        auto_width = ax is None and figsize is None
        width_in = figsize[0] if figsize is not None else DOUBLE_COLUMN_IN
        if ax is not None:
            width_in = _slot_width_in(ax)
        avail = width_in * 72.0 - _MARGIN_PT

        def column_width(header: str, key: str) -> float:
            """Widest of the bold header and the column's (small) cells, in points."""
            return max([text_width_pt(header, fs, weight="bold")] + [text_width_pt(r[key], fs_small) for r in rows])

        count_w = column_width(count_header, "counts") if has_counts else 0.0
        hr_w = column_width(effect_header, "hr_text")
        p_w = column_width("p", "p_text") if has_p else 0.0
        right_w = _GAP_PT + hr_w + (_GAP_PT + p_w if has_p else 0.0)
        others = right_w + _GAP_PT + (count_w + _GAP_PT if has_counts else 0.0)

        mode: str | None = None
        if has_estimand:
            if estimand_layout not in ("auto", "column", "below"):
                raise ValueError(f"estimand_layout must be 'auto', 'column' or 'below', got {estimand_layout!r}")
            mode = estimand_layout
            raw_estimands = [r["estimand"] for r in rows]

        def label_width() -> float:
            cells = [text_width_pt(header_label, fs, weight="bold")]
            cells += [text_width_pt(r["label"], fs) for r in rows]
            cells += [text_width_pt(r["bias"], fs_small, style="italic") for r in rows]
            if mode == "below":
                cells += [text_width_pt(r["estimand"], fs_small) for r in rows]
            return max(cells)

        label_w = label_width()
        est_w = 0.0
        if mode is not None:
            room = min(avail - label_w - others - _MIN_PLOT_PT - _GAP_PT, _EST_COLUMN_MAX_PT)
            if estimand_width is not None:
                room = float(estimand_width)
            if mode == "auto":
                lines = max(wrap_text(e, max(room, 1.0), fs_small).count("\n") + 1 for e in raw_estimands)
                mode = "column" if room >= _EST_COLUMN_MIN_PT and lines <= _EST_COLUMN_MAX_LINES else "below"
            if mode == "column":
                for r in rows:
                    r["estimand"] = wrap_text(r["estimand"], max(room, _EST_COLUMN_MIN_PT), fs_small)
                est_w = column_width("Estimand", "estimand")
            else:
                below = float(estimand_width) if estimand_width is not None else float(
                    np.clip(avail - others - _MIN_PLOT_PT, _EST_BELOW_MIN_PT, _EST_BELOW_MAX_PT))
                for r in rows:
                    r["estimand"] = wrap_text(r["estimand"], below, fs_small)
                label_w = label_width()
        est_total = est_w + _GAP_PT if mode == "column" else 0.0
        excess = label_w + est_total + others + _MIN_PLOT_NARROW_PT - avail
        if excess > 0:
            target = max(label_w - excess, 70.0)
            for r in rows:
                r["label"] = wrap_text(r["label"], target, fs)
                if mode == "below":
                    r["estimand"] = wrap_text(r["estimand"].replace("\n", " "), target, fs_small)
            label_w = label_width()
            excess = label_w + est_total + others + _MIN_PLOT_NARROW_PT - avail
        if excess > 0.5:
            if auto_width:
                width_in += excess / 72.0
                avail += excess
            else:
                what = "figure" if ax is None else "axes slot"
                raise ValueError(
                    f"plot_forest: the text columns need {(avail + excess + _MARGIN_PT) / 72.0:.2f} in "
                    f"of width but the {what} is {width_in:.2f} in wide; use a wider {what}, or drop columns "
                    f"(show_estimand=False, show_counts=False, show_p=False) or shorten the labels"
                )
        left_w = label_w + _GAP_PT + est_total + (count_w + _GAP_PT if has_counts else 0.0)

        # ---- rows (points, y grows downwards from the header rule). Cells are top-
        # aligned; one-line cells, the point and its interval sit on the label's first line.
        def block_height(text: str, size: float) -> float:
            return (text.count("\n") + 1) * size * _LINESPACING

        pad_pt = 0.75 * fs * _LINESPACING
        y = 0.0
        for r in rows:
            ink = _GREY if r["biased"] else "black"
            blocks = [(r["label"], fs, "normal", ink, GID_LABEL)]
            if r["bias"]:
                blocks.append((r["bias"], fs_small, "italic", _GREY, GID_BIASED))
            if mode == "below" and r["estimand"]:
                blocks.append((r["estimand"], fs_small, "normal", _GREY, GID_ESTIMAND))
            cell = sum(block_height(t, size) for t, size, *_ in blocks) + _BLOCK_GAP_PT * (len(blocks) - 1)
            est_h = block_height(r["estimand"], fs_small) if mode == "column" and r["estimand"] else 0.0
            r["blocks"] = blocks
            r["top"] = y + pad_pt / 2  # data y; everything in the row is placed from it in points
            r["y"] = r["top"]
            r["height"] = max(cell, est_h) + pad_pt
            y += r["height"]
        total_pt = y
        header_pt = fs * _LINESPACING + pad_pt

        foot = [r for r in rows if footnotes and not np.isfinite(r["hr"]) and r["note"]]
        # Footnotes and title start at the slot's left edge; wrapped to 80 % of its
        # width, so that constrained layout, which first sees them at the default
        # subplot margins, never mistakes them for an overflow on the right.
        foot_text = "\n".join(
            wrap_text(f"{r['label_plain']}: {r['note']}", 0.8 * avail, fs_small) for r in foot
        )
        if title:
            title = wrap_text(title, 0.8 * avail, points(rc["axes.titlesize"]))
        if ax is None:
            if figsize is None:
                bottom_pt = 36.0 + (fs_small * 1.3 + 2.0 if favours else 0.0)
                if foot_text:
                    bottom_pt += 6.0 + block_height(foot_text, fs_small)
                title_pt = (block_height(title, points(rc["axes.titlesize"])) + 8.0) if title else 6.0
                figsize = (width_in, (header_pt + total_pt + bottom_pt + title_pt) / 72.0)
            fig = new_figure(figsize)
            ax = fig.add_subplot()
        else:
            fig = ax.get_figure(root=True)

        # ---- axes: the plot in the middle of the slot, text columns either side
        ax_l = Axes(fig, (0.0, 0.0, 1.0, 1.0), sharey=ax)
        ax_r = Axes(fig, (0.0, 0.0, 1.0, 1.0), sharey=ax)
        ax.add_child_axes(ax_l)
        ax.add_child_axes(ax_r)
        split = _Columns(ax, left_w / 72.0, right_w / 72.0)
        ax.set_axes_locator(split.plot)
        ax_l.set_axes_locator(split.left)
        ax_r.set_axes_locator(split.right)
        ax.set_label(LABEL_PLOT_AXES)
        ax_l.set_label(LABEL_LEFT_AXES)
        ax_r.set_label(LABEL_RIGHT_AXES)
        for a in (ax_l, ax_r):
            a.set_axis_off()
        ax.set_ylim(total_pt, -header_pt)
        ax.yaxis.set_major_locator(NullLocator())
        ax.spines[["left", "right", "top"]].set_visible(False)

        # ---- text columns
        dpi = fig.dpi_scale_trans

        def at(a: Axes, x_pt: float) -> Any:
            return blended_transform_factory(a.transAxes, a.transData) + ScaledTranslation(x_pt / 72.0, 0.0, dpi)

        def down(dy_pt: float) -> Any:
            """Shift by dy_pt points downwards (exact whatever the rows' scale)."""
            return ScaledTranslation(0.0, -dy_pt / 72.0, dpi)

        anchor_pt = 0.6 * fs  # from a row's top to the centre of its label's first line
        head_y = -header_pt / 2 - pad_pt / 4
        x = label_w + _GAP_PT
        ax_l.text(0, head_y, header_label, transform=at(ax_l, 0.0), ha="left", va="center", fontsize=fs,
                  fontweight="bold", clip_on=False, gid=GID_HEADER)
        for r in rows:  # label, bias, estimand (below): stacked blocks from the top
            dy = 0.0
            for text, size, style, ink, gid_name in r["blocks"]:
                if text:
                    ax_l.text(0, r["top"], text, transform=at(ax_l, 0.0) + down(dy), ha="left", va="top",
                              fontsize=size, style=style, color=ink, linespacing=_LINESPACING, clip_on=False,
                              gid=gid_name)
                dy += block_height(text, size) + _BLOCK_GAP_PT
        cols: list[tuple[Axes, str, float, str, str, str]] = []
        if mode == "column":
            cols.append((ax_l, "estimand", x, "left", "Estimand", GID_ESTIMAND))
            x += est_w + _GAP_PT
        if has_counts:
            cols.append((ax_l, "counts", x + count_w / 2, "center", count_header, GID_COUNTS))
        cols.append((ax_r, "hr_text", _GAP_PT, "left", effect_header, GID_HR))
        if has_p:
            cols.append((ax_r, "p_text", _GAP_PT + hr_w + _GAP_PT + p_w, "right", "p", GID_P))
        for a, key, x_pt, ha, head, gid_name in cols:
            a.text(0, head_y, head, transform=at(a, x_pt), ha=ha, va="center", fontsize=fs, fontweight="bold",
                   clip_on=False, gid=GID_HEADER)
            for r in rows:
                if not r[key]:
                    continue
                ink = _GREY if r["biased"] or key == "estimand" else "black"
                if key == "estimand":  # a wrapped block, from the top of the row
                    a.text(0, r["top"], r[key], transform=at(a, x_pt), ha=ha, va="top", fontsize=fs_small,
                           color=ink, linespacing=_LINESPACING, clip_on=False, gid=gid_name)
                else:
                    a.text(0, r["y"], r[key], transform=at(a, x_pt) + down(anchor_pt), ha=ha, va="center",
                           fontsize=fs_small,
                           color=ink, clip_on=False, gid=gid_name)

        # ---- rules: under the header (and between rows), across the whole slot
        rule = dict(color="black", linewidth=rc["axes.linewidth"], clip_on=False)
        for a in (ax_l, ax, ax_r):
            a.plot([0, 1], [0, 0], transform=blended_transform_factory(a.transAxes, a.transData), **rule)
            if separators:
                for r in rows[:-1]:
                    yb = r["top"] - pad_pt / 2 + r["height"]
                    a.plot([0, 1], [yb, yb], transform=blended_transform_factory(a.transAxes, a.transData),
                           color="0.85", linewidth=0.5, clip_on=False)

        # ---- estimates
        if log_scale:
            ax.set_xscale("log")
        ax.set_xlim(lo_x, hi_x)
        ax.plot([reference, reference], [0, total_pt], color="0.3", linewidth=0.7, linestyle=(0, (4, 3)),
                zorder=1, gid=GID_REFERENCE)
        on_line = ax.transData + down(anchor_pt)
        for r in rows:
            yy = r["y"]
            c = _GREY if r["biased"] else color
            if not np.isfinite(r["hr"]):
                ax.text(0.5, yy, "no HR (see note)",
                        transform=blended_transform_factory(ax.transAxes, ax.transData) + down(anchor_pt),
                        ha="center", va="center", fontsize=fs_small, style="italic", color=_GREY, zorder=3,
                        bbox=dict(boxstyle="square,pad=0.15", facecolor="white", edgecolor="none"), gid=GID_NO_HR)
                continue
            lo, hi = r["lower"], r["upper"]
            if np.isfinite(lo) and np.isfinite(hi):
                a0, a1 = max(lo, lo_x), min(hi, hi_x)
                if a1 > a0:
                    ax.plot([a0, a1], [yy, yy], color=c, linewidth=1.1, solid_capstyle="butt", zorder=2,
                            transform=on_line, gid=GID_CI)
                for end, cut, marker in ((lo, lo_x, "<"), (hi, hi_x, ">")):
                    if (end < cut) if marker == "<" else (end > cut):
                        ax.plot([cut], [yy], marker=marker, markersize=4, color=c, linestyle="none", clip_on=False,
                                zorder=2, transform=on_line, gid=GID_ARROW)
            if lo_x <= r["hr"] <= hi_x:
                ax.plot([r["hr"]], [yy], marker="s", markersize=5.0, color=c, markeredgewidth=1.0,
                        markerfacecolor="white" if r["biased"] else c, linestyle="none", zorder=3,
                        transform=on_line, gid=GID_POINT)
        if log_scale:
            ax.xaxis.set_major_locator(FixedLocator(log_ticks(lo_x, hi_x)))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _pos: f"{v:g}"))
        pin_ticks(ax)

        # ---- texts under the axis: favours, x label, footnotes (measured offsets)
        tick_pt = rc["xtick.major.size"] + rc["xtick.major.pad"] + fs_small * 1.25
        labelpad = rc["axes.labelpad"]
        if favours is not None:
            left_text, right_text = favours
            trans = blended_transform_factory(ax.transData, ax.transAxes)
            for text, dx, ha in ((left_text, -4.0, "right"), (right_text, 4.0, "left")):
                if text:
                    ax.annotate(text, xy=(reference, 0.0), xycoords=trans, xytext=(dx, -tick_pt - 2.0),
                                textcoords="offset points", ha=ha, va="top", fontsize=fs_small, color="0.25",
                                annotation_clip=False, gid="forest-favours")
            labelpad += fs_small * 1.3 + 2.0
        ax.set_xlabel(xlabel, labelpad=labelpad)
        if foot_text:
            below = tick_pt + labelpad + fs * 1.3 + 6.0
            # a text of the left column axes (its bottom is the plot's bottom), so it moves
            # with the columns when the layout engine moves them
            ax_l.text(0.0, 0.0, foot_text, transform=ax_l.transAxes + ScaledTranslation(0.0, -below / 72.0, dpi),
                      ha="left", va="top", fontsize=fs_small, color="0.25", linespacing=_LINESPACING,
                      clip_on=False, gid=GID_FOOTNOTE)
        if title:
            ax_l.text(0.0, 1.0, title, transform=ax_l.transAxes + ScaledTranslation(0, 6.0 / 72.0, dpi),
                      ha="left", va="bottom", fontsize=rc["axes.titlesize"], clip_on=False, gid="forest-title")
    return fig


# --------------------------------------------------------------------------- layout


def _slot_width_in(ax: Axes) -> float:
    """Width of the axes slot in inches, as a layout engine will make it.

    Before layout an axes has the default subplot margins (too narrow); under a
    layout engine the slot is the axes' share of the gridspec, less the padding.
    """
    fig = ax.get_figure(root=True)
    spec = ax.get_subplotspec()
    if spec is not None and fig.get_layout_engine() is not None:
        gs = spec.get_gridspec()
        ratios = np.asarray(gs.get_width_ratios() or [1.0] * gs.ncols, dtype=float)
        share = ratios[spec.colspan.start : spec.colspan.stop].sum() / ratios.sum()
        return share * ax.get_figure(root=False).get_figwidth() - 0.1 * gs.ncols
    return ax.get_position(original=True).width * ax.get_figure(root=False).get_figwidth()


class _Columns:
    """Axes locators splitting one slot into left text | plot | right text."""

    def __init__(self, ax: Axes, left_in: float, right_in: float) -> None:
        self._ax = ax
        self._left_in = left_in
        self._right_in = right_in

    def _parts(self) -> tuple[Any, float, float]:
        slot = self._ax.get_position(original=True)
        fig_w = self._ax.get_figure(root=False).get_figwidth()
        left, right = self._left_in / fig_w, self._right_in / fig_w
        spare = slot.width - left - right
        floor = 0.15 * slot.width
        if spare < floor:  # too narrow: squeeze the text columns, keep a plot
            k = (slot.width - floor) / max(left + right, 1e-9)
            left, right = left * k, right * k
        return slot, left, right

    def plot(self, ax: Axes, renderer: Any) -> Any:
        slot, left, right = self._parts()
        return Bbox.from_bounds(slot.x0 + left, slot.y0, slot.width - left - right, slot.height)

    def left(self, ax: Axes, renderer: Any) -> Any:
        slot, left, _ = self._parts()
        return Bbox.from_bounds(slot.x0, slot.y0, left, slot.height)

    def right(self, ax: Axes, renderer: Any) -> Any:
        slot, _, right = self._parts()
        return Bbox.from_bounds(slot.x1 - right, slot.y0, right, slot.height)


# --------------------------------------------------------------------------- rows


def _as_frame(obj: Any) -> tuple[pd.DataFrame, str]:
    frame = obj
    if not isinstance(frame, pd.DataFrame):
        for attr in ("table", "summary"):
            value = getattr(obj, attr, None)
            if callable(value) and not isinstance(value, pd.DataFrame):
                continue
            if isinstance(value, pd.DataFrame):
                frame = value
                break
        else:
            raise TypeError(
                f"plot_forest needs a DataFrame or a result with a .table or .summary DataFrame, "
                f"got {type(obj).__name__}"
            )
    missing = [c for c in ("hr", "lower", "upper") if c not in frame]
    label_col = next((c for c in _LABEL_COLUMNS if c in frame), None)
    if missing or label_col is None:
        need = missing + ([f"a label column ({', '.join(_LABEL_COLUMNS)})"] if label_col is None else [])
        raise ValueError(f"plot_forest: the table lacks {', '.join(need)}; it has {list(frame.columns)!r}")
    if frame.empty:
        raise ValueError("plot_forest: the table has no rows")
    return frame.reset_index(drop=True), label_col


def _rows(frame: pd.DataFrame, label_col: str, labels: Any, sort: bool,
          suppress_below: int | None) -> list[dict[str, Any]]:
    raw = frame[label_col].tolist()
    if labels is None:
        names = [METHOD_NAMES.get(str(v), _pretty(v)) if label_col == "method" else str(v) for v in raw]
    elif isinstance(labels, Mapping):
        names = [str(labels[v]) if v in labels else (METHOD_NAMES.get(str(v), _pretty(v)) if label_col == "method"
                 else str(v)) for v in raw]
    else:
        names = [str(v) for v in ([labels] if isinstance(labels, str) else labels)]
        if len(names) != len(raw):
            raise ValueError(f"labels: got {len(names)} names for {len(raw)} rows")

    def col(name: str, i: int) -> Any:
        return frame[name].iloc[i] if name in frame else None

    rows = []
    for i, name in enumerate(names):
        hr, lo, hi = (
            float(frame[c].iloc[i]) if pd.notna(frame[c].iloc[i]) else math.nan for c in ("hr", "lower", "upper")
        )
        note = col("note", i)
        note = "" if note is None or (not isinstance(note, str) and pd.isna(note)) else str(note)
        bias = _bias_phrase(note)
        est = col("estimand", i)
        n, ev = col("n", i), col("events", i)
        p = col("p", i)
        rows.append({
            "label": name,
            "label_plain": name,
            "bias": f"({bias})" if bias else "",
            "biased": bool(bias),
            "estimand": "" if est is None or (not isinstance(est, str) and pd.isna(est)) else str(est),
            "counts": _fmt_counts(n, ev, suppress_below),
            "hr": hr,
            "lower": lo,
            "upper": hi,
            "hr_text": format_hr(hr, lo, hi),
            "p_text": format_p(p),
            "note": note,
            "order": i,
        })
    if sort:
        rows.sort(key=lambda r: (not np.isfinite(r["hr"]), r["hr"] if np.isfinite(r["hr"]) else 0.0, r["order"]))
    return rows


def _bias_phrase(note: str) -> str:
    """"biased: immortal time" out of a note such as "biased: immortal time — …"."""
    m = re.search(r"\bbiased\b", note, flags=re.IGNORECASE)
    if m is None:
        return ""
    reason = re.match(r"\s*:\s*([^;.,()\n—–]+)", note[m.end():])
    words = re.split(r"\s+-\s+", reason.group(1))[0].strip() if reason else ""
    return f"biased: {words}" if words else "biased"


def _pretty(v: Any) -> str:
    s = str(v).replace("_", " ")
    return s[:1].upper() + s[1:]


def _fmt_counts(n: Any, events: Any, suppress_below: int | None) -> str:
    def one(v: Any) -> str | None:
        return None if v is None or pd.isna(v) else fmt_count(v, suppress_below)

    a, b = one(n), one(events)
    if a is None:
        return ""
    return f"{a} / {b}" if b is not None else a


# --------------------------------------------------------------------------- x axis


def _auto_xlim(rows: list[dict[str, Any]], reference: float, log_scale: bool) -> tuple[float, float]:
    vals = [reference] + [v for r in rows for v in (r["hr"], r["lower"], r["upper"]) if np.isfinite(v)]
    if log_scale:
        vals = [v for v in vals if v > 0]
        lo, hi = min(vals), max(vals)
        lo, hi = min(lo, reference / 1.25), max(hi, reference * 1.25)
        span = math.log(hi) - math.log(lo)
        return math.exp(math.log(lo) - 0.06 * span), math.exp(math.log(hi) + 0.06 * span)
    lo, hi = min(vals), max(vals)
    pad = 0.06 * (hi - lo if hi > lo else 1.0)
    return lo - pad, hi + pad
