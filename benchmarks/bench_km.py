"""Time rwe_cart's Kaplan–Meier against lifelines and statsmodels (not a test).

    .venv/bin/python benchmarks/bench_km.py [--sizes 10000 1000000] [--rounds 3]

For each n and each kind of time (continuous; whole days, with many ties) every method is
timed in each of ``--rounds`` interleaved rounds and the minimum per-call time is kept.
Small n repeat a call until a round lasts about 0.2 s. ``np.sort`` of the times is the
floor any sort-based estimator pays. Ratios are other / rwe_cart (higher = rwe_cart
faster), except ``rc/sort`` = rwe_cart / np.sort.

What each call computes: rwe_cart the full R-style table (survival, Greenwood SE, log CI,
Nelson–Aalen and its SE, one row per distinct time, with R's timefix); lifelines
``KaplanMeierFitter.fit`` (survival, log-log CI, event table); statsmodels
``SurvfuncRight`` (survival and its SE at event times).
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import rwe_cart.survival.km as rc_km


def make_data(n: int, kind: str, seed: int = 20240601) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = rng.exponential(365.0, n)
    c = rng.uniform(0.0, 1500.0, n)
    time_ = np.minimum(t, c)
    event = (t <= c).astype(np.int64)
    if kind == "days":
        time_ = np.ceil(time_).astype(np.int64)   # whole days: the registry case
    return pd.DataFrame({"time": time_, "event": event})


def methods(df: pd.DataFrame) -> dict:
    from lifelines import KaplanMeierFitter
    from statsmodels.duration.survfunc import SurvfuncRight

    t = df["time"].to_numpy()
    e = df["event"].to_numpy()
    tf = t.astype(np.float64)
    return {
        "rwe_cart": lambda: rc_km.kaplan_meier(df, "time", "event"),
        "lifelines": lambda: KaplanMeierFitter().fit(t, e),
        "statsmodels": lambda: SurvfuncRight(tf, e),
        "np.sort": lambda: np.sort(tf),
    }


def per_call(fn, budget: float) -> float:
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    reps = max(1, int(budget / max(once, 1e-7)))
    if reps == 1:
        return once
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def run(sizes, rounds: int, budget: float) -> pd.DataFrame:
    rows = []
    for n in sizes:
        for kind in ("continuous", "days"):
            df = make_data(n, kind)
            fns = methods(df)
            for fn in fns.values():       # warm-up (imports, caches)
                fn()
            best = {name: np.inf for name in fns}
            for _ in range(rounds):       # interleaved rounds
                for name, fn in fns.items():
                    best[name] = min(best[name], per_call(fn, budget))
            km = fns["rwe_cart"]()
            rows.append({
                "n": n, "times": kind, "distinct": len(km.table),
                "rwe_cart_s": best["rwe_cart"], "lifelines_s": best["lifelines"],
                "statsmodels_s": best["statsmodels"], "np.sort_s": best["np.sort"],
                "lifelines/rc": best["lifelines"] / best["rwe_cart"],
                "statsmodels/rc": best["statsmodels"] / best["rwe_cart"],
                "rc/sort": best["rwe_cart"] / best["np.sort"],
            })
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--budget", type=float, default=0.2,
                    help="seconds per timed batch for small n")
    args = ap.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = run(args.sizes, args.rounds, args.budget)
    fmt = {c: "{:.2e}".format for c in table.columns if c.endswith("_s")}
    fmt.update({c: "{:.1f}".format for c in ("lifelines/rc", "statsmodels/rc", "rc/sort")})
    print(table.to_string(index=False, formatters=fmt))


if __name__ == "__main__":
    main()
