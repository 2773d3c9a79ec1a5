"""Run every benchmark script (`benchmarks/bench_*.py`) one after another and print their
tables: `make bench`. Each script times rwe_cart against lifelines / statsmodels (and R
when `Rscript` is on PATH) on the same seeded data and prints ratios (`bench_memory`
compares the peak memory of a Cox fit with R's instead; `bench_import` the start-up time of
`import rwe_cart` and `rwe-cart validate` with `import pandas`'s); none is a test.

Usage: python benchmarks/run.py [name ...]   e.g. `python benchmarks/run.py km cox`
"""
from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in argv]
    print(f"machine: {platform.machine()}, {platform.processor() or '?'}; "
          f"Python {platform.python_version()}; cores: {__import__('os').cpu_count()}\n", flush=True)
    failed = []
    for script in scripts:
        print(f"=== {script.stem} ===", flush=True)
        if subprocess.run([sys.executable, str(script)]).returncode:
            failed.append(script.name)
        print(flush=True)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
