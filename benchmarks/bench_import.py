"""Start-up cost: `import rwe_cart` against `import pandas`, and `rwe-cart validate` (not a test).

    .venv/bin/python benchmarks/bench_import.py [--rounds 9]

Every command runs in a fresh interpreter; the rounds interleave the commands, so that load
from other processes falls on all of them alike, and the median wall time is kept. Targets
(issue 12): `import rwe_cart` at most 1.5 × `import pandas` measured in the same run, and
`rwe-cart validate` on the bundled registry without loading papermill or nbconvert.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "data" / "synthetic" / "rocca_like.csv"
HEAVY = ("scipy.stats", "statsmodels", "matplotlib", "pandera", "pyreadstat", "joblib", "dask",
         "papermill", "nbconvert", "nbformat")
VALIDATE = ("import contextlib, io; from rwe_cart.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()): code = main(['validate', {path!r}])\n"
            "assert code == 0, code")
COMMANDS = {
    "python (no import)": "pass",
    "import pandas": "import pandas",
    "import rwe_cart": "import rwe_cart",
    "rwe-cart validate": VALIDATE.format(path=str(REGISTRY)),
}
LOADED = "\nimport json, sys; print(json.dumps([m for m in {heavy!r} if m in sys.modules]))"


def wall_time(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def loaded(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code + LOADED.format(heavy=HEAVY)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    a = ap.parse_args()

    for code in COMMANDS.values():  # warm the file cache and the bytecode
        wall_time(code)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(a.rounds):
        for name, code in COMMANDS.items():
            times[name].append(wall_time(code))
    median = {name: statistics.median(t) for name, t in times.items()}
    pandas = median["import pandas"]
    print(f"{a.rounds} rounds, median wall time of a fresh interpreter")
    print(f"{'command':<20} {'median s':>9} {'min s':>7} {'max s':>7} {'÷ import pandas':>16}  "
          "heavy modules loaded")
    for name, code in COMMANDS.items():
        t = times[name]
        print(f"{name:<20} {median[name]:>9.3f} {min(t):>7.3f} {max(t):>7.3f} "
              f"{median[name] / pandas:>16.2f}  {', '.join(loaded(code)) or '-'}")
    ratio = median["import rwe_cart"] / pandas
    print(f"\nimport rwe_cart / import pandas = {ratio:.2f} (target at most 1.5: "
          f"{'met' if ratio <= 1.5 else 'NOT met'})")
    validate_heavy = {"papermill", "nbconvert"} & set(loaded(COMMANDS["rwe-cart validate"]))
    print(f"rwe-cart validate loads papermill/nbconvert: "
          f"{', '.join(sorted(validate_heavy)) or 'no (target met)'}")


if __name__ == "__main__":
    main()
