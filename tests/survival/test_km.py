"""Kaplan–Meier: R survfit reference cases, hand-worked cases, input errors, properties."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import as_array, load_case, load_data

from rwe_cart.survival import _km_counts
from rwe_cart.survival import km as km_module
from rwe_cart.survival.km import KaplanMeier, kaplan_meier, median_followup

RTOL, ATOL = 1e-9, 1e-12  # the JSON holds 15 significant digits

# R name → our table column. JSON std_err is survfit's SE of −log S; ours is on the
# survival scale (R's summary std.err), exported there as std_err_surv.
TABLE_MAP = {
    "time": "time", "n_risk": "n_risk", "n_event": "n_event", "n_censor": "n_censor",
    "surv": "survival", "std_err_surv": "std_err", "lower": "lower", "upper": "upper",
    "cumhaz": "cumhaz", "std_chaz": "std_chaz",
}
AT_MAP = {
    "time": "time", "n_risk": "n_risk", "n_event": "n_event", "n_censor": "n_censor",
    "surv": "survival", "std_err_surv": "std_err", "lower": "lower", "upper": "upper",
}


def assert_close(actual, expected, what=""):
    """Equal within RTOL/ATOL, NaN (R's NA/null) only where R has it."""
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64), as_array(expected),
        rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=what,
    )


def assert_frame_matches(frame: pd.DataFrame, expected: dict, mapping: dict, what=""):
    for r_name, ours in mapping.items():
        if r_name in expected:
            assert_close(frame[ours], expected[r_name], f"{what}: {ours}")


def assert_log_se_matches(frame: pd.DataFrame, expected: dict, what=""):
    """Our std_err / survival is R's std.err (SE of −log S) where S > 0."""
    s = frame["survival"].to_numpy()
    ok = s > 0
    assert_close((frame["std_err"].to_numpy() / np.where(ok, s, 1.0))[ok],
                 as_array(expected["std_err"])[ok], f"{what}: log-scale std_err")


@pytest.fixture(params=["bins", "sort"])
def path(request, monkeypatch):
    """Run a test through the counting (bincount) path and through the sort path."""
    if request.param == "sort":
        monkeypatch.setattr(_km_counts, "_BIN_MAX_TIME", -1)
    else:
        monkeypatch.setattr(_km_counts, "_BIN_SLACK", 10**9)
    return request.param


def strata(by: str, km: KaplanMeier) -> list[str]:
    return [f"{by}={g}" for g in km.groups]


# ---------------------------------------------------------------------------------------
# R reference cases
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["log", "log_log", "plain"])
def test_heart_jasa_matches_r(key, path):
    v = load_case("heart_km_jasa")["values"][key]
    km = kaplan_meier(load_data("jasa"), "futime", "fustat", conf_type=v["conf_type"])
    assert km.conf_type == v["conf_type"]
    assert (km.table["group"] == "all").all()
    assert_frame_matches(km.table, v["table"], TABLE_MAP, f"jasa {key} table")
    assert_log_se_matches(km.table, v["table"], f"jasa {key}")
    med = km.median()
    assert list(med.columns) == ["group", "median", "lower", "upper"]
    for c in ("median", "lower", "upper"):
        assert_close(med[c], v["median"][c], f"jasa {key} median {c}")
    at = km.at(v["at_times"]["time"])
    assert_frame_matches(at, v["at_times"], AT_MAP, f"jasa {key} at")


def test_lung_by_sex_matches_r(path):
    v = load_case("lung_km_sex")["values"]
    km = kaplan_meier(load_data("lung"), "time", "status", by="sex")
    names = strata("sex", km)
    assert names == list(v["curves"])
    assert km.by == "sex"
    for label, name in zip(km.groups, names):
        part = km.table[km.table["group"] == label]
        assert_frame_matches(part, v["curves"][name], TABLE_MAP, f"lung {name}")
        assert_log_se_matches(part, v["curves"][name], f"lung {name}")
        at = km.at(v["at_times"][name]["time"])
        assert_frame_matches(at[at["group"] == label], v["at_times"][name], AT_MAP,
                             f"lung at {name}")
    med = km.median()
    assert strata("sex", km) == v["median"]["strata"]
    for c in ("median", "lower", "upper"):
        assert_close(med[c], v["median"][c], f"lung median {c}")


