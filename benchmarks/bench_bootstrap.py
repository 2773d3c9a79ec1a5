"""Time a patient-cluster bootstrap of a time-varying Cox model: rwe_cart vs R vs lifelines.

    .venv/bin/python benchmarks/bench_bootstrap.py [--n-boot 1000] [--patients 500]
                                                   [--lifelines-boot 100] [--jobs 2]

Data: one unconditioned draw of ``--patients`` infused patients from the ROCCA-like model
with a proportional PFS effect of HSCT (HR 0.6); counting-process PFS rows from infusion
(``hsct_rows(population="all")``), HSCT in remission time-dependent, adjusted for ``age``
and ``prior_hsct``. Statistic: the three log hazard ratios.

Runs (``--n-boot`` replicates, cluster = patient, whole patients resampled):

* rwe_cart ``rc.bootstrap(..., pass_rows=True)`` with ``cox_coef`` (Efron): the data are
  validated once and each replicate refits on the drawn row positions, coefficients
  only (no data frame, variance, tests or summary per replicate), sequential;
* the same with joblib (``--jobs`` workers; pool warmed up before timing);
* rwe_cart ``rc.bootstrap`` + the full ``cox()`` on a resampled frame per replicate,
  sequential (the same numbers; shows what the fast path saves);
* R ``survival::coxph`` in an inline ``Rscript`` loop (timed with ``system.time`` inside R,
  so R start-up and reading the CSV are excluded);
* lifelines ``CoxTimeVaryingFitter`` sequential, only ``--lifelines-boot`` replicates,
  extrapolated linearly to ``--n-boot`` (said so in the output).

Not a test: tests never time.
"""
from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import rwe_cart as rc
from rwe_cart.exposure import hsct_rows
from rwe_cart.parallel import bootstrap
from rwe_cart.survival.cox import cox, cox_coef
from rwe_cart.synthetic import model, rocca

COVS = ["hsct", "age", "prior_hsct"]


def make_rows(patients: int, seed: int) -> pd.DataFrame:
    params = model.proportional_pfs_effect(rocca.PARAMS, 0.6)
    frame, _ = model.simulate(params, patients, seed)
    rows = hsct_rows(rc.load_registry(frame), "PFS", population="all",
                     columns=["age", "prior_hsct"])
    out = rows[["patient_id", "start", "stop", "event", "hsct", "age", "prior_hsct"]].copy()
    out["prior_hsct"] = out["prior_hsct"].astype(float)
    out["hsct"] = out["hsct"].astype(float)
    out["event"] = out["event"].astype(int)
    return out.reset_index(drop=True)


def stat_rwe(frame: pd.DataFrame) -> pd.Series:
    m = cox(frame, time="stop", start="start", event="event", covariates=COVS)
    s = m.summary.set_index("term")
    return s["coef"] if "coef" in s.columns else np.log(s["hr"])


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


R_CODE = r"""
suppressPackageStartupMessages(library(survival))
d <- read.csv("{csv}")
ids <- unique(d$patient_id)
rows_by_id <- split(seq_len(nrow(d)), factor(d$patient_id, levels = ids))
B <- {n_boot}
set.seed(1)
out <- matrix(NA_real_, B, 3)
tm <- system.time({{
  for (b in seq_len(B)) {{
    drawn <- sample.int(length(ids), length(ids), replace = TRUE)
    r <- rows_by_id[drawn]
    bd <- d[unlist(r), ]
    bd$cl <- rep(seq_along(drawn), lengths(r))
    fit <- coxph(Surv(start, stop, event) ~ hsct + age + prior_hsct, data = bd, ties = "efron")
    out[b, ] <- coef(fit)
  }}
}})
cat(sprintf("R_SECONDS %.4f\n", tm[["elapsed"]]))
cat(sprintf("R_SE %s\n", paste(sprintf("%.4f", apply(out, 2, sd)), collapse = " ")))
"""


def run_r(rows: pd.DataFrame, n_boot: int) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "rows.csv"
        rows.to_csv(csv, index=False)
        script = Path(tmp) / "boot.R"
        script.write_text(R_CODE.format(csv=csv, n_boot=n_boot))
        res = subprocess.run(["Rscript", str(script)], capture_output=True, text=True,
                             check=True)
    lines = dict(line.split(" ", 1) for line in res.stdout.strip().splitlines())
    return float(lines["R_SECONDS"]), lines["R_SE"]


