"""Cumulative incidence of competing causes (Aalen–Johansen), with numbers at risk.

The plot computes nothing statistical: curves and bands come from ``ci.table``, the
numbers at risk (patients still event-free and under follow-up) from ``ci.at(times)``
and any test result is text the caller passes in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, PercentFormatter

from rwe_cart.plots._common import (
    TIME_UNITS,
    add_annotation,
    attach_table_axes,
    axes_list,
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
from rwe_cart.plots.theme import DOUBLE_COLUMN_IN, new_figure, themed

if TYPE_CHECKING:
    from rwe_cart.survival.competing import CumulativeIncidence

__all__ = ["plot_cif"]

GID_CURVE = "cif-curve"
GID_CI = "cif-ci"
LABEL_CURVE_AXES = "cif"

_PANEL_HEIGHT_IN = 2.6
_ROWS = {"at risk": "n_risk", "risk": "n_risk", "n_risk": "n_risk", "events": "events", "event": "events",
         "n_event": "events"}


def plot_cif(
    ci: CumulativeIncidence,
    *,
    causes: Sequence[Any] | Mapping[Any, str] | None = None,
    labels: Mapping[Any, str] | Sequence[str] | None = None,
    layout: str = "side",
    ax: Axes | Sequence[Axes] | None = None,
    times: Sequence[float] | None = None,
    time_unit: str = "months",
    risk_table: bool = True,
    risk_rows: Sequence[str] = ("at risk",),
    annotation: str | Mapping[Any, str] | Sequence[str | None] | None = None,
    annotation_loc: str = "upper left",
    suppress_below: int | None = None,
    bands: bool = True,
    colors: Mapping[Any, str] | Sequence[str] | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str = "Cumulative incidence",
    ymax: float = 1.0,
    percent: bool = False,
    legend: str | None = "top",
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Plot cumulative incidence curves of competing causes with numbers at risk.

    Parameters
    ----------
    ci
        A :class:`~rwe_cart.CumulativeIncidence` result (times in
        days), e.g. ``cumulative_incidence(data, "time", "cause", by="arm")``.
    causes
        Which causes to draw and in what order: a sequence of cause codes, or a
        mapping code -> display name (e.g. ``{1: "Relapse", 2: "Non-relapse
        mortality"}``). Default: every cause of ``ci``, named by its code.
    labels
        Display names of the groups (mapping group -> name, or a sequence in the
        order of ``ci.groups``).
    layout
        ``"side"`` (default): one panel per cause, side by side, curves rising from
        0, one line per group; the panel title is the cause name. ``"stacked"``:
        the classic stacked plot for exactly two causes, one panel per group: the
        first cause rises from the bottom (left axis), the second is drawn from the
        top as 1 − CIF (right axis, read downwards); the gap between them is the
        probability of being alive and event-free.
    ax
        Draw on these axes instead of a new figure: one Axes per panel (a single
        Axes when there is one panel). Each panel's risk table is carved out of
        the bottom of its axes slot.
    times
        x tick positions in ``time_unit``; the numbers at risk are shown at exactly
        these times and the x axis ends at the last one. Default: every 1, 3, 6, 12,
        … months (at most 8 intervals) up to the last observed time.
    time_unit
        "months" (days / 30.4375, default), "days", "weeks" or "years".
    risk_table
        Draw the numbers at risk under each panel.
    risk_rows
        "at risk" (event-free and under follow-up at t, from ``ci.at(times)``) and
        optionally "events" (cumulative events of the panel's cause(s) up to and
        including t, counted in ``ci.table``).
    annotation
        Text written in the plot, e.g. "Gray's test p = 0.30". A string goes in the
        first panel; a mapping cause -> text (side layout) or group -> text
        (stacked), or a sequence with one entry per panel, writes one per panel.
    annotation_loc
        Where the annotation goes (matplotlib location string).
    suppress_below
        Small-cell suppression: counts from 1 to ``suppress_below - 1`` show as "<k".
    bands
        Shade the pointwise confidence bands (``ci.table`` columns lower/upper).
    colors
        Side layout: group colours (or cause colours when there is one group);
        stacked layout: the two cause colours. Mapping or sequence; default
        Okabe–Ito.
    title
        Title of a single-panel figure, or a figure title above several panels.
    xlabel, ylabel
        Axis texts; ``xlabel`` defaults to "Time (<time_unit>)".
    ymax
        Upper end of the probability axis (default 1: the full scale).
    percent
        Label the probability axis 0–100 %.
    legend
        "top" (above the first panel, default), a matplotlib location to place it
        inside the first panel, or None.
    figsize
        Figure size in inches when ``ax`` is not given.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Numbers at risk are ``ci.at(times)["n_risk"]`` (R's ``summary(fit, times=)``:
    the number event-free and under follow-up at t); ``ci.at`` leaves out times after
    a group's last observed time, where nobody is followed any more, and the table
    shows 0 there. Curve axes have label "cif", table axes "risk_table"; curves and
    bands carry gids "cif-curve" and "cif-ci", in panel order then group (side) or
    cause (stacked) order.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, rwe_cart as rc
    >>> ci = rc.cumulative_incidence(rc.datasets.rocca_like().endpoint("CIR"), "time", "cause")
    >>> fig = rc.plot_cif(ci, causes={1: "Relapse", 2: "Non-relapse mortality"}, layout="stacked")
    >>> len(fig.axes)
    1
    >>> plt.close(fig)
    """
    unit = check_unit(time_unit)
    check_suppress(suppress_below)
    if layout not in ("side", "stacked"):
        raise ValueError(f"layout must be 'side' or 'stacked', got {layout!r}")
    rows = risk_row_keys(risk_rows, _ROWS, "'at risk' and/or 'events'") if risk_table else ()

    groups = tuple(ci.groups)
    all_causes = tuple(ci.causes)
    codes, cause_names = _pick_causes(causes, all_causes)
    if layout == "stacked" and len(codes) != 2:
        raise ValueError(
            f"layout='stacked' draws exactly two causes (one from the bottom, one from the top); "
            f"got {len(codes)}: {list(codes)!r}. Choose two with causes=[first, second]"
        )
    names = group_values(labels, groups, "labels", default=[str(g) for g in groups])
    multi = len(groups) > 1
    if layout == "side":
        keys, what = (groups, "groups") if multi else (tuple(codes), "causes")
        palette = _values(colors, keys, what, default=default_colors(len(keys)))
        n_panels = len(codes)
    else:
        palette = _values(colors, tuple(codes), "causes", default=default_colors(2))
        n_panels = len(groups)
    notes = _annotations(annotation, codes if layout == "side" else groups, n_panels)

    scale = TIME_UNITS[unit]
    tab = ci.table
    t_last = float(tab["time"].max()) / scale if len(tab) else 0.0
    ticks, x_right = time_axis(t_last, times, unit)
    counts = _counts(ci, ticks * scale, codes) if rows else None

    with themed():
        rc = mpl.rcParams
        fs_small = points(rc["xtick.labelsize"])
        panel_lines = [
            _table_lines(rows, layout, i, codes, cause_names, groups, names, palette, multi) for i in range(n_panels)
        ]
        n_lines = max((len(x) for x in panel_lines), default=0)
        table_h = table_height_in(n_lines, fs_small)
        axs = axes_list(ax, n_panels, "figure")
        if axs is None:
            if figsize is None:
                extra = table_h + 0.25 if rows else 0.0
                width = DOUBLE_COLUMN_IN if n_panels > 1 else 4.5
                figsize = (width, _PANEL_HEIGHT_IN + 0.85 + extra + (0.25 if title and n_panels > 1 else 0.0))
            fig = new_figure(figsize)
            axs = list(np.ravel(fig.subplots(1, n_panels, squeeze=False)))
            own = True
        else:
            fig = axs[0].get_figure(root=True)
            own = False

        legend_pt = 0.0
        handles: list[Line2D] = []
        for i, a in enumerate(axs):
            a.set_label(LABEL_CURVE_AXES)
            ax_t, split = attach_table_axes(a, table_h) if rows else (None, None)
            if layout == "side":
                code = codes[i]
                specs = [
                    (g, code, palette[j if multi else i], names[j], False) for j, g in enumerate(groups)
                ]
            else:
                specs = [(groups[i], codes[k], palette[k], cause_names[k], k == 1) for k in range(2)]
            hs = _draw_curves(a, tab, specs, scale, bands=bands)
            if i == 0:
                handles = hs
            _style_axes(a, ticks, x_right, ymax, percent)
            a.set_xlabel(xlabel if xlabel is not None else f"Time ({unit})")
            if layout == "side":
                a.set_ylabel(ylabel if i == 0 or not own else "")
            else:
                _stacked_axes(a, cause_names, palette, ymax, percent)
            if notes[i]:
                add_annotation(a, notes[i], annotation_loc, fs_small)
            pin_ticks(a)
            if ax_t is not None and split is not None:
                split.header = draw_count_table(
                    ax_t,
                    counts,
                    panel_lines[i],
                    ticks,
                    fs_small,
                    suppress_below,
                    header=_header(rows),
                    source="ci.at",
                )

        # legend (groups in side layout, causes in stacked) above the first panel
        legend_names = (
            names if layout == "side" and multi else (cause_names if layout == "stacked" else [])
        )
        if legend is not None and legend_names:
            if legend == "top":
                legend_pt = top_legend(axs[0], handles, legend_names)
            else:
                axs[0].legend(handles, legend_names, loc=legend, frameon=False)
        for i, a in enumerate(axs):
            panel_title = _panel_title(layout, i, cause_names, names, multi, title if n_panels == 1 else None)
            if panel_title:
                a.set_title(panel_title, loc="left", pad=rc["axes.titlepad"] + legend_pt)
        if title and n_panels > 1 and own:
            fig.suptitle(title, x=0.0, ha="left", fontsize=rc["axes.titlesize"])
    return fig


