"""Execute the report notebooks (papermill) and write them as HTML without code (nbconvert).

The notebooks ship inside the package (`bundled_notebooks`); ``make reports`` runs
``python -m rwe_cart.report --out reports``, which renders them in parallel processes (one
more than the cores). Progress goes to the ``rwe_cart`` logger (the command line shows it
on stderr).
"""
from __future__ import annotations

import argparse
import ast
import datetime as _dt
import json
import logging
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from importlib import metadata, resources
from multiprocessing import get_context
from pathlib import Path

import pandas as pd

# papermill, nbconvert and nbformat are imported inside the functions that render: every
# report notebook imports this module for `ReportOutputs` and `provenance`, and loading them
# (nbformat's schema validation pulls in jsonschema's format checkers) cost each kernel ~2 s.

logger = logging.getLogger(__name__)

REPORTED_PACKAGES = ("rwe_cart", "numpy", "pandas", "scipy", "statsmodels", "formulaic",
                     "matplotlib", "pandera")


def provenance(cohort, endpoints: Sequence[str] = ()) -> str:
    """Markdown block that opens every report: data source and its SHA-256, rows read and
    kept, endpoint definitions, package versions and the date the report was made.

    No patient identifier or calendar date from the data appears in it.
    """
    from .endpoints import BASE_DEFINITIONS

    meta = cohort.meta
    sha = meta.get("sha256")
    sha_text = (", ".join(f"{k}: `{v}`" for k, v in sha.items()) if isinstance(sha, dict)
                else f"`{sha}`" if sha else "in-memory table (no file)")
    lines = [
        f"**Data source:** `{Path(str(meta.get('source', '?'))).name}`  ",
        f"**SHA-256:** {sha_text}  ",
        f"**Patients:** {cohort.n_input} rows read, {len(cohort)} analysed, "
        f"{len(cohort.attrition)} excluded; {len(cohort.imputations)} partial dates imputed"
        f" ({meta.get('partial_dates') or 'no imputation rule'})  ",
        f"**Time zero:** {meta.get('origin', 'infusion')}; times in days, shown in months "
        "(days / 30.4375)  ",
    ]
    if endpoints:
        lines.append("\n**Endpoint definitions**\n")
        lines += [f"- {BASE_DEFINITIONS[e.upper()]}" for e in dict.fromkeys(endpoints)]
    # rwe_cart's own version opens the line, with the commit it ran from
    versions = ", ".join(f"{p} {_version(p)}" for p in REPORTED_PACKAGES if p != "rwe_cart")
    commit = _git_commit()
    lines.append(f"\n*rwe_cart {_version('rwe_cart')} "
                 f"({f'git commit {commit}' if commit else 'not run from a git checkout'}); "
                 f"Python {platform.python_version()}; {versions}. "
                 f"Report generated {_dt.date.today().isoformat()}.*")
    return "\n".join(lines)


