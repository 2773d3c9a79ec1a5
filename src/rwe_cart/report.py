"""Execute the report notebooks (papermill) and write them as HTML without code (nbconvert).

``make reports`` runs ``python -m rwe_cart.report --notebooks notebooks --out reports``.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat
import papermill
from nbconvert import HTMLExporter


def render_notebook(notebook: Path, out_dir: Path, parameters: dict | None = None,
                    cwd: Path | None = None) -> Path:
    """Execute one notebook with ``parameters`` and write ``out_dir/<name>.html``.

    The executed notebook is kept in ``out_dir/executed/`` for inspection. Code cells are
    left out of the HTML; a section's numbers come from its printed tables, never hidden code.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / "executed" / notebook.name
    executed.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(notebook), str(executed), parameters=parameters or {}, kernel_name="python3",
        cwd=str(cwd or Path.cwd()), progress_bar=False, report_mode=True,
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
    for nb in sorted(notebooks.glob("*.ipynb")):
        accepted = accepted_parameters(nb)
        params = {k: v for k, v in (parameters or {}).items() if k in accepted}
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
