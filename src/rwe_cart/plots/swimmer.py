"""Swimmer plot: one bar per patient from infusion to last contact, with the events on it.

The bars and markers are the dates of `rwe_cart.cohort.Cohort.patients` (days from the
origin): best response (CR/CRi/CRh, by MRD status), allo-HSCT (in remission or not),
relapse/progression, death, and an arrow for patients alive at last contact. Nothing is
estimated. Rows are numbered 1..n in the order shown; patient identifiers appear only when
asked for (``show_ids=True``).
"""

from __future__ import annotations

from typing import Any, Literal

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, NullLocator
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from rwe_cart.cohort import Cohort
from rwe_cart.endpoints import BASE_DEFINITIONS
from rwe_cart.plots._common import TIME_UNITS, check_unit, pin_ticks, points, time_axis, top_legend, wrap_text
from rwe_cart.plots.theme import DOUBLE_COLUMN_IN, OKABE_ITO, new_figure, themed
from rwe_cart.schema import RESPONSES_CR

__all__ = ["plot_swimmer"]

ORDERS = ("time", "response", "hsct", "none")
SUBSETS = ("spread", "first", "random")

# Artist ids, so tests and users can find what was drawn.
GID_BAR = "swimmer-bar"
GID_ENDPOINT = "swimmer-endpoint"
GID_NOTE = "swimmer-note"
GID_SEPARATOR = "swimmer-separator"
GID_GROUP = "swimmer-group"
LABEL_AXES = "swimmer"

_FOLLOW_UP = "0.80"
_ENDPOINT = "0.45"

# kind -> (legend text, marker, colour, filled); drawn in this order (later on top).
MARKERS: dict[str, tuple[str, str, str, bool]] = {
    "response_mrd_neg": ("CR/CRi/CRh, MRD-negative", "o", OKABE_ITO[2], True),
    "response_mrd_pos": ("CR/CRi/CRh, MRD-positive", "o", OKABE_ITO[2], False),
    "response_mrd_na": ("CR/CRi/CRh, MRD not assessed", "d", OKABE_ITO[2], False),
    "hsct_remission": ("Allo-HSCT in remission", "s", OKABE_ITO[0], True),
    "hsct_salvage": ("Allo-HSCT not in remission (salvage)", "s", OKABE_ITO[3], False),
    "relapse": ("Relapse/progression", "^", OKABE_ITO[1], True),
    "death": ("Death", "X", "black", True),
    "alive": ("Alive at last contact", ">", "black", True),
}

# Endpoint overlay legend text: the state a patient is in while the bar is dark.
_STATE = {
    "OS": "Alive (OS)",
    "PFS": "Progression-free (PFS)",
    "EFS": "Event-free (EFS)",
    "RFS": "Relapse-free (RFS)",
    "DOR": "In response (DOR)",
    "CIR": "Relapse-free, alive (CIR/NRM)",
    "NRM": "Relapse-free, alive (CIR/NRM)",
}

# Group labels right of the plot (two short lines keep the plot wide).
_GROUP_NAMES = {
    "response": ("CR/CRi/CRh\nMRD-negative", "CR/CRi/CRh\nMRD-positive", "CR/CRi/CRh\nMRD not assessed",
                 "No response\n(NR/PD)", "Not evaluable\nor unknown"),
    "hsct": ("Allo-HSCT\nin remission", "Allo-HSCT not\nin remission", "No allo-HSCT"),
}
_ORDER_WORDS = {
    "time": "by {by}, longest first",
    "response": "by best response (MRD-negative, MRD-positive, MRD not assessed, no response, not evaluable), "
                "then by {by}",
    "hsct": "by allo-HSCT (in remission, not in remission, none), then by {by}",
    "none": "as in the cohort table",
}

_BARS_MAX_IN = 7.0  # height given to the bars of a large cohort (a journal page is ~9.5 in)
_PITCH_PT = (2.8, 12.0)  # row pitch limits in points: legible markers, no giant bars
_LABEL_STEPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 500)


