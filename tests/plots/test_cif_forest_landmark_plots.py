"""plot_cif, plot_forest, plot_simon_makuch, plot_landmark: what is drawn equals the result.

Each figure type also has a rendered-image baseline in tests/baseline/. After an
intended change of a figure, regenerate them with

    RWE_CART_UPDATE_BASELINE=1 pytest tests/plots/test_cif_forest_landmark_plots.py -k baseline

then look at the new PNGs before committing them.
"""
from __future__ import annotations

import itertools

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from images import check_baseline, require_baseline_matplotlib

import rwe_cart as rc
from rwe_cart.plots import plot_cif, plot_forest, plot_landmark, plot_simon_makuch, save, theme
from rwe_cart.plots.forest import METHOD_NAMES
from rwe_cart.plots.km import TIME_UNITS
from rwe_cart.plots.simon_makuch import SIMON_MAKUCH_CAPTION
from rwe_cart.survival.competing import cumulative_incidence
from rwe_cart.survival.km import kaplan_meier

MONTH = TIME_UNITS["months"]


# ---------------------------------------------------------------------------- data
def simulate_cr(seed: int = 11, n=(90, 70)) -> pd.DataFrame:
    """Two arms, two competing causes (1 relapse, 2 NRM), uniform censoring; days."""
    rng = np.random.default_rng(seed)
    parts = []
    for arm, size, (m1, m2) in zip(("CAR-T alone", "CAR-T + allo-HSCT"), n, ((400, 1500), (700, 900))):
        t1, t2 = rng.exponential(m1, size), rng.exponential(m2, size)
        c = rng.uniform(150, 1000, size)
        t = np.minimum(np.minimum(t1, t2), c)
        cause = np.select([t == t1, t == t2], [1, 2], 0)
        parts.append(pd.DataFrame({"time": np.ceil(t), "cause": cause, "arm": arm}))
    return pd.concat(parts, ignore_index=True)


def simulate_hsct(seed: int = 3, n: int = 160) -> pd.DataFrame:
    """One row per patient: event time, censoring, HSCT time (if before the end)."""
    rng = np.random.default_rng(seed)
    t = np.ceil(rng.exponential(400, n))
    c = np.ceil(rng.uniform(200, 900, n))
    time = np.minimum(t, c)
    t_hsct = np.where(rng.random(n) < 0.45, np.ceil(rng.uniform(40, 200, n)), np.nan)
    t_hsct = np.where(t_hsct < time, t_hsct, np.nan)
    return pd.DataFrame({"id": np.arange(n), "time": time, "event": (t <= c).astype(int), "t_hsct": t_hsct})


@pytest.fixture(scope="module")
def ci2():
    return cumulative_incidence(simulate_cr(), "time", "cause", by="arm")


@pytest.fixture(scope="module")
def ci1():
    return cumulative_incidence(simulate_cr(), "time", "cause")


@pytest.fixture(scope="module")
def sm_km():
    rows = rc.split_timeline(simulate_hsct(), id="id", time="time", event="event", exposures={"hsct": "t_hsct"})
    return kaplan_meier(rows, "stop", "event", start="start", by="hsct")


def landmark_results(landmarks=(30, 60, 90, 120, 150, 180), curves_at=(60, 120)):
    """A landmark grid fitted with rwe_cart (Cox per landmark) and landmark KM curves."""
    df = simulate_hsct(seed=5, n=220)
    rows, curves = [], {}
    for day in landmarks:
        lf = rc.landmark_frame(df, time="time", event="event", exposure_time="t_hsct", at=day)
        exposed = int(lf["exposed"].sum())
        if exposed >= 2 and lf.loc[lf["exposed"] == 1, "event"].sum() > 0:
            s = rc.cox(lf, time="time", event="event", covariates=["exposed"]).summary.iloc[0]
            hr, lo, hi, p = s["hr"], s["lower"], s["upper"], s["p"]
        else:  # nobody transplanted yet: no hazard ratio at this landmark
            hr = lo = hi = p = np.nan
        rows.append({"landmark": day, "n": len(lf), "exposed": exposed, "events": int(lf["event"].sum()),
                     "hr": hr, "lower": lo, "upper": hi, "p": p})
        if day in curves_at:
            curves[f"Day-{day} landmark"] = kaplan_meier(lf, "time", "event", by="exposed")
    return pd.DataFrame(rows), curves


@pytest.fixture(scope="module")
def landmark():
    return landmark_results()


