"""Result-table export (CSV, booktabs LaTeX, Word-friendly HTML) and small-cell suppression."""
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rwe_cart as rc
from rwe_cart.tables import export_table, format_table, suppress_counts, table_html


class _Cells(HTMLParser):
    """An HTML table read back: its grid (heading and body rows) as cell texts with each
    grid cell's attributes, and the caption and note that great-tables writes as a title
    row in <thead> and a source-note row in <tfoot>."""

    def __init__(self):
        super().__init__()
        self.rows, self.cells, self.tags = [], [], []
        self.caption = self.note = None
        self._section, self._cell, self._where = None, None, None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("thead", "tbody", "tfoot"):
            self._section = tag
        elif tag in ("td", "th"):
            self._cell = ""
            if self._section == "tfoot":
                self._where = "note"
            elif self._section == "thead" and tag == "td":
                self._where = "caption"
            else:
                self._where = "grid"
                if not self.rows or self._new_row:
                    self.rows.append([])
                self.cells.append((tag, dict(attrs)))
            self._new_row = False
        elif tag == "tr":
            self._new_row = True

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            if self._where == "grid":
                self.rows[-1].append(self._cell)
            else:
                setattr(self, self._where, self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def _css(style, prop):
    """The value of a property in an inline style (the last declaration wins), or None."""
    values = [d.split(":", 1)[1].strip() for d in style.split(";")
              if ":" in d and d.split(":", 1)[0].strip() == prop]
    return values[-1] if values else None


_SIDES = ("top", "right", "bottom", "left")


def _rules(style):
    """The sides of a cell with a visible border, from its inline style declarations in
    order (shorthand and longhand, the later winning as in CSS): side -> width."""
    sides = {s: {"style": "none", "width": None} for s in _SIDES}
    for decl in filter(None, (d.strip() for d in style.split(";"))):
        prop, value = (x.strip() for x in decl.split(":", 1))
        if not prop.startswith("border") or prop == "border-collapse":
            continue
        parts = prop.split("-")[1:]
        targets = [parts[0]] if parts and parts[0] in _SIDES else list(_SIDES)
        what = parts[-1] if parts and parts[-1] in ("style", "width", "color") else None
        for side in targets:
            if what == "style":
                sides[side]["style"] = value
            elif what == "width":
                sides[side]["width"] = value
            elif what is None:   # shorthand: width style colour
                words = value.split()
                sides[side]["style"] = next((w for w in words if w in ("solid", "none", "hidden",
                                                                       "dashed", "dotted", "double")), "none")
                sides[side]["width"] = next((w for w in words if w[0].isdigit()), None)
    return {s: v["width"] for s, v in sides.items() if v["style"] not in ("none", "hidden")}


def _read_exact(path, **options):
    """A CSV read back to the last bit (pandas 3 does so by default and deprecates the
    option pandas 2 needs)."""
    if int(pd.__version__.split(".")[0]) < 3:
        options["float_precision"] = "round_trip"
    return pd.read_csv(path, **options)


def parse(html):
    p = _Cells()
    p.feed(html)
    return p


@pytest.fixture(scope="module")
def cohort():
    return rc.datasets.rocca_like()


@pytest.fixture(scope="module")
def effect(cohort):
    return rc.hsct_effect(cohort, "PFS", methods=("naive", "time_varying"))


@pytest.fixture(scope="module")
def cox_model(cohort):
    pfs = cohort.endpoint("PFS").merge(cohort.patients[["patient_id", "age", "prior_hsct", "sex"]])
    return rc.cox(pfs, time="time", event="event", covariates=["age", "prior_hsct", "sex"])


@pytest.fixture
def frame():
    return pd.DataFrame({
        "term": ["age_years", "50% & more", "x#1"],
        "hr": [1.0116741234567891, 0.2005321, np.inf],
        "lower": [0.99612, 0.0872861, 0.5],
        "upper": [1.02745, 0.4607, np.nan],
        "p": [0.14176923, 0.000153, 0.0661],
        "n": [189, 3, 0],
        "events": [94, 1, 0],
    })


# ------------------------------------------------------------------------ suppression
def test_suppression_masks_1_to_k_minus_1_only():
    t = pd.DataFrame({"n_risk": [0, 1, 2, 4, 5, 6, 40], "survival": [1.0, 0.9, 0.8, 0.5, 0.4, 0.3, 0.2],
                      "n_event": [0, 0, 3, 1, 5, 0, 9], "label": list("abcdefg")})
    out = suppress_counts(t, suppress_below=5)
    assert out["n_risk"].tolist() == [0, "<5", "<5", "<5", 5, 6, 40]
    assert out["n_event"].tolist() == [0, 0, "<5", "<5", 5, 0, 9]
    # estimates and text are not counts
    pd.testing.assert_series_equal(out["survival"], t["survival"])
    assert out["label"].tolist() == list("abcdefg")
    # the input is untouched, and a second pass changes nothing
    assert t["n_risk"].tolist() == [0, 1, 2, 4, 5, 6, 40]
    pd.testing.assert_frame_equal(suppress_counts(out, suppress_below=5), out)


def test_suppression_masks_paired_percentage_row_by_row():
    t = pd.DataFrame({"grade": ["1", "2", "3"], "count": [50, 3, 0], "pct": [94.3, 5.7, 0.0]})
    out = suppress_counts(t, suppress_below=5, percent_columns={"count": "pct"})
    assert out["count"].tolist() == [50, "<5", 0]
    assert out["pct"].tolist() == [94.3, "–", 0.0]


def test_suppression_explicit_columns_and_names():
    t = pd.DataFrame({"patients": [2, 9], "n": [1, 7], "n_pct": [12.5, 87.5], "weighted_n": [2.5, 6.0]})
    # named count columns only: `patients` is not one, n_pct is a percentage
    auto = suppress_counts(t, suppress_below=3)
    assert auto["patients"].tolist() == [2, 9] and auto["n"].tolist() == ["<3", 7]
    assert auto["n_pct"].tolist() == [12.5, 87.5]
    out = suppress_counts(t, suppress_below=3, columns=["patients", "weighted_n"])
    assert out["patients"].tolist() == ["<3", 9]
    assert out["weighted_n"].tolist() == ["<3", 6.0]   # a weighted count below k too
    assert out["n"].tolist() == [1, 7]                 # explicit columns replace the default


def test_suppression_none_returns_an_unchanged_copy():
    t = pd.DataFrame({"n": [1, 2]})
    out = suppress_counts(t, suppress_below=None)
    pd.testing.assert_frame_equal(out, t)
    out.loc[0, "n"] = 99
    assert t.loc[0, "n"] == 1


@pytest.mark.parametrize("k", [0, True, 2.5, -3, "5"])
def test_suppression_rejects_bad_k(k):
    with pytest.raises(ValueError, match=r"suppress_below must be a positive integer .* got " + re.escape(repr(k))):
        suppress_counts(pd.DataFrame({"n": [1]}), suppress_below=k)


def test_suppression_bad_columns_are_named():
    t = pd.DataFrame({"method": ["naive", "ccw"], "n": [3, 9]})
    with pytest.raises(ValueError, match=r"'method' is not a count column: row 0 holds 'naive'"):
        suppress_counts(t, suppress_below=5, columns=["method"])
    with pytest.raises(ValueError, match=r"columns not in the table: \['nope'\]"):
        suppress_counts(t, suppress_below=5, percent_columns={"n": "nope"})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=20), st.integers(1, 12))
