"""Time clone–censor–weight and the weighted Kaplan–Meier (not a test).

    .venv/bin/python benchmarks/bench_ccw.py [--sizes 5000 40000] [--n-boot 200]
                                             [--backends sequential joblib]

1. ``ccw_cohort`` on the bundled ROCCA-like cohort (189 patients, 143 eligible
   responders): one fit, then ``--n-boot`` bootstrap replicates on each backend (the
   bootstrap intervals are identical on every backend).
2. ``ccw_cohort`` without bootstrap on larger simulated cohorts (``--sizes`` infused
   patients of the ROCCA-like model), with both weight models; the clone rows grow with
   the number of distinct transplant days (Cox) or weekly intervals (pooled logistic).
3. ``kaplan_meier`` on counting-process rows: unweighted, weighted with Greenwood's
   variance, and weighted with R's infinitesimal-jackknife variance clustered on subject.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import rwe_cart as rc
from rwe_cart.exposure import ccw_cohort
from rwe_cart.synthetic import model as M
from rwe_cart.synthetic import rocca

COVARIATES = ("mrd_negative", "prior_hsct", "age")


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bench_rocca(n_boot: int, backends: list[str]) -> None:
    cohort = rc.datasets.rocca_like()
    ccw_cohort(cohort, covariates=COVARIATES, n_boot=0)          # imports, caches
    for kind in ("logistic", "cox"):
        t, _ = timed(lambda: ccw_cohort(cohort, covariates=COVARIATES, n_boot=0,
                                        weight_model=kind))
        print(f"rocca_like  {kind:8s} one fit            {t:7.3f} s")
    for backend in backends:
        t, est = timed(lambda: ccw_cohort(cohort, covariates=COVARIATES, n_boot=n_boot,
                                          seed=1, backend=backend))
        print(f"rocca_like  logistic n_boot={n_boot} {backend:10s} {t:7.2f} s   "
              f"HR {est.hr:.3f} ({est.lower:.3f}-{est.upper:.3f})")


def bench_sizes(sizes: list[int]) -> None:
    for n in sizes:
        frame, _ = M.simulate(rocca.PARAMS, n, 1)
        cohort = rc.load_registry(frame)
        for kind in ("logistic", "cox"):
            t, est = timed(lambda: ccw_cohort(cohort, covariates=COVARIATES, n_boot=0,
                                              weight_model=kind))
            rows = len(est.extra["result"].clones)
            print(f"n={n:<7d} {kind:8s} {t:7.2f} s  {rows:>9d} clone rows")


def bench_km(rows: int) -> None:
    rng = np.random.default_rng(1)
    start = rng.integers(0, 500, rows).astype(float)
    df = pd.DataFrame({"id": np.arange(rows) // 4, "start": start,
                       "stop": start + rng.integers(1, 300, rows),
                       "event": rng.integers(0, 2, rows), "w": rng.uniform(0.1, 5, rows),
                       "g": rng.integers(0, 2, rows)})
    for label, kw in (("unweighted", {}), ("weighted, Greenwood", {"weights": "w",
                                                                    "robust": False}),
                      ("weighted, IJ by row", {"weights": "w"}),
                      ("weighted, IJ by id", {"weights": "w", "id": "id"})):
        t, _ = timed(lambda: rc.kaplan_meier(df, "stop", "event", start="start", by="g",
                                             **kw))
        print(f"kaplan_meier {rows} rows  {label:22s} {t:7.3f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[5000, 40000])
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--backends", nargs="*", default=["sequential", "joblib"])
    ap.add_argument("--km-rows", type=int, default=1_000_000)
    args = ap.parse_args()
    bench_rocca(args.n_boot, args.backends)
    bench_sizes(args.sizes)
    bench_km(args.km_rows)


if __name__ == "__main__":
    main()