def comparison_table() -> pd.DataFrame:
    """An ExposureComparison.table as hsct_effect returns it (columns of docs/api-conventions.md)."""
    return pd.DataFrame({
        "method": ["naive", "censor", "time_varying", "landmark", "mantel_byar", "ccw"],
        "estimand": [
            "HR of HSCT vs no HSCT, groups fixed at infusion (HSCT patients survive until transplant)",
            "HR of HSCT vs no HSCT, no-HSCT patients censored at transplant",
            "HR of current HSCT vs no HSCT, HSCT as a time-varying exposure from infusion",
            "HR of HSCT by day 100 vs not, patients alive and event-free at day 100",
            "Mantel–Byar test of HSCT as a time-varying state",
            "Risk difference at 2 years, per-protocol strategy 'HSCT within 120 days of CR'",
        ],
        "hr": [0.31, 0.52, 0.44, 0.61, 0.47, np.nan],
        "lower": [0.16, 0.24, 0.18, 0.25, 0.20, np.nan],
        "upper": [0.60, 1.11, 1.06, 1.50, 1.10, np.nan],
        "p": [0.0004, 0.09, 0.067, 0.28, 0.08, 0.21],
        "n": [189, 189, 189, 142, 189, 189],
        "events": [94, 88, 94, 61, 94, 94],
        "note": ["biased: immortal time (HSCT patients had to survive until transplant)",
                 "informative censoring possible", "", "excludes early events", "",
                 "gives risk differences, not an HR"],
    })


class Comparison:  # stands in for ExposureComparison: a result with a .table
    def __init__(self, table):
        self.table = table


# ---------------------------------------------------------------------------- helpers
def draw(fig: Figure):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def gid(ax, name):
    return [a for a in ax.get_children() if a.get_gid() == name]


def labelled(fig, label):
    return [a for a in fig.axes if a.get_label() == label]


def table_of(ax):
    tables = [c for c in ax.child_axes if c.get_label() == "risk_table"]
    return tables[0] if tables else None


def count_rows(ax_t) -> list[list[str]]:
    rows: dict[float, list] = {}
    for t in ax_t.texts:
        if t.get_gid() == "risk-count":
            x, y = t.get_position()
            rows.setdefault(y, []).append((x, t.get_text()))
    return [[s for _, s in sorted(rows[y])] for y in sorted(rows)]


def all_texts(fig):
    """Visible, non-empty texts of every axes and child axes (ticks, labels, titles, texts)."""
    out = []
    stack = list(fig.axes)
    seen = set()
    while stack:
        ax = stack.pop()
        if id(ax) in seen:
            continue
        seen.add(id(ax))
        stack.extend(ax.child_axes)
        texts = [*ax.texts, ax.xaxis.label, ax.yaxis.label, ax.title, ax._left_title, ax._right_title]
        if ax.xaxis.get_visible() and ax.axison:
            texts += [t for t in ax.get_xticklabels() if t.get_visible()]
        if ax.yaxis.get_visible() and ax.axison:
            texts += [t for t in ax.get_yticklabels() if t.get_visible()]
        if ax.get_legend() is not None:
            texts += list(ax.get_legend().get_texts())
        out += [t for t in texts if t.get_visible() and t.get_text()]
    return out


def assert_no_overlaps_inside(fig, renderer, tol=0.5):
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in all_texts(fig)]
    fb = fig.bbox
    for text, bb in boxes:
        assert bb.x0 >= fb.x0 - tol and bb.x1 <= fb.x1 + tol, f"{text!r} outside the figure"
        assert bb.y0 >= fb.y0 - tol and bb.y1 <= fb.y1 + tol, f"{text!r} outside the figure"
    for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
        w = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
        h = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
        assert w <= tol or h <= tol, f"{a!r} overlaps {b!r}"


def rcparams_now():
    return {k: v for k, v in mpl.rcParams.items() if k != "backend"}


# ============================================================================ plot_cif
def test_cif_side_curves_equal_the_table(ci2):
    fig = plot_cif(ci2, causes={1: "Relapse", 2: "Non-relapse mortality"})
    axs = labelled(fig, "cif")
    assert [a.get_title(loc="left") for a in axs] == ["Relapse", "Non-relapse mortality"]
    for ax, cause in zip(axs, (1, 2), strict=True):
        curves = gid(ax, "cif-curve")
        assert len(curves) == len(ci2.groups) == 2  # one line per group in each cause panel
        assert len({c.get_color() for c in curves}) == 2
        assert len(gid(ax, "cif-ci")) == 2 and all(isinstance(b, PolyCollection) for b in gid(ax, "cif-ci"))
        for curve, g in zip(curves, ci2.groups, strict=True):
            sub = ci2.table[(ci2.table["group"] == g) & (ci2.table["cause"] == cause)]
            x, y = curve.get_data()
            assert (x[0], y[0]) == (0.0, 0.0) and curve.get_drawstyle() == "steps-post"
            np.testing.assert_allclose(x[1:], sub["time"] / MONTH)
            np.testing.assert_allclose(y[1:], sub["cif"])
    assert [t.get_text() for t in axs[0].get_legend().get_texts()] == list(ci2.groups)


