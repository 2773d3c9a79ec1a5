"""Registry (ROCCA-style) loader: one row per patient, dates, local column names.

Reading a file is separate from checking it against the contract. A file that is not a
table at all (missing, a directory, an unknown extension, empty, undecodable bytes, a
corrupt workbook) raises `FileNotFoundError` or `UnreadableTableError`; every table that
can be read either becomes a `Cohort` or raises `CohortValidationError` listing every
problem (patient_id, column, rule, value).
"""
from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import pandas as pd

from ..cohort import Cohort, build_cohort
from ..schema import ALL, CohortValidationError, clean_ids, file_problems, row_label

READERS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet",
           ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel"}
# Separators a one-column header is checked for (a file read with the wrong ``sep``).
_SEPARATORS = (",", ";", "\t", "|")
_SEP_NAMES = {",": "','", ";": "';'", "\t": "'\\t'", "|": "'|'"}


class UnreadableTableError(ValueError):
    """A file that cannot be read as a table: a directory, an unknown extension, an empty
    file, bytes that are not text in the expected encoding, a corrupt workbook or Parquet
    file, a CSV the parser cannot split (an unclosed quote). ``rwe-cart validate`` exits 2.

    ``line``, ``patient_id`` and ``column`` locate the problem when it is known (the first
    undecodable byte of a CSV), else None.

    Examples
    --------
    >>> import tempfile, rwe_cart as rc
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     try:
    ...         rc.load_registry(folder)
    ...     except rc.UnreadableTableError as error:
    ...         print(str(error).split(": ")[-1])
    it is a directory, not a table file
    """

    def __init__(self, message: str, *, line: int | None = None, patient_id: str | None = None,
                 column: str | None = None):
        super().__init__(message)
        self.line, self.patient_id, self.column = line, patient_id, column


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_table(path: str | Path, *, sep: str | None = None, encoding: str | None = None,
               sheet_name: str | int = 0, id_column: str = "patient_id") -> pd.DataFrame:
    """Read a CSV, Parquet or Excel file with every cell as read (no type guessing for CSV).

    See `read_table_info` (which also returns what was detected while reading).
    """
    return read_table_info(path, sep=sep, encoding=encoding, sheet_name=sheet_name,
                           id_column=id_column)[0]


