"""Time rwe_cart's Aalen–Johansen state probabilities against R mstate (not a test).

    .venv/bin/python benchmarks/bench_multistate.py [--sizes 5000 20000 100000 1000000]
                                                    [--r-max 20000] [--rounds 3]

Data: an illness-death model (Tx -> PR -> RelDeath, Tx -> RelDeath) with exponential
times and uniform censoring, continuous times (every event time distinct: the worst case
for the recursion, one step per event time). For each n the long frame is built once
(``multistate_frame``) and the non-parametric hazards with Aalen (co)variances once
(``transition_hazards``); what is timed is

* ``rwe_cart``: ``state_probabilities(hazards)`` — P(0, t) from every state with the
  Aalen variance recursion of de Wreede et al. (as ``probtrans(msfit, predt = 0)``),
  best of ``--rounds``;
* ``mstate``: ``probtrans(msfit(coxph(... ~ strata(trans), method = "breslow")),
  predt = 0)`` on the same long frame, ``system.time`` of probtrans alone, once (its loop
  over event times in R makes it take tens of seconds or more at n = 20,000). The last
  probability is compared with ours (1e-6 relative), so that the same thing is timed.
  Skipped with a message when ``Rscript`` or mstate is absent, and above ``--r-max``.

The recursion is a loop over event times with a fixed amount of small numpy work per
step, so its time should grow linearly in the number of event times: the column
``us_per_time`` (microseconds per event time) stays flat as n grows. ``mstate/rc`` is
the speed ratio (the target is >= 50 at n = 20,000).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import rwe_cart as rc

R_SCRIPT = r"""
suppressMessages(library(mstate))
ms <- read.csv(commandArgs(TRUE)[1])
tmat <- trans.illdeath(names = c("Tx", "PR", "RelDeath"))
attr(ms, "trans") <- tmat; class(ms) <- c("msdata", "data.frame")
c0 <- coxph(Surv(Tstart, Tstop, status) ~ strata(trans), data = ms, method = "breslow")
msf <- msfit(c0, trans = tmat)
el <- system.time(pt <- probtrans(msf, predt = 0))[["elapsed"]]
cat(el, nrow(pt[[1]]), format(pt[[1]]$pstate3[nrow(pt[[1]])], digits = 15), "\n")
"""


def make_wide(n: int, seed: int = 20261206) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t_pr = rng.exponential(1.0, n)
    t_rd = rng.exponential(3.0, n)
    t_after = rng.exponential(4.0, n)
    cens = rng.uniform(0.5, 8.0, n)
    pr = (t_pr < t_rd) & (t_pr < cens)
    end = np.where(pr, np.minimum(t_pr + t_after, cens), np.minimum(t_rd, cens))
    died = np.where(pr, t_pr + t_after <= cens, t_rd <= cens)
    return pd.DataFrame({"id": np.arange(1, n + 1), "prtime": np.where(pr, t_pr, end),
                         "prstat": pr.astype(np.int64), "rfstime": end,
                         "rfsstat": died.astype(np.int64)})


def r_available() -> str | None:
    if shutil.which("Rscript") is None:
        return "Rscript not found"
    ok = subprocess.run(["Rscript", "-e", "suppressMessages(library(mstate))"],
                        capture_output=True)
    return None if ok.returncode == 0 else "R package mstate not installed"


def time_r(long: pd.DataFrame) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "ms.csv"
        script = Path(tmp) / "bench.R"
        long.assign(**{"from": long["from"].cat.codes + 1, "to": long["to"].cat.codes + 1}
                    ).rename(columns={"start": "Tstart", "stop": "Tstop"}).to_csv(csv,
                                                                                  index=False)
        script.write_text(R_SCRIPT)
        out = subprocess.run(["Rscript", str(script), str(csv)], capture_output=True,
                             text=True, check=True, env=os.environ)
        el, _, p3 = out.stdout.split()
        return float(el), float(p3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[5_000, 20_000, 100_000,
                                                             1_000_000])
    ap.add_argument("--r-max", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tr = rc.transitions({"Tx": ["PR", "RelDeath"], "PR": ["RelDeath"]})
    why_not_r = r_available()
    if why_not_r:
        print(f"mstate not timed: {why_not_r}")
    rows = []
    for n in args.sizes:
        wide = make_wide(n)
        long = rc.multistate_frame(wide, tr, time={"PR": "prtime", "RelDeath": "rfstime"},
                                   status={"PR": "prstat", "RelDeath": "rfsstat"})
        t0 = time.perf_counter()
        hz = rc.transition_hazards(long)
        t_haz = time.perf_counter() - t0
        best = np.inf
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            pt = rc.state_probabilities(hz)
            best = min(best, time.perf_counter() - t0)
        n_times = hz.times.size
        row = {"n": n, "event_times": n_times, "hazards_s": t_haz, "rwe_cart_s": best,
               "us_per_time": best / n_times * 1e6, "mstate_s": np.nan, "mstate/rc": np.nan}
        if why_not_r is None and n <= args.r_max:
            r_s, r_p3 = time_r(long)
            ours = pt.probability[-1, 0, 2]
            if abs(r_p3 - ours) > 1e-6 * max(abs(ours), 1e-12):
                raise SystemExit(f"n = {n}: mstate P(Tx -> RelDeath) = {r_p3}, ours {ours}")
            row["mstate_s"] = r_s
            row["mstate/rc"] = r_s / best
        rows.append(row)
        print(pd.DataFrame([row]).to_string(index=False, header=len(rows) == 1,
                                            float_format="{:.4g}".format), flush=True)


if __name__ == "__main__":
    main()