@pytest.mark.parametrize("name", ["never", "flat"])
def test_edge_median_matches_r(name, path):
    v = load_case("edge_median")["values"][name]
    km = kaplan_meier(load_data(f"median_{name}"), "time", "status")
    assert_frame_matches(km.table, v["km"], TABLE_MAP, f"median_{name} table")
    med = km.median()
    for c in ("median", "lower", "upper"):
        assert_close(med[c], v["median"][c], f"median_{name} {c}")
    q = km.quantile(v["quantiles"]["prob"])
    assert list(q.columns) == ["group", "prob", "quantile", "lower", "upper"]
    for c in ("prob", "quantile", "lower", "upper"):
        assert_close(q[c], v["quantiles"][c], f"median_{name} quantiles {c}")


@pytest.mark.parametrize("key,conf_type", [("km_log", "log"), ("km_log_log", "log-log")])
def test_edge_zero_events_matches_r(key, conf_type, path):
    v = load_case("edge_zero_events")["values"]
    km = kaplan_meier(load_data("zero_events"), "time", "status", by="group",
                      conf_type=conf_type)
    assert strata("group", km) == list(v[key])
    for label in km.groups:
        part = km.table[km.table["group"] == label]
        assert_frame_matches(part, v[key][f"group={label}"], TABLE_MAP, f"{key} {label}")
    med = km.median()
    assert strata("group", km) == v["median"]["strata"]
    if conf_type == "log":  # the R medians were computed on the default (log) fit
        for c in ("median", "lower", "upper"):
            assert_close(med[c], v["median"][c], f"zero events median {c}")


def test_edge_ties_matches_r(path):
    v = load_case("edge_ties")["values"]["km"]
    km = kaplan_meier(load_data("ties"), "time", "status")
    assert_frame_matches(km.table, v, TABLE_MAP, "ties")
    assert_log_se_matches(km.table, v, "ties")


def test_edge_left_truncation_matches_r(path):
    v = load_case("edge_left_truncation")["values"]
    km = kaplan_meier(load_data("left_trunc"), "exit", "event", start="entry")
    assert_frame_matches(km.table, v["km"], TABLE_MAP, "left truncation")
    assert_log_se_matches(km.table, v["km"], "left truncation")
    med = km.median()
    for c in ("median", "lower", "upper"):
        assert_close(med[c], v["median"][c], f"left truncation median {c}")


def test_simon_makuch_counting_process_matches_r(path):
    v = load_case("heart_simon_makuch")["values"]
    km = kaplan_meier(load_data("heart"), "stop", "event", by="transplant", start="start")
    assert strata("transplant", km) == list(v["curves"])
    for label in km.groups:
        part = km.table[km.table["group"] == label]
        expected = v["curves"][f"transplant={label}"]
        assert_frame_matches(part, expected, TABLE_MAP, f"simon-makuch {label}")


def test_reverse_km_median_followup_matches_r(path):
    v = load_case("mgus2_reverse_km")["values"]
    out = median_followup(load_data("mgus2"), "futime", "death")
    assert list(out.columns) == ["median", "lower", "upper"]
    for c in ("median", "lower", "upper"):
        assert_close(out[c], v[c], f"reverse KM {c}")


def test_median_followup_by_group():
    df = load_data("mgus2")
    out = median_followup(df, "futime", "death", by="sex")
    assert list(out.columns) == ["group", "median", "lower", "upper"]
    assert out["group"].tolist() == ["F", "M"]
    alone = median_followup(df[df["sex"] == "M"].reset_index(drop=True), "futime", "death")
    np.testing.assert_allclose(out.iloc[1, 1:].to_numpy(float), alone.iloc[0].to_numpy(float))