# --------------------------------------------------------------------------- drawing


def _draw_curves(
    ax: Axes, tab: pd.DataFrame, specs: list[tuple[Any, Any, str, str, bool]], scale: float, *, bands: bool
) -> list[Line2D]:
    """One step curve (and band) per (group, cause, colour, name, drawn from the top)."""
    handles = []
    for g, code, color, name, from_top in specs:
        sub = tab.loc[(tab["group"] == g) & (tab["cause"] == code)].sort_values("time", kind="stable")
        t = np.concatenate([[0.0], sub["time"].to_numpy(float) / scale])
        f = np.concatenate([[0.0], sub["cif"].to_numpy(float)])
        if bands:
            lo = np.concatenate([[0.0], sub["lower"].to_numpy(float)])
            hi = np.concatenate([[0.0], sub["upper"].to_numpy(float)])
            zero = f == 0  # no limits where the incidence is still 0: the band has no width
            lo, hi = np.where(zero, 0.0, lo), np.where(zero, 0.0, hi)
            ok = np.isfinite(lo) & np.isfinite(hi)
            if from_top:
                lo, hi = 1.0 - hi, 1.0 - lo
            ax.fill_between(
                t, lo, hi, where=ok, step="post", color=color, alpha=0.2, linewidth=0, zorder=1.0, gid=GID_CI
            )
        y = 1.0 - f if from_top else f
        (line,) = ax.step(t, y, where="post", color=color, label=name, zorder=2.0, gid=GID_CURVE)
        handles.append(line)
    return handles


