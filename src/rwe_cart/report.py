"""Execute the report notebooks (papermill) and write them as HTML without code (nbconvert).

``make reports`` runs ``python -m rwe_cart.report --notebooks notebooks --out reports``.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import platform
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import nbformat
import papermill
from nbconvert import HTMLExporter


REPORTED_PACKAGES = ("rwe_cart", "numpy", "pandas", "scipy", "statsmodels", "lifelines",
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
    versions = ", ".join(f"{p} {_version(p)}" for p in REPORTED_PACKAGES)
    lines.append(f"\n*Python {platform.python_version()}; {versions}. "
                 f"Report generated {_dt.date.today().isoformat()}.*")
    return "\n".join(lines)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def render_notebook(notebook: Path, out_dir: Path, parameters: dict | None = None) -> Path:
    """Execute one notebook with ``parameters`` and write ``out_dir/<name>.html``.

    The notebook runs in its own folder (as under nbmake), so its default data paths are
    relative to it. The executed notebook is kept in ``out_dir/executed/``. Code cells are
    left out of the HTML; a section's numbers come from its printed tables, never hidden code.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / "executed" / notebook.name
    executed.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(notebook), str(executed), parameters=parameters or {}, kernel_name="python3",
        cwd=str(notebook.parent), progress_bar=False, report_mode=True,
    )
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
    html = out_dir / f"{notebook.stem}.html"
    html.write_text(body, encoding="utf-8")
    return html


def accepted_parameters(notebook: Path) -> set[str]:
    """Names assigned in the notebook's cell tagged ``parameters``."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return {line.split("=")[0].strip() for line in cell.source.splitlines()
                    if "=" in line and not line.lstrip().startswith("#")}
    return set()


def render_all(notebooks: Path, out_dir: Path, parameters: dict | None = None) -> list[Path]:
    """Render every ``*.ipynb`` in ``notebooks`` (sorted), passing each only the parameters
    its ``parameters`` cell declares."""
    written = []
    out_dir = out_dir.resolve()
    for nb in sorted(notebooks.glob("*.ipynb")):
        accepted = accepted_parameters(nb)
        params = {k: v for k, v in (parameters or {}).items() if k in accepted}
        if "figures_dir" in accepted:
            params["figures_dir"] = str((out_dir / "figures" / nb.stem).resolve())
        print(f"rendering {nb.name} …", flush=True)
        written.append(render_notebook(nb, out_dir, params))
        print(f"  wrote {written[-1]}", flush=True)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rwe_cart.report", description=__doc__)
    ap.add_argument("--notebooks", type=Path, default=Path("notebooks"))
    ap.add_argument("--out", type=Path, default=Path("reports"))
    ap.add_argument("--data", help="registry file to analyse instead of the bundled synthetic cohort")
    ap.add_argument("--suppress-below", type=int, default=None,
                    help="show counts below k as '<k' in every table and at-risk row")
    args = ap.parse_args(argv)
    params: dict = {}
    if args.data:
        params["data"] = str(Path(args.data).resolve())
    if args.suppress_below is not None:
        params["suppress_below"] = args.suppress_below
    render_all(args.notebooks, args.out, params)
    return 0


if __name__ == "__main__":
    sys.exit(main())
