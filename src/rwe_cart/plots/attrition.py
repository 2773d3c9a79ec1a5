"""CONSORT-style flow diagram of a cohort: rows read, exclusions by reason, patients analysed.

The numbers are the cohort's own records: ``cohort.n_input`` (rows read),
``cohort.attrition`` (one row per excluded input row, with its step and reason),
``cohort.problems`` (the rules each row excluded at validation broke) and
``len(cohort)``. Optional subset boxes count responders and HSCT in remission among the
analysed patients. Nothing is estimated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.transforms import Affine2D, ScaledTranslation

from rwe_cart.cohort import Cohort
from rwe_cart.plots._common import check_suppress, fmt_count, points, text_width_pt, wrap_text
from rwe_cart.plots.theme import new_figure, themed
from rwe_cart.schema import RESPONSES_CR

__all__ = ["plot_attrition"]

# Artist ids, so tests and users can find what was drawn.
GID_INPUT = "attrition-input"
GID_REMAINING = "attrition-remaining"
GID_EXCLUDED = "attrition-excluded"
GID_REASON = "attrition-reason"
GID_ANALYSED = "attrition-analysed"
GID_SUBSET = "attrition-subset"
GID_NOTE = "attrition-note"
GID_BOX = "attrition-box"
GID_ARROW = "attrition-arrow"

_STEP_TITLES = {"read": "Blank rows skipped", "validation": "Excluded: failed the data checks"}
_BOX_TEXT = {
    "input": "Rows read",
    "analysed": "Analysed",
    "remaining": "Remaining",
    "responders": "Responders (CR/CRi/CRh)",
    "hsct_in_remission": "of whom allo-HSCT in remission",
}

# Layout in points.
_PAD = 5.0  # inside a box
_GAP_V = 16.0  # between boxes of the main column (room for the side arrow)
_GAP_H = 22.0  # from the main box's right edge to a side box
_MAIN_MIN = 110.0
_SIDE_W = 230.0
_BULLET = 8.0
_LINESPACING = 1.2


def plot_attrition(
    cohort: Cohort,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
    suppress_below: int | None = None,
    subsets: bool = False,
    max_reasons: int = 8,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """CONSORT-style flow diagram: rows read, the rows excluded at each step by reason,
    the patients analysed.

    Parameters
    ----------
    cohort
        A :class:`~rwe_cart.cohort.Cohort`. Rows read are ``cohort.n_input``; each step of
        ``cohort.attrition`` ("read": blank rows, "validation": rows that broke a docs/data-contract.md
        rule, then each ``Cohort.subset`` step) is a box to the right of the flow;
        analysed is ``len(cohort)``.
    ax
        Draw on this axes (turned off); the diagram keeps its size in points and hangs
        from the top centre of the axes. By default a new figure just large enough.
    title
        Text above the diagram.
    labels
        Replacement texts, keyed by a box ("input", "analysed", "remaining",
        "responders", "hsct_in_remission"), a step name ("validation", …) or a reason
        as it appears in the diagram (e.g. ``"sex: one of F, M"``). Counts are added.
    suppress_below
        Small-cell suppression: every count from 1 to ``suppress_below - 1`` (totals
        included) is shown as "n < k" in the boxes and "<k" in the note. No complementary
        suppression: a hidden count can still follow from shown ones (rows read minus
        analysed), so look at the diagram before it leaves the secure environment.
    subsets
        Add dashed boxes under "Analysed" for the responders (best response CR/CRi/CRh)
        and, among them, the patients with allo-HSCT in remission
        (``hsct_in_remission``): subsets of the analysed patients, not exclusions.
    max_reasons
        Reasons listed per step, most frequent first; the others are one line ("3 other
        reasons"), counting each row once.
    figsize
        Figure size in inches when ``ax`` is not given.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    A row excluded at validation may break several rules: it is counted under every rule
    it broke, so the reason counts of a step can add up to more than the rows excluded
    at that step; the box header gives the rows excluded, and the diagram states the
    rule. Rows read = analysed + rows excluded (the promise of docs/data-contract.md), and the note
    under the diagram spells that sum out.

    Texts carry gids "attrition-input", "attrition-excluded" (one per step header),
    "attrition-reason", "attrition-remaining", "attrition-analysed", "attrition-subset"
    and "attrition-note"; boxes "attrition-box" and arrows "attrition-arrow".

    Examples
    --------
    >>> import matplotlib.pyplot as plt, pandas as pd, rwe_cart as rc
    >>> frame = rc.datasets.rocca_like_frame()
    >>> frame.loc[0, "date_relapse"] = pd.Timestamp("2000-01-01")
    >>> cohort = rc.load_registry(frame, errors="exclude")
    >>> len(cohort.attrition)
    1
    >>> fig = rc.plot_attrition(cohort)
    >>> plt.close(fig)
    """
    if not isinstance(cohort, Cohort):
        raise TypeError(f"plot_attrition needs a Cohort (rwe_cart.cohort.Cohort), got {type(cohort).__name__}")
    check_suppress(suppress_below)
    if isinstance(max_reasons, bool) or int(max_reasons) != max_reasons or max_reasons < 1:
        raise ValueError(f"max_reasons must be a positive integer, got {max_reasons!r}")
    names = dict(labels or {})
    steps = _steps(cohort, int(max_reasons))
    n_in, n_out = cohort.n_input, len(cohort)
    n_excluded = sum(s["n"] for s in steps)
    if n_in != n_out + n_excluded:  # built by hand, not by a loader: say which numbers disagree
        raise ValueError(f"plot_attrition: the cohort says {n_in} rows read but {n_out} analysed and "
                         f"{n_excluded} in attrition; rows read must equal analysed + excluded")

    def count(v: Any) -> str:
        return fmt_count(v, suppress_below)

    def n_is(v: Any) -> str:
        """"n = 12", or "n < 5" for a suppressed count."""
        s = count(v)
        return f"n < {s[1:]}" if s.startswith("<") else f"n = {s}"

    def box(key: str, n: Any) -> str:
        return f"{names.get(key, _BOX_TEXT[key])}\n({n_is(n)})"

    with themed():
        rc = mpl.rcParams
        fs = points(rc["font.size"])
        fs_small = points(rc["legend.fontsize"])
        line = fs * _LINESPACING
        line_small = fs_small * _LINESPACING

        # ---- texts of the side boxes (wrapped to the box) and their heights
        inner = _SIDE_W - 2 * _PAD
        sides = []
        several = False
        for s in steps:
            title_s = names.get(s["step"], _STEP_TITLES.get(s["step"], f"Excluded: {s['step']}"))
            head = wrap_text(f"{title_s} ({n_is(s['n'])})", inner, fs)
            items = [wrap_text(f"{names.get(r, r)} ({n_is(k)})", inner - _BULLET, fs_small)
                     for r, k in s["reasons"]]
            bullets = True
            if len(items) == 1 and s["reasons"][0][1] == s["n"]:
                # one reason shared by every row explains the header (no bullet, no count);
                # blank rows need no explanation
                reason = s["reasons"][0][0]
                items = [] if s["step"] == "read" else [wrap_text(names.get(reason, reason), inner, fs_small)]
                bullets = False
            several |= s["several"]
            height = 2 * _PAD + _lines(head) * line + sum(_lines(t) * line_small for t in items) + (
                0.3 * line_small if items else 0.0)
            width = 2 * _PAD + 2.0 + max([text_width_pt(head, fs)]
                                   + [text_width_pt(t, fs_small) + (_BULLET if bullets else 0.0) for t in items])
            sides.append({"head": head, "items": items, "bullets": bullets, "height": height, "width": width})
        if not steps:
            head = f"Excluded ({n_is(0)})"
            sides.append({"head": head, "items": [], "bullets": False, "height": 2 * _PAD + line,
                          "width": 2 * _PAD + text_width_pt(head, fs)})

        # ---- main column
        mains = [("input", box("input", n_in), GID_INPUT)]
        remaining = n_in
        for s in steps[:-1]:
            remaining -= s["n"]
            mains.append(("remaining", box("remaining", remaining), GID_REMAINING))
        mains.append(("analysed", box("analysed", n_out), GID_ANALYSED))
        subset_boxes: list[str] = []
        if subsets:
            n_resp, n_hsct = _subset_counts(cohort)
            subset_boxes = [box("responders", n_resp), box("hsct_in_remission", n_hsct)]
        main_w = max([_MAIN_MIN] + [text_width_pt(t, fs) + 2 * _PAD for _, t, _ in mains]
                     + [text_width_pt(t, fs) + 2 * _PAD for t in subset_boxes])
        main_h = 2 * _PAD + 2 * line
        side_w = max(side["width"] for side in sides)
        total_w = main_w + _GAP_H + side_w

        note_parts = []
        if several:
            note_parts.append("A row that broke several rules is counted under each rule; the box header "
                              "gives the rows excluded.")
        note_parts.append(f"Rows read ({count(n_in)}) = analysed ({count(n_out)}) + excluded ({count(n_excluded)}).")
        if subsets:
            note_parts.append("Dashed boxes: subsets of the analysed patients, not exclusions.")
        if suppress_below is not None:
            note_parts.append(f"Counts 1–{int(suppress_below) - 1} shown as <{int(suppress_below)}.")
        note = wrap_text(" ".join(note_parts), total_w, fs_small)

        title_h = (points(rc["axes.titlesize"]) * _LINESPACING + 8.0) if title else 0.0
        # y (points, downwards) of every box: main boxes, the side box beside each gap
        y = title_h
        main_y, side_y = [], []
        for i in range(len(mains)):
            main_y.append(y)
            y += main_h
            if i < len(sides):
                side_y.append(y + _GAP_V)
                y += _GAP_V + sides[i]["height"] + _GAP_V
        subset_y = []
        for _ in subset_boxes:
            y += _GAP_V
            subset_y.append(y)
            y += main_h
        note_y = y + 10.0
        total_h = note_y + _lines(note) * line_small + 2.0

        if ax is None:
            fig = new_figure(figsize if figsize is not None else (total_w / 72.0 + 0.15, total_h / 72.0 + 0.15))
            ax = fig.add_subplot()
        else:
            fig = ax.get_figure(root=True)
        ax.set_axis_off()
        ax.set_label("attrition")
        # points from the diagram's top-left, y downwards, hanging from the axes' top centre
        pt = (Affine2D().translate(-total_w / 2, 0.0).scale(1 / 72.0, -1 / 72.0) + fig.dpi_scale_trans
              + ScaledTranslation(0.5, 1.0, ax.transAxes))

        def rect(x0: float, y0: float, w: float, h: float, dashed: bool = False) -> None:
            ax.add_patch(Rectangle((x0, y0), w, h, transform=pt, facecolor="white", edgecolor="black",
                                   linewidth=0.7, linestyle=(0, (3, 2)) if dashed else "-", clip_on=False,
                                   gid=GID_BOX))

        def arrow(a: tuple[float, float], b: tuple[float, float]) -> None:
            ax.add_patch(FancyArrowPatch(a, b, transform=pt, arrowstyle="-|>", mutation_scale=7.0,
                                         shrinkA=0.0, shrinkB=0.0, linewidth=0.7, color="black",
                                         clip_on=False, gid=GID_ARROW))

        cx = main_w / 2
        if title:
            ax.text(0.0, 0.0, title, transform=pt, ha="left", va="top", fontsize=rc["axes.titlesize"],
                    clip_on=False, gid="attrition-title")
        for (_key, text, gid), y0 in zip(mains, main_y, strict=True):
            rect(0.0, y0, main_w, main_h)
            ax.text(cx, y0 + main_h / 2, text, transform=pt, ha="center", va="center", fontsize=fs,
                    linespacing=_LINESPACING, clip_on=False, gid=gid)
        for i in range(len(mains) - 1):
            arrow((cx, main_y[i] + main_h), (cx, main_y[i + 1]))
        x_side = main_w + _GAP_H
        for side, y0 in zip(sides, side_y, strict=True):
            rect(x_side, y0, side_w, side["height"])
            arrow((cx, y0 + side["height"] / 2), (x_side, y0 + side["height"] / 2))
            yy = y0 + _PAD
            ax.text(x_side + _PAD, yy, side["head"], transform=pt, ha="left", va="top", fontsize=fs,
                    linespacing=_LINESPACING, clip_on=False, gid=GID_EXCLUDED)
            yy += _lines(side["head"]) * line + 0.3 * line_small
            indent = _BULLET if side["bullets"] else 0.0
            for item in side["items"]:
                if side["bullets"]:
                    ax.text(x_side + _PAD, yy, "•", transform=pt, ha="left", va="top", fontsize=fs_small,
                            clip_on=False)
                ax.text(x_side + _PAD + indent, yy, item, transform=pt, ha="left", va="top", fontsize=fs_small,
                        linespacing=_LINESPACING, clip_on=False, gid=GID_REASON)
                yy += _lines(item) * line_small
        previous = main_y[-1] + main_h
        for text, y0 in zip(subset_boxes, subset_y, strict=True):
            rect(0.0, y0, main_w, main_h, dashed=True)
            arrow((cx, previous), (cx, y0))
            ax.text(cx, y0 + main_h / 2, text, transform=pt, ha="center", va="center", fontsize=fs,
                    linespacing=_LINESPACING, clip_on=False, gid=GID_SUBSET)
            previous = y0 + main_h
        ax.text(0.0, note_y, note, transform=pt, ha="left", va="top", fontsize=fs_small, color="0.25",
                linespacing=_LINESPACING, clip_on=False, gid=GID_NOTE)
    return fig


def _lines(text: str) -> int:
    return text.count("\n") + 1


def _steps(cohort: Cohort, max_reasons: int) -> list[dict[str, Any]]:
    """Per step of the attrition: rows excluded, (reason, rows) most frequent first, and
    whether a row there has more than one reason.

    Rows excluded at validation get their reasons from ``cohort.problems`` (one per
    broken column and rule, as the loader wrote them into ``attrition.reason``); other
    steps have one reason per row.
    """
    att = cohort.attrition.reset_index(drop=True)
    if att.empty:
        return []
    att = att.assign(row=np.arange(len(att)))
    long = att[["row", "step", "reason"]]
    probs = cohort.problems
    valid = att["step"].eq("validation")
    if valid.any() and len(probs):
        rules = (probs.assign(reason=probs["column"].astype(str) + ": " + probs["rule"].astype(str))
                 [["patient_id", "reason"]])
        split = att.loc[valid, ["row", "step", "patient_id"]].merge(rules, on="patient_id", how="inner")
        # a row without a recorded problem keeps its attrition reason
        unmatched = att.loc[valid & ~att["row"].isin(split["row"]), ["row", "step", "reason"]]
        long = pd.concat([att.loc[~valid, ["row", "step", "reason"]], split[["row", "step", "reason"]], unmatched],
                         ignore_index=True)
    long = long.drop_duplicates(["row", "reason"])
    order = list(dict.fromkeys(["read", "validation", *att["step"]]))
    out = []
    for step in [s for s in order if s in set(att["step"])]:
        sub = long[long["step"] == step]
        per = sub.groupby("reason", sort=False)["row"].nunique().sort_values(ascending=False, kind="stable")
        reasons = list(per.items())
        if len(reasons) > max_reasons:
            keep = reasons[: max_reasons - 1]
            rest = set(per.index[max_reasons - 1:])
            n_rest = sub.loc[sub["reason"].isin(rest), "row"].nunique()
            reasons = keep + [(f"{len(rest)} other reasons", n_rest)]
        out.append({
            "step": step,
            "n": int(att["step"].eq(step).sum()),
            "reasons": reasons,
            "several": bool(sub["row"].duplicated().any()),
        })
    return out


def _subset_counts(cohort: Cohort) -> tuple[int, int]:
    p = cohort.patients
    if "best_response" not in p:
        raise ValueError("plot_attrition(subsets=True) needs the column best_response, which the cohort lacks")
    return int(p["best_response"].isin(RESPONSES_CR).sum()), int(p["hsct_in_remission"].sum())