def test_suppression_property(counts, k):
    out = suppress_counts(pd.DataFrame({"n": counts}), suppress_below=k)["n"].tolist()
    for c, o in zip(counts, out):
        assert o == (f"<{k}" if 0 < c < k else c)


# ------------------------------------------------------------------------ formatting
def test_formatting_rules(frame):
    f = format_table(frame)
    assert list(f.columns) == ["Term", "HR", "Lower CL", "Upper CL", "p", "n", "Events"]
    assert f["HR"].tolist() == ["1.01", "0.20", "∞"]
    assert f["Lower CL"].tolist() == ["1.00", "0.09", "0.50"]
    assert f["Upper CL"].tolist() == ["1.03", "0.46", "–"]
    assert f["p"].tolist() == ["0.142", "<0.001", "0.066"]
    assert f["n"].tolist() == ["189", "3", "0"]
    f4 = format_table(frame, digits={"p": 4, "hr": 3})
    assert f4["p"].tolist() == ["0.1418", "0.0002", "0.0661"]
    assert f4["HR"].tolist() == ["1.012", "0.201", "∞"]
    assert format_table(pd.DataFrame({"coef": [-0.0004]}))["log HR"].item() == "0.00"


def test_formatting_times_medians_and_index():
    med = pd.DataFrame({"group": [False, True], "median": [260.0, 299.5], "lower": [142.0, 174.0],
                        "upper": [np.nan, 401.25]})
    f = format_table(med)
    assert f.to_numpy().tolist() == [["No", "260", "142", "–"], ["Yes", "299.5", "174", "401.2"]]
    # a named index is a column; a filtered row number is not
    named = format_table(pd.DataFrame({"hr": [0.5]}, index=pd.Index(["PFS"], name="endpoint")))
    assert list(named.columns) == ["Endpoint", "HR"]
    assert list(format_table(med[med["group"]]).columns) == ["Group", "Median", "Lower CL", "Upper CL"]