def read_table_info(path: str | Path, *, sep: str | None = None, encoding: str | None = None,
                    sheet_name: str | int = 0,
                    id_column: str = "patient_id") -> tuple[pd.DataFrame, dict]:
    """Read a table file; return (frame, info) with info["format"], ["encoding"], ["excel_epoch"].

    Notes
    -----
    - Encoding: UTF-8 unless ``encoding`` is given; a byte-order mark is removed. Bytes that
      are not UTF-8 are never guessed (a Latin-1 file read as UTF-8 would garble names
      silently): `UnreadableTableError` names the first bad byte and its line and suggests
      ``encoding="cp1252"`` or ``"latin-1"``.
    - CSV cells stay text (the contract decides each type); empty cells, ``NA`` and ``NaN``
      are missing (pandas' defaults). Column names are stripped of spaces and of a stray
      byte-order mark; duplicated names are kept as they are, so the contract reports them.
    - A row with more fields than the header raises `CohortValidationError` naming every
      such row (line number, patient); a header that is one column containing ``;`` (or
      another separator) names the separator to pass as ``sep``.
    - Excel: the first non-empty row is the header; cells keep their Excel types (dates as
      datetimes, numbers as numbers); info["excel_epoch"] is the workbook's date system
      (1900 or 1904) for reading serial numbers in date columns.
    - Columns without a name and without a single value (trailing separators, empty Excel
      columns) are dropped: they hold nothing.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise UnreadableTableError(f"cannot read {path}: it is a directory, not a table file")
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise UnreadableTableError(f"cannot read {path.name}: expected one of {', '.join(sorted(READERS))}")
    if path.stat().st_size == 0:
        raise UnreadableTableError(f"cannot read {path.name}: the file is empty (0 bytes, no header row)")
    info: dict = {"format": kind}
    if kind == "parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as err:  # pyarrow raises ArrowInvalid, OSError, ... for a corrupt file
            raise UnreadableTableError(f"cannot read {path.name} as Parquet: {err}") from err
        return frame, info
    if kind == "excel":
        try:
            raw, info["excel_epoch"] = _read_excel(path, sheet_name)
        except UnreadableTableError:
            raise
        except Exception as err:  # zipfile.BadZipFile, InvalidFileException, missing sheet, xlrd absent
            raise UnreadableTableError(f"cannot read {path.name} as Excel: {err}") from err
        raw = raw[~raw.isna().all(axis=1).cummin()]  # leading empty rows are not the header
        if raw.empty:
            raise UnreadableTableError(f"cannot read {path.name}: sheet {sheet_name!r} has no cells")
    else:
        sep = sep or ("\t" if path.suffix.lower() == ".tsv" else ",")
        info["encoding"] = encoding or "utf-8"
        raw = _read_csv(path, sep=sep, encoding=encoding or "utf-8-sig", id_column=id_column)
        info["sep"] = sep
    return _with_header(raw, path, sep if kind == "csv" else None), info


def _read_csv(path: Path, *, sep: str, encoding: str, id_column: str) -> pd.DataFrame:
    # header=None: every line is read the same way, so a header shorter than a row is an
    # error here rather than pandas' silent "first column becomes the index".
    options = dict(sep=sep, header=None, dtype=str, encoding=encoding, skip_blank_lines=True,
                   engine="c" if len(sep) == 1 else "python")
    try:
        return pd.read_csv(path, **options)
    except UnicodeDecodeError:
        raise _decode_error(path, encoding, sep, id_column) from None
    except LookupError as err:
        raise UnreadableTableError(f"cannot read {path.name}: {err}") from None
    except pd.errors.EmptyDataError:
        raise UnreadableTableError(f"cannot read {path.name}: no header row (the file holds only "
                                   "whitespace or blank lines)") from None
    except pd.errors.ParserError as err:
        widths = _overlong_rows(path, sep=sep, encoding=encoding, id_column=id_column, err=err)
    except (ValueError, csv.Error, OverflowError) as err:  # the python engine's own complaints
        raise UnreadableTableError(f"cannot read {path.name}: {err}") from None
    # Rows longer than the header only by empty fields (trailing separators) are fine.
    try:
        return pd.read_csv(path, names=list(range(widths)), **options)
    except pd.errors.ParserError as err:  # and an unclosed quote further down
        raise UnreadableTableError(f"cannot read {path.name}: {_parser_message(err)}") from None


def _overlong_rows(path: Path, *, sep: str, encoding: str, id_column: str, err: Exception) -> int:
    """After a ParserError: raise naming every row longer than the header, or return the
    widest row's field count when the extra fields are all empty."""
    try:
        text = path.read_text(encoding=encoding)
        records = list(_records(text, sep))
    except (UnicodeDecodeError, csv.Error, ValueError):
        records = []
    if not records:
        raise UnreadableTableError(f"cannot read {path.name}: {_parser_message(err)}") from None
    (_, header), body = records[0], records[1:]
    if len(header) == 1:
        _raise_if_wrong_separator(header[0], sep)
    names = [h.strip().lstrip("\ufeff").strip() for h in header]
    at = names.index(id_column) if id_column in names else None
    bad = []
    for i, (line, fields) in enumerate(body):
        if len(fields) > len(header) and any(f.strip() for f in fields[len(header):]):
            pid = fields[at].strip() if at is not None and fields[at].strip() else row_label(i)
            bad.append((pid, f"line {line}: {len(fields)} fields"))
    if bad:
        raise CohortValidationError(pd.DataFrame({
            "patient_id": [b[0] for b in bad], "column": ALL,
            "rule": f"as many fields as the header ({len(header)}); an unquoted {_SEP_NAMES.get(sep, repr(sep))} "
                    "inside a value?",
            "value": [b[1] for b in bad]}))
    widths = max(len(f) for _, f in records)
    if widths <= len(header):  # the parser failed for another reason (an unclosed quote)
        raise UnreadableTableError(f"cannot read {path.name}: {_parser_message(err)}") from None
    return widths


def _records(text: str, sep: str):
    """(line number, fields) of each non-blank CSV record, as pandas counts rows."""
    reader = csv.reader(io.StringIO(text), delimiter=sep, strict=False)
    for fields in reader:
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        yield reader.line_num, fields


def _parser_message(err: Exception) -> str:
    return str(err).strip().replace("Error tokenizing data. C error: ", "")


