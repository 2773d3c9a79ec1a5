"""R-style formulas: R's coxph on formulas with an interaction and a spline
(tests/data/make_formula.R), and formula calls equal to the column-list calls on every
reference case a formula can express."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import rwe_cart as rc
from reference import load_data
from paths import TEST_DATA

FORMULA_R = json.loads((TEST_DATA / "formula.json").read_text())


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True)


@pytest.mark.parametrize("name", sorted(FORMULA_R["cases"]))
def test_cox_formula_matches_r(name):
    case = FORMULA_R["cases"][name]
    v = case["values"]
    fit = rc.cox(case["formula"], load_data(case["data"]), ties=case.get("ties", "efron"))
    s = fit.summary
    assert list(s["term"]) == v["term"]
    np.testing.assert_allclose(s["coef"], v["coef"], rtol=1e-6)
    np.testing.assert_allclose(s["se"], v["se"], rtol=1e-6)
    np.testing.assert_allclose(fit.loglik, v["loglik"], rtol=1e-9)
    if v["robust_se"]:
        np.testing.assert_allclose(s["robust_se"], v["robust_se"], rtol=1e-6)
    assert fit.formula == case["formula"]


@pytest.mark.parametrize("formula, columns", [
    ("Surv(start, stop, event) ~ age + year + surgery + transplant",
     dict(time="stop", start="start", event="event",
          covariates=["age", "year", "surgery", "transplant"])),
    ("Surv(start, stop, event) ~ age + year + surgery + transplant + cluster(id)",
     dict(time="stop", start="start", event="event",
          covariates=["age", "year", "surgery", "transplant"], cluster="id")),
])
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_formula_equals_columns_heart(formula, columns, ties):
    heart = load_data("heart")
    a, b = rc.cox(formula, heart, ties=ties), rc.cox(heart, ties=ties, **columns)
    _same(a.summary, b.summary)
    _same(a.tests, b.tests)
    assert a.loglik == b.loglik and a.concordance == b.concordance
    _same(a.ph_test(), b.ph_test())


def test_cox_formula_equals_columns_strata_entry_and_categories():
    lung = load_data("lung")
    _same(rc.cox("Surv(time, status) ~ age + strata(sex)", lung).summary,
          rc.cox(lung, time="time", event="status", covariates=["age"], strata="sex").summary)
    lt = load_data("left_trunc")
    _same(rc.cox("Surv(entry, exit, event) ~ x", lt).summary,
          rc.cox(lt, time="exit", start="entry", event="event", covariates=["x"]).summary)
    mgus2 = load_data("mgus2").assign(pcm=lambda d: (d["event"] == 1).astype(int))
    for written in ("age + sex", "age + C(sex)"):
        _same(rc.cox(f"Surv(etime, pcm) ~ {written}", mgus2).summary,
              rc.cox(mgus2, time="etime", event="pcm", covariates=["age", "sex"]).summary)


def test_formula_data_may_come_first_or_by_keyword():
    heart = load_data("heart")
    text = "Surv(start, stop, event) ~ age + transplant"
    a = rc.cox(text, heart)
    _same(a.summary, rc.cox(heart, text).summary)
    _same(a.summary, rc.cox(data=heart, formula=text).summary)


def test_bool_covariate_has_one_name_in_cox_and_fine_gray():
    mgus2 = load_data("mgus2").assign(male=lambda d: d["sex"] == "M")
    cox_terms = list(rc.cox("Surv(futime, death) ~ age + male", mgus2).summary["term"])
    for method in ("crr", "finegray"):
        fg = rc.fine_gray("Surv(etime, event) ~ age + male", mgus2, method=method)
        assert list(fg.summary["term"]) == cox_terms == ["age", "maleTRUE"]
    assert list(rc.cox(mgus2, time="futime", event="death",
                       covariates=["age", "male"]).summary["term"]) == cox_terms


@pytest.mark.parametrize("method", ["crr", "finegray"])
def test_fine_gray_formula_equals_columns(method):
    mgus2 = load_data("mgus2")
    a = rc.fine_gray("Surv(etime, event) ~ age + sex_m", mgus2, method=method)
    b = rc.fine_gray(mgus2, time="etime", cause="event", covariates=["age", "sex_m"],
                     method=method)
    _same(a.summary, b.summary)
    assert a.meta["formula"] == "Surv(etime, event) ~ age + sex_m"


def test_curve_formulas_equal_columns():
    lung, jasa, mgus2 = load_data("lung"), load_data("jasa"), load_data("mgus2")
    _same(rc.kaplan_meier("Surv(time, status) ~ sex", lung).table,
          rc.kaplan_meier(lung, "time", "status", by="sex").table)
    _same(rc.kaplan_meier("Surv(futime, fustat) ~ 1", jasa).table,
          rc.kaplan_meier(jasa, "futime", "fustat").table)
    lt = load_data("left_trunc")
    _same(rc.kaplan_meier("Surv(entry, exit, event) ~ 1", lt).table,
          rc.kaplan_meier(lt, "exit", "event", start="entry").table)
    a = rc.logrank("Surv(futime, death) ~ sex + strata(agecat)", mgus2)
    b = rc.logrank(mgus2, "futime", "death", "sex", strata="agecat")
    assert (a.statistic, a.df, a.p_value) == (b.statistic, b.df, b.p_value)
    _same(rc.cumulative_incidence("Surv(etime, event) ~ sex", mgus2).table,
          rc.cumulative_incidence(mgus2, "etime", "event", by="sex").table)


def test_km_by_two_columns_labels_groups_as_survfit():
    lung = load_data("lung").assign(old=lambda d: np.where(d["age"] > 65, "yes", "no"))
    km = rc.kaplan_meier("Surv(time, status) ~ sex + old", lung)
    assert set(km.table["group"]) == {"sex=1, old=no", "sex=1, old=yes", "sex=2, old=no",
                                      "sex=2, old=yes"}
    one = lung[(lung["sex"] == 2) & (lung["old"] == "yes")]
    expected = rc.kaplan_meier(one, "time", "status").table
    got = km.table[km.table["group"] == "sex=2, old=yes"]
    np.testing.assert_array_equal(got["survival"], expected["survival"])


def test_transformations_interactions_and_splines():
    mgus2 = load_data("mgus2_mspike_cc")
    # cr's basis sums to one; centring it keeps it apart from the Cox model's baseline
    spline = "cr(age, df=3, constraints='center')"
    fit = rc.cox(f"Surv(futime, death) ~ np.log(age) + C(sex):mspike + {spline}", mgus2)
    named = "cr(age, df = 3, constraints = 'center')"
    assert list(fit.summary["term"]) == ["np.log(age)", f"{named}1", f"{named}2", f"{named}3",
                                         "sexF:mspike", "sexM:mspike"]
    by_hand = mgus2.assign(log_age=np.log(mgus2["age"]))
    a = rc.cox("Surv(futime, death) ~ np.log(age) + sex", mgus2)
    b = rc.cox(by_hand, time="futime", event="death", covariates=["log_age", "sex"])
    np.testing.assert_array_equal(a.summary["coef"], b.summary["coef"])


def test_prediction_from_a_formula_fit_codes_the_profile_as_the_data():
    mgus2 = load_data("mgus2_mspike_cc")
    fit = rc.cox("Surv(futime, death) ~ sex * mspike + bs(age, df=4)", mgus2)
    profile = pd.DataFrame({"sex": ["F", "M"], "mspike": [0.5, 1.5], "age": [60.0, 80.0]})
    pred = fit.predict_survival(profile, [12, 60])
    basis = fit.meta["model_spec"].get_model_matrix(profile)
    lp = basis.drop(columns="Intercept").to_numpy() @ fit.summary["coef"].to_numpy()
    means = fit.means.to_numpy() @ fit.summary["coef"].to_numpy()
    base = fit.baseline_hazard()
    h60 = base.loc[base["time"] <= 60, "cumhaz"].iloc[-1]
    expected = np.exp(-h60 * np.exp(lp - means))
    np.testing.assert_allclose(pred.loc[pred["time"] == 60, "survival"], expected, rtol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda d: rc.cox("Surv(time, status) ~ age + nosuch", d), r"\['nosuch'\].*not in the data"),
    (lambda d: rc.cox("time ~ age", d), "must read 'Surv"),
    (lambda d: rc.cox("Surv(time) ~ age", d), r"takes \(time, event\)"),
    (lambda d: rc.cox("Surv(time, status) ~ age", d, covariates=["age"]),
     r"either a formula or the column arguments \['covariates'\]"),
    (lambda d: rc.cox(d, time="time"), "needs event=, covariates="),
    (lambda d: rc.kaplan_meier("Surv(time, status) ~ bs(age, df=3)", d), "groups by columns"),
    (lambda d: rc.kaplan_meier("Surv(time, status) ~ sex + cluster(age)", d), "no cluster"),
    (lambda d: rc.cumulative_incidence("Surv(age, time, status) ~ 1", d), "delayed entry"),
    (lambda d: rc.logrank("Surv(time, status) ~ 1", d), "names none"),
])
def test_formula_errors_are_named(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call(load_data("lung"))


def test_missing_value_in_a_formula_column_names_column_and_rows():
    lung = load_data("lung")
    lung.loc[[3, 8], "age"] = np.nan
    with pytest.raises(ValueError, match=r"column 'age' has 2 missing value\(s\) \(rows 3, 8\)"):
        rc.cox("Surv(time, status) ~ np.log(age) + sex", lung)


def test_statsmodels_and_broom_names_on_cox_and_fine_gray():
    heart = load_data("heart")
    fit = rc.cox("Surv(start, stop, event) ~ age + transplant + cluster(id)", heart)
    s = fit.summary.set_index("term")
    np.testing.assert_array_equal(fit.params, s["coef"])
    np.testing.assert_array_equal(fit.bse, s["robust_se"])
    np.testing.assert_array_equal(fit.pvalues, s["p"])
    np.testing.assert_allclose(np.exp(fit.conf_int()), s[["lower", "upper"]], rtol=1e-14)
    wide = fit.conf_int(0.10)
    np.testing.assert_allclose(wide[1] - wide[0], 2 * 1.6448536269514722 * s["robust_se"],
                               rtol=1e-12)
    t = fit.tidy(exponentiate=True)
    assert list(t.columns) == ["term", "estimate", "std.error", "robust.se", "statistic",
                               "p.value", "conf.low", "conf.high"]
    np.testing.assert_array_equal(t["estimate"], s["hr"])
    np.testing.assert_array_equal(t["std.error"], s["se"])
    mgus2 = load_data("mgus2")
    fg = rc.fine_gray("Surv(etime, event) ~ age + sex", mgus2)
    assert list(fg.tidy().columns) == ["term", "estimate", "std.error", "statistic",
                                       "p.value", "conf.low", "conf.high"]
    np.testing.assert_allclose(fg.tidy(conf_level=0.9)["conf.high"],
                               fg.params + 1.6448536269514722 * fg.bse, rtol=1e-12)


def test_profile_limits_exist_only_at_the_fits_level():
    lung = load_data("lung")
    fit = rc.cox("Surv(time, status) ~ age + sex", lung, firth=True, profile=["sex"])
    assert fit.tidy()["conf.low"].notna().all()
    with pytest.raises(ValueError, match=r"\['sex'\] are profile-likelihood limits"):
        fit.conf_int(0.1)