def test_formatting_bad_arguments(frame):
    with pytest.raises(ValueError, match=r"digits: columns not in the table: \['hazard'\]"):
        format_table(frame, digits={"hazard": 2})
    with pytest.raises(ValueError, match="digits must be an integer"):
        format_table(frame, digits=-1)
    with pytest.raises(ValueError, match=r"headers: columns not in the table: \['x'\]"):
        format_table(frame, headers={"x": "X"})
    with pytest.raises(TypeError, match="cannot make a table of a dict"):
        format_table({"hr": 1})


# ------------------------------------------------------------------------ CSV
def test_csv_round_trip_is_exact(frame, tmp_path):
    path = export_table(frame, tmp_path / "t.csv", caption="ignored in CSV")
    back = _read_exact(path)
    pd.testing.assert_frame_equal(back, frame, check_exact=True)


def test_csv_of_a_result_keeps_full_precision(effect, tmp_path):
    back = _read_exact(export_table(effect, tmp_path / "effect.csv"))
    pd.testing.assert_frame_equal(back, effect.table, check_exact=True)


def test_csv_suppressed(effect, tmp_path):
    back = pd.read_csv(export_table(effect, tmp_path / "effect.csv", suppress_below=100), dtype=str)
    table = effect.table
    for col in ("n", "events"):
        want = ["<100" if 0 < v < 100 else str(v) for v in table[col]]
        assert back[col].tolist() == want


def test_table_one_csv_round_trip(cohort, tmp_path):
    t1 = rc.table_one(cohort, by="prior_hsct", suppress_below=5)
    back = _read_exact(export_table(t1, tmp_path / "t1.csv"),
                       keep_default_na=False, na_values={"smd": [""]},
                       dtype={c: str for c in t1.table.columns if c != "smd"})
    pd.testing.assert_frame_equal(back, t1.table, check_exact=True)


# ------------------------------------------------------------------------ LaTeX
def test_latex_is_escaped_booktabs_with_caption_and_note(frame, tmp_path):
    path = export_table(frame, tmp_path / "cox_model.tex", caption="Hazard ratios, 95% CI & p_values",
                        note="CL: confidence limit; 100% of rows_shown.", suppress_below=5)
    tex = path.read_text(encoding="utf-8")
    assert r"\caption{Hazard ratios, 95\% CI \& p\_values}" in tex
    assert r"\label{tab:cox-model}" in tex
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert tex.count(rule) == 1
    assert r"50\% \& more" in tex and r"age\_years" in tex and r"x\#1" in tex
    assert r"\textless{}0.001" in tex and r"\textless{}5" in tex and r"\ensuremath{\infty}" in tex
    assert re.search(r"(?<!\\)[%_#]", tex) is None      # nothing left unescaped
    body = tex.split(r"\midrule")[1].split(r"\bottomrule")[0].strip().splitlines()
    assert len(body) == len(frame)
    for line in body:                                    # one unescaped & between cells
        assert len(re.findall(r"(?<!\\)&", line)) == frame.shape[1] - 1
    foot = tex.split(r"\end{tabular}")[1]
    assert r"\footnotesize CL: confidence limit; 100\% of rows\_shown. Counts from 1 to 4 are " \
           r"shown as \textless{}5." in foot


def test_latex_minus_signs(tmp_path):
    t = pd.DataFrame({"term": ["a-b"], "coef": [-0.2841], "z": [-np.inf]})
    tex = export_table(t, tmp_path / "m.tex").read_text(encoding="utf-8")
    assert r"a-b & \ensuremath{-}0.28 & \ensuremath{-}\ensuremath{\infty} \\" in tex


def test_latex_unicode_and_indent(cohort, tmp_path):
    t1 = rc.table_one(cohort, variables=["crs_grade", "age"], labels={"age": "Age ≥ 18 – ×10⁹/L"})
    tex = export_table(t1, tmp_path / "t1.tex").read_text(encoding="utf-8")
    assert r"\quad{}0 &" in tex            # levels indented under their variable
    assert r"Age \ensuremath{\geq} 18 -- \ensuremath{\times}10\textsuperscript{9}/L, median [IQR]" in tex
    assert re.search(r"[^\x00-\x7f]", tex) is None   # plain ASCII: pdflatex needs no Unicode set-up


