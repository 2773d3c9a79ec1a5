"""Time rwe_cart.repeat / bootstrap: sequential against joblib on 2 cores (not a test).

    .venv/bin/python benchmarks/bench_parallel.py [--n 400] [--size 200000] [--rounds 3]

Three workloads, each run sequentially and with joblib (loky, ``--jobs`` workers):

* ``numpy``: each replicate sorts ``--size`` normal draws and takes quantiles (a few ms of
  numpy, the kind of work where processes pay off);
* ``tiny``: each replicate draws one number, so the time is the per-replicate overhead of
  the machinery (seed spawning, chunk shipping, result collection);
* ``bootstrap``: ``rc.bootstrap`` of a mean on a 5,000-row frame (resampling a DataFrame
  costs tens of microseconds per replicate, the statistic almost nothing).

The joblib pool is started (and rwe_cart imported in its workers) by one warm-up call
before timing; the minimum over ``--rounds`` is kept. Every run also checks that joblib
returns exactly the sequential numbers.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from rwe_cart.parallel import bootstrap, repeat


def quantiles(rng: np.random.Generator, size: int) -> np.ndarray:
    return np.quantile(np.sort(rng.standard_normal(size)), [0.025, 0.5, 0.975])


def tiny(rng: np.random.Generator) -> float:
    return rng.random()


def mean_x(frame: pd.DataFrame) -> float:
    return frame["x"].to_numpy().mean()


def best(fn, rounds: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def same(a, b) -> bool:
    if isinstance(a, list):
        return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    return a.replicates.equals(b.replicates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400, help="replicates per run")
    ap.add_argument("--size", type=int, default=200_000, help="draws per numpy replicate")
    ap.add_argument("--jobs", type=int, default=2, help="joblib workers")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()

    frame = pd.DataFrame({"x": np.random.default_rng(1).normal(size=5_000)})
    workloads = {
        "numpy": lambda **kw: repeat(quantiles, a.n, seed=1, args=(a.size,), **kw),
        "tiny": lambda **kw: repeat(tiny, a.n * 25, seed=1, **kw),
        "bootstrap": lambda **kw: bootstrap(frame, mean_x, a.n * 5, seed=1, **kw),
    }
    t0 = time.perf_counter()
    repeat(tiny, 4 * a.jobs, seed=0, n_jobs=a.jobs, batch_size=1)  # start the pool
    print(f"joblib pool start-up (workers import rwe_cart): {time.perf_counter() - t0:.2f} s")
    print(f"{'workload':<10} {'replicates':>10} {'sequential s':>13} {'joblib s':>9} "
          f"{'speed-up':>9} {'µs/rep seq':>11} {'identical':>10}")
    for name, run in workloads.items():
        t_seq, seq = best(lambda run=run: run(backend="sequential"), a.rounds)
        t_job, job = best(lambda run=run: run(backend="joblib", n_jobs=a.jobs), a.rounds)
        n = len(seq) if isinstance(seq, list) else seq.n_boot
        print(f"{name:<10} {n:>10} {t_seq:>13.3f} {t_job:>9.3f} {t_seq / t_job:>9.2f} "
              f"{1e6 * t_seq / n:>11.1f} {str(same(seq, job)):>10}")


if __name__ == "__main__":
    main()