def _style_axes(ax: Axes, ticks: np.ndarray, x_right: float, ymax: float, percent: bool) -> None:
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.set_xlim(0.0, x_right)
    ax.set_ylim(0.0, ymax * 1.02 if ymax < 1 else 1.02)
    step = 0.25 if ymax > 0.6 else (0.1 if ymax > 0.25 else 0.05)
    ax.yaxis.set_major_locator(FixedLocator(np.arange(0.0, ymax + 1e-9, step)))
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax.spines[["top", "right"]].set_visible(False)


def _stacked_axes(ax: Axes, cause_names: list[str], palette: list[str], ymax: float, percent: bool) -> None:
    """Left axis: first cause upwards; right axis: second cause downwards (1 − y)."""
    ax.set_ylim(0.0, 1.0)
    ticks = np.arange(0.0, 1.0 + 1e-9, 0.25)
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.set_ylabel(cause_names[0], color=palette[0])
    right = ax.secondary_yaxis("right", functions=(_one_minus, _one_minus))
    right.yaxis.set_major_locator(FixedLocator(ticks))
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        right.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    right.set_ylabel(f"{cause_names[1]} (from top)", color=palette[1])
    rc = mpl.rcParams
    right.tick_params(
        axis="y",
        direction=rc["ytick.direction"],
        length=rc["ytick.major.size"],
        width=rc["ytick.major.width"],
        pad=rc["ytick.major.pad"],
        labelsize=rc["ytick.labelsize"],
    )
    right.spines["right"].set_linewidth(rc["axes.linewidth"])


def _one_minus(y: Any) -> Any:
    return 1.0 - np.asarray(y)


def _panel_title(
    layout: str, i: int, cause_names: list[str], names: list[str], multi: bool, single_title: str | None
) -> str | None:
    if single_title:
        return single_title
    if layout == "side":
        return cause_names[i]
    return names[i] if multi else None