def plot_swimmer(
    cohort: Cohort,
    *,
    endpoint: str | pd.DataFrame | None = None,
    order: Literal["time", "response", "hsct", "none"] = "time",
    max_patients: int | None = None,
    subset: Literal["spread", "first", "random"] = "spread",
    seed: int = 0,
    time_unit: str = "months",
    show_ids: bool = False,
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    note: bool = True,
    legend: bool = True,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Swimmer plot of a cohort: one bar per patient from infusion to last contact or death.

    Parameters
    ----------
    cohort
        A :class:`~rwe_cart.cohort.Cohort`; bars and markers are its day columns
        ``t_last``, ``t_response``, ``t_hsct``, ``t_relapse``, ``t_death`` and the
        columns ``best_response``, ``mrd_negative``, ``hsct_in_remission``, ``dead``
        (``best_response`` and ``mrd_negative`` may be absent: no response markers, or
        every response "MRD not assessed").
    endpoint
        Darken the part of each bar before the endpoint's event or censoring: an endpoint
        name ("OS", "PFS", "EFS", "RFS", "DOR", "CIR", "NRM"; the frame of
        ``cohort.endpoint(name)``) or a frame returned by ``cohort.endpoint(...)`` with
        options (e.g. ``censor_at_hsct=True``). DOR starts at first response. With an
        endpoint, rows sort by the end of the dark bar instead of follow-up (patients
        outside the endpoint's population, non-responders for DOR, by follow-up).
    order
        Rows top to bottom: "time" (follow-up, longest first), "response" (best response
        and MRD status, then follow-up), "hsct" (allo-HSCT in remission, not in
        remission, none, then follow-up) or "none" (cohort order). Ties keep the cohort
        order. Groups of "response"/"hsct" are separated by thin lines.
    max_patients
        Show at most this many patients; the rule is stated under the plot. Which ones is
        ``subset``.
    subset
        "spread" (default: evenly spaced ranks in the chosen order, so the subset spans the
        whole cohort), "first" (the first ``max_patients`` in the chosen order) or
        "random" (a simple random sample drawn with ``seed``; shown in the chosen order).
    seed
        Seed of the random subset.
    time_unit
        "months" (days / 30.4375; default), "days", "weeks" or "years".
    show_ids
        Label rows by ``patient_id`` instead of sequence numbers 1..n. Off by default so
        that no identifier reaches a figure by accident; every row is then labelled and
        the figure grows to fit (use ``max_patients`` for a large cohort).
    ax
        Draw on this axes (its figure is returned); by default a new figure 6.85 in wide
        whose height grows with the number of rows (up to ~7 in of bars).
    title, xlabel
        Title above the legend; x label (default "Time since infusion (months)", or since
        the cohort's origin when it is apheresis or enrollment).
    note
        State the order and any subset rule under the plot (the text has gid
        "swimmer-note", for a caption elsewhere switch it off).
    legend
        A legend above the plot explaining every bar and marker drawn.
    figsize
        Figure size in inches when ``ax`` is not given.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    A response marker sits at the first CR/CRi/CRh (``t_response``), filled when
    ``mrd_negative`` is True, open when False, an open diamond when not assessed. HSCT in
    remission is the cohort's ``hsct_in_remission`` flag (docs/data-contract.md: CR before HSCT and no
    relapse on or before it); any other post-infusion HSCT is drawn as salvage. Death is
    drawn at ``t_death``; patients not dead get an arrow after the end of their bar.

    Bars start at day 0 of the cohort (its origin: infusion unless loaded with
    ``origin="apheresis"`` or ``"enrollment"``).

    The bars have gid "swimmer-bar" (one per patient shown) and the endpoint overlay
    "swimmer-endpoint"; each marker kind is one line artist with gid
    "swimmer-<kind>" (kinds: ``MARKERS``); group names "swimmer-group", the lines
    between and beside groups "swimmer-separator", the note "swimmer-note". The axes has
    label "swimmer".

    Examples
    --------
    >>> import matplotlib.pyplot as plt, rwe_cart as rc
    >>> fig = rc.plot_swimmer(rc.datasets.zuma3_like(), endpoint="PFS", order="hsct")
    >>> fig.axes[0].get_xlabel()
    'Time since infusion (months)'
    >>> plt.close(fig)
    """
    if not isinstance(cohort, Cohort):
        raise TypeError(f"plot_swimmer needs a Cohort (rwe_cart.cohort.Cohort), got {type(cohort).__name__}")
    unit = check_unit(time_unit)
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {SUBSETS}, got {subset!r}")
    if max_patients is not None and (isinstance(max_patients, bool) or int(max_patients) != max_patients
                                     or max_patients < 1):
        raise ValueError(f"max_patients must be a positive integer, got {max_patients!r}")
    p = cohort.patients
    n = len(p)
    if n == 0:
        raise ValueError("plot_swimmer: the cohort has no patients")

    response, days = _marker_days(p)
    ep_key, ep_start, ep_stop = _endpoint_segments(cohort, endpoint)
    t_last = p["t_last"].to_numpy(dtype=float)
    sort_time = np.where(np.isnan(ep_stop), t_last, ep_stop) if ep_key is not None else t_last
    group = _groups(p, response, order)
    rows = _row_order(order, sort_time, group)
    rows, subset_words = _pick(rows, max_patients, subset, seed)
    m = len(rows)
    drawn = [kind for kind in MARKERS if not np.isnan(days[kind][rows]).all()]
    note_text = ""
    if note:
        by = "follow-up" if ep_key is None else f"end of the dark bar ({ep_key})"
        note_text = f"Rows ordered {_ORDER_WORDS[order].format(by=by)}; numbered 1–{m} in that order."
        if subset_words:
            note_text += f" {subset_words}"
        if ep_key is not None:
            note_text += f" Dark bar: {_definition(endpoint, ep_key)}"

    scale = TIME_UNITS[unit]
    ticks, x_right = time_axis(float(np.nanmax(t_last[rows])) / scale, None, unit)

    with themed():
        rc = mpl.rcParams
        fs = points(rc["ytick.labelsize"])
        pitch_pt = float(np.clip(_BARS_MAX_IN * 72.0 / m, *_PITCH_PT))
        if show_ids:
            pitch_pt = max(pitch_pt, 1.3 * fs)
        if ax is None:
            if figsize is None:
                entries = (len(drawn) + (2 if ep_key is not None else 1)) if legend else 0
                note_lines = wrap_text(note_text, DOUBLE_COLUMN_IN * 72.0 - 60.0, fs).count("\n") + 1 if note else 0
                figsize = (DOUBLE_COLUMN_IN, m * pitch_pt / 72.0 + _overhead_in(entries, title, note_lines, fs))
            fig = new_figure(figsize)
            ax = fig.add_subplot()
        else:
            fig = ax.get_figure(root=True)
            pitch_pt = ax.get_position(original=True).height * fig.get_figheight() * 72.0 / m
        ax.set_label(LABEL_AXES)
        mark_pt = float(np.clip(0.95 * pitch_pt, 2.6, 5.5))
        y = np.arange(m, dtype=float)

        bars = ax.barh(y, t_last[rows] / scale, height=0.72, left=0.0, color=_FOLLOW_UP, linewidth=0, zorder=1)
        for patch in bars.patches:
            patch.set_gid(GID_BAR)
        handles: list[Any] = [Patch(facecolor=_FOLLOW_UP, edgecolor="none")]
        names = ["Follow-up" if ep_key is None else f"Follow-up after {ep_key} event or censoring"]
        if ep_key is not None:
            has = ~np.isnan(ep_stop[rows])
            start, stop = ep_start[rows][has] / scale, ep_stop[rows][has] / scale
            overlay = ax.barh(y[has], stop - start, height=0.72, left=start, color=_ENDPOINT, linewidth=0,
                              zorder=1.5)
            for patch in overlay.patches:
                patch.set_gid(GID_ENDPOINT)
            handles.insert(0, Patch(facecolor=_ENDPOINT, edgecolor="none"))
            names.insert(0, _STATE[ep_key])

        arrow_dx = ScaledTranslation(0.75 * mark_pt / 72.0, 0.0, fig.dpi_scale_trans)
        for kind in drawn:
            label, marker, color, filled = MARKERS[kind]
            x = days[kind][rows]
            at = ~np.isnan(x)
            style = dict(marker=marker, linestyle="none", markersize=mark_pt, markeredgecolor=color,
                         markerfacecolor=color if filled else "white", markeredgewidth=0.5 if filled else 0.7)
            ax.plot(x[at] / scale, y[at], clip_on=False, zorder=3, gid=f"swimmer-{kind}",
                    transform=ax.transData + arrow_dx if kind == "alive" else ax.transData, **style)
            handles.append(Line2D([], [], **{**style, "markersize": 5.0}))
            names.append(label)

        if order in _GROUP_NAMES:
            _draw_groups(ax, group[rows], _GROUP_NAMES[order], pitch_pt, fs)

        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.set_xlim(0.0, x_right)
        ax.set_ylim(m - 0.5, -0.5)
        _label_rows(ax, p["patient_id"].to_numpy()[rows] if show_ids else None, m, pitch_pt, fs)
        origin = cohort.meta.get("origin", "infusion")
        ax.set_xlabel(xlabel if xlabel is not None else f"Time since {origin} ({unit})")
        ax.set_ylabel("Patient" if show_ids else "Patient (row number)")
        ax.spines[["top", "right"]].set_visible(False)
        pin_ticks(ax)

        legend_pt = top_legend(ax, handles, names) if legend else 0.0
        if title is not None:
            ax.set_title(title, loc="left", pad=rc["axes.titlepad"] + legend_pt)
        if note:
            slot_pt = ax.get_position(original=True).width * fig.get_figwidth() * 72.0
            ax.annotate(wrap_text(note_text, max(slot_pt, 144.0), fs), xy=(0.0, 0.0),
                        xycoords=("axes fraction", ax.xaxis.label), xytext=(0.0, -6.0), textcoords="offset points",
                        ha="left", va="top", fontsize=fs, color="0.25", annotation_clip=False, gid=GID_NOTE)
    return fig


# --------------------------------------------------------------------------- data


def _marker_days(p: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Response category per patient (index into the "response" group names) and the day
    of each marker kind per patient (NaN: not drawn)."""
    n = len(p)
    nan = np.full(n, np.nan)
    t_resp = p["t_response"].to_numpy(dtype=float)
    best = p["best_response"] if "best_response" in p else pd.Series(pd.NA, index=p.index, dtype=object)
    cr = best.isin(RESPONSES_CR).to_numpy() & ~np.isnan(t_resp)
    mrd = p["mrd_negative"].astype("boolean") if "mrd_negative" in p else pd.Series(pd.NA, index=p.index,
                                                                                     dtype="boolean")
    mrd_neg = mrd.eq(True).fillna(False).to_numpy(dtype=bool)
    mrd_pos = mrd.eq(False).fillna(False).to_numpy(dtype=bool)
    t_hsct = p["t_hsct"].to_numpy(dtype=float)
    remission = p["hsct_in_remission"].to_numpy(dtype=bool)
    dead = p["dead"].to_numpy(dtype=bool)
    days = {
        "response_mrd_neg": np.where(cr & mrd_neg, t_resp, nan),
        "response_mrd_pos": np.where(cr & mrd_pos, t_resp, nan),
        "response_mrd_na": np.where(cr & ~mrd_neg & ~mrd_pos, t_resp, nan),
        "hsct_remission": np.where(remission, t_hsct, nan),
        "hsct_salvage": np.where(~remission, t_hsct, nan),
        "relapse": p["t_relapse"].to_numpy(dtype=float),
        "death": np.where(dead, p["t_death"].to_numpy(dtype=float), nan),
        "alive": np.where(dead, nan, p["t_last"].to_numpy(dtype=float)),
    }
    category = np.select(
        [cr & mrd_neg, cr & mrd_pos, cr, best.isin(("NR", "PD")).to_numpy()], [0, 1, 2, 3], default=4
    )
    return category, days


def _groups(p: pd.DataFrame, response: np.ndarray, order: str) -> np.ndarray:
    if order == "response":
        return response
    if order == "hsct":
        has = p["t_hsct"].notna().to_numpy()
        return np.where(p["hsct_in_remission"].to_numpy(dtype=bool), 0, np.where(has, 1, 2))
    return np.zeros(len(p), dtype=int)


def _row_order(order: str, sort_time: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Positions of the patients, top row first (stable: ties keep the cohort order)."""
    idx = np.arange(len(sort_time))
    if order == "none":
        return idx
    # lexsort: last key first; longest time first within a group, then cohort order
    return np.lexsort((idx, -sort_time, group))


def _pick(rows: np.ndarray, max_patients: int | None, subset: str, seed: int) -> tuple[np.ndarray, str]:
    n = len(rows)
    if max_patients is None or max_patients >= n:
        return rows, ""
    k = int(max_patients)
    if subset == "first":
        return rows[:k], f"Shown: the first {k} of {n} patients in that order."
    if subset == "spread":
        keep = np.round(np.linspace(0, n - 1, k)).astype(int)  # distinct: the step is >= 1
        ranks = ", ".join(str(r + 1) for r in keep[:3])
        return rows[keep], (f"Shown: {k} of {n} patients, at evenly spaced ranks of that order "
                            f"({ranks}, …, {keep[-1] + 1}).")
    keep = np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))
    return rows[keep], f"Shown: a simple random sample of {k} of {n} patients (seed {seed}), in that order."


def _endpoint_segments(cohort: Cohort, endpoint: str | pd.DataFrame | None
                       ) -> tuple[str | None, np.ndarray, np.ndarray]:
    """(endpoint key, start day, stop day) per patient; NaN where the patient is not in it."""
    n = len(cohort.patients)
    if endpoint is None:
        return None, np.full(n, np.nan), np.full(n, np.nan)
    if isinstance(endpoint, str):
        frame = cohort.endpoint(endpoint)
    elif isinstance(endpoint, pd.DataFrame):
        frame = endpoint
    else:
        raise TypeError(f"endpoint must be an endpoint name or a frame from cohort.endpoint(), "
                        f"got {type(endpoint).__name__}")
    key = frame.attrs.get("endpoint")
    if key not in _STATE or not {"patient_id", "time"} <= set(frame.columns):
        raise ValueError("endpoint: pass a name or the frame returned by cohort.endpoint(...) "
                         "(columns patient_id, time and attrs['endpoint'])")
    p = cohort.patients
    pos = pd.Index(p["patient_id"]).get_indexer(frame["patient_id"])
    if (pos < 0).any():
        raise ValueError(f"endpoint: {int((pos < 0).sum())} patients of the endpoint frame are not in the cohort "
                         f"(was it derived from another cohort?)")
    from_response = key == "DOR" or frame.attrs.get("options", {}).get("origin") == "response"
    zero = p["t_response"].to_numpy(dtype=float)[pos] if from_response else np.zeros(len(pos))
    start, stop = np.full(n, np.nan), np.full(n, np.nan)
    start[pos] = zero
    stop[pos] = zero + frame["time"].to_numpy(dtype=float)
    return key, start, stop


def _definition(endpoint: str | pd.DataFrame | None, key: str) -> str:
    if isinstance(endpoint, pd.DataFrame) and endpoint.attrs.get("definition"):
        return str(endpoint.attrs["definition"])
    return BASE_DEFINITIONS[key]


# --------------------------------------------------------------------------- layout


def _overhead_in(legend_entries: int, title: str | None, note_lines: int, fs: float) -> float:
    """Height in inches around the bars: x axis and label, legend (three entries a row
    fit a double-column width), title, note."""
    legend_pt = -(-legend_entries // 3) * 1.45 * fs + 6.0 if legend_entries else 0.0
    note_pt = note_lines * 1.25 * fs + 8.0 if note_lines else 0.0
    return 0.45 + (legend_pt + note_pt) / 72.0 + (0.25 if title else 0.0)


def _draw_groups(ax: Axes, g: np.ndarray, names: tuple[str, ...], pitch_pt: float, fs: float) -> None:
    """Dashed lines between the groups of the row order, and each group's name right of
    the plot beside a bracket over its rows.

    A name starts at its group's first row, or under the previous name when a small
    group leaves no room (names never overlap; a moved name is still next to its rows
    or just below them).
    """
    starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    stops = np.r_[starts[1:], len(g)]
    for cut in starts[1:]:
        ax.axhline(cut - 0.5, color="0.55", linewidth=0.5, linestyle=(0, (3, 2)), zorder=0.5, gid=GID_SEPARATOR)
    side = blended_transform_factory(ax.transAxes, ax.transData)
    line_rows = 1.2 * fs / pitch_pt  # one text line, in rows
    free = -0.5  # first row (in data units) not yet taken by a name above
    gap = min(1.0 / pitch_pt, 0.25)  # brackets of adjacent groups stay apart
    fig = ax.get_figure(root=False)
    cap = 2.5 / (ax.get_position(original=True).width * fig.get_figwidth() * 72.0)  # 2.5 pt, in axes width
    for a, b in zip(starts, stops, strict=True):
        lo, hi = a - 0.5 + gap, b - 0.5 - gap
        ax.plot([1.025 - cap, 1.025, 1.025, 1.025 - cap], [lo, lo, hi, hi], transform=side, color="0.35",
                linewidth=0.6, solid_joinstyle="miter", clip_on=False, gid=GID_SEPARATOR)
        name = names[int(g[a])]
        top = max(a - 0.5, free)
        ax.text(1.035, top, name, transform=side, ha="left", va="top", fontsize=fs, linespacing=1.1,
                clip_on=False, gid=GID_GROUP)
        free = top + (name.count("\n") + 1.3) * line_rows


def _label_rows(ax: Axes, ids: np.ndarray | None, m: int, pitch_pt: float, fs: float) -> None:
    """Row labels: every patient id, or the sequence numbers 1, k, 2k, … spaced so they
    do not touch (every row when the rows are tall enough)."""
    ax.yaxis.set_minor_locator(NullLocator())
    if ids is not None:
        ax.yaxis.set_major_locator(FixedLocator(np.arange(m)))
        ax.set_yticklabels([str(v) for v in ids])
        return
    room = 1.25 * fs
    step = next((s for s in _LABEL_STEPS if s * pitch_pt >= room), _LABEL_STEPS[-1])
    numbers = np.arange(1, m + 1)
    # 1, step, 2 step, …; the first row keeps its label when it clears the first multiple
    first = step == 1 or (step - 1) * pitch_pt >= room
    shown = numbers[(numbers % step == 0) | ((numbers == 1) & first)]
    ax.yaxis.set_major_locator(FixedLocator(shown - 1))
    ax.set_yticklabels([str(v) for v in shown])
