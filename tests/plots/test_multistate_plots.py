"""plot_state_probabilities and plot_state_diagram: what is drawn equals the result.

Each figure has a rendered-image baseline in tests/baseline/. After an intended change
of a figure, regenerate them with

    RWE_CART_UPDATE_BASELINE=1 pytest tests/plots/test_multistate_plots.py -k baseline

then look at the new PNGs before committing them.
"""
from __future__ import annotations

import doctest

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from images import check_baseline
from matplotlib.backends.backend_agg import FigureCanvasAgg
from reference import load_data

import rwe_cart as rc
from rwe_cart.plots import multistate as plots_module
from rwe_cart.plots.multistate import GID_AREA, GID_COUNT, GID_LABEL, GID_LINE
from rwe_cart.plots._common import GID_COUNT as GID_RISK

NAMES = {"Tx": "Transplanted", "PR": "Platelet recovery", "RelDeath": "Relapse or death"}


@pytest.fixture(scope="module")
def long():
    e3 = load_data("ebmt3")
    tr = rc.transitions({"Tx": ["PR", "RelDeath"], "PR": ["RelDeath"]})
    return rc.multistate_frame(e3, tr, time={"PR": "prtime", "RelDeath": "rfstime"},
                               status={"PR": "prstat", "RelDeath": "rfsstat"})


@pytest.fixture(scope="module")
def pt(long):
    return rc.state_probabilities(rc.transition_hazards(long))


def _draw(fig):
    FigureCanvasAgg(fig).draw()
    return fig


def test_stacked_areas_are_the_probabilities(pt):
    fig = _draw(rc.plot_state_probabilities(pt, order=["RelDeath", "PR", "Tx"],
                                            times=[0, 2, 4, 6]))
    ax = fig.axes[0]
    areas = [c for c in ax.collections if c.get_gid() == GID_AREA]
    assert len(areas) == 3
    w = pt.wide("Tx")
    # the top edge of the second area (RelDeath + PR) at t = 3 years
    i = np.searchsorted(w["time"], 3.0, side="right") - 1
    expected = w["pstate3"].iloc[i] + w["pstate2"].iloc[i]
    path = areas[1].get_paths()[0].vertices
    near = path[np.isclose(path[:, 0], w["time"].iloc[i])]
    assert np.isclose(near[:, 1], expected).any()
    labels = [t.get_text() for t in ax.texts if t.get_gid() == GID_LABEL]
    assert labels == ["RelDeath", "PR", "Tx"]


def test_numbers_at_risk_per_state(pt, long):
    fig = _draw(rc.plot_state_probabilities(pt, times=[0, 1, 2]))
    table = [a for a in fig.axes[0].child_axes if a.get_label() == "risk_table"][0]
    counts = [t.get_text() for t in table.texts if t.get_gid() == GID_RISK]
    # rows: PR (top, drawn first), then Tx; in the state at t: start <= t < stop
    rows = {}
    for code, state in ((1, "PR"), (0, "Tx")):
        first = long[long["from"] == state].drop_duplicates("id")
        rows[state] = [str(int(((first["start"] <= t) & (first["stop"] > t)).sum()))
                       for t in (0, 1, 2)]
    assert counts == rows["PR"] + rows["Tx"]
    assert rows["Tx"][0] == "2204" and rows["PR"][0] == "0"


def test_lines(pt):
    fig = _draw(rc.plot_state_probabilities(pt, order=["PR"], kind="lines",
                                            risk_table=False))
    lines = [ln for ln in fig.axes[0].lines if ln.get_gid() == GID_LINE]
    assert len(lines) == 1
    y = lines[0].get_ydata()
    np.testing.assert_allclose(y[:-1], pt.wide("Tx")["pstate2"])


def test_errors(pt):
    with pytest.raises(ValueError, match="needs every state"):
        rc.plot_state_probabilities(pt, order=["PR", "Tx"])
    with pytest.raises(ValueError, match="kind must be"):
        rc.plot_state_probabilities(pt, kind="area")
    with pytest.raises(ValueError, match="not a state"):
        rc.plot_state_probabilities(pt, order=["Tx", "PR", "Death"])
    with pytest.raises(TypeError, match="long frame"):
        rc.plot_state_diagram(pd.DataFrame({"a": [1]}))