def test_cif_numbers_at_risk_equal_the_result_at_the_ticks(ci2):
    fig = plot_cif(ci2, causes=[1, 2])
    for ax in labelled(fig, "cif"):
        ticks = ax.get_xticks()
        assert ticks[0] == 0 and np.all(np.diff(ticks) == 6)
        at = ci2.at(ticks * MONTH)
        expected = []
        for g in ci2.groups:
            sub = at[(at["group"] == g) & (at["cause"] == 1)].set_index("time")["n_risk"]
            # ci.at leaves out times after the group's last follow-up: nobody is at risk there
            expected.append([str(int(sub.get(t, 0))) for t in ticks * MONTH])
        ax_t = table_of(ax)
        assert count_rows(ax_t) == expected
        assert [t.get_text() for t in ax_t.get_yticklabels() if t.get_text()] == list(ci2.groups)
        header = [t.get_text() for t in ax_t.texts if t.get_gid() == "risk-header"]
        assert header == ["Number at risk (event-free)"]


def test_cif_at_risk_and_events_agree_with_the_raw_data(ci1):
    df = simulate_cr()
    ticks = np.array([0, 3, 6, 12, 18, 24])
    fig = plot_cif(ci1, layout="stacked", causes={1: "Relapse", 2: "NRM"}, times=ticks,
                   risk_rows=("at risk", "events"))
    (ax,) = labelled(fig, "cif")
    rows = count_rows(table_of(ax))
    t_days = ticks * MONTH
    at_risk = [str(int((df["time"] >= t).sum())) for t in t_days]  # event-free and followed at t
    relapse = [str(int(((df["time"] <= t) & (df["cause"] == 1)).sum())) for t in t_days]
    nrm = [str(int(((df["time"] <= t) & (df["cause"] == 2)).sum())) for t in t_days]
    assert rows == [at_risk, relapse, nrm]


def test_cif_stacked_draws_the_second_cause_from_the_top(ci2):
    fig = plot_cif(ci2, layout="stacked", causes={1: "Relapse", 2: "NRM"}, labels=["Alone", "With HSCT"])
    axs = labelled(fig, "cif")
    assert [a.get_title(loc="left") for a in axs] == ["Alone", "With HSCT"]  # one panel per group
    for ax, g in zip(axs, ci2.groups, strict=True):
        up, down = gid(ax, "cif-curve")
        tab = ci2.table[ci2.table["group"] == g]
        np.testing.assert_allclose(up.get_data()[1][1:], tab.loc[tab["cause"] == 1, "cif"])
        np.testing.assert_allclose(down.get_data()[1][1:], 1 - tab.loc[tab["cause"] == 2, "cif"])
        assert down.get_data()[1][0] == 1.0
        assert len(ax.child_axes) == 2  # right (downward) axis and the risk table
        assert ax.get_ylabel() == "Relapse"
    assert [t.get_text() for t in axs[0].get_legend().get_texts()] == ["Relapse", "NRM"]


def test_cif_annotation_per_panel_and_suppression(ci2):
    ann = {1: "Gray's test p = 0.30", 2: "Gray's test p = 0.23"}
    fig = plot_cif(ci2, annotation=ann, suppress_below=10)
    texts = [[a.txt.get_text() for a in ax.artists if hasattr(a, "txt")] for ax in labelled(fig, "cif")]
    assert texts == [[ann[1]], [ann[2]]]
    flat = [s for row in count_rows(table_of(labelled(fig, "cif")[0])) for s in row]
    assert "<10" in flat and all(s == "<10" or s == "0" or int(s) >= 10 for s in flat)


def test_cif_layout_and_text(ci2):
    fig = plot_cif(ci2, causes={1: "Cumulative incidence of relapse", 2: "Non-relapse mortality"},
                   labels={"CAR-T alone": "No HSCT", "CAR-T + allo-HSCT": "Consolidative allo-HSCT"},
                   annotation="Gray's test p = 0.30")
    renderer = draw(fig)
    assert_no_overlaps_inside(fig, renderer)
    for ax in labelled(fig, "cif"):
        ax_t = table_of(ax)
        assert ax_t.get_shared_x_axes().joined(ax, ax_t)
        assert ax_t.get_tightbbox(renderer).y1 < ax.xaxis.label.get_window_extent(renderer).y0


