"""Simon–Makuch plot: Kaplan–Meier curves by *current* HSCT status.

The curves are a :class:`~rwe_cart.KaplanMeier` fitted on counting-process
rows ``(start, stop]`` with HSCT as a time-varying group (``start="start"``), so a
patient contributes to the no-HSCT curve until transplant and to the HSCT curve after.
The plot draws that result with :func:`~rwe_cart.plots.plot_km`; it computes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rwe_cart.plots._common import GID_HEADER, LABEL_TABLE_AXES, points, wrap_text
from rwe_cart.plots.km import plot_km
from rwe_cart.plots.theme import themed

__all__ = ["plot_simon_makuch", "SIMON_MAKUCH_CAPTION"]

#: Default caption under the figure.
SIMON_MAKUCH_CAPTION = "Patients move from the no-HSCT to the HSCT curve at transplant (Simon–Makuch)."

GID_CAPTION = "sm-caption"
_DEFAULT_LABELS = {0: "No HSCT (yet)", 1: "After HSCT"}


def plot_simon_makuch(
    result: Any,
    *,
    ax: Axes | None = None,
    times: Sequence[float] | None = None,
    time_unit: str = "months",
    labels: Mapping[Any, str] | Sequence[str] | None = None,
    risk_table: bool = True,
    risk_rows: Sequence[str] = ("at risk",),
    suppress_below: int | None = None,
    caption: str | None = SIMON_MAKUCH_CAPTION,
    annotation: str | None = None,
    title: str | None = None,
    ylabel: str = "Survival probability",
    ci: bool = True,
    censor_ticks: bool = False,
    median_lines: bool = False,
    figsize: tuple[float, float] | None = None,
    **km_options: Any,
) -> Figure:
    """Plot Simon–Makuch curves (survival by current HSCT status) with numbers at risk.

    Parameters
    ----------
    result
        A ``SimonMakuch`` result (``rwe_cart.exposure.simon_makuch_curves`` /
        ``simon_makuch``), or the ``ExposureEstimate`` holding one in ``extra``; or a
        :class:`~rwe_cart.KaplanMeier` fitted on counting-process rows by
        the time-varying HSCT column, e.g. ``kaplan_meier(rows, "stop", "event",
        start="start", by="hsct")``. The numbers at risk are ``result.at_risk(times)``.
    ax
        Draw on this axes (the risk table is carved out of its slot).
    times, time_unit, risk_table, suppress_below, annotation, title, ylabel, ci
        As :func:`~rwe_cart.plots.plot_km`.
    labels
        Group names; default "No HSCT (yet)" / "After HSCT" for groups 0/1.
    risk_rows
        Default "at risk" only: the number currently in each state, which rises in
        the HSCT group as patients are transplanted. Cumulative "censored" would
        count the moves to the HSCT curve as censoring.
    caption
        Text under the figure (default ``SIMON_MAKUCH_CAPTION`` of this module); None for none.
    censor_ticks, median_lines
        Off by default: a no-HSCT row ends (is "censored") at transplant.
    figsize
        Figure size in inches when ``ax`` is not given.
    **km_options
        Passed on to :func:`~rwe_cart.plots.plot_km` (colors, percent, legend, …).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Simon & Makuch (1984) show survival by a time-dependent covariate: the number at
    risk in each curve at t is the number of patients in that state at t, so it is
    not monotone. ``SimonMakuch.at_risk`` counts exactly that (rows with start < t
    <= stop); ``KaplanMeier.at_risk`` follows R's ``summary(fit, times=)`` and reports
    the risk set of the next observed time, so with a bare KaplanMeier the HSCT
    group can show patients at risk at t = 0 who enter it later. The curves are
    descriptive; the hazard ratio comes from the time-varying Cox model (Mantel–Byar
    test). The caption is a text with gid "sm-caption" under the risk table (or under
    the x label without a table).

    References
    ----------
    .. [1] Simon R, Makuch RW. A non-parametric graphical representation of the
           relationship between survival and the occurrence of an event: application
           to responder versus non-responder bias. Stat Med. 1984;3:35-44.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, rwe_cart as rc
    >>> sm = rc.exposure.simon_makuch(rc.datasets.rocca_like(), "PFS")
    >>> fig = rc.plot_simon_makuch(sm)
    >>> fig.axes[0].get_ylabel()
    'Survival probability'
    >>> plt.close(fig)
    """
    km = _find_km(result)
    if labels is None:
        groups = tuple(km.groups)
        if set(groups) <= {0, 1}:
            labels = {g: _DEFAULT_LABELS[int(g)] for g in groups}
    with themed():
        fig = plot_km(
            km,
            ax=ax,
            times=times,
            time_unit=time_unit,
            labels=labels,
            risk_table=risk_table,
            risk_rows=risk_rows,
            suppress_below=suppress_below,
            annotation=annotation,
            title=title,
            ylabel=ylabel,
            ci=ci,
            censor_ticks=censor_ticks,
            median_lines=median_lines,
            figsize=figsize,
            **km_options,
        )
        curve_ax = ax if ax is not None else fig.axes[0]
        if caption:
            _add_caption(fig, curve_ax, caption, grow=ax is None and figsize is None)
    return fig


def _find_km(result: Any) -> Any:
    """The curves to draw: anything with ``table``, ``groups``-bearing ``median`` and
    ``at_risk`` (a KaplanMeier or a SimonMakuch result), found in ``result`` itself,
    its ``km`` / ``curves`` attribute, or the values of its ``extra`` dict."""

    def is_km(x: Any) -> bool:
        return hasattr(x, "at_risk") and hasattr(x, "median") and hasattr(x, "table")

    if is_km(result):
        return result
    for cand in (getattr(result, "km", None), getattr(result, "curves", None)):
        if is_km(cand):
            return cand
    extra = getattr(result, "extra", None)
    if isinstance(extra, Mapping):
        found = [v for v in extra.values() if is_km(v)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            keys = [k for k, v in extra.items() if is_km(v)]
            raise ValueError(f"plot_simon_makuch: the result holds several KaplanMeier curves ({keys!r}); pass one")
    raise TypeError(
        f"plot_simon_makuch needs a KaplanMeier fitted on counting-process rows (start=) by HSCT status, "
        f"or a result holding one; got {type(result).__name__}"
    )


def _add_caption(fig: Figure, ax: Axes, caption: str, *, grow: bool) -> None:
    """The caption under the risk table, left-aligned with its header (or under the x
    label, aligned with the axes).

    Under a table the caption is a text of the table axes placed with the header's own
    transform, so it moves with the table when a layout engine moves it.
    """
    import matplotlib as mpl
    from matplotlib.transforms import ScaledTranslation

    fs = points(mpl.rcParams["xtick.labelsize"])
    # wrap to the axes slot (its width before layout is a lower bound of the final one)
    slot_pt = ax.get_position(original=True).width * fig.get_figwidth() * 72.0
    caption = wrap_text(caption, max(slot_pt, 72.0), fs)
    style = dict(ha="left", va="top", fontsize=fs, color="0.25", clip_on=False, gid=GID_CAPTION)
    tables = [c for c in ax.child_axes if c.get_label() == LABEL_TABLE_AXES]
    header = next((t for t in tables[0].texts if t.get_gid() == GID_HEADER), None) if tables else None
    if tables and header is not None:
        # the header sits at (0, 1) of the table axes, 3 pt up; the caption 6 pt under (0, 0)
        down = ScaledTranslation(0.0, -(3.0 + 6.0) / 72.0, fig.dpi_scale_trans)
        tables[0].text(0.0, 0.0, caption, transform=header.get_transform() + down, **style)
    else:
        ax.annotate(caption, xy=(0.0, 0.0), xycoords=("axes fraction", ax.xaxis.label), xytext=(0.0, -6.0),
                    textcoords="offset points", annotation_clip=False, **style)
    if grow:
        w, h = fig.get_size_inches()
        fig.set_size_inches(w, h + ((caption.count("\n") + 1) * fs * 1.25 + 6.0) / 72.0)
