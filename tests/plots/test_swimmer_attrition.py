"""plot_swimmer and plot_attrition: what is drawn equals the cohort, no identifier leaks.

Each figure has a rendered-image baseline in tests/baseline/. After an intended change
of a figure, regenerate them with

    RWE_CART_UPDATE_BASELINE=1 pytest tests/plots/test_swimmer_attrition.py -k baseline

then look at the new PNGs before committing them.
"""
from __future__ import annotations

import io
import itertools
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from images import check_baseline

import rwe_cart as rc
from rwe_cart.plots import OKABE_ITO, plot_attrition, plot_swimmer, theme
from rwe_cart.plots.swimmer import MARKERS
from rwe_cart.schema import RESPONSES_CR

MONTH = 30.4375


@pytest.fixture(scope="module")
def rocca():
    return rc.datasets.rocca_like()


@pytest.fixture(scope="module")
def zuma():
    return rc.datasets.zuma3_like()


def excluded_cohort(*, subset_step: bool = False) -> rc.Cohort:
    """ROCCA-like rows with five bad ones, loaded with errors="exclude": two rows break the
    grade rule (one of them also a date rule), one the sex rule, one relapses before its
    infusion, and one row is blank."""
    f = rc.datasets.rocca_like_frame().astype(object)
    f.loc[3, "sex"] = "X"
    f.loc[5, "crs_grade"] = 9
    f.loc[5, "date_relapse"] = pd.Timestamp("2000-01-01")
    f.loc[7, "crs_grade"] = 7
    f.loc[11, "date_relapse"] = pd.Timestamp("2000-01-01")
    f = pd.concat([f, pd.DataFrame([{c: None for c in f.columns}])], ignore_index=True)
    cohort = rc.load_registry(f, errors="exclude")
    if subset_step:
        keep = cohort.patients["prior_lines"].to_numpy() <= 4
        cohort = cohort.subset(keep, step="eligibility", reason="more than 4 prior lines")
    return cohort