# ---------------------------------------------------------------------------------------
# logit and arcsin (no R case exported): independent delta-method formulas
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_logit_and_arcsin_limits(alpha):
    df = load_data("jasa")
    z = math.sqrt(2) * _erfinv(1 - alpha)
    for conf_type in ("logit", "arcsin"):
        t = kaplan_meier(df, "futime", "fustat", conf_type=conf_type, alpha=alpha).table
        s, se_s = t["survival"].to_numpy(), t["std_err"].to_numpy()
        inner = (s > 0) & (s < 1)
        s, se_s = s[inner], se_s[inner]
        if conf_type == "logit":
            # logit S ± z · SE(S) / (S(1 − S))
            w = z * se_s / (s * (1 - s))
            lo = 1 / (1 + np.exp(-(np.log(s / (1 - s)) - w)))
            hi = 1 / (1 + np.exp(-(np.log(s / (1 - s)) + w)))
        else:
            # asin(sqrt S) ± z · SE(S) / (2 sqrt(S(1 − S))), kept within [0, pi/2]
            w = z * se_s / (2 * np.sqrt(s * (1 - s)))
            a = np.arcsin(np.sqrt(s))
            lo = np.sin(np.clip(a - w, 0, np.pi / 2)) ** 2
            hi = np.sin(np.clip(a + w, 0, np.pi / 2)) ** 2
        np.testing.assert_allclose(t["lower"].to_numpy()[inner], lo, rtol=1e-12)
        np.testing.assert_allclose(t["upper"].to_numpy()[inner], hi, rtol=1e-12)
        # S = 1 (before the first death): NA in R for logit/arcsin
        assert t.loc[t["survival"] == 1, ["lower", "upper"]].isna().all().all()


def _erfinv(y: float) -> float:
    from scipy.special import erfinv
    return float(erfinv(y))


# ---------------------------------------------------------------------------------------
# Hand-worked cases
# ---------------------------------------------------------------------------------------
def test_hand_ties_and_everyone_dies_at_the_end(path):
    # t: 1 1 2 2 2 3; events at 1 (x1), 2 (x2), 3 (x1); censored at 1 and 2
    df = pd.DataFrame({"t": [1, 1, 2, 2, 2, 3], "e": [1, 0, 1, 1, 0, 1]})
    t = kaplan_meier(df, "t", "e").table
    assert t["time"].tolist() == [1, 2, 3]
    assert t["n_risk"].tolist() == [6, 4, 1]       # censored at t stay at risk at t
    assert t["n_event"].tolist() == [1, 2, 1]
    assert t["n_censor"].tolist() == [1, 1, 0]
    np.testing.assert_allclose(t["survival"], [5 / 6, 5 / 12, 0.0])
    var_log = np.array([1 / 30, 1 / 30 + 2 / 8])
    np.testing.assert_allclose(t["std_err"][:2], [5 / 6, 5 / 12] * np.sqrt(var_log))
    np.testing.assert_allclose(t["cumhaz"], [1 / 6, 1 / 6 + 2 / 4, 1 / 6 + 2 / 4 + 1])
    np.testing.assert_allclose(t["std_chaz"], np.sqrt([1 / 36, 1 / 36 + 2 / 16,
                                                       1 / 36 + 2 / 16 + 1]))
    z = 1.959963984540054
    np.testing.assert_allclose(t["lower"][:2], [5 / 6, 5 / 12] * np.exp(-z * np.sqrt(var_log)))
    # S = 0: Greenwood variance is infinite, SE and limits undefined (NA in R)
    assert np.isnan(t["std_err"].iloc[2])
    assert np.isnan(t["lower"].iloc[2]) and np.isnan(t["upper"].iloc[2])
    med = km_median(df)
    assert med == 2.0


def km_median(df, **kw):
    return float(kaplan_meier(df, "t", "e", **kw).median()["median"].iloc[0])


@pytest.mark.parametrize("conf_type", km_module.CONF_TYPES)
def test_hand_all_censored(conf_type, path):
    df = pd.DataFrame({"t": [3.0, 1.0, 2.0, 2.0], "e": [0, 0, 0, 0]})
    km = kaplan_meier(df, "t", "e", conf_type=conf_type)
    t = km.table
    assert t["time"].tolist() == [1, 2, 3]
    assert t["n_risk"].tolist() == [4, 3, 1]
    assert (t["survival"] == 1).all() and (t["std_err"] == 0).all()
    assert (t["cumhaz"] == 0).all()
    if conf_type in ("log", "plain"):
        assert (t["lower"] == 1).all() and (t["upper"] == 1).all()
    else:  # log(-log 1), logit(1), asin: NA in R
        assert t[["lower", "upper"]].isna().all().all()
    assert km.median()[["median", "lower", "upper"]].isna().all().all()