def test_cif_given_axes_and_bad_arguments(ci1, ci2):
    with theme():
        fig = Figure(figsize=(6.85, 3.6), layout="constrained")
        left, right = fig.subplots(1, 2)
    assert plot_cif(ci2, ax=[left, right]) is fig
    with theme():
        fig1 = Figure(figsize=(4, 3.6), layout="constrained")
        one = fig1.subplots()
    assert plot_cif(ci1, causes=[2], ax=one) is fig1
    assert len(gid(one, "cif-curve")) == 1
    with pytest.raises(ValueError, match="needs 2 axes"):
        plot_cif(ci2, ax=one)
    with pytest.raises(ValueError, match="exactly two causes"):
        plot_cif(ci2, layout="stacked", causes=[1])
    with pytest.raises(ValueError, match="layout"):
        plot_cif(ci2, layout="overlay")
    with pytest.raises(ValueError, match=r"causes: \[3\] not among"):
        plot_cif(ci2, causes=[1, 3])
    with pytest.raises(ValueError, match="risk_rows"):
        plot_cif(ci2, risk_rows=("censored",))


# ============================================================================ plot_forest
def forest_axes(fig):
    (ax,) = labelled(fig, "forest")
    left = next(c for c in ax.child_axes if c.get_label() == "forest_left")
    right = next(c for c in ax.child_axes if c.get_label() == "forest_right")
    return ax, left, right


def texts_with(ax, name):
    return [t for t in ax.texts if t.get_gid() == name]


def test_forest_points_and_intervals_equal_the_table():
    table = comparison_table()
    fig = plot_forest(Comparison(table))
    ax, left, right = forest_axes(fig)
    assert ax.get_xscale() == "log"
    points = gid(ax, "forest-point")
    finite = table[table["hr"].notna()]
    assert len(points) == len(finite)
    np.testing.assert_allclose([p.get_xdata()[0] for p in points], finite["hr"])
    cis = gid(ax, "forest-ci")
    np.testing.assert_allclose([c.get_xdata() for c in cis], finite[["lower", "upper"]].to_numpy())
    # each point sits on the row of its label
    labels = texts_with(left, "forest-label")
    names = [METHOD_NAMES[m] for m in table["method"]]  # the names the comparison table prints
    assert [t.get_text() for t in labels] == names
    assert names[2] == "Time-varying Cox" and names[-1] == "Clone–censor–weight"
    for p, c in zip(points, cis, strict=True):
        assert p.get_ydata()[0] == c.get_ydata()[0]
    # each point is on the line of its numbers and of its label's first line
    hr_y = [t.get_position()[1] for t in texts_with(right, "forest-hr")]
    assert [p.get_ydata()[0] for p in points] == hr_y[:5]
    renderer = draw(fig)
    fs_px = labels[0].get_fontsize() * fig.dpi / 72.0
    for p, label in zip(points, labels, strict=False):
        point_px = p.get_transform().transform((p.get_xdata()[0], p.get_ydata()[0]))[1]
        first_line_px = label.get_window_extent(renderer).y1 - 0.6 * fs_px
        assert abs(point_px - first_line_px) < 0.25 * fs_px
    hr_texts = [t.get_text() for t in texts_with(right, "forest-hr")]
    assert hr_texts == ["0.31 (0.16–0.60)", "0.52 (0.24–1.11)", "0.44 (0.18–1.06)", "0.61 (0.25–1.50)",
                        "0.47 (0.20–1.10)", "—"]
    assert [t.get_text() for t in texts_with(right, "forest-p")] == ["<0.001", "0.090", "0.067", "0.280",
                                                                    "0.080", "0.210"]
    assert [t.get_text() for t in texts_with(left, "forest-n")] == ["189 / 94", "189 / 88", "189 / 94",
                                                                   "142 / 61", "189 / 94", "189 / 94"]
    (ref,) = gid(ax, "forest-reference")
    assert list(ref.get_xdata()) == [1.0, 1.0] and ref.get_linestyle() == "--"
    headers = [t.get_text() for a in (left, right) for t in texts_with(a, "forest-header")]
    assert headers == ["Method", "N / events", "HR (95% CI)", "p"]  # long estimands go under the labels
    estimands = texts_with(left, "forest-estimand")
    assert [t.get_text().replace("\n", " ") for t in estimands] == list(table["estimand"])
    for label, est in zip(labels[1:], estimands[1:], strict=True):  # (the naive row has its bias line between)
        assert est.get_window_extent(renderer).y1 <= label.get_window_extent(renderer).y0 + 0.5  # right below