class ReportOutputs:
    """Where a report notebook's figures and tables go, and the report's small-cell rule.

    ``out = ReportOutputs(figures_dir, suppress_below)`` in a notebook; with ``directory``
    None nothing is written and the methods only return what the notebook displays.
    """

    TABLE_FORMATS = (".csv", ".tex", ".html")

    def __init__(self, directory: str | Path | None = None, suppress_below: int | None = None):
        from .privacy import check_suppress

        check_suppress(suppress_below)
        self.directory = None if directory is None else Path(directory)
        self.suppress_below = suppress_below

    def _path(self, name: str) -> Path | None:
        if self.directory is None:
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory / name

    def figure(self, fig, name: str):
        """Save ``fig`` as ``name``.pdf/.svg/.png (300 dpi) and return it for display."""
        from .plots import save

        path = self._path(name)
        if path is not None:
            save(fig, path)
        return fig

    def table(self, table, name: str, *, caption: str | None = None, note: str | None = None,
              counts: Sequence[str] | bool | None = None, percent_columns: dict | None = None):
        """Suppress small counts, write ``name``.csv/.tex/.html and return the table to show.

        Parameters
        ----------
        table : DataFrame, TableOne or result with ``.table``
            What the notebook shows. An `ExposureComparison` keeps its own display (every
            row's estimand; the naive row marked as biased) with its counts suppressed.
        counts : sequence of str or True, optional
            Count columns to suppress besides the ones recognised by name (n, events,
            n_risk, …; see `rwe_cart.tables.suppress_counts`); True: every column is a count.
        percent_columns : mapping, optional
            Count column -> the percentage column(s) derived from it, masked with it.
        """
        from IPython.display import HTML

        from .exposure import ExposureComparison
        from .tables import TableOne, export_table, suppress_counts, table_html

        k = self.suppress_below
        if not isinstance(table, (pd.DataFrame, TableOne, ExposureComparison)) \
                and isinstance(getattr(table, "table", None), pd.DataFrame):
            table = table.table  # a landmark grid, a Simon–Makuch curve, …: its result table
        shown = table
        if isinstance(table, pd.DataFrame):
            shown = suppress_counts(table, suppress_below=k, percent_columns=percent_columns)
            extra = list(table.columns) if counts is True else list(counts or [])
            if extra:
                shown = suppress_counts(shown, suppress_below=k, columns=extra)
        for suffix in self.TABLE_FORMATS:
            path = self._path(name + suffix)
            if path is not None:
                export_table(shown, path, caption=caption, note=note, suppress_below=k)
        if isinstance(table, ExposureComparison):
            return table.suppressed(k)
        if isinstance(table, TableOne):
            return table
        return HTML(table_html(shown, caption=caption, note=note, suppress_below=k))


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def bundled_notebooks() -> Path:
    """The folder of report notebooks shipped with the package: what ``rwe-cart report`` and
    ``python -m rwe_cart.report`` render unless given ``--notebooks``."""
    return Path(str(resources.files("rwe_cart").joinpath("notebooks")))


def render_notebook(notebook: Path, out_dir: Path, parameters: dict | None = None) -> Path:
    """Execute one notebook with ``parameters`` and write ``out_dir/<name>.html``.

    The notebook runs in its own folder (as under nbmake), so its default data paths are
    relative to it. The executed notebook is kept in ``out_dir/executed/``. Code cells are
    left out of the HTML; a section's numbers come from its printed tables, never hidden code.
    """
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / "executed" / notebook.name
    executed.parent.mkdir(parents=True, exist_ok=True)
    # Saved once when done, not after every cell: each save re-validates the whole notebook.
    papermill.execute_notebook(
        str(notebook), str(executed), parameters=parameters or {}, kernel_name="python3",
        cwd=str(notebook.parent), progress_bar=False, report_mode=True,
        request_save_on_cell_execute=False,
    )
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    node = nbformat.read(executed, as_version=4)
    for cell in node.cells:
        # papermill gives its injected cell a random id; a fixed one keeps reruns identical.
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"
    nbformat.write(node, executed)
    body, _ = exporter.from_notebook_node(node)
    html = out_dir / f"{notebook.stem}.html"
    html.write_text(body, encoding="utf-8")
    return html


def accepted_parameters(notebook: Path) -> set[str]:
    """Names assigned in the notebook's cell tagged ``parameters``."""
    return set(_parameter_defaults(notebook))


def _parameter_defaults(notebook: Path) -> dict:
    """The literal values assigned in the notebook's cell tagged ``parameters``."""
    # Read as plain JSON (the notebook format is JSON): nbformat would cost this process ~1 s.
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    defaults: dict = {}
    for cell in cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            for node in ast.parse(source).body:
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                    defaults[node.targets[0].id] = ast.literal_eval(node.value)
    return defaults


