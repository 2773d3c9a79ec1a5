"""plot_simulation_bias: what is drawn equals the summary it is given."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from images import check_baseline
from paths import ROOT

import rwe_cart as rc
from rwe_cart.plots import theme
from rwe_cart.plots.simulation import plot_simulation_bias


@pytest.fixture
def summary() -> pd.DataFrame:
    rows = [
        ("hr1.0", 189, "naive", -0.56, 0.018), ("hr1.0", 400, "naive", -0.52, 0.011),
        ("hr1.0", 189, "time_varying", -0.015, 0.020), ("hr1.0", 400, "time_varying", 0.011, 0.012),
        ("hr1.0", 400, "ccw", 0.004, 0.006),
        ("trm", 189, "naive", np.nan, 0.019), ("trm", 400, "naive", np.nan, 0.012),
        ("trm", 189, "time_varying", 0.036, 0.020), ("trm", 400, "time_varying", 0.016, 0.013),
    ]
    return pd.DataFrame(rows, columns=["scenario", "n", "method", "bias", "bias_mcse"])


def gid(fig: Figure, name: str) -> list:
    return [a for a in fig.findobj() if a.get_gid() == name]


def test_points_and_bars_are_the_summary_cells(summary):
    fig = plot_simulation_bias(summary, methods=["naive", "time_varying", "ccw"])
    FigureCanvasAgg(fig).draw()
    assert len(fig.axes) == 2
    finite = summary.loc[np.isfinite(summary["bias"])]
    xs = sorted(float(p.get_xdata()[0]) for p in gid(fig, "simulation-bias"))
    assert xs == pytest.approx(sorted(finite["bias"]))
    bars = sorted(tuple(b.get_xdata()) for b in gid(fig, "simulation-mcse"))
    expected = sorted((b - 1.96 * s, b + 1.96 * s) for b, s in zip(finite["bias"], finite["bias_mcse"]))
    np.testing.assert_allclose(np.array(bars), np.array(expected))
    # the sizes are told apart: n = 189 above n = 400 in a method's row, other marker
    tv = [p for p in gid(fig, "simulation-bias") if p.axes is fig.axes[0]
          and round(float(p.get_xdata()[0]), 3) in (-0.015, 0.011)]
    by_x = {round(float(p.get_xdata()[0]), 3): p for p in tv}
    assert by_x[-0.015].get_ydata()[0] < by_x[0.011].get_ydata()[0]
    assert by_x[-0.015].get_marker() != by_x[0.011].get_marker()


def test_naive_is_labelled_biased_and_gaps_are_explained(summary):
    fig = plot_simulation_bias(summary, methods=["naive", "time_varying", "ccw"],
                               titles={"hr1.0": "No effect", "trm": "TRM"})
    FigureCanvasAgg(fig).draw()
    assert [t.get_text() for t in gid(fig, "simulation-biased")] == ["biased: immortal time"]
    notes = sorted(t.get_text() for t in gid(fig, "simulation-missing"))
    assert notes == ["no single true HR", "not run", "not run at n = 189"]
    assert [a.get_title(loc="left") for a in fig.axes] == ["No effect", "TRM"]
    assert len(gid(fig, "simulation-band")) == 2 and len(gid(fig, "simulation-zero")) == 2
    band = gid(fig, "simulation-band")[0]
    assert band.get_x() == pytest.approx(-0.05) and band.get_width() == pytest.approx(0.10)


def test_draws_on_the_axes_it_is_given(summary):
    fig = Figure()
    axs = fig.subplots(2, 1)
    out = plot_simulation_bias(summary, ax=axs, band=None, z=1.0)
    assert out is fig and not gid(fig, "simulation-band")
    with pytest.raises(ValueError, match="needs 2 axes"):
        plot_simulation_bias(summary, ax=axs[0])


def test_bad_summaries_are_named(summary):
    with pytest.raises(ValueError, match=r"lacks columns \['bias_mcse'\]"):
        plot_simulation_bias(summary.drop(columns="bias_mcse"))
    with pytest.raises(ValueError, match=r"\(first: scenario hr1.0, n = 400, method ccw\)"):
        plot_simulation_bias(pd.concat([summary, summary.iloc[[4]]]))
    with pytest.raises(ValueError, match=r"scenarios \['hr0.6'\] are not in the summary"):
        plot_simulation_bias(summary, scenarios=["hr1.0", "hr0.6"])
    with pytest.raises(TypeError, match="needs the summary DataFrame"):
        plot_simulation_bias(summary.to_dict())


def test_baseline_image_of_the_bundled_study(tmp_path):
    study = pd.read_csv(ROOT / "studies" / "results" / "hsct_methods_summary.csv")
    with theme(font="DejaVu Sans"):  # ships with matplotlib: same glyphs everywhere
        fig = rc.plot_simulation_bias(study)
    check_baseline(fig, "plot_simulation_bias.png", tmp_path)