def test_forest_estimand_column():
    table = comparison_table()
    fig = plot_forest(table, estimand_layout="column", figsize=(9.0, 4.0))
    ax, left, right = forest_axes(fig)
    headers = [t.get_text() for a in (left, right) for t in texts_with(a, "forest-header")]
    assert headers == ["Method", "Estimand", "N / events", "HR (95% CI)", "p"]
    renderer = draw(fig)
    assert_no_overlaps_inside(fig, renderer)
    estimands = texts_with(left, "forest-estimand")
    labels = texts_with(left, "forest-label")
    x_est = {round(t.get_window_extent(renderer).x0, 1) for t in estimands}
    assert len(x_est) == 1 and min(x_est) > max(t.get_window_extent(renderer).x1 for t in labels)
    # the figure is taller than the rows need: the rows spread out, but each row's cells
    # and its point stay on the label's first line
    tops = [(t.get_window_extent(renderer).y1, e.get_window_extent(renderer).y1) for t, e in zip(labels, estimands)]
    assert all(abs(a - b) < 1.5 for a, b in tops)
    fs_px = labels[0].get_fontsize() * fig.dpi / 72.0
    for p, label in zip(gid(ax, "forest-point"), labels, strict=False):
        point_px = p.get_transform().transform((p.get_xdata()[0], p.get_ydata()[0]))[1]
        assert abs(point_px - (label.get_window_extent(renderer).y1 - 0.6 * fs_px)) < 0.25 * fs_px
    require_baseline_matplotlib()  # the pixel distances below depend on its text metrics
    (tag,) = texts_with(left, "forest-biased")  # right under its label, not spread out
    assert 0 <= labels[0].get_window_extent(renderer).y0 - tag.get_window_extent(renderer).y1 < 3.0
    with pytest.raises(ValueError, match="estimand_layout"):
        plot_forest(table, estimand_layout="side")


def test_forest_biased_rows_are_grey_and_hollow_and_nan_rows_are_text():
    fig = plot_forest(comparison_table())
    ax, left, right = forest_axes(fig)
    naive = gid(ax, "forest-point")[0]
    assert naive.get_markerfacecolor() == "white"
    assert mpl.colors.to_hex(naive.get_color()) != mpl.colors.to_hex(gid(ax, "forest-point")[1].get_color())
    assert mpl.colors.to_rgb(naive.get_markeredgecolor())[0] == pytest.approx(0.55)
    (tag,) = texts_with(left, "forest-biased")
    assert tag.get_text() == "(biased: immortal time)"
    naive_label = texts_with(left, "forest-label")[0]
    assert mpl.colors.to_rgb(naive_label.get_color())[0] == pytest.approx(0.55)
    assert all(p.get_markerfacecolor() != "white" for p in gid(ax, "forest-point")[1:])
    (no_hr,) = texts_with(ax, "forest-no-hr")
    assert no_hr.get_text() == "no HR (see note)"
    assert no_hr.get_position()[1] == texts_with(right, "forest-hr")[-1].get_position()[1]  # the last row
    (foot,) = texts_with(left, "forest-footnote")
    assert foot.get_text() == f"{METHOD_NAMES['ccw']}: gives risk differences, not an HR"


def test_forest_from_a_cox_model_and_options():
    df = simulate_hsct(seed=9, n=200)
    df["age10"] = np.random.default_rng(1).normal(5.5, 1.2, len(df))
    df["hsct"] = df["t_hsct"].notna().astype(int)
    model = rc.cox(df, time="time", event="event", covariates=["hsct", "age10"])
    fig = plot_forest(model, labels={"age10": "Age (per 10 years)"}, sort=True, xlim=(0.5, 1.5))
    ax, left, right = forest_axes(fig)
    s = model.summary.sort_values("hr")
    assert [t.get_text() for t in texts_with(left, "forest-label")] == \
        [{"age10": "Age (per 10 years)"}.get(v, v) for v in s["term"]]
    assert [t.get_text() for t in texts_with(left, "forest-header")] == ["Term"]  # no estimand, n
    assert ax.get_xlim() == pytest.approx((0.5, 1.5))
    n_out = int((s["lower"] < 0.5).sum() + (s["upper"] > 1.5).sum())
    assert len(gid(ax, "forest-arrow")) == n_out > 0  # intervals past xlim end in arrows


