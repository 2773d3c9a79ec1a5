"""plot_km and the journal theme: what is drawn equals the result, layout, baseline image.

The rendered-image baseline lives in tests/baseline/plot_km_two_groups.png. After an
intended change of the figure, regenerate it with

    RWE_CART_UPDATE_BASELINE=1 pytest tests/plots/test_km_plot.py -k baseline

then look at the new PNG before committing it.
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

from images import check_baseline

from rwe_cart.plots import plot_km, save, theme
from rwe_cart.plots.km import TIME_UNITS
from rwe_cart.survival.km import kaplan_meier

MONTH = TIME_UNITS["months"]
ROW_KEYS = {"At risk": "n_risk", "Censored": "n_censor", "Events": "n_event"}


# ---------------------------------------------------------------------------- data
def simulate(seed: int = 20240607, n=(60, 50), medians=(200.0, 420.0)) -> pd.DataFrame:
    """Two arms, exponential event times, uniform administrative censoring (days)."""
    rng = np.random.default_rng(seed)
    parts = []
    for arm, size, median in zip(("CAR-T alone", "CAR-T + allo-HSCT"), n, medians):
        t = rng.exponential(median / np.log(2), size)
        c = rng.uniform(200, 900, size)
        parts.append(pd.DataFrame({
            "time": np.round(np.minimum(t, c)),
            "event": (t <= c).astype(int),
            "arm": arm,
        }))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def km2():
    return kaplan_meier(simulate(), "time", "event", by="arm")


@pytest.fixture(scope="module")
def km1():
    return kaplan_meier(simulate(), "time", "event")


# ---------------------------------------------------------------------------- helpers
def axes_of(fig: Figure):
    """(curve axes, risk table axes or None) of a plot_km figure."""
    ax = next(a for a in fig.axes if a.get_label() == "km")
    tables = [c for c in ax.child_axes if c.get_label() == "risk_table"]
    return ax, (tables[0] if tables else None)


def count_grid(ax_t) -> tuple[list[list[str]], list[list[float]], list[float]]:
    """Risk-table numbers as rows (top to bottom) of strings and of x positions."""
    texts = [t for t in ax_t.texts if t.get_gid() == "risk-count"]
    rows: dict[float, list] = {}
    for t in texts:
        x, y = t.get_position()
        rows.setdefault(y, []).append((x, t.get_text()))
    ys = sorted(rows)
    strings = [[s for _, s in sorted(rows[y])] for y in ys]
    xs = [[x for x, _ in sorted(rows[y])] for y in ys]
    return strings, xs, ys


def expected_grid(km, ticks_days, rows=("n_risk", "n_censor", "n_event")) -> list[list[str]]:
    ar = km.at_risk(ticks_days)
    out = []
    for g in km.groups:
        sub = ar[ar["group"] == g]
        out.extend([str(int(v)) for v in sub[key]] for key in rows)
    return out


def draw(fig: Figure):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def gid_artists(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


# ---------------------------------------------------------------------------- numbers
def test_risk_table_numbers_equal_at_risk_at_ticks(km2):
    fig = plot_km(km2)
    ax, ax_t = axes_of(fig)
    ticks = ax.get_xticks()
    assert ticks[0] == 0 and np.all(np.diff(ticks) == 6)  # months, every 6
    assert ticks[-1] <= km2.table["time"].max() / MONTH
    strings, xs, _ = count_grid(ax_t)
    assert strings == expected_grid(km2, ticks * MONTH)
    for row in xs:
        np.testing.assert_array_equal(row, ticks)
    # row labels: a heading per group, then the three KMunicate rows, in group colour
    labels = [t.get_text() for t in ax_t.get_yticklabels() if t.get_text()]
    assert labels == ["At risk", "Censored", "Events"] * 2
    headings = [t.get_text() for t in ax_t.texts if t.get_gid() == "risk-group"]
    assert headings == list(km2.groups)
    header = [t.get_text() for t in ax_t.texts if t.get_gid() == "risk-header"]
    assert header == ["Number at risk (cumulative censored, events)"]


def test_numbers_sit_under_their_ticks_after_layout(km2):
    fig = plot_km(km2)
    renderer = draw(fig)
    ax, ax_t = axes_of(fig)
    assert ax_t.get_shared_x_axes().joined(ax, ax_t)
    tick_px = {round(lab.get_window_extent(renderer).x0 + lab.get_window_extent(renderer).width / 2, 1)
               for lab in ax.get_xticklabels() if lab.get_text()}
    for t in ax_t.texts:
        if t.get_gid() == "risk-count":
            bb = t.get_window_extent(renderer)
            centre = (bb.x0 + bb.x1) / 2
            assert min(abs(centre - p) for p in tick_px) < 0.75
    # the table is below the x axis label of the curve
    assert ax_t.get_tightbbox(renderer).y1 < ax.xaxis.label.get_window_extent(renderer).y0


def three_arms() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    names = ["Tisagenlecleucel", "Axicabtagene ciloleucel", "Lisocabtagene maraleucel"]
    return pd.DataFrame({"time": np.round(rng.exponential(200, 120)),
                         "event": rng.integers(0, 2, 120), "arm": np.repeat(names, 40)})


@pytest.mark.parametrize("case", ["two arms, page width", "three long names, one column"])
def test_no_text_overlaps_and_nothing_outside_the_figure(km2, case):
    if case.startswith("two"):
        fig = plot_km(km2, title="Progression-free survival",
                      annotation="HR 0.62 (95% CI 0.40–0.95); log-rank p = 0.03")
    else:
        km3 = kaplan_meier(three_arms(), "time", "event", by="arm")
        fig = plot_km(km3, figsize=(3.35, 4.8), title="Overall survival", suppress_below=5)
    renderer = draw(fig)
    ax, ax_t = axes_of(fig)
    texts = [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.xaxis.label, ax.yaxis.label,
             *ax.get_legend().get_texts(), *ax_t.get_yticklabels(), *ax_t.texts]
    texts += [t for t in (ax.title, ax._left_title) if t.get_text()]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts
             if t.get_visible() and t.get_text()]
    fig_box = fig.bbox
    for text, bb in boxes:
        assert bb.x0 >= fig_box.x0 - 0.5 and bb.x1 <= fig_box.x1 + 0.5, text
        assert bb.y0 >= fig_box.y0 - 0.5 and bb.y1 <= fig_box.y1 + 0.5, text
    for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
        overlap_w = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
        overlap_h = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
        assert overlap_w <= 0.5 or overlap_h <= 0.5, f"{a!r} overlaps {b!r}"


def test_single_row_table_and_custom_times_in_days(km2):
    fig = plot_km(km2, time_unit="days", times=[0, 100, 200, 400, 1000], risk_rows=("at risk",))
    ax, ax_t = axes_of(fig)
    np.testing.assert_array_equal(ax.get_xticks(), [0, 100, 200, 400, 1000])
    assert ax.get_xlim() == (0.0, 1000.0)
    strings, xs, _ = count_grid(ax_t)
    assert strings == expected_grid(km2, [0, 100, 200, 400, 1000], rows=("n_risk",))
    assert strings[0][-1] == "0" and strings[1][-1] == "0"  # after follow-up ends
    assert [t.get_text() for t in ax_t.get_yticklabels()] == list(km2.groups)
    assert ax.get_xlabel() == "Time (days)"


def test_suppression_shows_less_than_k(km2):
    k = 10
    fig = plot_km(km2, suppress_below=k)
    _, ax_t = axes_of(fig)
    strings, _, _ = count_grid(ax_t)
    raw = expected_grid(km2, axes_of(fig)[0].get_xticks() * MONTH)
    for got_row, raw_row in zip(strings, raw, strict=True):
        for got, value in zip(got_row, map(int, raw_row), strict=True):
            assert got == (f"<{k}" if 0 < value < k else str(value))
    flat = [s for row in strings for s in row]
    assert f"<{k}" in flat and "0" in flat


# ---------------------------------------------------------------------------- artists
def test_one_curve_band_and_censor_marks_per_group(km2):
    fig = plot_km(km2)
    ax, _ = axes_of(fig)
    curves = gid_artists(ax, "km-curve")
    assert len(curves) == len(km2.groups)
    assert len({c.get_color() for c in curves}) == len(curves)
    for curve, g in zip(curves, km2.groups, strict=True):
        sub = km2.table[km2.table["group"] == g]
        x, y = curve.get_data()
        assert (x[0], y[0]) == (0.0, 1.0) and curve.get_drawstyle() == "steps-post"
        np.testing.assert_allclose(x[1:], sub["time"] / MONTH)
        np.testing.assert_allclose(y[1:], sub["survival"])
    bands = gid_artists(ax, "km-ci")
    assert len(bands) == len(km2.groups) and all(isinstance(b, PolyCollection) for b in bands)
    assert all(0.1 <= b.get_alpha() <= 0.3 for b in bands)
    marks = gid_artists(ax, "km-censor")
    assert len(marks) == len(km2.groups)
    for mark, g in zip(marks, km2.groups, strict=True):
        sub = km2.table[(km2.table["group"] == g) & (km2.table["n_censor"] > 0)]
        x, y = mark.get_data()
        assert mark.get_marker() == "|" and len(x) == len(sub) > 0
        np.testing.assert_allclose(y, sub["survival"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(km2.groups)


def test_median_lines_only_where_reached():
    df = simulate(n=(60, 60), medians=(150.0, 5000.0))  # the second arm never reaches 0.5
    km = kaplan_meier(df, "time", "event", by="arm")
    med = km.median().set_index("group")["median"]
    assert np.isfinite(med["CAR-T alone"]) and np.isnan(med["CAR-T + allo-HSCT"])
    ax, _ = axes_of(plot_km(km))
    lines = gid_artists(ax, "km-median")
    assert len(lines) == 1
    x, y = lines[0].get_data()
    np.testing.assert_allclose(x, [0, med["CAR-T alone"] / MONTH, med["CAR-T alone"] / MONTH])
    np.testing.assert_allclose(y, [0.5, 0.5, 0.0])


def test_switches_turn_elements_off(km1):
    fig = plot_km(km1, ci=False, censor_ticks=False, median_lines=False, risk_table=False)
    ax, ax_t = axes_of(fig)
    assert ax_t is None and ax.get_legend() is None  # one group: no legend
    assert not gid_artists(ax, "km-ci") and not gid_artists(ax, "km-censor")
    assert not gid_artists(ax, "km-median") and len(gid_artists(ax, "km-curve")) == 1


def test_labels_percent_and_annotation(km2):
    fig = plot_km(km2, labels={"CAR-T alone": "No HSCT"}, percent=True, annotation="p = 0.03",
                  title="PFS")
    ax, ax_t = axes_of(fig)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["CAR-T + allo-HSCT", "No HSCT"]
    assert [t.get_text() for t in ax_t.texts if t.get_gid() == "risk-group"] == \
        ["CAR-T + allo-HSCT", "No HSCT"]
    draw(fig)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0%", "25%", "50%", "75%", "100%"]
    assert any(getattr(a, "txt", None) is not None and a.txt.get_text() == "p = 0.03"
               for a in ax.artists)
    assert ax.get_title(loc="left") == "PFS"


# ---------------------------------------------------------------------------- ax=, theme
def test_given_axes_returns_its_figure(km2):
    with theme():
        fig = Figure(figsize=(6.85, 4.0), layout="constrained")
        left, right = fig.subplots(1, 2)
    assert plot_km(km2, ax=left) is fig
    assert plot_km(km2, ax=right, risk_table=False) is fig
    assert len(gid_artists(left, "km-curve")) == 2 and len(gid_artists(right, "km-curve")) == 2
    assert axes_of(fig)[1] is not None and not right.child_axes
    renderer = draw(fig)
    # the table is carved out of the left panel's slot, under its x axis
    _, ax_t = axes_of(fig)
    assert ax_t.bbox.x0 == pytest.approx(left.bbox.x0) and ax_t.bbox.x1 == pytest.approx(left.bbox.x1)
    assert ax_t.get_tightbbox(renderer).y1 < left.xaxis.get_tightbbox(renderer).y0


def test_global_rcparams_unchanged(km2):
    before = {k: v for k, v in mpl.rcParams.items() if k != "backend"}
    fig = plot_km(km2, title="x")
    draw(fig)
    with theme():
        assert mpl.rcParams["pdf.fonttype"] == 42 and mpl.rcParams["svg.fonttype"] == "none"
        assert mpl.rcParams["savefig.dpi"] == 300 and not mpl.rcParams["axes.spines.top"]
    after = {k: v for k, v in mpl.rcParams.items() if k != "backend"}
    assert after == before


def test_outer_theme_is_kept(km2):
    with theme(base_size=10):
        fig = plot_km(km2)
    ax, _ = axes_of(fig)
    assert ax.xaxis.label.get_fontsize() == 10
    assert plot_km(km2).axes[0].xaxis.label.get_fontsize() == 8


def test_save_writes_vector_and_raster(km1, tmp_path):
    fig = plot_km(km1, figsize=(3.35, 3.6), risk_rows=("at risk",))
    paths = save(fig, tmp_path / "sub" / "km_v1.2")
    assert [p.name for p in paths] == ["km_v1.2.pdf", "km_v1.2.png", "km_v1.2.svg"]
    pdf = paths[0].read_bytes()
    assert b"/FontFile2" in pdf and b"/CreationDate" not in pdf  # TrueType embedded
    assert "<text" in paths[2].read_text()  # SVG text stays text
    img = mpl.image.imread(paths[1])
    assert img.shape[:2] == (round(3.6 * 300), round(3.35 * 300))


def test_bad_arguments_say_what_is_wrong(km2):
    with pytest.raises(ValueError, match="time_unit"):
        plot_km(km2, time_unit="fortnights")
    with pytest.raises(ValueError, match="risk_rows"):
        plot_km(km2, risk_rows=("at risk", "deaths"))
    with pytest.raises(ValueError, match="labels: got 1 values for 2 groups"):
        plot_km(km2, labels=["only one"])
    with pytest.raises(ValueError, match="suppress_below"):
        plot_km(km2, suppress_below=0)
    with pytest.raises(ValueError, match="times"):
        plot_km(km2, times=[-1, 3])


# ---------------------------------------------------------------------------- image
def test_baseline_image(tmp_path):
    km = kaplan_meier(simulate(), "time", "event", by="arm")
    with theme(font="DejaVu Sans"):  # ships with matplotlib: same glyphs everywhere
        fig = plot_km(km, title="Progression-free survival", suppress_below=5,
                      annotation="HR 0.62 (95% CI 0.40–0.95); log-rank p = 0.03")
    check_baseline(fig, "plot_km_two_groups.png", tmp_path)  # removing the median lines alone gives ~2.5
