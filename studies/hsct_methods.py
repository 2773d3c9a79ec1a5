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
  With hr = 1 it is 1; otherwise no closed form, so its truth is its large-n limit.
* ``landmark_firth``: the same landmark model fitted by Firth's penalised likelihood
  (profile-likelihood CI). Same estimand, so the same truth: the penalty vanishes as n
  grows and the large-n limit of ``landmark`` is used.
* ``ccw``: clone-censor-weight, grace 120 days from response, HR of the marginal
  per-protocol contrast. With hr = 1 its truth is 1; otherwise its large-n limit
  (n_boot = 0 point estimate). Its CI is the robust sandwich interval with ``--ccw-boot 0``,
  else the bootstrap percentile interval.

Reference values: ``truth`` = the value of the method's own estimand (column
``truth_source`` says where it comes from); ``truth_tv`` = the time-varying truth (hr, or
NaN for ``trm``); ``truth_limit`` = the mean of the method's point estimates over several
independent cohorts of ``--limit-n`` patients from the same model (Monte Carlo
"population" value of that estimator; its Monte Carlo SE is ``limit_mc_se``).

Run (from the repository root)::

    python studies/hsct_methods.py limits --draws 20 --limit-n 100000
    python studies/hsct_methods.py run --reps 500 --seed 2026
    python studies/hsct_methods.py summarise --tag ccw_sandwich
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
from rwe_cart.exposure import ccw_cohort
from rwe_cart.parallel import ReplicateFailure, repeat
from rwe_cart.synthetic import model, rocca

COVARIATES = ("mrd_negative", "prior_hsct", "age", "extramedullary", "marrow_blasts_pct")
LANDMARK_DAY = 100.0
CCW_GRACE = 120.0
Z = 1.959963984540054
RESULTS = Path(__file__).resolve().parent / "results"

#: What each method estimates, in the words the summary table prints.
ESTIMANDS = {
    "naive": "none: ever vs never HSCT from infusion (immortal-time biased)",
    "time_varying": "conditional HR: transplanted vs not-yet-transplanted time",
    "landmark": f"HSCT by day {LANDMARK_DAY:.0f} vs not, among those event-free then",
    "landmark_firth": f"HSCT by day {LANDMARK_DAY:.0f} vs not, among those event-free then",
    "ccw": f"HSCT within {CCW_GRACE:.0f} days of response vs never (per protocol)",
}

#: Methods estimating the same quantity as another, whose large-n limit they share.
SAME_LIMIT = {"landmark_firth": "landmark"}

REPLICATE_COLUMNS = ["scenario", "n", "replicate", "method", "ci", "log_hr", "lower", "upper",
                     "se", "error", "sim_seed", "truth_tv"]
LIMIT_COLUMNS = ["scenario", "method", "limit_n", "draws", "draws_failed", "limit_log_hr",
                 "limit_sd", "limit_mc_se"]
SUMMARY_COLUMNS = ["scenario", "n", "method", "ci", "reps", "n_failed", "estimand", "truth",
                   "truth_source", "mean_hr", "mean_log_hr", "bias", "bias_mcse", "median_bias", "emp_se",
                   "mean_se", "cover", "truth_tv", "truth_limit", "limit_mc_se", "bias_tv",
                   "bias_limit", "cover_tv", "cover_limit"]


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


def reference(method: str, truth_tv: float, truth_limit: float) -> tuple[float, str]:
    """The value of ``method``'s own estimand, and where it comes from.

    The naive comparison has no estimand of its own: it is held against the conditional
    HR to show its bias, and has nothing to be held against where there is no single
    true HR. With no HSCT effect at all (HR 1) every contrast of HSCT with no HSCT is 1.
    """
    if method in ("naive", "time_varying") and math.isfinite(truth_tv):
        return truth_tv, "true conditional HR"
    if truth_tv == 1.0:
        return 1.0, "no effect"
    if method == "naive":
        return math.nan, "none"
    return truth_limit, "large-n limit"


def ci_label(method: str, ccw_boot: int) -> str:
    if method == "landmark_firth":
        return "profile penalised likelihood"
    if method != "ccw":
        return "Cox model"
    return f"bootstrap percentile (B={ccw_boot})" if ccw_boot else "robust sandwich"


def fit_methods(cohort, methods, *, ccw_boot: int = 0, ccw_seed: int = 1) -> list[dict]:
    """One row per method: log_hr, se (from the CI width), lower, upper; errors caught."""
    rows = []
    for m in methods:
        try:
            if m == "naive":
                e = ex.naive(cohort, "PFS", covariates=COVARIATES, population="responders")
            elif m == "time_varying":
                e = ex.time_varying(cohort, "PFS", covariates=COVARIATES)
            elif m in ("landmark", "landmark_firth"):
                e = ex.landmark(cohort, "PFS", at=LANDMARK_DAY, covariates=COVARIATES,
                                firth=m == "landmark_firth")
            elif m == "ccw":
                e = ccw_cohort(cohort, "PFS", grace=CCW_GRACE, covariates=COVARIATES,
                               n_boot=ccw_boot, seed=ccw_seed, backend="sequential",
                               hr_ci="bootstrap" if ccw_boot else "sandwich")
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


