"""Timing: rwe_cart.logrank against lifelines and statsmodels at 10^6 rows, 2 groups.

Plain script (tests never time): ``python benchmarks/bench_logrank.py [n]``.
Each contender runs once to warm up, then 3 interleaved rounds; the minimum per
contender is reported, with the ratio of its time to ours. The statistics are printed
too, so a fast wrong answer shows.

Data: exponential event times (hazard 0.01 vs 0.012 per day), exponential censoring
(mean 150 days), so times are continuous (``time``), and the same times rounded up to
whole days (``day``, the registry case with many ties).
"""
from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from lifelines.statistics import logrank_test
from statsmodels.duration.survfunc import survdiff

from rwe_cart.survival.logrank import logrank

ROUNDS = 3


def make_data(n: int, seed: int = 20240601) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    t = rng.exponential(1.0 / np.where(group == 1, 0.012, 0.010))
    c = rng.exponential(150.0, n)
    time_ = np.minimum(t, c)
    return pd.DataFrame({
        "time": time_,
        "day": np.ceil(time_).astype(np.int64),
        "event": (t <= c).astype(np.int64),
        "group": group,
    })


def contenders(df: pd.DataFrame, time_col: str):
    def ours():
        return logrank(df, time_col, "event", "group").statistic

    def lifelines_():
        a = df["group"].to_numpy() == 0
        t = df[time_col].to_numpy()
        e = df["event"].to_numpy()
        return logrank_test(t[a], t[~a], e[a], e[~a]).test_statistic

    def statsmodels_():
        return survdiff(df[time_col].to_numpy(), df["event"].to_numpy(),
                        df["group"].to_numpy())[0]

    return {"rwe_cart": ours, "lifelines": lifelines_, "statsmodels": statsmodels_}


def main(n: int = 1_000_000) -> None:
    df = make_data(n)
    print(f"log-rank, {n:,} rows, 2 groups; min of {ROUNDS} interleaved rounds")
    print(f"{'times':<12}{'library':<14}{'seconds':>10}{'ratio':>9}{'chisq':>14}")
    for time_col, label in (("time", "continuous"), ("day", "whole days")):
        fns = contenders(df, time_col)
        stats = {name: float(fn()) for name, fn in fns.items()}  # warm-up
        best = {name: np.inf for name in fns}
        for _ in range(ROUNDS):
            for name, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - t0)
        for name in fns:
            ratio = best[name] / best["rwe_cart"]
            print(f"{label:<12}{name:<14}{best[name]:>10.3f}{ratio:>8.1f}x"
                  f"{stats[name]:>14.6f}")
    print("ratio = library time / rwe_cart time. On continuous times rwe_cart merges "
          "near-equal times as R's survdiff (timefix); the others do not, hence the "
          "last digits.")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
