"""Command line: ``rwe-cart validate FILE`` and ``rwe-cart report``."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import report
from .io.registry import load_registry
from .schema import CohortValidationError


def validate(path: str, *, date_format: str | None = None, partial_dates: str | None = None,
             sep: str | None = None, decimal: str = ".") -> int:
    """Print every problem of a registry file grouped by rule; 0 valid, 1 invalid, 2 unreadable."""
    try:
        cohort = load_registry(path, date_format=date_format, partial_dates=partial_dates,
                               sep=sep, decimal=decimal)
    except CohortValidationError as err:
        probs = err.problems
        print(f"{path}: INVALID — {len(probs)} problem(s) in "
              f"{probs['patient_id'].nunique()} patient(s)")
        for (column, rule), grp in probs.groupby(["column", "rule"], sort=False):
            print(f"\n[{column}] {rule} — {len(grp)} row(s)")
            print(grp[["patient_id", "value"]].to_string(index=False))
        return 1
    except (OSError, ValueError, UnicodeDecodeError) as err:
        print(f"{path}: UNREADABLE — {err}", file=sys.stderr)
        return 2
    print(f"{path}: valid — {len(cohort)} patients, {len(cohort.imputations)} dates imputed")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="rwe-cart")
    sub = ap.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check a registry file against the cohort contract")
    v.add_argument("file")
    v.add_argument("--date-format")
    v.add_argument("--partial-dates", choices=["mid", "first", "last"])
    v.add_argument("--sep")
    v.add_argument("--decimal", default=".")
    r = sub.add_parser("report", help="render the report notebooks to HTML (what `make reports` runs)")
    r.add_argument("rest", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    if args.command == "validate":
        return validate(args.file, date_format=args.date_format, partial_dates=args.partial_dates,
                        sep=args.sep, decimal=args.decimal)
    return report.main(args.rest)


if __name__ == "__main__":
    sys.exit(main())