@pytest.mark.parametrize("case", ["methods, page width", "separators, no estimand, 4.6 in"])
def test_forest_columns_are_aligned_and_nothing_overlaps(case):
    if case.startswith("methods"):
        fig = plot_forest(comparison_table(), title="Effect of allo-HSCT on PFS",
                          favours=("Favours HSCT", "Favours no HSCT"))
    else:
        fig = plot_forest(comparison_table(), separators=True, show_estimand=False, sort=True, figsize=(4.6, 2.6))
    renderer = draw(fig)
    assert_no_overlaps_inside(fig, renderer)
    ax, left, right = forest_axes(fig)
    # text columns and plot do not overlap horizontally
    assert left.bbox.x1 <= ax.bbox.x0 + 0.5 and ax.bbox.x1 <= right.bbox.x0 + 0.5
    x_label = {round(t.get_window_extent(renderer).x0, 1) for t in texts_with(left, "forest-label")}
    assert len(x_label) == 1  # left-aligned label column
    n_boxes = [t.get_window_extent(renderer) for t in texts_with(left, "forest-n")]
    n_centre = {round((b.x0 + b.x1) / 2, 1) for b in n_boxes}
    assert len(n_centre) == 1  # centred N / events column
    p_right = {round(t.get_window_extent(renderer).x1, 1) for t in texts_with(right, "forest-p")}
    assert len(p_right) == 1  # right-aligned p column
    assert all(t.get_window_extent(renderer).x1 <= fig.bbox.x1 for t in texts_with(right, "forest-p"))


def test_forest_too_narrow_figure_says_so_and_bad_input():
    with pytest.raises(ValueError, match="the text columns need .* in of width but the figure is 3.35 in"):
        plot_forest(comparison_table(), figsize=(3.35, 2.4))
    with theme():
        fig = Figure(figsize=(7.5, 4.2), layout="constrained")
        left, _ = fig.subplots(1, 2)
    with pytest.raises(ValueError, match="but the axes slot is 3.55 in wide"):
        plot_forest(comparison_table(), ax=left)
    with pytest.raises(ValueError, match="lacks hr"):
        plot_forest(pd.DataFrame({"label": ["a"], "lower": [1.0], "upper": [2.0]}))
    with pytest.raises(TypeError, match="DataFrame or a result"):
        plot_forest([1, 2, 3])
    with pytest.raises(ValueError, match="labels: got 1 names for 6 rows"):
        plot_forest(comparison_table(), labels=["x"])


# ============================================================================ Simon–Makuch
def test_simon_makuch_counts_come_from_km_at_risk(sm_km):
    fig = plot_simon_makuch(sm_km)
    (ax,) = labelled(fig, "km")
    ticks = ax.get_xticks()
    ar = sm_km.at_risk(ticks * MONTH)
    expected = [[str(int(v)) for v in ar.loc[ar["group"] == g, "n_risk"]] for g in sm_km.groups]
    ax_t = table_of(ax)
    assert count_rows(ax_t) == expected
    # patients move into the HSCT curve: its number at risk is not monotone
    hsct = [int(v) for v in expected[1]]
    assert max(hsct) > hsct[0]
    assert [t.get_text() for t in ax_t.get_yticklabels() if t.get_text()] == ["No HSCT (yet)", "After HSCT"]
    assert len(gid(ax, "km-curve")) == 2 and not gid(ax, "km-censor") and not gid(ax, "km-median")
    for curve, g in zip(gid(ax, "km-curve"), sm_km.groups, strict=True):
        np.testing.assert_allclose(curve.get_ydata()[1:], sm_km.table.loc[sm_km.table["group"] == g, "survival"])


def test_simon_makuch_caption_under_the_table_inside_the_figure(sm_km):
    fig = plot_simon_makuch(sm_km, title="PFS by current HSCT status")
    renderer = draw(fig)
    (ax,) = labelled(fig, "km")
    ax_t = table_of(ax)
    (cap,) = [t for t in ax_t.texts if t.get_gid() == "sm-caption"]
    assert cap.get_text() == SIMON_MAKUCH_CAPTION
    assert "Patients move from the no-HSCT to the HSCT curve at transplant (Simon–Makuch)" in cap.get_text()
    bb = cap.get_window_extent(renderer)
    assert bb.y1 < min(t.get_window_extent(renderer).y0 for t in ax_t.texts if t.get_gid() == "risk-count")
    assert_no_overlaps_inside(fig, renderer)