def _decode_error(path: Path, encoding: str, sep: str, id_column: str) -> UnreadableTableError:
    """Where the bytes stop being text in ``encoding`` (line, patient, column), and which
    encoding would read them."""
    data = path.read_bytes()
    label = "UTF-8" if encoding.replace("_", "-").lower() in ("utf-8", "utf-8-sig", "utf8") else encoding
    if b"\x00" in data[:65536]:
        return UnreadableTableError(
            f"cannot read {path.name}: it holds NUL bytes, so it is not {label} text — a binary "
            "file (Excel, Parquet, SAS) with a text extension, or UTF-16 text (pass encoding='utf-16')")
    try:
        data.decode(encoding)
        return UnreadableTableError(f"cannot read {path.name} as {label} text")
    except LookupError:
        return UnreadableTableError(f"cannot read {path.name}: unknown encoding {encoding!r}")
    except UnicodeDecodeError as err:
        start = err.start
    line = data.count(b"\n", 0, start) + 1
    begin = data.rfind(b"\n", 0, start) + 1
    end = data.find(b"\n", start)
    text = data[begin:len(data) if end < 0 else end].decode(encoding, errors="replace")
    header = data.split(b"\n", 1)[0].decode(encoding, errors="replace")
    pid = column = None
    if len(sep) == 1 and line > 1:
        try:
            names = [h.strip().lstrip("\ufeff").strip() for h in next(csv.reader([header], delimiter=sep))]
            fields = next(csv.reader([text], delimiter=sep))
        except (csv.Error, StopIteration):
            names, fields = [], []
        at = next((i for i, f in enumerate(fields) if "\ufffd" in f), None)
        column = names[at] if at is not None and at < len(names) else None
        if id_column in names and names.index(id_column) < len(fields):
            pid = fields[names.index(id_column)].strip() or None
    where = ", ".join(x for x in (f"patient {pid}" if pid else None,
                                  f"column {column}" if column else None) if x)
    try:
        data.decode("cp1252")
        hint = "it reads as Windows-1252/Latin-1: pass encoding='cp1252' (or 'latin-1')"
    except UnicodeDecodeError:
        hint = "pass the file's encoding, e.g. encoding='latin-1'"
    return UnreadableTableError(
        f"cannot read {path.name} as {label} text: byte 0x{data[start]:02x} on line {line}"
        f"{f' ({where})' if where else ''} is not {label}; {hint}",
        line=line, patient_id=pid, column=column)


def _raise_if_wrong_separator(header: str, sep: str) -> None:
    counts = {s: header.count(s) for s in _SEPARATORS if s != sep}
    likely = max(counts, key=counts.get)
    if counts[likely]:
        name = _SEP_NAMES[likely]
        raise CohortValidationError(file_problems(
            [header], f"columns separated by sep={_SEP_NAMES.get(sep, repr(sep))}; the header is one "
                      f"column containing {name}: pass sep={name}", "<one column>"))


def _with_header(raw: pd.DataFrame, path: Path, sep: str | None) -> pd.DataFrame:
    """First row as column names (as written: duplicates kept), the rest as data."""
    names = [_header_name(v, i) for i, v in enumerate(raw.iloc[0])]
    data = raw.iloc[1:].reset_index(drop=True)
    data.columns = names
    unnamed = [i for i, v in enumerate(raw.iloc[0]) if _header_name(v, i).startswith("Unnamed: ")]
    empty = [i for i in unnamed if data.iloc[:, i].isna().all()]
    data = data.iloc[:, [i for i in range(data.shape[1]) if i not in set(empty)]]
    if sep is not None and data.shape[1] == 1:
        _raise_if_wrong_separator(str(data.columns[0]), sep)
    return data


def _header_name(value: object, i: int) -> str:
    name = clean_ids(pd.Series([value], dtype=object)).iloc[0]
    name = None if name is None else name.lstrip("\ufeff").strip()
    return name or f"Unnamed: {i}"


def _read_excel(path: Path, sheet_name: str | int) -> tuple[pd.DataFrame, int]:
    """Every cell of one sheet as Excel holds it, and the workbook's date system (1900 or
    1904, for serial numbers in date columns)."""
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return pd.read_excel(path, sheet_name=sheet_name, header=None, dtype=object), 1900
    import openpyxl

    # openpyxl directly rather than pandas.read_excel: pandas turns whole floats into int and
    # fails on a cell holding a float beyond 1e308; and the date system is read in one pass.
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        names = book.sheetnames
        if isinstance(sheet_name, int):
            if not 0 <= sheet_name < len(names):
                raise UnreadableTableError(f"cannot read {path.name}: no sheet {sheet_name} "
                                           f"(sheets: {', '.join(names)})")
            sheet = book.worksheets[sheet_name]
        elif sheet_name in names:
            sheet = book[sheet_name]
        else:
            raise UnreadableTableError(f"cannot read {path.name}: no sheet named {sheet_name!r} "
                                       f"(sheets: {', '.join(names)})")
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        epoch = 1904 if book.epoch.year == 1904 else 1900
    finally:
        book.close()
    width = max((len(r) for r in rows), default=0)
    frame = pd.DataFrame([r + [None] * (width - len(r)) for r in rows], columns=range(width), dtype=object)
    return frame.where(frame.notna(), None), epoch