def test_hand_event_at_day_zero(path):
    df = pd.DataFrame({"t": [0, 0, 2, 5, 5], "e": [1, 0, 1, 0, 1]})
    km = kaplan_meier(df, "t", "e")
    t = km.table
    assert t["time"].tolist() == [0, 2, 5]
    assert t["n_risk"].tolist() == [5, 3, 2]
    np.testing.assert_allclose(t["survival"], [4 / 5, 4 / 5 * 2 / 3, 4 / 5 * 2 / 3 * 1 / 2])
    at = km.at([0, 1, 5, 6])     # 6 is after the last time: dropped (extend=FALSE)
    assert at["time"].tolist() == [0, 1, 5]
    np.testing.assert_allclose(at["survival"], [0.8, 0.8, 4 / 15])
    assert at["n_risk"].tolist() == [5, 3, 2]
    assert at["n_event"].tolist() == [1, 0, 2]
    assert at["n_censor"].tolist() == [1, 0, 1]
    ar = km.at_risk([0, 1, 5, 6])
    assert ar["n_risk"].tolist() == [5, 3, 2, 0]
    assert ar["n_event"].tolist() == [1, 1, 3, 3]     # cumulative, up to and including t
    assert ar["n_censor"].tolist() == [1, 1, 2, 2]


def test_hand_last_time_censored_median_on_final_flat(path):
    # S: 0.75 at 1, 0.5 at 2, flat to the last (censored) time 4: R gives (2 + 4)/2
    df = pd.DataFrame({"t": [1, 2, 3, 4], "e": [1, 1, 0, 0]})
    km = kaplan_meier(df, "t", "e")
    assert km.table["survival"].tolist() == [0.75, 0.5, 0.5, 0.5]
    assert km_median(df) == 3.0
    q = km.quantile([0, 0.25, 0.5, 0.9])
    assert q["quantile"].tolist()[:3] == [0.0, 1.5, 3.0]
    assert np.isnan(q["quantile"].iloc[3])


def test_hand_before_first_time_and_at_risk_order():
    df = pd.DataFrame({"t": [2, 4, 4, 7], "e": [1, 0, 1, 1]})
    km = kaplan_meier(df, "t", "e")
    at = km.at([1, 3])
    assert at["survival"].tolist() == [1.0, 0.75]
    assert at["std_err"].tolist()[0] == 0 and at["lower"].tolist()[0] == 1
    assert at["n_risk"].tolist() == [4, 3]
    ar = km.at_risk([7, 0, 100])               # order kept, nothing dropped
    assert ar["time"].tolist() == [7, 0, 100]
    assert ar["n_risk"].tolist() == [1, 4, 0]
    assert ar["n_event"].tolist() == [3, 0, 3]


def test_left_truncation_entry_at_event_time_not_at_risk(path):
    # subject 3 enters at 2: not at risk for the death at 2
    df = pd.DataFrame({"entry": [0, 0, 2, 1], "t": [2, 5, 6, 3], "e": [1, 1, 1, 0]})
    t = kaplan_meier(df, "t", "e", start="entry").table
    assert t["time"].tolist() == [2, 3, 5, 6]
    assert t["n_risk"].tolist() == [3, 3, 2, 1]
    np.testing.assert_allclose(t["survival"], [2 / 3, 2 / 3, 1 / 3, 0])


def test_fractional_and_negative_entries(path):
    df = pd.DataFrame({"entry": [-2.0, 0.5, 1.5, -1.0], "t": [1.0, 2.0, 3.0, 2.0],
                       "e": [1, 1, 0, 1]})
    t = kaplan_meier(df, "t", "e", start="entry").table
    assert t["n_risk"].tolist() == [3, 3, 1]