def draw(fig: Figure):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def all_texts(fig: Figure) -> list[str]:
    draw(fig)  # tick labels exist once drawn
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def svg_text(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg")  # the theme keeps text as text in SVG
    return buf.getvalue()


def gid(fig: Figure, name: str) -> list:
    return [a for a in fig.findobj() if getattr(a, "get_gid", lambda: None)() == name]


def swimmer_axes(fig: Figure):
    return next(a for a in fig.axes if a.get_label() == "swimmer")


def bar_widths(fig: Figure, name: str = "swimmer-bar") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row y, left, width) of the bars with gid ``name``, top row first."""
    bars = sorted(gid(fig, name), key=lambda r: r.get_y())
    return (np.array([r.get_y() + r.get_height() / 2 for r in bars]), np.array([r.get_x() for r in bars]),
            np.array([r.get_width() for r in bars]))


def assert_texts_apart(fig: Figure, texts: list[Text]) -> None:
    renderer = draw(fig)
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_visible() and t.get_text()]
    for text, bb in boxes:
        assert bb.x0 >= fig.bbox.x0 - 0.5 and bb.x1 <= fig.bbox.x1 + 0.5, text
        assert bb.y0 >= fig.bbox.y0 - 0.5 and bb.y1 <= fig.bbox.y1 + 0.5, text
    for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
        overlap_w = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
        overlap_h = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
        assert overlap_w <= 0.5 or overlap_h <= 0.5, f"{a!r} overlaps {b!r}"


# ============================================================================ plot_swimmer
def test_one_bar_per_patient_from_day_0_to_last_contact(rocca):
    fig = plot_swimmer(rocca)
    y, left, width = bar_widths(fig)
    t_last = rocca.patients["t_last"].to_numpy()
    assert len(width) == len(rocca) == 189
    np.testing.assert_array_equal(y, np.arange(189))
    assert (left == 0).all()
    # order="time": longest follow-up first, ties in cohort order
    expected = t_last[np.argsort(-t_last, kind="stable")] / MONTH
    np.testing.assert_allclose(width, expected)
    assert swimmer_axes(fig).get_xlabel() == "Time since infusion (months)"


def test_rows_are_sequence_numbers_and_no_identifier_appears(rocca):
    fig = plot_swimmer(rocca, order="response", endpoint="PFS", title="Swimmer")
    texts = all_texts(fig)
    ids = set(rocca.patients["patient_id"])
    assert not [t for t in texts if any(i in t for i in ids)]
    svg = svg_text(fig)
    assert not [i for i in ids if i in svg]
    ax = swimmer_axes(fig)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    numbers = [int(s) for s in labels]  # every row label is a number
    assert numbers[0] == 1 and numbers == sorted(numbers) and numbers[-1] <= 189
    np.testing.assert_array_equal(ax.get_yticks(), np.array(numbers) - 1)  # label k sits on row k
    assert ax.get_ylabel() == "Patient (row number)"
    # dense rows: labels thinned so that they do not touch
    assert_texts_apart(fig, ax.get_yticklabels())


def test_show_ids_is_the_opt_in(zuma):
    fig = plot_swimmer(zuma, show_ids=True, order="none")
    ax = swimmer_axes(fig)
    assert [t.get_text() for t in ax.get_yticklabels()] == zuma.patients["patient_id"].tolist()
    assert ax.get_ylabel() == "Patient"
    assert "Z3-0001" in svg_text(fig)
    # every id gets its own line: the figure grows instead of overlapping them
    assert_texts_apart(fig, ax.get_yticklabels())


def test_markers_sit_at_the_event_days(zuma):
    p = zuma.patients
    fig = plot_swimmer(zuma, order="none", time_unit="days")
    cr = p["best_response"].isin(RESPONSES_CR)
    mrd = p["mrd_negative"]
    expected = {
        "response_mrd_neg": (cr & mrd.eq(True).fillna(False), "t_response"),
        "response_mrd_pos": (cr & mrd.eq(False).fillna(False), "t_response"),
        "response_mrd_na": (cr & mrd.isna(), "t_response"),
        "hsct_remission": (p["hsct_in_remission"], "t_hsct"),
        "hsct_salvage": (p["t_hsct"].notna() & ~p["hsct_in_remission"], "t_hsct"),
        "relapse": (p["t_relapse"].notna(), "t_relapse"),
        "death": (p["dead"], "t_death"),
        "alive": (~p["dead"], "t_last"),
    }
    assert (p["t_hsct"].notna() & ~p["hsct_in_remission"]).sum() == 6  # salvage HSCT present
    for kind, (mask, column) in expected.items():
        mask = mask.to_numpy(dtype=bool)
        lines = gid(fig, f"swimmer-{kind}")
        if not mask.any():
            assert not lines, kind
            continue
        (line,) = lines
        x, y = line.get_data()
        np.testing.assert_array_equal(y, np.flatnonzero(mask))  # order="none": row = cohort position
        np.testing.assert_allclose(x, p.loc[mask, column].to_numpy(dtype=float))
        label, marker, color, filled = MARKERS[kind]
        assert line.get_marker() == marker and line.get_markeredgecolor() == color
        assert (line.get_markerfacecolor() == color) is filled
    # responders with MRD-negative and MRD-positive responses are told apart
    assert len(gid(fig, "swimmer-response_mrd_neg")[0].get_xdata()) == 55
    assert len(gid(fig, "swimmer-response_mrd_pos")[0].get_xdata()) == 2


def test_legend_explains_every_marker_drawn_in_okabe_ito_colours(zuma):
    fig = plot_swimmer(zuma, endpoint="PFS")
    legend = swimmer_axes(fig).get_legend()
    names = [t.get_text() for t in legend.get_texts()]
    drawn = [k for k in MARKERS if gid(fig, f"swimmer-{k}")]
    assert names == ["Progression-free (PFS)", "Follow-up after PFS event or censoring"] + \
        [MARKERS[k][0] for k in drawn]
    assert len(drawn) >= 7
    colours = {MARKERS[k][2] for k in drawn} - {"black"}
    assert colours <= set(OKABE_ITO)


@pytest.mark.parametrize("order", ["hsct", "response"])
def test_group_orders(rocca, order):
    p = rocca.patients
    fig = plot_swimmer(rocca, order=order)
    if order == "hsct":
        g = np.where(p["hsct_in_remission"], 0, np.where(p["t_hsct"].notna(), 1, 2))
        names = ["Allo-HSCT\nin remission", "Allo-HSCT not\nin remission", "No allo-HSCT"]
    else:
        cr = p["best_response"].isin(RESPONSES_CR)
        g = np.select([cr & p["mrd_negative"].eq(True).fillna(False), cr & p["mrd_negative"].eq(False).fillna(False),
                       cr, p["best_response"].isin(["NR", "PD"])], [0, 1, 2, 3], default=4)
        names = ["CR/CRi/CRh\nMRD-negative", "CR/CRi/CRh\nMRD-positive", "No response\n(NR/PD)",
                 "Not evaluable\nor unknown"]  # no responder without an MRD result here
    frame = pd.DataFrame({"g": g, "t": p["t_last"]}).sort_values(["g", "t"], ascending=[True, False], kind="stable")
    np.testing.assert_allclose(bar_widths(fig)[2], frame["t"].to_numpy() / MONTH)
    assert [t.get_text() for t in gid(fig, "swimmer-group")] == names
    # one dashed line between groups, plus one bracket per group
    assert len(gid(fig, "swimmer-separator")) == 2 * len(names) - 1
    ax = swimmer_axes(fig)
    assert_texts_apart(fig, gid(fig, "swimmer-group") + ax.get_yticklabels() + [ax.xaxis.label])


@pytest.mark.parametrize("subset", ["spread", "first", "random"])
def test_max_patients_shows_a_subset_and_states_the_rule(rocca, subset):
    fig = plot_swimmer(rocca, max_patients=40, subset=subset, seed=7)
    widths = bar_widths(fig)[2]
    assert len(widths) == 40
    ordered = np.sort(rocca.patients["t_last"].to_numpy())[::-1] / MONTH
    (note,) = gid(fig, "swimmer-note")
    text = note.get_text().replace("\n", " ")
    if subset == "spread":
        np.testing.assert_allclose(widths, ordered[np.round(np.linspace(0, 188, 40)).astype(int)])
        assert "Shown: 40 of 189 patients, at evenly spaced ranks of that order (1, 6, 11, …, 189)." in text
    elif subset == "first":
        np.testing.assert_allclose(widths, ordered[:40])
        assert "Shown: the first 40 of 189 patients in that order." in text
    else:
        again = bar_widths(plot_swimmer(rocca, max_patients=40, subset="random", seed=7))[2]
        other = bar_widths(plot_swimmer(rocca, max_patients=40, subset="random", seed=8))[2]
        np.testing.assert_array_equal(widths, again)
        assert not np.array_equal(widths, other)
        assert np.all(np.diff(widths) <= 0)  # shown in the chosen order
        assert "Shown: a simple random sample of 40 of 189 patients (seed 7), in that order." in text
    assert text.startswith("Rows ordered by follow-up, longest first; numbered 1–40 in that order.")
    labels = [t.get_text() for t in swimmer_axes(fig).get_yticklabels()]
    assert max(int(s) for s in labels) <= 40
    assert plot_swimmer(rocca, max_patients=500).findobj(lambda a: a.get_gid() == "swimmer-note")[0] \
        .get_text().count("Shown") == 0


def test_endpoint_darkens_the_bar_until_event_or_censoring(zuma):
    p = zuma.patients
    pfs = zuma.endpoint("PFS")
    fig = plot_swimmer(zuma, endpoint="PFS", order="none", time_unit="days")
    y, left, width = bar_widths(fig, "swimmer-endpoint")
    np.testing.assert_array_equal(y, np.arange(len(zuma)))
    assert (left == 0).all()
    np.testing.assert_allclose(width, pfs["time"].to_numpy())
    # DOR starts at first response; non-responders have no dark bar
    dor = zuma.endpoint("DOR")
    fig = plot_swimmer(zuma, endpoint="DOR", order="none", time_unit="days")
    y, left, width = bar_widths(fig, "swimmer-endpoint")
    responders = p["best_response"].isin(RESPONSES_CR).to_numpy()
    np.testing.assert_array_equal(y, np.flatnonzero(responders))
    np.testing.assert_allclose(left, p.loc[responders, "t_response"].to_numpy())
    np.testing.assert_allclose(width, dor["time"].to_numpy())
    # a frame with options; order="time" then sorts by the end of the dark bar
    censored = zuma.endpoint("PFS", censor_at_hsct=True)
    fig = plot_swimmer(zuma, endpoint=censored)
    _, _, width = bar_widths(fig, "swimmer-endpoint")
    np.testing.assert_allclose(width, np.sort(censored["time"].to_numpy())[::-1] / MONTH)
    note = gid(fig, "swimmer-note")[0].get_text().replace("\n", " ")
    assert note.startswith("Rows ordered by end of the dark bar (PFS), longest first;")
    assert "censored at post-infusion allo-HSCT" in note


def test_height_grows_with_rows_and_nothing_overlaps(rocca, zuma):
    small = plot_swimmer(rocca, max_patients=20)
    big = plot_swimmer(rocca, title="All patients")
    h_small, h_big = small.get_figheight(), big.get_figheight()
    assert h_small < plot_swimmer(zuma).get_figheight() < h_big <= 9.5  # fits a journal page
    for fig in (small, big, plot_swimmer(zuma, endpoint="EFS", order="hsct", max_patients=30)):
        ax = swimmer_axes(fig)
        texts = [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.xaxis.label, ax.yaxis.label,
                 *ax.get_legend().get_texts(), *gid(fig, "swimmer-note"), *gid(fig, "swimmer-group")]
        texts += [t for t in (ax.title, ax._left_title) if t.get_text()]
        assert_texts_apart(fig, texts)


def test_given_axes_and_bad_arguments(zuma):
    with theme():
        fig = Figure(figsize=(6.85, 4.0), layout="constrained")
        left, right = fig.subplots(1, 2)
    assert plot_swimmer(zuma, ax=left, legend=False, note=False) is fig
    assert plot_swimmer(zuma, ax=right, max_patients=10) is fig
    assert len(gid(fig, "swimmer-bar")) == len(zuma) + 10
    with pytest.raises(TypeError, match="needs a Cohort"):
        plot_swimmer(zuma.patients)
    with pytest.raises(ValueError, match="order must be one of"):
        plot_swimmer(zuma, order="age")
    with pytest.raises(ValueError, match="max_patients must be a positive integer"):
        plot_swimmer(zuma, max_patients=0)
    with pytest.raises(ValueError, match="time_unit"):
        plot_swimmer(zuma, time_unit="fortnights")
    with pytest.raises(ValueError, match="unknown endpoint"):
        plot_swimmer(zuma, endpoint="TTP")
    with pytest.raises(ValueError, match="not in the cohort"):
        plot_swimmer(zuma, endpoint=rc.datasets.rocca_like().endpoint("OS"))


def test_baseline_swimmer(tmp_path, zuma):
    with theme(font="DejaVu Sans"):  # ships with matplotlib: same glyphs everywhere
        fig = plot_swimmer(zuma, endpoint="PFS", order="response", max_patients=30,
                           title="ZUMA-3-like cohort: PFS")
    check_baseline(fig, "plot_swimmer_response.png", tmp_path)


# ============================================================================ plot_attrition
def n_of(text: str) -> str:
    """The count of a box text: "12" of "(n = 12)", "<5" of "(n < 5)"."""
    found = re.findall(r"\(n ([=<]) ([0-9]+)\)", text)
    assert len(found) == 1, text
    sign, value = found[0]
    return value if sign == "=" else f"<{value}"


def test_zero_exclusions(rocca):
    fig = plot_attrition(rocca)
    (read,) = gid(fig, "attrition-input")
    (analysed,) = gid(fig, "attrition-analysed")
    (excluded,) = gid(fig, "attrition-excluded")
    assert read.get_text() == "Rows read\n(n = 189)" and n_of(read.get_text()) == str(rocca.n_input)
    assert analysed.get_text() == "Analysed\n(n = 189)"
    assert excluded.get_text() == "Excluded (n = 0)"
    assert not gid(fig, "attrition-reason") and not gid(fig, "attrition-remaining")
    assert gid(fig, "attrition-note")[0].get_text().replace("\n", " ") == \
        "Rows read (189) = analysed (189) + excluded (0)."
    assert len(gid(fig, "attrition-arrow")) == 2


def test_counts_equal_the_cohort_records_and_reasons_count_every_rule():
    cohort = excluded_cohort()
    assert cohort.n_input == 190 and len(cohort) == 185
    fig = plot_attrition(cohort)
    assert n_of(gid(fig, "attrition-input")[0].get_text()) == "190"
    assert n_of(gid(fig, "attrition-analysed")[0].get_text()) == "185"
    # steps in order: blank rows at reading, then the data checks; rows read - blank = remaining
    heads = [t.get_text() for t in gid(fig, "attrition-excluded")]
    assert heads == ["Blank rows skipped (n = 1)", "Excluded: failed the data checks (n = 4)"]
    assert gid(fig, "attrition-remaining")[0].get_text() == "Remaining\n(n = 189)"
    by_step = cohort.attrition["step"].value_counts()
    assert by_step["read"] == 1 and by_step["validation"] == 4
    assert sum(int(n_of(h)) for h in heads) == len(cohort.attrition) == cohort.n_input - len(cohort)
    reasons = {t.get_text().rsplit(" (n", 1)[0]: int(n_of(t.get_text())) for t in gid(fig, "attrition-reason")}
    # one row broke the grade and a date rule: counted under both
    assert reasons == {"crs_grade: between 0 and 5": 2, "date_relapse: on or after date_infusion": 2,
                       "sex: one of F, M": 1, "date_relapse: on or after date_response": 2}
    assert sum(reasons.values()) > by_step["validation"]
    note = gid(fig, "attrition-note")[0].get_text().replace("\n", " ")
    assert "counted under each rule" in note
    assert "Rows read (190) = analysed (185) + excluded (5)." in note


def test_no_identifier_in_the_diagram():
    cohort = excluded_cohort()
    ids = set(cohort.attrition["patient_id"]) | set(cohort.patients["patient_id"])
    fig = plot_attrition(cohort, subsets=True)
    assert not [t for t in all_texts(fig) if any(i in t for i in ids)]
    svg = svg_text(fig)
    assert not [i for i in ids if i in svg]


def test_suppression_shows_small_counts_as_less_than_k():
    cohort = excluded_cohort()
    fig = plot_attrition(cohort, suppress_below=5)
    texts = all_texts(fig)
    assert not [t for t in texts if re.search(r"n = [1-4]\)", t)]
    reasons = [n_of(t.get_text()) for t in gid(fig, "attrition-reason")]
    assert reasons == ["<5"] * 4  # the 2s and the 1
    heads = [n_of(t.get_text()) for t in gid(fig, "attrition-excluded")]
    assert heads == ["<5", "<5"]
    assert n_of(gid(fig, "attrition-analysed")[0].get_text()) == "185"  # >= k: shown
    assert "(n < 5)" in gid(fig, "attrition-excluded")[0].get_text()
    with pytest.raises(ValueError, match="suppress_below"):
        plot_attrition(cohort, suppress_below=0)


def test_subset_step_subsets_and_labels():
    cohort = excluded_cohort(subset_step=True)
    n_lines = int((cohort.attrition["step"] == "eligibility").sum())
    assert n_lines > 0
    fig = plot_attrition(cohort, subsets=True,
                         labels={"eligibility": "Not eligible", "analysed": "Analysed (ITT)",
                                 "sex: one of F, M": "Sex not recorded as F or M"})
    heads = [t.get_text() for t in gid(fig, "attrition-excluded")]
    assert heads[-1] == f"Not eligible (n = {n_lines})"
    reason_texts = [t.get_text() for t in gid(fig, "attrition-reason")]
    assert "Sex not recorded as F or M (n = 1)" in reason_texts
    assert reason_texts[-1] == "more than 4 prior lines"  # one reason shared by the step: no count
    remaining = [n_of(t.get_text()) for t in gid(fig, "attrition-remaining")]
    assert remaining == ["189", "185"]  # after blank rows, after the data checks
    assert gid(fig, "attrition-analysed")[0].get_text() == f"Analysed (ITT)\n(n = {len(cohort)})"
    p = cohort.patients
    subs = [t.get_text() for t in gid(fig, "attrition-subset")]
    assert subs == [f"Responders (CR/CRi/CRh)\n(n = {int(p['best_response'].isin(RESPONSES_CR).sum())})",
                    f"of whom allo-HSCT in remission\n(n = {int(p['hsct_in_remission'].sum())})"]
    dashed = [b for b in gid(fig, "attrition-box") if b.get_linestyle() != "-"]
    assert len(dashed) == 2
    assert "subsets of the analysed patients, not exclusions" in \
        gid(fig, "attrition-note")[0].get_text().replace("\n", " ")


def test_many_reasons_are_lumped():
    cohort = excluded_cohort()
    fig = plot_attrition(cohort, max_reasons=2)
    reasons = [t.get_text() for t in gid(fig, "attrition-reason")]
    assert len(reasons) == 2
    # the first is the most frequent; the rest are one line counting each row once
    assert reasons[1] == "3 other reasons (n = 3)"


def test_every_text_sits_inside_its_box():
    cohort = excluded_cohort(subset_step=True)
    fig = plot_attrition(cohort, subsets=True, title="Flow of patients")
    renderer = draw(fig)
    boxes = [b.get_window_extent(renderer) for b in gid(fig, "attrition-box")]
    assert all(isinstance(b, Rectangle) for b in gid(fig, "attrition-box"))
    inside = ["attrition-input", "attrition-remaining", "attrition-excluded", "attrition-reason",
              "attrition-analysed", "attrition-subset"]
    for name in inside:
        for t in gid(fig, name):
            bb = t.get_window_extent(renderer)
            assert any(b.x0 <= bb.x0 and bb.x1 <= b.x1 and b.y0 <= bb.y0 and bb.y1 <= b.y1 for b in boxes), \
                t.get_text()
    texts = [t for name in inside + ["attrition-note", "attrition-title"] for t in gid(fig, name)]
    assert_texts_apart(fig, texts)


def test_attrition_given_axes_and_bad_input(rocca):
    with theme():
        fig = Figure(figsize=(8.0, 5.0), layout="constrained")
        left, right = fig.subplots(1, 2)
    assert plot_attrition(rocca, ax=right) is fig
    assert not right.axison
    with pytest.raises(TypeError, match="needs a Cohort"):
        plot_attrition(rocca.patients)
    broken = rc.Cohort(patients=rocca.patients, meta={"n_input": 200})
    with pytest.raises(ValueError, match="200 rows read but 189 analysed and 0 in attrition"):
        plot_attrition(broken)


def test_baseline_attrition(tmp_path):
    cohort = excluded_cohort(subset_step=True)
    with theme(font="DejaVu Sans"):
        fig = plot_attrition(cohort, subsets=True, suppress_below=5, title="Patient flow")
    check_baseline(fig, "plot_attrition_flow.png", tmp_path)


def test_bars_start_at_the_cohort_origin():
    cohort = rc.load_registry(rc.datasets.zuma3_like_frame(), origin="apheresis")
    fig = plot_swimmer(cohort, order="none", time_unit="days")
    assert swimmer_axes(fig).get_xlabel() == "Time since apheresis (days)"
    p = cohort.patients
    np.testing.assert_allclose(bar_widths(fig)[2], (p["date_last_contact"] - p["date_apheresis"]).dt.days)