def test_simon_makuch_from_a_result_and_on_given_axes(sm_km):
    class Estimate:  # as the Simon–Makuch method of hsct_effect: curves in .extra
        extra = {"curves": sm_km, "note": "descriptive"}

    with theme():
        fig = Figure(figsize=(6.85, 3.8), layout="constrained")
        left, right = fig.subplots(1, 2)
    assert plot_simon_makuch(Estimate(), ax=left) is fig
    assert plot_simon_makuch(sm_km, ax=right, risk_table=False, labels=["No HSCT", "HSCT"]) is fig
    renderer = draw(fig)
    draw(fig)
    (cap,) = [t for t in right.texts if t.get_gid() == "sm-caption"]
    assert cap.get_window_extent(renderer).y1 < right.xaxis.label.get_window_extent(renderer).y0
    assert [t.get_text() for t in right.get_legend().get_texts()] == ["No HSCT", "HSCT"]
    with pytest.raises(TypeError, match="KaplanMeier fitted on counting-process rows"):
        plot_simon_makuch(pd.DataFrame())


def test_simon_makuch_result_counts_patients_in_each_state():
    exposure = pytest.importorskip("rwe_cart.exposure")
    df = simulate_hsct()
    rows = rc.split_timeline(df, id="id", time="time", event="event", exposures={"hsct": "t_hsct"})
    sm = exposure.simon_makuch_curves(rows, start="start", time="stop", event="event", exposure="hsct", id="id")
    fig = plot_simon_makuch(sm)
    (ax,) = labelled(fig, "km")
    ticks = ax.get_xticks()
    ar = sm.at_risk(ticks * MONTH)
    expected = [[str(int(v)) for v in ar.loc[ar["group"] == g, "n_risk"]] for g in sm.km.groups]
    got = count_rows(table_of(ax))
    assert got == expected
    assert got[0][0] == str(len(df)) and got[1][0] == "0"  # nobody is transplanted at day 0
    # the same numbers by hand: patients whose (start, stop] row of that state covers t
    t = ticks[2] * MONTH
    for value, row in zip((0, 1), got, strict=True):
        here = rows[(rows["hsct"] == value) & (rows["start"] < t) & (t <= rows["stop"])]
        assert row[2] == str(here["id"].nunique())


def test_simon_makuch_on_the_bundled_registry():
    km = kaplan_meier(rc.datasets.rocca_like().timeline("PFS"), "stop", "event", start="start", by="hsct")
    fig = plot_simon_makuch(km, suppress_below=5)
    (ax,) = labelled(fig, "km")
    flat = [s for row in count_rows(table_of(ax)) for s in row]
    assert "<5" in flat


# ============================================================================ landmark
def test_landmark_points_intervals_and_counts_equal_the_grid(landmark):
    grid, _ = landmark
    fig = plot_landmark(grid)
    (ax,) = labelled(fig, "landmark")
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.get_xticks(), grid["landmark"])
    ok = grid["hr"].notna()
    assert not ok.all()  # the first landmark has nobody transplanted yet
    (pts,) = gid(ax, "landmark-hr")
    np.testing.assert_allclose(pts.get_xdata(), grid.loc[ok, "landmark"])
    np.testing.assert_allclose(pts.get_ydata(), grid.loc[ok, "hr"])
    bars = gid(ax, "landmark-ci")
    np.testing.assert_allclose([b.get_ydata() for b in bars], grid.loc[ok, ["lower", "upper"]].to_numpy())
    (no_hr,) = [t for t in ax.texts if t.get_gid() == "landmark-no-hr"]
    assert no_hr.get_position()[0] == grid.loc[~ok, "landmark"].iloc[0]
    (ref,) = gid(ax, "landmark-reference")
    assert list(ref.get_ydata()) == [1, 1] and ref.get_linestyle() == "--"
    ax_t = table_of(ax)
    assert count_rows(ax_t) == [[str(int(v)) for v in grid[c]] for c in ("n", "exposed", "events")]
    assert [t.get_text() for t in ax_t.get_yticklabels()] == ["At risk", "HSCT by landmark", "Events"]
    assert ax.get_xlabel() == "Landmark (days after infusion)"


def test_landmark_with_curves_draws_them_with_plot_km(landmark):
    grid, curves = landmark
    fig = plot_landmark(grid, curves=curves, band=True)
    renderer = draw(fig)
    (ax,) = labelled(fig, "landmark")
    assert len(gid(ax, "landmark-band")) == 1 and not gid(ax, "landmark-ci")
    km_axes = labelled(fig, "km")
    assert [a.get_title(loc="left") for a in km_axes] == list(curves)
    for a, km in zip(km_axes, curves.values(), strict=True):
        assert len(gid(a, "km-curve")) == len(km.groups)
        assert a.get_xlabel() == "Time from landmark (months)"
        ticks = a.get_xticks()
        ar = km.at_risk(ticks * MONTH)
        assert count_rows(table_of(a)) == [[str(int(v)) for v in ar.loc[ar["group"] == g, "n_risk"]]
                                           for g in km.groups]
    assert_no_overlaps_inside(fig, renderer)