def test_grouping_order_dtype_and_categorical():
    df = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "e": [1, 1, 0, 1, 0, 1],
                       "arm": ["b", "a", "b", "a", "b", "a"]})
    km = kaplan_meier(df, "t", "e", by="arm")
    assert km.groups == ("a", "b")
    assert km.table["group"].tolist() == ["a", "a", "a", "b", "b", "b"]
    cat = df.assign(arm=pd.Categorical(df["arm"], categories=["z", "b", "a"]))
    kmc = kaplan_meier(cat, "t", "e", by="arm")
    assert kmc.groups == ("b", "a")          # category order, unused level dropped
    assert isinstance(kmc.table["group"].dtype, pd.CategoricalDtype)
    assert kmc.median()["group"].tolist() == ["b", "a"]
    num = kaplan_meier(df.assign(arm=df["arm"].map({"a": 10, "b": 2})), "t", "e", by="arm")
    assert num.groups == (2, 10)
    assert num.table["group"].dtype == np.int64
    assert num.at([3])["group"].dtype == np.int64


def test_timefix_merges_near_ties_as_r():
    base = pd.DataFrame({"t": [1.0, 2.0, 3.0, 0.1 + 0.2, 0.3], "e": [1, 1, 0, 1, 0]})
    t = kaplan_meier(base, "t", "e").table
    assert t["time"].tolist()[0] == 0.3   # the smaller of 0.3 and 0.1 + 0.2, as aeqSurv
    assert t["n_event"].tolist()[0] == 1 and t["n_censor"].tolist()[0] == 1
    t2 = kaplan_meier(base, "t", "e", timefix=False).table
    assert len(t2) == len(t) + 1


def test_meta_repr_and_html():
    df = pd.DataFrame({"t": [1, 2, 3, 4], "e": [1, 1, 0, 1], "g": [1, 1, 2, 2]})
    df.attrs["definition"] = "PFS: progression or death"
    km = kaplan_meier(df, "t", "e", by="g")
    assert km.meta["definition"] == "PFS: progression or death"
    text = repr(km)
    assert "PFS" in text and "median" in text and "events" in text
    assert "<table" in km._repr_html_()
    s = km.summary
    assert s["n"].tolist() == [2, 2] and s["events"].tolist() == [2, 1]


def test_summary_call_form_is_retired_with_a_future_warning():
    df = pd.DataFrame({"t": [1, 2, 3, 4, 6], "e": [1, 1, 0, 1, 0], "g": [1, 1, 2, 2, 2]})
    km = kaplan_meier(df, "t", "e", by="g")
    table = km.summary
    with pytest.warns(FutureWarning, match=r"KaplanMeier\.summary.*without parentheses"):
        called = km.summary()
    assert type(called) is pd.DataFrame
    pd.testing.assert_frame_equal(called, pd.DataFrame(table))
    assert called["median"].tolist() == [1.5, 5.0]   # plateaus at 0.5: midpoints (R)
    # what is derived from the attribute is a plain DataFrame, not callable
    assert type(table.copy()) is pd.DataFrame and type(table[["n"]]) is pd.DataFrame


def test_integer_float_bool_and_nullable_inputs_agree():
    rng = np.random.default_rng(3)
    t = rng.integers(0, 30, 200)
    e = rng.integers(0, 2, 200)
    ref = kaplan_meier(pd.DataFrame({"t": t, "e": e}), "t", "e").table
    for tt, ee in [(t.astype(float), e.astype(float)), (t, e.astype(bool)),
                   (pd.array(t, dtype="Int64"), pd.array(e, dtype="Int64"))]:
        got = kaplan_meier(pd.DataFrame({"t": tt, "e": ee}), "t", "e").table
        pd.testing.assert_frame_equal(got, ref)


# ---------------------------------------------------------------------------------------
# Input errors: name the column, the rows and the rule
# ---------------------------------------------------------------------------------------
def test_error_negative_times_names_rows():
    df = pd.DataFrame({"time": [5.0, -1.0, 3.0, -2.0], "event": [1, 0, 1, 1]},
                      index=[10, 14, 20, 31])
    with pytest.raises(ValueError, match=r"column 'time' has 2 negative values "
                                         r"\(rows 14, 31\); times must be >= 0"):
        kaplan_meier(df, "time", "event")