# ------------------------------------------------------------------------ HTML
def test_html_is_self_contained_with_inline_rules(frame, tmp_path):
    path = export_table(frame, tmp_path / "t.html", caption="Table 2. Cox <model>",
                        note="HR: hazard ratio & more.", suppress_below=5)
    doc = path.read_text(encoding="utf-8")
    assert doc.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in doc
    # no stylesheet to lose when pasted into Word: great-tables' class names stay in the
    # markup, inert without its <style> block, which inline_css=True leaves out
    assert "<style" not in doc and "<link" not in doc
    assert "http" not in doc and "src=" not in doc
    assert "Table 2. Cox &lt;model&gt;" in doc and "HR: hazard ratio &amp; more." in doc
    assert "Counts from 1 to 4 are shown as &lt;5." in doc
    p = parse(doc)
    assert p.caption == "Table 2. Cox <model>"
    assert p.note == "HR: hazard ratio & more. Counts from 1 to 4 are shown as <5."
    shown = format_table(frame, suppress_below=5)
    assert p.rows[0] == list(shown.columns)
    assert p.rows[1:] == shown.to_numpy().tolist()
    cells = p.cells
    assert all("style" in a for _, a in cells)
    ncol = frame.shape[1]
    heads, last = cells[:ncol], cells[-ncol:]
    assert all(t == "th" for t, _ in heads) and all(t == "td" for t, _ in cells[ncol:])
    # the three rules are borders of the cells (Word keeps those, not row or <tbody> borders)
    assert all(_rules(a["style"]) == {"top": "1.5pt", "bottom": "0.75pt"} for _, a in heads)
    assert all(_rules(a["style"]) == {"bottom": "1.5pt"} for _, a in last)
    assert all(_rules(a["style"]) == {} for _, a in cells[ncol:-ncol])   # three rules, nothing else
    assert all(_rules(a.get("style", "")) == {} for t, a in p.tags if t in ("table", "thead", "tbody",
                                                                          "tfoot", "tr", "div"))
    # numbers right-aligned, text left
    assert "text-align: left" in heads[0][1]["style"] and "text-align: right" in heads[1][1]["style"]
    # a cell margin becomes a blank line under every row when an office suite imports the HTML
    assert all(_css(a["style"], "margin") in (None, "0") for _, a in cells)
    assert "Arial" in next(a["style"] for t, a in p.tags if t == "table")


def test_html_shows_headings_caption_and_note_as_written():
    # great-tables reads "{{m^2}}" as units and trusts HTML in labels; ours are plain text
    t = pd.DataFrame({"dose {{m^2}} <b>": ["x{{m^2}}", "a\nb"], "n": [12, 30]})
    doc = table_html(t, caption="Table {{1}} <i>", note="per {{s^-1}} & more\nsecond line")
    p = parse(doc)
    assert p.rows == [["dose {{m^2}} <b>", "n"], ["x{{m^2}}", "12"], ["ab", "30"]]
    assert p.caption == "Table {{1}} <i>" and p.note == "per {{s^-1}} & moresecond line"
    assert "<b>" not in doc and "<sup" not in doc and doc.count("<br") == 2   # line breaks kept


def test_unknown_suffix_is_refused(frame, tmp_path):
    with pytest.raises(ValueError, match=r"'t\.docx'.*\.csv, \.tex or \.html"):
        export_table(frame, tmp_path / "t.docx")


# ------------------------------------------------------------------------ real results
def test_export_hsct_effect(effect, tmp_path):
    table = effect.table
    for suffix in (".csv", ".tex", ".html"):
        assert export_table(effect, tmp_path / f"e{suffix}", caption="PFS").stat().st_size > 0
    p = parse((tmp_path / "e.html").read_text(encoding="utf-8"))
    rows = {r[0]: r for r in p.rows[1:]}
    head = p.rows[0]
    for r in table.itertuples():
        row = rows[r.method]
        assert row[head.index("HR")] == f"{r.hr:.2f}"
        assert row[head.index("Lower CL")] == f"{r.lower:.2f}"
        assert row[head.index("p")] == ("<0.001" if r.p < 0.001 else f"{r.p:.3f}")
        assert row[head.index("n")] == str(r.n) and row[head.index("Events")] == str(r.events)


