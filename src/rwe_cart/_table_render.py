"""Rendering of display tables: HTML through great-tables, LaTeX through pandas' Styler.

The cells arrive as display strings (:mod:`rwe_cart.formatting` is the one place that writes
numbers); nothing here formats a number. great_tables is imported inside the HTML renderer
so that ``import rwe_cart.tables`` (Table 1, suppression) stays light.
"""
from __future__ import annotations

import hashlib
import html
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .tables import _Display

_FONT = ["Arial", "Helvetica", "sans-serif"]
_BLACK = "#000000"
_THICK = "1.5pt"
_THIN = "0.75pt"


def html_text(s: str) -> str:
    return html.escape(s).replace("\n", "<br>")


def html_fragment(d: _Display, caption: str | None, note: str) -> str:
    """The three-line journal table as great-tables HTML with every style inline.

    Word drops ``<style>`` blocks when a table is pasted and keeps the inline styles of
    cells; great-tables draws its rules on rows and ``<tbody>``, so those are switched off
    and the three rules are drawn as cell borders, then great-tables inlines its CSS
    (``css_inline``). The class attributes it leaves are inert without its stylesheet.
    """
    from great_tables import GT, html as gt_html, loc, style

    def text(s: str):
        # great-tables reads "{{...}}" in labels, titles and notes as units ("{{m^2}}" -> m²):
        # an entity for "{" keeps the text as written
        return gt_html(html_text(s).replace("{", "&#123;"))

    cols = [f"c{j}" for j in range(len(d.headers))]
    numbers = [c for j, c in enumerate(cols) if d.numeric[j] and j > 0]
    # the id scopes great-tables' CSS before it is inlined; derived from the content, so a
    # report rendered twice is byte-identical (a random id is not)
    digest = hashlib.sha1(repr((d.headers, d.frame.to_numpy().tolist(), caption, note)).encode())
    gt = GT(d.frame.set_axis(cols, axis=1), auto_align=False, id="rc" + digest.hexdigest()[:12])
    gt = (gt.cols_label(**{c: text(h) for c, h in zip(cols, d.headers)})
          # body cells are text already: escaped only, a line break kept
          .fmt(html_text, columns=cols)
          .cols_align("left", columns=[c for c in cols if c not in numbers])
          .cols_align("right", columns=numbers)
          .tab_options(
              container_padding_x="0px", container_padding_y="8px",
              table_margin_left="0", table_margin_right="0",
              table_font_names=_FONT, table_font_size="10pt", table_font_color=_BLACK,
              table_border_top_style="none", table_border_bottom_style="none",
              heading_align="left", heading_title_font_size="10pt", heading_padding="2px",
              heading_padding_horizontal="0px", heading_border_bottom_style="none",
              column_labels_font_weight="bold", column_labels_padding="2pt",
              column_labels_padding_horizontal="8pt", column_labels_border_top_style="none",
              column_labels_border_bottom_style="none", table_body_border_top_style="none",
              table_body_border_bottom_style="none", table_body_hlines_style="none",
              data_row_padding="2pt", data_row_padding_horizontal="8pt",
              source_notes_font_size="8pt", source_notes_padding="4pt",
              source_notes_padding_horizontal="0px", quarto_disable_processing=True)
          # no cell margin: an office suite's HTML import (checked with LibreOffice) reads
          # great-tables' 10px as paragraph spacing, a blank line under every row
          .tab_style(style.css("vertical-align:top;margin:0;"), loc.body())
          .tab_style(style.borders(sides="top", color=_BLACK, weight=_THICK), loc.column_labels())
          .tab_style(style.borders(sides="bottom", color=_BLACK, weight=_THIN if len(d.frame) else _THICK),
                     loc.column_labels()))
    if len(d.frame):
        gt = gt.tab_style(style.borders(sides="bottom", color=_BLACK, weight=_THICK),
                          loc.body(rows=[len(d.frame) - 1]))
    if numbers:
        gt = gt.tab_style(style.text(whitespace="nowrap"), [loc.body(columns=numbers),
                                                            loc.column_labels(columns=numbers)])
    if caption:
        # the title's own class sets a normal weight over heading_title_font_weight
        gt = (gt.tab_header(title=text(caption))
              .tab_style(style.text(weight="bold"), loc.title()))
    if note:
        gt = gt.tab_source_note(text(note))
    return gt.as_raw_html(inline_css=True)


def html_document(fragment: str, title: str) -> str:
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html_text(title)}</title>\n</head>\n<body>\n{fragment}\n</body>\n</html>\n")


# ---------------------------------------------------------------------------------------
# LaTeX: pandas' Styler, not great-tables. GT.as_latex() (1.1, "experimental" in its own
# documentation) cannot give what a manuscript needs here: its caption is an unnumbered
# \caption*{\large ...} with no \label to cite; column labels pass through its own escaping,
# which leaves ≥, ×, –, ∞ and superscripts as Unicode (pdflatex stops on them) and accepts no
# ready-made LaTeX; it ignores column widths, so long estimands cannot be paragraph columns,
# and it stretches every table to \linewidth with tabular*.
# ---------------------------------------------------------------------------------------
# pandas' LaTeX escaping leaves < and > (printed as ¡ and ¿ in the default OT1 font
# encoding) and the Unicode signs our tables use, so one table does it all in one pass.
_LATEX = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "\u2003": r"\quad{}", "–": "--", "—": "---",
    "−": r"\ensuremath{-}", "×": r"\ensuremath{\times}", "±": r"\ensuremath{\pm}",
    "≥": r"\ensuremath{\geq}", "≤": r"\ensuremath{\leq}", "∞": r"\ensuremath{\infty}",
    "α": r"\ensuremath{\alpha}", "β": r"\ensuremath{\beta}",
    **{sup: rf"\textsuperscript{{{d}}}" for sup, d in zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")},
}
_LATEX_RE = re.compile("|".join(re.escape(c) for c in _LATEX))


def latex_escape(s: str) -> str:
    return _LATEX_RE.sub(lambda m: _LATEX[m.group()], str(s))


def _latex_number(s: str) -> str:
    # a leading hyphen would print as a hyphen, not a minus sign
    return re.sub(r"^-(?=\d)", r"\\ensuremath{-}", latex_escape(s))


def latex(d: _Display, caption: str | None, note: str, label: str | None) -> str:
    number = [d.numeric[j] and j > 0 for j in range(len(d.headers))]
    # long free text (notes, estimands) wraps, ragged right, in paragraph columns that
    # share half the line, instead of running off the page
    long = [not number[j] and max([len(d.headers[j])] + [len(v) for v in d.frame[j]]) > 40
            for j in range(len(d.headers))]
    width = f"{min(0.3, 0.5 / max(sum(long), 1)):.2f}"
    spec = "".join("r" if number[j] else
                   rf">{{\raggedright\arraybackslash}}p{{{width}\linewidth}}" if long[j] else "l"
                   for j in range(len(d.headers)))
    styler = (d.frame.style.hide(axis="index")
              .format({j: _latex_number if number[j] else latex_escape for j in d.frame.columns})
              .format_index(lambda j: latex_escape(d.headers[j]), axis=1))
    tex = styler.to_latex(hrules=True, environment="table", position_float="centering",
                          column_format=spec, caption=latex_escape(caption) if caption else None,
                          label=label)
    if note:
        foot = f"\\par\\smallskip{{\\footnotesize {latex_escape(note)}\\par}}\n"
        tex = tex.replace("\\end{tabular}\n", "\\end{tabular}\n" + foot)
    return tex