def test_error_missing_and_infinite_times():
    df = pd.DataFrame({"time": [5.0, np.nan, 3.0], "event": [1, 0, 1]}, index=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"column 'time' has 1 missing value \(row b\)"):
        kaplan_meier(df, "time", "event")
    df.loc["b", "time"] = np.inf
    with pytest.raises(ValueError, match=r"column 'time' has 1 infinite value \(row b\)"):
        kaplan_meier(df, "time", "event")


def test_error_many_rows_are_elided():
    df = pd.DataFrame({"time": -np.arange(1.0, 9.0), "event": 1})
    with pytest.raises(ValueError, match=r"8 negative values \(rows 0, 1, 2, 3, 4, …\)"):
        kaplan_meier(df, "time", "event")


@pytest.mark.parametrize("values,msg", [
    ([1, 2, 0], r"column 'status' has 1 value other than 0/1 \(row 1: 2\)"),
    ([1.0, 0.5, 0.0], r"column 'status' has 1 value other than 0/1 \(row 1: 0.5\)"),
    ([1.0, np.nan, 0.0], r"column 'status' has 1 missing value \(row 1\)"),
    (["1", "0", "1"], r"column 'status' must be a 0/1 \(or bool\) event indicator"),
])
def test_error_bad_event_values(values, msg):
    df = pd.DataFrame({"time": [1.0, 2.0, 3.0], "status": values})
    with pytest.raises(ValueError, match=msg):
        kaplan_meier(df, "time", "status")


def test_error_missing_column_and_not_a_frame():
    df = pd.DataFrame({"time": [1.0], "event": [1]})
    with pytest.raises(ValueError, match=r"column 'status' \(argument event\) not found"):
        kaplan_meier(df, "time", "status")
    with pytest.raises(ValueError, match=r"column 'arm' \(argument by\) not found"):
        kaplan_meier(df, "time", "event", by="arm")
    with pytest.raises(TypeError, match="DataFrame"):
        kaplan_meier({"time": [1.0], "event": [1]}, "time", "event")
    with pytest.raises(ValueError, match="no rows"):
        kaplan_meier(df.iloc[:0], "time", "event")


def test_error_non_numeric_time():
    df = pd.DataFrame({"time": ["1", "2"], "event": [1, 0]})
    with pytest.raises(ValueError, match=r"column 'time' must hold numeric times"):
        kaplan_meier(df, "time", "event")


def test_error_entry_not_before_time():
    df = pd.DataFrame({"entry": [0, 5, 2], "t": [3, 5, 1], "e": [1, 1, 0]}, index=[7, 8, 9])
    with pytest.raises(ValueError, match=r"column 'entry' is not before column 't' in "
                                         r"2 rows \(rows 8, 9\)"):
        kaplan_meier(df, "t", "e", start="entry")


def test_error_missing_group_and_bad_options():
    df = pd.DataFrame({"t": [1.0, 2.0], "e": [1, 0], "g": ["a", None]})
    with pytest.raises(ValueError, match=r"column 'g' has 1 missing value \(row 1\)"):
        kaplan_meier(df, "t", "e", by="g")
    with pytest.raises(ValueError, match="conf_type must be one of"):
        kaplan_meier(df, "t", "e", conf_type="loglog")
    with pytest.raises(ValueError, match="alpha"):
        kaplan_meier(df, "t", "e", alpha=1.5)
    km = kaplan_meier(df, "t", "e")
    with pytest.raises(ValueError, match="probs"):
        km.quantile([0.5, 1.2])
    with pytest.raises(ValueError, match="NaN"):
        km.at([np.nan])


# ---------------------------------------------------------------------------------------
# Properties (hypothesis)
# ---------------------------------------------------------------------------------------
@st.composite
def survival_frames(draw, entry=False, groups=False):
    n = draw(st.integers(1, 30))
    whole = draw(st.booleans())
    if whole:
        t = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
    else:
        t = draw(st.lists(st.sampled_from([0.0, 0.25, 1.5, 2.0, 3.75, 10.0, 1e3]),
                          min_size=n, max_size=n))
    e = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    df = pd.DataFrame({"time": np.asarray(t, dtype=float if not whole else np.int64),
                       "event": e})
    if groups:
        df["g"] = draw(st.lists(st.sampled_from(["x", "y", "z"]), min_size=n, max_size=n))
    if entry:
        frac = np.asarray(draw(st.lists(st.floats(0, 1, exclude_max=True),
                                        min_size=n, max_size=n)))
        tt = df["time"].to_numpy(float)
        # whole: entries on the integer grid (often equal to someone's stop time), -1 too
        df["entry"] = np.floor(tt * frac) - 1 if whole else tt * frac - 0.5
    return df


