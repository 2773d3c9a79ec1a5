"""One journal theme for every rwe_cart figure, and a helper that saves a figure.

The theme is applied with ``with theme():`` (``matplotlib.rc_context``); it never
changes the global ``rcParams``. Plot functions apply it themselves unless they are
already called inside a ``theme()`` block, so an outer ``with theme(base_size=9):``
customises every figure drawn inside it.
"""

from __future__ import annotations

import contextlib
import io
import contextvars
from collections.abc import Iterator, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import matplotlib as mpl
from cycler import cycler
from matplotlib import font_manager
from matplotlib.figure import Figure

__all__ = ["OKABE_ITO", "save", "theme", "theme_rc"]

#: Okabe & Ito (2008) colour-blind-safe palette, ordered for contrast between the
#: first colours (blue, vermillion, bluish green, reddish purple, orange, sky blue,
#: yellow, black). Yellow comes late: it is hard to see on white.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

#: Journal figure widths in inches (single column 85 mm, double column 174 mm).
SINGLE_COLUMN_IN = 85 / 25.4
DOUBLE_COLUMN_IN = 174 / 25.4

# Preferred sans-serif faces, first installed one wins; DejaVu Sans ships with
# matplotlib, so the list always resolves.
_PREFERRED_FONTS = ("Arial", "Helvetica", "Liberation Sans", "Nimbus Sans", "DejaVu Sans")

_ACTIVE: contextvars.ContextVar[bool] = contextvars.ContextVar("rwe_cart_theme", default=False)


def _installed_font(preferred: Sequence[str]) -> str:
    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in preferred:
        if name in names:
            return name
    return "DejaVu Sans"


def theme_rc(*, base_size: float = 8.0, font: str | None = None) -> dict[str, Any]:
    """The rcParams of the journal theme, as a dict (nothing is applied).

    Parameters
    ----------
    base_size
        Font size in points of axis labels and body text; tick labels, legend and
        table numbers use ``base_size - 0.5``, titles ``base_size + 1``. 8 pt suits a
        single-column (85 mm) or double-column (174 mm) figure printed at 100 %.
    font
        Font family name. Default: the first installed of Arial, Helvetica,
        Liberation Sans, Nimbus Sans, DejaVu Sans.
    """
    family = font if font is not None else _installed_font(_PREFERRED_FONTS)
    small = base_size - 0.5
    # A concrete family name (not the generic "sans-serif") is stored in each text's
    # font properties, so figures drawn after the block still use the same face.
    sans = [family] + [f for f in ("DejaVu Sans",) if f != family]
    return {
        "font.family": sans,
        "font.sans-serif": sans,
        "font.size": base_size,
        "mathtext.default": "regular",
        "axes.titlesize": base_size + 1,
        "axes.titlelocation": "left",
        "axes.titlepad": 4.0,
        "axes.labelsize": base_size,
        "axes.labelpad": 3.0,
        "axes.linewidth": 0.6,
        "axes.edgecolor": "black",
        "axes.labelcolor": "black",
        "axes.facecolor": "white",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": False,
        "axes.axisbelow": True,
        "axes.prop_cycle": cycler(color=list(OKABE_ITO)),
        "xtick.labelsize": small,
        "ytick.labelsize": small,
        "xtick.direction": "out",
        "ytick.direction": "out",
        "xtick.major.size": 3.0,
        "ytick.major.size": 3.0,
        "xtick.minor.size": 1.5,
        "ytick.minor.size": 1.5,
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "xtick.minor.width": 0.5,
        "ytick.minor.width": 0.5,
        "xtick.major.pad": 2.0,
        "ytick.major.pad": 2.0,
        "xtick.color": "black",
        "ytick.color": "black",
        "xtick.minor.visible": False,
        "ytick.minor.visible": False,
        "lines.linewidth": 1.2,
        "lines.markersize": 4.0,
        "patch.linewidth": 0.5,
        "legend.fontsize": small,
        "legend.title_fontsize": base_size,
        "legend.frameon": False,
        "legend.handlelength": 1.6,
        "legend.handletextpad": 0.5,
        "legend.columnspacing": 1.2,
        "legend.borderaxespad": 0.3,
        "figure.titlesize": base_size + 1,
        "figure.facecolor": "white",
        "figure.constrained_layout.use": True,
        "figure.constrained_layout.h_pad": 0.04,
        "figure.constrained_layout.w_pad": 0.04,
        "image.cmap": "cividis",
        "savefig.dpi": 300,
        "savefig.format": "png",
        "savefig.facecolor": "white",
        "savefig.transparent": False,
        "pdf.fonttype": 42,  # embed TrueType, text stays editable
        "ps.fonttype": 42,
        "svg.fonttype": "none",  # text stays text in SVG
        "svg.hashsalt": "rwe_cart",  # reproducible SVG ids
    }