def test_state_diagram_counts(long):
    fig = _draw(rc.plot_state_diagram(long))
    counts = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == GID_COUNT]
    assert counts == ["1169", "458", "383"]
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "n = 2204" in texts and "n = 841" in texts
    fig = _draw(rc.plot_state_diagram(long, suppress_below=500))
    counts = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == GID_COUNT]
    assert counts == ["1169", "<500", "<500"]


def test_baseline_stacked(pt, tmp_path):
    fig = rc.plot_state_probabilities(pt, order=["RelDeath", "PR", "Tx"], labels=NAMES,
                                      xlabel="Years since transplant")
    check_baseline(fig, "plot_state_probabilities_ebmt.png", tmp_path)


def test_baseline_diagram(long, tmp_path):
    fig = rc.plot_state_diagram(long, labels={**NAMES, "Tx": "Transplant"})
    check_baseline(fig, "plot_state_diagram_ebmt.png", tmp_path)


def test_docstring_examples():
    res = doctest.testmod(plots_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 5 and res.failed == 0


def test_layout_progressive_model():
    """Transient states in a row by path length, absorbing states below; a transition
    that passes a box is an arc above the row; no two boxes overlap."""
    from rwe_cart.plots.multistate import _layout

    tr = rc.transitions({"Infusion": ["Response", "Progression", "Death"],
                         "Response": ["Progression", "Death"], "Progression": ["Death"],
                         "Death": []})
    pos = _layout(tr)
    assert [pos[h][1] for h in range(3)] == [0.0, 0.0, 0.0]
    assert [pos[h][0] for h in range(3)] == [0.0, 1.0, 2.0]
    assert pos[3] == (1.0, -1.2)
    cr = rc.Transitions.competing_risks(["Alive", "Relapse", "NRM", "Other"])
    xs = sorted(p[0] for h, p in _layout(cr).items() if h > 0)
    assert np.all(np.diff(xs) >= 1.0)


def test_cox_prediction_counts_need_the_frame(long):
    """A Cox-based prediction carries no data: the counts come from frame=."""
    tr = long.attrs["multistate_transitions"]
    fit = rc.cox(long.assign(x=(long["id"] % 2).astype(float)), time="stop", start="start",
                 event="status", covariates=["x"], strata="trans", ties="breslow")
    nd = pd.DataFrame({"x": [1.0, 1.0, 1.0], "trans": [1, 2, 3]})
    pt = rc.state_probabilities(rc.transition_hazards(fit, nd, tr))
    fig = _draw(rc.plot_state_probabilities(pt, times=[0, 2, 4]))
    assert not [a for a in fig.axes[0].child_axes if a.get_label() == "risk_table"]
    fig = _draw(rc.plot_state_probabilities(pt, times=[0, 2, 4], frame=long))
    table = [a for a in fig.axes[0].child_axes if a.get_label() == "risk_table"][0]
    assert [t.get_text() for t in table.texts if t.get_gid() == GID_RISK][3] == "2204"


def test_state_diagram_of_a_cohort_is_that_of_its_pathway():
    cohort = rc.datasets.rocca_like()
    counts = []
    for source in (cohort, cohort.multistate(), cohort.multistate().frame):
        fig = rc.plot_state_diagram(source)
        counts.append(sorted(t.get_text() for t in fig.axes[0].texts
                             if t.get_gid() == "transition-count"))
        plt.close(fig)
    assert counts[0] == counts[1] == counts[2] and len(counts[0]) == 9
    with pytest.raises(TypeError, match="takes a cohort"):
        rc.plot_state_diagram(pd.DataFrame({"a": [1]}))


def test_order_and_kind_by_position_still_work_with_a_future_warning(pt):
    with pytest.warns(FutureWarning, match="pass order=, kind= by keyword"):
        fig = _draw(rc.plot_state_probabilities(pt, ["PR"], "lines", risk_table=False))
    ax = fig.axes[0]
    assert len([ln for ln in ax.lines if ln.get_gid() == GID_LINE]) == 1
    assert not [c for c in ax.collections if c.get_gid() == GID_AREA]
    plt.close(fig)
