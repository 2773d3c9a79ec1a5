"""Firth-penalised Cox (cox(firth=True)): R coxphf reference cases, the penalty's
gradient against finite differences on every core path, properties and errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from reference import as_array, load_data

from rwe_cart.survival import _cox_core as core
from rwe_cart.survival import _firth
from rwe_cart.survival._cox_design import r_means
from rwe_cart.survival.cox import NotEstimableError, cox
from paths import TEST_DATA

FIRTH = json.loads((TEST_DATA / "firth.json").read_text())
RTOL, ATOL = 1e-6, 1e-9


def case_data(case: dict) -> pd.DataFrame:
    name = case["data"]
    if name in FIRTH["data"]:
        return pd.DataFrame(FIRTH["data"][name])
    return load_data(name)


@pytest.mark.parametrize("key", sorted(FIRTH["cases"]))
def test_matches_coxphf(key):
    """tests/data/firth.json from tests/data/make_firth.R (coxphf 1.13.4, Breslow)."""
    case = FIRTH["cases"][key]
    opts = dict(case["options"])
    m = cox(case_data(case), ties="breslow", firth=True, **opts)
    s = m.summary
    assert list(s["term"]) == case["terms"]
    for ours, theirs in (("coef", "coef"), ("se", "se"), ("p", "p")):
        ref = as_array(case[theirs])
        known = np.isfinite(ref)  # coxphf leaves a p-value it cannot compute NA
        np.testing.assert_allclose(s[ours][known], ref[known], rtol=RTOL, atol=ATOL,
                                   err_msg=f"{key}: {ours}")
    assert np.isfinite(s["p"]).all()
    for ours in ("lower", "upper"):
        np.testing.assert_allclose(np.log(s[ours]), as_array(case[ours]), rtol=RTOL,
                                   atol=ATOL, err_msg=f"{key}: {ours}")
    np.testing.assert_allclose(m.loglik, as_array(case["loglik"]), rtol=RTOL, atol=ATOL)
    lr = m.tests.set_index("test").loc["penalised_likelihood_ratio", "statistic"]
    np.testing.assert_allclose(lr, case["lr_statistic"], rtol=RTOL, atol=ATOL)
    assert m.meta["profiled"] == (() if opts.get("profile") is False else tuple(case["terms"]))


def test_monotone_likelihood_is_finite_with_firth_only():
    case = FIRTH["cases"]["monotone"]
    data = case_data(case)
    assert data.loc[data["x"] == 1, "event"].sum() == 0
    assert case["coxph_x_coef"] < -15  # R's ordinary fit ran off too
    with pytest.raises(NotEstimableError, match="'x'.*Firth"):
        cox(data, time="time", event="event", covariates=["x", "age"], ties="breslow")
    m = cox(data, time="time", event="event", covariates=["x", "age"], firth=True)
    row = m.summary.set_index("term").loc["x"]
    assert np.isfinite(row["coef"]) and -6 < row["coef"] < -2
    assert 0 < row["lower"] < row["hr"] < row["upper"] < 1


def _arrays(data, cols, *, time, event, start=None, ties="efron", strata=None):
    X = data[cols].to_numpy(float)
    g = None if strata is None else pd.factorize(data[strata])[0]
    return core.prepare(X, data[time].to_numpy(float), data[event].to_numpy(bool),
                        start=None if start is None else data[start].to_numpy(float),
                        strata=g, ties=ties, center=r_means(X, None, start is not None))


def _half_logdet(A, beta):
    return 0.5 * np.linalg.slogdet(core.evaluate(A, beta).imat)[1]


HEART_COV = ["age", "year", "surgery", "transplant"]


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("layout", ["right", "counting", "strata"])
def test_penalty_gradient_is_the_derivative_of_half_logdet(ties, layout):
    """The analytic 1/2 tr(I^-1 dI/db) against central differences of 1/2 log det I,
    on each path of the core: right-censored, (start, stop], strata; Efron ties."""
    heart = load_data("heart").assign(grp=lambda d: d["id"] % 3)
    if layout == "right":
        data = load_data("lung").assign(t=lambda d: (d["time"] // 30).astype(float))
        A = _arrays(data, ["age", "sex"], time="t", event="status", ties=ties)
        beta = np.array([0.02, -0.4])
    else:
        A = _arrays(heart, HEART_COV, time="stop", event="event", start="start", ties=ties,
                    strata="grp" if layout == "strata" else None)
        beta = np.array([0.03, -0.1, -0.5, 0.1])
    assert A.efron_ties == (ties == "efron")  # the data have tied event times
    st = core.evaluate(A, beta)
    grad = _firth._penalty_gradient(A, st, np.linalg.inv(st.imat))
    h = 1e-5
    num = np.array([(_half_logdet(A, beta + h * e) - _half_logdet(A, beta - h * e)) / (2 * h)
                    for e in np.eye(A.p)])
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9)


def test_efron_estimate_maximises_the_penalised_likelihood():
    """No reference program has Firth with Efron ties: check that the estimate is where
    the gradient of l + 1/2 log det I (both R-validated pieces) vanishes."""
    heart = load_data("heart")
    m = cox(heart, time="stop", start="start", event="event", covariates=HEART_COV,
            firth=True, profile=False)
    A = _arrays(heart, HEART_COV, time="stop", event="event", start="start")
    b = m.coef.to_numpy()

    def pl(beta):
        st = core.evaluate(A, beta)
        return st.loglik + 0.5 * np.linalg.slogdet(st.imat)[1]

    h = 1e-6
    grad = [(pl(b + h * e) - pl(b - h * e)) / (2 * h) for e in np.eye(4)]
    np.testing.assert_allclose(grad, 0.0, atol=1e-5)
    np.testing.assert_allclose(pl(b), m.loglik.fitted, rtol=1e-12)
    breslow = cox(heart, time="stop", start="start", event="event", covariates=HEART_COV,
                  ties="breslow", firth=True, profile=False)
    assert not np.allclose(breslow.coef, m.coef, rtol=1e-4)


def test_equivariant_under_shift_and_scale():
    lung = load_data("lung")
    m = cox(lung, time="time", event="status", covariates=["age", "sex"], firth=True)
    moved = lung.assign(age=(lung["age"] - 60) / 10)
    m2 = cox(moved, time="time", event="status", covariates=["age", "sex"], firth=True)
    np.testing.assert_allclose(m2.coef.to_numpy(), m.coef.to_numpy() * [10, 1], rtol=1e-9)
    np.testing.assert_allclose(m2.summary["p"], m.summary["p"], rtol=1e-7)
    np.testing.assert_allclose(np.log(m2.summary["lower"]),
                               np.log(m.summary["lower"]) * [10, 1], rtol=1e-7)
    np.testing.assert_allclose(m2.tests["statistic"], m.tests["statistic"], rtol=1e-9)


def test_profile_subset_and_wald():
    lung = load_data("lung")
    full = cox(lung, time="time", event="status", covariates=["age", "sex"], firth=True)
    part = cox(lung, time="time", event="status", covariates=["age", "sex"], firth=True,
               profile="sex")
    assert part.meta["profiled"] == ("sex",)
    pd.testing.assert_series_equal(part.summary.iloc[1], full.summary.iloc[1])
    wald = cox(lung, time="time", event="status", covariates=["age", "sex"], firth=True,
               profile=False)
    pd.testing.assert_series_equal(part.summary.iloc[0], wald.summary.iloc[0])
    assert "Firth" in repr(part) and "for sex" in repr(part)


def test_option_errors():
    lung = load_data("lung").assign(w=1.5, id=lambda d: np.arange(len(d)))
    kw = dict(time="time", event="status", covariates=["age", "sex"])
    with pytest.raises(ValueError, match="firth=True does not take weights"):
        cox(lung, **kw, firth=True, weights="w")
    with pytest.raises(ValueError, match="does not take cluster, robust"):
        cox(lung, **kw, firth=True, cluster="id", robust=True)
    with pytest.raises(ValueError, match="profile= applies to Firth fits only"):
        cox(lung, **kw, profile=True)
    with pytest.raises(ValueError, match=r"profile= names \['agee'\]"):
        cox(lung, **kw, firth=True, profile=["agee"])
    with pytest.raises(TypeError, match="profile must be True, False, None or term names"):
        cox(lung, **kw, firth=True, profile=5)
    with pytest.raises(TypeError, match="firth must be True or False"):
        cox(lung, **kw, firth="yes")
    m = cox(lung, **kw, firth=True, profile=False)
    with pytest.raises(ValueError, match="ph_test is not available"):
        m.ph_test()
    # a covariate constant within every stratum: named, as in the ordinary fit
    strat = lung.assign(s=lung["id"] % 2, c=lung["id"] % 2)
    with pytest.raises(NotEstimableError, match="singular: covariates 'c' are"):
        cox(strat, time="time", event="status", covariates=["age", "c"], strata="s",
            firth=True)