def test_export_cox_summary(cox_model, tmp_path):
    s = cox_model.summary
    doc = export_table(cox_model.summary, tmp_path / "cox.html").read_text(encoding="utf-8")
    p = parse(doc)
    assert p.rows[0][:4] == ["Term", "log HR", "SE", "HR"]
    assert [r[3] for r in p.rows[1:]] == [f"{v:.2f}" for v in s["hr"]]
    # the model itself exports its summary
    tex = export_table(cox_model, tmp_path / "cox.tex").read_text(encoding="utf-8")
    assert r"prior\_hsctTRUE" in tex and f"{s['hr'].iloc[0]:.2f}" in tex


def test_result_carrying_its_own_threshold_stays_suppressed(tmp_path):
    class Shown:  # a result displayed with suppression, as effect.suppressed(k)
        table = pd.DataFrame({"method": ["a", "b"], "hr": [0.5, 0.7], "n": [3, 40], "events": [2, 9]})
        suppress_below = 5

    doc = export_table(Shown(), tmp_path / "s.html").read_text(encoding="utf-8")
    assert parse(doc).rows[1:] == [["a", "0.50", "<5", "<5"], ["b", "0.70", "40", "9"]]
    assert pd.read_csv(export_table(Shown(), tmp_path / "s.csv"), dtype=str)["n"].tolist() == ["<5", "40"]
    # a larger threshold asked for wins
    assert format_table(Shown(), suppress_below=10)["Events"].tolist() == ["<10", "<10"]


def test_kaplan_meier_tables_export(cohort, tmp_path):
    km = rc.kaplan_meier(cohort.endpoint("PFS"), "time", "event")
    at = km.at_risk([0, 365, 730])
    f = format_table(at, suppress_below=10)
    want = ["<10" if 0 < v < 10 else str(v) for v in at["n_risk"]]
    assert f["At risk"].tolist() == want
    m = float(km.median()["median"].iloc[0])
    assert format_table(km.median())["Median"].item() == (f"{m:.0f}" if m.is_integer() else f"{m:.1f}")


# ------------------------------------------------------------------------ Table 1
def test_table_one_export_layout(cohort, tmp_path):
    t1 = rc.table_one(cohort, by="prior_hsct", variables=["age", "sex", "crs_grade"], suppress_below=5,
                      group_labels={True: "Prior allo-HSCT", False: "No prior allo-HSCT"})
    doc = export_table(t1, tmp_path / "t1.html", caption="Table 1", note="SMD: standardised mean difference.")
    p = parse(doc.read_text(encoding="utf-8"))
    n = cohort.patients["prior_hsct"].value_counts()
    assert p.rows[0] == ["Characteristic", f"Overall (n = {len(cohort.patients)})",
                         f"No prior allo-HSCT (n = {n[False]})", f"Prior allo-HSCT (n = {n[True]})", "SMD"]
    labels = [r[0] for r in p.rows[1:]]
    assert "N" not in labels                                   # sizes are in the headings
    assert labels[:4] == ["Age, years, median [IQR]", "Sex", "\u2003F", "\u2003M"]
    sex = p.rows[2]
    assert sex[1:4] == ["", "", ""]
    smd = t1.table.loc[t1.table["variable"] == "Sex", "smd"].iloc[0]
    assert sex[4] == f"{smd:.3f}"
    f_row = t1.table[(t1.table["variable"] == "Sex") & (t1.table["level"] == "F")]
    assert p.rows[3][1:4] == f_row[["Overall", "No prior allo-HSCT", "Prior allo-HSCT"]].iloc[0].tolist()
    assert any(c == "<5" for r in p.rows for c in r)
    assert "Counts from 1 to 4 are shown as &lt;5." in doc.read_text(encoding="utf-8")


def test_table_one_small_group_size_suppressed_in_heading(cohort):
    small = cohort.patients.head(12).assign(g=["a"] * 3 + ["b"] * 9)
    f = format_table(rc.table_one(small, by="g", variables=["sex"], suppress_below=5))
    assert list(f.columns)[1:3] == ["Overall (n = 12)", "g = a (n = <5)"]


def test_table_one_cannot_be_suppressed_after_the_fact(cohort, tmp_path):
    t1 = rc.table_one(cohort, by="prior_hsct", variables=["sex"])
    for suffix in (".csv", ".html"):
        with pytest.raises(ValueError, match=r"built with suppress_below=None.*suppress_below=5\)"):
            export_table(t1, tmp_path / f"t1{suffix}", suppress_below=5)


def test_table_one_notebook_display_is_the_export(cohort):
    t1 = rc.table_one(cohort, by="prior_hsct", variables=["sex"])
    assert t1._repr_html_() == table_html(t1)
    assert "<style" not in t1._repr_html_()
    assert _rules(parse(t1._repr_html_()).cells[0][1]["style"]) == {"top": "1.5pt", "bottom": "0.75pt"}