def naive_km(df, entry=None):
    """O(n²) product-limit straight from the definition."""
    t = df["time"].to_numpy(float)
    e = df["event"].to_numpy()
    en = df[entry].to_numpy(float) if entry else np.full(t.size, -np.inf)
    times = np.unique(t)
    risk = np.array([np.sum((en < u) & (t >= u)) for u in times])
    dead = np.array([np.sum((t == u) & (e == 1)) for u in times])
    return times, risk, dead, np.cumprod(1 - dead / risk)


@settings(max_examples=150, deadline=None)
@given(survival_frames(groups=True))
def test_km_invariants(df):
    km = kaplan_meier(df, "time", "event", by="g")
    for label, part in km.table.groupby("group", sort=False):
        sub = df[df["g"] == label]
        s = part["survival"].to_numpy()
        assert (np.diff(s) <= 0).all()
        assert ((s >= 0) & (s <= 1)).all()
        lo, hi = part["lower"].to_numpy(), part["upper"].to_numpy()
        ok = ~np.isnan(lo)
        assert (lo[ok] <= s[ok] + 1e-15).all() and (s[ok] <= hi[ok] + 1e-15).all()
        r = part["n_risk"].to_numpy()
        assert r[0] == len(sub)
        nxt = r - part["n_event"].to_numpy() - part["n_censor"].to_numpy()
        assert (r[1:] == nxt[:-1]).all() and nxt[-1] == 0
        times, risk, dead, surv = naive_km(sub)
        np.testing.assert_array_equal(part["time"], times)
        np.testing.assert_array_equal(r, risk)
        np.testing.assert_array_equal(part["n_event"], dead)
        np.testing.assert_allclose(s, surv, rtol=1e-12, atol=1e-15)


@settings(max_examples=100, deadline=None)
@given(survival_frames(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(df, rnd):
    perm = list(range(len(df)))
    rnd.shuffle(perm)
    a = kaplan_meier(df, "time", "event").table
    b = kaplan_meier(df.iloc[perm], "time", "event").table
    pd.testing.assert_frame_equal(a, b)


@settings(max_examples=100, deadline=None)
@given(survival_frames(entry=True, groups=True))
def test_counting_and_sort_paths_agree(df):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_km_counts, "_BIN_MAX_TIME", -1)
        a = kaplan_meier(df, "time", "event", by="g", start="entry").table
    b = kaplan_meier(df, "time", "event", by="g", start="entry").table
    pd.testing.assert_frame_equal(a, b)
    # the definition, without R's merging of near-equal entry and stop times
    exact = kaplan_meier(df, "time", "event", by="g", start="entry", timefix=False).table
    for label, part in exact.groupby("group", sort=False):
        times, risk, dead, surv = naive_km(df[df["g"] == label], entry="entry")
        np.testing.assert_array_equal(part["n_risk"], risk)
        np.testing.assert_allclose(part["survival"], surv, rtol=1e-12, atol=1e-15)


@settings(max_examples=100, deadline=None)
@given(survival_frames())
def test_at_risk_bookkeeping(df):
    km = kaplan_meier(df, "time", "event")
    grid = np.arange(-0.5, 14.0, 1.0) if df["time"].dtype.kind == "i" else \
        np.array([0.1, 1.0, 3.0, 5.0, 100.0, 2000.0])
    ar = km.at_risk(grid)
    # between observed times: at risk + events so far + censored so far = n
    np.testing.assert_array_equal(ar["n_risk"] + ar["n_event"] + ar["n_censor"], len(df))
    med = km.median().iloc[0]
    if not np.isnan(med["median"]):
        s_at = km.at([med["median"]])["survival"].iloc[0]
        assert s_at <= 0.5 + 1e-8
    else:
        assert km.table["survival"].min() > 0.5 - 1e-8


def test_timefix_relative_rule_and_across_groups():
    # relative rule: 1e9 and 1e9 + 1 differ by 1e-9 of the mean distinct time → one time
    big = pd.DataFrame({"t": [1e9, 1e9 + 1, 2e9], "e": [1, 0, 1]})
    assert kaplan_meier(big, "t", "e").table["time"].tolist() == [1e9, 2e9]
    # near-ties are merged over all groups, as R applies aeqSurv before splitting
    df = pd.DataFrame({"t": [0.3, 1.0, 0.1 + 0.2, 2.0], "e": [1, 1, 0, 1],
                       "g": ["a", "a", "b", "b"]})
    t = kaplan_meier(df, "t", "e", by="g").table
    assert t["time"].tolist() == [0.3, 1.0, 0.3, 2.0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.3, 0.1 + 0.2, 1.0, 1.0 + 1e-12, 2.5, 7.0,
                                           7.0 - 1e-13, 1e3]),
                          st.integers(0, 1)), min_size=1, max_size=25))
