"""Simulation study: do the HSCT-effect estimators recover the known PFS hazard ratio?

Scenarios (ROCCA-like model, `rwe_cart.synthetic.rocca.PARAMS`, unconditioned draws):

* ``hr1.0`` / ``hr0.6``: `model.proportional_pfs_effect(PARAMS, hr)` — from the HSCT day
  on, the whole PFS hazard (relapse + NRM) is multiplied by exactly ``hr`` and there is no
  TRM, so the true conditional (time-varying) PFS HR is ``hr``.
* ``trm``: the default model (relapse HR 0.6, background NRM HR 1, additive TRM after HSCT).
  The conditional PFS HR varies with time since HSCT: there is **no single true HR**. The
  reference value used is the large-n limit of each estimator (see below), so the
  "bias" there is finite-sample bias only.

Methods (PFS, all adjusted for mrd_negative, prior_hsct, age, extramedullary,
marrow_blasts_pct; population = responders):

* ``naive``: ever-HSCT-in-remission as a baseline covariate from infusion (immortal time).
* ``time_varying``: HSCT a time-dependent covariate; estimand = the true conditional HR.
* ``landmark``: day-100 landmark; its estimand (HSCT by day 100 vs not, later HSCTs in the
  unexposed group, conditional on being event-free at day 100) is not the time-varying HR.
  With hr = 1 it is 1; otherwise no closed form, so we report its large-n limit
  (``truth_limit``) and also compare it with the time-varying truth (``truth_tv``).
* ``ccw`` (``--ccw``): clone-censor-weight, grace 120 days from response, HR of the marginal
  per-protocol contrast. With hr = 1 its truth is 1; otherwise its reference is the
  large-n limit (n_boot=0 point estimate). Its CI uses a small bootstrap (``--ccw-boot``).

Reference values: ``truth_tv`` = the time-varying truth (hr, or NaN for ``trm``);
``truth_limit`` = the method's point estimate on one cohort of ``--limit-n`` patients from the
same model (Monte Carlo "population" value of that estimator). Bias and coverage are
reported against both (``bias_tv``/``cover_tv`` and ``bias_limit``/``cover_limit``).

Run::

    python studies/hsct_methods.py --reps 500 --backend joblib --seed 2026
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import rwe_cart as rc
from rwe_cart import exposure as ex
from rwe_cart.parallel import ReplicateFailure, repeat
from rwe_cart.synthetic import model, rocca

COVARIATES = ("mrd_negative", "prior_hsct", "age", "extramedullary", "marrow_blasts_pct")
LANDMARK_DAY = 100.0
CCW_GRACE = 120.0
Z = 1.959963984540054
RESULTS = Path(__file__).resolve().parent / "results"

SUMMARY_COLUMNS = ["scenario", "n", "method", "reps", "n_failed", "truth_tv", "truth_limit",
                   "mean_hr", "mean_log_hr", "bias_tv", "bias_limit", "emp_se", "mean_se",
                   "cover_tv", "cover_limit"]


def scenario_params(name: str) -> model.ModelParams:
    if name == "hr1.0":
        return model.proportional_pfs_effect(rocca.PARAMS, 1.0)
    if name == "hr0.6":
        return model.proportional_pfs_effect(rocca.PARAMS, 0.6)
    if name == "trm":
        return rocca.PARAMS
    raise ValueError(f"unknown scenario {name!r}")


def true_tv(name: str) -> float:
    """True conditional (time-varying) PFS HR; NaN where there is no single one."""
    return {"hr1.0": 1.0, "hr0.6": 0.6}.get(name, math.nan)


def fit_methods(cohort, methods, *, ccw_boot: int = 0, ccw_seed: int = 1) -> list[dict]:
    """One row per method: log_hr, se (from the CI width), lower, upper; errors caught."""
    rows = []
    for m in methods:
        try:
            if m == "naive":
                e = ex.naive(cohort, "PFS", covariates=COVARIATES, population="responders")
            elif m == "time_varying":
                e = ex.time_varying(cohort, "PFS", covariates=COVARIATES)
            elif m == "landmark":
                e = ex.landmark(cohort, "PFS", at=LANDMARK_DAY, covariates=COVARIATES)
            elif m == "ccw":
                from rwe_cart.exposure.ccw import ccw_cohort
                e = ccw_cohort(cohort, "PFS", grace=CCW_GRACE, covariates=COVARIATES,
                               n_boot=ccw_boot, seed=ccw_seed, backend="sequential")
            else:
                raise ValueError(f"unknown method {m!r}")
            lo, hi = math.log(e.lower), math.log(e.upper)
            if not (np.isfinite(e.hr) and e.hr > 0):
                raise ValueError(f"non-finite hazard ratio {e.hr!r}")
            rows.append({"method": m, "log_hr": math.log(e.hr), "lower": lo, "upper": hi,
                         "se": (hi - lo) / (2 * Z), "error": ""})
        except Exception as err:  # counted as a failed fit, never dropped
            rows.append({"method": m, "log_hr": math.nan, "lower": math.nan,
                         "upper": math.nan, "se": math.nan,
                         "error": f"{type(err).__name__}: {str(err)[:200]}"})
    return rows


def one_replicate(rng: np.random.Generator, params, n: int, methods, ccw_boot: int) -> list[dict]:
    """One simulated cohort (seeded from the replicate's generator) and every method."""
    sim_seed = int(rng.integers(0, 2**31 - 1))
    frame, _ = model.simulate(params, n, sim_seed)
    cohort = rc.load_registry(frame)
    rows = fit_methods(cohort, methods, ccw_boot=ccw_boot, ccw_seed=sim_seed)
    for r in rows:
        r["sim_seed"] = sim_seed
    return rows


def large_n_limits(scenarios, methods, limit_n: int, seed: int) -> pd.DataFrame:
    """Each method's point estimate on one very large cohort (its Monte Carlo limit)."""
    out = []
    for s in scenarios:
        frame, _ = model.simulate(scenario_params(s), limit_n, seed)
        cohort = rc.load_registry(frame)
        for r in fit_methods(cohort, methods, ccw_boot=0):
            out.append({"scenario": s, "method": r["method"], "limit_log_hr": r["log_hr"],
                        "limit_error": r["error"]})
    return pd.DataFrame(out)


def run(scenarios, sizes, methods, reps: int, *, seed: int, backend: str,
        ccw_boot: int = 0, n_jobs: int = -1) -> pd.DataFrame:
    """Per-replicate results (one row per scenario × n × replicate × method)."""
    frames = []
    for si, s in enumerate(scenarios):
        params = scenario_params(s)
        for n in sizes:
            out = repeat(one_replicate, reps, seed=(seed, si, n), args=(params, n, methods,
                                                                        ccw_boot),
                         backend=backend, n_jobs=n_jobs, errors="return")
            rows = []
            for i, res in enumerate(out):
                if isinstance(res, ReplicateFailure):  # simulation/loading failed: all methods
                    for m in methods:
                        rows.append({"replicate": i, "method": m, "log_hr": math.nan,
                                     "lower": math.nan, "upper": math.nan, "se": math.nan,
                                     "error": f"{res.error_type}: {res.message[:200]}",
                                     "sim_seed": -1})
                else:
                    for r in res:
                        rows.append({"replicate": i, **r})
            df = pd.DataFrame(rows)
            df.insert(0, "n", n)
            df.insert(0, "scenario", s)
            frames.append(df)
    per = pd.concat(frames, ignore_index=True)
    per["truth_tv"] = per["scenario"].map(true_tv)
    return per


def summarise(per: pd.DataFrame, limits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Mean estimate, bias of log-HR, empirical and model SE, coverage, failed fits."""
    per = per.copy()
    if limits is not None and len(limits):
        per = per.merge(limits[["scenario", "method", "limit_log_hr"]],
                        on=["scenario", "method"], how="left")
        per["truth_limit"] = np.exp(per["limit_log_hr"])
    else:
        per["truth_limit"] = np.nan
    rows = []
    for (s, n, m), g in per.groupby(["scenario", "n", "method"], sort=False):
        ok = g["error"].eq("") & np.isfinite(g["log_hr"])
        x = g.loc[ok]
        ttv, tlim = float(g["truth_tv"].iloc[0]), float(g["truth_limit"].iloc[0])
        lt, ll = math.log(ttv) if ttv == ttv else math.nan, \
            math.log(tlim) if tlim == tlim else math.nan

        def cover(t):
            return float(((x["lower"] <= t) & (x["upper"] >= t)).mean()) if t == t else math.nan
        rows.append({"scenario": s, "n": n, "method": m, "reps": len(g),
                     "n_failed": int((~ok).sum()), "truth_tv": ttv, "truth_limit": tlim,
                     "mean_hr": float(np.exp(x["log_hr"]).mean()),
                     "mean_log_hr": float(x["log_hr"].mean()),
                     "bias_tv": float(x["log_hr"].mean() - lt),
                     "bias_limit": float(x["log_hr"].mean() - ll),
                     "emp_se": float(x["log_hr"].std(ddof=1)),
                     "mean_se": float(x["se"].mean()),
                     "cover_tv": cover(lt), "cover_limit": cover(ll)})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--backend", choices=("joblib", "sequential", "dask"), default="joblib")
    ap.add_argument("--n-jobs", type=int, default=-1)
    ap.add_argument("--sizes", type=int, nargs="+", default=[189, 400])
    ap.add_argument("--scenarios", nargs="+", default=["hr1.0", "hr0.6", "trm"])
    ap.add_argument("--methods", nargs="+", default=["naive", "time_varying", "landmark"])
    ap.add_argument("--ccw", action="store_true", help="add clone-censor-weight")
    ap.add_argument("--ccw-boot", type=int, default=50)
    ap.add_argument("--limit-n", type=int, default=100_000,
                    help="cohort size for each method's large-n limit (0: skip)")
    ap.add_argument("--tag", default="", help="suffix of the output file names")
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args(argv)
    methods = list(a.methods) + (["ccw"] if a.ccw and "ccw" not in a.methods else [])
    a.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    limits = large_n_limits(a.scenarios, methods, a.limit_n, a.seed) if a.limit_n else None
    t1 = time.perf_counter()
    per = run(a.scenarios, a.sizes, methods, a.reps, seed=a.seed, backend=a.backend,
              ccw_boot=a.ccw_boot, n_jobs=a.n_jobs)
    t2 = time.perf_counter()
    summ = summarise(per, limits)
    tag = f"_{a.tag}" if a.tag else ""
    per.to_csv(a.out / f"hsct_methods_replicates{tag}.csv", index=False)
    summ.to_csv(a.out / f"hsct_methods_summary{tag}.csv", index=False)
    if limits is not None:
        limits.to_csv(a.out / f"hsct_methods_limits{tag}.csv", index=False)
    pd.set_option("display.width", 200)
    print(summ.to_string(index=False, float_format="{:.3f}".format))
    print(f"\n{a.reps} replicates per cell; limits {t1 - t0:.0f} s, replicates {t2 - t1:.0f} s "
          f"({a.backend})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
