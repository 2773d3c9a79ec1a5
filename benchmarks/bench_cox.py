"""Timing of ``rwe_cart.cox`` against lifelines and R's ``coxph`` on the same seeded data.

Plain script (tests never time)::

    .venv/bin/python benchmarks/bench_cox.py            # everything (~10-15 min)
    .venv/bin/python benchmarks/bench_cox.py --quick    # 1e5 / 1e4 sizes only

Cases
-----
* ``ph_cont`` / ``ph_days``: Cox, Efron ties, 5 normal covariates, exponential event and
  censoring times, continuous or rounded up to whole days; 1e5 and 1e6 rows.
* ``tv``: counting-process data with day ties: each subject has an age, a sex and a
  time-varying 0/1 exposure (one row before it, one after), about 1.6 rows per subject;
  1e4, 1e5 and 1e6 rows, plus 5e4 subjects for the lifelines CoxTimeVaryingFitter
  comparison.

Each timing is the minimum over ``--rounds`` interleaved rounds (every engine runs once
per round, in turn). ``ours`` is ``rc.cox`` (validation, fit, tests, robust pieces not
requested); ``ours+C`` adds the concordance, which ours computes lazily but R's
``coxph`` always computes, so ``ours+C`` is the like-for-like column against R.
lifelines CoxPHFitter at 1e6 and CoxTimeVaryingFitter above 1e4 rows are run once (a
single fit takes minutes; the 1e5/1e6 time-varying fits are skipped: hours).
R runs through ``Rscript`` when it is on PATH (survival package; data handed over as
RDS so reading is not timed). ``max rel diff`` compares our coefficients with R's.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from rwe_cart.survival.cox import cox

COVS = [f"x{i}" for i in range(1, 6)]
TV_COVS = ["exposed", "age", "sex"]


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------
def ph_data(n: int, *, days: bool, seed: int = 20240601) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    t = rng.exponential(1.0 / np.exp(X @ np.array([0.5, -0.3, 0.2, 0.0, 0.1])))
    c = rng.exponential(2.0, size=n)
    d = pd.DataFrame(X, columns=COVS)
    d["time"] = np.minimum(t, c)
    d["status"] = (t <= c).astype(int)
    if days:
        d["time"] = np.ceil(d["time"] * 365.0)
    return d


def tv_data(n_subjects: int, seed: int = 20240602) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(size=n_subjects)
    sex = rng.integers(0, 2, n_subjects)
    expo = np.ceil(rng.exponential(200.0, n_subjects))           # e.g. day of HSCT
    t = np.ceil(rng.exponential(365.0 / np.exp(0.3 * age - 0.2 * sex)))
    c = np.ceil(rng.uniform(30, 1500, n_subjects))
    fu = np.minimum(t, c)
    ev = (t <= c).astype(int)
    two = expo < fu
    ids = np.arange(n_subjects)
    before = pd.DataFrame({"id": ids, "start": 0.0, "stop": np.where(two, expo, fu),
                           "event": np.where(two, 0, ev), "exposed": 0, "age": age,
                           "sex": sex})
    after = pd.DataFrame({"id": ids[two], "start": expo[two], "stop": fu[two],
                          "event": ev[two], "exposed": 1, "age": age[two], "sex": sex[two]})
    return (pd.concat([before, after], ignore_index=True)
            .sort_values(["id", "start"], ignore_index=True))


def tv_rows(rows: int) -> pd.DataFrame:
    """Time-varying data with about `rows` rows."""
    probe = tv_data(10_000)
    per = len(probe) / 10_000
    return tv_data(max(10, int(round(rows / per))))


# ---------------------------------------------------------------------------------------
# Engines
# ---------------------------------------------------------------------------------------
def run_ours(case: dict) -> tuple[float, float, np.ndarray]:
    d = case["data"]
    t0 = time.perf_counter()
    if case["kind"] == "ph":
        m = cox(d, time="time", event="status", covariates=COVS)
    else:
        m = cox(d, time="stop", start="start", event="event", covariates=TV_COVS)
    t1 = time.perf_counter()
    _ = m.concordance
    t2 = time.perf_counter()
    return t1 - t0, t2 - t0, m.summary["coef"].to_numpy()


def run_lifelines(case: dict) -> float:
    from lifelines import CoxPHFitter, CoxTimeVaryingFitter

    d = case["data"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        if case["kind"] == "ph":
            CoxPHFitter().fit(d[COVS + ["time", "status"]], "time", "status")
        else:
            CoxTimeVaryingFitter().fit(d[["id", "start", "stop", "event"] + TV_COVS],
                                       id_col="id", event_col="event",
                                       start_col="start", stop_col="stop")
        return time.perf_counter() - t0


R_SCRIPT = r"""
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
cases <- readLines(file.path(dir, "cases.txt"))
for (nm in cases) {
  d <- readRDS(file.path(dir, paste0(nm, ".rds")))
  if (startsWith(nm, "ph")) {
    el <- system.time(
      f <- coxph(Surv(time, status) ~ x1 + x2 + x3 + x4 + x5, data = d))[["elapsed"]]
  } else {
    el <- system.time(
      f <- coxph(Surv(start, stop, event) ~ exposed + age + sex, data = d))[["elapsed"]]
  }
  cat(nm, el, paste(format(coef(f), digits = 17), collapse = " "), "\n")
}
"""

R_CONVERT = r"""
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
for (nm in readLines(file.path(dir, "cases.txt"))) {
  d <- read.csv(file.path(dir, paste0(nm, ".csv")))
  saveRDS(d, file.path(dir, paste0(nm, ".rds")))
}
"""


def r_setup(cases: list[dict], tmp: Path) -> None:
    for c in cases:
        c["data"].to_csv(tmp / f"{c['name']}.csv", index=False, float_format="%.17g")
    (tmp / "cases.txt").write_text("\n".join(c["name"] for c in cases) + "\n")
    (tmp / "convert.R").write_text(R_CONVERT)
    (tmp / "bench.R").write_text(R_SCRIPT)
    subprocess.run(["Rscript", str(tmp / "convert.R"), str(tmp)], check=True)


def run_r(tmp: Path) -> dict[str, tuple[float, np.ndarray]]:
    out = subprocess.run(["Rscript", str(tmp / "bench.R"), str(tmp)], check=True,
                         capture_output=True, text=True).stdout
    res = {}
    for line in out.strip().splitlines():
        parts = line.split()
        res[parts[0]] = (float(parts[1]), np.array([float(x) for x in parts[2:]]))
    return res


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="1e5 / 1e4 sizes only")
    ap.add_argument("--no-lifelines", action="store_true")
    ap.add_argument("--no-r", action="store_true")
    args = ap.parse_args(argv)

    cases = []
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    for n in sizes:
        for days in (False, True):
            name = f"ph_{'days' if days else 'cont'}_{n:.0e}".replace("+0", "")
            cases.append({"name": name, "kind": "ph", "data": ph_data(n, days=days),
                          "ll_rounds": 1 if n > 100_000 else args.rounds})
    tv_sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    for rows in tv_sizes:
        cases.append({"name": f"tv_{rows:.0e}".replace("+0", ""), "kind": "tv",
                      "data": tv_rows(rows), "ll_rounds": args.rounds if rows <= 10_000 else 0})
    cases.append({"name": "tv_5e4subj", "kind": "tv", "data": tv_data(50_000), "ll_rounds": 1})

    use_r = not args.no_r and shutil.which("Rscript") is not None
    tmp = Path(tempfile.mkdtemp(prefix="bench_cox_"))
    try:
        if use_r:
            r_setup(cases, tmp)
        times = {c["name"]: {"ours": [], "ours+C": [], "lifelines": [], "R": []}
                 for c in cases}
        coefs = {}
        for rnd in range(args.rounds):
            for c in cases:
                fit_s, tot_s, coef = run_ours(c)
                times[c["name"]]["ours"].append(fit_s)
                times[c["name"]]["ours+C"].append(tot_s)
                coefs[c["name"]] = coef
                if not args.no_lifelines and rnd < c["ll_rounds"]:
                    times[c["name"]]["lifelines"].append(run_lifelines(c))
                print(f"round {rnd + 1}: {c['name']} done", file=sys.stderr, flush=True)
            if use_r:
                for name, (sec, rcoef) in run_r(tmp).items():
                    times[name]["R"].append(sec)
                    coefs[name + ":R"] = rcoef
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def best(xs):
        return min(xs) if xs else float("nan")

    rows = []
    for c in cases:
        t = times[c["name"]]
        ours, tot, ll, rr = best(t["ours"]), best(t["ours+C"]), best(t["lifelines"]), \
            best(t["R"])
        rc = coefs.get(c["name"] + ":R")
        diff = (float(np.max(np.abs(coefs[c["name"]] / rc - 1))) if rc is not None
                else float("nan"))
        rows.append({
            "case": c["name"], "rows": len(c["data"]),
            "events": int(c["data"]["status" if c["kind"] == "ph" else "event"].sum()),
            "ours_s": ours, "ours+C_s": tot, "lifelines_s": ll, "R_s": rr,
            "lifelines/ours": ll / ours, "R/(ours+C)": rr / tot,
            "max_rel_diff_vs_R": diff, "lifelines_runs": len(t["lifelines"]),
        })
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"min of {args.rounds} rounds (lifelines_runs: fits actually run)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    tv = table.set_index("case")
    if {"tv_1e4", "tv_1e5"} <= set(tv.index):
        print("time-varying 1e5/1e4 time ratio: "
              f"{tv.loc['tv_1e5', 'ours_s'] / tv.loc['tv_1e4', 'ours_s']:.2f} (fit), "
              f"{tv.loc['tv_1e5', 'ours+C_s'] / tv.loc['tv_1e4', 'ours+C_s']:.2f} (+C)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