def _limit_draw(rng: np.random.Generator, scenarios, methods, limit_n: int) -> list[dict]:
    """One large cohort per scenario, every method's point estimate on it."""
    rows = []
    for s in scenarios:
        sim_seed = int(rng.integers(0, 2**31 - 1))
        frame, _ = model.simulate(scenario_params(s), limit_n, sim_seed)
        cohort = rc.load_registry(frame)
        for r in fit_methods(cohort, methods, ccw_boot=0):
            rows.append({"scenario": s, "method": r["method"], "sim_seed": sim_seed,
                         "limit_log_hr": r["log_hr"], "limit_error": r["error"]})
    return rows


def large_n_limits(scenarios, methods, limit_n: int, seed: int, *, draws: int = 10,
                   backend: str = "joblib", n_jobs: int = -1) -> pd.DataFrame:
    """Each method's point estimate on ``draws`` independent cohorts of ``limit_n``
    patients: one row per draw × scenario × method (pool them with `pool_limits`)."""
    out = repeat(_limit_draw, draws, seed=(seed, limit_n), args=(scenarios, methods, limit_n),
                 backend=backend, n_jobs=n_jobs)
    per = pd.DataFrame([{"draw": i, **r} for i, res in enumerate(out) for r in res])
    per.insert(3, "limit_n", limit_n)
    return per


def pool_limits(per_draw: pd.DataFrame) -> pd.DataFrame:
    """The large-n limit of each scenario × method: the mean log HR over the draws, the
    spread between draws (``limit_sd``) and the Monte Carlo SE of the mean."""
    per_draw = per_draw.assign(ok=per_draw["limit_error"].fillna("").eq("")
                               & np.isfinite(per_draw["limit_log_hr"]))
    rows = []
    for (s, m), g in per_draw.groupby(["scenario", "method"], sort=False):
        x = g.loc[g["ok"], "limit_log_hr"]
        sd = float(x.std(ddof=1)) if len(x) > 1 else math.nan
        rows.append({"scenario": s, "method": m, "limit_n": int(g["limit_n"].iloc[0]),
                     "draws": len(x), "draws_failed": int((~g["ok"]).sum()),
                     "limit_log_hr": float(x.mean()) if len(x) else math.nan,
                     "limit_sd": sd, "limit_mc_se": sd / math.sqrt(len(x)) if len(x) else math.nan})
    return pd.DataFrame(rows, columns=LIMIT_COLUMNS)


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
    per["ci"] = [ci_label(m, ccw_boot) for m in per["method"]]
    per["truth_tv"] = per["scenario"].map(true_tv)
    return per[REPLICATE_COLUMNS]


def read_replicates(path: Path) -> pd.DataFrame:
    """A replicates CSV as `run` returned it (an empty ``error`` means the fit worked)."""
    per = pd.read_csv(path)
    missing = [c for c in REPLICATE_COLUMNS if c not in per]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; rerun the study to rewrite it")
    # an all-empty error column reads as float: text before filling (pandas 3 refuses it)
    per["error"] = per["error"].astype(object).fillna("")
    return per