def run_lifelines(rows: pd.DataFrame, n_boot: int, seed: int) -> tuple[float, np.ndarray]:
    from lifelines import CoxTimeVaryingFitter
    rng = np.random.default_rng(seed)
    ids = rows["patient_id"].to_numpy()
    uniq, codes = np.unique(ids, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    data = rows[["start", "stop", "event"] + COVS]
    out = []
    t0 = time.perf_counter()
    for _ in range(n_boot):
        g = rng.integers(0, len(uniq), len(uniq))
        sz = sizes[g]
        ends = np.cumsum(sz)
        pos = order[np.repeat(starts[g], sz) + np.arange(ends[-1]) - np.repeat(ends - sz, sz)]
        bd = data.iloc[pos].reset_index(drop=True)
        bd["id"] = np.repeat(np.arange(len(g)), sz)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = CoxTimeVaryingFitter().fit(bd, id_col="id", start_col="start",
                                           stop_col="stop", event_col="event")
        out.append(f.params_.to_numpy())
    return time.perf_counter() - t0, np.std(out, axis=0, ddof=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--patients", type=int, default=500)
    ap.add_argument("--lifelines-boot", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()

    rows = make_rows(a.patients, a.seed)
    print(f"{a.patients} patients, {len(rows)} counting-process rows, "
          f"{int(rows['event'].sum())} events, {int(rows.groupby('patient_id')['hsct'].max().sum())}"
          " exposed")
    print("point estimate (log HR):", stat_rwe(rows).round(4).to_dict())

    coef = cox_coef(rows, time="stop", start="start", event="event", covariates=COVS)
    t_seq, b_seq = timed(lambda: bootstrap(rows, coef, a.n_boot, seed=a.seed,
                                           cluster="patient_id", backend="sequential",
                                           pass_rows=True))
    bootstrap(rows, coef, 2 * a.jobs, seed=0, cluster="patient_id", backend="joblib",
              n_jobs=a.jobs, pass_rows=True)  # warm the pool
    t_job, b_job = timed(lambda: bootstrap(rows, coef, a.n_boot, seed=a.seed,
                                           cluster="patient_id", backend="joblib",
                                           n_jobs=a.jobs, pass_rows=True))
    same = b_seq.replicates.equals(b_job.replicates)
    t_full, b_full = timed(lambda: bootstrap(rows, stat_rwe, a.n_boot, seed=a.seed,
                                             cluster="patient_id", backend="sequential"))
    full_diff = float(np.max(np.abs(b_full.replicates.to_numpy()
                                    - b_seq.replicates.to_numpy())))
    t_r, r_se = run_r(rows, a.n_boot)
    t_ll, ll_se = run_lifelines(rows, a.lifelines_boot, a.seed)
    t_ll_x = t_ll * a.n_boot / a.lifelines_boot

    table = pd.DataFrame([
        ("rwe_cart bootstrap + cox_coef (rows), sequential", a.n_boot, t_seq, t_seq),
        (f"rwe_cart bootstrap + cox_coef (rows), joblib ({a.jobs} workers)", a.n_boot,
         t_job, t_job),
        ("rwe_cart bootstrap + full cox() on frames, sequential", a.n_boot, t_full, t_full),
        ("R survival::coxph loop (system.time)", a.n_boot, t_r, t_r),
        (f"lifelines CoxTimeVaryingFitter, sequential ({a.lifelines_boot} reps, "
         "extrapolated)", a.lifelines_boot, t_ll, t_ll_x),
    ], columns=["run", "reps_run", "seconds_run", f"seconds_per_{a.n_boot}"])
    table["ratio_to_rwe_seq"] = table[f"seconds_per_{a.n_boot}"] / t_seq
    table["ratio_to_R"] = table[f"seconds_per_{a.n_boot}"] / t_r
    pd.set_option("display.width", 200)
    print(table.to_string(index=False, float_format="{:.2f}".format))
    print("joblib replicates identical to sequential:", same)
    print(f"cox_coef replicates vs full cox() on frames: max abs difference {full_diff:.1e}")
    print("bootstrap SE (hsct, age, prior_hsct): rwe_cart",
          b_seq.se.round(4).tolist(), "| R", r_se, "| lifelines", np.round(ll_se, 4).tolist())


if __name__ == "__main__":
    main()