def rename_columns(frame: pd.DataFrame, columns: Mapping[str, str] | None) -> pd.DataFrame:
    """Map local column names onto contract names; a map naming an absent column is an error."""
    if frame.columns.duplicated().any():
        dup = list(dict.fromkeys(frame.columns[frame.columns.duplicated()]))
        raise CohortValidationError(file_problems(dup, "column names are unique", "<duplicated>"))
    if not columns:
        return frame
    absent = [local for local in columns if local not in frame.columns]
    if absent:
        raise CohortValidationError(file_problems(absent, "column named in columns= is in the file",
                                                  "<absent>"))
    renamed = frame.rename(columns=dict(columns))
    if renamed.columns.duplicated().any():
        dup = list(dict.fromkeys(renamed.columns[renamed.columns.duplicated()]))
        raise CohortValidationError(file_problems(dup, "mapped column names are unique",
                                                  "<duplicated after renaming>"))
    return renamed


def excel_epoch(excel_dates: bool | None, info: dict) -> int | None:
    """The Excel date system to read numbers in date columns with, or None (numbers are errors)."""
    if excel_dates is None:
        return info.get("excel_epoch")
    if excel_dates is True:
        return info.get("excel_epoch", 1900)
    if excel_dates is False:
        return None
    raise ValueError(f"excel_dates must be True, False or None, got {excel_dates!r}")


def load_registry(path_or_frame: str | Path | pd.DataFrame, *,
                  columns: Mapping[str, str] | None = None,
                  origin: Literal["infusion", "apheresis", "enrollment"] = "infusion",
                  errors: Literal["raise", "exclude"] = "raise",
                  partial_dates: Literal["mid", "first", "last"] | None = None,
                  date_format: str | None = None, sep: str | None = None, decimal: str = ".",
                  encoding: str | None = None, sheet_name: str | int = 0,
                  excel_dates: bool | None = None) -> Cohort:
    """Load a registry table (one row per patient) into a validated `Cohort`.

    Parameters
    ----------
    path_or_frame : path or DataFrame
        CSV (``sep``, ``decimal``, ``encoding``), Parquet or Excel (``sheet_name``), or a frame.
    columns : mapping, optional
        Local name -> contract name (docs/data-contract.md), e.g. ``{"ID": "patient_id"}``.
    origin : {"infusion", "apheresis", "enrollment"}
        Time zero. "apheresis" and "enrollment" give intention-to-treat time scales and need
        ``date_apheresis`` / ``date_enrollment`` for every patient.
    errors : {"raise", "exclude"}
        "raise" raises `CohortValidationError` listing every problem; "exclude" removes
        offending patients and records each in ``Cohort.attrition``.
    partial_dates : {"mid", "first", "last"}, optional
        Completion rule for ``2024-07`` / ``2024``; every completed date is listed in
        ``Cohort.imputations``. By default a partial date is a validation problem.
    date_format : str, optional
        strptime format for text dates; by default ISO 8601. A column mixing formats gives
        one problem per row that does not match.
    sep, decimal : str
        CSV separator (default ``","``, tab for .tsv) and decimal mark of numbers written as
        text (``decimal=","`` reads ``45,5``; a ``"."`` in a number is then a problem).
    encoding : str, optional
        Text encoding of a CSV; by default UTF-8 (with or without a byte-order mark).
    excel_dates : bool, optional
        Read numbers in date columns as Excel serial days. By default on for Excel files (in
        the workbook's 1900 or 1904 date system) and off otherwise; ``True`` reads a CSV's
        numbers in the 1900 system. A 4-digit number stays a (partial) year.

    Raises
    ------
    CohortValidationError
        Every problem of the table: patient_id (``"<row i>"`` when missing, ``"<all>"`` for
        the whole table), column, rule, value. A table with no data rows (header only) is
        such a problem; blank rows are skipped and recorded in ``attrition`` (step "read").
    UnreadableTableError, FileNotFoundError
        The file is not a table (see `read_table_info`).

    Examples
    --------
    >>> import rwe_cart as rc
    >>> frame = rc.datasets.rocca_like_frame()
    >>> cohort = rc.load_registry(frame)
    >>> len(cohort)
    189
    """
    meta: dict = {"columns": dict(columns or {}), "date_format": date_format}
    if isinstance(path_or_frame, pd.DataFrame):
        frame, info = path_or_frame, {}
        meta["source"] = "DataFrame"
    else:
        local_id = next((k for k, v in (columns or {}).items() if v == "patient_id"), "patient_id")
        frame, info = read_table_info(path_or_frame, sep=sep, encoding=encoding,
                                      sheet_name=sheet_name, id_column=local_id)
        meta.update(source=str(path_or_frame), sha256=file_sha256(path_or_frame), **info)
    meta["excel_dates"] = excel_epoch(excel_dates, info)
    frame = rename_columns(frame, columns)
    return build_cohort(frame, origin=origin, errors=errors, date_format=date_format,
                        partial_dates=partial_dates, decimal=decimal,
                        excel_dates=excel_epoch(excel_dates, info), meta=meta,
                        source_names={v: k for k, v in (columns or {}).items()})


__all__ = ["UnreadableTableError", "file_sha256", "load_registry", "read_table", "read_table_info",
           "rename_columns"]