def summarise(per: pd.DataFrame, limits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Mean estimate, bias of log-HR against each reference value, empirical and model
    SE, coverage, failed fits; one row per scenario × n × method × interval.

    ``bias`` is the mean log HR minus the log truth (the issue's criterion) and
    ``bias_mcse`` its Monte Carlo SE (empirical SE / √fits); ``median_bias`` uses the
    median log HR, which a skewed tail of small-sample estimates does not pull.
    """
    per = per.copy()
    if limits is not None and len(limits):
        shared = [limits[limits["method"] == src].assign(method=m)
                  for m, src in SAME_LIMIT.items() if m not in set(limits["method"])]
        limits = pd.concat([limits, *shared], ignore_index=True)
        lim = limits[["scenario", "method", "limit_log_hr"]].assign(
            limit_mc_se=limits["limit_mc_se"] if "limit_mc_se" in limits else math.nan)
        per = per.merge(lim, on=["scenario", "method"], how="left")
    else:
        per["limit_log_hr"] = math.nan
        per["limit_mc_se"] = math.nan
    rows = []
    for (s, n, m, ci), g in per.groupby(["scenario", "n", "method", "ci"], sort=False):
        ok = g["error"].eq("") & np.isfinite(g["log_hr"])
        x = g.loc[ok]
        ttv = float(g["truth_tv"].iloc[0])
        tlim = math.exp(g["limit_log_hr"].iloc[0]) if pd.notna(g["limit_log_hr"].iloc[0]) \
            else math.nan
        truth, source = reference(m, ttv, tlim)
        mean_log = float(x["log_hr"].mean())
        emp_se = float(x["log_hr"].std(ddof=1))

        def log(t):
            return math.log(t) if math.isfinite(t) else math.nan

        def cover(t):
            lt = log(t)
            return float(((x["lower"] <= lt) & (x["upper"] >= lt)).mean()) if lt == lt \
                else math.nan
        rows.append({"scenario": s, "n": n, "method": m, "ci": ci, "reps": len(g),
                     "n_failed": int((~ok).sum()), "estimand": ESTIMANDS.get(m, ""),
                     "truth": truth, "truth_source": source,
                     "mean_hr": float(np.exp(x["log_hr"]).mean()), "mean_log_hr": mean_log,
                     "bias": mean_log - log(truth), "bias_mcse": emp_se / math.sqrt(len(x)),
                     "median_bias": float(x["log_hr"].median()) - log(truth),
                     "emp_se": emp_se, "mean_se": float(x["se"].mean()), "cover": cover(truth),
                     "truth_tv": ttv, "truth_limit": tlim,
                     "limit_mc_se": float(g["limit_mc_se"].iloc[0]),
                     "bias_tv": mean_log - log(ttv), "bias_limit": mean_log - log(tlim),
                     "cover_tv": cover(ttv), "cover_limit": cover(tlim)})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _files(out: Path, tag: str) -> tuple[Path, Path]:
    suffix = f"_{tag}" if tag else ""
    return (out / f"hsct_methods_replicates{suffix}.csv",
            out / f"hsct_methods_summary{suffix}.csv")


def _read_limits(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        print(f"no large-n limits at {path} (run the 'limits' step first): the summary "
              f"has no truth_limit", file=sys.stderr)
        return None
    return pd.read_csv(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="step", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seed", type=int, default=2026)
    common.add_argument("--backend", choices=("joblib", "sequential", "dask"), default="joblib",
                        help="results are identical on every backend for the same --seed")
    common.add_argument("--n-jobs", type=int, default=-1)
    common.add_argument("--scenarios", nargs="+", default=["hr1.0", "hr0.6", "trm"])
    common.add_argument("--methods", nargs="+", default=["naive", "time_varying", "landmark"])
    common.add_argument("--out", type=Path, default=RESULTS)
    common.add_argument("--limits", type=Path, default=RESULTS / "hsct_methods_limits.csv",
                        help="pooled large-n limits (written by 'limits', read by the others)")
    lim = sub.add_parser("limits", parents=[common],
                         help="each method's large-n limit, pooled over independent draws")
    lim.add_argument("--limit-n", type=int, default=100_000)
    lim.add_argument("--draws", type=int, default=20)
    rn = sub.add_parser("run", parents=[common], help="replicates and their summary")
    rn.add_argument("--reps", type=int, default=500)
    rn.add_argument("--sizes", type=int, nargs="+", default=[189, 400])
    rn.add_argument("--ccw-boot", type=int, default=0,
                    help="CCW bootstrap replicates (0: robust sandwich interval)")
    rn.add_argument("--tag", default="", help="suffix of the output file names")
    sm = sub.add_parser("summarise", parents=[common],
                        help="rewrite a summary from its replicates file and the limits")
    sm.add_argument("--tag", default="", help="suffix of the file names")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    pd.set_option("display.width", 250)
    fmt = "{:.3f}".format
    t0 = time.perf_counter()
    if a.step == "limits":
        per_draw = large_n_limits(a.scenarios, a.methods, a.limit_n, a.seed, draws=a.draws,
                                  backend=a.backend, n_jobs=a.n_jobs)
        pooled = pool_limits(per_draw)
        per_draw.to_csv(a.limits.with_name(a.limits.stem + "_draws.csv"), index=False)
        pooled.to_csv(a.limits, index=False)
        print(pooled.to_string(index=False, float_format=fmt))
        print(f"\n{a.draws} draws of {a.limit_n}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        return 0
    rep_file, sum_file = _files(a.out, a.tag)
    if a.step == "run":
        per = run(a.scenarios, a.sizes, a.methods, a.reps, seed=a.seed, backend=a.backend,
                  ccw_boot=a.ccw_boot, n_jobs=a.n_jobs)
        per.to_csv(rep_file, index=False)
        print(f"{a.reps} replicates per cell: {time.perf_counter() - t0:.0f} s ({a.backend})",
              file=sys.stderr)
    else:
        per = read_replicates(rep_file)
    summ = summarise(per, _read_limits(a.limits))
    summ.to_csv(sum_file, index=False)
    cols = [c for c in SUMMARY_COLUMNS if c not in ("estimand", "truth_source")]
    print(summ[cols].to_string(index=False, float_format=fmt))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
