"""Bias of the HSCT-effect estimators in a simulation study, by method and cohort size.

The plot computes nothing statistical: each point is the ``bias`` cell of the summary
table it is given (one row per scenario × cohort size × method, as written by
``studies/hsct_methods.py``), and each bar is ``bias ± z · bias_mcse``.
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
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from rwe_cart.plots._common import axes_list, pin_ticks, points, wrap_text
from rwe_cart.plots.forest import METHOD_NAMES
from rwe_cart.plots.theme import DOUBLE_COLUMN_IN, OKABE_ITO, new_figure, themed

__all__ = ["plot_simulation_bias"]

GID_POINT = "simulation-bias"
GID_BAR = "simulation-mcse"
GID_BAND = "simulation-band"
GID_ZERO = "simulation-zero"
GID_BIASED = "simulation-biased"
GID_MISSING = "simulation-missing"

#: Methods that estimate nothing of their own, and why (named beside their points).
BIASED: dict[str, str] = {"naive": "immortal time"}

_REQUIRED = ("scenario", "n", "method", "bias", "bias_mcse")
_MARKERS = ("o", "s", "D", "^", "v")
_COLORS = (OKABE_ITO[1], OKABE_ITO[0], OKABE_ITO[2], OKABE_ITO[3], OKABE_ITO[4])
_GREY = "0.45"
_ROW_IN = 0.24  # height of one method row
_PANEL_EXTRA_IN = 0.55  # title, ticks and padding of one panel


def plot_simulation_bias(
    summary: pd.DataFrame,
    *,
    ax: Axes | Sequence[Axes] | None = None,
    scenarios: Sequence[Any] | None = None,
    methods: Sequence[str] | None = None,
    titles: Mapping[Any, str] | None = None,
    labels: Mapping[str, str] | None = None,
    biased: Mapping[str, str] | None = None,
    band: float | None = 0.05,
    z: float = 1.96,
    xlim: tuple[float, float] | None = None,
    xlabel: str = "Bias of the log hazard ratio (mean log HR − log truth)",
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Mean bias of each method's log HR with its Monte Carlo interval, one panel per
    scenario, one marker per cohort size.

    Parameters
    ----------
    summary
        One row per scenario × ``n`` × method, with columns ``scenario, n, method,
        bias, bias_mcse`` (the Monte Carlo SE of the bias, empirical SE / √replicates).
        A NaN ``bias`` means the method has no truth to be compared with in that
        scenario; it is written as such.
    ax
        One axes per scenario (stacked panels share nothing); default a new figure,
        174 mm wide, with the panels stacked.
    scenarios, methods
        Panels and rows, in order; default the order of first appearance.
    titles
        Panel titles by scenario (default the scenario).
    labels
        Row names by method (default the names of :func:`plot_forest`).
    biased
        Methods that estimate nothing of their own and why, written in grey italic
        beside their points (default: naive, "immortal time").
    band
        Half-width of the shaded band of acceptable bias around 0 (None: no band).
    z
        The bars are ``bias ± z · bias_mcse``.
    xlim
        Shared x limits; default from every bar, 0 and the band.
    xlabel
        Label of the bottom panel's x axis.
    figsize
        Figure size in inches when ``ax`` is not given.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Rows of a method that was not run at some size or in some scenario say "not run";
    a method without a truth in a scenario (NaN ``bias``) says so. Artists carry gids
    "simulation-bias", "simulation-mcse", "simulation-band", "simulation-zero",
    "simulation-biased" and "simulation-missing".

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd, rwe_cart as rc
    >>> summary = pd.DataFrame({"scenario": "HR 0.6", "n": 400,
    ...                         "method": ["naive", "time_varying", "landmark"],
    ...                         "bias": [-0.62, 0.01, -0.06], "bias_mcse": [0.01, 0.01, 0.02]})
    >>> fig = rc.plot_simulation_bias(summary)
    >>> len(fig.axes)
    1
    >>> plt.close(fig)
    """
    frame = _check(summary)
    scen = list(dict.fromkeys(frame["scenario"])) if scenarios is None else list(scenarios)
    meth = list(dict.fromkeys(frame["method"])) if methods is None else list(methods)
    unknown = sorted(set(map(str, scen)) - set(map(str, frame["scenario"])))
    if unknown:
        raise ValueError(f"plot_simulation_bias: scenarios {unknown} are not in the summary")
    sizes = sorted(frame["n"].unique())
    if len(sizes) > len(_MARKERS):
        raise ValueError(f"plot_simulation_bias: at most {len(_MARKERS)} cohort sizes, got {sizes}")
    if not (isinstance(z, int | float) and z > 0):
        raise ValueError(f"z must be a positive number, got {z!r}")
    if band is not None and not band > 0:
        raise ValueError(f"band must be a positive number or None, got {band!r}")
    biased = dict(BIASED if biased is None else biased)
    names = {m: (labels or {}).get(m, METHOD_NAMES.get(m, str(m))) for m in meth}
    lo_x, hi_x = xlim if xlim is not None else _auto_xlim(frame, z, band)

    with themed():
        rc = mpl.rcParams
        fs_small = points(rc["xtick.labelsize"])
        axs = axes_list(ax, len(scen), "figure")
        if axs is None:
            if figsize is None:
                figsize = (DOUBLE_COLUMN_IN, len(scen) * (len(meth) * _ROW_IN + _PANEL_EXTRA_IN) + 0.35)
            fig = new_figure(figsize)
            axs = list(np.atleast_1d(fig.subplots(len(scen), 1, squeeze=False)[:, 0]))
        else:
            fig = axs[0].get_figure(root=True)
        # within a method's row, the smaller cohort above the larger
        step = 0.5 / max(len(sizes), 1)
        offset = {n: (i - (len(sizes) - 1) / 2) * step for i, n in enumerate(sizes)}
        style = {n: (_MARKERS[i], _COLORS[i]) for i, n in enumerate(sizes)}

        for k, (a, s) in enumerate(zip(axs, scen, strict=True)):
            panel = frame.loc[frame["scenario"].astype(str) == str(s)]
            if band is not None:
                a.axvspan(-band, band, color="0.9", linewidth=0, zorder=0, gid=GID_BAND)
            a.axvline(0.0, color="0.25", linewidth=0.7, zorder=1, gid=GID_ZERO)
            for y, m in enumerate(meth):
                rows = panel.loc[panel["method"] == m]
                missing = [n for n in sizes if n not in set(rows["n"])]
                no_truth = rows.loc[~np.isfinite(rows["bias"].to_numpy(dtype=float)), "n"].tolist()
                right = -math.inf
                for _, r in rows.loc[np.isfinite(rows["bias"].to_numpy(dtype=float))].iterrows():
                    marker, color = style[r["n"]]
                    yy = y + offset[r["n"]]
                    b, h = float(r["bias"]), z * float(r["bias_mcse"])
                    if np.isfinite(h):
                        a.plot([b - h, b + h], [yy, yy], color=color, linewidth=1.1,
                               solid_capstyle="butt", zorder=2, gid=GID_BAR)
                        right = max(right, b + h)
                    a.plot([b], [yy], marker=marker, markersize=4.5, color=color, markeredgecolor="white",
                           markeredgewidth=0.5, linestyle="none", zorder=3, gid=GID_POINT)
                    right = max(right, b)
                if m in biased and np.isfinite(right):
                    a.annotate(f"biased: {biased[m]}", xy=(right, y), xytext=(6, 0), textcoords="offset points",
                               ha="left", va="center", fontsize=fs_small, style="italic", color=_GREY,
                               gid=GID_BIASED)
                notes = []
                if len(missing) == len(sizes):
                    notes.append("not run")
                elif missing:
                    notes.append("not run at " + ", ".join(f"n = {n}" for n in missing))
                if no_truth:
                    notes.append("no single true HR")
                if notes:
                    a.text(0.99, y, "; ".join(notes), transform=mpl.transforms.blended_transform_factory(
                        a.transAxes, a.transData), ha="right", va="center", fontsize=fs_small, style="italic",
                        color=_GREY, gid=GID_MISSING, zorder=4,
                        bbox=dict(boxstyle="square,pad=0.15", facecolor="white", edgecolor="none"))
            a.set_ylim(len(meth) - 0.5, -0.5)
            a.set_yticks(range(len(meth)))
            a.set_yticklabels([names[m] for m in meth])
            for tick, m in zip(a.get_yticklabels(), meth, strict=True):
                tick.set_color(_GREY if m in biased else "black")
            a.spines["left"].set_visible(False)
            a.set_xlim(lo_x, hi_x)
            # wrapped to the axes' width before layout (about the slot less the row labels)
            width_pt = a.get_position(original=True).width * fig.get_figwidth() * 72.0
            a.set_title(wrap_text((titles or {}).get(s, str(s)), width_pt, points(rc["axes.titlesize"])))
            a.set_xlabel(xlabel if k == len(scen) - 1 else "")
            pin_ticks(a)
            a.tick_params(axis="y", length=0)

        handles = [Line2D([], [], marker=style[n][0], color=style[n][1], markeredgecolor="white",
                          markeredgewidth=0.5, markersize=4.5, linewidth=1.1) for n in sizes]
        names_leg = [f"n = {n}" for n in sizes]
        if band is not None:
            handles.append(Patch(facecolor="0.9", edgecolor="none"))
            names_leg.append(f"±{band:g}")
        axs[0].legend(handles, names_leg, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(handles),
                      frameon=False, borderaxespad=0.2, title=f"bars: ±{z:g} Monte Carlo SE",
                      title_fontsize=fs_small, alignment="right")
    return fig