# --------------------------------------------------------------------------- numbers


def _counts(ci: CumulativeIncidence, ticks_days: np.ndarray, codes: list[Any]) -> pd.DataFrame:
    """Numbers at risk from ``ci.at`` and cumulative events looked up in ``ci.table``.

    Columns group, time, n_risk and ``events:<k>`` (k = position in ``codes``).
    ``ci.at`` drops times after a group's last observed time (R's extend = FALSE);
    nobody is under follow-up there, so the number at risk is 0.
    """
    at = ci.at(ticks_days)
    tab = ci.table
    first = ci.causes[0]
    out = []
    for g in ci.groups:
        sub = at.loc[(at["group"] == g) & (at["cause"] == first)]
        risk = dict(zip(sub["time"].to_numpy(float), sub["n_risk"].to_numpy()))
        frame = {"group": [g] * len(ticks_days), "time": ticks_days,
                 "n_risk": [int(risk.get(t, 0)) for t in ticks_days]}
        for k, code in enumerate(codes):
            rows = tab.loc[(tab["group"] == g) & (tab["cause"] == code)]
            cum = np.concatenate([[0], np.cumsum(rows["n_event"].to_numpy())])
            idx = np.searchsorted(rows["time"].to_numpy(float), ticks_days, side="right")  # rows with time <= t
            frame[f"events:{k}"] = cum[idx].astype(np.int64)
        out.append(pd.DataFrame(frame))
    return pd.concat(out, ignore_index=True)


def _table_lines(
    rows: tuple[str, ...],
    layout: str,
    panel: int,
    codes: list[Any],
    cause_names: list[str],
    groups: tuple[Any, ...],
    names: list[str],
    palette: list[str],
    multi: bool,
) -> list[tuple[str, str, str | None, Any]]:
    if not rows:
        return []
    lines: list[tuple[str, str, str | None, Any]] = []
    if layout == "stacked":
        g = groups[panel]
        for key in rows:
            if key == "n_risk":
                lines.append(("At risk", "black", "n_risk", g))
            else:
                lines.extend((f"{cause_names[k]}", palette[k], f"events:{k}", g) for k in range(2))
        return lines
    for j, g in enumerate(groups):
        color = palette[j] if multi else "black"
        if len(rows) == 1:
            lines.append((names[j] if multi else "At risk", color, "n_risk", g))
            continue
        if multi:
            lines.append((names[j], color, None, g))
        for key in rows:
            if key == "n_risk":
                lines.append(("At risk", color, "n_risk", g))
            else:
                lines.append(("Events", color, f"events:{panel}", g))
    return lines


def _header(rows: tuple[str, ...]) -> str:
    if rows == ("n_risk",):
        return "Number at risk (event-free)"
    if "n_risk" in rows:
        return "Number at risk (event-free) and cumulative events"
    return "Cumulative number of events"


# --------------------------------------------------------------------------- checks


def _pick_causes(causes: Any, all_causes: tuple[Any, ...]) -> tuple[list[Any], list[str]]:
    if causes is None:
        return list(all_causes), [_cause_name(c) for c in all_causes]
    if isinstance(causes, Mapping):
        codes, names = list(causes), [str(v) for v in causes.values()]
    else:
        codes = [causes] if isinstance(causes, (str, int, np.integer)) else list(causes)
        names = [_cause_name(c) for c in codes]
    unknown = [c for c in codes if c not in all_causes]
    if unknown:
        raise ValueError(f"causes: {unknown!r} not among the causes of the result {list(all_causes)!r}")
    if not codes:
        raise ValueError("causes is empty")
    return codes, names


def _cause_name(code: Any) -> str:
    return f"Cause {code}" if isinstance(code, (int, np.integer, float)) else str(code)


def _values(values: Any, keys: tuple[Any, ...], what: str, *, default: list[str]) -> list[str]:
    return group_values(values, keys, f"colors ({what})", default=default)


def _annotations(annotation: Any, keys: Sequence[Any], n: int) -> list[str | None]:
    if annotation is None:
        return [None] * n
    if isinstance(annotation, str):
        return [annotation] + [None] * (n - 1)
    if isinstance(annotation, Mapping):
        return [annotation.get(k) for k in keys]
    notes = list(annotation)
    if len(notes) != n:
        raise ValueError(f"annotation: got {len(notes)} texts for {n} panels")
    return notes