@contextlib.contextmanager
def theme(*, base_size: float = 8.0, font: str | None = None) -> Iterator[dict[str, Any]]:
    """Apply the rwe_cart journal theme inside a ``with`` block.

    Sans-serif 8 pt text, thin axes without top/right spines, outward ticks, no grid,
    the Okabe–Ito colour-blind-safe palette, and save defaults of 300 dpi PNG and
    vector PDF/SVG with TrueType fonts embedded (``pdf.fonttype`` 42,
    ``svg.fonttype`` "none"). Uses ``matplotlib.rc_context``; the global
    ``rcParams`` are restored on exit.

    Parameters
    ----------
    base_size, font
        See ``theme_rc`` in this module.

    Yields
    ------
    dict
        The rcParams in force.

    Examples
    --------
    >>> from rwe_cart.plots import theme
    >>> with theme():
    ...     pass
    """
    rc = theme_rc(base_size=base_size, font=font)
    token = _ACTIVE.set(True)
    try:
        with mpl.rc_context(rc):
            yield rc
    finally:
        _ACTIVE.reset(token)


def themed() -> contextlib.AbstractContextManager[Any]:
    """The theme, unless a ``theme()`` block is already active (then keep that one)."""
    if _ACTIVE.get():
        return contextlib.nullcontext()
    return theme()


class _NotebookFigure(Figure):
    """A plain Figure that also renders itself in Jupyter.

    Plot functions build figures without pyplot (nothing to close, no figure limit,
    no second copy shown by the inline backend at the end of a cell). A bare Figure
    has no rich display of its own unless pyplot's inline backend happens to be
    loaded, hence ``_repr_png_``.
    """

    def _repr_png_(self) -> tuple[bytes, dict[str, int]]:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=150)
        width, height = self.get_size_inches()
        return buf.getvalue(), {"width": round(width * 100), "height": round(height * 100)}


def new_figure(figsize: tuple[float, float], **kwargs: Any) -> Figure:
    """A new figure with constrained layout, not registered with pyplot."""
    kwargs.setdefault("layout", "constrained")
    return _NotebookFigure(figsize=figsize, **kwargs)


def save(
    fig: Figure,
    path_stem: str | PathLike[str],
    formats: Sequence[str] = ("pdf", "png", "svg"),
    *,
    dpi: float = 300,
) -> list[Path]:
    """Save ``fig`` as ``<path_stem>.<fmt>`` for each format.

    Raster formats at ``dpi`` (300 by default); PDF/SVG/EPS are vector with TrueType
    fonts embedded (PDF) or text kept as text (SVG). The figure keeps its size (no
    tight bounding box), so a figure sized for a journal column stays that size.
    Creation dates are left out of PDF/SVG so the same figure gives the same file.
    Parent folders are created.

    Returns
    -------
    list of Path
        The files written, in the order of ``formats``.
    """
    if isinstance(formats, str):
        formats = (formats,)
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    rc = {
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "svg.fonttype": "none",
        "svg.hashsalt": "rwe_cart",
    }
    written: list[Path] = []
    with mpl.rc_context(rc):
        for fmt in formats:
            fmt = fmt.lower().lstrip(".")
            path = stem.parent / f"{stem.name}.{fmt}"
            metadata: dict[str, Any] | None = None
            if fmt == "pdf":
                metadata = {"CreationDate": None, "ModDate": None}
            elif fmt == "svg":
                metadata = {"Date": None}
            fig.savefig(path, format=fmt, dpi=dpi, metadata=metadata)
            written.append(path)
    return written