def render_all(notebooks: Path, out_dir: Path, parameters: dict | None = None, *,
               jobs: int | None = None) -> list[Path]:
    """Render every ``*.ipynb`` in ``notebooks`` (sorted), passing each only the parameters
    its ``parameters`` cell declares, and write ``out_dir/manifest.json``.

    Parameters
    ----------
    jobs : int, optional
        Notebooks rendered at the same time, each in its own process (and kernel); default:
        one more than the available cores, at most one per notebook. 1 renders them one after
        another in this process. The output does not depend on it: every notebook runs in a
        fresh kernel either way and writes only its own files.
    """
    out_dir = out_dir.resolve()
    runs = []
    for nb in sorted(notebooks.glob("*.ipynb")):
        accepted = accepted_parameters(nb)
        params = {k: v for k, v in (parameters or {}).items() if k in accepted}
        if "figures_dir" in accepted:
            params["figures_dir"] = str((out_dir / "figures" / nb.stem).resolve())
        runs.append((nb, params))
    if not runs:
        raise FileNotFoundError(f"no report notebooks (*.ipynb) in {notebooks}")
    if jobs is None:
        # One more than the cores: a notebook's process also waits (kernel start-up, replies,
        # file writes), and on 2 cores 3 processes rendered the set in ~20 % less time than 2.
        cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                 else os.cpu_count() or 1)
        jobs = cores + 1
    jobs = max(1, min(jobs, len(runs)))
    logger.info("rendering %d notebooks from %s into %s (%d at a time)", len(runs), notebooks,
                out_dir, jobs)
    if jobs == 1:
        written = [_logged(*_render_timed(nb, out_dir, params)) for nb, params in runs]
    else:
        # spawn, not fork: the caller (a kernel, a test run) may hold threads and sockets.
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(_render_timed, nb, out_dir, params) for nb, params in runs]
            try:
                for future in as_completed(futures):
                    _logged(*future.result())
            except BaseException:
                pool.shutdown(cancel_futures=True)  # a failed notebook stops the rest
                raise
            written = [future.result()[0] for future in futures]
    write_manifest(out_dir / "manifest.json",
                   [{"notebook": nb.name, "html": html.name,
                     "parameters": _effective_parameters(nb, params)}
                    for (nb, params), html in zip(runs, written, strict=True)], notebooks)
    return written


def _render_timed(notebook: Path, out_dir: Path, parameters: dict) -> tuple[Path, float]:
    start = time.perf_counter()
    return render_notebook(notebook, out_dir, parameters), time.perf_counter() - start


def _logged(html: Path, seconds: float) -> Path:
    logger.info("wrote %s (%.0f s)", html, seconds)
    return html


def _effective_parameters(notebook: Path, given: dict) -> dict:
    """The notebook's default parameters overridden by the given ones (figures_dir left out:
    it is a local path, not an analysis choice)."""
    merged = {**_parameter_defaults(notebook), **given}
    merged.pop("figures_dir", None)
    return merged


def _input_files(runs: list[dict], notebooks: Path) -> dict:
    from .io.registry import file_sha256

    files = {}
    for run in runs:
        for key, value in run["parameters"].items():
            if isinstance(value, str) and value.endswith((".csv", ".xpt", ".sas7bdat", ".parquet", ".xlsx")):
                path = Path(value) if Path(value).is_absolute() else (notebooks / value)
                if path.exists():
                    files[str(path.resolve().name)] = file_sha256(path)
    return files


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, cwd=Path(__file__).resolve().parent,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() + ("+uncommitted changes" if dirty else "")) if out.returncode == 0 else None


