"""Scale: load, validate and derive PFS/OS for a generated registry of 10^6 patients (not a test).

    .venv/bin/python benchmarks/bench_scale.py [--sizes 10000 100000 1000000] [--parquet]
                                               [--invalid 0.001] [--rounds 1] [--seed 1]

For each n the ROCCA-like registry is drawn by the package's own data-generating model
(`rwe_cart.synthetic.rocca.simulate_rocca` with ``exact_hsct=False``: every step is a numpy
array operation, about 12 s and 1.2 GB at 10^6, so nothing is tiled or resampled) and
written as CSV with ISO dates, like ``data/synthetic/rocca_like.csv``. A second CSV has a
share ``--invalid`` of its rows broken (a last contact before the infusion, an impossible
date, age 150, sex "X", a duplicated patient_id, in turn); with ``--parquet`` the valid
table is also written as Parquet.

Each file is measured in a fresh Python process that imports rwe_cart and pandera first
(import time and memory are not counted), then times

* ``load``: ``rc.load_registry(path)`` — read, type every contract column, check the six
  data-contract rules (``errors="raise"``; ``errors="exclude"`` for the broken file, whose
  exclusions are checked against the rows that were broken);
* ``endpoints``: ``cohort.endpoint("PFS")`` plus ``cohort.endpoint("OS")``.

Memory is resident memory (RSS), read from Linux's ``/proc/self/status``: the child
collects garbage after its imports, notes ``VmRSS``, restarts the peak (``VmHWM``) by
writing 5 to ``/proc/self/clear_refs`` (as ``bench_memory.py`` does), and reads ``VmHWM``
after the endpoints. ``peak MB`` is that peak (imports included); ``above import`` is the
peak minus the resident memory before loading, i.e. what loading and the endpoints cost.
RSS rather than tracemalloc: it counts everything the process holds (numpy and pandas
buffers, Python objects, the CSV parser's and pyarrow's own allocations, which tracemalloc
does not see), and tracemalloc would slow the object-heavy parsing several fold. Not
``ru_maxrss`` either: Linux carries the parent's resident size at fork into the child's
``ru_maxrss``, so a child started by a parent holding a large frame would report the
parent's memory (without ``/proc``, e.g. on macOS, ``ru_maxrss`` is used, imports included).

``MB/1e5`` is ``above import`` per 10^5 patients and ``mem ratio`` its value over the
previous size's: near 1 means memory linear in n. ``time ratio`` does the same for the load's
CPU time per patient (``load CPU s``, all threads of the child: pyarrow reads Parquet with
several), which other work on a shared machine disturbs far less than the wall-clock
``load s``. ``--rounds`` keeps the fastest of several fresh processes.
"""
from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

# Corruptions applied in turn to the broken rows; each breaks one data-contract rule.
BREAKS = ("last contact before infusion", "impossible date", "age out of range",
          "unknown sex", "duplicated patient_id")
STATUS = Path("/proc/self/status")


