"""Extra peak memory of a Cox fit: rwe_cart against R's ``coxph`` (not a test).

    .venv/bin/python benchmarks/bench_memory.py [--sizes 100000 1000000]

Data: ``bench_cox.ph_data`` (5 normal covariates, continuous exponential times, about
70% events), written once per size to a binary file that every child reads. Each
measurement runs in a fresh process, after the data are in memory and garbage has been
collected:

* ``rss``: the process's peak resident memory during the fit (Linux ``VmHWM``, reset
  just before the fit by writing 5 to ``/proc/self/clear_refs``) minus its resident
  memory before the fit. The same method for Python and R.
* ``heap``: what the language's own allocator saw: for Python the ``tracemalloc`` peak
  (numpy reports its arrays to it), for R the ``max used`` of ``gc()`` after
  ``gc(reset = TRUE)``.

Both first fit 2,000 rows, so that loading code is not counted. Fits: rwe_cart
``cox(..., ties="efron")`` alone (``rc_fit``) and with the concordance (``rc_fit+C``;
R's ``coxph`` always computes it, rwe_cart on first access, so ``rc_fit+C`` is the
like-for-like figure); R ``coxph(..., ties = "efron")``. The tables give MB per fit and
size, the ratios rwe_cart / R, and the growth from the smallest to the largest size
divided by the growth in n (1 = linear in n).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["x1", "x2", "x3", "x4", "x5", "time", "status"]
MB = 2.0**20


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _read(path: Path, n: int) -> pd.DataFrame:
    raw = np.fromfile(path, dtype=np.float64).reshape(len(COLUMNS), n)
    frame = pd.DataFrame({c: raw[j].copy() for j, c in enumerate(COLUMNS)})
    frame["status"] = frame["status"].astype(np.int64)
    return frame


def child(path: Path, n: int, what: str, how: str) -> None:
    """Run one measurement in this (fresh) process and print it as JSON."""
    import tracemalloc

    from rwe_cart.survival.cox import cox
    frame = _read(path, n)

    def run(data):
        m = cox(data, time="time", event="status", covariates=COLUMNS[:5], ties="efron")
        if what == "fit+C":
            _ = m.concordance
        return m

    run(frame.iloc[:2000])  # first-call imports and caches are not the fit's memory
    gc.collect()
    if how == "heap":
        tracemalloc.start()
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        m = run(frame)
        extra = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.stop()
    else:
        base = _status_kb("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        m = run(frame)
        extra = (_status_kb("VmHWM") - base) * 1024
    print(json.dumps({"extra": extra, "coef": m.summary["coef"].tolist()}))


R_CODE = r"""
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
n <- as.integer(args[2])
raw <- readBin(args[1], "double", n = 7 * n)
d <- as.data.frame(matrix(raw, nrow = n,
                          dimnames = list(NULL, c("x1", "x2", "x3", "x4", "x5", "time", "status"))))
rm(raw)
invisible(coxph(Surv(time, status) ~ x1 + x2 + x3 + x4 + x5, data = d[1:2000, ]))
invisible(gc())
kb <- function(field) {
  x <- grep(paste0("^", field, ":"), readLines("/proc/self/status"), value = TRUE)
  as.numeric(strsplit(trimws(sub(".*:", "", x)), " +")[[1]][1])
}
g0 <- gc(reset = TRUE)
base <- kb("VmRSS")
cat("5", file = "/proc/self/clear_refs")
fit <- coxph(Surv(time, status) ~ x1 + x2 + x3 + x4 + x5, data = d, ties = "efron")
peak <- kb("VmHWM")
g1 <- gc()
heap <- sum(g1[, 6]) - sum(g0[, 2])
cat(sprintf("{\"rss\": %.0f, \"heap\": %.0f, \"coef\": [%s]}\n", (peak - base) * 1024,
            heap * 1048576, paste(sprintf("%.17g", coef(fit)), collapse = ", ")))
"""


def measure_python(path: Path, n: int, what: str, how: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(path), str(n), what, how],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure_r(path: Path, n: int, script: Path) -> dict:
    out = subprocess.run(["Rscript", str(script), str(path), str(n)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--child", nargs=4, metavar=("PATH", "N", "WHAT", "HOW"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        path, n, what, how = args.child
        child(Path(path), int(n), what, how)
        return 0

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_cox import ph_data

    use_r = shutil.which("Rscript") is not None
    tmp = Path(tempfile.mkdtemp(prefix="bench_memory_"))
    rows = []
    try:
        script = tmp / "fit.R"
        script.write_text(R_CODE)
        for n in args.sizes:
            d = ph_data(n, days=False)
            path = tmp / f"ph_{n}.bin"
            np.ascontiguousarray(d[COLUMNS].to_numpy(np.float64).T).tofile(path)
            data_mb = d[COLUMNS].memory_usage(index=False).sum() / MB
            del d
            res = {}
            for what in ("fit", "fit+C"):
                for how in ("rss", "heap"):
                    res[(what, how)] = measure_python(path, n, what, how)
            r = measure_r(path, n, script) if use_r else None
            coef = np.array(res[("fit", "rss")]["coef"])
            rows.append({
                "n": n, "data_MB": data_mb,
                "rss_rc_fit": res[("fit", "rss")]["extra"] / MB,
                "rss_rc_fit+C": res[("fit+C", "rss")]["extra"] / MB,
                "rss_R": r["rss"] / MB if r else np.nan,
                "heap_rc_fit": res[("fit", "heap")]["extra"] / MB,
                "heap_rc_fit+C": res[("fit+C", "heap")]["extra"] / MB,
                "heap_R": r["heap"] / MB if r else np.nan,
                "max_rel_diff_vs_R": (float(np.max(np.abs(coef / np.array(r["coef"]) - 1)))
                                      if r else np.nan),
            })
            print(f"n = {n} done", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    t = pd.DataFrame(rows)
    pd.set_option("display.width", 220)
    print(f"Cox, Efron, 5 covariates: extra peak memory of one fit over the memory with the "
          f"data loaded (MB); {os.cpu_count()} cores")
    rss = t[["n", "data_MB", "rss_rc_fit", "rss_rc_fit+C", "rss_R"]].copy()
    rss["rc_fit/R"] = t["rss_rc_fit"] / t["rss_R"]
    rss["rc_fit+C/R"] = t["rss_rc_fit+C"] / t["rss_R"]
    rss["rc_fit+C-R_MB"] = t["rss_rc_fit+C"] - t["rss_R"]
    rss["max_rel_diff_vs_R"] = t["max_rel_diff_vs_R"]
    print("resident memory (VmHWM - VmRSS), the same measure for both:")
    print(rss.to_string(index=False, float_format=_fmt))
    print("allocator peaks (Python: tracemalloc, numpy arrays included; R: gc() max used, "
          "cons cells included):")
    print(t[["n", "heap_rc_fit", "heap_rc_fit+C", "heap_R"]].to_string(index=False,
                                                                      float_format=_fmt))
    if len(t) > 1:
        a, b = t.iloc[0], t.iloc[-1]
        growth = b["n"] / a["n"]
        cols = ["rss_rc_fit", "rss_rc_fit+C", "rss_R", "heap_rc_fit", "heap_rc_fit+C"]
        print(f"growth from n = {a['n']:.0e} to {b['n']:.0e}, divided by the growth in n "
              "(1 = linear): " + ", ".join(f"{c} {b[c] / a[c] / growth:.2f}" for c in cols))
    return 0


if __name__ == "__main__":
    sys.exit(main())