def write_manifest(path: Path, runs: list[dict], notebooks: Path) -> None:
    """What made these reports: input hashes, parameters (seeds included), versions, commit."""
    manifest = {
        "inputs_sha256": _input_files(runs, notebooks),
        "notebooks": runs,
        "packages": {p: _version(p) for p in REPORTED_PACKAGES},
        "python": platform.python_version(),
        "git_commit": _git_commit(),
    }
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n",
                    encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rwe_cart.report", description=__doc__)
    ap.add_argument("--notebooks", type=Path, default=None,
                    help="folder of report notebooks (default: the ones shipped with rwe_cart)")
    ap.add_argument("--out", type=Path, default=Path("reports"))
    ap.add_argument("--jobs", type=int, default=None,
                    help="notebooks rendered at the same time (default: cores + 1)")
    ap.add_argument("--data", help="registry file to analyse instead of the bundled synthetic cohort")
    ap.add_argument("--adsl", help="ADSL file (.xpt, .sas7bdat, .csv) for the trial reports")
    ap.add_argument("--adtte", help="ADTTE file for the trial reports (with --adsl)")
    ap.add_argument("--adrs", help="ADRS file (response assessments) for the trial reports (with --adsl)")
    ap.add_argument("--labs", help="long lab table (patient_id, day, test, value, unit) of --data")
    ap.add_argument("--suppress-below", type=int, default=None,
                    help="show counts below k as '<k' in every table and at-risk row")
    args = ap.parse_args(argv)
    if (args.adsl is None) != (args.adtte is None):
        ap.error("--adsl and --adtte go together")
    if args.adrs is not None and args.adsl is None:
        ap.error("--adrs goes with --adsl and --adtte")
    params: dict = {}
    for name in ("data", "adsl", "adtte", "adrs", "labs"):
        if getattr(args, name):
            params[name] = str(Path(getattr(args, name)).resolve())
    if args.adsl and not args.adrs:
        params["adrs"] = None  # the bundled ADRS belongs to the bundled trial, not to --adsl
    if args.data and not args.labs:
        params["labs"] = None  # the bundled labs belong to the bundled cohort, not to --data
    if args.suppress_below is not None:
        params["suppress_below"] = args.suppress_below
    if args.jobs is not None and args.jobs < 1:
        ap.error("--jobs must be at least 1")
    _log_to_stderr()
    render_all(args.notebooks or bundled_notebooks(), args.out, params, jobs=args.jobs)
    return 0


def _log_to_stderr() -> None:
    """Show the ``rwe_cart`` logger's progress messages on stderr (the command line's choice;
    the library itself only adds a NullHandler), unless logging is configured already."""
    package = logging.getLogger("rwe_cart")
    if logging.getLogger().handlers or any(not isinstance(h, logging.NullHandler)
                                           for h in package.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    package.addHandler(handler)
    package.setLevel(logging.INFO)


if __name__ == "__main__":
    # `python -m rwe_cart.report`: run the module under its own name, so that its logger is
    # "rwe_cart.report" and the worker processes find its functions there
    from rwe_cart.report import main as _main

    sys.exit(_main())


def requires_magic(line: str, cell: str) -> None:
    """``%%requires <cohort> <need> [<need> …]``: run the cell, or print why it is not shown.

    Each need is an endpoint name (``DOR``, ``PFS``, …: the contract columns that endpoint
    reads) or ``HSCT`` (who was transplanted in remission). When the cohort's source does
    not provide one of them (:attr:`rwe_cart.Cohort.unavailable`), the report section says
    so in a line instead of stopping the report; otherwise the cell runs as if the line
    were not there. Load it in a notebook with ``%load_ext rwe_cart.report``.
    """
    from IPython import get_ipython
    from IPython.display import Markdown, display

    from .cohort import UnavailableInputError
    from .endpoints import needs
    from .exposure.rows import HSCT_NEEDS

    shell = get_ipython()
    name, *wanted = line.split()
    cohort = shell.user_ns[name]
    columns = [c for w in wanted for c in (HSCT_NEEDS if w.upper() == "HSCT" else needs(w))]
    words = {"HSCT": "the allo-HSCT-in-remission analyses"}
    try:
        cohort.require(columns, " and ".join(words.get(w.upper(), w) for w in wanted))
    except UnavailableInputError as why:
        display(Markdown(f"*Not shown: {why}.*"))
        return
    shell.run_cell(cell)


def load_ipython_extension(ipython) -> None:
    """``%load_ext rwe_cart.report``: the ``%%requires`` cell magic of the report notebooks."""
    ipython.register_magic_function(requires_magic, magic_kind="cell", magic_name="requires")