def test_landmark_given_axes_and_bad_input(landmark):
    grid, curves = landmark
    with theme():
        fig = Figure(figsize=(6.85, 6), layout="constrained")
        top, a, b = fig.subplots(3, 1)
    assert plot_landmark(grid, curves=curves, ax=[top, a, b]) is fig
    with theme():
        fig1 = Figure(figsize=(4, 3), layout="constrained")
        one = fig1.subplots()
    assert plot_landmark(grid.drop(columns=["exposed"]), ax=one, risk_rows=("n", "exposed")) is fig1
    assert [t.get_text() for t in table_of(one).get_yticklabels()] == ["At risk"]  # no exposed column
    with pytest.raises(ValueError, match="needs 3 axes"):
        plot_landmark(grid, curves=curves, ax=one)
    with pytest.raises(ValueError, match="lacks upper"):
        plot_landmark(grid.drop(columns=["upper"]))
    with pytest.raises(ValueError, match="distinct"):
        plot_landmark(pd.concat([grid, grid]))


# ============================================================================ all figures
def all_figures(ci2, sm_km, landmark):
    grid, curves = landmark
    return {
        "cif": lambda **kw: plot_cif(ci2, **kw),
        "forest": lambda **kw: plot_forest(comparison_table(), **kw),
        "simon_makuch": lambda **kw: plot_simon_makuch(sm_km, **kw),
        "landmark": lambda **kw: plot_landmark(grid, **kw),
    }


@pytest.mark.parametrize("kind", ["cif", "forest", "simon_makuch", "landmark"])
def test_global_rcparams_unchanged_and_outer_theme_kept(ci2, sm_km, landmark, kind):
    make = all_figures(ci2, sm_km, landmark)[kind]
    before = rcparams_now()
    fig = make()
    draw(fig)
    assert rcparams_now() == before
    with theme(base_size=10):
        fig10 = make()
    assert rcparams_now() == before
    ax10 = fig10.axes[0]
    assert ax10.xaxis.label.get_fontsize() == 10
    assert make().axes[0].xaxis.label.get_fontsize() == 8


@pytest.mark.parametrize("kind", ["cif", "forest", "simon_makuch", "landmark"])
def test_given_axes_returns_its_figure_and_saves(ci2, sm_km, landmark, kind, tmp_path):
    make = all_figures(ci2, sm_km, landmark)[kind]
    with theme():
        fig = Figure(figsize=(7.5, 4.2), layout="constrained")
        axs = fig.subplots(2, 1) if kind == "forest" else fig.subplots(1, 2)  # forest: full width
    ax_arg = list(axs) if kind == "cif" else axs[0]
    assert make(ax=ax_arg) is fig
    paths = save(fig, tmp_path / kind, formats=("png", "pdf"))
    assert all(p.stat().st_size > 0 for p in paths)


# ---------------------------------------------------------------------------- images
def test_baseline_cif(tmp_path):
    ci = cumulative_incidence(simulate_cr(), "time", "cause", by="arm")
    with theme(font="DejaVu Sans"):  # ships with matplotlib: same glyphs everywhere
        fig = plot_cif(ci, causes={1: "Cumulative incidence of relapse", 2: "Non-relapse mortality"},
                       annotation={1: "Gray's test p = 0.30", 2: "Gray's test p = 0.23"}, suppress_below=5)
    check_baseline(fig, "plot_cif_side.png", tmp_path)


def test_baseline_forest(tmp_path):
    with theme(font="DejaVu Sans"):
        fig = plot_forest(comparison_table(), title="Effect of allo-HSCT on PFS",
                          favours=("Favours HSCT", "Favours no HSCT"))
    check_baseline(fig, "plot_forest_methods.png", tmp_path)


def test_baseline_simon_makuch(tmp_path, sm_km):
    with theme(font="DejaVu Sans"):
        fig = plot_simon_makuch(sm_km, title="Progression-free survival by current HSCT status",
                                annotation="Mantel–Byar p = 0.04")
    check_baseline(fig, "plot_simon_makuch.png", tmp_path)


def test_baseline_landmark(tmp_path):
    grid, curves = landmark_results()
    with theme(font="DejaVu Sans"):
        fig = plot_landmark(grid, curves=curves, suppress_below=5)
    check_baseline(fig, "plot_landmark_curves.png", tmp_path)