def _memory_mb(key: str) -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, in MB."""
    line = next(x for x in STATUS.read_text().splitlines() if x.startswith(f"{key}:"))
    return int(line.split()[1]) / 1024


def child(path: str, errors: str) -> None:
    """Measure one file in this (fresh) process; print one JSON line."""
    import pandera.pandas  # noqa: F401  rwe_cart imports it on first validation (~0.3 s)

    import rwe_cart as rc

    gc.collect()
    if STATUS.exists():
        base = _memory_mb("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # the peak restarts from here
    else:  # no /proc (macOS): the peak since start-up, which includes the imports
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    t0, c0 = time.perf_counter(), time.process_time()
    cohort = rc.load_registry(path, errors=errors)
    t1, c1 = time.perf_counter(), time.process_time()
    pfs = cohort.endpoint("PFS")
    os_ = cohort.endpoint("OS")
    t2 = time.perf_counter()
    peak = (_memory_mb("VmHWM") if STATUS.exists()
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
    print(json.dumps({"base_mb": base, "peak_mb": peak, "load_s": t1 - t0, "load_cpu_s": c1 - c0,
                      "endpoints_s": t2 - t1, "excluded": len(cohort.attrition),
                      "endpoint_rows": [len(pfs), len(os_)]}))


def generate(n: int, seed: int) -> pd.DataFrame:
    from rwe_cart.synthetic.rocca import simulate_rocca

    frame, _ = simulate_rocca(seed, n=n, exact_hsct=False)
    return frame


def break_rows(frame: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, int]:
    """A copy with ``share`` of the rows broken (one rule each, in turn) and the number of
    rows that ``errors="exclude"`` must remove (a duplicated id excludes both rows)."""
    rng = np.random.default_rng(seed)
    n = len(frame)
    k = max(len(BREAKS), round(share * n))
    rows = rng.choice(n, size=2 * k, replace=False)
    broken, partners = rows[:k], rows[k:]
    kind = np.arange(k) % len(BREAKS)
    out = frame.copy()
    dates = [c for c in out.columns if pd.api.types.is_datetime64_any_dtype(out[c])]
    for col in dates:  # text, so that an impossible date can be written
        out[col] = out[col].dt.strftime("%Y-%m-%d").astype(object).where(out[col].notna(), None)
    at = out.columns.get_loc
    before = (frame["date_infusion"].iloc[broken[kind == 0]] - pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d")
    out.iloc[broken[kind == 0], at("date_last_contact")] = before.to_numpy()
    out.iloc[broken[kind == 1], at("date_infusion")] = "2023-02-30"
    out.iloc[broken[kind == 2], at("age")] = 150.0
    out.iloc[broken[kind == 3], at("sex")] = "X"
    dup = kind == 4
    out.iloc[broken[dup], at("patient_id")] = frame["patient_id"].iloc[partners[dup]].to_numpy()
    return out, k + int(dup.sum())


def write_inputs(n: int, seed: int, share: float, parquet: bool, folder: Path) -> list[dict]:
    frame = generate(n, seed)
    runs = [{"input": "csv", "path": folder / f"registry_{n}.csv", "errors": "raise",
             "frame": frame, "n": n, "expect_excluded": 0}]
    if parquet:
        runs.append({"input": "parquet", "path": folder / f"registry_{n}.parquet",
                     "errors": "raise", "frame": frame, "n": n, "expect_excluded": 0})
    if share > 0:
        bad, n_bad = break_rows(frame, share, seed)
        runs.append({"input": f"csv, {share:.1%} broken, exclude", "path": folder / f"broken_{n}.csv",
                     "errors": "exclude", "frame": bad, "n": n, "expect_excluded": n_bad})
    for run in runs:
        if run["input"] == "parquet":
            run["frame"].to_parquet(run["path"], index=False)
        else:
            run["frame"].to_csv(run["path"], index=False, date_format="%Y-%m-%d",
                                lineterminator="\n")
        del run["frame"]
    return runs


def measure(run: dict, rounds: int) -> dict:
    """The fastest of ``rounds`` fresh processes (other work on the machine only ever slows
    a run down), with the largest peak memory seen."""
    outs = []
    for _ in range(rounds):
        cmd = [sys.executable, __file__, "--child", str(run["path"]), run["errors"]]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"measuring {run['path'].name} failed:\n{proc.stderr}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        kept = run["n"] - run["expect_excluded"]
        if out["excluded"] != run["expect_excluded"] or out["endpoint_rows"] != [kept, kept]:
            raise RuntimeError(f"{run['path'].name}: {out['excluded']} rows excluded and endpoint "
                               f"rows {out['endpoint_rows']}; expected {run['expect_excluded']} and {kept}")
        outs.append(out)
    best = min(outs, key=lambda o: o["load_s"])
    return {**best, "endpoints_s": min(o["endpoints_s"] for o in outs),
            "load_cpu_s": min(o["load_cpu_s"] for o in outs),
            "peak_mb": max(o["peak_mb"] for o in outs), "base_mb": max(o["base_mb"] for o in outs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--invalid", type=float, default=0.001,
                    help="share of rows broken in the second CSV (0: no such file)")
    ap.add_argument("--parquet", action="store_true", help="also load the table from Parquet")
    ap.add_argument("--rounds", type=int, default=1, help="fresh processes per file (fastest kept)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--child", nargs=2, metavar=("PATH", "ERRORS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="rwe_cart_scale_") as tmp:
        for n in sorted(args.sizes):
            t0 = time.perf_counter()
            runs = write_inputs(n, args.seed, args.invalid, args.parquet, Path(tmp))
            print(f"n={n}: generated and written in {time.perf_counter() - t0:.1f} s", flush=True)
            for run in runs:
                out = measure(run, args.rounds)
                rows.append({"n": n, "input": run["input"],
                             "file MB": run["path"].stat().st_size / 2**20,
                             "load s": out["load_s"], "load CPU s": out["load_cpu_s"],
                             "endpoints s": out["endpoints_s"], "peak MB": out["peak_mb"],
                             "above import": out["peak_mb"] - out["base_mb"],
                             "excluded": out["excluded"]})
                run["path"].unlink()
    table = pd.DataFrame(rows)
    table["MB/1e5"] = table["above import"] / table["n"] * 1e5
    per_n = table.groupby("input", sort=False)
    table["mem ratio"] = per_n["MB/1e5"].transform(lambda s: s / s.shift())
    table["time ratio"] = per_n["load CPU s"].transform(
        lambda s: (s / table.loc[s.index, "n"]) / (s / table.loc[s.index, "n"]).shift())
    digits = {"file MB": 1, "load s": 2, "load CPU s": 2, "endpoints s": 3, "peak MB": 0,
              "above import": 0, "MB/1e5": 0, "mem ratio": 2, "time ratio": 2}
    fmt = {c: (lambda v, d=d: f"{v:.{d}f}") for c, d in digits.items()}
    print(table.to_string(index=False, formatters=fmt, na_rep="-"))


if __name__ == "__main__":
    main()
