"""The one design rule: a column has the same coefficient names in every model."""
from __future__ import annotations

import numpy as np
import pandas as pd

import rwe_cart as rc


def _patients(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    male = rng.random(n) < 0.5
    stage = rng.choice(["I", "II", "III"], n)
    age = rng.normal(50, 10, n)
    t = rng.exponential(400 * np.exp(-0.3 * male), n)
    c = rng.uniform(100, 900, n)
    treat = np.where(rng.random(n) < 0.5, rng.uniform(0, 200, n), np.nan)
    time = np.minimum(t, c).round(1) + 1
    return pd.DataFrame({
        "id": np.arange(n), "time": time, "event": (t <= c).astype(int),
        "cause": np.where(t <= c, rng.choice([1, 2], n), 0), "male": male, "stage": stage,
        "age": age, "treat_time": np.where(treat < time, treat, np.nan)})


def test_bool_and_factor_columns_have_one_name_in_every_model():
    d = _patients()
    covs = ["age", "male", "stage"]
    expected = ["age", "maleTRUE", "stageII", "stageIII"]
    names = {"cox": list(rc.cox(d, time="time", event="event", covariates=covs)
                         .summary["term"])}
    for method in ("crr", "finegray"):
        fg = rc.fine_gray(d, time="time", cause="cause", covariates=covs, method=method)
        names[f"fine_gray {method}"] = list(fg.summary["term"])
    rows = rc.split_timeline(d, id="id", time="time", event="event",
                             exposures={"treated": "treat_time"})
    tv = rc.time_varying_cox(rows, start="start", time="stop", event="event",
                             exposure="treated", covariates=covs, id="id")
    names["time_varying_cox"] = [t for t in tv.extra["model"].summary["term"] if t != "treated"]
    lm = rc.landmark_cox(d, time="time", event="event", at=60, exposure_time="treat_time",
                         covariates=covs)
    names["landmark_cox"] = [t for t in lm.extra["model"].summary["term"] if t != "exposed"]
    cw = rc.ccw(d, id="id", time="time", event="event", exposure_time="treat_time", grace=60,
                covariates=covs, n_boot=0, horizons=(90,))
    names["ccw weight model"] = list(cw.weight_model["covariates"])
    names["formula"] = list(rc.cox("Surv(time, event) ~ age + male + C(stage)", d)
                            .summary["term"])
    assert all(v == expected for v in names.values()), names


def test_multistate_models_name_a_flag_and_a_factor_as_every_model():
    p = rc.datasets.rocca_like().patients
    assert pd.api.types.is_bool_dtype(p["mrd_negative"].dtype)
    # expand.covs' names: <term>.<transition>, with the term as in rc.cox
    known = p.dropna(subset=["mrd_negative", "sex"]).assign(time=lambda f: f["age"], event=1)
    terms = rc.cox(known, time="time", event="event",
                   covariates=["mrd_negative", "sex"]).summary["term"].tolist()
    assert terms == ["mrd_negativeTRUE", "sexM"]
    fit = rc.datasets.rocca_like().multistate().fit({"remission -> hsct": ["mrd_negative", "sex"]})
    assert fit.model.summary["term"].tolist() == [f"{t}.4" for t in terms]
    tr = rc.transitions({"a": ["b"]})
    frame = rc.multistate_frame(pd.DataFrame({"id": [1, 2, 3], "t": [5.0, 6.0, 7.0],
                                              "s": [1, 0, 1], "flag": [True, False, True],
                                              "sex": ["F", "M", "M"]}),
                                tr, time={"b": "t"}, status={"b": "s"}, keep=["flag", "sex"])
    assert [c for c in rc.expand_covariates(frame, ["flag", "sex"], tr).columns
            if c.endswith(".1")] == ["flagTRUE.1", "sexM.1"]
