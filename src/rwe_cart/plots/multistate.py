"""Multi-state figures: state probabilities over time (stacked areas or lines, with the
numbers at risk per state under the axis) and the state diagram with the number of
patients making each transition.

The plots compute nothing statistical: the curves come from a
:class:`~rwe_cart.StateProbabilities` result and the counts from the
long frame of :func:`~rwe_cart.survival.multistate.multistate_frame`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.ticker import FixedLocator

from rwe_cart._deprecate import keyword_only
from rwe_cart.plots._common import (
    attach_table_axes,
    check_suppress,
    check_times,
    default_colors,
    draw_count_table,
    pin_ticks,
    points,
    table_height_in,
)
from rwe_cart.plots.theme import new_figure, themed

if TYPE_CHECKING:
    from rwe_cart.survival.multistate import StateProbabilities

__all__ = ["plot_state_probabilities", "plot_state_diagram"]

GID_AREA = "state-area"
GID_LINE = "state-line"
GID_LABEL = "state-label"
GID_BOX = "state-box"
GID_ARROW = "transition-arrow"
GID_COUNT = "transition-count"
LABEL_CURVE_AXES = "state_probabilities"


def _ticks(t0: float, t1: float, times) -> np.ndarray:
    if times is not None:
        return check_times(times)
    vals = mpl.ticker.MaxNLocator(nbins=7, steps=[1, 2, 2.5, 5, 10]).tick_values(t0, t1)
    return vals[(vals >= t0 - 1e-12) & (vals <= t1 * (1 + 1e-9))]


def _long_frame(pt: StateProbabilities, frame: pd.DataFrame | None) -> pd.DataFrame | None:
    if frame is not None:
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"frame must be the long frame of rc.multistate_frame, got "
                            f"{type(frame).__name__}")
        return frame
    return pt.meta.get("hazards").meta.get("frame") if pt.meta.get("hazards") else None


def _at_risk(frame: pd.DataFrame, tr, states: list[int], ticks: np.ndarray) -> pd.DataFrame:
    """Patients in each transient state at each tick: entered at or before t and
    neither left nor censored by t (a row from the state with start <= t < stop, as
    mstate's ``xsect``; one row per patient, that of the first transition out)."""
    trans = frame["trans"].to_numpy() - 1
    start = frame["start"].to_numpy(dtype=np.float64)
    stop = frame["stop"].to_numpy(dtype=np.float64)
    rows = []
    for h in states:                       # states (a few)
        first = np.flatnonzero(tr.tfrom == h)
        sel = trans == first[0] if first.size else np.zeros(trans.size, dtype=bool)
        st, sp = np.sort(start[sel]), np.sort(stop[sel])
        n = np.searchsorted(st, ticks, side="right") - np.searchsorted(sp, ticks,
                                                                     side="right")
        rows.append(pd.DataFrame({"group": h, "time": ticks, "n_risk": n}))
    return pd.concat(rows, ignore_index=True)


@keyword_only("order", "kind")
def plot_state_probabilities(
    probabilities: StateProbabilities,
    *,
    order: Sequence[Any] | None = None,
    kind: str = "stacked",
    start: Any = None,
    labels: Mapping[Any, str] | None = None,
    colors: Mapping[Any, str] | Sequence[str] | None = None,
    times: Sequence[float] | None = None,
    risk_table: bool = True,
    frame: pd.DataFrame | None = None,
    suppress_below: int | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str = "Time",
    ylabel: str = "Probability",
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Plot state occupation probabilities over time, with numbers at risk per state.

    Parameters
    ----------
    probabilities
        From :func:`rwe_cart.state_probabilities` (forward) or
        :func:`rwe_cart.landmark_aalen_johansen`.
    order
        States from the bottom of the stack up (``"stacked"``: all states), or the states
        to draw (``"lines"``). Default: the model's state order.
    kind
        ``"stacked"``: areas stacked to 1, each labelled with its state inside the
        area; ``"lines"``: one step line per state, labelled at its right end.
    start
        Starting state (default the first state, or the landmark state).
    labels
        Display names of states (mapping state -> name).
    colors
        Colours per state (mapping, or a sequence in `order`); Okabe–Ito by default.
    times
        x ticks (in the time unit of the data); the numbers at risk are shown at exactly
        these times. Default: up to 8 nice intervals.
    risk_table
        Numbers at risk per transient state under the axis: patients in the state at t
        (entered at or before t, not left nor censored by t; from the long frame behind non-parametric or landmark
        probabilities, or `frame` for a Cox-based prediction). Omitted when no frame is
        known.
    frame
        Long frame for the counts (``rc.multistate_frame``), when the probabilities
        do not carry one.
    suppress_below
        Counts below this are shown as "<k" (small-cell suppression).
    ax, title, xlabel, ylabel, figsize
        Axes to draw on (else a new figure), and the usual texts and size.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import rwe_cart as rc
    >>> ms = rc.datasets.rocca_like().multistate()     # the CAR-T pathway
    >>> pt = rc.state_probabilities(rc.transition_hazards(ms.frame))
    >>> order = ["death", "relapse", "hsct", "remission", "infused"]   # bottom up
    >>> fig = rc.plot_state_probabilities(pt, order=order)
    >>> [t.get_text() for t in fig.axes[0].texts]    # "infused" is too thin to label
    ['death', 'relapse', 'hsct', 'remission']
    """
    from rwe_cart.survival.multistate import StateProbabilities

    if not isinstance(probabilities, StateProbabilities):
        raise TypeError("probabilities must come from rc.state_probabilities or "
                        f"rc.landmark_aalen_johansen, got {type(probabilities).__name__}")
    pt = probabilities
    if kind not in ("stacked", "lines"):
        raise ValueError(f"kind must be 'stacked' or 'lines', got {kind!r}")
    if pt.direction != "forward":
        raise ValueError("plot_state_probabilities draws forward probabilities")
    check_suppress(suppress_below)
    tr = pt.transitions
    states = list(tr.states) if order is None else list(order)
    codes = [tr.code(s, "order names state") for s in states]
    if len(set(codes)) != len(codes):
        raise ValueError(f"order names a state twice: {states}")
    if kind == "stacked" and len(codes) != tr.n_states:
        missing = [s for s in tr.states if s not in states]
        raise ValueError(f"a stacked plot needs every state (they sum to 1); order misses "
                         f"{missing}")
    names = [str((labels or {}).get(s, s)) for s in states]
    if colors is None:
        palette = default_colors(tr.n_states)
        palette = [palette[c] for c in codes]
    elif isinstance(colors, Mapping):
        default = default_colors(tr.n_states)
        palette = [colors.get(s, default[c]) for s, c in zip(states, codes, strict=True)]
    else:
        palette = list(colors)
        if len(palette) != len(states):
            raise ValueError(f"colors: got {len(palette)} colours for {len(states)} states")
    _, a = pt._code(start)
    t = pt.times
    P = pt.probability[:, a, :][:, codes]
    ticks = _ticks(float(t[0]), float(t[-1]), times)
    x_right = float(ticks[-1]) if times is not None else float(t[-1])
    lf = _long_frame(pt, frame) if risk_table else None
    transient = [c for c in codes if c not in {tr.code(s) for s in tr.absorbing}]
    counts = _at_risk(lf, tr, transient, ticks) if lf is not None and transient else None

    with themed():
        rc = mpl.rcParams
        fs_small = points(rc["xtick.labelsize"])
        lines = [(names[codes.index(h)], palette[codes.index(h)], "n_risk", h)
                 for h in reversed(transient)] if counts is not None else []
        table_h = table_height_in(len(lines), fs_small)
        if ax is None:
            if figsize is None:
                figsize = (4.5, 3.0 + (table_h + 0.3 if lines else 0.0))
            fig = new_figure(figsize)
            ax = fig.subplots()
        else:
            fig = ax.get_figure(root=True)
        ax.set_label(LABEL_CURVE_AXES)
        ax_t, split = attach_table_axes(ax, table_h) if lines else (None, None)
        # extend the last step to the right edge of the axis
        tx = np.append(t, max(x_right, float(t[-1])))
        if kind == "stacked":
            top = np.cumsum(P, axis=1)
            bottom = top - P
            for j in range(len(codes)):
                ya = np.append(top[:, j], top[-1, j])
                yb = np.append(bottom[:, j], bottom[-1, j])
                ax.fill_between(tx, yb, ya, step="post", color=palette[j], alpha=0.75,
                                linewidth=0, gid=GID_AREA)
                _area_label(ax, tx, yb, ya, names[j], fs_small, x_right)
            ax.set_ylim(0, 1)
        else:
            for j in range(len(codes)):
                y = np.append(P[:, j], P[-1, j])
                ax.step(tx, y, where="post", color=palette[j], gid=GID_LINE)
                ax.text(tx[-1], y[-1], f" {names[j]}", color=palette[j], va="center",
                        ha="left", fontsize=fs_small, gid=GID_LABEL, clip_on=False)
            ax.set_ylim(0, max(1.0, float(P.max()) * 1.05))
        ax.set_xlim(float(t[0]), x_right)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title, loc="left")
        pin_ticks(ax)
        if ax_t is not None and split is not None:
            split.header = draw_count_table(ax_t, counts, lines, ticks, fs_small,
                                            suppress_below, header="Number at risk",
                                            source="the long frame")
    return fig


def _area_label(ax: Axes, tx, lo, hi, text: str, fontsize: float, x_end: float) -> None:
    """The state name inside its area: where the area stays tallest under the whole
    text (its width estimated from the font size on an axis of about 4 inches), the
    most central such place; nothing where the area is thin everywhere."""
    x0, x1 = float(tx[0]), x_end
    half = min(0.45, (0.55 * fontsize * len(text) + 8.0) / (2 * 270.0)) * (x1 - x0)
    grid = np.linspace(x0 + half, x1 - half, 201)
    idx = np.clip(np.searchsorted(tx, grid, side="right") - 1, 0, len(hi) - 1)
    height = hi[idx] - lo[idx]
    win = max(1, int(round(200 * half / max(x1 - x0 - 2 * half, 1e-12))))
    # the smallest height under the text around each grid point
    pad = np.pad(height, win, mode="edge")
    low = np.lib.stride_tricks.sliding_window_view(pad, 2 * win + 1).min(axis=1)
    if low.max() < 0.05:
        return
    good = np.flatnonzero(low >= 0.9 * low.max())
    k = int(good[np.argmin(np.abs(good - 100))])
    ax.text(grid[k], 0.5 * (lo[idx[k]] + hi[idx[k]]), text, ha="center", va="center",
            fontsize=fontsize, color="black", gid=GID_LABEL, clip_on=True)


def _layout(tr) -> dict[int, tuple[float, float]]:
    """Transient states in a top row by their longest path from the first state;
    absorbing states in a bottom row under the mean position of the states they are
    reached from, pushed apart to one box width."""
    S = tr.n_states
    absorbing = np.bincount(tr.tfrom, minlength=S) == 0
    level = np.zeros(S)
    for _ in range(S):                     # longest path, states (a few)
        level[tr.tto] = np.maximum(level[tr.tto], level[tr.tfrom] + 1)
    pos: dict[int, tuple[float, float]] = {}
    top = sorted((h for h in range(S) if not absorbing[h]), key=lambda h: (level[h], h))
    x_of_level: dict[float, list[int]] = {}
    for h in top:
        x_of_level.setdefault(level[h], []).append(h)
    x = 0.0
    for lv in sorted(x_of_level):
        group = x_of_level[lv]
        for i, h in enumerate(group):
            pos[h] = (x, 0.0 - 0.9 * i)
        x += 1.0
    bottom = [h for h in range(S) if absorbing[h]]
    want = {h: float(np.mean([pos[f][0] for f in tr.tfrom[tr.tto == h] if f in pos] or [0]))
            for h in bottom}
    placed: list[float] = []
    y_bottom = min([p[1] for p in pos.values()] + [0.0]) - 1.2
    for h in sorted(bottom, key=lambda h: (want[h], h)):
        xb = want[h] if not placed else max(want[h], placed[-1] + 1.0)
        placed.append(xb)
        pos[h] = (xb, y_bottom)
    return pos


def plot_state_diagram(
    frame_or_cohort: Any,
    *,
    labels: Mapping[Any, str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    suppress_below: int | None = None,
) -> Figure:
    """Draw the states as boxes and the transitions as arrows with the number of
    patients making each transition (as in transplant papers).

    Parameters
    ----------
    frame_or_cohort
        The long frame of :func:`rwe_cart.multistate_frame` (it carries the model), a
        :class:`~rwe_cart.Cohort` (its CAR-T pathway, ``cohort.multistate()``) or that
        pathway model (:class:`~rwe_cart.CartMultistate`).
    labels
        Display names of states.
    ax, title, figsize
        Axes to draw on (else a new figure), title and size.
    suppress_below
        Counts below this are shown as "<k".

    Returns
    -------
    matplotlib.figure.Figure
        Each box shows the state and the number of patients who were ever in it (all
        patients for the first state); each arrow the number of transitions made.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> fig = rc.plot_state_diagram(rc.datasets.rocca_like())
    >>> sorted(int(t.get_text()) for t in fig.axes[0].texts if t.get_gid() == "transition-count")
    [1, 5, 11, 14, 27, 30, 34, 36, 151]
    """
    from rwe_cart.privacy import format_count
    from rwe_cart.survival.multistate import TRANSITIONS_ATTR

    frame = frame_or_cohort
    if hasattr(frame, "multistate") and callable(frame.multistate):   # a Cohort
        frame = frame.multistate()
    frame = getattr(frame, "frame", frame)   # the CAR-T pathway model (CartMultistate)
    if not isinstance(frame, pd.DataFrame) or TRANSITIONS_ATTR not in frame.attrs:
        raise TypeError("plot_state_diagram takes a cohort, its multistate() model or the "
                        "long frame of rc.multistate_frame (which carries its transitions), "
                        f"got {type(frame_or_cohort).__name__}")
    check_suppress(suppress_below)
    tr = frame.attrs[TRANSITIONS_ATTR]
    made = frame.loc[frame["status"] == 1, "trans"].value_counts()
    n_trans = np.array([int(made.get(k, 0)) for k in range(1, tr.n_transitions + 1)])
    n_pat = frame["id"].nunique()
    n_state = np.zeros(tr.n_states, dtype=np.int64)
    n_state[0] = n_pat
    np.add.at(n_state, tr.tto, n_trans)
    pos = _layout(tr)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    bw, bh = 0.62, 0.42

    with themed():
        rc = mpl.rcParams
        fs = points(rc["axes.labelsize"])
        fs_small = points(rc["xtick.labelsize"])
        if ax is None:
            if figsize is None:
                figsize = (1.0 + 1.6 * (max(xs) - min(xs) + 1), 0.6 + 1.3 * (max(ys) - min(ys) + 1))
            fig = new_figure(figsize)
            ax = fig.subplots()
        else:
            fig = ax.get_figure(root=True)
        for h, (x, y) in pos.items():
            box = FancyBboxPatch((x - bw / 2, y - bh / 2), bw, bh,
                                 boxstyle="round,pad=0.02,rounding_size=0.05",
                                 facecolor="#F2F2F2", edgecolor="black",
                                 linewidth=rc["axes.linewidth"], gid=GID_BOX)
            ax.add_patch(box)
            name = str((labels or {}).get(tr.states[h], tr.states[h]))
            ax.text(x, y + 0.06, name, ha="center", va="center", fontsize=fs,
                    fontweight="bold")
            ax.text(x, y - 0.1, f"n = {format_count(n_state[h], suppress_below)}",
                    ha="center", va="center", fontsize=fs_small)
        for k in range(tr.n_transitions):
            (x0, y0), (x1, y1) = pos[int(tr.tfrom[k])], pos[int(tr.tto[k])]
            skip = abs(y0 - y1) < 1e-9 and abs(x1 - x0) > 1.0 + 1e-9
            if skip:
                # a transition past the boxes between: an arc from top edge to top edge
                top = bh / 2 + 0.03
                ends = ((x0, y0 + top), (x1, y1 + top))
                rad = -0.3 if x1 > x0 else 0.3
            else:
                ends = _edge_points((x0, y0), (x1, y1), bw, bh)
                rad = 0.0
            arrow = FancyArrowPatch(*ends, arrowstyle="-|>", mutation_scale=10,
                                    connectionstyle=f"arc3,rad={rad}",
                                    shrinkA=0, shrinkB=0, linewidth=rc["lines.linewidth"],
                                    color="black", gid=GID_ARROW)
            ax.add_patch(arrow)
            xm, ym = _label_point(*ends, rad)
            ax.text(xm, ym, format_count(n_trans[k], suppress_below), ha="center",
                    va="center", fontsize=fs_small, gid=GID_COUNT,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white",
                          "edgecolor": "none"})
        ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
        ax.set_ylim(min(ys) - 0.4, max(ys) + 0.4 + (0.45 if _has_skip(tr, pos) else 0.0))
        ax.set_aspect("equal")
        ax.axis("off")
        if title:
            ax.set_title(title, loc="left")
    return fig


def _has_skip(tr, pos) -> bool:
    return any(abs(pos[int(a)][1] - pos[int(b)][1]) < 1e-9
               and abs(pos[int(a)][0] - pos[int(b)][0]) > 1.0 + 1e-9
               for a, b in zip(tr.tfrom, tr.tto, strict=True))


def _edge_points(p0, p1, bw, bh):
    """Where the segment between two box centres leaves the first box and enters the
    second (arrows start and end on the box edges)."""
    (x0, y0), (x1, y1) = p0, p1
    dx, dy = x1 - x0, y1 - y0
    # fraction of the segment inside a box of half-size (bw/2, bh/2) around a centre
    f = min((bw / 2 + 0.03) / abs(dx) if dx else np.inf, (bh / 2 + 0.03) / abs(dy) if dy else np.inf)
    return (x0 + f * dx, y0 + f * dy), (x1 - f * dx, y1 - f * dy)


def _label_point(p0, p1, rad):
    (x0, y0), (x1, y1) = p0, p1
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    if rad:
        # arc3 bends the midpoint by rad * (segment length) to the side given by its sign
        dx, dy = x1 - x0, y1 - y0
        xm += rad * dy / 2
        ym -= rad * dx / 2
    return xm, ym
