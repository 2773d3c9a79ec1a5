"""Command line: ``rwe-cart validate FILE`` and ``rwe-cart report``."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import report
from .io.registry import UnreadableTableError, load_registry
from .schema import CohortValidationError

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


def validate(path: str, *, date_format: str | None = None, partial_dates: str | None = None,
             sep: str | None = None, decimal: str = ".", encoding: str | None = None,
             sheet: str | int = 0, excel_dates: bool | None = None) -> int:
    """Check a registry file against the cohort contract and print what was found.

    Returns 0 when valid (a summary of rows read, kept and imputed is printed), 1 when
    invalid (every problem is printed, grouped by column and rule), 2 when the file cannot
    be read as a table (missing, a directory, an unknown extension, empty, undecodable).
    """
    try:
        cohort = load_registry(path, date_format=date_format, partial_dates=partial_dates,
                               sep=sep, decimal=decimal, encoding=encoding, sheet_name=sheet,
                               excel_dates=excel_dates)
    except CohortValidationError as err:
        print(f"{path}: INVALID — {err.report()}")
        return EXIT_INVALID
    except (OSError, UnreadableTableError) as err:
        print(f"{path}: UNREADABLE — {err}", file=sys.stderr)
        return EXIT_UNREADABLE
    except ValueError as err:  # an option the loader cannot use (--date-format %Q, --decimal xx)
        print(f"{path}: not checked — {err}", file=sys.stderr)
        return EXIT_UNREADABLE
    print(f"{path}: valid — {len(cohort)} patients, {len(cohort.imputations)} dates imputed\n")
    print(cohort.validation_report())
    return EXIT_VALID


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="rwe-cart")
    sub = ap.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check a registry file against the cohort contract "
                                        "(exit 0 valid, 1 invalid, 2 unreadable)")
    v.add_argument("file")
    v.add_argument("--date-format", help="strptime format of text dates (default: ISO 8601)")
    v.add_argument("--partial-dates", choices=["mid", "first", "last"])
    v.add_argument("--sep", help="CSV separator (default ',', tab for .tsv)")
    v.add_argument("--decimal", default=".", help="decimal mark of numbers written as text")
    v.add_argument("--encoding", help="text encoding of a CSV (default UTF-8)")
    v.add_argument("--sheet", default=0, help="Excel sheet name or 0-based index")
    v.add_argument("--excel-dates", action=argparse.BooleanOptionalAction, default=None,
                   help="read numbers in date columns as Excel serial days (default: on for Excel files)")
    # `report` takes the options of `python -m rwe_cart.report` (its --help lists them), passed
    # on untouched: argparse.REMAINDER would not capture a first argument starting with "-".
    sub.add_parser("report", add_help=False,
                   help="render the report notebooks to HTML (what `make reports` runs)")
    args, rest = ap.parse_known_args(argv)
    if args.command == "report":
        return report.main(rest)
    if rest:
        ap.error(f"unrecognized arguments: {' '.join(rest)}")
    sheet = int(args.sheet) if isinstance(args.sheet, str) and args.sheet.isdigit() else args.sheet
    return validate(args.file, date_format=args.date_format, partial_dates=args.partial_dates,
                    sep=args.sep, decimal=args.decimal, encoding=args.encoding, sheet=sheet,
                    excel_dates=args.excel_dates)


if __name__ == "__main__":
    sys.exit(main())