def test_fused_and_generic_timefix_agree(rows):
    df = pd.DataFrame(rows, columns=["t", "e"]).assign(g="x")
    fused = kaplan_meier(df, "t", "e").table.drop(columns="group")
    generic = kaplan_meier(df, "t", "e", by="g").table.drop(columns="group")
    pd.testing.assert_frame_equal(fused, generic)
    fixed = df.assign(t=df["t"].map({0.1 + 0.2: 0.3, 1.0 + 1e-12: 1.0, 7.0: 7.0 - 1e-13})
                      .fillna(df["t"]))
    plain = kaplan_meier(fixed, "t", "e", timefix=False).table.drop(columns="group")
    pd.testing.assert_frame_equal(fused, plain)


@pytest.mark.parametrize("timefix", [True, False])
def test_minus_zero_is_time_zero_on_the_sort_path(timefix):
    """Continuous times, so the packed-key sort runs: -0.0 and 0.0 are one time, and a
    tie of an event and a censoring counts both, whatever order the sort leaves them."""
    df = pd.DataFrame({"t": [-0.0, 0.0, 0.5, 0.5, 0.5, 1.25], "e": [1, 0, 0, 1, 1, 0]})
    t = kaplan_meier(df, "t", "e", timefix=timefix).table
    assert t["time"].tolist() == [0.0, 0.5, 1.25]
    assert not np.signbit(t["time"]).any()
    assert t["n_risk"].tolist() == [6, 4, 1]
    assert t["n_event"].tolist() == [1, 2, 0] and t["n_censor"].tolist() == [1, 1, 1]
    assert t["survival"].tolist() == pytest.approx([5 / 6, 5 / 6 * 2 / 4, 5 / 12])
    # plain text, not a categorical (grouping a categorical makes pandas warn)
    assert t["group"].tolist() == ["all"] * 3
    assert pd.api.types.is_string_dtype(t["group"]) and not isinstance(t["group"].dtype,
                                                                      pd.CategoricalDtype)


def test_at_before_a_curve_that_starts_at_zero_follows_r():
    # R's summary(times = -1) picks the first row when the curve starts at time 0
    km = kaplan_meier(pd.DataFrame({"t": [0, 1], "e": [1, 0]}), "t", "e")
    at = km.at([-1])
    assert at["survival"].tolist() == [0.5] and at["n_event"].tolist() == [0]


@pytest.mark.parametrize("n_distinct", [2000, 1990, 300])   # no, few and many ties
def test_sort_path_branches_match_counting_path(n_distinct, monkeypatch):
    rng = np.random.default_rng(n_distinct)
    values = rng.choice(10**6, size=n_distinct, replace=False)
    t = np.concatenate([values, rng.choice(values, 2000 - n_distinct)])
    df = pd.DataFrame({"t": t, "e": rng.integers(0, 2, t.size)})
    by_sort = kaplan_meier(df, "t", "e").table          # range >> n: sort path
    monkeypatch.setattr(_km_counts, "_BIN_SLACK", 10**8)
    by_bins = kaplan_meier(df, "t", "e").table
    pd.testing.assert_frame_equal(by_sort, by_bins)
    assert len(by_sort) == n_distinct