def _check(summary: Any) -> pd.DataFrame:
    if not isinstance(summary, pd.DataFrame):
        raise TypeError(f"plot_simulation_bias needs the summary DataFrame, got {type(summary).__name__}")
    missing = [c for c in _REQUIRED if c not in summary]
    if missing:
        raise ValueError(f"plot_simulation_bias: the summary lacks columns {missing}; it has "
                         f"{list(summary.columns)!r}")
    if summary.empty:
        raise ValueError("plot_simulation_bias: the summary has no rows")
    dup = summary.duplicated(["scenario", "n", "method"], keep=False)
    if dup.any():
        s, n, m = summary.loc[dup, ["scenario", "n", "method"]].iloc[0]
        raise ValueError(f"plot_simulation_bias: {int(dup.sum())} rows share a scenario, n and method "
                         f"(first: scenario {s}, n = {n}, method {m}); keep one row each (e.g. one "
                         f"interval type per method)")
    return summary.reset_index(drop=True)


def _auto_xlim(frame: pd.DataFrame, z: float, band: float | None) -> tuple[float, float]:
    b = frame["bias"].to_numpy(dtype=float)
    h = z * frame["bias_mcse"].to_numpy(dtype=float)
    ends = np.concatenate([b, b - h, b + h, [0.0], [-band, band] if band is not None else []])
    ends = ends[np.isfinite(ends)]
    lo, hi = float(ends.min()), float(ends.max())
    span = hi - lo
    # room on the right for the "biased: …" label beside the leftmost points
    return lo - 0.05 * span, hi + 0.3 * span
